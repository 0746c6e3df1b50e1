-- Goodwill (issue 17): a market's policy matrix as versioned JSON (`domain::warranty::goodwill::Policy`; the newest
-- version is the one in force, older ones stay for the requests decided under them), budgets per market and quarter,
-- and requests for a repair-order job: the facts the policy was applied to, its proposal, the shares decided (with
-- the reason for a deviation), the level whose authority the amount needs, and each step as an event.
CREATE TABLE goodwill_policies (
    id TEXT PRIMARY KEY,
    market_id TEXT NOT NULL REFERENCES markets(id),
    code TEXT NOT NULL,
    body TEXT NOT NULL,
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    UNIQUE (market_id, code)
);

CREATE TABLE goodwill_budgets (
    market_id TEXT NOT NULL REFERENCES markets(id),
    period TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    PRIMARY KEY (market_id, period)
);

CREATE TABLE goodwill_requests (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    market_id TEXT NOT NULL REFERENCES markets(id),
    repair_order_id TEXT NOT NULL REFERENCES repair_orders(id),
    job_id TEXT NOT NULL UNIQUE REFERENCES ro_jobs(id),
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
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX goodwill_requests_org ON goodwill_requests(organisation_id, status);

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
CREATE INDEX goodwill_events_request ON goodwill_events(request_id, at);
