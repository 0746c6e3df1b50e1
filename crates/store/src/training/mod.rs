//! Competence and training (capability training, issue 19): the course catalogue and competence
//! profiles kept by a brand's headquarters or a market, training records per person (with the
//! certificate file), the gap analysis and the training compliance KPI, the workshop's
//! enforcement (a competence a profile grants is held only by someone who meets the profile,
//! `refusal`, `competences`), expiry reminders (`Cli::remind_expiring_trainings`, expiry.rs);
//! records in records.rs, sessions in sessions.rs, xAPI in xapi.rs. Rules: `domain::training`.

use std::collections::BTreeMap;

use aftersales_domain::i18n::Language;
use aftersales_domain::notify::StaffNotice;
use aftersales_domain::org::{Permission, Role};
use aftersales_domain::training::{
    self as rules, Completion, Compliance, RecordSource, TrainingStanding,
};
use aftersales_domain::validation::{text, FieldError, Rule};
use aftersales_domain::workshop::{certification_code, Refusal};
use aftersales_domain::ValidationErrors;
use time::{Date, Duration, OffsetDateTime};

use crate::cli::Cli;
use crate::crm::parse_date;
use crate::error::StoreError;
use crate::scope::Scope;
use crate::standards::{lineage, org_ref, user_ref};
use crate::{decode, from_micros, micros, new_id, Ref};

pub use aftersales_api_types::training::{
    AttendanceInput, Attendee, CompetenceProfile, CompetenceProfileInput, GapReport, PersonGap,
    PointCompliance, RequirementStanding, TrainingCourse, TrainingCourseInput, TrainingRecord,
    TrainingRecordInput, TrainingSession, TrainingSessionInput, XapiMapping, XapiMappingInput,
    XapiResult, XapiStatement,
};

mod expiry;
mod records;
mod sessions;
mod xapi;

crate::capability!(
    /// Competence and training: `store.training().gaps(..)`.
    Training, training
);

fn names_of(v: &str) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_str(v).map_err(|_| StoreError::Corrupt {
        table: "training",
        column: "names",
        value: v.to_string(),
    })
}

fn local(names: &BTreeMap<String, String>, lang: Language) -> String {
    names
        .get(lang.code())
        .or_else(|| names.get("en"))
        .cloned()
        .unwrap_or_default()
}

/// Names in three languages from a form or a JSON input: each 2–120 characters.
fn three_names(
    (nb, en, pt): (&str, &str, &str),
    errs: &mut ValidationErrors,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (lang, v) in [("nb", nb), ("en", en), ("pt", pt)] {
        if let Some(v) = errs.take(text(&format!("name_{lang}"), v, 2, 120)) {
            out.insert(lang.to_string(), v);
        }
    }
    out
}

/// A profile as the workshop and the gap analysis read it.
#[derive(Debug, Clone)]
pub(crate) struct ProfileDef {
    pub id: String,
    pub name: BTreeMap<String, String>,
    pub role: Role,
    pub grants: Option<String>,
    /// (course id, names, high voltage)
    pub courses: Vec<(String, BTreeMap<String, String>, bool)>,
}

/// The profiles in force at an organisation: those of the organisations above it (and its own),
/// nearest first; a profile code defined nearer (a market's) replaces one further up (the brand's).
pub(crate) async fn profiles_at(
    pool: &sqlx::AnyPool,
    org: &str,
) -> Result<Vec<ProfileDef>, StoreError> {
    let mut out: Vec<(String, ProfileDef)> = Vec::new();
    for (owner, _) in lineage(pool, org).await? {
        let rows: Vec<(String, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, code, names, role, grants FROM competence_profiles WHERE organisation_id = $1 ORDER BY code",
        )
        .bind(&owner)
        .fetch_all(pool)
        .await?;
        for (id, code, names, role, grants) in rows {
            if out.iter().any(|(c, _)| *c == code) {
                continue;
            }
            let courses: Vec<(String, String, i64)> = sqlx::query_as(
                "SELECT c.id, c.names, c.high_voltage FROM profile_courses pc JOIN training_courses c ON c.id = pc.course_id WHERE pc.profile_id = $1 ORDER BY c.code",
            )
            .bind(&id)
            .fetch_all(pool)
            .await?;
            let mut cs = Vec::new();
            for (cid, cnames, hv) in courses {
                cs.push((cid, names_of(&cnames)?, hv != 0));
            }
            out.push((
                code,
                ProfileDef {
                    name: names_of(&names)?,
                    role: decode("competence_profiles", "role", &role, Role::parse)?,
                    grants,
                    courses: cs,
                    id,
                },
            ));
        }
    }
    Ok(out.into_iter().map(|(_, p)| p).collect())
}

/// A person's passed and failed completions, by course id.
pub(crate) async fn completions(
    pool: &sqlx::AnyPool,
    user: &str,
) -> Result<Vec<Completion>, StoreError> {
    let rows: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
        "SELECT course_id, completed_on, passed, expires_on FROM training_records WHERE user_id = $1",
    )
    .bind(user)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (course, done, passed, expires) in rows {
        out.push(Completion {
            course,
            completed_on: decode("training_records", "completed_on", &done, parse_date)?,
            passed: passed != 0,
            expires_on: match expires {
                Some(e) => Some(decode("training_records", "expires_on", &e, parse_date)?),
                None => None,
            },
        });
    }
    Ok(out)
}

/// Whether a technician may do work needing `required` at a service point on a day, as far as
/// competence profiles decide: a required competence that a profile in force grants is held
/// only by someone who meets that profile. The refusal names the profile and the training.
pub(crate) async fn refusal(
    pool: &sqlx::AnyPool,
    (user, name): (&str, &str),
    service_point: &str,
    required: &[String],
    on: Date,
) -> Result<Option<Refusal>, StoreError> {
    // The workshop assigns technicians: the technicians' profiles decide.
    let profiles: Vec<ProfileDef> = profiles_at(pool, service_point)
        .await?
        .into_iter()
        .filter(|p| p.role == Role::Technician)
        .collect();
    if !required
        .iter()
        .any(|need| profiles.iter().any(|p| p.grants.as_deref() == Some(need)))
    {
        return Ok(None);
    }
    let done = completions(pool, user).await?;
    for need in required {
        for p in profiles
            .iter()
            .filter(|p| p.grants.as_deref() == Some(need))
        {
            let ids: Vec<String> = p.courses.iter().map(|(id, _, _)| id.clone()).collect();
            if let Some((course, expired_on)) = rules::first_gap(&done, &ids, on) {
                let training = p
                    .courses
                    .iter()
                    .find(|(id, _, _)| id == course)
                    .map(|(_, n, _)| n.clone())
                    .unwrap_or_default();
                return Ok(Some(Refusal::MissingTraining {
                    technician: name.to_string(),
                    competence: need.clone(),
                    profile: p.name.clone(),
                    training,
                    expired_on,
                }));
            }
        }
    }
    Ok(None)
}

/// The competences profiles in force grant, and whether the person meets each on a day: the
/// workshop's availability treats a governed competence as held only then (its certificates
/// for that code no longer count).
pub(crate) async fn competences(
    pool: &sqlx::AnyPool,
    user: &str,
    service_point: &str,
    on: Date,
) -> Result<Vec<(String, bool)>, StoreError> {
    // The workshop assigns technicians: the technicians' profiles decide.
    let profiles: Vec<ProfileDef> = profiles_at(pool, service_point)
        .await?
        .into_iter()
        .filter(|p| p.role == Role::Technician)
        .collect();
    if profiles.iter().all(|p| p.grants.is_none()) {
        return Ok(Vec::new());
    }
    let done = completions(pool, user).await?;
    let mut out: Vec<(String, bool)> = Vec::new();
    for p in &profiles {
        let Some(code) = &p.grants else { continue };
        let ids: Vec<String> = p.courses.iter().map(|(id, _, _)| id.clone()).collect();
        let meets = rules::first_gap(&done, &ids, on).is_none();
        match out.iter_mut().find(|(c, _)| c == code) {
            Some(entry) => entry.1 = entry.1 && meets,
            None => out.push((code.clone(), meets)),
        }
    }
    Ok(out)
}

type CourseRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    i64,
);

impl Training<'_> {
    /// Organisations whose catalogue the caller reads: those reached and those above them.
    async fn readable_owners(&self, scope: &Scope) -> Result<Vec<String>, StoreError> {
        let mut owners: Vec<String> = Vec::new();
        for org in scope.orgs_with(Permission::OrgRead) {
            for (id, _) in lineage(&self.store.pool, &org).await? {
                if !owners.contains(&id) {
                    owners.push(id);
                }
            }
        }
        Ok(owners)
    }

    async fn course_of(&self, r: CourseRow) -> Result<TrainingCourse, StoreError> {
        let (id, org, code, names, provider, hours, validity, hv) = r;
        Ok(TrainingCourse {
            organisation: org_ref(&self.store.pool, &org).await?,
            code,
            name: names_of(&names)?,
            provider,
            duration_hours: hours,
            validity_months: validity,
            high_voltage: hv != 0,
            id,
        })
    }

    /// The courses of the caller's brands and markets.
    pub async fn courses(&self, scope: &Scope) -> Result<Vec<TrainingCourse>, StoreError> {
        let owners = self.readable_owners(scope).await?;
        let sql = format!(
            "SELECT id, organisation_id, code, names, provider, duration_hours, validity_months, high_voltage FROM training_courses WHERE organisation_id IN ({}) ORDER BY code",
            crate::db::placeholders(1, owners.len())
        );
        let mut q = sqlx::query_as::<_, CourseRow>(&sql);
        for o in &owners {
            q = q.bind(o);
        }
        let mut out = Vec::new();
        for r in q.fetch_all(&self.store.pool).await? {
            out.push(self.course_of(r).await?);
        }
        Ok(out)
    }

    async fn require_catalogue_owner(&self, scope: &Scope, org: &str) -> Result<(), StoreError> {
        scope.require(org, Permission::TrainingManage)?;
        let kind: Option<String> =
            sqlx::query_scalar("SELECT kind FROM organisations WHERE id = $1")
                .bind(org)
                .fetch_optional(&self.store.pool)
                .await?;
        if !matches!(
            kind.as_deref(),
            Some("brand-hq" | "market-entity" | "importer")
        ) {
            return Err(ValidationErrors::from(
                FieldError::new(
                    "organisation_id",
                    Rule::NotAllowed,
                    "courses and profiles are kept by a brand, a market or an importer",
                )
                .hint("tr-err-owner"),
            )
            .into());
        }
        Ok(())
    }

    /// Adds a course to an organisation's catalogue.
    pub async fn add_course(
        &self,
        scope: &Scope,
        org: &str,
        input: &TrainingCourseInput,
        now: OffsetDateTime,
    ) -> Result<TrainingCourse, StoreError> {
        self.require_catalogue_owner(scope, org).await?;
        let mut errs = ValidationErrors::default();
        let code = errs.take(certification_code("code", &input.code.to_lowercase()));
        let names = three_names((&input.name_nb, &input.name_en, &input.name_pt), &mut errs);
        let provider = errs.take(text("provider", &input.provider, 2, 120));
        if !(1..=2000).contains(&input.duration_hours) {
            errs.push(FieldError::new(
                "duration_hours",
                Rule::Format,
                "duration_hours is a whole number from 1 to 2000",
            ));
        }
        if input
            .validity_months
            .is_some_and(|m| !(1..=240).contains(&m))
        {
            errs.push(FieldError::new(
                "validity_months",
                Rule::Format,
                "validity_months is a whole number from 1 to 240, or left out for good",
            ));
        }
        let (Some(code), Some(provider)) = (code, provider) else {
            return Err(errs.into_result().err().unwrap_or_default().into());
        };
        let taken: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM training_courses WHERE organisation_id = $1 AND code = $2",
        )
        .bind(org)
        .bind(&code)
        .fetch_one(&self.store.pool)
        .await?;
        if taken > 0 {
            errs.push(FieldError::new("code", Rule::Unique, "the code is in use"));
        }
        errs.into_result()?;
        let id = new_id();
        let mut tx = self.store.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO training_courses (id, organisation_id, code, names, provider, duration_hours, validity_months, high_voltage, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (organisation_id, code) DO NOTHING",
        )
        .bind(&id)
        .bind(org)
        .bind(&code)
        .bind(serde_json::to_string(&names).unwrap_or_default())
        .bind(&provider)
        .bind(input.duration_hours)
        .bind(input.validity_months)
        .bind(i64::from(input.high_voltage))
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(
                ValidationErrors::single("code", Rule::Unique, "the code is in use").into(),
            );
        }
        tx.commit().await?;
        let row: CourseRow = sqlx::query_as(
            "SELECT id, organisation_id, code, names, provider, duration_hours, validity_months, high_voltage FROM training_courses WHERE id = $1",
        )
        .bind(&id)
        .fetch_one(&self.store.pool)
        .await?;
        self.course_of(row).await
    }

    /// The competence profiles the caller's brands and markets keep.
    pub async fn profiles(&self, scope: &Scope) -> Result<Vec<CompetenceProfile>, StoreError> {
        let owners = self.readable_owners(scope).await?;
        let sql = format!(
            "SELECT id, organisation_id, code, names, role, grants FROM competence_profiles WHERE organisation_id IN ({}) ORDER BY code",
            crate::db::placeholders(1, owners.len())
        );
        type Row = (String, String, String, String, String, Option<String>);
        let mut q = sqlx::query_as::<_, Row>(&sql);
        for o in &owners {
            q = q.bind(o);
        }
        let mut out = Vec::new();
        for (id, org, code, names, role, grants) in q.fetch_all(&self.store.pool).await? {
            let courses: Vec<(String, String)> = sqlx::query_as(
                "SELECT c.id, c.code FROM profile_courses pc JOIN training_courses c ON c.id = pc.course_id WHERE pc.profile_id = $1 ORDER BY c.code",
            )
            .bind(&id)
            .fetch_all(&self.store.pool)
            .await?;
            out.push(CompetenceProfile {
                organisation: org_ref(&self.store.pool, &org).await?,
                code,
                name: names_of(&names)?,
                role: decode("competence_profiles", "role", &role, Role::parse)?,
                grants,
                courses: courses
                    .into_iter()
                    .map(|(id, label)| Ref { id, label })
                    .collect(),
                id,
            });
        }
        Ok(out)
    }

    /// Adds a competence profile: the role it is for, its required courses (of the catalogues
    /// the caller reads) and the competence it grants, if any.
    pub async fn add_profile(
        &self,
        scope: &Scope,
        org: &str,
        input: &CompetenceProfileInput,
        now: OffsetDateTime,
    ) -> Result<CompetenceProfile, StoreError> {
        self.require_catalogue_owner(scope, org).await?;
        let mut errs = ValidationErrors::default();
        let code = errs.take(certification_code("code", &input.code.to_lowercase()));
        let names = three_names((&input.name_nb, &input.name_en, &input.name_pt), &mut errs);
        let role = errs.take(Role::parse("role", &input.role));
        let grants = match input
            .grants
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty())
        {
            Some(g) => errs.take(certification_code("grants", g)),
            None => None,
        };
        let known: Vec<String> = self
            .courses(scope)
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect();
        if input.course_ids.is_empty() {
            errs.push(FieldError::new(
                "course_ids",
                Rule::Required,
                "a profile requires at least one course",
            ));
        }
        for (i, c) in input.course_ids.iter().enumerate() {
            if !known.contains(c) {
                errs.push(FieldError::new(
                    format!("course_ids.{i}"),
                    Rule::Unknown,
                    "not a course of your catalogues",
                ));
            }
        }
        errs.into_result()?;
        let (Some(code), Some(role)) = (code, role) else {
            return Err(StoreError::Internal("checked above".into()));
        };
        let id = new_id();
        let mut tx = self.store.begin().await?;
        let r = sqlx::query(
            "INSERT INTO competence_profiles (id, organisation_id, code, names, role, grants, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (organisation_id, code) DO NOTHING",
        )
        .bind(&id)
        .bind(org)
        .bind(&code)
        .bind(serde_json::to_string(&names).unwrap_or_default())
        .bind(role.as_str())
        .bind(&grants)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(
                ValidationErrors::single("code", Rule::Unique, "the code is in use").into(),
            );
        }
        let mut seen = Vec::new();
        for c in &input.course_ids {
            if seen.contains(c) {
                continue;
            }
            seen.push(c.clone());
            sqlx::query("INSERT INTO profile_courses (profile_id, course_id) VALUES ($1, $2)")
                .bind(&id)
                .bind(c)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.profiles(scope)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(StoreError::NotFound)
    }

    /// The people the caller may see trainings of (with the organisation they work at): everyone
    /// at the organisations where the caller reads training, or only the caller.
    async fn people(
        &self,
        scope: &Scope,
    ) -> Result<Vec<(String, String, String, Role)>, StoreError> {
        let orgs = scope.orgs_with(Permission::TrainingRead);
        let mut out: Vec<(String, String, String, Role)> = Vec::new();
        let rows: Vec<(String, String, String, String)> = if orgs.is_empty() {
            sqlx::query_as(
                "SELECT u.id, u.display_name, m.organisation_id, m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.id = $1 AND u.disabled = 0 ORDER BY u.display_name",
            )
            .bind(scope.user_id())
            .fetch_all(&self.store.pool)
            .await?
        } else {
            let sql = format!(
                "SELECT u.id, u.display_name, m.organisation_id, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
                 JOIN organisations o ON o.id = m.organisation_id \
                 WHERE m.organisation_id IN ({}) AND u.disabled = 0 AND o.kind = 'service-point' ORDER BY u.display_name, m.role",
                crate::db::placeholders(1, orgs.len())
            );
            let mut q = sqlx::query_as::<_, (String, String, String, String)>(&sql);
            for o in &orgs {
                q = q.bind(o);
            }
            q.fetch_all(&self.store.pool).await?
        };
        for (id, name, org, role) in rows {
            let Ok(role) = Role::parse("role", &role) else {
                continue;
            };
            out.push((id, name, org, role));
        }
        Ok(out)
    }

    /// The gap analysis on a day: every person reached against the profiles of their role at
    /// their service point, requirements running out within `window_days` flagged; compliance
    /// per person, service point and over all (high-voltage courses separately).
    pub async fn gaps(
        &self,
        scope: &Scope,
        on: Date,
        window_days: i64,
        lang: Language,
    ) -> Result<GapReport, StoreError> {
        let pool = &self.store.pool;
        let mut people = Vec::new();
        let mut points: BTreeMap<String, PointCompliance> = BTreeMap::new();
        let (mut total, mut hv_total) = (Compliance::default(), Compliance::default());
        let mut profile_cache: BTreeMap<String, Vec<ProfileDef>> = BTreeMap::new();
        for (user, name, org, role) in self.people(scope).await? {
            if !profile_cache.contains_key(&org) {
                profile_cache.insert(org.clone(), profiles_at(pool, &org).await?);
            }
            let profiles: Vec<&ProfileDef> = profile_cache
                .get(&org)
                .map(|ps| ps.iter().filter(|p| p.role == role).collect())
                .unwrap_or_default();
            if profiles.is_empty() {
                continue;
            }
            let done = completions(pool, &user).await?;
            let mut requirements = Vec::new();
            let (mut c, mut hv) = (Compliance::default(), Compliance::default());
            let mut expiring = 0;
            for p in profiles {
                for (course, names, high_voltage) in &p.courses {
                    let s = rules::standing(&done, course, on, window_days);
                    c.add(s.holds());
                    if *high_voltage {
                        hv.add(s.holds());
                    }
                    if matches!(s, TrainingStanding::Expiring { .. }) {
                        expiring += 1;
                    }
                    requirements.push(RequirementStanding {
                        profile: Ref {
                            id: p.id.clone(),
                            label: local(&p.name, lang),
                        },
                        course: Ref {
                            id: course.clone(),
                            label: local(names, lang),
                        },
                        high_voltage: *high_voltage,
                        standing: s,
                    });
                }
            }
            let point = org_ref(pool, &org).await?;
            let entry = points.entry(org.clone()).or_insert(PointCompliance {
                service_point: point.clone(),
                compliance: Compliance::default(),
                high_voltage: Compliance::default(),
                expiring: 0,
            });
            entry.compliance.merge(c);
            entry.high_voltage.merge(hv);
            entry.expiring += expiring;
            total.merge(c);
            hv_total.merge(hv);
            people.push(PersonGap {
                person: Ref {
                    id: user,
                    label: name,
                },
                service_point: point,
                role,
                requirements,
                compliance: c,
                high_voltage: hv,
            });
        }
        let mut points: Vec<PointCompliance> = points.into_values().collect();
        points.sort_by(|a, b| a.service_point.label.cmp(&b.service_point.label));
        Ok(GapReport {
            on: on.to_string(),
            window_days,
            people,
            points,
            total,
            high_voltage: hv_total,
        })
    }

    /// May the caller keep `user`'s trainings: they manage training where the person works.
    async fn require_person(&self, scope: &Scope, user: &str) -> Result<(), StoreError> {
        let orgs: Vec<String> =
            sqlx::query_scalar("SELECT organisation_id FROM memberships WHERE user_id = $1")
                .bind(user)
                .fetch_all(&self.store.pool)
                .await?;
        if orgs
            .iter()
            .any(|o| scope.permits(o, Permission::TrainingManage))
        {
            Ok(())
        } else if orgs.iter().any(|o| scope.permits(o, Permission::OrgRead)) {
            Err(StoreError::Forbidden(
                "your roles here do not allow keeping training records".into(),
            ))
        } else {
            Err(StoreError::NotFound)
        }
    }

    /// Writes one training record in the caller's transaction, its expiry from the course's
    /// validity. (Each part is a separate fact of the record; a struct would only rename them.)
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_record(
        conn: &mut sqlx::AnyConnection,
        (user, course): (&str, &str),
        completed: Date,
        passed: bool,
        source: RecordSource,
        recorded_by: Option<&str>,
        certificate: Option<(&str, &str, &[u8])>,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        let validity: Option<i64> =
            sqlx::query_scalar("SELECT validity_months FROM training_courses WHERE id = $1")
                .bind(course)
                .fetch_one(&mut *conn)
                .await?;
        let expires = rules::expires_on(completed, validity.and_then(|m| u16::try_from(m).ok()));
        let id = new_id();
        sqlx::query(
            "INSERT INTO training_records (id, user_id, course_id, completed_on, passed, expires_on, source, certificate_name, certificate_type, certificate, recorded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&id)
        .bind(user)
        .bind(course)
        .bind(completed.to_string())
        .bind(i64::from(passed))
        .bind(expires.map(|d| d.to_string()))
        .bind(source.as_str())
        .bind(certificate.map(|c| c.0.to_string()))
        .bind(certificate.map(|c| c.1.to_string()))
        .bind(certificate.map(|c| c.2.to_vec()))
        .bind(recorded_by)
        .bind(micros(now))
        .execute(&mut *conn)
        .await?;
        Ok(id)
    }
}
