-- Service reminders: maintenance schedules as data (a brand's service items, a market's legal
-- inspections), maintenance done outside our repair orders, the reminders sent (each due date
-- once), and seasonal campaigns.
CREATE TABLE service_schedules (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('service', 'inspection')),
    model TEXT,
    name_nb TEXT NOT NULL,
    name_en TEXT NOT NULL,
    name_pt TEXT NOT NULL,
    first_months BIGINT NOT NULL,
    every_months BIGINT NOT NULL,
    every_km BIGINT,
    later_from_months BIGINT,
    later_every_months BIGINT,
    operation_code TEXT,
    remind_days BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (organisation_id, code)
);

CREATE TABLE maintenance_records (
    id TEXT PRIMARY KEY,
    vehicle_id TEXT NOT NULL REFERENCES vehicles(id),
    schedule_id TEXT NOT NULL REFERENCES service_schedules(id),
    done_on TEXT NOT NULL,
    km BIGINT,
    recorded_by TEXT REFERENCES users(id),
    at BIGINT NOT NULL
);
CREATE INDEX maintenance_records_vehicle ON maintenance_records(vehicle_id, schedule_id, done_on);

CREATE TABLE reminders_sent (
    vehicle_id TEXT NOT NULL REFERENCES vehicles(id),
    schedule_id TEXT NOT NULL REFERENCES service_schedules(id),
    due_on TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (vehicle_id, schedule_id, due_on)
);

CREATE TABLE campaigns (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    title_nb TEXT NOT NULL,
    title_en TEXT NOT NULL,
    title_pt TEXT NOT NULL,
    message_nb TEXT NOT NULL,
    message_en TEXT NOT NULL,
    message_pt TEXT NOT NULL,
    models TEXT NOT NULL,
    send_on TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('planned', 'sent')),
    messages BIGINT NOT NULL DEFAULT 0,
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX campaigns_due ON campaigns(status, send_on);
