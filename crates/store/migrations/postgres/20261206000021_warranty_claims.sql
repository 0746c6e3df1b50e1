-- Warranty claims (issue 17): made from a repair-order job's warranty or goodwill lines at a
-- service point, reviewed by the importer (where one stands between it and the brand) and decided by
-- the brand's headquarters. The claim copies what it states (VIN, km, the three Cs, lines with their
-- amounts) so a later change of the repair order does not change a claim already sent. Each step is
-- an event (who, when, which party, the action, a reason code, the line decisions as JSON, the note
-- a person wrote); the claim row holds where it stands and when its step is due.
CREATE TABLE warranty_claims (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    reviewer_org_id TEXT REFERENCES organisations(id),
    brand_org_id TEXT NOT NULL REFERENCES organisations(id),
    repair_order_id TEXT NOT NULL REFERENCES repair_orders(id),
    job_id TEXT NOT NULL UNIQUE REFERENCES ro_jobs(id),
    vehicle_id TEXT REFERENCES vehicles(id),
    vin TEXT NOT NULL,
    claim_type TEXT NOT NULL,
    campaign TEXT,
    odometer_km BIGINT NOT NULL,
    delivered_on TEXT,
    opened_on TEXT NOT NULL,
    closed_on TEXT,
    complaint TEXT NOT NULL,
    cause TEXT,
    correction TEXT,
    dtcs TEXT NOT NULL,
    causal_part TEXT,
    technician_id TEXT REFERENCES users(id),
    preauth TEXT,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    appealed BIGINT NOT NULL DEFAULT 0,
    step_since BIGINT NOT NULL,
    step_due BIGINT,
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX warranty_claims_org ON warranty_claims(organisation_id, status);
CREATE INDEX warranty_claims_ro ON warranty_claims(repair_order_id);

CREATE TABLE warranty_claim_lines (
    id TEXT PRIMARY KEY,
    claim_id TEXT NOT NULL REFERENCES warranty_claims(id),
    ro_line_id TEXT NOT NULL REFERENCES ro_lines(id),
    position BIGINT NOT NULL,
    kind TEXT NOT NULL,
    code TEXT,
    description TEXT NOT NULL,
    quantity_centi BIGINT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    claimed_minor BIGINT NOT NULL,
    flat_rate_centi BIGINT,
    over_reason TEXT,
    importer_minor BIGINT,
    importer_reason TEXT,
    approved_minor BIGINT,
    approved_reason TEXT,
    part_returned BIGINT,
    analysis TEXT,
    recovery_pct BIGINT,
    recovery_minor BIGINT
);
CREATE INDEX warranty_claim_lines_claim ON warranty_claim_lines(claim_id, position);

CREATE TABLE warranty_claim_events (
    id TEXT PRIMARY KEY,
    claim_id TEXT NOT NULL REFERENCES warranty_claims(id),
    at BIGINT NOT NULL,
    actor_id TEXT REFERENCES users(id),
    party TEXT NOT NULL,
    action TEXT NOT NULL,
    status_after TEXT NOT NULL,
    reason TEXT,
    decisions TEXT,
    note TEXT
);
CREATE INDEX warranty_claim_events_claim ON warranty_claim_events(claim_id, at);
