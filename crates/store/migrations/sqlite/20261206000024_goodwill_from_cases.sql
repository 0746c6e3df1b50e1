-- Goodwill asked for from a case (issue 17): before a repair order exists, the advisor asks on the case with the
-- estimated parts and labour; the request is decided as any other and, once approved, applied to a job of the
-- case's repair order (which splits that job's lines). So a request has a case or a job, and its job is filled in
-- when it is applied. SQLite cannot drop a NOT NULL, so the table is rebuilt. The migration runs in a
-- transaction with foreign keys on (where `PRAGMA foreign_keys = OFF` does nothing), so the events that
-- reference the requests are set aside first and put back after: copy the events, drop them, build the
-- new requests table, copy, drop the old, rename, recreate the events and copy them back.
CREATE TABLE goodwill_events_copy AS SELECT * FROM goodwill_events;
DROP TABLE goodwill_events;
CREATE TABLE goodwill_requests_next (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    market_id TEXT NOT NULL REFERENCES markets(id),
    case_id TEXT REFERENCES cases(id),
    repair_order_id TEXT REFERENCES repair_orders(id),
    job_id TEXT UNIQUE REFERENCES ro_jobs(id),
    vehicle_id TEXT REFERENCES vehicles(id),
    policy_code TEXT NOT NULL,
    component_group TEXT NOT NULL,
    age_months BIGINT NOT NULL,
    odometer_km BIGINT NOT NULL,
    network_history BIGINT NOT NULL,
    first_owner BIGINT NOT NULL,
    parts_minor BIGINT NOT NULL,
    labour_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    proposed_parts_pct BIGINT,
    proposed_labour_pct BIGINT,
    no_goodwill TEXT,
    parts_pct BIGINT NOT NULL,
    labour_pct BIGINT NOT NULL,
    brand_pct BIGINT NOT NULL,
    importer_pct BIGINT NOT NULL,
    dealer_pct BIGINT NOT NULL,
    deviation_reason TEXT,
    goodwill_minor BIGINT NOT NULL,
    customer_minor BIGINT NOT NULL,
    level TEXT NOT NULL,
    status TEXT NOT NULL,
    period TEXT,
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    CHECK (case_id IS NOT NULL OR job_id IS NOT NULL)
);
INSERT INTO goodwill_requests_next (id, number, organisation_id, market_id, case_id, repair_order_id, job_id, vehicle_id,
    policy_code, component_group, age_months, odometer_km, network_history, first_owner, parts_minor, labour_minor,
    currency, proposed_parts_pct, proposed_labour_pct, no_goodwill, parts_pct, labour_pct, brand_pct, importer_pct,
    dealer_pct, deviation_reason, goodwill_minor, customer_minor, level, status, period, created_by, created_at,
    updated_at, version)
SELECT id, number, organisation_id, market_id, NULL, repair_order_id, job_id, vehicle_id,
    policy_code, component_group, age_months, odometer_km, network_history, first_owner, parts_minor, labour_minor,
    currency, proposed_parts_pct, proposed_labour_pct, no_goodwill, parts_pct, labour_pct, brand_pct, importer_pct,
    dealer_pct, deviation_reason, goodwill_minor, customer_minor, level, status, period, created_by, created_at,
    updated_at, version
FROM goodwill_requests;
DROP TABLE goodwill_requests;
ALTER TABLE goodwill_requests_next RENAME TO goodwill_requests;
CREATE INDEX goodwill_requests_org ON goodwill_requests(organisation_id, status);
CREATE INDEX goodwill_requests_case ON goodwill_requests(case_id);
CREATE TABLE goodwill_events (
    id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES goodwill_requests(id),
    at BIGINT NOT NULL,
    actor_id TEXT REFERENCES users(id),
    role TEXT,
    action TEXT NOT NULL,
    parts_pct BIGINT,
    labour_pct BIGINT,
    note TEXT
);
INSERT INTO goodwill_events (id, request_id, at, actor_id, role, action, parts_pct, labour_pct, note)
SELECT id, request_id, at, actor_id, role, action, parts_pct, labour_pct, note FROM goodwill_events_copy;
DROP TABLE goodwill_events_copy;
CREATE INDEX goodwill_events_request ON goodwill_events(request_id, at);
