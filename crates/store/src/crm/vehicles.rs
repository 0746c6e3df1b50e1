//! Vehicles by VIN (decoded from the WMI table), ownership transfers and odometer readings.

use super::*;

impl Crm<'_> {
    /// What the WMI table knows about a VIN, after checking its structure.
    pub async fn decode_vin(self, input: &str, latest_year: i32) -> Result<VinDecode, StoreError> {
        let (vin, check) = self.parse_vin("vin", input).await?;
        self.decode_parsed(&vin, Some(check), latest_year).await
    }
    pub(crate) async fn wmi_enforces(self, wmi: &str) -> Result<bool, StoreError> {
        let flag: Option<i64> =
            sqlx::query_scalar("SELECT check_digit_required FROM vin_wmis WHERE wmi = $1")
                .bind(wmi)
                .fetch_optional(&self.store.pool)
                .await?;
        // An unknown manufacturer may not use the check digit: a mismatch is then only a warning.
        Ok(flag.is_some_and(|f| f != 0))
    }
    pub(crate) async fn parse_vin(
        self,
        field: &str,
        input: &str,
    ) -> Result<(Vin, CheckDigit), StoreError> {
        let normalised: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let wmi: String = normalised.chars().take(3).collect();
        let enforce = self.wmi_enforces(&wmi).await?;
        Vin::parse(field, input, |_| enforce).map_err(|e| ValidationErrors::from(e).into())
    }
    pub(crate) async fn decode_parsed(
        self,
        vin: &Vin,
        check: Option<CheckDigit>,
        latest_year: i32,
    ) -> Result<VinDecode, StoreError> {
        let wmi: Option<(String, Option<String>, String)> = sqlx::query_as(
            "SELECT w.manufacturer, b.name, w.brand_code FROM vin_wmis w LEFT JOIN brands b ON b.code = w.brand_code WHERE w.wmi = $1",
        )
        .bind(vin.wmi())
        .fetch_optional(&self.store.pool)
        .await?;
        let mut out = VinDecode {
            wmi: vin.wmi().to_string(),
            model_year: vin.model_year(latest_year),
            check_digit: check,
            ..Default::default()
        };
        if let Some((manufacturer, brand, brand_code)) = wmi {
            let models: Vec<(String, String)> =
                sqlx::query_as("SELECT vds_prefix, model FROM vin_models WHERE wmi = $1")
                    .bind(vin.wmi())
                    .fetch_all(&self.store.pool)
                    .await?;
            let vds = &vin.as_str()[3..8];
            out.model = models
                .into_iter()
                .filter(|(p, _)| vds.starts_with(p.as_str()))
                .max_by_key(|(p, _)| p.len())
                .map(|(_, m)| m);
            out.plant = sqlx::query_scalar(
                "SELECT plant FROM vin_plants WHERE brand_code = $1 AND code = $2",
            )
            .bind(&brand_code)
            .bind(vin.plant_code().to_string())
            .fetch_optional(&self.store.pool)
            .await?;
            out.manufacturer = Some(manufacturer);
            out.brand = brand;
        }
        Ok(out)
    }
    pub(crate) fn vehicle_terms(
        vin: &str,
        registration: Option<&str>,
        model: Option<&str>,
        owner: Option<&str>,
    ) -> String {
        let mut t = vec![vin.to_string(), vin[11..].to_string()];
        if let Some(r) = registration {
            // "EL12345" is also found as typed from the plate, "EL 123".
            t.push(r.to_string());
            t.extend(runs(r));
        }
        t.extend(model.map(str::to_string));
        t.extend(owner.map(str::to_string));
        normalise_terms(&t.join(" "))
    }
    pub(crate) async fn vehicle_from_row(self, row: VehicleRow) -> Result<Vehicle, StoreError> {
        type OwnerRow = (String, String, String, Option<String>);
        let owners: Vec<OwnerRow> = sqlx::query_as(
            "SELECT o.customer_id, c.name, o.from_date, o.to_date FROM vehicle_ownerships o JOIN customers c ON c.id = o.customer_id \
             WHERE o.vehicle_id = $1 ORDER BY o.from_date DESC, o.id DESC",
        )
        .bind(&row.id)
        .fetch_all(&self.store.pool)
        .await?;
        type OdoRow = (String, i64, i64, String, Option<String>);
        let odo: Vec<OdoRow> = sqlx::query_as(
            "SELECT id, km, at, source, reason FROM odometer_readings WHERE vehicle_id = $1 ORDER BY at DESC, id DESC",
        )
        .bind(&row.id)
        .fetch_all(&self.store.pool)
        .await?;
        Ok(Vehicle {
            check_digit: if row.check_digit == "valid" {
                CheckDigit::Valid
            } else {
                CheckDigit::Mismatch
            },
            id: row.id,
            organisation_id: row.organisation_id,
            vin: row.vin,
            brand: row.brand,
            model: row.model,
            model_year: row.model_year,
            plant: row.plant,
            registration: row.registration,
            delivery_date: row.delivery_date,
            warranty_version: row.warranty_version,
            owners: owners
                .into_iter()
                .map(|(customer_id, name, from_date, to_date)| Owner {
                    customer_id,
                    name,
                    from_date,
                    to_date,
                })
                .collect(),
            odometer: odo
                .into_iter()
                .map(|(id, km, at, source, reason)| OdometerReading {
                    id,
                    km,
                    at: from_micros(at),
                    source,
                    reason,
                })
                .collect(),
            created_at: from_micros(row.created_at),
            version: row.version,
        })
    }
    /// Registers a vehicle by VIN (validated and decoded), optionally with its current owner.
    pub async fn create_vehicle(
        self,
        scope: &Scope,
        owner_org: Option<&str>,
        input: &VehicleInput,
        now: OffsetDateTime,
    ) -> Result<Vehicle, StoreError> {
        let mut errs = ValidationErrors::default();
        let vin = match self.parse_vin("vin", &input.vin).await {
            Ok(v) => Some(v),
            Err(StoreError::Invalid(e)) => {
                errs.0.extend(e.0);
                None
            }
            Err(e) => return Err(e),
        };
        let registration =
            opt(&input.registration).and_then(|r| errs.take(registration("registration", r)));
        // A car is delivered in the past (or today), not in 3000 nor before electric cars were sold.
        let delivery = opt(&input.delivery_date)
            .and_then(|d| errs.take(parse_date("delivery_date", d)))
            .and_then(|d| {
                errs.take(aftersales_domain::validation::date_between(
                    "delivery_date",
                    d,
                    time::macros::date!(1990 - 01 - 01),
                    now.date() + time::Duration::days(1),
                ))
            });
        let warranty = opt(&input.warranty_version)
            .and_then(|w| errs.take(text("warranty_version", w, 1, 60)));
        let owner_customer = match opt(&input.owner_customer_id) {
            Some(id) => match self.get_customer(scope, id).await {
                Ok(c) => Some(c),
                Err(StoreError::NotFound) => {
                    errs.push(FieldError::new(
                        "owner_customer_id",
                        Rule::Unknown,
                        "owner_customer_id names no customer you can see",
                    ));
                    None
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        errs.clone().into_result()?;
        let Some((vin, check)) = vin else {
            return Err(errs.into());
        };
        let owner = self.owner_for_new(scope, owner_org).await?;
        let decoded = self
            .decode_parsed(&vin, Some(check), now.year() + 1)
            .await?;
        let brand_id: Option<String> = sqlx::query_scalar(
            "SELECT b.id FROM vin_wmis w JOIN brands b ON b.code = w.brand_code WHERE w.wmi = $1",
        )
        .bind(vin.wmi())
        .fetch_optional(&self.store.pool)
        .await?;
        // The warranty terms are fixed on the car at delivery: given, or those its model and
        // delivery date pick from the brand's versions.
        if let (Some(w), Some(brand)) = (&warranty, &brand_id) {
            let versions = self.store.warranty().terms_at(brand, &owner).await?;
            crate::warranty::check_version(w, &versions).map_err(ValidationErrors::from)?;
        }
        let warranty = match (warranty, &brand_id, delivery) {
            (Some(w), _, _) => Some(w),
            (None, Some(brand), Some(day)) => {
                self.store
                    .warranty()
                    .terms_code_for(brand, &owner, decoded.model.as_deref(), day)
                    .await?
            }
            _ => None,
        };
        let mut tx = self.store.begin().await?;
        let record = VehicleRecord {
            owner_org: &owner,
            vin: &vin,
            check,
            decoded: &decoded,
            brand_id,
            registration,
            delivery,
            warranty,
            owner_customer: owner_customer
                .as_ref()
                .map(|c| (c.id.as_str(), c.name.as_str())),
            actor: Some(scope.user_id()),
        };
        let id = insert_vehicle(&mut tx, self.store.engine(), &record, now).await?;
        tx.commit().await?;
        self.get_vehicle(scope, &id).await
    }
    pub async fn get_vehicle(self, scope: &Scope, id: &str) -> Result<Vehicle, StoreError> {
        let sql = format!("{VEHICLE_SELECT} WHERE v.id = $1");
        let row = sqlx::query_as::<_, VehicleRow>(&sql)
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        if !scope.permits_record(&row.organisation_id, Permission::CrmRead) {
            return Err(StoreError::NotFound);
        }
        self.vehicle_from_row(row).await
    }
    /// Vehicles a customer owns now or owned before, current ones first.
    pub async fn vehicles_of(
        self,
        scope: &Scope,
        customer_id: &str,
    ) -> Result<Vec<Vehicle>, StoreError> {
        self.get_customer(scope, customer_id).await?;
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT vehicle_id FROM vehicle_ownerships WHERE customer_id = $1 GROUP BY vehicle_id ORDER BY MIN(CASE WHEN to_date IS NULL THEN 0 ELSE 1 END), MAX(from_date) DESC",
        )
        .bind(customer_id)
        .fetch_all(&self.store.pool)
        .await?;
        let mut out = Vec::new();
        for (id,) in ids {
            match self.get_vehicle(scope, &id).await {
                Ok(v) => out.push(v),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
    /// Hands the vehicle to a new owner from `date`; the previous ownership ends the day before.
    pub async fn transfer_vehicle(
        self,
        scope: &Scope,
        vehicle_id: &str,
        customer_id: &str,
        date: &str,
        now: OffsetDateTime,
    ) -> Result<Vehicle, StoreError> {
        let v = self.get_vehicle(scope, vehicle_id).await?;
        scope.require_record(&v.organisation_id, Permission::CrmWrite)?;
        let date = parse_date("from_date", date).map_err(ValidationErrors::from)?;
        let customer = self
            .get_customer(scope, customer_id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ValidationErrors::single(
                    "customer_id",
                    Rule::Unknown,
                    "customer_id names no customer you can see",
                )
                .into(),
                e => e,
            })?;
        if let Some(current) = v.owners.iter().find(|o| o.to_date.is_none()) {
            if current.customer_id == customer.id {
                return Err(ValidationErrors::single(
                    "customer_id",
                    Rule::NotAllowed,
                    "this customer owns the vehicle already",
                )
                .into());
            }
            if date.to_string() <= current.from_date {
                return Err(ValidationErrors::single(
                    "from_date",
                    Rule::NotAllowed,
                    format!(
                        "from_date must be after the current owner's start, {}",
                        current.from_date
                    ),
                )
                .into());
            }
        }
        let end = date.previous_day().unwrap_or(date).to_string();
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "UPDATE vehicle_ownerships SET to_date = $1 WHERE vehicle_id = $2 AND to_date IS NULL",
        )
        .bind(&end)
        .bind(vehicle_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO vehicle_ownerships (id, vehicle_id, customer_id, from_date, to_date) VALUES ($1, $2, $3, $4, NULL)")
            .bind(new_id())
            .bind(vehicle_id)
            .bind(&customer.id)
            .bind(date.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE vehicles SET version = version + 1 WHERE id = $1")
            .bind(vehicle_id)
            .execute(&mut *tx)
            .await?;
        let terms = Self::vehicle_terms(
            &v.vin,
            v.registration.as_deref(),
            v.model.as_deref(),
            Some(&customer.name),
        );
        index(
            &mut tx,
            self.store.engine(),
            "vehicle",
            vehicle_id,
            &v.organisation_id,
            &terms,
        )
        .await?;
        add_entry(
            &mut tx,
            NewEntry {
                organisation_id: &v.organisation_id,
                customer_id: Some(&customer.id),
                vehicle_id: Some(vehicle_id),
                kind: "ownership",
                summary: String::new(),
                params: vec![("vin", v.vin.clone()), ("from", date.to_string())],
                body: None,
                actor: Some(scope.user_id()),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.get_vehicle(scope, vehicle_id).await
    }
    /// Records an odometer reading. A reading below the latest one is refused unless a reason
    /// (instrument cluster replaced, a typing error corrected, …) is recorded with it.
    pub async fn record_odometer(
        self,
        scope: &Scope,
        vehicle_id: &str,
        km: i64,
        source: &str,
        reason: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Vehicle, StoreError> {
        let v = self.get_vehicle(scope, vehicle_id).await?;
        scope.require_record(&v.organisation_id, Permission::CrmWrite)?;
        let mut errs = ValidationErrors::default();
        if !(0..=2_000_000).contains(&km) {
            errs.push(FieldError::new(
                "km",
                Rule::Format,
                "km must lie between 0 and 2 000 000",
            ));
        }
        let source = errs.take(text("source", source, 2, 100));
        let reason = reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .and_then(|r| errs.take(text_block("reason", r, 5, 500)));
        if let Some(last) = v.odometer.first() {
            if km < last.km && reason.is_none() && errs.is_empty() {
                errs.push(FieldError::new(
                    "reason",
                    Rule::Required,
                    format!("{km} km is below the last reading ({} km): record why, or correct the number", last.km),
                ).hint("err-km-below-last"));
            }
        }
        errs.clone().into_result()?;
        let mut tx = self.store.begin().await?;
        sqlx::query("INSERT INTO odometer_readings (id, vehicle_id, at, km, source, reason, recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(new_id())
            .bind(vehicle_id)
            .bind(micros(now))
            .bind(km)
            .bind(source.unwrap_or_default())
            .bind(reason.clone())
            .bind(scope.user_id())
            .execute(&mut *tx)
            .await?;
        add_entry(
            &mut tx,
            NewEntry {
                organisation_id: &v.organisation_id,
                customer_id: v
                    .owners
                    .iter()
                    .find(|o| o.to_date.is_none())
                    .map(|o| o.customer_id.as_str()),
                vehicle_id: Some(vehicle_id),
                kind: "odometer",
                summary: String::new(),
                params: vec![("km", km.to_string())],
                body: reason,
                actor: Some(scope.user_id()),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.get_vehicle(scope, vehicle_id).await
    }
}

/// A validated vehicle, ready to be written.
pub(crate) struct VehicleRecord<'a> {
    pub owner_org: &'a str,
    pub vin: &'a Vin,
    pub check: CheckDigit,
    pub decoded: &'a VinDecode,
    pub brand_id: Option<String>,
    pub registration: Option<String>,
    pub delivery: Option<Date>,
    pub warranty: Option<String>,
    /// (customer id, name) of the current owner.
    pub owner_customer: Option<(&'a str, &'a str)>,
    pub actor: Option<&'a str>,
}

/// Writes a vehicle, its first ownership, its search row and its timeline entry.
pub(crate) async fn insert_vehicle(
    conn: &mut sqlx::AnyConnection,
    engine: Engine,
    r: &VehicleRecord<'_>,
    now: OffsetDateTime,
) -> Result<String, StoreError> {
    let id = new_id();
    let inserted = sqlx::query(
        "INSERT INTO vehicles (id, organisation_id, vin, brand_id, model, model_year, plant, check_digit, registration, delivery_date, \
         warranty_version, created_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1)",
    )
    .bind(&id)
    .bind(r.owner_org)
    .bind(r.vin.as_str())
    .bind(r.brand_id.clone())
    .bind(r.decoded.model.clone())
    .bind(r.decoded.model_year.map(i64::from))
    .bind(r.decoded.plant.clone())
    .bind(if r.check == CheckDigit::Valid { "valid" } else { "mismatch" })
    .bind(r.registration.clone())
    .bind(r.delivery.map(|d| d.to_string()))
    .bind(r.warranty.clone())
    .bind(micros(now))
    .execute(&mut *conn)
    .await;
    if let Err(e) = inserted {
        return Err(if StoreError::is_unique_violation(&e) {
            ValidationErrors::single(
                "vin",
                Rule::Unique,
                "a vehicle with this VIN is registered already",
            )
            .into()
        } else {
            e.into()
        });
    }
    if let Some((customer_id, _)) = r.owner_customer {
        let from = r
            .delivery
            .map(|d| d.to_string())
            .unwrap_or_else(|| now.date().to_string());
        sqlx::query("INSERT INTO vehicle_ownerships (id, vehicle_id, customer_id, from_date, to_date) VALUES ($1, $2, $3, $4, NULL)")
            .bind(new_id())
            .bind(&id)
            .bind(customer_id)
            .bind(from)
            .execute(&mut *conn)
            .await?;
    }
    let terms = Crm::vehicle_terms(
        r.vin.as_str(),
        r.registration.as_deref(),
        r.decoded.model.as_deref(),
        r.owner_customer.map(|c| c.1),
    );
    index(conn, engine, "vehicle", &id, r.owner_org, &terms).await?;
    let mut params = vec![("vin", r.vin.as_str().to_string())];
    if let Some(model) = &r.decoded.model {
        params.push(("model", model.clone()));
    }
    if r.check == CheckDigit::Mismatch {
        params.push(("check", "mismatch".to_string()));
    }
    add_entry(
        conn,
        NewEntry {
            organisation_id: r.owner_org,
            customer_id: r.owner_customer.map(|c| c.0),
            vehicle_id: Some(&id),
            kind: "vehicle-added",
            summary: String::new(),
            params,
            body: None,
            actor: r.actor,
        },
        now,
    )
    .await?;
    Ok(id)
}
