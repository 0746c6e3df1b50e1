//! Reading documents: one with its lines, VAT and payments, the legal model for PDF/EHF, lists.

use super::*;

impl Billing<'_> {
    /// One document with its lines, VAT groups, payments and what is open.
    pub async fn document(
        self,
        scope: &Scope,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<BillingDocument, StoreError> {
        let row = self.readable_doc(scope, id).await?;
        self.assemble_doc(row, now, true).await
    }
    /// The document view; `legal` adds what needs its legal model (the QR text, the certificate line), which
    /// lists and the customer's page do not show.
    pub(crate) async fn assemble_doc(
        self,
        row: DocRow,
        now: OffsetDateTime,
        legal: bool,
    ) -> Result<BillingDocument, StoreError> {
        let entity = self.entity_by_id(&row.legal_entity_id).await?;
        let lines = self.lines_of(&row.id).await?;
        let taxed = lines
            .iter()
            .map(LineRow::taxed)
            .collect::<Result<Vec<TaxedLine>, StoreError>>()?;
        let (groups, totals) = breakdown(&taxed);
        let cur = row.currency.clone();
        let customer_name: String = match &row.buyer_json {
            Some(j) => serde_json::from_str::<Party>(j)
                .map(|p| p.name)
                .unwrap_or_default(),
            None => sqlx::query_scalar("SELECT name FROM customers WHERE id = $1")
                .bind(&row.customer_id)
                .fetch_optional(&self.store.pool)
                .await?
                .unwrap_or_default(),
        };
        let ro: Option<DocRef> = match &row.repair_order_id {
            Some(r) => {
                sqlx::query_scalar::<_, String>("SELECT number FROM repair_orders WHERE id = $1")
                    .bind(r)
                    .fetch_optional(&self.store.pool)
                    .await?
                    .map(|n| DocRef {
                        id: r.clone(),
                        label: n,
                    })
            }
            None => None,
        };
        let credited: Option<DocRef> = match &row.credited_document_id {
            Some(c) => sqlx::query_scalar::<_, Option<String>>(
                "SELECT number FROM billing_documents WHERE id = $1",
            )
            .bind(c)
            .fetch_optional(&self.store.pool)
            .await?
            .map(|n| DocRef {
                id: c.clone(),
                label: n.unwrap_or_default(),
            }),
            None => None,
        };
        let credit_rows: Vec<(String, Option<String>, String, i64)> = sqlx::query_as(
            "SELECT id, number, status, gross_minor FROM billing_documents WHERE credited_document_id = $1 ORDER BY created_at",
        )
        .bind(&row.id)
        .fetch_all(&self.store.pool)
        .await?;
        let credited_total: i64 = credit_rows
            .iter()
            .filter(|c| c.2 == "issued")
            .map(|c| c.3)
            .sum();
        let payments: Vec<(String, i64, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, amount_minor, method, paid_on, reference FROM billing_payments WHERE document_id = $1 ORDER BY paid_on, created_at",
        )
        .bind(&row.id)
        .fetch_all(&self.store.pool)
        .await?;
        let paid: i64 = payments.iter().map(|p| p.1).sum();
        let issued = row.status == "issued";
        let invoice = row.kind == "invoice";
        let open = if issued && invoice {
            row.gross_minor - paid - credited_total
        } else {
            0
        };
        let due = parse_stored_date(&row.due_date);
        let today = self
            .store
            .org()
            .zone_of(&row.organisation_id)
            .await?
            .local(now)
            .date();
        let payment_status = if !(issued && invoice) {
            PaymentStatus::None
        } else if open <= 0 {
            PaymentStatus::Paid
        } else if due.is_some_and(|d| d < today) {
            PaymentStatus::Overdue
        } else if paid > 0 {
            PaymentStatus::PartlyPaid
        } else {
            PaymentStatus::Open
        };
        let model = if issued && legal {
            Some(self.model_of(&row, &entity, &lines).await?)
        } else {
            None
        };
        let qr = model
            .as_ref()
            .filter(|m| m.pt.is_some())
            .and_then(|m| documents::pt::qr_string(m).ok());
        let certificate_line = model.as_ref().and_then(|m| {
            m.pt.as_ref()
                .map(|p| documents::pt::certificate_line(&p.hash, &p.certificate))
        });
        Ok(BillingDocument {
            kind: crate::decode("billing_documents", "kind", &row.kind, DocKind::parse)?,
            doc_type: row.doc_type.clone(),
            status: row.status.clone(),
            number: row.number.clone(),
            market: entity.market,
            organisation_id: row.organisation_id.clone(),
            legal_entity: DocRef {
                id: entity.id.clone(),
                label: entity.name.clone(),
            },
            customer: DocRef {
                id: row.customer_id.clone(),
                label: customer_name,
            },
            repair_order: ro,
            pay_type: row.pay_type.clone(),
            credited,
            credit_notes: credit_rows
                .iter()
                .map(|(id, n, s, _)| DocRef {
                    id: id.clone(),
                    label: n.clone().unwrap_or_else(|| format!("({s})")),
                })
                .collect(),
            reason: row.reason.clone(),
            note: row.note.clone(),
            buyer_reference: row.buyer_reference.clone(),
            language: row.language.clone(),
            currency: cur.clone(),
            region: crate::decode("billing_documents", "region", &row.region, TaxRegion::parse)?,
            issue_date: row.issue_date.clone(),
            due_date: row.due_date.clone(),
            delivery_date: row.delivery_date.clone(),
            lines: lines
                .iter()
                .map(|l| {
                    Ok(DocLine {
                        id: l.id.clone(),
                        position: l.position,
                        kind: l.kind.clone(),
                        code: l.code.clone(),
                        description: l.description.clone(),
                        quantity: format_centi(l.quantity_centi),
                        unit: l.unit.clone(),
                        unit_price: Money::new(l.unit_price_minor, &cur),
                        net: Money::new(l.net_minor, &cur),
                        tax_code: l.code()?,
                        rate: aftersales_domain::billing::format_rate(
                            u32::try_from(l.rate_bp).unwrap_or(0),
                        ),
                        exemption_code: l.exemption_code.clone(),
                        exemption_reason: l.exemption_reason.clone(),
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            tax_groups: groups
                .iter()
                .map(|g| TaxGroup {
                    tax_code: g.code,
                    rate: aftersales_domain::billing::format_rate(g.rate_bp),
                    exemption_reason: g.exemption.as_ref().map(|e| e.reason.clone()),
                    taxable: Money::new(g.taxable_minor, &cur),
                    tax: Money::new(g.tax_minor, &cur),
                })
                .collect(),
            net: Money::new(totals.net_minor, &cur),
            tax: Money::new(totals.tax_minor, &cur),
            gross: Money::new(totals.gross_minor, &cur),
            kid: row.kid.clone(),
            atcud: row.atcud.clone(),
            certificate_line,
            qr,
            payments: payments
                .into_iter()
                .map(|(id, a, m, d, r)| Payment {
                    id,
                    amount: Money::new(a, &cur),
                    method: m,
                    paid_on: d,
                    reference: r,
                })
                .collect(),
            paid: Money::new(paid, &cur),
            credited_total: Money::new(credited_total, &cur),
            open: Money::new(open, &cur),
            payment_status,
            public_path: format!("/d/{}", row.public_token),
            sent_at: row.sent_at.map(|s| {
                crate::from_micros(s)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            }),
            version: row.version,
            id: row.id,
        })
    }
    /// The legal model of an issued document, from what was fixed at issue.
    pub(crate) async fn model_of(
        self,
        row: &DocRow,
        entity: &LegalEntity,
        lines: &[LineRow],
    ) -> Result<Document, StoreError> {
        let seller: Seller = row
            .seller_json
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_else(|| seller_of(entity));
        let buyer: Party = match row
            .buyer_json
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok())
        {
            Some(b) => b,
            None => self.buyer(&row.customer_id).await?.party,
        };
        let consumer: Option<String> =
            sqlx::query_scalar("SELECT kind FROM customers WHERE id = $1")
                .bind(&row.customer_id)
                .fetch_optional(&self.store.pool)
                .await?;
        let taxed = lines
            .iter()
            .map(LineRow::taxed)
            .collect::<Result<Vec<TaxedLine>, StoreError>>()?;
        let (subtotals, totals) = breakdown(&taxed);
        let credited = match &row.credited_document_id {
            Some(c) => {
                let r: Option<(Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT number, issue_date FROM billing_documents WHERE id = $1",
                )
                .bind(c)
                .fetch_optional(&self.store.pool)
                .await?;
                r.and_then(|(n, d)| {
                    Some(Credited {
                        number: n?,
                        issue_date: parse_stored_date(&d)?,
                    })
                })
            }
            None => None,
        };
        let ro_number: Option<String> = match &row.repair_order_id {
            Some(r) => {
                sqlx::query_scalar("SELECT number FROM repair_orders WHERE id = $1")
                    .bind(r)
                    .fetch_optional(&self.store.pool)
                    .await?
            }
            None => None,
        };
        let issue_date = parse_stored_date(&row.issue_date).unwrap_or(Date::MIN);
        let payments: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT method, amount_minor, paid_on FROM billing_payments WHERE document_id = $1 ORDER BY paid_on, created_at",
        )
        .bind(&row.id)
        .fetch_all(&self.store.pool)
        .await?;
        let settled = payments
            .into_iter()
            .filter_map(|(m, a, d)| {
                Some((
                    saft_mechanism(&m).to_string(),
                    a,
                    parse_stored_date(&Some(d))?,
                ))
            })
            .collect();
        let pt = match (entity.market, &row.hash) {
            (Market::Portugal, Some(hash)) => Some(PtSeal {
                doc_type: crate::decode(
                    "billing_documents",
                    "doc_type",
                    &row.doc_type,
                    PtDocType::parse,
                )?,
                series: String::new(),
                sequence: row.sequence.unwrap_or(0),
                atcud: row.atcud.clone().unwrap_or_default(),
                hash: hash.clone(),
                hash_control: row.hash_control.clone().unwrap_or_else(|| "1".into()),
                system_entry: row
                    .system_entry
                    .as_deref()
                    .and_then(|s| PrimitiveDateTime::parse(s, ENTRY).ok())
                    .unwrap_or(PrimitiveDateTime::MIN),
                certificate: seller
                    .certificate
                    .clone()
                    .unwrap_or_else(|| entity.certificate.clone()),
            }),
            _ => None,
        };
        Ok(Document {
            kind: crate::decode("billing_documents", "kind", &row.kind, DocKind::parse)?,
            number: row.number.clone().unwrap_or_default(),
            issue_date,
            due_date: parse_stored_date(&row.due_date),
            delivery_date: parse_stored_date(&row.delivery_date),
            currency: row.currency.clone(),
            region: crate::decode("billing_documents", "region", &row.region, TaxRegion::parse)?,
            seller,
            buyer,
            customer_id: row.customer_id.replace('-', "").chars().take(30).collect(),
            issued_by: row.issued_by_name.clone().unwrap_or_default(),
            buyer_is_consumer: consumer.as_deref() != Some("company"),
            // The buyer's reference as asked on the draft, else the order, else the customer number.
            buyer_reference: row
                .buyer_reference
                .clone()
                .or(ro_number)
                .unwrap_or_else(|| row.customer_id.replace('-', "").chars().take(30).collect()),
            lines: lines
                .iter()
                .map(|l| {
                    Ok(documents::Line {
                        code: l.code.clone(),
                        description: l.description.clone(),
                        quantity_centi: l.quantity_centi,
                        unit: if l.unit == "hour" {
                            Unit::Hour
                        } else {
                            Unit::Piece
                        },
                        unit_price_minor: l.unit_price_minor,
                        net_minor: l.net_minor,
                        tax_code: l.code()?,
                        rate_bp: u32::try_from(l.rate_bp).unwrap_or(0),
                        exemption: l.exemption(),
                        service: l.kind != "part",
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            subtotals,
            totals,
            payment_reference: row.kid.clone(),
            credited,
            reason: row.reason.clone(),
            note: row.note.clone(),
            pt,
            settled,
        })
    }
    /// The legal model of an issued document (for EHF, PDF).
    pub async fn document_model(self, scope: &Scope, id: &str) -> Result<Document, StoreError> {
        let row = self.readable_doc(scope, id).await?;
        if row.status != "issued" {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                "a draft has no legal form yet: issue it first",
            )
            .into());
        }
        let entity = self.entity_by_id(&row.legal_entity_id).await?;
        let lines = self.lines_of(&row.id).await?;
        self.model_of(&row, &entity, &lines).await
    }
    /// The EHF (Peppol BIS Billing 3.0) XML of an issued Norwegian document.
    pub async fn ehf(self, scope: &Scope, id: &str) -> Result<String, StoreError> {
        let model = self.document_model(scope, id).await?;
        if model.region != TaxRegion::Norway {
            return Err(ValidationErrors::single(
                "id",
                Rule::NotAllowed,
                "EHF is for Norwegian documents",
            )
            .into());
        }
        documents::ehf::write(&model)
            .map_err(|e| ValidationErrors::single("id", Rule::NotAllowed, e.to_string()).into())
    }
    /// Documents of the organisations in reach, newest first, a page at a time (`cursor` is the
    /// `next_cursor` of the page before); filtered by customer, repair order, open amount.
    pub async fn documents(
        self,
        scope: &Scope,
        filter: &DocFilter<'_>,
        cursor: Option<&str>,
        limit: i64,
        now: OffsetDateTime,
    ) -> Result<crate::Page<DocSummary>, StoreError> {
        let DocFilter {
            customer_id,
            repair_order_id,
            only_open,
        } = *filter;
        let orgs = scope.orgs_with(Permission::BillingRead);
        if orgs.is_empty() {
            return Ok(crate::Page {
                items: Vec::new(),
                next_cursor: None,
            });
        }
        let after = crate::db::cursor_key(&self.store.pool, "billing_documents", cursor).await?;
        let mut sql = format!(
            "SELECT {DOC_COLS} FROM billing_documents d LEFT JOIN users u ON u.id = d.issued_by WHERE d.organisation_id IN ({})",
            crate::db::placeholders(1, orgs.len())
        );
        let mut n = orgs.len();
        if customer_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND d.customer_id = ${n}"));
        }
        if repair_order_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND d.repair_order_id = ${n}"));
        }
        if only_open {
            sql.push_str(
                " AND d.status = 'issued' AND d.kind = 'invoice' AND d.gross_minor \
                 - COALESCE((SELECT SUM(p.amount_minor) FROM billing_payments p WHERE p.document_id = d.id), 0) \
                 - COALESCE((SELECT SUM(c.gross_minor) FROM billing_documents c WHERE c.credited_document_id = d.id AND c.status = 'issued'), 0) > 0",
            );
        }
        if after.is_some() {
            sql.push_str(&format!(
                " AND (d.created_at < ${a} OR (d.created_at = ${a} AND d.id < ${b}))",
                a = n + 1,
                b = n + 2
            ));
            n += 2;
        }
        sql.push_str(&format!(
            " ORDER BY d.created_at DESC, d.id DESC LIMIT ${}",
            n + 1
        ));
        let mut q = sqlx::query_as::<_, DocRow>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        if let Some(c) = customer_id {
            q = q.bind(c);
        }
        if let Some(r) = repair_order_id {
            q = q.bind(r);
        }
        if let Some((at, id)) = &after {
            q = q.bind(*at).bind(id.clone());
        }
        let rows = q.bind(limit + 1).fetch_all(&self.store.pool).await?;
        let mut out = Vec::new();
        for r in rows {
            let d = self.assemble_doc(r, now, false).await?;
            out.push((summary_of(&d), d.payment_status));
        }
        // The page is cut before the paid ones are left out, so the cursor follows the rows read.
        let page = crate::Page::from_rows(out, limit, |(d, _)| d.id.clone());
        Ok(crate::Page {
            items: page
                .items
                .into_iter()
                .filter(|(_, status)| !(only_open && matches!(status, PaymentStatus::Paid)))
                .map(|(d, _)| d)
                .collect(),
            next_cursor: page.next_cursor,
        })
    }
}

/// Which documents a list shows: all in reach, or a customer's, a repair order's, the open ones.
#[derive(Debug, Clone, Copy, Default)]
pub struct DocFilter<'a> {
    pub customer_id: Option<&'a str>,
    pub repair_order_id: Option<&'a str>,
    pub only_open: bool,
}
