-- The buyer's own reference for an invoice (EHF BuyerReference, "Deres ref."): asked for on the draft,
-- by default the repair order's number; final once the document is issued, like every other field.
ALTER TABLE billing_documents ADD COLUMN buyer_reference TEXT;
CREATE FUNCTION billing_documents_reference_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'issued' AND NEW.buyer_reference IS DISTINCT FROM OLD.buyer_reference THEN
        RAISE EXCEPTION 'an issued document cannot be changed; credit it';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER billing_documents_reference_final BEFORE UPDATE ON billing_documents
    FOR EACH ROW EXECUTE FUNCTION billing_documents_reference_final();
