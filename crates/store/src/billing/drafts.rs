//! Drafts: free-standing or from a repair order (one per payer), editing, document type, deletion,
//! and credit-note drafts of issued invoices.

use super::*;
use crate::db::Write;

impl Billing<'_> {
    pub(crate) async fn buyer(self, customer_id: &str) -> Result<Buyer, StoreError> {
        buyer_on(&mut *self.store.pool.acquire().await?, customer_id).await
    }
    pub(crate) async fn doc_row(self, id: &str) -> Result<DocRow, StoreError> {
        doc_row_on(&mut *self.store.pool.acquire().await?, id).await
    }
    pub(crate) async fn readable_doc(self, scope: &Scope, id: &str) -> Result<DocRow, StoreError> {
        let row = self.doc_row(id).await?;
        if !scope.permits(&row.organisation_id, Permission::BillingRead) {
            return Err(StoreError::NotFound);
        }
        Ok(row)
    }
    pub(crate) async fn lines_of(self, doc_id: &str) -> Result<Vec<LineRow>, StoreError> {
        lines_on(&mut *self.store.pool.acquire().await?, doc_id).await
    }
    pub(crate) async fn write_lines(
        conn: &mut sqlx::AnyConnection,
        doc_id: &str,
        lines: &[NewLine],
    ) -> Result<Totals, StoreError> {
        sqlx::query("DELETE FROM billing_lines WHERE document_id = $1")
            .bind(doc_id)
            .execute(&mut *conn)
            .await?;
        let mut taxed = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let net = line_total(l.unit_price_minor, l.quantity_centi);
            taxed.push(TaxedLine {
                net_minor: net,
                code: l.tax_code,
                rate_bp: l.rate_bp,
                exemption: l.exemption.clone(),
            });
            sqlx::query(
                "INSERT INTO billing_lines (id, document_id, position, ro_line_id, kind, code, description, quantity_centi, unit, \
                 unit_price_minor, net_minor, tax_code, rate_bp, exemption_code, exemption_reason) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(new_id())
            .bind(doc_id)
            .bind(i64::try_from(i).unwrap_or(0) + 1)
            .bind(&l.ro_line_id)
            .bind(&l.kind)
            .bind(&l.code)
            .bind(&l.description)
            .bind(l.quantity_centi)
            .bind(unit_str(l.unit))
            .bind(l.unit_price_minor)
            .bind(net)
            .bind(l.tax_code.as_str())
            .bind(i64::from(l.rate_bp))
            .bind(l.exemption.as_ref().map(|e| e.code.clone()).filter(|c| !c.is_empty()))
            .bind(l.exemption.as_ref().map(|e| e.reason.clone()))
            .execute(&mut *conn)
            .await?;
        }
        let (_, totals) = breakdown(&taxed);
        sqlx::query("UPDATE billing_documents SET net_minor = $1, tax_minor = $2, gross_minor = $3 WHERE id = $4")
            .bind(totals.net_minor)
            .bind(totals.tax_minor)
            .bind(totals.gross_minor)
            .bind(doc_id)
            .execute(&mut *conn)
            .await?;
        Ok(totals)
    }
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_draft(
        conn: &mut sqlx::AnyConnection,
        entity: &LegalEntity,
        org: &str,
        kind: DocKind,
        doc_type: &str,
        customer_id: &str,
        language: &str,
        repair_order_id: Option<&str>,
        pay_type: Option<&str>,
        credited: Option<&str>,
        reason: Option<&str>,
        note: Option<&str>,
        buyer_reference: Option<&str>,
        user: &str,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO billing_documents (id, legal_entity_id, organisation_id, kind, doc_type, status, customer_id, repair_order_id, \
             pay_type, credited_document_id, reason, note, language, currency, region, public_token, created_by, created_at, buyer_reference) \
             VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(&id)
        .bind(&entity.id)
        .bind(org)
        .bind(kind.as_str())
        .bind(doc_type)
        .bind(customer_id)
        .bind(repair_order_id)
        .bind(pay_type)
        .bind(credited)
        .bind(reason)
        .bind(note)
        .bind(language)
        .bind(&entity.currency)
        .bind(entity.region.as_str())
        .bind(crate::new_token())
        .bind(user)
        .bind(micros(now))
        .bind(buyer_reference)
        .execute(&mut *conn)
        .await?;
        Ok(id)
    }
    pub(crate) fn no_entity() -> StoreError {
        ValidationErrors::single(
            "organisation_id",
            Rule::NotAllowed,
            "no legal entity invoices for this organisation yet: a manager sets it up under Billing › Settings",
        )
        .into()
    }
    /// A free-standing draft (not from a repair order).
    pub async fn create_draft(
        self,
        scope: &Scope,
        input: &DraftInput,
        now: OffsetDateTime,
    ) -> Result<BillingDocument, StoreError> {
        scope.require(&input.organisation_id, Permission::BillingWrite)?;
        let entity = self
            .entity_for(&input.organisation_id)
            .await?
            .ok_or_else(Self::no_entity)?;
        let owner: Option<String> =
            sqlx::query_scalar("SELECT organisation_id FROM customers WHERE id = $1")
                .bind(&input.customer_id)
                .fetch_optional(&self.store.pool)
                .await?;
        if !owner.is_some_and(|o| scope.permits_record(&o, Permission::CrmRead)) {
            return Err(ValidationErrors::single(
                "customer_id",
                Rule::Unknown,
                "customer_id is not a customer you can see",
            )
            .into());
        }
        let buyer = self.buyer(&input.customer_id).await?;
        let doc_type = parse_doc_type(
            "doc_type",
            entity.market,
            DocKind::Invoice,
            opt(&input.doc_type),
        )
        .map_err(ValidationErrors::from)?;
        let lines = parse_lines(&input.lines, &entity)?;
        let note = opt(&input.note).map(|n| n.chars().take(500).collect::<String>());
        let buyer_reference = parse_buyer_reference(&input.buyer_reference)?;
        let mut tx = self.store.begin().await?;
        let id = Self::insert_draft(
            &mut tx,
            &entity,
            &input.organisation_id,
            DocKind::Invoice,
            &doc_type,
            &input.customer_id,
            &buyer.language,
            None,
            None,
            None,
            None,
            note.as_deref(),
            buyer_reference.as_deref(),
            scope.user_id(),
            now,
        )
        .await?;
        Self::write_lines(&mut tx, &id, &lines).await?;
        tx.commit().await?;
        self.document(scope, &id, now).await
    }
    /// Replaces a draft's lines, type and note.
    pub async fn update_draft(
        self,
        scope: &Scope,
        id: &str,
        input: &DraftUpdate,
        expected_version: i64,
        now: OffsetDateTime,
    ) -> Result<BillingDocument, StoreError> {
        let row = self.readable_doc(scope, id).await?;
        scope.require(&row.organisation_id, Permission::BillingWrite)?;
        if row.status != "draft" {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                "an issued document cannot be changed; credit it",
            )
            .into());
        }
        let entity = self.entity_by_id(&row.legal_entity_id).await?;
        let kind = crate::decode("billing_documents", "kind", &row.kind, DocKind::parse)?;
        let doc_type = parse_doc_type("doc_type", entity.market, kind, opt(&input.doc_type))
            .map_err(ValidationErrors::from)?;
        let mut lines = parse_lines(&input.lines, &entity)?;
        // Lines that came from the repair order keep their link when their position is kept.
        let old = self.lines_of(id).await?;
        for (new, old) in lines.iter_mut().zip(old.iter()) {
            // A changed line (a partial credit, a corrected price) is no longer the repair order's line.
            if new.description == old.description
                && new.quantity_centi == old.quantity_centi
                && new.unit_price_minor == old.unit_price_minor
            {
                new.ro_line_id = old.ro_line_id.clone();
            }
        }
        let note = opt(&input.note).map(|n| n.chars().take(500).collect::<String>());
        let buyer_reference = parse_buyer_reference(&input.buyer_reference)?;
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "UPDATE billing_documents SET doc_type = $1, note = $2, buyer_reference = $5, version = version + 1 \
             WHERE id = $3 AND version = $4 AND status = 'draft'",
        )
        .bind(&doc_type)
        .bind(&note)
        .bind(id)
        .bind(expected_version)
        .bind(&buyer_reference)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                current: row.version,
            });
        }
        Self::write_lines(&mut tx, id, &lines).await?;
        tx.commit().await?;
        self.document(scope, id, now).await
    }
    /// Changes a draft's document type (Portugal: FT, FS, FR).
    pub async fn set_draft_type(
        self,
        scope: &Scope,
        id: &str,
        doc_type: &str,
        expected_version: i64,
        now: OffsetDateTime,
    ) -> Result<BillingDocument, StoreError> {
        let row = self.readable_doc(scope, id).await?;
        scope.require(&row.organisation_id, Permission::BillingWrite)?;
        let entity = self.entity_by_id(&row.legal_entity_id).await?;
        let kind = crate::decode("billing_documents", "kind", &row.kind, DocKind::parse)?;
        let doc_type = parse_doc_type("doc_type", entity.market, kind, Some(doc_type))
            .map_err(ValidationErrors::from)?;
        let done = sqlx::query(
            "UPDATE billing_documents SET doc_type = $1, version = version + 1 WHERE id = $2 AND status = 'draft' AND version = $3",
        )
        .bind(&doc_type)
        .bind(id)
        .bind(expected_version)
        .write(self.store)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                current: row.version,
            });
        }
        self.document(scope, id, now).await
    }
    /// Deletes a draft (issued documents are kept for ever).
    pub async fn delete_draft(self, scope: &Scope, id: &str) -> Result<(), StoreError> {
        let row = self.readable_doc(scope, id).await?;
        scope.require(&row.organisation_id, Permission::BillingWrite)?;
        if row.status != "draft" {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                "an issued document cannot be deleted; credit it",
            )
            .into());
        }
        let mut tx = self.store.begin().await?;
        // The first statement claims the draft: an issuer working on it at the same time either finished
        // first (nothing matches here) or finds it gone.
        let claimed = sqlx::query(
            "UPDATE billing_documents SET version = version + 1 WHERE id = $1 AND status = 'draft'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                "the document was issued meanwhile; it cannot be deleted, only credited",
            )
            .into());
        }
        sqlx::query("DELETE FROM billing_lines WHERE document_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM billing_documents WHERE id = $1 AND status = 'draft'")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
    /// Drafts for a repair order: one per payer (the customer's share, the warranty claim, the goodwill share)
    /// with the lines not yet invoiced. Internal lines are not invoiced. An existing draft of the same payer is
    /// refreshed rather than duplicated.
    pub async fn invoice_repair_order(
        self,
        scope: &Scope,
        ro_id: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<DocSummary>, StoreError> {
        type Ro = (String, String, String);
        let ro: Option<Ro> = sqlx::query_as(
            "SELECT organisation_id, customer_id, number FROM repair_orders WHERE id = $1",
        )
        .bind(ro_id)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some((org, customer_id, ro_number)) = ro else {
            return Err(StoreError::NotFound);
        };
        if !scope.permits(&org, Permission::CrmRead) {
            return Err(StoreError::NotFound);
        }
        scope.require(&org, Permission::BillingWrite)?;
        let entity = self.entity_for(&org).await?.ok_or_else(Self::no_entity)?;
        type RoLine = (String, String, Option<String>, String, i64, i64, String);
        let ro_lines: Vec<RoLine> = sqlx::query_as(
            "SELECT l.id, l.kind, l.code, l.description, l.quantity_centi, l.unit_price_minor, l.pay_type FROM ro_lines l \
             JOIN ro_jobs j ON j.id = l.job_id WHERE l.repair_order_id = $1 AND j.approval <> 'declined' ORDER BY j.position, l.created_at, l.id",
        )
        .bind(ro_id)
        .fetch_all(&self.store.pool)
        .await?;
        // A line is invoiced while it is on more issued invoices than issued credit notes.
        let billed: Vec<(String, String)> = sqlx::query_as(
            "SELECT bl.ro_line_id, d.kind FROM billing_lines bl JOIN billing_documents d ON d.id = bl.document_id \
             WHERE d.repair_order_id = $1 AND d.status = 'issued' AND bl.ro_line_id IS NOT NULL",
        )
        .bind(ro_id)
        .fetch_all(&self.store.pool)
        .await?;
        let on_invoice = |line: &str| {
            billed
                .iter()
                .filter(|(l, _)| l == line)
                .map(|(_, k)| if k == "invoice" { 1 } else { -1 })
                .sum::<i64>()
                > 0
        };
        let mut errs = ValidationErrors::default();
        let mut plans: Vec<(PayType, String, Vec<NewLine>)> = Vec::new();
        for pay in [PayType::Customer, PayType::Warranty, PayType::Goodwill] {
            let lines: Vec<NewLine> = ro_lines
                .iter()
                .filter(|l| l.6 == pay.as_str() && !on_invoice(&l.0))
                .map(|l| NewLine {
                    ro_line_id: Some(l.0.clone()),
                    unit: unit_of(&l.1),
                    kind: l.1.clone(),
                    code: l.2.clone(),
                    description: l.3.chars().take(200).collect(),
                    quantity_centi: l.4,
                    unit_price_minor: l.5,
                    // Not registered for VAT: Norway charges none (outside the scope); Portugal's small
                    // businesses are exempt under art. 53 CIVA (M10).
                    tax_code: match (entity.vat_registered, entity.market) {
                        (true, _) => TaxCode::Standard,
                        (false, Market::Norway) => TaxCode::OutsideScope,
                        (false, Market::Portugal) => TaxCode::Exempt,
                    },
                    rate_bp: if entity.vat_registered {
                        rate_bp(entity.region, TaxCode::Standard)
                    } else {
                        0
                    },
                    exemption: match (entity.vat_registered, entity.market) {
                        (true, _) => None,
                        (false, Market::Norway) => {
                            Exemption::parse("l", Market::Norway, TaxCode::OutsideScope, "", "")
                                .ok()
                                .flatten()
                        }
                        (false, Market::Portugal) => {
                            Exemption::parse("l", Market::Portugal, TaxCode::Exempt, "M10", "")
                                .ok()
                                .flatten()
                        }
                    },
                })
                .collect();
            if lines.is_empty() {
                continue;
            }
            let payer = match pay {
                PayType::Customer => Some(customer_id.clone()),
                PayType::Warranty => entity.warranty_customer_id.clone(),
                PayType::Goodwill => entity.goodwill_customer_id.clone(),
                PayType::Internal => None,
            };
            match payer {
                Some(p) => plans.push((pay, p, lines)),
                None => errs.push(FieldError::new(
                    format!("{}_customer_id", pay.as_str()),
                    Rule::Required,
                    format!(
                        "the repair order has {} lines but no {} payer is set in the billing settings",
                        pay.as_str(),
                        pay.as_str()
                    ),
                )),
            }
        }
        errs.into_result()?;
        if plans.is_empty() {
            return Err(ValidationErrors::single(
                "repair_order_id",
                Rule::NotAllowed,
                "nothing to invoice: every chargeable line is on an issued invoice already",
            )
            .into());
        }
        let mut ids = Vec::new();
        let mut tx = self.store.begin().await?;
        // The first statement writes: two advisors invoicing the same order at once queue here, and the second
        // finds (and refreshes) the first one's drafts instead of making more.
        sqlx::query("UPDATE repair_orders SET updated_at = updated_at WHERE id = $1")
            .bind(ro_id)
            .execute(&mut *tx)
            .await?;
        for (pay, payer, lines) in plans {
            let buyer = self.buyer(&payer).await?;
            let existing: Option<String> = sqlx::query_scalar(
                "SELECT id FROM billing_documents WHERE repair_order_id = $1 AND pay_type = $2 AND status = 'draft' AND kind = 'invoice'",
            )
            .bind(ro_id)
            .bind(pay.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let id = match existing {
                Some(id) => {
                    let done = sqlx::query("UPDATE billing_documents SET customer_id = $1, version = version + 1 WHERE id = $2 AND status = 'draft'")
                        .bind(&payer)
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::Conflict { current: 0 });
                    }
                    id
                }
                None => {
                    let doc_type =
                        parse_doc_type("doc_type", entity.market, DocKind::Invoice, None)
                            .map_err(ValidationErrors::from)?;
                    Self::insert_draft(
                        &mut tx,
                        &entity,
                        &org,
                        DocKind::Invoice,
                        &doc_type,
                        &payer,
                        &buyer.language,
                        Some(ro_id),
                        Some(pay.as_str()),
                        None,
                        None,
                        None,
                        // The buyer's reference is the order number until the advisor changes it.
                        Some(&ro_number),
                        scope.user_id(),
                        now,
                    )
                    .await?
                }
            };
            Self::write_lines(&mut tx, &id, &lines).await?;
            ids.push(id);
        }
        tx.commit().await?;
        let mut out = Vec::new();
        for id in ids {
            let d = self.document(scope, &id, now).await?;
            out.push(summary_of(&d));
        }
        Ok(out)
    }
    /// A draft credit note for an issued invoice, with all its lines (edit them for a partial credit).
    pub async fn credit_draft(
        self,
        scope: &Scope,
        invoice_id: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<BillingDocument, StoreError> {
        self.credit(scope, invoice_id, reason, false, now).await
    }

    /// Credits an issued invoice in full, with a reason. With `issue_now` the credit note is drafted
    /// and issued in one transaction, so one that cannot be issued leaves nothing behind; without it
    /// the draft opens in the editor (a partial credit) and is issued from there.
    pub async fn credit(
        self,
        scope: &Scope,
        invoice_id: &str,
        reason: &str,
        issue_now: bool,
        now: OffsetDateTime,
    ) -> Result<BillingDocument, StoreError> {
        let row = self.readable_doc(scope, invoice_id).await?;
        scope.require(&row.organisation_id, Permission::BillingWrite)?;
        let reason = text("reason", reason, 3, 200).map_err(ValidationErrors::from)?;
        if row.status != "issued" || row.kind != "invoice" {
            return Err(ValidationErrors::single(
                "id",
                Rule::NotAllowed,
                "only an issued invoice can be credited",
            )
            .into());
        }
        let credited: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(gross_minor), 0) AS BIGINT) FROM billing_documents WHERE credited_document_id = $1 AND status = 'issued'",
        )
        .bind(invoice_id)
        .fetch_one(&self.store.pool)
        .await?;
        if credited >= row.gross_minor {
            return Err(ValidationErrors::single(
                "id",
                Rule::NotAllowed,
                "this invoice is credited in full already",
            )
            .into());
        }
        let entity = self.entity_by_id(&row.legal_entity_id).await?;
        let lines: Vec<NewLine> = self
            .lines_of(invoice_id)
            .await?
            .into_iter()
            .map(|l| {
                Ok(NewLine {
                    tax_code: l.code()?,
                    exemption: l.exemption(),
                    rate_bp: u32::try_from(l.rate_bp).unwrap_or(0),
                    ro_line_id: l.ro_line_id,
                    unit: unit_of(&l.kind),
                    kind: l.kind,
                    code: l.code,
                    description: l.description,
                    quantity_centi: l.quantity_centi,
                    unit_price_minor: l.unit_price_minor,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let doc_type = parse_doc_type("doc_type", entity.market, DocKind::CreditNote, None)
            .map_err(ValidationErrors::from)?;
        let mut tx = self.store.begin().await?;
        let id = Self::insert_draft(
            &mut tx,
            &entity,
            &row.organisation_id,
            DocKind::CreditNote,
            &doc_type,
            &row.customer_id,
            &row.language,
            row.repair_order_id.as_deref(),
            row.pay_type.as_deref(),
            Some(invoice_id),
            Some(&reason),
            None,
            row.buyer_reference.as_deref(),
            scope.user_id(),
            now,
        )
        .await?;
        Self::write_lines(&mut tx, &id, &lines).await?;
        if issue_now {
            let draft = doc_row_on(&mut tx, &id).await?;
            let lines = lines_on(&mut tx, &id).await?;
            let version = draft.version;
            let prepared = self
                .prepare_issue(&mut tx, draft, &lines, None, now)
                .await?;
            self.write_issue(&mut tx, scope, &prepared, version, now)
                .await?;
        }
        tx.commit().await?;
        self.document(scope, &id, now).await
    }
}

/// A document's row read on a given connection (a transaction sees its own uncommitted draft).
pub(crate) async fn doc_row_on(
    conn: &mut sqlx::AnyConnection,
    id: &str,
) -> Result<DocRow, StoreError> {
    let row: Option<DocRow> = sqlx::query_as(&format!(
        "SELECT {DOC_COLS} FROM billing_documents d LEFT JOIN users u ON u.id = d.issued_by WHERE d.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.ok_or(StoreError::NotFound)
}

/// A document's lines, in order, read on a given connection.
pub(crate) async fn lines_on(
    conn: &mut sqlx::AnyConnection,
    doc_id: &str,
) -> Result<Vec<LineRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, position, ro_line_id, kind, code, description, quantity_centi, unit, unit_price_minor, net_minor, tax_code, rate_bp, \
         exemption_code, exemption_reason FROM billing_lines WHERE document_id = $1 ORDER BY position",
    )
    .bind(doc_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// The buyer of a document as the customer is now, read on a given connection.
pub(crate) async fn buyer_on(
    conn: &mut sqlx::AnyConnection,
    customer_id: &str,
) -> Result<Buyer, StoreError> {
    type Row = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
        String,
        Option<i64>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT kind, name, org_number, nif, street, postal_code, city, country, email, language, erased_at FROM customers WHERE id = $1",
    )
    .bind(customer_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((kind, name, org, nif, street, postal, city, country, email, language, erased)) = row
    else {
        return Err(StoreError::NotFound);
    };
    if erased.is_some() {
        return Err(ValidationErrors::single(
            "customer_id",
            Rule::NotAllowed,
            "the customer was erased; invoice a customer on record",
        )
        .into());
    }
    Ok(Buyer {
        consumer: kind == "person",
        language,
        party: Party {
            name,
            street,
            postal_code: postal,
            city,
            country,
            org_number: org,
            nif,
            email,
        },
    })
}

/// The buyer's reference (EHF BuyerReference, "Deres ref."): up to 100 characters, or none.
fn parse_buyer_reference(v: &Option<String>) -> Result<Option<String>, StoreError> {
    match opt(v) {
        None => Ok(None),
        Some(r) => Ok(Some(
            aftersales_domain::validation::text("buyer_reference", r, 1, 100)
                .map_err(ValidationErrors::from)?,
        )),
    }
}
