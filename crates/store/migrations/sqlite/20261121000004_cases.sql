-- Cases: every inquiry, its SLA timers on the handling organisation's business calendar,
-- escalations, messages and notes, follow-up tasks. Times are Unix microseconds (UTC).
CREATE TABLE opening_hours (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    weekday BIGINT NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    opens TEXT NOT NULL,
    closes TEXT NOT NULL,
    PRIMARY KEY (organisation_id, weekday, opens)
);

CREATE TABLE sla_policies (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    category TEXT NOT NULL,
    priority TEXT NOT NULL,
    first_response_minutes BIGINT NOT NULL,
    resolution_minutes BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, category, priority)
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    customer_id TEXT REFERENCES customers(id),
    vehicle_id TEXT REFERENCES vehicles(id),
    channel TEXT NOT NULL,
    category TEXT NOT NULL,
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    subject TEXT NOT NULL,
    symptoms TEXT,
    contact TEXT,
    owner_user_id TEXT REFERENCES users(id),
    escalated_at BIGINT,
    escalation_reason TEXT,
    first_response_minutes BIGINT NOT NULL,
    resolution_minutes BIGINT NOT NULL,
    first_responded_at BIGINT,
    resolved_at BIGINT,
    first_response_breached_at BIGINT,
    resolution_breached_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX cases_org_status ON cases(organisation_id, status);
CREATE INDEX cases_customer ON cases(customer_id);

CREATE TABLE case_events (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT,
    body TEXT,
    actor_user_id TEXT REFERENCES users(id)
);
CREATE INDEX case_events_case ON case_events(case_id, at);

CREATE TABLE case_tasks (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    title TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    assignee_user_id TEXT NOT NULL REFERENCES users(id),
    done_at BIGINT,
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX case_tasks_assignee ON case_tasks(assignee_user_id, done_at, due_at);
