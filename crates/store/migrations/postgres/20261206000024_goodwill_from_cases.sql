-- Goodwill asked for from a case (issue 17): before a repair order exists, the advisor asks on the case with the
-- estimated parts and labour; the request is decided as any other and, once approved, applied to a job of the
-- case's repair order (which splits that job's lines). So a request has a case or a job, and its job is filled in
-- when it is applied.
ALTER TABLE goodwill_requests ADD COLUMN case_id TEXT REFERENCES cases(id);
ALTER TABLE goodwill_requests ALTER COLUMN repair_order_id DROP NOT NULL;
ALTER TABLE goodwill_requests ALTER COLUMN job_id DROP NOT NULL;
ALTER TABLE goodwill_requests ADD CONSTRAINT goodwill_requests_case_or_job CHECK (case_id IS NOT NULL OR job_id IS NOT NULL);
CREATE INDEX goodwill_requests_case ON goodwill_requests(case_id);
