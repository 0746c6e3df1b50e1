-- Workshop and customer updates: capacity (bays, technicians' shifts, absences, certificates),
-- catalogues (labour operations, parts and stock), appointments whose quarter hours are claimed
-- row by row (a unique key makes double booking impossible), repair orders with jobs, lines,
-- clockings and events, the customer's status page and survey, and the notification outbox.

CREATE TABLE workshop_settings (
    organisation_id TEXT PRIMARY KEY REFERENCES organisations(id),
    labour_rate_minor BIGINT NOT NULL,
    self_booking BIGINT NOT NULL DEFAULT 0,
    mobile_travel_minutes BIGINT NOT NULL DEFAULT 30,
    address TEXT,
    version BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE bays (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    lift BIGINT NOT NULL DEFAULT 0,
    hv_area BIGINT NOT NULL DEFAULT 0,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    UNIQUE (organisation_id, name)
);

CREATE TABLE technicians (
    user_id TEXT NOT NULL REFERENCES users(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    mobile BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, organisation_id)
);

CREATE TABLE technician_shifts (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    weekday BIGINT NOT NULL,
    starts TEXT NOT NULL,
    ends TEXT NOT NULL
);
CREATE INDEX technician_shifts_org ON technician_shifts(organisation_id);

CREATE TABLE technician_absences (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX technician_absences_user ON technician_absences(user_id, starts_at);

CREATE TABLE certifications (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    code TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    expires_on TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX certifications_user ON certifications(user_id);

CREATE TABLE labour_operations (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    code TEXT NOT NULL,
    description TEXT NOT NULL,
    hours_centi BIGINT NOT NULL,
    certification TEXT,
    needs_lift BIGINT NOT NULL DEFAULT 0,
    needs_hv_area BIGINT NOT NULL DEFAULT 0,
    bookable BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (organisation_id, code)
);

CREATE TABLE parts (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    part_number TEXT NOT NULL,
    description TEXT NOT NULL,
    price_minor BIGINT NOT NULL,
    cost_minor BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (organisation_id, part_number)
);

CREATE TABLE part_stock (
    part_id TEXT NOT NULL REFERENCES parts(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    quantity_centi BIGINT NOT NULL,
    PRIMARY KEY (part_id, organisation_id)
);

CREATE TABLE appointments (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    kind TEXT NOT NULL CHECK (kind IN ('workshop', 'mobile')),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    vehicle_id TEXT REFERENCES vehicles(id),
    case_id TEXT REFERENCES cases(id),
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    bay_id TEXT REFERENCES bays(id),
    technician_id TEXT NOT NULL REFERENCES users(id),
    address TEXT,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX appointments_org_time ON appointments(organisation_id, starts_at);

-- One row per bay or technician and quarter hour taken: the primary key is the lock.
CREATE TABLE resource_units (
    resource_id TEXT NOT NULL,
    unit BIGINT NOT NULL,
    appointment_id TEXT NOT NULL REFERENCES appointments(id),
    PRIMARY KEY (resource_id, unit)
);
CREATE INDEX resource_units_appointment ON resource_units(appointment_id);

CREATE TABLE repair_orders (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    vehicle_id TEXT REFERENCES vehicles(id),
    case_id TEXT REFERENCES cases(id),
    appointment_id TEXT REFERENCES appointments(id),
    status TEXT NOT NULL,
    eta BIGINT,
    public_token TEXT NOT NULL UNIQUE,
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX repair_orders_org_status ON repair_orders(organisation_id, status);
CREATE INDEX repair_orders_customer ON repair_orders(customer_id);

CREATE TABLE ro_jobs (
    id TEXT PRIMARY KEY,
    repair_order_id TEXT NOT NULL REFERENCES repair_orders(id),
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    complaint TEXT NOT NULL,
    cause TEXT,
    correction TEXT,
    pay_type TEXT NOT NULL,
    approval TEXT NOT NULL,
    approval_at BIGINT,
    approval_via TEXT,
    technician_id TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX ro_jobs_ro ON ro_jobs(repair_order_id, position);
CREATE INDEX ro_jobs_technician ON ro_jobs(technician_id);

CREATE TABLE ro_lines (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES ro_jobs(id),
    repair_order_id TEXT NOT NULL REFERENCES repair_orders(id),
    kind TEXT NOT NULL CHECK (kind IN ('labour', 'part', 'sublet')),
    code TEXT,
    description TEXT NOT NULL,
    quantity_centi BIGINT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    unit_cost_minor BIGINT NOT NULL,
    pay_type TEXT NOT NULL,
    labour_operation_id TEXT REFERENCES labour_operations(id),
    part_id TEXT REFERENCES parts(id),
    certification TEXT,
    backordered BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX ro_lines_job ON ro_lines(job_id);
CREATE INDEX ro_lines_ro ON ro_lines(repair_order_id);

CREATE TABLE ro_clockings (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES ro_jobs(id),
    repair_order_id TEXT NOT NULL REFERENCES repair_orders(id),
    technician_id TEXT NOT NULL REFERENCES users(id),
    started_at BIGINT NOT NULL,
    stopped_at BIGINT
);
CREATE INDEX ro_clockings_job ON ro_clockings(job_id);
CREATE INDEX ro_clockings_technician ON ro_clockings(technician_id, started_at);

CREATE TABLE ro_events (
    id TEXT PRIMARY KEY,
    repair_order_id TEXT NOT NULL REFERENCES repair_orders(id),
    kind TEXT NOT NULL,
    status TEXT,
    body TEXT,
    actor_user_id TEXT REFERENCES users(id),
    via TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX ro_events_ro ON ro_events(repair_order_id, at);

CREATE TABLE surveys (
    repair_order_id TEXT PRIMARY KEY REFERENCES repair_orders(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    token TEXT NOT NULL UNIQUE,
    language TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    answered_at BIGINT,
    csat BIGINT,
    nps BIGINT,
    comment TEXT
);
CREATE INDEX surveys_org ON surveys(organisation_id, answered_at);

CREATE TABLE notification_rules (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    event TEXT NOT NULL,
    channel TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, event, channel)
);

CREATE TABLE notification_templates (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    event TEXT NOT NULL,
    channel TEXT NOT NULL,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_by TEXT REFERENCES users(id),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, event, channel, language)
);

-- Written in the same transaction as the change it reports; workers deliver it.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    customer_id TEXT REFERENCES customers(id),
    repair_order_id TEXT REFERENCES repair_orders(id),
    case_id TEXT REFERENCES cases(id),
    event TEXT NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    attachment_name TEXT,
    attachment TEXT,
    dedupe_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dead', 'skipped')),
    attempts BIGINT NOT NULL DEFAULT 0,
    not_before BIGINT NOT NULL,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbox_due ON outbox(status, not_before);
CREATE INDEX outbox_ro ON outbox(repair_order_id);
CREATE INDEX outbox_org_status ON outbox(organisation_id, status);
