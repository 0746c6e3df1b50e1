-- Dealer standards (issue 19): catalogue versions per brand headquarters or market entity, their
-- requirements, audits of service points with the self-assessment and the official answers side
-- by side, evidence files, corrective actions.

CREATE TABLE standard_catalogues (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    version BIGINT NOT NULL,
    names TEXT NOT NULL,
    pass_mark BIGINT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    UNIQUE (organisation_id, version)
);

CREATE TABLE standard_requirements (
    id TEXT PRIMARY KEY,
    catalogue_id TEXT NOT NULL REFERENCES standard_catalogues(id),
    position BIGINT NOT NULL,
    code TEXT NOT NULL,
    category TEXT NOT NULL,
    texts TEXT NOT NULL,
    weight BIGINT NOT NULL,
    mandatory BIGINT NOT NULL,
    evidence TEXT NOT NULL,
    scoring TEXT NOT NULL,
    figure TEXT,
    UNIQUE (catalogue_id, code)
);
CREATE INDEX standard_requirements_catalogue ON standard_requirements(catalogue_id, position);

CREATE TABLE standard_audits (
    id TEXT PRIMARY KEY,
    service_point_id TEXT NOT NULL REFERENCES organisations(id),
    planned_by_org TEXT NOT NULL REFERENCES organisations(id),
    brand_catalogue_id TEXT NOT NULL REFERENCES standard_catalogues(id),
    market_catalogue_id TEXT REFERENCES standard_catalogues(id),
    auditor_id TEXT NOT NULL REFERENCES users(id),
    planned_on TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('planned', 'completed', 'cancelled')),
    self_submitted_at BIGINT,
    self_submitted_by TEXT REFERENCES users(id),
    completed_at BIGINT,
    score BIGINT,
    passed BIGINT,
    scores TEXT,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX standard_audits_point ON standard_audits(service_point_id, status, planned_on);

CREATE TABLE standard_answers (
    audit_id TEXT NOT NULL REFERENCES standard_audits(id),
    requirement_id TEXT NOT NULL REFERENCES standard_requirements(id),
    party TEXT NOT NULL CHECK (party IN ('self', 'official')),
    outcome TEXT,
    figure TEXT,
    comment TEXT,
    answered_by TEXT NOT NULL REFERENCES users(id),
    answered_at BIGINT NOT NULL,
    PRIMARY KEY (audit_id, requirement_id, party)
);

CREATE TABLE standard_actions (
    id TEXT PRIMARY KEY,
    audit_id TEXT NOT NULL REFERENCES standard_audits(id),
    requirement_id TEXT NOT NULL REFERENCES standard_requirements(id),
    service_point_id TEXT NOT NULL REFERENCES organisations(id),
    title TEXT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users(id),
    due_on TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'submitted', 'verified')),
    closing_note TEXT,
    submitted_at BIGINT,
    submitted_by TEXT REFERENCES users(id),
    verified_at BIGINT,
    verified_by TEXT REFERENCES users(id),
    review_note TEXT,
    escalated_at BIGINT,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX standard_actions_point ON standard_actions(service_point_id, status);
CREATE INDEX standard_actions_audit ON standard_actions(audit_id);
CREATE INDEX standard_actions_due ON standard_actions(status, due_on);

CREATE TABLE standard_evidence (
    id TEXT PRIMARY KEY,
    audit_id TEXT NOT NULL REFERENCES standard_audits(id),
    requirement_id TEXT REFERENCES standard_requirements(id),
    action_id TEXT REFERENCES standard_actions(id),
    party TEXT NOT NULL CHECK (party IN ('self', 'official', 'action')),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    bytes BLOB NOT NULL,
    uploaded_by TEXT NOT NULL REFERENCES users(id),
    uploaded_at BIGINT NOT NULL
);
CREATE INDEX standard_evidence_audit ON standard_evidence(audit_id);
CREATE INDEX standard_evidence_action ON standard_evidence(action_id);
