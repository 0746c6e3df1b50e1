-- Billing: the legal entities that invoice (one per organisation subtree), their number series, documents
-- (drafts without a number; issued documents immutable, enforced by triggers), lines and payments.
-- Dates of documents are the market's local calendar dates as 'YYYY-MM-DD' text; amounts in minor units.

CREATE TABLE legal_entities (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL UNIQUE REFERENCES organisations(id),
    market TEXT NOT NULL CHECK (market IN ('NO', 'PT')),
    region TEXT NOT NULL CHECK (region IN ('NO', 'PT', 'PT-AC', 'PT-MA')),
    name TEXT NOT NULL,
    org_number TEXT,
    nif TEXT,
    vat_registered BIGINT NOT NULL DEFAULT 1,
    foretaksregisteret BIGINT NOT NULL DEFAULT 0,
    street TEXT,
    postal_code TEXT,
    city TEXT,
    country TEXT NOT NULL,
    email TEXT,
    bank_account TEXT,
    bic TEXT,
    currency TEXT NOT NULL,
    payment_days BIGINT NOT NULL DEFAULT 14,
    kid_scheme TEXT NOT NULL DEFAULT 'mod10' CHECK (kid_scheme IN ('mod10', 'mod11')),
    certificate TEXT NOT NULL DEFAULT '0000',
    warranty_customer_id TEXT REFERENCES customers(id),
    goodwill_customer_id TEXT REFERENCES customers(id),
    created_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE billing_series (
    id TEXT PRIMARY KEY,
    legal_entity_id TEXT NOT NULL REFERENCES legal_entities(id),
    doc_type TEXT NOT NULL,
    code TEXT NOT NULL,
    validation_code TEXT,
    kid_prefix TEXT,
    next_number BIGINT NOT NULL DEFAULT 1,
    last_hash TEXT NOT NULL DEFAULT '',
    last_date TEXT,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    UNIQUE (legal_entity_id, doc_type, code)
);

CREATE TABLE billing_documents (
    id TEXT PRIMARY KEY,
    legal_entity_id TEXT NOT NULL REFERENCES legal_entities(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    kind TEXT NOT NULL CHECK (kind IN ('invoice', 'credit-note')),
    doc_type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'issued')),
    series_id TEXT REFERENCES billing_series(id),
    sequence BIGINT,
    number TEXT,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    repair_order_id TEXT REFERENCES repair_orders(id),
    pay_type TEXT,
    credited_document_id TEXT REFERENCES billing_documents(id),
    reason TEXT,
    note TEXT,
    language TEXT NOT NULL,
    currency TEXT NOT NULL,
    region TEXT NOT NULL,
    seller_json TEXT,
    buyer_json TEXT,
    issue_date TEXT,
    due_date TEXT,
    delivery_date TEXT,
    system_entry TEXT,
    net_minor BIGINT NOT NULL DEFAULT 0,
    tax_minor BIGINT NOT NULL DEFAULT 0,
    gross_minor BIGINT NOT NULL DEFAULT 0,
    kid TEXT,
    hash TEXT,
    hash_control TEXT,
    atcud TEXT,
    public_token TEXT NOT NULL UNIQUE,
    sent_at BIGINT,
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    issued_by TEXT REFERENCES users(id),
    issued_at BIGINT,
    version BIGINT NOT NULL DEFAULT 1,
    UNIQUE (series_id, sequence)
);
CREATE INDEX billing_documents_org ON billing_documents(organisation_id, status);
CREATE INDEX billing_documents_customer ON billing_documents(customer_id);
CREATE INDEX billing_documents_ro ON billing_documents(repair_order_id);
CREATE INDEX billing_documents_entity_date ON billing_documents(legal_entity_id, issue_date);
-- One draft invoice per repair order and payer: invoicing again refreshes it.
CREATE UNIQUE INDEX billing_documents_one_draft_per_payer ON billing_documents(repair_order_id, pay_type)
    WHERE status = 'draft' AND kind = 'invoice' AND repair_order_id IS NOT NULL;

CREATE TABLE billing_lines (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES billing_documents(id),
    position BIGINT NOT NULL,
    ro_line_id TEXT REFERENCES ro_lines(id),
    kind TEXT NOT NULL,
    code TEXT,
    description TEXT NOT NULL,
    quantity_centi BIGINT NOT NULL,
    unit TEXT NOT NULL CHECK (unit IN ('hour', 'piece')),
    unit_price_minor BIGINT NOT NULL,
    net_minor BIGINT NOT NULL,
    tax_code TEXT NOT NULL,
    rate_bp BIGINT NOT NULL,
    exemption_code TEXT,
    exemption_reason TEXT
);
CREATE INDEX billing_lines_document ON billing_lines(document_id, position);
CREATE INDEX billing_lines_ro_line ON billing_lines(ro_line_id);

CREATE TABLE billing_payments (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES billing_documents(id),
    amount_minor BIGINT NOT NULL,
    method TEXT NOT NULL,
    paid_on TEXT NOT NULL,
    reference TEXT,
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX billing_payments_document ON billing_payments(document_id);

-- An issued document is final: only its mail state (sent_at) and version may change; it is never deleted; its lines
-- are fixed.
CREATE FUNCTION billing_documents_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status = 'issued' THEN
            RAISE EXCEPTION 'an issued document cannot be deleted';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'issued' AND (
        NEW.id IS DISTINCT FROM OLD.id OR NEW.legal_entity_id IS DISTINCT FROM OLD.legal_entity_id OR NEW.organisation_id IS DISTINCT FROM OLD.organisation_id
        OR NEW.kind IS DISTINCT FROM OLD.kind OR NEW.doc_type IS DISTINCT FROM OLD.doc_type OR NEW.status IS DISTINCT FROM OLD.status
        OR NEW.series_id IS DISTINCT FROM OLD.series_id OR NEW.sequence IS DISTINCT FROM OLD.sequence OR NEW.number IS DISTINCT FROM OLD.number
        OR NEW.customer_id IS DISTINCT FROM OLD.customer_id OR NEW.repair_order_id IS DISTINCT FROM OLD.repair_order_id OR NEW.pay_type IS DISTINCT FROM OLD.pay_type
        OR NEW.credited_document_id IS DISTINCT FROM OLD.credited_document_id OR NEW.reason IS DISTINCT FROM OLD.reason OR NEW.note IS DISTINCT FROM OLD.note
        OR NEW.language IS DISTINCT FROM OLD.language OR NEW.currency IS DISTINCT FROM OLD.currency OR NEW.region IS DISTINCT FROM OLD.region
        OR NEW.seller_json IS DISTINCT FROM OLD.seller_json OR NEW.buyer_json IS DISTINCT FROM OLD.buyer_json OR NEW.issue_date IS DISTINCT FROM OLD.issue_date
        OR NEW.due_date IS DISTINCT FROM OLD.due_date OR NEW.delivery_date IS DISTINCT FROM OLD.delivery_date OR NEW.system_entry IS DISTINCT FROM OLD.system_entry
        OR NEW.net_minor IS DISTINCT FROM OLD.net_minor OR NEW.tax_minor IS DISTINCT FROM OLD.tax_minor OR NEW.gross_minor IS DISTINCT FROM OLD.gross_minor
        OR NEW.kid IS DISTINCT FROM OLD.kid OR NEW.hash IS DISTINCT FROM OLD.hash OR NEW.hash_control IS DISTINCT FROM OLD.hash_control
        OR NEW.atcud IS DISTINCT FROM OLD.atcud OR NEW.public_token IS DISTINCT FROM OLD.public_token OR NEW.created_by IS DISTINCT FROM OLD.created_by
        OR NEW.created_at IS DISTINCT FROM OLD.created_at OR NEW.issued_by IS DISTINCT FROM OLD.issued_by OR NEW.issued_at IS DISTINCT FROM OLD.issued_at) THEN
        RAISE EXCEPTION 'an issued document cannot be changed; credit it';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER billing_documents_issued_final BEFORE UPDATE OR DELETE ON billing_documents
    FOR EACH ROW EXECUTE FUNCTION billing_documents_final();

CREATE FUNCTION billing_lines_final() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    doc TEXT;
    st TEXT;
BEGIN
    IF TG_OP = 'INSERT' THEN doc := NEW.document_id; ELSE doc := OLD.document_id; END IF;
    -- FOR SHARE waits for an issuer that is changing the document, and sees its outcome.
    SELECT status INTO st FROM billing_documents WHERE id = doc FOR SHARE;
    IF st = 'issued' THEN
        RAISE EXCEPTION 'an issued document cannot be changed; credit it';
    END IF;
    IF TG_OP = 'UPDATE' AND (SELECT status FROM billing_documents WHERE id = NEW.document_id) = 'issued' THEN
        RAISE EXCEPTION 'an issued document cannot be changed; credit it';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER billing_lines_final BEFORE INSERT OR UPDATE OR DELETE ON billing_lines
    FOR EACH ROW EXECUTE FUNCTION billing_lines_final();
