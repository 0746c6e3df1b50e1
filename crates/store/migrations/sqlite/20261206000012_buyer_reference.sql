-- The buyer's own reference for an invoice (EHF BuyerReference, "Deres ref."): asked for on the draft,
-- by default the repair order's number; final once the document is issued, like every other field.
ALTER TABLE billing_documents ADD COLUMN buyer_reference TEXT;
CREATE TRIGGER billing_documents_reference_final BEFORE UPDATE OF buyer_reference ON billing_documents
WHEN OLD.status = 'issued' AND NEW.buyer_reference IS NOT OLD.buyer_reference
BEGIN SELECT RAISE(ABORT, 'an issued document cannot be changed; credit it'); END;
