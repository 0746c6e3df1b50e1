-- CRM: customers (persons and companies), contacts, consents (append-only history), vehicles by VIN
-- with a configurable WMI table, ownership history, odometer readings, and one timeline.
CREATE TABLE vin_wmis (
    wmi TEXT PRIMARY KEY,
    brand_code TEXT NOT NULL,
    manufacturer TEXT NOT NULL,
    check_digit_required BIGINT NOT NULL DEFAULT 1
);
CREATE TABLE vin_models (
    wmi TEXT NOT NULL REFERENCES vin_wmis(wmi),
    vds_prefix TEXT NOT NULL,
    model TEXT NOT NULL,
    PRIMARY KEY (wmi, vds_prefix)
);
CREATE TABLE vin_plants (
    brand_code TEXT NOT NULL,
    code TEXT NOT NULL,
    plant TEXT NOT NULL,
    PRIMARY KEY (brand_code, code)
);

-- Seed: Tesla and Polestar (shared/reference/domain-rules.md §4). Both use the check digit.
INSERT INTO vin_wmis (wmi, brand_code, manufacturer, check_digit_required) VALUES
    ('5YJ', 'TESLA', 'Tesla, Inc. (USA, passenger cars)', 1),
    ('7SA', 'TESLA', 'Tesla, Inc. (USA, multi-purpose vehicles)', 1),
    ('7G2', 'TESLA', 'Tesla, Inc. (USA, trucks)', 1),
    ('LRW', 'TESLA', 'Tesla (Shanghai)', 1),
    ('XP7', 'TESLA', 'Tesla Manufacturing Brandenburg', 1),
    ('SFZ', 'TESLA', 'Tesla Roadster (UK-built)', 1),
    ('LPS', 'POLESTAR', 'Polestar (China)', 1),
    ('7SY', 'POLESTAR', 'Polestar (USA)', 1);
INSERT INTO vin_models (wmi, vds_prefix, model) VALUES
    ('5YJ', 'S', 'Model S'), ('5YJ', '3', 'Model 3'), ('5YJ', 'X', 'Model X'), ('5YJ', 'Y', 'Model Y'), ('5YJ', 'R', 'Roadster'),
    ('7SA', 'X', 'Model X'), ('7SA', 'Y', 'Model Y'),
    ('7G2', 'C', 'Cybertruck'), ('7G2', 'T', 'Semi'),
    ('LRW', '3', 'Model 3'), ('LRW', 'Y', 'Model Y'),
    ('XP7', 'Y', 'Model Y'), ('XP7', '3', 'Model 3'),
    ('SFZ', 'R', 'Roadster'),
    ('LPS', 'ED', 'Polestar 2'),
    ('7SY', 'EJ', 'Polestar 3');
INSERT INTO vin_plants (brand_code, code, plant) VALUES
    ('TESLA', 'F', 'Fremont'), ('TESLA', 'A', 'Austin'), ('TESLA', 'C', 'Shanghai'), ('TESLA', 'B', 'Berlin-Brandenburg');

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    kind TEXT NOT NULL CHECK (kind IN ('person', 'company')),
    name TEXT NOT NULL,
    org_number TEXT,
    nif TEXT,
    email TEXT,
    phone TEXT,
    language TEXT NOT NULL,
    preferred_channel TEXT NOT NULL,
    street TEXT,
    postal_code TEXT,
    city TEXT,
    country TEXT NOT NULL,
    -- Coordinates in millionths of a degree (about 0.1 m): exact, and no floating-point
    -- parameters (sqlx's Any driver binds a NULL double as float4 on PostgreSQL).
    latitude_e6 BIGINT,
    longitude_e6 BIGINT,
    erased_at BIGINT,
    created_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX customers_org ON customers(organisation_id);
CREATE INDEX customers_phone ON customers(phone);

CREATE TABLE customer_contacts (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    name TEXT NOT NULL,
    role TEXT,
    email TEXT,
    phone TEXT
);
CREATE INDEX customer_contacts_customer ON customer_contacts(customer_id);

CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    purpose TEXT NOT NULL CHECK (purpose IN ('service', 'marketing')),
    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'phone')),
    granted BIGINT NOT NULL,
    at BIGINT NOT NULL,
    source TEXT NOT NULL,
    wording TEXT NOT NULL,
    recorded_by TEXT REFERENCES users(id)
);
CREATE INDEX consents_customer ON consents(customer_id, purpose, channel, at);

CREATE TABLE vehicles (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    vin TEXT NOT NULL UNIQUE,
    brand_id TEXT REFERENCES brands(id),
    model TEXT,
    model_year BIGINT,
    plant TEXT,
    check_digit TEXT NOT NULL,
    registration TEXT,
    delivery_date TEXT,
    warranty_version TEXT,
    created_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX vehicles_org ON vehicles(organisation_id);
CREATE INDEX vehicles_registration ON vehicles(registration);

CREATE TABLE vehicle_ownerships (
    id TEXT PRIMARY KEY,
    vehicle_id TEXT NOT NULL REFERENCES vehicles(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    from_date TEXT NOT NULL,
    to_date TEXT
);
CREATE INDEX vehicle_ownerships_vehicle ON vehicle_ownerships(vehicle_id);
CREATE INDEX vehicle_ownerships_customer ON vehicle_ownerships(customer_id);

CREATE TABLE odometer_readings (
    id TEXT PRIMARY KEY,
    vehicle_id TEXT NOT NULL REFERENCES vehicles(id),
    at BIGINT NOT NULL,
    km BIGINT NOT NULL,
    source TEXT NOT NULL,
    reason TEXT,
    recorded_by TEXT REFERENCES users(id)
);
CREATE INDEX odometer_readings_vehicle ON odometer_readings(vehicle_id, at);

CREATE TABLE timeline_events (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    customer_id TEXT REFERENCES customers(id),
    vehicle_id TEXT REFERENCES vehicles(id),
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    body TEXT,
    actor_user_id TEXT REFERENCES users(id)
);
CREATE INDEX timeline_customer ON timeline_events(customer_id, at);
CREATE INDEX timeline_vehicle ON timeline_events(vehicle_id, at);

-- Search: one FTS5 row per customer and vehicle. Terms are normalised by the store (lower case,
-- no diacritics, split on anything that is not a letter or digit), so both engines match alike.
CREATE VIRTUAL TABLE crm_search USING fts5(
    entity_kind UNINDEXED,
    entity_id UNINDEXED,
    organisation_id UNINDEXED,
    terms,
    tokenize = 'unicode61 remove_diacritics 2'
);
-- FTS5 cannot look rows up by an UNINDEXED column quickly; this table finds a record's row.
CREATE TABLE crm_search_keys (
    entity_kind TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    fts_rowid INTEGER NOT NULL,
    PRIMARY KEY (entity_kind, entity_id)
);
