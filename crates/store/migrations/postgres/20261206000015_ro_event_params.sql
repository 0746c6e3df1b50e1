-- A repair order's system events carry their facts as parameters (JSON object of strings), rendered
-- in the reader's language: a moved appointment keeps where it was and where it went.
ALTER TABLE ro_events ADD COLUMN params TEXT;
