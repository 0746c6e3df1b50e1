-- Pilots (issue 20): a programme run at chosen service points from a start date, the KPIs it
-- should move, and a control group (chosen by hand or proposed by matching). The evaluation is
-- computed from the KPIs each time it is read, never stored.
CREATE TABLE pilots (
    id TEXT PRIMARY KEY,
    -- Where the pilot is run from (a market entity or an importer); its points are below it.
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    programme TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT,
    -- How many months before the start are compared.
    months_before BIGINT NOT NULL,
    control_method TEXT NOT NULL CHECK (control_method IN ('chosen', 'matched')),
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    ended_by TEXT REFERENCES users(id),
    ended_at BIGINT
);
CREATE INDEX pilots_org ON pilots(organisation_id, start_date);

CREATE TABLE pilot_kpis (
    pilot_id TEXT NOT NULL REFERENCES pilots(id),
    kpi TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (pilot_id, kpi)
);

CREATE TABLE pilot_points (
    pilot_id TEXT NOT NULL REFERENCES pilots(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    role TEXT NOT NULL CHECK (role IN ('pilot', 'control')),
    PRIMARY KEY (pilot_id, organisation_id)
);
