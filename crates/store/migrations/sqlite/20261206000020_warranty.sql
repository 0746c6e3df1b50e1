-- Warranty (issue 17, first part): a brand's terms as versioned data (a market's own terms, where
-- they differ, name the market), never edited in place (a change is a new version); and battery
-- state-of-health readings per vehicle as claim evidence. Models and coverages of a version are
-- JSON: `["Model S", "Model X"]`, `[{"kind": "basic", "months": 48, "km": 80000, "min_soh_pct": null}]`.
CREATE TABLE warranty_terms (
    id TEXT PRIMARY KEY,
    brand_id TEXT NOT NULL REFERENCES brands(id),
    market_id TEXT REFERENCES markets(id),
    code TEXT NOT NULL,
    models TEXT NOT NULL,
    delivered_from TEXT,
    delivered_before TEXT,
    coverages TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (brand_id, code)
);

CREATE TABLE battery_readings (
    id TEXT PRIMARY KEY,
    vehicle_id TEXT NOT NULL REFERENCES vehicles(id),
    read_on TEXT NOT NULL,
    odometer_km BIGINT NOT NULL,
    soh_pct BIGINT NOT NULL,
    source TEXT NOT NULL,
    recorded_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX battery_readings_vehicle ON battery_readings(vehicle_id, read_on);
