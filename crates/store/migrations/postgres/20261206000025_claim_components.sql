-- Claim analysis (issue 18): the component group a claim is for (`domain::warranty::goodwill::ComponentGroup`:
-- high-voltage, drivetrain, electrical, chassis, body, interior), stated when the claim is made; claims made before
-- have none. Analyses count claims per component and calendar month.
ALTER TABLE warranty_claims ADD COLUMN component_group TEXT;
CREATE INDEX warranty_claims_component ON warranty_claims(component_group, opened_on);
