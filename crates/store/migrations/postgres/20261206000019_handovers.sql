-- Hand-overs at the customer's door: for each car that changes hands on a pickup or delivery (the
-- customer's car, the loaner), the time, odometer, charge, a note and photos of its condition; the
-- loaner agreement the customer signed on the driver's phone, with the terms as signed and the PDF
-- kept with the repair order; and a service point's own wording of the terms per language (without
-- it the market's standard terms apply).
CREATE TABLE loaner_terms (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    language TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT REFERENCES users(id),
    PRIMARY KEY (organisation_id, language)
);

CREATE TABLE handovers (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    job_id TEXT NOT NULL REFERENCES transport_jobs(id),
    repair_order_id TEXT NOT NULL REFERENCES repair_orders(id),
    car TEXT NOT NULL CHECK (car IN ('customer', 'loaner')),
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    loaner_id TEXT REFERENCES loaners(id),
    at BIGINT NOT NULL,
    odometer_km BIGINT NOT NULL,
    charge_pct BIGINT,
    range_km BIGINT,
    note TEXT,
    recorded_by TEXT REFERENCES users(id),
    UNIQUE (job_id, car)
);
CREATE INDEX handovers_ro ON handovers(repair_order_id);
CREATE INDEX handovers_loaner ON handovers(loaner_id);

CREATE TABLE handover_photos (
    id TEXT PRIMARY KEY,
    handover_id TEXT NOT NULL REFERENCES handovers(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    content_type TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX handover_photos_handover ON handover_photos(handover_id);

CREATE TABLE loaner_agreements (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    job_id TEXT NOT NULL UNIQUE REFERENCES transport_jobs(id),
    repair_order_id TEXT NOT NULL REFERENCES repair_orders(id),
    loaner_id TEXT NOT NULL REFERENCES loaners(id),
    language TEXT NOT NULL,
    terms TEXT NOT NULL,
    signer_name TEXT NOT NULL,
    signature BYTEA NOT NULL,
    signed_at BIGINT NOT NULL,
    pdf BYTEA NOT NULL,
    sha256 TEXT NOT NULL,
    recorded_by TEXT REFERENCES users(id)
);
CREATE INDEX loaner_agreements_ro ON loaner_agreements(repair_order_id);

-- Where a saved plan's driving times came from: the built-in model, the routing service, or the
-- built-in model because the routing service failed (the board says so).
ALTER TABLE logistics_days ADD COLUMN travel TEXT;
