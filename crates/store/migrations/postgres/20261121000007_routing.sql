-- Working procedures between organisations: a rule hands a category of case taken in at or below
-- its owner to the party that handles it, with that party's own SLA targets. Every hand-off is
-- recorded; the parties of a case are the organisations that took it in or handled it.
CREATE TABLE routing_rules (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    category TEXT NOT NULL,
    target_organisation_id TEXT NOT NULL REFERENCES organisations(id),
    first_response_minutes BIGINT,
    resolution_minutes BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (organisation_id, category)
);

CREATE TABLE case_handoffs (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    from_organisation_id TEXT NOT NULL REFERENCES organisations(id),
    to_organisation_id TEXT NOT NULL REFERENCES organisations(id),
    rule_id TEXT REFERENCES routing_rules(id),
    note TEXT,
    actor_user_id TEXT REFERENCES users(id),
    at BIGINT NOT NULL
);
CREATE INDEX case_handoffs_case ON case_handoffs(case_id, at);
CREATE INDEX case_handoffs_from ON case_handoffs(from_organisation_id);
