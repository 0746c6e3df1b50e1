-- System events are stored as a kind with parameters (JSON object of strings) and rendered in the
-- reader's language; `body` and `summary` hold only what a person wrote.
ALTER TABLE case_events ADD COLUMN params TEXT;
ALTER TABLE timeline_events ADD COLUMN params TEXT;
