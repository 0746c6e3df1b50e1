-- Triage that learns: a knowledge base of remote fixes in three languages, and every triage
-- decision on a case, so that outcomes (and the remote-resolution rate) can be computed.
CREATE TABLE kb_articles (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    category TEXT NOT NULL,
    keywords TEXT NOT NULL,
    fix_kind TEXT NOT NULL,
    title_nb TEXT NOT NULL,
    title_en TEXT NOT NULL,
    title_pt TEXT NOT NULL,
    steps_nb TEXT NOT NULL,
    steps_en TEXT NOT NULL,
    steps_pt TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX kb_articles_org ON kb_articles(organisation_id);

CREATE TABLE triage_decisions (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    kind TEXT NOT NULL,
    article_id TEXT REFERENCES kb_articles(id),
    decided_by TEXT REFERENCES users(id),
    at BIGINT NOT NULL
);
CREATE INDEX triage_decisions_case ON triage_decisions(case_id, at);
CREATE INDEX triage_decisions_article ON triage_decisions(article_id);
