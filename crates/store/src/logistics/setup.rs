//! What a service point's plan runs on: the depot on the map and the travel model, loaner cars,
//! wash bays, valet drivers' shifts.

use aftersales_domain::crm::Vin;
use aftersales_domain::logistics::parse_place;
use aftersales_domain::org::Permission;
use aftersales_domain::validation::{text, FieldError, Rule};
use aftersales_domain::ValidationErrors;
use time::{OffsetDateTime, Time};

use super::*;
use crate::crm::opt;
use crate::{micros, new_id};

pub(crate) fn parse_hm(field: &str, s: &str) -> Result<Time, FieldError> {
    let bad = || {
        FieldError::new(
            field,
            Rule::Format,
            format!("{field} must be a time like 08:00"),
        )
    };
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u8, u8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    Time::from_hms(h, m, 0).map_err(|_| bad())
}

pub(crate) fn hm(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

fn within(errs: &mut ValidationErrors, field: &str, v: i64, lo: i64, hi: i64) {
    if !(lo..=hi).contains(&v) {
        errs.push(FieldError::new(
            field,
            Rule::NotAllowed,
            format!("{field} must lie between {lo} and {hi}"),
        ));
    }
}

impl Logistics<'_> {
    pub async fn settings(
        self,
        scope: &Scope,
        org: &str,
    ) -> Result<Option<LogisticsSettings>, StoreError> {
        scope.require(org, Permission::LogisticsRead)?;
        self.settings_of(org).await
    }

    pub(crate) async fn settings_of(
        self,
        org: &str,
    ) -> Result<Option<LogisticsSettings>, StoreError> {
        let row: Option<(i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT latitude_e6, longitude_e6, road_factor_pct, unassisted_kmh, unassisted_max_km, handover_minutes \
             FROM logistics_settings WHERE organisation_id = $1",
        )
        .bind(org)
        .fetch_optional(&self.store.pool)
        .await?;
        Ok(row.map(|r| LogisticsSettings {
            organisation_id: org.to_string(),
            latitude: r.0 as f64 / 1e6,
            longitude: r.1 as f64 / 1e6,
            road_factor_pct: r.2,
            unassisted_kmh: r.3,
            unassisted_max_km: r.4,
            handover_minutes: r.5,
        }))
    }

    /// Sets the depot and travel model of a service point (one statement: new or changed).
    pub async fn set_settings(
        self,
        scope: &Scope,
        org: &str,
        input: &LogisticsSettingsInput,
        now: OffsetDateTime,
    ) -> Result<LogisticsSettings, StoreError> {
        scope.require(org, Permission::LogisticsManage)?;
        let mut errs = ValidationErrors::default();
        let place = errs.take(parse_place(&input.latitude, &input.longitude));
        let road = input.road_factor_pct.unwrap_or(130);
        let kmh = input.unassisted_kmh.unwrap_or(15);
        let max_km = input.unassisted_max_km.unwrap_or(12);
        let handover = input.handover_minutes.unwrap_or(10);
        within(&mut errs, "road_factor_pct", road, 100, 300);
        within(&mut errs, "unassisted_kmh", kmh, 3, 60);
        within(&mut errs, "unassisted_max_km", max_km, 0, 100);
        within(&mut errs, "handover_minutes", handover, 0, 120);
        errs.clone().into_result()?;
        let Some(place) = place else {
            return Err(errs.into());
        };
        sqlx::query(
            "INSERT INTO logistics_settings (organisation_id, latitude_e6, longitude_e6, road_factor_pct, unassisted_kmh, \
             unassisted_max_km, handover_minutes, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (organisation_id) DO UPDATE SET latitude_e6 = excluded.latitude_e6, longitude_e6 = excluded.longitude_e6, \
             road_factor_pct = excluded.road_factor_pct, unassisted_kmh = excluded.unassisted_kmh, \
             unassisted_max_km = excluded.unassisted_max_km, handover_minutes = excluded.handover_minutes, updated_at = excluded.updated_at",
        )
        .bind(org)
        .bind((place.lat * 1e6).round() as i64)
        .bind((place.lon * 1e6).round() as i64)
        .bind(road)
        .bind(kmh)
        .bind(max_km)
        .bind(handover)
        .bind(micros(now))
        .execute(&self.store.pool)
        .await?;
        self.settings_of(org).await?.ok_or(StoreError::NotFound)
    }

    /// The loaners of a service point, and which customer has each now.
    pub async fn loaners(self, scope: &Scope, org: &str) -> Result<Vec<Loaner>, StoreError> {
        scope.require(org, Permission::LogisticsRead)?;
        // Out with a customer: its pickup is done and the delivery that brings it back is not.
        type Row = (
            String,
            String,
            Option<String>,
            String,
            i64,
            i64,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> =
            sqlx::query_as(
                "SELECT l.id, l.plate, l.vin, l.model, l.range_km, l.out_of_service, r.id, r.number FROM loaners l \
                 LEFT JOIN transport_jobs p ON p.loaner_id = l.id AND p.kind = 'pickup' AND p.status = 'done' \
                   AND NOT EXISTS (SELECT 1 FROM transport_jobs d WHERE d.repair_order_id = p.repair_order_id \
                   AND d.kind = 'delivery' AND d.status = 'done') \
                 LEFT JOIN repair_orders r ON r.id = p.repair_order_id \
                 WHERE l.organisation_id = $1 ORDER BY l.plate",
            )
            .bind(org)
            .fetch_all(&self.store.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Loaner {
                id: r.0,
                organisation_id: org.to_string(),
                plate: r.1,
                vin: r.2,
                model: r.3,
                range_km: r.4,
                out_of_service: r.5 != 0,
                with_customer: r.6.map(|id| Ref {
                    id,
                    label: r.7.unwrap_or_default(),
                }),
            })
            .collect())
    }

    pub async fn add_loaner(
        self,
        scope: &Scope,
        org: &str,
        input: &LoanerInput,
        now: OffsetDateTime,
    ) -> Result<Loaner, StoreError> {
        scope.require(org, Permission::LogisticsManage)?;
        let mut errs = ValidationErrors::default();
        let plate = errs.take(text("plate", &input.plate, 2, 20));
        let model = errs.take(text("model", &input.model, 2, 80));
        let vin = opt(&input.vin)
            .and_then(|v| errs.take(Vin::parse("vin", v, |_| false)))
            .map(|(v, _)| v);
        within(&mut errs, "range_km", input.range_km, 0, 1500);
        errs.clone().into_result()?;
        let (Some(plate), Some(model)) = (plate, model) else {
            return Err(errs.into());
        };
        let id = new_id();
        let res = sqlx::query(
            "INSERT INTO loaners (id, organisation_id, plate, vin, model, range_km, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(org)
        .bind(plate.to_uppercase())
        .bind(vin.map(|v| v.as_str().to_string()))
        .bind(&model)
        .bind(input.range_km)
        .bind(micros(now))
        .execute(&self.store.pool)
        .await;
        match res {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(ValidationErrors::single(
                    "plate",
                    Rule::Unique,
                    "this service point already has a loaner with that plate",
                )
                .into())
            }
            r => {
                r?;
            }
        }
        self.loaners(scope, org)
            .await?
            .into_iter()
            .find(|l| l.id == id)
            .ok_or(StoreError::NotFound)
    }

    /// A loaner's charge (range) or availability changed.
    pub async fn set_loaner(
        self,
        scope: &Scope,
        id: &str,
        patch: &LoanerPatch,
    ) -> Result<Loaner, StoreError> {
        let org: String = sqlx::query_scalar("SELECT organisation_id FROM loaners WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        scope.require(&org, Permission::LogisticsPlan)?;
        let mut errs = ValidationErrors::default();
        if let Some(r) = patch.range_km {
            within(&mut errs, "range_km", r, 0, 1500);
        }
        errs.into_result()?;
        sqlx::query(
            "UPDATE loaners SET range_km = COALESCE($2, range_km), out_of_service = COALESCE($3, out_of_service) WHERE id = $1",
        )
        .bind(id)
        .bind(patch.range_km)
        .bind(patch.out_of_service.map(i64::from))
        .execute(&self.store.pool)
        .await?;
        self.loaners(scope, &org)
            .await?
            .into_iter()
            .find(|l| l.id == id)
            .ok_or(StoreError::NotFound)
    }

    pub async fn wash_bays(self, scope: &Scope, org: &str) -> Result<Vec<WashBay>, StoreError> {
        scope.require(org, Permission::LogisticsRead)?;
        self.wash_bays_of(org).await
    }

    pub(crate) async fn wash_bays_of(self, org: &str) -> Result<Vec<WashBay>, StoreError> {
        let rows: Vec<(String, String, i64, String, String)> = sqlx::query_as(
            "SELECT id, name, minutes_per_car, opens, closes FROM wash_bays WHERE organisation_id = $1 ORDER BY name",
        )
        .bind(org)
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| WashBay {
                id: r.0,
                organisation_id: org.to_string(),
                name: r.1,
                minutes_per_car: r.2,
                opens: r.3,
                closes: r.4,
            })
            .collect())
    }

    pub async fn add_wash_bay(
        self,
        scope: &Scope,
        org: &str,
        input: &WashBayInput,
        now: OffsetDateTime,
    ) -> Result<WashBay, StoreError> {
        scope.require(org, Permission::LogisticsManage)?;
        let mut errs = ValidationErrors::default();
        let name = errs.take(text("name", &input.name, 1, 60));
        within(&mut errs, "minutes_per_car", input.minutes_per_car, 5, 240);
        let opens = errs.take(parse_hm("opens", &input.opens));
        let closes = errs.take(parse_hm("closes", &input.closes));
        if let (Some(a), Some(b)) = (opens, closes) {
            if b <= a {
                errs.push(FieldError::new(
                    "closes",
                    Rule::NotAllowed,
                    "closes must be after opens",
                ));
            }
        }
        errs.clone().into_result()?;
        let (Some(name), Some(opens), Some(closes)) = (name, opens, closes) else {
            return Err(errs.into());
        };
        let id = new_id();
        let res = sqlx::query(
            "INSERT INTO wash_bays (id, organisation_id, name, minutes_per_car, opens, closes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(org)
        .bind(&name)
        .bind(input.minutes_per_car)
        .bind(hm(opens))
        .bind(hm(closes))
        .bind(micros(now))
        .execute(&self.store.pool)
        .await;
        match res {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(ValidationErrors::single(
                    "name",
                    Rule::Unique,
                    "this service point already has a wash bay of that name",
                )
                .into())
            }
            r => {
                r?;
            }
        }
        Ok(WashBay {
            id,
            organisation_id: org.to_string(),
            name,
            minutes_per_car: input.minutes_per_car,
            opens: hm(opens),
            closes: hm(closes),
        })
    }

    pub async fn driver_shifts(
        self,
        scope: &Scope,
        org: &str,
    ) -> Result<Vec<DriverShift>, StoreError> {
        scope.require(org, Permission::LogisticsRead)?;
        self.driver_shifts_of(org).await
    }

    pub(crate) async fn driver_shifts_of(self, org: &str) -> Result<Vec<DriverShift>, StoreError> {
        let rows: Vec<(String, String, String, i64, String, String)> = sqlx::query_as(
            "SELECT s.id, s.user_id, u.display_name, s.weekday, s.starts, s.ends FROM driver_shifts s \
             JOIN users u ON u.id = s.user_id WHERE s.organisation_id = $1 ORDER BY u.display_name, s.user_id, s.weekday",
        )
        .bind(org)
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| DriverShift {
                id: r.0,
                driver: Ref {
                    id: r.1,
                    label: r.2,
                },
                organisation_id: org.to_string(),
                weekday: u8::try_from(r.3).unwrap_or(0),
                starts: r.4,
                ends: r.5,
            })
            .collect())
    }

    /// Sets a driver's hours on a weekday (replacing that weekday's); the person must be a valet driver here.
    pub async fn set_driver_shift(
        self,
        scope: &Scope,
        org: &str,
        input: &DriverShiftInput,
    ) -> Result<Vec<DriverShift>, StoreError> {
        scope.require(org, Permission::LogisticsManage)?;
        let mut errs = ValidationErrors::default();
        let drivers = self.drivers(scope, org).await?;
        if !drivers.iter().any(|d| d.id == input.user_id.trim()) {
            errs.push(FieldError::new(
                "user_id",
                Rule::Unknown,
                "user_id names no valet driver of this service point",
            ));
        }
        if input.weekday > 6 {
            errs.push(FieldError::new(
                "weekday",
                Rule::OneOf,
                "weekday must be 0 (Monday) to 6 (Sunday)",
            ));
        }
        let a = errs.take(parse_hm("starts", &input.starts));
        let b = errs.take(parse_hm("ends", &input.ends));
        if let (Some(a), Some(b)) = (a, b) {
            if b <= a {
                errs.push(FieldError::new(
                    "ends",
                    Rule::NotAllowed,
                    "a shift must end after it starts",
                ));
            }
        }
        errs.clone().into_result()?;
        let (Some(a), Some(b)) = (a, b) else {
            return Err(errs.into());
        };
        sqlx::query(
            "INSERT INTO driver_shifts (id, user_id, organisation_id, weekday, starts, ends) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (user_id, organisation_id, weekday) DO UPDATE SET starts = excluded.starts, ends = excluded.ends",
        )
        .bind(new_id())
        .bind(input.user_id.trim())
        .bind(org)
        .bind(i64::from(input.weekday))
        .bind(hm(a))
        .bind(hm(b))
        .execute(&self.store.pool)
        .await?;
        self.driver_shifts_of(org).await
    }

    pub async fn remove_driver_shift(self, scope: &Scope, id: &str) -> Result<(), StoreError> {
        let org: String =
            sqlx::query_scalar("SELECT organisation_id FROM driver_shifts WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.store.pool)
                .await?
                .ok_or(StoreError::NotFound)?;
        scope.require(&org, Permission::LogisticsManage)?;
        sqlx::query("DELETE FROM driver_shifts WHERE id = $1")
            .bind(id)
            .execute(&self.store.pool)
            .await?;
        Ok(())
    }
}
