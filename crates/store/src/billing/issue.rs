//! Issuing a draft as one transaction: the series row claimed first (gapless numbers, the previous
//! hash read under its lock), KID or the PT signature chain, totals, and the customer's message.

use aftersales_domain::billing::{check_draft, check_issue, due_date, IssueFacts};

use super::*;

impl Billing<'_> {
    /// Issues a draft: the one atomic step. Number (gapless, per series), dates, seller and buyer as they are
    /// now, totals, KID (NO) or signature chain and ATCUD (PT), the series' new state, a payment for an
    /// invoice-receipt, and the customer's message commit together or not at all.
    pub async fn issue(
        self,
        scope: &Scope,
        id: &str,
        expected_version: i64,
        payment_method: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<BillingDocument, StoreError> {
        let row = self.readable_doc(scope, id).await?;
        scope.require(&row.organisation_id, Permission::BillingWrite)?;
        if row.status == "draft" && row.version != expected_version {
            return Err(StoreError::Conflict {
                current: row.version,
            });
        }
        let lines = self.lines_of(id).await?;
        let prepared = {
            let mut conn = self.store.pool.acquire().await?;
            self.prepare_issue(&mut conn, row, &lines, payment_method, now)
                .await?
        };
        let mut tx = self.store.begin().await?;
        self.write_issue(&mut tx, scope, &prepared, expected_version, now)
            .await?;
        tx.commit().await?;
        self.document(scope, id, now).await
    }

    /// Reads what issuing needs and asks the domain whether it may go ahead (`check_issue`):
    /// nothing is written here, so a refusal leaves everything as it was. The reads use `conn`: a
    /// pool connection, or the transaction that drafted the document (it holds SQLite's write
    /// lock, so it must not wait for another pool connection meanwhile).
    pub(crate) async fn prepare_issue(
        self,
        conn: &mut sqlx::AnyConnection,
        row: DocRow,
        lines: &[LineRow],
        payment_method: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<PreparedIssue, StoreError> {
        // The draft's own state first: an issued document or one without lines says so, whatever
        // else has changed since (an erased buyer, say).
        check_draft(row.status == "draft", lines.len()).map_err(ValidationErrors::from)?;
        let entity = super::entities::entity_on(conn, &row.legal_entity_id).await?;
        let kind = crate::decode("billing_documents", "kind", &row.kind, DocKind::parse)?;
        let taxed = lines
            .iter()
            .map(LineRow::taxed)
            .collect::<Result<Vec<TaxedLine>, StoreError>>()?;
        let (_, totals) = breakdown(&taxed);
        // What credit notes already took from the invoice is checked under the series lock, in the transaction.
        let buyer = super::drafts::buyer_on(conn, &row.customer_id).await?;
        let plan = check_issue(&IssueFacts {
            market: entity.market,
            kind,
            doc_type: &row.doc_type,
            is_draft: row.status == "draft",
            line_count: lines.len(),
            gross_minor: totals.gross_minor,
            buyer_is_business: !buyer.consumer,
            has_services: lines.iter().any(|l| l.kind != "part"),
            payment_method,
            signer_configured: self.store.pt_signer.is_some(),
            bank_account_set: entity.bank_account.is_some(),
            ehf_buyer: !buyer.consumer && buyer.party.org_number.is_some(),
            mixes_outside_scope: taxed.iter().any(|l| l.code == TaxCode::OutsideScope)
                && taxed.iter().any(|l| l.code != TaxCode::OutsideScope),
        })
        .map_err(ValidationErrors::from)?;
        let signer = match entity.market {
            Market::Portugal => self.store.pt_signer.clone(),
            Market::Norway => None,
        };
        let series: Option<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT id, code, validation_code, kid_prefix FROM billing_series WHERE legal_entity_id = $1 AND doc_type = $2 AND active = 1",
        )
        .bind(&entity.id)
        .bind(&row.doc_type)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((series_id, series_code, validation_code, kid_prefix)) = series else {
            return Err(ValidationErrors::single(
                "series",
                Rule::Required,
                format!(
                    "no active number series for {}: register one under Billing › Settings",
                    row.doc_type
                ),
            )
            .into());
        };
        let tz: Option<String> = sqlx::query_scalar(
            "SELECT m.time_zone FROM organisations o JOIN markets m ON m.id = o.market_id WHERE o.id = $1",
        )
        .bind(&row.organisation_id)
        .fetch_optional(&mut *conn)
        .await?;
        let zone = match tz {
            Some(t) => crate::decode("markets", "time_zone", &t, Zone::parse)?,
            None => match entity.market {
                Market::Norway => Zone::OSLO,
                Market::Portugal => Zone::LISBON,
            },
        };
        let local = zone.local(now);
        let issue_date = local.date();
        let system_entry = PrimitiveDateTime::new(
            issue_date,
            time::Time::from_hms(local.hour(), local.minute(), local.second())
                .unwrap_or(time::Time::MIDNIGHT),
        );
        let due_date = due_date(kind, plan.pt_type, issue_date, entity.payment_days);
        let delivery_date: Option<String> = match &row.repair_order_id {
            Some(ro) => {
                let at: Option<i64> = sqlx::query_scalar(
                    "SELECT MAX(at) FROM ro_events WHERE repair_order_id = $1 AND status IN ('ready', 'delivered')",
                )
                .bind(ro)
                .fetch_one(&mut *conn)
                .await?;
                at.map(|a| format_date(zone.local(crate::from_micros(a)).date()))
                    .filter(|d| *d != format_date(issue_date))
            }
            None => None,
        };
        let seller_json = serde_json::to_string(&seller_of(&entity))
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        let buyer_json =
            serde_json::to_string(&buyer.party).map_err(|e| StoreError::Internal(e.to_string()))?;

        Ok(PreparedIssue {
            row,
            entity,
            kind,
            totals,
            payment_method: plan.payment_method,
            signer,
            series_id,
            series_code,
            validation_code,
            kid_prefix,
            issue_date,
            system_entry,
            due_date,
            delivery_date,
            seller_json,
            buyer_json,
        })
    }

    /// The transaction's part of issuing: claims the series row first, re-checks under its lock
    /// what other documents took, then writes the number, hash, totals, payment and message.
    pub(crate) async fn write_issue(
        self,
        tx: &mut sqlx::AnyConnection,
        scope: &Scope,
        p: &PreparedIssue,
        expected_version: i64,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let PreparedIssue {
            row,
            entity,
            kind,
            totals,
            payment_method,
            signer,
            series_id,
            series_code,
            validation_code,
            kid_prefix,
            issue_date,
            system_entry,
            due_date,
            delivery_date,
            seller_json,
            buyer_json,
        } = p;
        let (kind, issue_date, system_entry) = (*kind, *issue_date, *system_entry);
        let id = row.id.as_str();
        // The first statement writes: it takes the series row's lock (PostgreSQL) or the write lock
        // (SQLite), so issuers of one series queue here and each reads the hash its predecessor left.
        let claimed: Option<(i64, String, Option<String>)> = sqlx::query_as(
            "UPDATE billing_series SET next_number = next_number + 1 WHERE id = $1 AND active = 1 \
             RETURNING next_number - 1, last_hash, last_date",
        )
        .bind(series_id)
        .fetch_optional(&mut *tx)
        .await?;
        // Credit notes of one invoice are issued one after the other (the series lock above): what is credited
        // already is read again here, so two concurrent credit notes cannot exceed the invoice together.
        if let Some(inv) = &row.credited_document_id {
            let gross: i64 =
                sqlx::query_scalar("SELECT gross_minor FROM billing_documents WHERE id = $1")
                    .bind(inv)
                    .fetch_one(&mut *tx)
                    .await?;
            let already: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(gross_minor), 0) AS BIGINT) FROM billing_documents WHERE credited_document_id = $1 AND status = 'issued'",
            )
            .bind(inv)
            .fetch_one(&mut *tx)
            .await?;
            if already + totals.gross_minor > gross {
                return Err(ValidationErrors::single(
                    "lines",
                    Rule::NotAllowed,
                    format!(
                        "credit notes would exceed the invoice: {} of {} is credited already",
                        format_centi(already),
                        format_centi(gross)
                    ),
                )
                .into());
            }
        }
        // A repair-order line is invoiced once (until credited): read under the series lock, so two drafts with
        // the same line cannot both be issued.
        if kind == DocKind::Invoice && row.repair_order_id.is_some() {
            let twice: Vec<String> = sqlx::query_scalar(
                "SELECT bl.description FROM billing_lines bl WHERE bl.document_id = $1 AND bl.ro_line_id IS NOT NULL AND \
                 (SELECT COUNT(*) FROM billing_lines x JOIN billing_documents d ON d.id = x.document_id \
                   WHERE x.ro_line_id = bl.ro_line_id AND d.status = 'issued' AND d.kind = 'invoice') > \
                 (SELECT COUNT(*) FROM billing_lines x JOIN billing_documents d ON d.id = x.document_id \
                   WHERE x.ro_line_id = bl.ro_line_id AND d.status = 'issued' AND d.kind = 'credit-note')",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            if !twice.is_empty() {
                return Err(ValidationErrors::single(
                    "lines",
                    Rule::NotAllowed,
                    format!(
                        "already invoiced: {}; invoice the repair order again to refresh the draft",
                        twice.join(", ")
                    ),
                )
                .into());
            }
        }
        let Some((seq, previous_hash, last_date)) = claimed else {
            return Err(ValidationErrors::single(
                "series",
                Rule::NotAllowed,
                "the series was closed meanwhile; issue again",
            )
            .into());
        };
        if let Some(last) = parse_stored_date(&last_date) {
            if last > issue_date {
                return Err(ValidationErrors::single(
                    "issue_date",
                    Rule::NotAllowed,
                    format!(
                        "series {series_code} has a document dated {} already: no earlier date may follow",
                        format_date(last)
                    ),
                )
                .into());
            }
        }
        let number = document_number(entity.market, &row.doc_type, series_code, seq);
        let kid = match (entity.market, kind) {
            (Market::Norway, DocKind::Invoice) => {
                let body = format!("{}{seq:07}", kid_prefix.clone().unwrap_or_default());
                Some(
                    Kid::for_reference("kid", entity.kid_scheme, &body)
                        .map_err(ValidationErrors::from)?
                        .as_str()
                        .to_string(),
                )
            }
            _ => None,
        };
        let (hash, hash_control, atcud_value) = match (&signer, &validation_code) {
            (Some(s), Some(vc)) => {
                let msg = documents::pt::signing_message(
                    issue_date,
                    system_entry,
                    &number,
                    totals.gross_minor,
                    &previous_hash,
                );
                let h = s
                    .sign(&msg)
                    .map_err(|e| StoreError::Internal(e.to_string()))?;
                (
                    Some(h),
                    Some(s.key_version.to_string()),
                    Some(atcud(vc, seq)),
                )
            }
            (Some(_), None) => {
                return Err(ValidationErrors::single(
                    "series",
                    Rule::Required,
                    "the series has no AT validation code",
                )
                .into())
            }
            _ => (None, None, None),
        };
        let done = sqlx::query(
            "UPDATE billing_documents SET status = 'issued', series_id = $1, sequence = $2, number = $3, seller_json = $4, buyer_json = $5, \
             issue_date = $6, due_date = $7, delivery_date = $8, system_entry = $9, net_minor = $10, tax_minor = $11, gross_minor = $12, \
             kid = $13, hash = $14, hash_control = $15, atcud = $16, issued_by = $17, issued_at = $18, version = version + 1 \
             WHERE id = $19 AND status = 'draft' AND version = $20",
        )
        .bind(series_id)
        .bind(seq)
        .bind(&number)
        .bind(seller_json)
        .bind(buyer_json)
        .bind(format_date(issue_date))
        .bind(due_date.map(format_date))
        .bind(delivery_date)
        .bind(system_entry.format(ENTRY).unwrap_or_default())
        .bind(totals.net_minor)
        .bind(totals.tax_minor)
        .bind(totals.gross_minor)
        .bind(&kid)
        .bind(&hash)
        .bind(&hash_control)
        .bind(&atcud_value)
        .bind(scope.user_id())
        .bind(micros(now))
        .bind(id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict {
                current: row.version + 1,
            });
        }
        sqlx::query("UPDATE billing_series SET last_hash = $1, last_date = $2 WHERE id = $3")
            .bind(hash.clone().unwrap_or_default())
            .bind(format_date(issue_date))
            .bind(series_id)
            .execute(&mut *tx)
            .await?;
        if let Some(m) = payment_method {
            sqlx::query(
                "INSERT INTO billing_payments (id, document_id, amount_minor, method, paid_on, reference, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)",
            )
            .bind(new_id())
            .bind(id)
            .bind(totals.gross_minor)
            .bind(m)
            .bind(format_date(issue_date))
            .bind(scope.user_id())
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        }
        let org_name: String = sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
            .bind(&row.organisation_id)
            .fetch_one(&mut *tx)
            .await?;
        let ctx = Addressee {
            number: number.clone(),
            org_id: row.organisation_id.clone(),
            org_name,
            customer_id: row.customer_id.clone(),
            vehicle: String::new(),
            token: String::new(),
            eta: None,
        };
        enqueue(
            &mut *tx,
            self.store.public_url(),
            &Notice {
                event: if kind == DocKind::CreditNote {
                    Event::CreditNoteIssued
                } else {
                    Event::InvoiceIssued
                },
                ro: row.repair_order_id.as_deref(),
                case_id: None,
                dedupe: format!("document:{id}"),
                extra: vec![],
                place: None,
                message: Some(format!("/d/{}", row.public_token)),
                calendar: None,
                delay: Duration::ZERO,
                item: None,
                due: None,
            },
            &ctx,
            now,
        )
        .await?;
        Ok(())
    }
}

/// What issuing a draft writes, read and decided before the transaction.
pub(crate) struct PreparedIssue {
    row: DocRow,
    entity: LegalEntity,
    kind: DocKind,
    totals: Totals,
    payment_method: Option<String>,
    signer: Option<std::sync::Arc<documents::pt::PtSigner>>,
    series_id: String,
    series_code: String,
    validation_code: Option<String>,
    kid_prefix: Option<String>,
    issue_date: Date,
    system_entry: PrimitiveDateTime,
    due_date: Option<Date>,
    delivery_date: Option<String>,
    seller_json: String,
    buyer_json: String,
}
