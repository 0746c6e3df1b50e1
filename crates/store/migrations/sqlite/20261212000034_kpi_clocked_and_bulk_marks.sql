-- Technicians' clocked time per service point, technician and day (and month), kept by triggers
-- in the same transaction as every clocking written, stopped, changed or removed (issue 20):
-- productivity divides it by attendance, and a market's year would otherwise sum millions of
-- clockings. Days and months are UTC, counted as the KPI roll-ups count them (days since
-- 1970-01-01; months as year × 12 + month − 1); a clocking counts on the day it started and only
-- once stopped. A repair order never changes service point, so its clockings' point is fixed.

CREATE TABLE kpi_clocked_daily (
    organisation_id TEXT NOT NULL,
    technician_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    micros BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, day, technician_id)
);

CREATE TABLE kpi_clocked_monthly (
    organisation_id TEXT NOT NULL,
    technician_id TEXT NOT NULL,
    month BIGINT NOT NULL,
    micros BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, month, technician_id)
);

INSERT INTO kpi_clocked_daily (organisation_id, technician_id, day, micros)
SELECT r.organisation_id, c.technician_id, c.started_at / 86400000000, SUM(c.stopped_at - c.started_at)
FROM ro_clockings c JOIN repair_orders r ON r.id = c.repair_order_id
WHERE c.stopped_at IS NOT NULL
GROUP BY r.organisation_id, c.technician_id, c.started_at / 86400000000;

INSERT INTO kpi_clocked_monthly (organisation_id, technician_id, month, micros)
SELECT r.organisation_id, c.technician_id,
       CAST(strftime('%Y', c.started_at / 1000000, 'unixepoch') AS INTEGER) * 12
         + CAST(strftime('%m', c.started_at / 1000000, 'unixepoch') AS INTEGER) - 1,
       SUM(c.stopped_at - c.started_at)
FROM ro_clockings c JOIN repair_orders r ON r.id = c.repair_order_id
WHERE c.stopped_at IS NOT NULL
GROUP BY 1, 2, 3;

CREATE TRIGGER kpi_clocked_insert AFTER INSERT ON ro_clockings WHEN NEW.stopped_at IS NOT NULL BEGIN
    INSERT INTO kpi_clocked_daily (organisation_id, technician_id, day, micros)
    SELECT r.organisation_id, NEW.technician_id, NEW.started_at / 86400000000, NEW.stopped_at - NEW.started_at
    FROM repair_orders r WHERE r.id = NEW.repair_order_id
    ON CONFLICT (organisation_id, day, technician_id) DO UPDATE SET micros = kpi_clocked_daily.micros + excluded.micros;
    INSERT INTO kpi_clocked_monthly (organisation_id, technician_id, month, micros)
    SELECT r.organisation_id, NEW.technician_id,
           CAST(strftime('%Y', NEW.started_at / 1000000, 'unixepoch') AS INTEGER) * 12
             + CAST(strftime('%m', NEW.started_at / 1000000, 'unixepoch') AS INTEGER) - 1,
           NEW.stopped_at - NEW.started_at
    FROM repair_orders r WHERE r.id = NEW.repair_order_id
    ON CONFLICT (organisation_id, month, technician_id) DO UPDATE SET micros = kpi_clocked_monthly.micros + excluded.micros;
END;

CREATE TRIGGER kpi_clocked_remove AFTER DELETE ON ro_clockings WHEN OLD.stopped_at IS NOT NULL BEGIN
    UPDATE kpi_clocked_daily SET micros = micros - (OLD.stopped_at - OLD.started_at)
    WHERE technician_id = OLD.technician_id AND day = OLD.started_at / 86400000000
      AND organisation_id = (SELECT r.organisation_id FROM repair_orders r WHERE r.id = OLD.repair_order_id);
    UPDATE kpi_clocked_monthly SET micros = micros - (OLD.stopped_at - OLD.started_at)
    WHERE technician_id = OLD.technician_id
      AND month = CAST(strftime('%Y', OLD.started_at / 1000000, 'unixepoch') AS INTEGER) * 12
                  + CAST(strftime('%m', OLD.started_at / 1000000, 'unixepoch') AS INTEGER) - 1
      AND organisation_id = (SELECT r.organisation_id FROM repair_orders r WHERE r.id = OLD.repair_order_id);
END;

-- A change is the old row taken out and the new one put in.
CREATE TRIGGER kpi_clocked_change_out AFTER UPDATE ON ro_clockings WHEN OLD.stopped_at IS NOT NULL BEGIN
    UPDATE kpi_clocked_daily SET micros = micros - (OLD.stopped_at - OLD.started_at)
    WHERE technician_id = OLD.technician_id AND day = OLD.started_at / 86400000000
      AND organisation_id = (SELECT r.organisation_id FROM repair_orders r WHERE r.id = OLD.repair_order_id);
    UPDATE kpi_clocked_monthly SET micros = micros - (OLD.stopped_at - OLD.started_at)
    WHERE technician_id = OLD.technician_id
      AND month = CAST(strftime('%Y', OLD.started_at / 1000000, 'unixepoch') AS INTEGER) * 12
                  + CAST(strftime('%m', OLD.started_at / 1000000, 'unixepoch') AS INTEGER) - 1
      AND organisation_id = (SELECT r.organisation_id FROM repair_orders r WHERE r.id = OLD.repair_order_id);
END;

CREATE TRIGGER kpi_clocked_change_in AFTER UPDATE ON ro_clockings WHEN NEW.stopped_at IS NOT NULL BEGIN
    INSERT INTO kpi_clocked_daily (organisation_id, technician_id, day, micros)
    SELECT r.organisation_id, NEW.technician_id, NEW.started_at / 86400000000, NEW.stopped_at - NEW.started_at
    FROM repair_orders r WHERE r.id = NEW.repair_order_id
    ON CONFLICT (organisation_id, day, technician_id) DO UPDATE SET micros = kpi_clocked_daily.micros + excluded.micros;
    INSERT INTO kpi_clocked_monthly (organisation_id, technician_id, month, micros)
    SELECT r.organisation_id, NEW.technician_id,
           CAST(strftime('%Y', NEW.started_at / 1000000, 'unixepoch') AS INTEGER) * 12
             + CAST(strftime('%m', NEW.started_at / 1000000, 'unixepoch') AS INTEGER) - 1,
           NEW.stopped_at - NEW.started_at
    FROM repair_orders r WHERE r.id = NEW.repair_order_id
    ON CONFLICT (organisation_id, month, technician_id) DO UPDATE SET micros = kpi_clocked_monthly.micros + excluded.micros;
END;

-- Change markers paused inside one transaction (issue 20): a bulk writer (the generated workshop
-- histories) inserts a row into kpi_marks_paused (SQLite) or sets aftersales.kpi_marks to
-- 'paused' for its transaction (PostgreSQL), writes its rows without a trigger per row, then
-- removes the row or lets the setting lapse and writes the markers of every day it wrote itself,
-- all before it commits; no other transaction ever sees the markers paused.

CREATE TABLE kpi_marks_paused (id BIGINT PRIMARY KEY);

DROP TRIGGER kpi_mark_repair_orders_insert;
CREATE TRIGGER kpi_mark_repair_orders_insert AFTER INSERT ON repair_orders WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, NEW.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_repair_orders_update;
CREATE TRIGGER kpi_mark_repair_orders_update AFTER UPDATE ON repair_orders WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, OLD.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, NEW.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_repair_orders_delete;
CREATE TRIGGER kpi_mark_repair_orders_delete AFTER DELETE ON repair_orders WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, OLD.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_ro_events_insert;
CREATE TRIGGER kpi_mark_ro_events_insert AFTER INSERT ON ro_events WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_ro_events_update;
CREATE TRIGGER kpi_mark_ro_events_update AFTER UPDATE ON ro_events WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_ro_events_delete;
CREATE TRIGGER kpi_mark_ro_events_delete AFTER DELETE ON ro_events WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_ro_jobs_insert;
CREATE TRIGGER kpi_mark_ro_jobs_insert AFTER INSERT ON ro_jobs WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_ro_jobs_update;
CREATE TRIGGER kpi_mark_ro_jobs_update AFTER UPDATE ON ro_jobs WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_ro_jobs_delete;
CREATE TRIGGER kpi_mark_ro_jobs_delete AFTER DELETE ON ro_jobs WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_ro_lines_insert;
CREATE TRIGGER kpi_mark_ro_lines_insert AFTER INSERT ON ro_lines WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_ro_lines_update;
CREATE TRIGGER kpi_mark_ro_lines_update AFTER UPDATE ON ro_lines WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_ro_lines_delete;
CREATE TRIGGER kpi_mark_ro_lines_delete AFTER DELETE ON ro_lines WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_ro_clockings_insert;
CREATE TRIGGER kpi_mark_ro_clockings_insert AFTER INSERT ON ro_clockings WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_ro_clockings_update;
CREATE TRIGGER kpi_mark_ro_clockings_update AFTER UPDATE ON ro_clockings WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_ro_clockings_delete;
CREATE TRIGGER kpi_mark_ro_clockings_delete AFTER DELETE ON ro_clockings WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_surveys_insert;
CREATE TRIGGER kpi_mark_surveys_insert AFTER INSERT ON surveys WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_surveys_update;
CREATE TRIGGER kpi_mark_surveys_update AFTER UPDATE ON surveys WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_surveys_delete;
CREATE TRIGGER kpi_mark_surveys_delete AFTER DELETE ON surveys WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_cases_insert;
CREATE TRIGGER kpi_mark_cases_insert AFTER INSERT ON cases WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, NEW.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_cases_update;
CREATE TRIGGER kpi_mark_cases_update AFTER UPDATE ON cases WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, OLD.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, NEW.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_cases_delete;
CREATE TRIGGER kpi_mark_cases_delete AFTER DELETE ON cases WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, OLD.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_triage_decisions_insert;
CREATE TRIGGER kpi_mark_triage_decisions_insert AFTER INSERT ON triage_decisions WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT c.organisation_id, c.created_at / 86400000000, 3, 1 FROM cases c WHERE c.id = NEW.case_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_triage_decisions_update;
CREATE TRIGGER kpi_mark_triage_decisions_update AFTER UPDATE ON triage_decisions WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT c.organisation_id, c.created_at / 86400000000, 3, 1 FROM cases c WHERE c.id = OLD.case_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT c.organisation_id, c.created_at / 86400000000, 3, 1 FROM cases c WHERE c.id = NEW.case_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_triage_decisions_delete;
CREATE TRIGGER kpi_mark_triage_decisions_delete AFTER DELETE ON triage_decisions WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT c.organisation_id, c.created_at / 86400000000, 3, 1 FROM cases c WHERE c.id = OLD.case_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_appointments_insert;
CREATE TRIGGER kpi_mark_appointments_insert AFTER INSERT ON appointments WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, NEW.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_appointments_update;
CREATE TRIGGER kpi_mark_appointments_update AFTER UPDATE ON appointments WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, OLD.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, NEW.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_appointments_delete;
CREATE TRIGGER kpi_mark_appointments_delete AFTER DELETE ON appointments WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, OLD.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_billing_documents_insert;
CREATE TRIGGER kpi_mark_billing_documents_insert AFTER INSERT ON billing_documents WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, NEW.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_billing_documents_update;
CREATE TRIGGER kpi_mark_billing_documents_update AFTER UPDATE ON billing_documents WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, OLD.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, NEW.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_billing_documents_delete;
CREATE TRIGGER kpi_mark_billing_documents_delete AFTER DELETE ON billing_documents WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, OLD.created_at / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_billing_lines_insert;
CREATE TRIGGER kpi_mark_billing_lines_insert AFTER INSERT ON billing_lines WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT d.organisation_id, d.created_at / 86400000000, 3, 1 FROM billing_documents d WHERE d.id = NEW.document_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_billing_lines_update;
CREATE TRIGGER kpi_mark_billing_lines_update AFTER UPDATE ON billing_lines WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT d.organisation_id, d.created_at / 86400000000, 3, 1 FROM billing_documents d WHERE d.id = OLD.document_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT d.organisation_id, d.created_at / 86400000000, 3, 1 FROM billing_documents d WHERE d.id = NEW.document_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_billing_lines_delete;
CREATE TRIGGER kpi_mark_billing_lines_delete AFTER DELETE ON billing_lines WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT d.organisation_id, d.created_at / 86400000000, 3, 1 FROM billing_documents d WHERE d.id = OLD.document_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_transport_jobs_insert;
CREATE TRIGGER kpi_mark_transport_jobs_insert AFTER INSERT ON transport_jobs WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, (CASE WHEN NEW.window_from < NEW.created_at THEN NEW.window_from ELSE NEW.created_at END) / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_transport_jobs_update;
CREATE TRIGGER kpi_mark_transport_jobs_update AFTER UPDATE ON transport_jobs WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, (CASE WHEN OLD.window_from < OLD.created_at THEN OLD.window_from ELSE OLD.created_at END) / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, (CASE WHEN NEW.window_from < NEW.created_at THEN NEW.window_from ELSE NEW.created_at END) / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_transport_jobs_delete;
CREATE TRIGGER kpi_mark_transport_jobs_delete AFTER DELETE ON transport_jobs WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, (CASE WHEN OLD.window_from < OLD.created_at THEN OLD.window_from ELSE OLD.created_at END) / 86400000000, 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_warranty_claims_insert;
CREATE TRIGGER kpi_mark_warranty_claims_insert AFTER INSERT ON warranty_claims WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, CAST(julianday(NEW.opened_on) - 2440587.5 AS BIGINT), 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_warranty_claims_update;
CREATE TRIGGER kpi_mark_warranty_claims_update AFTER UPDATE ON warranty_claims WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, CAST(julianday(OLD.opened_on) - 2440587.5 AS BIGINT), 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT NEW.organisation_id, CAST(julianday(NEW.opened_on) - 2440587.5 AS BIGINT), 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = NEW.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_warranty_claims_delete;
CREATE TRIGGER kpi_mark_warranty_claims_delete AFTER DELETE ON warranty_claims WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT OLD.organisation_id, CAST(julianday(OLD.opened_on) - 2440587.5 AS BIGINT), 3, 1 WHERE true ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.id = OLD.repair_order_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_warranty_claim_lines_insert;
CREATE TRIGGER kpi_mark_warranty_claim_lines_insert AFTER INSERT ON warranty_claim_lines WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT w.organisation_id, CAST(julianday(w.opened_on) - 2440587.5 AS BIGINT), 3, 1 FROM warranty_claims w WHERE w.id = NEW.claim_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_warranty_claim_lines_update;
CREATE TRIGGER kpi_mark_warranty_claim_lines_update AFTER UPDATE ON warranty_claim_lines WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT w.organisation_id, CAST(julianday(w.opened_on) - 2440587.5 AS BIGINT), 3, 1 FROM warranty_claims w WHERE w.id = OLD.claim_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT w.organisation_id, CAST(julianday(w.opened_on) - 2440587.5 AS BIGINT), 3, 1 FROM warranty_claims w WHERE w.id = NEW.claim_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_warranty_claim_lines_delete;
CREATE TRIGGER kpi_mark_warranty_claim_lines_delete AFTER DELETE ON warranty_claim_lines WHEN NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT w.organisation_id, CAST(julianday(w.opened_on) - 2440587.5 AS BIGINT), 3, 1 FROM warranty_claims w WHERE w.id = OLD.claim_id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;

DROP TRIGGER kpi_mark_vehicles_update;
CREATE TRIGGER kpi_mark_vehicles_update AFTER UPDATE OF model ON vehicles WHEN OLD.model IS NOT NEW.model AND NOT EXISTS (SELECT 1 FROM kpi_marks_paused) BEGIN
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT r.organisation_id, r.created_at / 86400000000, 3, 1 FROM repair_orders r WHERE r.vehicle_id = NEW.id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
    INSERT INTO kpi_changes (organisation_id, day, families, seq) SELECT DISTINCT c.organisation_id, c.created_at / 86400000000, 3, 1 FROM cases c WHERE c.vehicle_id = NEW.id ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, seq = kpi_changes.seq + 1;
END;
