-- Competence and training (issue 19): courses with their validity, competence profiles per role
-- (the courses they require, the competence they grant the workshop), training records per
-- person (with the certificate file), sessions with places and attendance, xAPI statements from
-- e-learning platforms and the mapping of their activities to courses.

CREATE TABLE training_courses (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    code TEXT NOT NULL,
    names TEXT NOT NULL,
    provider TEXT NOT NULL,
    duration_hours BIGINT NOT NULL,
    validity_months BIGINT,
    high_voltage BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (organisation_id, code)
);

CREATE TABLE competence_profiles (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    code TEXT NOT NULL,
    names TEXT NOT NULL,
    role TEXT NOT NULL,
    grants TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (organisation_id, code)
);

CREATE TABLE profile_courses (
    profile_id TEXT NOT NULL REFERENCES competence_profiles(id),
    course_id TEXT NOT NULL REFERENCES training_courses(id),
    PRIMARY KEY (profile_id, course_id)
);

CREATE TABLE training_records (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    course_id TEXT NOT NULL REFERENCES training_courses(id),
    completed_on TEXT NOT NULL,
    passed BIGINT NOT NULL,
    expires_on TEXT,
    source TEXT NOT NULL CHECK (source IN ('manual', 'session', 'xapi')),
    certificate_name TEXT,
    certificate_type TEXT,
    certificate BYTEA,
    recorded_by TEXT REFERENCES users(id),
    reminded_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX training_records_user ON training_records(user_id, course_id);
CREATE INDEX training_records_expiry ON training_records(expires_on);

CREATE TABLE training_sessions (
    id TEXT PRIMARY KEY,
    course_id TEXT NOT NULL REFERENCES training_courses(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    starts_at BIGINT NOT NULL,
    location TEXT NOT NULL,
    places BIGINT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX training_sessions_org ON training_sessions(organisation_id, starts_at);

CREATE TABLE session_attendees (
    session_id TEXT NOT NULL REFERENCES training_sessions(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL CHECK (status IN ('registered', 'attended', 'absent')),
    record_id TEXT REFERENCES training_records(id),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, user_id)
);

CREATE TABLE xapi_mappings (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    activity_id TEXT NOT NULL,
    course_id TEXT NOT NULL REFERENCES training_courses(id),
    created_at BIGINT NOT NULL,
    UNIQUE (organisation_id, activity_id)
);

CREATE TABLE xapi_statements (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    actor TEXT NOT NULL,
    verb TEXT NOT NULL,
    object TEXT NOT NULL,
    at BIGINT NOT NULL,
    stored_at BIGINT NOT NULL,
    statement TEXT NOT NULL,
    user_id TEXT REFERENCES users(id),
    record_id TEXT REFERENCES training_records(id)
);
CREATE INDEX xapi_statements_actor ON xapi_statements(actor, at);
CREATE INDEX xapi_statements_verb ON xapi_statements(verb, at);
CREATE INDEX xapi_statements_object ON xapi_statements(object, at);
CREATE INDEX xapi_statements_at ON xapi_statements(organisation_id, at);
