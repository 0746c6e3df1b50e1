-- Logistics: pickups and deliveries of customers' cars around the repair order. A service point's
-- settings (the depot on the map, the travel model), loaner cars, wash bays, valet drivers' shifts,
-- the jobs with their promised windows and actual times, and one saved plan per service point and
-- day whose version guards every save. Coordinates in millionths of a degree, times in Unix
-- microseconds (UTC), shift times as local 'HH:MM'.
CREATE TABLE logistics_settings (
    organisation_id TEXT PRIMARY KEY REFERENCES organisations(id),
    latitude_e6 BIGINT NOT NULL,
    longitude_e6 BIGINT NOT NULL,
    road_factor_pct BIGINT NOT NULL DEFAULT 130,
    unassisted_kmh BIGINT NOT NULL DEFAULT 15,
    unassisted_max_km BIGINT NOT NULL DEFAULT 12,
    handover_minutes BIGINT NOT NULL DEFAULT 10,
    updated_at BIGINT NOT NULL
);

CREATE TABLE loaners (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    plate TEXT NOT NULL,
    vin TEXT,
    model TEXT NOT NULL,
    range_km BIGINT NOT NULL,
    out_of_service BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (organisation_id, plate)
);

CREATE TABLE wash_bays (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    minutes_per_car BIGINT NOT NULL,
    opens TEXT NOT NULL,
    closes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (organisation_id, name)
);

CREATE TABLE driver_shifts (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    weekday BIGINT NOT NULL,
    starts TEXT NOT NULL,
    ends TEXT NOT NULL,
    UNIQUE (user_id, organisation_id, weekday)
);
CREATE INDEX driver_shifts_org ON driver_shifts(organisation_id);

CREATE TABLE transport_jobs (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    repair_order_id TEXT NOT NULL REFERENCES repair_orders(id),
    kind TEXT NOT NULL CHECK (kind IN ('pickup', 'delivery')),
    day TEXT NOT NULL,
    address TEXT NOT NULL,
    latitude_e6 BIGINT,
    longitude_e6 BIGINT,
    window_from BIGINT NOT NULL,
    window_to BIGINT NOT NULL,
    loaner_id TEXT REFERENCES loaners(id),
    clean BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('planned', 'on-the-way', 'arrived', 'done', 'cancelled')),
    held BIGINT NOT NULL DEFAULT 0,
    lock_driver_id TEXT REFERENCES users(id),
    lock_at BIGINT,
    driver_id TEXT REFERENCES users(id),
    on_the_way_at BIGINT,
    arrived_at BIGINT,
    done_at BIGINT,
    odometer_km BIGINT,
    charge_pct BIGINT,
    handover_note TEXT,
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    UNIQUE (repair_order_id, kind)
);
CREATE INDEX transport_jobs_day ON transport_jobs(organisation_id, day);

-- The saved plan of a service point's day; every change to the day's jobs bumps the version, so a
-- plan solved from an older version is refused at save.
CREATE TABLE logistics_days (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    day TEXT NOT NULL,
    version BIGINT NOT NULL,
    planned_version BIGINT,
    planned_at BIGINT,
    planned_by TEXT REFERENCES users(id),
    PRIMARY KEY (organisation_id, day)
);

-- One row per job of a saved plan: on a driver's route (driver, order, times) or not (the reason).
CREATE TABLE plan_entries (
    job_id TEXT PRIMARY KEY REFERENCES transport_jobs(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    day TEXT NOT NULL,
    driver_id TEXT REFERENCES users(id),
    seq BIGINT,
    starts_at BIGINT,
    at_customer BIGINT,
    ends_at BIGINT,
    drive_m BIGINT,
    unassisted_m BIGINT,
    wash_bay_id TEXT REFERENCES wash_bays(id),
    wash_from BIGINT,
    wash_to BIGINT,
    reason TEXT
);
CREATE INDEX plan_entries_day ON plan_entries(organisation_id, day);
