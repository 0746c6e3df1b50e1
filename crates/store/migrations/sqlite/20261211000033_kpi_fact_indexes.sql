-- The KPIs' reads of the facts (issue 20): the repair orders of some organisations opened in a
-- stretch of days, and the clockings of some repair orders.
CREATE INDEX repair_orders_org_created ON repair_orders (organisation_id, created_at);
CREATE INDEX ro_clockings_ro ON ro_clockings (repair_order_id);
