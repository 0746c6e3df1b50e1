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

CREATE FUNCTION kpi_month_of(at BIGINT) RETURNS BIGINT AS $$
    SELECT CAST(EXTRACT(YEAR FROM to_timestamp(at / 1000000.0) AT TIME ZONE 'UTC') AS BIGINT) * 12
         + CAST(EXTRACT(MONTH FROM to_timestamp(at / 1000000.0) AT TIME ZONE 'UTC') AS BIGINT) - 1
$$ LANGUAGE sql IMMUTABLE;

INSERT INTO kpi_clocked_daily (organisation_id, technician_id, day, micros)
SELECT r.organisation_id, c.technician_id, c.started_at / 86400000000, SUM(c.stopped_at - c.started_at)
FROM ro_clockings c JOIN repair_orders r ON r.id = c.repair_order_id
WHERE c.stopped_at IS NOT NULL
GROUP BY r.organisation_id, c.technician_id, c.started_at / 86400000000;

INSERT INTO kpi_clocked_monthly (organisation_id, technician_id, month, micros)
SELECT r.organisation_id, c.technician_id, kpi_month_of(c.started_at), SUM(c.stopped_at - c.started_at)
FROM ro_clockings c JOIN repair_orders r ON r.id = c.repair_order_id
WHERE c.stopped_at IS NOT NULL
GROUP BY 1, 2, 3;

CREATE FUNCTION kpi_clocked_add(ro TEXT, tech TEXT, at BIGINT, delta BIGINT) RETURNS void AS $$
    INSERT INTO kpi_clocked_daily (organisation_id, technician_id, day, micros)
    SELECT r.organisation_id, tech, at / 86400000000, delta FROM repair_orders r WHERE r.id = ro
    ON CONFLICT (organisation_id, day, technician_id) DO UPDATE SET micros = kpi_clocked_daily.micros + excluded.micros;
    INSERT INTO kpi_clocked_monthly (organisation_id, technician_id, month, micros)
    SELECT r.organisation_id, tech, kpi_month_of(at), delta FROM repair_orders r WHERE r.id = ro
    ON CONFLICT (organisation_id, month, technician_id) DO UPDATE SET micros = kpi_clocked_monthly.micros + excluded.micros;
$$ LANGUAGE sql;

-- A change is the old row taken out and the new one put in.
CREATE FUNCTION kpi_clocked_keep() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.stopped_at IS NOT NULL THEN
        PERFORM kpi_clocked_add(OLD.repair_order_id, OLD.technician_id, OLD.started_at, -(OLD.stopped_at - OLD.started_at));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.stopped_at IS NOT NULL THEN
        PERFORM kpi_clocked_add(NEW.repair_order_id, NEW.technician_id, NEW.started_at, NEW.stopped_at - NEW.started_at);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER kpi_clocked AFTER INSERT OR UPDATE OR DELETE ON ro_clockings FOR EACH ROW EXECUTE FUNCTION kpi_clocked_keep();

-- Change markers paused inside one transaction (issue 20): a bulk writer (the generated workshop
-- histories) inserts a row into kpi_marks_paused (SQLite) or sets aftersales.kpi_marks to
-- 'paused' for its transaction (PostgreSQL), writes its rows without a trigger per row, then
-- removes the row or lets the setting lapse and writes the markers of every day it wrote itself,
-- all before it commits; no other transaction ever sees the markers paused.
DROP TRIGGER kpi_mark_repair_orders ON repair_orders;
CREATE TRIGGER kpi_mark_repair_orders AFTER INSERT OR UPDATE OR DELETE ON repair_orders FOR EACH ROW WHEN (current_setting('aftersales.kpi_marks', true) IS DISTINCT FROM 'paused') EXECUTE FUNCTION kpi_mark_own_day();
DROP TRIGGER kpi_mark_cases ON cases;
CREATE TRIGGER kpi_mark_cases AFTER INSERT OR UPDATE OR DELETE ON cases FOR EACH ROW WHEN (current_setting('aftersales.kpi_marks', true) IS DISTINCT FROM 'paused') EXECUTE FUNCTION kpi_mark_own_day();
DROP TRIGGER kpi_mark_appointments ON appointments;
CREATE TRIGGER kpi_mark_appointments AFTER INSERT OR UPDATE OR DELETE ON appointments FOR EACH ROW WHEN (current_setting('aftersales.kpi_marks', true) IS DISTINCT FROM 'paused') EXECUTE FUNCTION kpi_mark_own_day();
DROP TRIGGER kpi_mark_billing_documents ON billing_documents;
CREATE TRIGGER kpi_mark_billing_documents AFTER INSERT OR UPDATE OR DELETE ON billing_documents FOR EACH ROW WHEN (current_setting('aftersales.kpi_marks', true) IS DISTINCT FROM 'paused') EXECUTE FUNCTION kpi_mark_own_day();
DROP TRIGGER kpi_mark_ro_events ON ro_events;
CREATE TRIGGER kpi_mark_ro_events AFTER INSERT OR UPDATE OR DELETE ON ro_events FOR EACH ROW WHEN (current_setting('aftersales.kpi_marks', true) IS DISTINCT FROM 'paused') EXECUTE FUNCTION kpi_mark_by_repair_order();
DROP TRIGGER kpi_mark_ro_jobs ON ro_jobs;
CREATE TRIGGER kpi_mark_ro_jobs AFTER INSERT OR UPDATE OR DELETE ON ro_jobs FOR EACH ROW WHEN (current_setting('aftersales.kpi_marks', true) IS DISTINCT FROM 'paused') EXECUTE FUNCTION kpi_mark_by_repair_order();
DROP TRIGGER kpi_mark_ro_lines ON ro_lines;
CREATE TRIGGER kpi_mark_ro_lines AFTER INSERT OR UPDATE OR DELETE ON ro_lines FOR EACH ROW WHEN (current_setting('aftersales.kpi_marks', true) IS DISTINCT FROM 'paused') EXECUTE FUNCTION kpi_mark_by_repair_order();
DROP TRIGGER kpi_mark_ro_clockings ON ro_clockings;
CREATE TRIGGER kpi_mark_ro_clockings AFTER INSERT OR UPDATE OR DELETE ON ro_clockings FOR EACH ROW WHEN (current_setting('aftersales.kpi_marks', true) IS DISTINCT FROM 'paused') EXECUTE FUNCTION kpi_mark_by_repair_order();
DROP TRIGGER kpi_mark_surveys ON surveys;
CREATE TRIGGER kpi_mark_surveys AFTER INSERT OR UPDATE OR DELETE ON surveys FOR EACH ROW WHEN (current_setting('aftersales.kpi_marks', true) IS DISTINCT FROM 'paused') EXECUTE FUNCTION kpi_mark_by_repair_order();
DROP TRIGGER kpi_mark_triage_decisions ON triage_decisions;
CREATE TRIGGER kpi_mark_triage_decisions AFTER INSERT OR UPDATE OR DELETE ON triage_decisions FOR EACH ROW WHEN (current_setting('aftersales.kpi_marks', true) IS DISTINCT FROM 'paused') EXECUTE FUNCTION kpi_mark_triage_decisions();
DROP TRIGGER kpi_mark_billing_lines ON billing_lines;
CREATE TRIGGER kpi_mark_billing_lines AFTER INSERT OR UPDATE OR DELETE ON billing_lines FOR EACH ROW WHEN (current_setting('aftersales.kpi_marks', true) IS DISTINCT FROM 'paused') EXECUTE FUNCTION kpi_mark_billing_lines();
DROP TRIGGER kpi_mark_transport_jobs ON transport_jobs;
CREATE TRIGGER kpi_mark_transport_jobs AFTER INSERT OR UPDATE OR DELETE ON transport_jobs FOR EACH ROW WHEN (current_setting('aftersales.kpi_marks', true) IS DISTINCT FROM 'paused') EXECUTE FUNCTION kpi_mark_transport_jobs();
DROP TRIGGER kpi_mark_warranty_claims ON warranty_claims;
CREATE TRIGGER kpi_mark_warranty_claims AFTER INSERT OR UPDATE OR DELETE ON warranty_claims FOR EACH ROW WHEN (current_setting('aftersales.kpi_marks', true) IS DISTINCT FROM 'paused') EXECUTE FUNCTION kpi_mark_warranty_claims();
DROP TRIGGER kpi_mark_warranty_claim_lines ON warranty_claim_lines;
CREATE TRIGGER kpi_mark_warranty_claim_lines AFTER INSERT OR UPDATE OR DELETE ON warranty_claim_lines FOR EACH ROW WHEN (current_setting('aftersales.kpi_marks', true) IS DISTINCT FROM 'paused') EXECUTE FUNCTION kpi_mark_warranty_claim_lines();
DROP TRIGGER kpi_mark_vehicles ON vehicles;
CREATE TRIGGER kpi_mark_vehicles AFTER UPDATE OF model ON vehicles FOR EACH ROW
    WHEN (OLD.model IS DISTINCT FROM NEW.model AND current_setting('aftersales.kpi_marks', true) IS DISTINCT FROM 'paused') EXECUTE FUNCTION kpi_mark_vehicles();
