-- KPIs (issue 20): targets per KPI, organisation and period, with the red/amber/green rule
-- (green from `green` on, amber from `amber` on, in the KPI's better direction; figures as
-- text, read back exactly), and the variable costs per hour the contribution margin needs.
CREATE TABLE kpi_targets (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    kpi TEXT NOT NULL,
    -- The first day (of a month) it applies from; the next one for the same KPI and
    -- organisation ends it.
    valid_from TEXT NOT NULL,
    green TEXT NOT NULL,
    amber TEXT NOT NULL,
    set_by TEXT REFERENCES users(id),
    set_at BIGINT NOT NULL,
    UNIQUE (organisation_id, kpi, valid_from)
);
CREATE INDEX kpi_targets_org ON kpi_targets(organisation_id, kpi);

CREATE TABLE kpi_costs (
    organisation_id TEXT PRIMARY KEY REFERENCES organisations(id),
    technician_minor BIGINT NOT NULL,
    driver_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    set_by TEXT REFERENCES users(id),
    set_at BIGINT NOT NULL
);

-- The reads the KPIs make by period.
CREATE INDEX ro_events_status_at ON ro_events(kind, status, at);
CREATE INDEX surveys_answered ON surveys(answered_at);
CREATE INDEX cases_created ON cases(created_at);
CREATE INDEX transport_jobs_window ON transport_jobs(window_from);
CREATE INDEX ro_clockings_started ON ro_clockings(started_at);

-- Digests: a person's KPI dashboard by e-mail every week or month, scoped to what they may see.
CREATE TABLE kpi_subscriptions (
    user_id TEXT NOT NULL REFERENCES users(id),
    frequency TEXT NOT NULL CHECK (frequency IN ('weekly', 'monthly')),
    -- The first day of the last period sent.
    last_sent TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, frequency)
);
