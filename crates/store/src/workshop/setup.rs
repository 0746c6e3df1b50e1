//! Workshop set-up per service point: settings, bays, technicians with shifts, absences and
//! certificates.

use super::*;
use crate::db::Write;

impl Workshop<'_> {
    pub(crate) async fn org_kind(self, org_id: &str) -> Result<Option<OrgKind>, StoreError> {
        let k: Option<String> = sqlx::query_scalar("SELECT kind FROM organisations WHERE id = $1")
            .bind(org_id)
            .fetch_optional(&self.store.pool)
            .await?;
        k.map(|k| crate::decode("organisations", "kind", &k, OrgKind::parse))
            .transpose()
    }
    pub(crate) async fn require_service_point(
        self,
        scope: &Scope,
        org: &str,
        p: Permission,
    ) -> Result<(), StoreError> {
        scope.require(org, p)?;
        if self.org_kind(org).await? != Some(OrgKind::ServicePoint) {
            return Err(ValidationErrors::single(
                "organisation_id",
                Rule::NotAllowed,
                "organisation_id must be a service point",
            )
            .into());
        }
        Ok(())
    }
    /// The market currency of an organisation (NOK when it has no market).
    pub async fn currency_of(self, org_id: &str) -> Result<String, StoreError> {
        let c: Option<String> = sqlx::query_scalar(
            "SELECT m.currency FROM organisations o JOIN markets m ON m.id = o.market_id WHERE o.id = $1",
        )
        .bind(org_id)
        .fetch_optional(&self.store.pool)
        .await?;
        Ok(c.unwrap_or_else(|| "NOK".into()))
    }
    pub async fn workshop_settings(
        self,
        scope: &Scope,
        org: &str,
    ) -> Result<WorkshopSettings, StoreError> {
        scope.require(org, Permission::OrgRead)?;
        self.settings_of(org).await
    }
    pub(crate) async fn settings_of(self, org: &str) -> Result<WorkshopSettings, StoreError> {
        let row: Option<(i64, i64, i64, Option<String>, i64)> = sqlx::query_as(
            "SELECT labour_rate_minor, self_booking, mobile_travel_minutes, address, version FROM workshop_settings WHERE organisation_id = $1",
        )
        .bind(org)
        .fetch_optional(&self.store.pool)
        .await?;
        let currency = self.currency_of(org).await?;
        let (rate, sb, travel, address, version) =
            row.unwrap_or((DEFAULT_LABOUR_RATE_MINOR, 0, 30, None, 0));
        Ok(WorkshopSettings {
            organisation_id: org.to_string(),
            labour_rate: Money::new(rate, &currency),
            self_booking: sb == 1,
            mobile_travel_minutes: travel,
            address,
            version,
        })
    }
    pub async fn set_workshop_settings(
        self,
        scope: &Scope,
        org: &str,
        input: &SettingsInput,
    ) -> Result<WorkshopSettings, StoreError> {
        self.require_service_point(scope, org, Permission::WorkshopManage)
            .await?;
        let mut errs = ValidationErrors::default();
        let rate = errs.take(parse_centi(
            "labour_rate",
            &input.labour_rate,
            0,
            100_000_000,
        ));
        let travel = input.mobile_travel_minutes.unwrap_or(30);
        if !(0..=240).contains(&travel) {
            errs.push(FieldError::new(
                "mobile_travel_minutes",
                Rule::NotAllowed,
                "mobile_travel_minutes must be 0–240",
            ));
        }
        let address = opt(&input.address).and_then(|a| errs.take(text("address", a, 3, 300)));
        errs.into_result()?;
        let rate = rate.unwrap_or(DEFAULT_LABOUR_RATE_MINOR);
        let mut tx = self.store.begin().await?;
        sqlx::query("DELETE FROM workshop_settings WHERE organisation_id = $1")
            .bind(org)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO workshop_settings (organisation_id, labour_rate_minor, self_booking, mobile_travel_minutes, address, version) VALUES ($1, $2, $3, $4, $5, 1)")
            .bind(org)
            .bind(rate)
            .bind(flag(input.self_booking))
            .bind(travel)
            .bind(address)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.settings_of(org).await
    }
    pub async fn bays(self, scope: &Scope, org: &str) -> Result<Vec<Bay>, StoreError> {
        scope.require(org, Permission::OrgRead)?;
        let rows: Vec<(String, String, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT id, organisation_id, name, lift, hv_area, active FROM bays WHERE organisation_id = $1 ORDER BY name",
        )
        .bind(org)
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, organisation_id, name, lift, hv, active)| Bay {
                id,
                organisation_id,
                name,
                lift: lift == 1,
                hv_area: hv == 1,
                active: active == 1,
            })
            .collect())
    }
    pub async fn add_bay(
        self,
        scope: &Scope,
        input: &BayInput,
        now: OffsetDateTime,
    ) -> Result<Bay, StoreError> {
        self.require_service_point(scope, &input.organisation_id, Permission::WorkshopManage)
            .await?;
        let name = text("name", &input.name, 1, 80).map_err(ValidationErrors::from)?;
        let id = new_id();
        let r = sqlx::query("INSERT INTO bays (id, organisation_id, name, lift, hv_area, active, created_at) VALUES ($1, $2, $3, $4, $5, 1, $6)")
            .bind(&id)
            .bind(&input.organisation_id)
            .bind(&name)
            .bind(flag(input.lift))
            .bind(flag(input.hv_area))
            .bind(micros(now))
            .write(self.store)
            .await;
        match r {
            Err(e) if StoreError::is_unique_violation(&e) => Err(ValidationErrors::single(
                "name",
                Rule::Unique,
                "this service point already has a bay of that name",
            )
            .into()),
            Err(e) => Err(e.into()),
            Ok(_) => Ok(Bay {
                id,
                organisation_id: input.organisation_id.clone(),
                name,
                lift: input.lift,
                hv_area: input.hv_area,
                active: true,
            }),
        }
    }
    pub async fn set_bay_active(
        self,
        scope: &Scope,
        bay_id: &str,
        active: bool,
    ) -> Result<(), StoreError> {
        let org: Option<String> =
            sqlx::query_scalar("SELECT organisation_id FROM bays WHERE id = $1")
                .bind(bay_id)
                .fetch_optional(&self.store.pool)
                .await?;
        let org = org.ok_or(StoreError::NotFound)?;
        scope.require(&org, Permission::WorkshopManage)?;
        sqlx::query("UPDATE bays SET active = $1 WHERE id = $2")
            .bind(flag(active))
            .bind(bay_id)
            .write(self.store)
            .await?;
        Ok(())
    }
    /// The technicians of a service point: people holding the technician role there.
    pub async fn technicians(
        self,
        scope: &Scope,
        org: &str,
        today: Date,
    ) -> Result<Vec<Technician>, StoreError> {
        scope.require(org, Permission::OrgRead)?;
        self.technicians_of(org, today).await
    }
    pub(crate) async fn technicians_of(
        self,
        org: &str,
        today: Date,
    ) -> Result<Vec<Technician>, StoreError> {
        let people: Vec<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT u.id, u.display_name, t.mobile FROM memberships m JOIN users u ON u.id = m.user_id \
             LEFT JOIN technicians t ON t.user_id = u.id AND t.organisation_id = m.organisation_id \
             WHERE m.organisation_id = $1 AND m.role = 'technician' AND u.disabled = 0 ORDER BY u.display_name",
        )
        .bind(org)
        .fetch_all(&self.store.pool)
        .await?;
        let mut out = Vec::new();
        for (user_id, name, mobile) in people {
            let shifts: Vec<(i64, String, String)> = sqlx::query_as(
                "SELECT weekday, starts, ends FROM technician_shifts WHERE user_id = $1 AND organisation_id = $2 ORDER BY weekday, starts",
            )
            .bind(&user_id)
            .bind(org)
            .fetch_all(&self.store.pool)
            .await?;
            let certifications = self.certifications_at(&user_id, org, today).await?;
            let absences: Vec<(String, i64, i64, String)> = sqlx::query_as(
                "SELECT id, starts_at, ends_at, reason FROM technician_absences WHERE user_id = $1 ORDER BY starts_at",
            )
            .bind(&user_id)
            .fetch_all(&self.store.pool)
            .await?;
            out.push(Technician {
                organisation_id: org.to_string(),
                mobile: mobile == Some(1),
                shifts: shifts
                    .into_iter()
                    .map(|(d, s, e)| Shift {
                        weekday: u8::try_from(d).unwrap_or(0),
                        starts: s,
                        ends: e,
                    })
                    .collect(),
                certifications,
                absences: absences
                    .into_iter()
                    .map(|(id, s, e, reason)| Absence {
                        id,
                        starts_at: from_micros(s),
                        ends_at: from_micros(e),
                        reason,
                    })
                    .collect(),
                user_id,
                name,
            });
        }
        Ok(out)
    }
    pub(crate) async fn certifications_of(
        self,
        user_id: &str,
        today: Date,
    ) -> Result<Vec<Certification>, StoreError> {
        let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, code, issued_on, expires_on FROM certifications WHERE user_id = $1 ORDER BY code, issued_on",
        )
        .bind(user_id)
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, code, issued, expires)| {
                let issued_on = crate::crm::parse_date("issued_on", &issued).ok()?;
                let expires_on =
                    expires.and_then(|e| crate::crm::parse_date("expires_on", &e).ok());
                Some(Certification {
                    valid: issued_on <= today && expires_on.is_none_or(|e| today <= e),
                    id,
                    code,
                    issued_on,
                    expires_on,
                })
            })
            .collect())
    }
    /// A technician's certificates at a service point on a day, with the competences profiles
    /// there govern decided by the profile: held (valid) only when the person meets it, whatever
    /// certificates of that code they hold (`training::competences`).
    pub(crate) async fn certifications_at(
        self,
        user_id: &str,
        org: &str,
        today: Date,
    ) -> Result<Vec<Certification>, StoreError> {
        let mut certs = self.certifications_of(user_id, today).await?;
        for (code, meets) in
            crate::training::competences(&self.store.pool, user_id, org, today).await?
        {
            certs.retain(|c| c.code != code);
            if meets {
                certs.push(Certification {
                    id: format!("profile:{code}"),
                    code,
                    issued_on: today,
                    expires_on: None,
                    valid: true,
                });
            }
        }
        Ok(certs)
    }
    pub(crate) async fn require_technician_at(
        self,
        org: &str,
        user_id: &str,
    ) -> Result<String, StoreError> {
        let name: Option<String> = sqlx::query_scalar(
            "SELECT u.display_name FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.organisation_id = $1 AND m.user_id = $2 AND m.role = 'technician'",
        )
        .bind(org)
        .bind(user_id)
        .fetch_optional(&self.store.pool)
        .await?;
        name.ok_or(StoreError::NotFound)
    }
    /// Sets a technician's weekly shifts and whether they drive out for mobile service.
    pub async fn set_technician(
        self,
        scope: &Scope,
        org: &str,
        user_id: &str,
        input: &TechnicianInput,
    ) -> Result<(), StoreError> {
        scope.require(org, Permission::WorkshopManage)?;
        self.require_technician_at(org, user_id).await?;
        let mut errs = ValidationErrors::default();
        let mut shifts = Vec::new();
        for (i, s) in input.shifts.iter().enumerate() {
            let a = errs.take(parse_time_of_day(&format!("shifts.{i}.starts"), &s.starts));
            let b = errs.take(parse_time_of_day(&format!("shifts.{i}.ends"), &s.ends));
            if s.weekday > 6 {
                errs.push(FieldError::new(
                    format!("shifts.{i}.weekday"),
                    Rule::NotAllowed,
                    "weekday must be 0 (Monday) to 6 (Sunday)",
                ));
            }
            if let (Some(a), Some(b)) = (a, b) {
                if a >= b {
                    errs.push(FieldError::new(
                        format!("shifts.{i}.ends"),
                        Rule::NotAllowed,
                        "a shift must end after it starts",
                    ));
                } else {
                    shifts.push((s.weekday, a, b));
                }
            }
        }
        for (i, (d, a, b)) in shifts.iter().enumerate() {
            if shifts
                .iter()
                .enumerate()
                .any(|(j, (d2, a2, b2))| i != j && d == d2 && a < b2 && a2 < b)
            {
                errs.push(FieldError::new(
                    format!("shifts.{i}"),
                    Rule::NotAllowed,
                    "shifts of one day must not overlap",
                ));
                break;
            }
        }
        errs.into_result()?;
        let mut tx = self.store.begin().await?;
        sqlx::query("DELETE FROM technician_shifts WHERE user_id = $1 AND organisation_id = $2")
            .bind(user_id)
            .bind(org)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM technicians WHERE user_id = $1 AND organisation_id = $2")
            .bind(user_id)
            .bind(org)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO technicians (user_id, organisation_id, mobile) VALUES ($1, $2, $3)",
        )
        .bind(user_id)
        .bind(org)
        .bind(flag(input.mobile))
        .execute(&mut *tx)
        .await?;
        for (d, a, b) in shifts {
            sqlx::query("INSERT INTO technician_shifts (id, user_id, organisation_id, weekday, starts, ends) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(new_id())
                .bind(user_id)
                .bind(org)
                .bind(i64::from(d))
                .bind(hm(a))
                .bind(hm(b))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
    pub async fn add_certification(
        self,
        scope: &Scope,
        org: &str,
        user_id: &str,
        input: &CertificationInput,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        scope.require(org, Permission::WorkshopManage)?;
        self.require_technician_at(org, user_id).await?;
        let mut errs = ValidationErrors::default();
        let code = errs.take(certification_code("code", &input.code));
        let issued = errs.take(crate::crm::parse_date("issued_on", &input.issued_on));
        let expires =
            opt(&input.expires_on).and_then(|e| errs.take(crate::crm::parse_date("expires_on", e)));
        if let (Some(i), Some(e)) = (issued, expires) {
            if e < i {
                errs.push(FieldError::new(
                    "expires_on",
                    Rule::NotAllowed,
                    "expires_on must not be before issued_on",
                ));
            }
        }
        errs.into_result()?;
        sqlx::query("INSERT INTO certifications (id, user_id, code, issued_on, expires_on, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(new_id())
            .bind(user_id)
            .bind(code)
            .bind(issued.map(|d| d.to_string()))
            .bind(expires.map(|d| d.to_string()))
            .bind(micros(now))
            .write(self.store)
            .await?;
        Ok(())
    }
    pub async fn add_absence(
        self,
        scope: &Scope,
        org: &str,
        user_id: &str,
        input: &AbsenceInput,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        scope.require(org, Permission::WorkshopManage)?;
        self.require_technician_at(org, user_id).await?;
        let mut errs = ValidationErrors::default();
        let a = errs.take(parse_instant("starts_at", &input.starts_at));
        let b = errs.take(parse_instant("ends_at", &input.ends_at));
        let reason = errs.take(text("reason", &input.reason, 2, 200));
        if let (Some(a), Some(b)) = (a, b) {
            if b <= a {
                errs.push(FieldError::new(
                    "ends_at",
                    Rule::NotAllowed,
                    "ends_at must be after starts_at",
                ));
            }
        }
        errs.into_result()?;
        sqlx::query("INSERT INTO technician_absences (id, user_id, starts_at, ends_at, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(new_id())
            .bind(user_id)
            .bind(a.map(micros))
            .bind(b.map(micros))
            .bind(reason)
            .bind(micros(now))
            .write(self.store)
            .await?;
        Ok(())
    }
}
