-- KPI roll-ups (issue 20): per KPI, service point and day (and month) the sums the formulas add
-- (numerator, denominator, items; for the margin also the hours its costs are charged on), so a
-- dashboard reads at most one row per KPI, point and day or month instead of every fact.
--
-- Every write to a table a KPI reads leaves a change marker (organisation, day) in the same
-- transaction, by the triggers below: the day of the row it changed (for a line, job, clocking,
-- event or survey: the day its repair order was opened; for a triage decision: its case's day).
-- A read first recomputes, from the facts and with the same formulas, the days a marker can have
-- changed (from the marker's day on; for the KPIs that look 30 days ahead, from 30 days before
-- it), so a figure is never staler than the data. `families`: 1 the KPIs of the day, 2 those
-- that wait 30 days (from 30 days before), 4 those that wait 30 days (from the day itself: a day
-- whose 30 days have run out). `seq` grows with each change so a marker written while a
-- recomputation ran is not cleared by it.


CREATE TABLE kpi_daily (
    kpi TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    month BIGINT NOT NULL,
    currency TEXT NOT NULL,
    num REAL NOT NULL,
    den REAL NOT NULL,
    items BIGINT NOT NULL,
    labour_seconds BIGINT NOT NULL,
    driver_seconds BIGINT NOT NULL,
    PRIMARY KEY (kpi, organisation_id, day, currency)
);
CREATE INDEX kpi_daily_org_day ON kpi_daily (organisation_id, day);

CREATE TABLE kpi_monthly (
    kpi TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    month BIGINT NOT NULL,
    currency TEXT NOT NULL,
    num REAL NOT NULL,
    den REAL NOT NULL,
    items BIGINT NOT NULL,
    labour_seconds BIGINT NOT NULL,
    driver_seconds BIGINT NOT NULL,
    PRIMARY KEY (kpi, organisation_id, month, currency)
);

CREATE TABLE kpi_changes (
    organisation_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    families BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, day)
);

CREATE TABLE kpi_rollup_state (
    id BIGINT PRIMARY KEY,
    through_day BIGINT,
    runs BIGINT NOT NULL
);
INSERT INTO kpi_rollup_state (id, through_day, runs) VALUES (1, NULL, 0);

CREATE TRIGGER kpi_mark_repair_orders_insert AFTER INSERT ON repair_orders BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, NEW.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_repair_orders_update AFTER UPDATE ON repair_orders BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, OLD.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, NEW.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_repair_orders_delete AFTER DELETE ON repair_orders BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, OLD.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_ro_events_insert AFTER INSERT ON ro_events BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_ro_events_update AFTER UPDATE ON ro_events BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_ro_events_delete AFTER DELETE ON ro_events BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_ro_jobs_insert AFTER INSERT ON ro_jobs BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_ro_jobs_update AFTER UPDATE ON ro_jobs BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_ro_jobs_delete AFTER DELETE ON ro_jobs BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_ro_lines_insert AFTER INSERT ON ro_lines BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_ro_lines_update AFTER UPDATE ON ro_lines BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_ro_lines_delete AFTER DELETE ON ro_lines BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_ro_clockings_insert AFTER INSERT ON ro_clockings BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_ro_clockings_update AFTER UPDATE ON ro_clockings BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_ro_clockings_delete AFTER DELETE ON ro_clockings BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_surveys_insert AFTER INSERT ON surveys BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_surveys_update AFTER UPDATE ON surveys BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_surveys_delete AFTER DELETE ON surveys BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_cases_insert AFTER INSERT ON cases BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, NEW.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_cases_update AFTER UPDATE ON cases BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, OLD.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, NEW.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_cases_delete AFTER DELETE ON cases BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, OLD.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_triage_decisions_insert AFTER INSERT ON triage_decisions BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT c.organisation_id, c.created_at / 86400000000, 3, 1 FROM cases c WHERE c.id = NEW.case_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_triage_decisions_update AFTER UPDATE ON triage_decisions BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT c.organisation_id, c.created_at / 86400000000, 3, 1 FROM cases c WHERE c.id = OLD.case_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT c.organisation_id, c.created_at / 86400000000, 3, 1 FROM cases c WHERE c.id = NEW.case_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_triage_decisions_delete AFTER DELETE ON triage_decisions BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT c.organisation_id, c.created_at / 86400000000, 3, 1 FROM cases c WHERE c.id = OLD.case_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_appointments_insert AFTER INSERT ON appointments BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, NEW.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_appointments_update AFTER UPDATE ON appointments BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, OLD.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, NEW.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_appointments_delete AFTER DELETE ON appointments BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, OLD.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_billing_documents_insert AFTER INSERT ON billing_documents BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, NEW.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_billing_documents_update AFTER UPDATE ON billing_documents BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, OLD.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, NEW.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_billing_documents_delete AFTER DELETE ON billing_documents BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, OLD.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_billing_lines_insert AFTER INSERT ON billing_lines BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT d.organisation_id, d.created_at / 86400000000, 3, 1 FROM billing_documents d WHERE d.id = NEW.document_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_billing_lines_update AFTER UPDATE ON billing_lines BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT d.organisation_id, d.created_at / 86400000000, 3, 1 FROM billing_documents d WHERE d.id = OLD.document_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT d.organisation_id, d.created_at / 86400000000, 3, 1 FROM billing_documents d WHERE d.id = NEW.document_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_billing_lines_delete AFTER DELETE ON billing_lines BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT d.organisation_id, d.created_at / 86400000000, 3, 1 FROM billing_documents d WHERE d.id = OLD.document_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_transport_jobs_insert AFTER INSERT ON transport_jobs BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, (CASE WHEN NEW.window_from < NEW.created_at THEN NEW.window_from ELSE NEW.created_at END) / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_transport_jobs_update AFTER UPDATE ON transport_jobs BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, (CASE WHEN OLD.window_from < OLD.created_at THEN OLD.window_from ELSE OLD.created_at END) / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, (CASE WHEN NEW.window_from < NEW.created_at THEN NEW.window_from ELSE NEW.created_at END) / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_transport_jobs_delete AFTER DELETE ON transport_jobs BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, (CASE WHEN OLD.window_from < OLD.created_at THEN OLD.window_from ELSE OLD.created_at END) / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_warranty_claims_insert AFTER INSERT ON warranty_claims BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, CAST(julianday(NEW.opened_on) - 2440587.5 AS BIGINT), 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_warranty_claims_update AFTER UPDATE ON warranty_claims BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, CAST(julianday(OLD.opened_on) - 2440587.5 AS BIGINT), 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, CAST(julianday(NEW.opened_on) - 2440587.5 AS BIGINT), 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_warranty_claims_delete AFTER DELETE ON warranty_claims BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, CAST(julianday(OLD.opened_on) - 2440587.5 AS BIGINT), 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_warranty_claim_lines_insert AFTER INSERT ON warranty_claim_lines BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT w.organisation_id, CAST(julianday(w.opened_on) - 2440587.5 AS BIGINT), 3, 1 FROM warranty_claims w WHERE w.id = NEW.claim_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_warranty_claim_lines_update AFTER UPDATE ON warranty_claim_lines BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT w.organisation_id, CAST(julianday(w.opened_on) - 2440587.5 AS BIGINT), 3, 1 FROM warranty_claims w WHERE w.id = OLD.claim_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT w.organisation_id, CAST(julianday(w.opened_on) - 2440587.5 AS BIGINT), 3, 1 FROM warranty_claims w WHERE w.id = NEW.claim_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

CREATE TRIGGER kpi_mark_warranty_claim_lines_delete AFTER DELETE ON warranty_claim_lines BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT w.organisation_id, CAST(julianday(w.opened_on) - 2440587.5 AS BIGINT), 3, 1 FROM warranty_claims w WHERE w.id = OLD.claim_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

-- A vehicle's model is a dimension of everything done on it.
CREATE TRIGGER kpi_mark_vehicles_update AFTER UPDATE OF model ON vehicles WHEN OLD.model IS NOT NEW.model BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.vehicle_id = NEW.id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT c.organisation_id, c.created_at / 86400000000, 3, 1 FROM cases c WHERE c.vehicle_id = NEW.id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

-- What is already there is recomputed by the first read.
INSERT INTO kpi_changes (organisation_id, day, families, seq)
SELECT organisation_id, day, 3, 1 FROM (
    SELECT organisation_id, created_at / 86400000000 AS day FROM repair_orders
    UNION
    SELECT organisation_id, created_at / 86400000000 FROM cases
    UNION
    SELECT organisation_id, created_at / 86400000000 FROM appointments
    UNION
    SELECT organisation_id, created_at / 86400000000 FROM billing_documents
    UNION
    SELECT organisation_id, (CASE WHEN window_from < created_at THEN window_from ELSE created_at END) / 86400000000 FROM transport_jobs
    UNION
    SELECT organisation_id, CAST(julianday(opened_on) - 2440587.5 AS BIGINT) FROM warranty_claims
) AS seen;
