-- A replayed answer carries the headers the first one had (ETag, Location, Content-Type): JSON [[name, value], ...].
ALTER TABLE idempotency_keys ADD COLUMN headers TEXT;
