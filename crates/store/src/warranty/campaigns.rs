//! Recalls and service campaigns: made by a brand's headquarters or a market entity with the VINs
//! they affect (a CSV list, or a rule over the brand's vehicles in reach), seen by every
//! organisation below the owner; a VIN done in a workshop or over the air (the reported software
//! version at or past the campaign's); completion per campaign and per service point; the open
//! campaigns of a vehicle for its page, its cases and its repair orders. Rules:
//! `domain::warranty::campaigns`.

use std::collections::BTreeMap;

use aftersales_domain::i18n::LocalNames;
use aftersales_domain::org::{OrgKind, Permission};
use aftersales_domain::validation::{FieldError, Rule};
use aftersales_domain::warranty::campaigns::{
    self as rules, CampaignKind, DoneHow, Remedy, Selection,
};
use aftersales_domain::ValidationErrors;
use time::OffsetDateTime;

use super::{
    CampaignDoneInput, CampaignPoint, CampaignVehicle, OpenCampaign, RecallCampaign,
    RecallCampaignInput, Warranty,
};
use crate::db::placeholders;
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{decode, from_micros, micros, new_id, Ref};

type CampaignRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

const COLUMNS: &str = "c.id, c.code, c.organisation_id, c.kind, c.titles, c.remedy, c.operation, c.part, c.done_version, c.created_at";

fn opt(v: Option<&str>, field: &str, max: usize, errs: &mut ValidationErrors) -> Option<String> {
    let v = v.map(str::trim).filter(|v| !v.is_empty())?;
    if v.chars().count() > max {
        errs.push(FieldError::new(
            field,
            Rule::TooLong,
            format!("{field} must be at most {max} characters"),
        ));
    }
    Some(v.to_string())
}

impl Warranty<'_> {
    /// Makes a campaign with its VINs (from CSV, else by the rule over the brand's vehicles the
    /// owner reaches: all of the brand's for a headquarters, the market's for a market entity).
    pub async fn create_campaign(
        self,
        scope: &Scope,
        input: &RecallCampaignInput,
        now: OffsetDateTime,
    ) -> Result<RecallCampaign, StoreError> {
        scope.require(&input.organisation_id, Permission::WarrantyReview)?;
        type Owner = (String, Option<String>, String);
        let owner: Option<Owner> =
            sqlx::query_as("SELECT kind, market_id, brand_id FROM organisations WHERE id = $1")
                .bind(&input.organisation_id)
                .fetch_optional(&self.store.pool)
                .await?;
        let Some((kind, market, brand)) = owner else {
            return Err(StoreError::NotFound);
        };
        let mut errs = ValidationErrors::default();
        if !matches!(kind.as_str(), "brand-hq" | "market-entity") {
            errs.push(
                FieldError::new(
                    "organisation_id",
                    Rule::NotAllowed,
                    "a campaign is run by a brand's headquarters or a market entity",
                )
                .hint("cp-err-owner"),
            );
        }
        let code = input.code.trim().to_uppercase();
        if code.is_empty() || code.len() > 20 {
            errs.push(FieldError::new(
                "code",
                Rule::Required,
                "code is 1 to 20 characters",
            ));
        }
        let ckind = errs.take(CampaignKind::parse("kind", &input.kind));
        let remedy = errs.take(Remedy::parse("remedy", &input.remedy));
        let mut titles = LocalNames::new();
        for (lang, t) in [
            ("nb", &input.title_nb),
            ("en", &input.title_en),
            ("pt", &input.title_pt),
        ] {
            let t = t.trim();
            if t.is_empty() || t.chars().count() > 120 {
                errs.push(
                    FieldError::new(
                        format!("title_{lang}"),
                        Rule::Required,
                        "a title of 1 to 120 characters in each language",
                    )
                    .hint("cp-err-title"),
                );
            }
            titles.insert(lang.to_string(), t.to_string());
        }
        let operation = opt(input.operation.as_deref(), "operation", 40, &mut errs);
        let part = opt(input.part.as_deref(), "part", 40, &mut errs);
        let done_version = opt(input.done_version.as_deref(), "done_version", 40, &mut errs);
        if remedy == Some(Remedy::Ota) && done_version.is_none() {
            errs.push(
                FieldError::new(
                    "done_version",
                    Rule::Required,
                    "an over-the-air remedy names the software version that counts as done",
                )
                .hint("cp-err-version"),
            );
        }
        if remedy == Some(Remedy::Workshop) && operation.is_none() {
            errs.push(
                FieldError::new(
                    "operation",
                    Rule::Required,
                    "a workshop remedy names its labour operation",
                )
                .hint("cp-err-operation"),
            );
        }
        let csv = input.vins_csv.as_deref().filter(|c| !c.trim().is_empty());
        let vins = match csv {
            Some(text) => match rules::vins_from_csv(text) {
                Ok(v) => v,
                Err(e) => {
                    errs.0.extend(e.0);
                    Vec::new()
                }
            },
            None => {
                let rule = Selection {
                    model: input
                        .model
                        .as_deref()
                        .map(str::trim)
                        .filter(|m| !m.is_empty())
                        .map(str::to_string),
                    year_from: input.year_from,
                    year_to: input.year_to,
                    serial_from: input.serial_from,
                    serial_to: input.serial_to,
                };
                type Candidate = (String, Option<String>, Option<i64>, Option<String>);
                let rows: Vec<Candidate> = sqlx::query_as(
                    "SELECT v.vin, v.model, v.model_year, o.market_id FROM vehicles v JOIN organisations o ON o.id = v.organisation_id \
                     WHERE v.brand_id = $1",
                )
                .bind(&brand)
                .fetch_all(&self.store.pool)
                .await?;
                rows.into_iter()
                    .filter(|(_, _, _, m)| kind == "brand-hq" || *m == market)
                    .filter(|(vin, model, year, _)| {
                        rule.matches(
                            vin,
                            model.as_deref(),
                            year.and_then(|y| i32::try_from(y).ok()),
                        )
                    })
                    .map(|(vin, ..)| vin)
                    .collect()
            }
        };
        if errs.is_empty() && vins.is_empty() {
            errs.push(
                FieldError::new("vins_csv", Rule::Required, "the campaign affects no VIN")
                    .hint("cp-err-no-vins"),
            );
        }
        errs.into_result()?;
        let (Some(ckind), Some(remedy)) = (ckind, remedy) else {
            return Err(StoreError::Internal("checked above".into()));
        };
        let id = new_id();
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "INSERT INTO recall_campaigns (id, organisation_id, brand_id, code, kind, titles, remedy, operation, part, done_version, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (brand_id, code) DO NOTHING",
        )
        .bind(&id)
        .bind(&input.organisation_id)
        .bind(&brand)
        .bind(&code)
        .bind(ckind.as_str())
        .bind(serde_json::to_string(&titles).map_err(|e| StoreError::Internal(e.to_string()))?)
        .bind(remedy.as_str())
        .bind(&operation)
        .bind(&part)
        .bind(&done_version)
        .bind(scope.user_id())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ValidationErrors::from(
                FieldError::new(
                    "code",
                    Rule::Unique,
                    "the brand has a campaign with this code",
                )
                .hint("cp-err-code-taken"),
            )
            .into());
        }
        for vin in &vins {
            sqlx::query(
                "INSERT INTO recall_vehicles (campaign_id, vin, vehicle_id) VALUES ($1, $2, (SELECT id FROM vehicles WHERE vin = $2))",
            )
            .bind(&id)
            .bind(vin)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.campaign(scope, &id).await
    }

    fn campaign_view(row: CampaignRow) -> Result<RecallCampaign, StoreError> {
        let (id, code, org, kind, titles, remedy, operation, part, done_version, at) = row;
        Ok(RecallCampaign {
            kind: decode("recall_campaigns", "kind", &kind, CampaignKind::parse)?,
            title: serde_json::from_str(&titles).map_err(|e| {
                StoreError::Internal(format!("recall_campaigns.titles does not read: {e}"))
            })?,
            remedy: decode("recall_campaigns", "remedy", &remedy, Remedy::parse)?,
            organisation: Ref {
                id: org,
                label: String::new(),
            },
            affected: 0,
            done: 0,
            completion_pct: 0,
            points: Vec::new(),
            may_record: false,
            created_at: from_micros(at),
            id,
            code,
            operation,
            part,
            done_version,
        })
    }

    /// The campaigns the caller sees (run by their organisations or those above), newest first,
    /// with their completion.
    pub async fn campaigns(self, scope: &Scope) -> Result<Vec<RecallCampaign>, StoreError> {
        scope.require_somewhere(Permission::WarrantyRead)?;
        let owners = scope.record_owners_with(Permission::WarrantyRead);
        let sql = format!(
            "SELECT {COLUMNS} FROM recall_campaigns c WHERE c.organisation_id IN ({}) ORDER BY c.created_at DESC LIMIT 200",
            placeholders(1, owners.len())
        );
        let mut q = sqlx::query_as::<_, CampaignRow>(&sql);
        for o in &owners {
            q = q.bind(o);
        }
        let mut out = Vec::new();
        for row in q.fetch_all(&self.store.pool).await? {
            let mut c = Self::campaign_view(row)?;
            let (affected, done): (i64, Option<i64>) = sqlx::query_as(
                "SELECT COUNT(*), CAST(SUM(CASE WHEN done_at IS NULL THEN 0 ELSE 1 END) AS BIGINT) FROM recall_vehicles WHERE campaign_id = $1",
            )
            .bind(&c.id)
            .fetch_one(&self.store.pool)
            .await?;
            c.affected = affected;
            c.done = done.unwrap_or(0);
            c.completion_pct = rules::completion_pct(
                usize::try_from(c.done).unwrap_or(0),
                usize::try_from(affected).unwrap_or(0),
            );
            c.organisation.label = self.org_name(&c.organisation.id).await?;
            out.push(c);
        }
        Ok(out)
    }

    async fn org_name(self, id: &str) -> Result<String, StoreError> {
        Ok(
            sqlx::query_scalar::<_, String>("SELECT name FROM organisations WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.store.pool)
                .await?
                .unwrap_or_default(),
        )
    }

    async fn campaign_row(self, scope: &Scope, id: &str) -> Result<CampaignRow, StoreError> {
        let row: Option<CampaignRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM recall_campaigns c WHERE c.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await?;
        match row {
            // Those who see warranty matters below the owner, and the workshops that do the work.
            Some(r)
                if scope.permits_record(&r.2, Permission::WarrantyRead)
                    || scope.permits_record(&r.2, Permission::WorkshopWrite) =>
            {
                Ok(r)
            }
            _ => Err(StoreError::NotFound),
        }
    }

    /// One campaign with its completion per service point: VINs done there, and those open whose
    /// latest repair order was there (the caller's own service points, or all below the owner for
    /// those above).
    pub async fn campaign(self, scope: &Scope, id: &str) -> Result<RecallCampaign, StoreError> {
        let row = self.campaign_row(scope, id).await?;
        let mut c = Self::campaign_view(row)?;
        c.organisation.label = self.org_name(&c.organisation.id).await?;
        let vehicles = self.campaign_vehicles_of(&c.id).await?;
        c.affected = i64::try_from(vehicles.len()).unwrap_or(0);
        c.done =
            i64::try_from(vehicles.iter().filter(|v| v.done_at.is_some()).count()).unwrap_or(0);
        c.completion_pct =
            rules::completion_pct(usize::try_from(c.done).unwrap_or(0), vehicles.len());
        let mut points: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for v in &vehicles {
            match (&v.done_at_point, &v.vehicle_id) {
                (Some(p), _) => points.entry(p.id.clone()).or_default().0 += 1,
                (None, Some(vehicle)) => {
                    let last: Option<String> = sqlx::query_scalar(
                        "SELECT organisation_id FROM repair_orders WHERE vehicle_id = $1 ORDER BY created_at DESC",
                    )
                    .bind(vehicle)
                    .fetch_optional(&self.store.pool)
                    .await?;
                    if let Some(org) = last {
                        points.entry(org).or_default().1 += 1;
                    }
                }
                (None, None) => {}
            }
        }
        for (org, (done, open)) in points {
            if !scope.permits(&org, Permission::WarrantyRead) {
                continue;
            }
            c.points.push(CampaignPoint {
                organisation: Ref {
                    label: self.org_name(&org).await?,
                    id: org,
                },
                done,
                open,
                completion_pct: rules::completion_pct(
                    usize::try_from(done).unwrap_or(0),
                    usize::try_from(done + open).unwrap_or(0),
                ),
            });
        }
        c.may_record = scope.permits(&c.organisation.id, Permission::WarrantyReview)
            || !scope.orgs_with(Permission::WorkshopWrite).is_empty();
        Ok(c)
    }

    async fn campaign_vehicles_of(self, id: &str) -> Result<Vec<CampaignVehicle>, StoreError> {
        type Row = (
            String,
            Option<String>,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT r.vin, r.vehicle_id, r.done_at, r.done_how, r.done_org_id, o.name, r.software_version FROM recall_vehicles r \
             LEFT JOIN organisations o ON o.id = r.done_org_id WHERE r.campaign_id = $1 ORDER BY r.vin",
        )
        .bind(id)
        .fetch_all(&self.store.pool)
        .await?;
        rows.into_iter()
            .map(|(vin, vehicle_id, at, how, org, name, version)| {
                Ok(CampaignVehicle {
                    vin,
                    vehicle_id,
                    done_at: at.map(from_micros),
                    done_how: how
                        .map(|h| decode("recall_vehicles", "done_how", &h, DoneHow::parse))
                        .transpose()?,
                    done_at_point: org.map(|id| Ref {
                        id,
                        label: name.unwrap_or_default(),
                    }),
                    software_version: version,
                })
            })
            .collect()
    }

    /// A campaign's VINs and how each was done.
    pub async fn campaign_vehicles(
        self,
        scope: &Scope,
        id: &str,
    ) -> Result<Vec<CampaignVehicle>, StoreError> {
        self.campaign_row(scope, id).await?;
        self.campaign_vehicles_of(id).await
    }

    /// Records a VIN of a campaign done: in a workshop (by its people, at their service point) or
    /// over the air (the reported software version at or past the campaign's; by the owner or a
    /// workshop that read it from the car). Done once.
    pub async fn campaign_done(
        self,
        scope: &Scope,
        id: &str,
        input: &CampaignDoneInput,
        now: OffsetDateTime,
    ) -> Result<RecallCampaign, StoreError> {
        let row = self.campaign_row(scope, id).await?;
        let owner = row.2.clone();
        let done_version = row.8.clone();
        let mut errs = ValidationErrors::default();
        let how = errs.take(DoneHow::parse("how", &input.how));
        let vin = input.vin.trim().to_uppercase();
        let point = input.organisation_id.as_deref().filter(|o| !o.is_empty());
        match (how, point) {
            (Some(DoneHow::Workshop), Some(p)) => {
                scope.require(p, Permission::WorkshopWrite)?;
                let kind: Option<String> =
                    sqlx::query_scalar("SELECT kind FROM organisations WHERE id = $1")
                        .bind(p)
                        .fetch_optional(&self.store.pool)
                        .await?;
                if kind.as_deref() != Some(OrgKind::ServicePoint.as_str()) {
                    errs.push(FieldError::new(
                        "organisation_id",
                        Rule::NotAllowed,
                        "a workshop remedy is done at a service point",
                    ));
                }
            }
            (Some(DoneHow::Workshop), None) => errs.push(
                FieldError::new(
                    "organisation_id",
                    Rule::Required,
                    "say which service point did it",
                )
                .hint("cp-err-point"),
            ),
            (Some(DoneHow::Ota), p) => {
                match p {
                    Some(p) => scope.require(p, Permission::WorkshopWrite)?,
                    None => scope.require(&owner, Permission::WarrantyReview)?,
                }
                let reported = input
                    .software_version
                    .as_deref()
                    .map(str::trim)
                    .filter(|v| !v.is_empty());
                match (reported, done_version.as_deref()) {
                    (None, _) => errs.push(
                        FieldError::new(
                            "software_version",
                            Rule::Required,
                            "the software version the car reports",
                        )
                        .hint("cp-err-reported"),
                    ),
                    (Some(r), Some(d)) if !rules::version_done(r, d) => errs.push(
                        FieldError::new(
                            "software_version",
                            Rule::NotAllowed,
                            format!("{r} is before {d}, the version that remedies the campaign"),
                        )
                        .hint("cp-err-too-old"),
                    ),
                    _ => {}
                }
            }
            (None, _) => {}
        }
        errs.into_result()?;
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "UPDATE recall_vehicles SET done_at = $1, done_how = $2, done_org_id = $3, software_version = $4, done_by = $5 \
             WHERE campaign_id = $6 AND vin = $7 AND done_at IS NULL",
        )
        .bind(micros(now))
        .bind(how.map(DoneHow::as_str))
        .bind(point)
        .bind(input.software_version.as_deref().map(str::trim))
        .bind(scope.user_id())
        .bind(id)
        .bind(&vin)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ValidationErrors::from(
                FieldError::new(
                    "vin",
                    Rule::NotAllowed,
                    "the VIN is not open in this campaign (not affected, or done already)",
                )
                .hint("cp-err-not-open"),
            )
            .into());
        }
        tx.commit().await?;
        self.campaign(scope, id).await
    }

    /// The open campaigns of a vehicle the caller sees.
    pub async fn open_campaigns(
        self,
        scope: &Scope,
        vehicle_id: &str,
    ) -> Result<Vec<OpenCampaign>, StoreError> {
        let v = self.store.crm().get_vehicle(scope, vehicle_id).await?;
        let rows: Vec<CampaignRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM recall_campaigns c JOIN recall_vehicles r ON r.campaign_id = c.id \
             WHERE r.vin = $1 AND r.done_at IS NULL ORDER BY c.created_at"
        ))
        .bind(&v.vin)
        .fetch_all(&self.store.pool)
        .await?;
        let mut out = Vec::new();
        for row in rows {
            if !scope.permits_record(&row.2, Permission::WarrantyRead)
                && !scope.permits_record(&row.2, Permission::CrmRead)
            {
                continue;
            }
            let c = Self::campaign_view(row)?;
            out.push(OpenCampaign {
                id: c.id,
                code: c.code,
                kind: c.kind,
                title: c.title,
                remedy: c.remedy,
                operation: c.operation,
            });
        }
        Ok(out)
    }

    /// Tells the owners of the campaign's open VINs (the vehicles in the CRM with a current
    /// owner) through the outbox, in their language, once per owner and VIN; answers how many
    /// customers were told this time. Recalls are service messages: consent to offers is not
    /// needed, a declined service channel is respected.
    pub async fn notify_campaign(
        self,
        scope: &Scope,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let row = self.campaign_row(scope, id).await?;
        // Seen by the workshops below; told to owners only by those who run it.
        if !scope.permits(&row.2, Permission::WarrantyReview) {
            return Err(StoreError::Forbidden(format!(
                "your roles do not allow {}",
                Permission::WarrantyReview.describe()
            )));
        }
        let c = Self::campaign_view(row)?;
        let mut tx = self.store.begin().await?;
        type Open = (String, String, String, Option<String>);
        let open: Vec<Open> = sqlx::query_as(
            "SELECT r.vin, v.id, v.organisation_id, (SELECT o.customer_id FROM vehicle_ownerships o WHERE o.vehicle_id = v.id \
             AND o.to_date IS NULL ORDER BY o.from_date DESC LIMIT 1) FROM recall_vehicles r JOIN vehicles v ON v.id = r.vehicle_id \
             WHERE r.campaign_id = $1 AND r.done_at IS NULL ORDER BY r.vin",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let mut told = 0;
        for (vin, vehicle, org, customer) in open {
            let Some(customer) = customer else {
                continue;
            };
            let dedupe = format!("recall:{id}:{customer}:{vin}");
            let before: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE $1")
                    .bind(format!("{dedupe}%"))
                    .fetch_one(&mut *tx)
                    .await?;
            if before > 0 {
                continue;
            }
            let label = crate::workshop::vehicle_label(&mut tx, Some(&vehicle)).await?;
            let to = crate::reminders::addressee(&mut tx, &org, &customer, &label).await?;
            let lang = crate::reminders::customer_language(&mut tx, &customer).await?;
            let title = c
                .title
                .get(lang.code())
                .or_else(|| c.title.get("en"))
                .cloned()
                .unwrap_or_default();
            crate::notify::enqueue(
                &mut tx,
                self.store.public_url(),
                &crate::notify::Notice {
                    event: aftersales_domain::notify::Event::Recall,
                    ro: None,
                    case_id: None,
                    dedupe,
                    extra: Vec::new(),
                    place: None,
                    message: None,
                    calendar: None,
                    delay: time::Duration::ZERO,
                    item: Some(format!("{} ({})", title, c.code)),
                    due: None,
                },
                &to,
                now,
            )
            .await?;
            told += 1;
        }
        tx.commit().await?;
        Ok(told)
    }
}
