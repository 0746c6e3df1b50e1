-- Set to 1 in the same transaction as the request's first write: a claim whose request died after
-- writing is never run again (its retry learns the answer was lost), one that died before is.
ALTER TABLE idempotency_keys ADD COLUMN effect INTEGER NOT NULL DEFAULT 0;
