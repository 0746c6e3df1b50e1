-- Labour operations and parts are named per language (JSON {"nb": "...", "pt": "..."}), so a line
-- reads in the customer's language on the estimate, the status page and the invoice.
ALTER TABLE labour_operations ADD COLUMN names TEXT;
ALTER TABLE parts ADD COLUMN names TEXT;
