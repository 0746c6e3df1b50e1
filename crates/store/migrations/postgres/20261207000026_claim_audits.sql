-- Risk-based audit of service points (issue 18). The red-flag rules a market audits by are data:
-- `domain::analysis::audit::default_rules` until someone changes one here (threshold, weight, on or
-- off). An audit of a service point keeps the sample the system proposed (the seed, the sizing rule
-- and the claims with the flags and weight each had) and, per claim, what the auditor found:
-- accepted, or charged back with an amount and a reason code. A chargeback lowers what the claim
-- pays (`warranty_claims.charged_back_minor`).
CREATE TABLE audit_rules (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    rule TEXT NOT NULL,
    threshold BIGINT NOT NULL,
    weight BIGINT NOT NULL,
    enabled BIGINT NOT NULL,
    updated_by TEXT REFERENCES users(id),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, rule)
);

CREATE TABLE claim_audits (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    service_point_id TEXT NOT NULL REFERENCES organisations(id),
    period_from TEXT NOT NULL,
    period_to TEXT NOT NULL,
    population BIGINT NOT NULL,
    required BIGINT NOT NULL,
    confidence_pct BIGINT NOT NULL,
    min_bad_rate_pct BIGINT NOT NULL,
    seed BIGINT NOT NULL,
    score_centi BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    closed_at BIGINT,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX claim_audits_point ON claim_audits(service_point_id, created_at);

CREATE TABLE claim_audit_items (
    audit_id TEXT NOT NULL REFERENCES claim_audits(id),
    claim_id TEXT NOT NULL REFERENCES warranty_claims(id),
    priority BIGINT NOT NULL,
    weight_centi BIGINT NOT NULL,
    flags TEXT NOT NULL,
    result TEXT,
    chargeback_minor BIGINT,
    reason TEXT,
    note TEXT,
    decided_by TEXT REFERENCES users(id),
    decided_at BIGINT,
    PRIMARY KEY (audit_id, claim_id)
);
CREATE INDEX claim_audit_items_claim ON claim_audit_items(claim_id);

ALTER TABLE warranty_claims ADD COLUMN charged_back_minor BIGINT NOT NULL DEFAULT 0;
