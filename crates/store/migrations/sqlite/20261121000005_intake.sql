-- Intake channels: the mail addresses that belong to an organisation's inbox, the mail messages
-- of each case (for threading and to take each message once), the public web form.
CREATE TABLE inbound_addresses (
    address TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id)
);

CREATE TABLE case_mail (
    message_id TEXT NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    case_id TEXT NOT NULL REFERENCES cases(id),
    direction TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (message_id, organisation_id)
);
CREATE INDEX case_mail_case ON case_mail(case_id);

ALTER TABLE organisations ADD COLUMN web_intake BIGINT NOT NULL DEFAULT 0;

CREATE TABLE public_submissions (
    id TEXT PRIMARY KEY,
    ip TEXT NOT NULL,
    at BIGINT NOT NULL,
    case_id TEXT REFERENCES cases(id)
);
CREATE INDEX public_submissions_ip ON public_submissions(ip, at);
