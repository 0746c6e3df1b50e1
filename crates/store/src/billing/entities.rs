//! Legal entities (who invoices for a subtree of organisations) and their number series.

use super::*;
use crate::db::Write;

impl Billing<'_> {
    /// The legal entity invoicing for `org`: its own, or the nearest one above it.
    pub(crate) async fn entity_for(self, org: &str) -> Result<Option<LegalEntity>, StoreError> {
        let mut cur = org.to_string();
        for _ in 0..8 {
            let row: Option<EntityRow> = sqlx::query_as(&format!(
                "SELECT {ENTITY_COLS} FROM legal_entities WHERE organisation_id = $1"
            ))
            .bind(&cur)
            .fetch_optional(&self.store.pool)
            .await?;
            if let Some(r) = row {
                return Ok(Some(r.view()?));
            }
            let parent: Option<Option<String>> =
                sqlx::query_scalar("SELECT parent_id FROM organisations WHERE id = $1")
                    .bind(&cur)
                    .fetch_optional(&self.store.pool)
                    .await?;
            match parent.flatten() {
                Some(p) => cur = p,
                None => break,
            }
        }
        Ok(None)
    }
    pub(crate) async fn entity_by_id(self, id: &str) -> Result<LegalEntity, StoreError> {
        entity_on(&mut *self.store.pool.acquire().await?, id).await
    }
    /// The legal entity that invoices for `org` (own or inherited), if any.
    pub async fn legal_entity(
        self,
        scope: &Scope,
        org: &str,
    ) -> Result<Option<LegalEntity>, StoreError> {
        scope.require(org, Permission::BillingRead)?;
        self.entity_for(org).await
    }
    /// Creates or changes the legal entity attached to `org` (it then invoices for `org`'s subtree).
    pub async fn set_legal_entity(
        self,
        scope: &Scope,
        org: &str,
        input: &LegalEntityInput,
        expected_version: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<LegalEntity, StoreError> {
        scope.require(org, Permission::BillingManage)?;
        let mut errs = ValidationErrors::default();
        let region = errs.take(TaxRegion::parse("region", &input.region));
        let name = errs.take(text("name", &input.name, 1, 100));
        let org_number =
            opt(&input.org_number).and_then(|v| errs.take(OrgNumber::parse("org_number", v)));
        let nif = opt(&input.nif).and_then(|v| errs.take(Nif::parse("nif", v)));
        let kid_scheme = match opt(&input.kid_scheme) {
            None => Some(KidScheme::Mod10),
            Some(v) => errs.take(KidScheme::parse("kid_scheme", v)),
        };
        let payment_days = input.payment_days.unwrap_or(14);
        if !(0..=120).contains(&payment_days) {
            errs.push(FieldError::new(
                "payment_days",
                Rule::NotAllowed,
                "payment_days must be 0 to 120",
            ));
        }
        let certificate = opt(&input.certificate).unwrap_or("0000").to_string();
        if certificate.len() > 10 || !certificate.chars().all(|c| c.is_ascii_digit()) {
            errs.push(FieldError::new(
                "certificate",
                Rule::Format,
                "certificate is AT's software certificate number, digits only",
            ));
        }
        let market = region.map(TaxRegion::market);
        match market {
            // A given but invalid number is reported once, by its own check.
            Some(Market::Norway) if opt(&input.org_number).is_none() => errs.push(FieldError::new(
                "org_number",
                Rule::Required,
                "a Norwegian legal entity needs its organisation number",
            )),
            Some(Market::Portugal) if opt(&input.nif).is_none() => errs.push(FieldError::new(
                "nif",
                Rule::Required,
                "a Portuguese legal entity needs its NIF",
            )),
            _ => {}
        }
        let bank = opt(&input.bank_account).map(|b| b.replace([' ', '.'], ""));
        if let Some(b) = &bank {
            if b.len() < 8 || b.len() > 34 || !b.chars().all(|c| c.is_ascii_alphanumeric()) {
                errs.push(FieldError::new(
                    "bank_account",
                    Rule::Format,
                    "bank_account is an IBAN or an account number: 8 to 34 letters and digits",
                ));
            }
        }
        for (field, id) in [
            ("warranty_customer_id", opt(&input.warranty_customer_id)),
            ("goodwill_customer_id", opt(&input.goodwill_customer_id)),
        ] {
            if let Some(id) = id {
                let owner: Option<String> =
                    sqlx::query_scalar("SELECT organisation_id FROM customers WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&self.store.pool)
                        .await?;
                if !owner.is_some_and(|o| scope.permits_record(&o, Permission::CrmRead)) {
                    errs.push(FieldError::new(
                        field,
                        Rule::Unknown,
                        format!("{field} is not a customer you can see"),
                    ));
                }
            }
        }
        errs.into_result()?;
        let (Some(region), Some(name), Some(kid_scheme), Some(market)) =
            (region, name, kid_scheme, market)
        else {
            return Err(StoreError::Internal("validated input incomplete".into()));
        };
        let (currency, country) = match market {
            Market::Norway => ("NOK", "NO"),
            Market::Portugal => ("EUR", "PT"),
        };
        let existing: Option<(String, i64)> =
            sqlx::query_as("SELECT id, version FROM legal_entities WHERE organisation_id = $1")
                .bind(org)
                .fetch_optional(&self.store.pool)
                .await?;
        let vals = (
            opt(&input.street).map(str::to_string),
            opt(&input.postal_code).map(str::to_string),
            opt(&input.city).map(str::to_string),
            opt(&input.email).map(str::to_string),
            opt(&input.bic).map(str::to_string),
        );
        // A new entity is created with what identifies it, then everything is written by the one UPDATE below.
        let (id, version) = match existing {
            Some((id, version)) => {
                if let Some(v) = expected_version {
                    if v != version {
                        return Err(StoreError::Conflict { current: version });
                    }
                }
                let issued: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM billing_documents WHERE legal_entity_id = $1 AND status = 'issued'",
                )
                .bind(&id)
                .fetch_one(&self.store.pool)
                .await?;
                let current = self.entity_by_id(&id).await?;
                if issued > 0 && current.region != region {
                    return Err(ValidationErrors::single(
                        "region",
                        Rule::NotAllowed,
                        "the region cannot change once documents are issued",
                    )
                    .into());
                }
                (id, version)
            }
            None => {
                let id = new_id();
                let r = sqlx::query(
                    "INSERT INTO legal_entities (id, organisation_id, market, region, name, country, currency, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&id)
                .bind(org)
                .bind(market.as_str())
                .bind(region.as_str())
                .bind(&name)
                .bind(country)
                .bind(currency)
                .bind(micros(now))
                .write(self.store)
                .await;
                match r {
                    Ok(_) => (id, 1),
                    Err(e) if StoreError::is_unique_violation(&e) => {
                        return Err(StoreError::Conflict { current: 1 })
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let done = sqlx::query(
            "UPDATE legal_entities SET market = $1, region = $2, name = $3, org_number = $4, nif = $5, vat_registered = $6, \
             foretaksregisteret = $7, street = $8, postal_code = $9, city = $10, country = $11, email = $12, bank_account = $13, \
             bic = $14, currency = $15, payment_days = $16, kid_scheme = $17, certificate = $18, warranty_customer_id = $19, \
             goodwill_customer_id = $20, version = version + 1 WHERE id = $21 AND version = $22",
        )
        .bind(market.as_str())
        .bind(region.as_str())
        .bind(&name)
        .bind(org_number.as_ref().map(|o| o.as_str().to_string()))
        .bind(nif.as_ref().map(|n| n.as_str().to_string()))
        .bind(i64::from(input.vat_registered.unwrap_or(true)))
        .bind(i64::from(input.foretaksregisteret.unwrap_or(false)))
        .bind(vals.0)
        .bind(vals.1)
        .bind(vals.2)
        .bind(country)
        .bind(vals.3)
        .bind(bank)
        .bind(vals.4)
        .bind(currency)
        .bind(payment_days)
        .bind(kid_scheme.as_str())
        .bind(&certificate)
        .bind(opt(&input.warranty_customer_id).map(str::to_string))
        .bind(opt(&input.goodwill_customer_id).map(str::to_string))
        .bind(&id)
        .bind(version)
        .write(self.store)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict { current: version });
        }
        self.entity_by_id(&id).await
    }
    /// A legal entity by its id, if the caller may see its documents.
    pub async fn legal_entity_by_id(
        self,
        scope: &Scope,
        entity_id: &str,
    ) -> Result<LegalEntity, StoreError> {
        let e = self.entity_by_id(entity_id).await?;
        if !scope.permits(&e.organisation_id, Permission::BillingRead) {
            return Err(StoreError::NotFound);
        }
        Ok(e)
    }
    pub async fn series(self, scope: &Scope, entity_id: &str) -> Result<Vec<Series>, StoreError> {
        let e = self.entity_by_id(entity_id).await?;
        scope.require(&e.organisation_id, Permission::BillingRead)?;
        type Row = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            i64,
            Option<String>,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, doc_type, code, validation_code, kid_prefix, next_number, last_date, active FROM billing_series \
             WHERE legal_entity_id = $1 ORDER BY doc_type, created_at",
        )
        .bind(entity_id)
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, doc_type, code, vc, kp, next, last, active)| Series {
                id,
                doc_type,
                code,
                validation_code: vc,
                kid_prefix: kp,
                next_number: next,
                last_date: last,
                active: active != 0,
            })
            .collect())
    }
    /// Registers a number series; it becomes the active one of its document type.
    pub async fn add_series(
        self,
        scope: &Scope,
        entity_id: &str,
        input: &SeriesInput,
        now: OffsetDateTime,
    ) -> Result<Series, StoreError> {
        let e = self.entity_by_id(entity_id).await?;
        scope.require(&e.organisation_id, Permission::BillingManage)?;
        let mut errs = ValidationErrors::default();
        let doc_type = match e.market {
            Market::Norway => errs
                .take(DocKind::parse("doc_type", &input.doc_type).map(|k| k.as_str().to_string())),
            Market::Portugal => errs.take(
                PtDocType::parse("doc_type", &input.doc_type).map(|k| k.as_str().to_string()),
            ),
        };
        let code = errs.take(parse_series_code("code", &input.code));
        let validation_code = match (e.market, opt(&input.validation_code)) {
            (Market::Portugal, None) => {
                errs.push(FieldError::new(
                    "validation_code",
                    Rule::Required,
                    "register the series with AT first: its validation code goes on every document (ATCUD)",
                ));
                None
            }
            (Market::Portugal, Some(v)) => errs.take(parse_validation_code("validation_code", v)),
            (Market::Norway, _) => None,
        };
        let kid_prefix = opt(&input.kid_prefix).map(str::to_string);
        if let Some(p) = &kid_prefix {
            if p.len() > 6 || !p.chars().all(|c| c.is_ascii_digit()) {
                errs.push(FieldError::new(
                    "kid_prefix",
                    Rule::Format,
                    "kid_prefix is up to 6 digits put before the number in the KID",
                ));
            }
        }
        // Norway: numbers are `<series>-<n>` for every type, so a code serves one type only; a KID is the prefix
        // and the number, so each invoice series has its own prefix (or KIDs would repeat).
        if e.market == Market::Norway {
            let others: Vec<(String, String, Option<String>)> = sqlx::query_as(
                "SELECT doc_type, code, kid_prefix FROM billing_series WHERE legal_entity_id = $1",
            )
            .bind(entity_id)
            .fetch_all(&self.store.pool)
            .await?;
            if let (Some(t), Some(c)) = (&doc_type, &code) {
                if others.iter().any(|(ot, oc, _)| oc == c && ot != t) {
                    errs.push(FieldError::new(
                        "code",
                        Rule::Unique,
                        "another document type uses this series code: numbers would repeat",
                    ));
                }
                if t == DocKind::Invoice.as_str() {
                    match &kid_prefix {
                        None => errs.push(FieldError::new(
                            "kid_prefix",
                            Rule::Required,
                            "an invoice series needs its own KID prefix, so KIDs never repeat across series",
                        )),
                        Some(p) if others.iter().any(|(_, _, op)| op.as_deref() == Some(p.as_str())) => {
                            errs.push(FieldError::new(
                                "kid_prefix",
                                Rule::Unique,
                                "another series uses this KID prefix",
                            ))
                        }
                        _ => {}
                    }
                }
            }
        }
        errs.into_result()?;
        let (Some(doc_type), Some(code)) = (doc_type, code) else {
            return Err(StoreError::Internal("validated input incomplete".into()));
        };
        let id = new_id();
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "UPDATE billing_series SET active = 0 WHERE legal_entity_id = $1 AND doc_type = $2",
        )
        .bind(entity_id)
        .bind(&doc_type)
        .execute(&mut *tx)
        .await?;
        let r = sqlx::query(
            "INSERT INTO billing_series (id, legal_entity_id, doc_type, code, validation_code, kid_prefix, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(entity_id)
        .bind(&doc_type)
        .bind(&code)
        .bind(&validation_code)
        .bind(&kid_prefix)
        .bind(micros(now))
        .execute(&mut *tx)
        .await;
        if let Err(e) = r {
            if StoreError::is_unique_violation(&e) {
                return Err(ValidationErrors::single(
                    "code",
                    Rule::Unique,
                    "this series already exists for this document type",
                )
                .into());
            }
            return Err(e.into());
        }
        tx.commit().await?;
        Ok(Series {
            id,
            doc_type,
            code,
            validation_code,
            kid_prefix,
            next_number: 1,
            last_date: None,
            active: true,
        })
    }
}

/// A legal entity by id, read on a given connection.
pub(crate) async fn entity_on(
    conn: &mut sqlx::AnyConnection,
    id: &str,
) -> Result<LegalEntity, StoreError> {
    let row: Option<EntityRow> = sqlx::query_as(&format!(
        "SELECT {ENTITY_COLS} FROM legal_entities WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.ok_or(StoreError::NotFound)?.view()
}
