-- Claim analysis and audit read from facts kept beside the claims (issue 18: every screen under
-- 1 s at 300,000 claims). `claim_facts` holds one row per counted claim (not a draft, not
-- rejected) with what the analyses group by and sum and what the red-flag rules judge, computed
-- per vehicle by `store::warranty::facts` (the rules' inputs by `domain::analysis::audit`);
-- `vehicle_facts` one row per vehicle with its delivery (also as a day number) and latest known
-- odometer (with the metres a day it implies, once 30 days after delivery). Triggers mark a
-- vehicle in `fact_dirty` in the same transaction as any change to its claims, their lines, the
-- vehicle, its odometer readings, the customer's address or the terms; a read brings the marked
-- vehicles' facts up to date first (a marker is removed only if no change came after it was
-- read: `version`).
CREATE TABLE claim_facts (
    claim_id TEXT PRIMARY KEY,
    vehicle_id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    point_id TEXT NOT NULL,
    model TEXT,
    component TEXT,
    number TEXT NOT NULL,
    vin TEXT NOT NULL,
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    repair_order_id TEXT NOT NULL,
    cohort TEXT,
    delivered_on TEXT,
    opened_on TEXT NOT NULL,
    opened_month TEXT NOT NULL,
    mis BIGINT,
    days_in_service BIGINT,
    first_of_component BIGINT NOT NULL,
    first_of_repair BIGINT NOT NULL,
    first_of_repair_component BIGINT NOT NULL,
    odometer_km BIGINT NOT NULL,
    parts_minor BIGINT NOT NULL,
    labour_minor BIGINT NOT NULL,
    sublet_minor BIGINT NOT NULL,
    recovered_minor BIGINT NOT NULL,
    charged_back_minor BIGINT NOT NULL,
    cost_minor BIGINT NOT NULL,
    claimed_minor BIGINT NOT NULL,
    labour_centi BIGINT NOT NULL,
    paid_minor BIGINT NOT NULL,
    repeat_gap BIGINT,
    coverage_days_left BIGINT,
    over_flat_bp BIGINT,
    repairable_max_minor BIGINT,
    duplicate_in_claim BIGINT NOT NULL,
    duplicate_gap BIGINT,
    analysed BIGINT NOT NULL,
    no_trouble BIGINT NOT NULL,
    address TEXT,
    customer_id TEXT
);
-- Indexes that hold what a figure reads (no lookups into the table): claims per 1,000 grouped in
-- index order; early warnings and funnels by the period; first failures per component; vehicles
-- per shared address. Sums over (nearly) all claims read the table itself, in one pass.
CREATE INDEX claim_facts_mis ON claim_facts(cohort, mis, owner_id, component, model, opened_on, first_of_repair, first_of_repair_component);
CREATE INDEX claim_facts_opened ON claim_facts(opened_on, owner_id, component, opened_month, point_id, labour_centi, cost_minor);
CREATE INDEX claim_facts_first ON claim_facts(component, first_of_component, owner_id, opened_on, delivered_on, days_in_service, odometer_km, vehicle_id);
CREATE INDEX claim_facts_address ON claim_facts(address, customer_id, point_id, opened_on);
CREATE INDEX claim_facts_point ON claim_facts(point_id, opened_on);
CREATE INDEX claim_facts_vehicle ON claim_facts(vehicle_id);

CREATE TABLE vehicle_facts (
    vehicle_id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    model TEXT,
    delivered_on TEXT,
    delivered_day BIGINT,
    latest_km BIGINT,
    latest_on TEXT,
    metres_per_day BIGINT
);
CREATE INDEX vehicle_facts_owner ON vehicle_facts(owner_id, delivered_on, delivered_day, latest_km, metres_per_day, model);

CREATE TABLE fact_dirty (
    vehicle_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);

INSERT INTO fact_dirty (vehicle_id, version) SELECT id, 1 FROM vehicles;

CREATE FUNCTION fact_dirty_mark(v TEXT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO fact_dirty (vehicle_id, version) SELECT v, 1 WHERE v IS NOT NULL
    ON CONFLICT (vehicle_id) DO UPDATE SET version = fact_dirty.version + 1
$$;

CREATE FUNCTION claims_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN PERFORM fact_dirty_mark(OLD.vehicle_id); END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.vehicle_id IS DISTINCT FROM OLD.vehicle_id) THEN
        PERFORM fact_dirty_mark(NEW.vehicle_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER claims_mark AFTER INSERT OR UPDATE OR DELETE ON warranty_claims
    FOR EACH ROW EXECUTE FUNCTION claims_mark();

CREATE FUNCTION claim_lines_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM fact_dirty_mark((SELECT vehicle_id FROM warranty_claims WHERE id = OLD.claim_id));
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.claim_id IS DISTINCT FROM OLD.claim_id) THEN
        PERFORM fact_dirty_mark((SELECT vehicle_id FROM warranty_claims WHERE id = NEW.claim_id));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER claim_lines_mark AFTER INSERT OR UPDATE OR DELETE ON warranty_claim_lines
    FOR EACH ROW EXECUTE FUNCTION claim_lines_mark();

CREATE FUNCTION vehicles_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN PERFORM fact_dirty_mark(OLD.id); ELSE PERFORM fact_dirty_mark(NEW.id); END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER vehicles_mark AFTER INSERT OR UPDATE OR DELETE ON vehicles
    FOR EACH ROW EXECUTE FUNCTION vehicles_mark();

CREATE FUNCTION odometer_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fact_dirty_mark(NEW.vehicle_id);
    RETURN NULL;
END $$;
CREATE TRIGGER odometer_mark AFTER INSERT ON odometer_readings
    FOR EACH ROW EXECUTE FUNCTION odometer_mark();

CREATE FUNCTION customers_mark_address() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fact_dirty_mark(c.vehicle_id) FROM warranty_claims c JOIN repair_orders ro ON ro.id = c.repair_order_id
        WHERE ro.customer_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER customers_mark_address AFTER UPDATE OF street, postal_code ON customers
    FOR EACH ROW EXECUTE FUNCTION customers_mark_address();

CREATE FUNCTION repair_orders_mark_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fact_dirty_mark(vehicle_id) FROM warranty_claims WHERE repair_order_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER repair_orders_mark_customer AFTER UPDATE OF customer_id ON repair_orders
    FOR EACH ROW EXECUTE FUNCTION repair_orders_mark_customer();

CREATE FUNCTION terms_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fact_dirty_mark(id) FROM vehicles WHERE brand_id = NEW.brand_id;
    RETURN NULL;
END $$;
CREATE TRIGGER terms_mark AFTER INSERT ON warranty_terms
    FOR EACH ROW EXECUTE FUNCTION terms_mark();
