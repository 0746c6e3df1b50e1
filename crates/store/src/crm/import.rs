//! Bulk import of customers and vehicles from CSV (`aftersales import customers|vehicles FILE`).
//! Every row is parsed with the same rules as a form; valid rows land in batches, invalid rows are
//! reported with row, field and rule, and nothing half-written stays behind (each batch is one
//! transaction). Duplicates of existing customers (same e-mail or phone in the same market) and
//! of earlier rows are reported, not imported twice.

use std::collections::{HashMap, HashSet};

use aftersales_domain::validation::{FieldError, Rule};
use time::OffsetDateTime;

use crate::crm::{insert_customer, CustomerInput, NewCustomer};
use crate::db::Store;
use crate::error::StoreError;

/// One rejected row: its number in the file (the header is row 1), the field and the rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub rule: Rule,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub rows: usize,
    pub imported: usize,
    pub errors: Vec<RowError>,
    pub dry_run: bool,
}

impl ImportReport {
    pub fn rejected_rows(&self) -> usize {
        self.errors
            .iter()
            .map(|e| e.row)
            .collect::<HashSet<_>>()
            .len()
    }
}

const BATCH: usize = 1000;

impl crate::cli::Cli<'_> {
    /// Imports customers into the CRM of `owner_org` (id or name). `progress` is told how many
    /// rows are done after each batch.
    pub async fn import_customers(
        &self,
        owner_org: &str,
        rows: Vec<(usize, Result<CustomerInput, FieldError>)>,
        dry_run: bool,
        now: OffsetDateTime,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<ImportReport, StoreError> {
        let store: &Store = self.store();
        let (owner, _) = self.find_organisation(owner_org).await?;
        let mut report = ImportReport {
            rows: rows.len(),
            dry_run,
            ..Default::default()
        };
        // Existing contact handles of this market, to refuse duplicates.
        let existing: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT email, phone FROM customers WHERE organisation_id = $1 AND erased_at IS NULL",
        )
        .bind(&owner)
        .fetch_all(&store.pool)
        .await?;
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (email, phone) in existing {
            for h in [email, phone].into_iter().flatten() {
                seen.insert(h.to_lowercase(), 0);
            }
        }
        let mut valid: Vec<NewCustomer> = Vec::new();
        for (row, parsed) in rows {
            let input = match parsed {
                Ok(i) => i,
                Err(e) => {
                    report.errors.push(RowError {
                        row,
                        field: e.field,
                        rule: e.rule,
                        message: e.message,
                    });
                    continue;
                }
            };
            match NewCustomer::parse(&input) {
                Err(errs) => report.errors.extend(errs.0.into_iter().map(|e| RowError {
                    row,
                    field: e.field,
                    rule: e.rule,
                    message: e.message,
                })),
                Ok(c) => {
                    let handles: Vec<(&str, String)> = [
                        c.email
                            .as_ref()
                            .map(|e| ("email", e.as_str().to_lowercase())),
                        c.phone.as_ref().map(|p| ("phone", p.as_str().to_string())),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    if let Some((field, h, first)) = handles
                        .iter()
                        .find_map(|(f, h)| seen.get(h).map(|r| (*f, h, *r)))
                    {
                        let message = if first == 0 {
                            format!("a customer with the {field} {h} exists already")
                        } else {
                            format!("the {field} {h} is on row {first} already")
                        };
                        report.errors.push(RowError {
                            row,
                            field: field.into(),
                            rule: Rule::Unique,
                            message,
                        });
                        continue;
                    }
                    for (_, h) in handles {
                        seen.insert(h, row);
                    }
                    valid.push(c);
                }
            }
        }
        report.errors.sort_by_key(|e| e.row);
        if dry_run {
            report.imported = valid.len();
            progress(report.rows);
            return Ok(report);
        }
        let mut done = report.rows - valid.len();
        for batch in valid.chunks(BATCH) {
            let mut tx = store.begin().await?;
            for c in batch {
                insert_customer(&mut tx, store.engine(), &owner, c, now).await?;
            }
            tx.commit().await?;
            report.imported += batch.len();
            done += batch.len();
            progress(done);
        }
        progress(report.rows);
        Ok(report)
    }
}

/// A vehicle row of the import file. The owner is found by e-mail or phone in the same market.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VehicleRow {
    pub vin: String,
    pub registration: Option<String>,
    pub delivery_date: Option<String>,
    pub warranty_version: Option<String>,
    pub owner_email: Option<String>,
    pub owner_phone: Option<String>,
}

impl crate::cli::Cli<'_> {
    /// Imports vehicles into the CRM of `owner_org`, linking each to its owner when given.
    pub async fn import_vehicles(
        &self,
        owner_org: &str,
        rows: Vec<(usize, Result<VehicleRow, FieldError>)>,
        dry_run: bool,
        now: OffsetDateTime,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<ImportReport, StoreError> {
        use crate::crm::{insert_vehicle, opt, parse_date, registration, VehicleRecord};
        let store: &Store = self.store();
        let (owner, _) = self.find_organisation(owner_org).await?;
        let mut report = ImportReport {
            rows: rows.len(),
            dry_run,
            ..Default::default()
        };
        let customers: Vec<(String, String, Option<String>, Option<String>)> =
            sqlx::query_as("SELECT id, name, email, phone FROM customers WHERE organisation_id = $1 AND erased_at IS NULL")
                .bind(&owner)
                .fetch_all(&store.pool)
                .await?;
        let mut by_handle: HashMap<String, (String, String)> = HashMap::new();
        for (id, name, email, phone) in customers {
            for h in [email, phone].into_iter().flatten() {
                by_handle.insert(h.to_lowercase(), (id.clone(), name.clone()));
            }
        }
        let country: Option<String> = sqlx::query_scalar(
            "SELECT m.code FROM organisations o JOIN markets m ON m.id = o.market_id WHERE o.id = $1",
        )
        .bind(&owner)
        .fetch_optional(&store.pool)
        .await?;
        let calling_code = country
            .as_deref()
            .and_then(crate::crm::calling_code)
            .unwrap_or("");
        let known: HashSet<String> = sqlx::query_scalar::<_, String>("SELECT vin FROM vehicles")
            .fetch_all(&store.pool)
            .await?
            .into_iter()
            .collect();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut decodes: HashMap<String, crate::crm::VinDecode> = HashMap::new();
        let brand_ids: HashMap<String, String> = sqlx::query_as::<_, (String, String)>(
            "SELECT w.wmi, b.id FROM vin_wmis w JOIN brands b ON b.code = w.brand_code",
        )
        .fetch_all(&store.pool)
        .await?
        .into_iter()
        .collect();
        // The terms versions of each brand at the owner (a given version must be one of them;
        // without one, the model and delivery day pick it, as for a vehicle added by hand).
        let mut terms: HashMap<String, Vec<aftersales_domain::warranty::TermsVersion>> =
            HashMap::new();
        for brand in brand_ids.values() {
            if !terms.contains_key(brand) {
                let versions = store.warranty().terms_at(brand, &owner).await?;
                terms.insert(brand.clone(), versions);
            }
        }
        struct Valid {
            vin: aftersales_domain::crm::Vin,
            check: aftersales_domain::crm::CheckDigit,
            registration: Option<String>,
            delivery: Option<time::Date>,
            warranty: Option<String>,
            owner: Option<(String, String)>,
        }
        let mut valid: Vec<Valid> = Vec::new();
        for (row, parsed) in rows {
            let r = match parsed {
                Ok(r) => r,
                Err(e) => {
                    report.errors.push(RowError {
                        row,
                        field: e.field,
                        rule: e.rule,
                        message: e.message,
                    });
                    continue;
                }
            };
            let mut errs: Vec<FieldError> = Vec::new();
            let vin = match store.crm().parse_vin("vin", &r.vin).await {
                Ok(v) => Some(v),
                Err(StoreError::Invalid(e)) => {
                    errs.extend(e.0);
                    None
                }
                Err(e) => return Err(e),
            };
            let reg = opt(&r.registration).and_then(|v| {
                registration("registration", v)
                    .map_err(|e| errs.push(e))
                    .ok()
            });
            let delivery = opt(&r.delivery_date).and_then(|v| {
                parse_date("delivery_date", v)
                    .map_err(|e| errs.push(e))
                    .ok()
            });
            let warranty = opt(&r.warranty_version).map(str::to_string);
            let owner_handle = match (opt(&r.owner_email), opt(&r.owner_phone)) {
                (Some(e), _) => Some(e.to_lowercase()),
                (None, Some(p)) => {
                    match aftersales_domain::crm::Phone::parse("owner_phone", p, calling_code) {
                        Ok(p) => Some(p.as_str().to_string()),
                        Err(e) => {
                            errs.push(e);
                            None
                        }
                    }
                }
                (None, None) => None,
            };
            let owner_customer = match owner_handle {
                Some(h) => match by_handle.get(&h) {
                    Some(c) => Some(c.clone()),
                    None => {
                        errs.push(FieldError::new(
                            if opt(&r.owner_email).is_some() { "owner_email" } else { "owner_phone" },
                            Rule::Unknown,
                            "no customer of this market has that e-mail or phone; import the customers first",
                        ));
                        None
                    }
                },
                None => None,
            };
            if let Some((v, _)) = &vin {
                if known.contains(v.as_str()) {
                    errs.push(FieldError::new(
                        "vin",
                        Rule::Unique,
                        "a vehicle with this VIN is registered already",
                    ));
                } else if let Some(first) = seen.get(v.as_str()) {
                    errs.push(FieldError::new(
                        "vin",
                        Rule::Unique,
                        format!("the same VIN is on row {first} already"),
                    ));
                }
            }
            if let (Some(w), Some((v, _))) = (&warranty, &vin) {
                let versions = brand_ids.get(v.wmi()).and_then(|b| terms.get(b));
                if let Err(e) = crate::warranty::check_version(w, versions.map_or(&[], |x| x)) {
                    errs.push(e);
                }
            }
            if !errs.is_empty() {
                report.errors.extend(errs.into_iter().map(|e| RowError {
                    row,
                    field: e.field,
                    rule: e.rule,
                    message: e.message,
                }));
                continue;
            }
            if let Some((vin, check)) = vin {
                seen.insert(vin.as_str().to_string(), row);
                valid.push(Valid {
                    vin,
                    check,
                    registration: reg,
                    delivery,
                    warranty,
                    owner: owner_customer,
                });
            }
        }
        report.errors.sort_by_key(|e| e.row);
        if dry_run {
            report.imported = valid.len();
            progress(report.rows);
            return Ok(report);
        }
        let mut done = report.rows - valid.len();
        for batch in valid.chunks(BATCH) {
            let mut tx = store.begin().await?;
            for v in batch {
                let key = format!("{}{}", &v.vin.as_str()[..8], &v.vin.as_str()[9..11]);
                if !decodes.contains_key(&key) {
                    let d = store
                        .crm()
                        .decode_parsed(&v.vin, Some(v.check), now.year() + 1)
                        .await?;
                    decodes.insert(key.clone(), d);
                }
                let mut decoded = decodes.get(&key).cloned().unwrap_or_default();
                decoded.check_digit = Some(v.check);
                let record = VehicleRecord {
                    owner_org: &owner,
                    vin: &v.vin,
                    check: v.check,
                    decoded: &decoded,
                    brand_id: brand_ids.get(v.vin.wmi()).cloned(),
                    registration: v.registration.clone(),
                    delivery: v.delivery,
                    warranty: v.warranty.clone().or_else(|| {
                        let brand = brand_ids.get(v.vin.wmi())?;
                        aftersales_domain::warranty::terms_for(
                            terms.get(brand)?,
                            decoded.model.as_deref(),
                            v.delivery?,
                        )
                        .map(|t| t.code.clone())
                    }),
                    owner_customer: v
                        .owner
                        .as_ref()
                        .map(|(id, name)| (id.as_str(), name.as_str())),
                    actor: None,
                };
                insert_vehicle(&mut tx, store.engine(), &record, now).await?;
            }
            tx.commit().await?;
            report.imported += batch.len();
            done += batch.len();
            progress(done);
        }
        progress(report.rows);
        Ok(report)
    }
}
