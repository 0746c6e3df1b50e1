//! Operations for the command line (`aftersales user …`, `demo`): they act as the operator of the
//! installation, without a caller's scope. The web crate must never call `Store::cli`; its
//! `clippy.toml` forbids it, so no HTTP route reaches an unscoped query.

use aftersales_domain::org::{OrgKind, Role};
use aftersales_domain::user::{NewPassword, Username};
use aftersales_domain::validation::text;
use aftersales_domain::validation::Rule;
use aftersales_domain::ValidationErrors;
use time::OffsetDateTime;

use crate::audit::{record, AuditKind, NewEvent};
use crate::db::{Engine, Store};
use crate::error::StoreError;
use crate::user::NewUser;

/// An organisation as given on the command line (`parent` and `brand` by id, name or code).
#[derive(Clone, Copy)]
pub struct OrgSpec<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub brand: Option<&'a str>,
    pub parent: Option<&'a str>,
    pub market: Option<&'a str>,
    pub city: Option<&'a str>,
}

/// A market as given on the command line.
pub struct NewMarket<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub currency: &'a str,
    pub time_zone: &'a str,
    pub languages: &'a str,
    pub vat_regime: &'a str,
}

fn unique_as_field(
    r: Result<sqlx::any::AnyQueryResult, sqlx::Error>,
    field: &str,
    msg: &str,
) -> Result<(), StoreError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if StoreError::is_unique_violation(&e) => {
            Err(ValidationErrors::single(field, Rule::Unique, msg).into())
        }
        Err(e) => Err(e.into()),
    }
}

pub struct Cli<'a> {
    pub(crate) store: &'a Store,
}

/// A user as the operator sees it in `aftersales user list`.
#[derive(Debug, Clone)]
pub struct UserLine {
    pub username: String,
    pub display_name: String,
    pub disabled: bool,
    pub roles: Vec<(String, String)>,
}

impl Store {
    /// Operator access for the CLI. Not reachable from HTTP (see the module doc).
    pub fn cli(&self) -> Cli<'_> {
        Cli { store: self }
    }
}

impl<'a> Cli<'a> {
    pub(crate) fn store(&self) -> &'a Store {
        self.store
    }
}

impl Cli<'_> {
    /// Finds an organisation by id or exact name (case-insensitive).
    pub async fn find_organisation(
        &self,
        id_or_name: &str,
    ) -> Result<(String, String), StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, name FROM organisations WHERE id = $1 OR LOWER(name) = LOWER($1) ORDER BY id",
        )
        .bind(id_or_name.trim())
        .fetch_all(&self.store.pool)
        .await?;
        match rows.len() {
            1 => rows.into_iter().next().ok_or(StoreError::NotFound),
            0 => Err(ValidationErrors::single(
                "org",
                Rule::Unknown,
                format!("no organisation has the id or name {id_or_name:?}"),
            )
            .into()),
            _ => Err(ValidationErrors::single(
                "org",
                Rule::Unique,
                format!("several organisations are named {id_or_name:?}; give the id"),
            )
            .into()),
        }
    }

    pub async fn organisations(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT id, kind, name FROM organisations ORDER BY name")
                .fetch_all(&self.store.pool)
                .await?,
        )
    }

    /// Creates a user from the command line (recorded in the audit log with no actor).
    pub async fn add_user(&self, new: &NewUser, now: OffsetDateTime) -> Result<String, StoreError> {
        self.store.users().insert_user(None, new, now).await
    }

    pub async fn set_password(
        &self,
        username: &str,
        password: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let username = Username::parse("username", username).map_err(ValidationErrors::from)?;
        let password = NewPassword::parse("password", password).map_err(ValidationErrors::from)?;
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(username.as_str())
            .fetch_optional(&self.store.pool)
            .await?;
        let id = id.ok_or_else(|| {
            StoreError::from(ValidationErrors::single(
                "username",
                Rule::Unknown,
                format!("no user is named {}", username.as_str()),
            ))
        })?;
        let change = crate::auth::PasswordChange {
            user_id: &id,
            username: username.as_str(),
            actor: None,
            by: "cli",
            keep_session_csrf: None,
            // An administrator or the operator sets a password when an account is at risk: its tokens go too.
            revoke_tokens: true,
        };
        crate::auth::replace_password(&self.store.pool, &change, &password, now).await
    }

    pub async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let username = Username::parse("username", username).map_err(ValidationErrors::from)?;
        let mut tx = self.store.begin().await?;
        // The first statement writes (SQLite takes its write lock before anything is read).
        let id: Option<String> = sqlx::query_scalar(
            "UPDATE users SET disabled = $1, version = version + 1 WHERE username = $2 RETURNING id",
        )
        .bind(i64::from(disabled))
        .bind(username.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let id = id.ok_or_else(|| {
            StoreError::from(ValidationErrors::single(
                "username",
                Rule::Unknown,
                format!("no user is named {}", username.as_str()),
            ))
        })?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            // Revoked, not blocked: enabling the account again does not bring its tokens back.
            crate::auth::revoke_all_tokens(&mut tx, &id, now).await?;
        }
        record(
            &mut tx,
            NewEvent {
                kind: if disabled {
                    AuditKind::UserDisabled
                } else {
                    AuditKind::UserEnabled
                },
                subject_user_id: Some(&id),
                subject_username: Some(username.as_str()),
                detail: serde_json::json!({"by": "cli"}),
                ..Default::default()
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_users(&self) -> Result<Vec<UserLine>, StoreError> {
        let users: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT id, username, display_name, disabled FROM users ORDER BY username",
        )
        .fetch_all(&self.store.pool)
        .await?;
        let roles: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT m.user_id, o.name, m.role FROM memberships m JOIN organisations o ON o.id = m.organisation_id ORDER BY o.name",
        )
        .fetch_all(&self.store.pool)
        .await?;
        Ok(users
            .into_iter()
            .map(|(id, username, display_name, disabled)| UserLine {
                roles: roles
                    .iter()
                    .filter(|r| r.0 == id)
                    .map(|r| (r.1.clone(), r.2.clone()))
                    .collect(),
                username,
                display_name,
                disabled: disabled != 0,
            })
            .collect())
    }

    /// Grants a role from the command line (recorded in the audit log with no actor).
    pub async fn grant(
        &self,
        username: &str,
        org: &str,
        role: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let role = Role::parse("role", role).map_err(ValidationErrors::from)?;
        let (org_id, _) = self.find_organisation(org).await?;
        let user: Option<(String, String)> =
            sqlx::query_as("SELECT id, username FROM users WHERE username = $1")
                .bind(username.trim().to_ascii_lowercase())
                .fetch_optional(&self.store.pool)
                .await?;
        let (id, username) = user.ok_or_else(|| {
            StoreError::from(ValidationErrors::single(
                "username",
                Rule::Unknown,
                format!("no user is named {username}"),
            ))
        })?;
        let mut tx = self.store.begin().await?;
        crate::user::grant_in_tx(&mut tx, None, &id, &username, &org_id, role, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Registers a brand (`TESLA`, "Tesla"). Brands are data: a new one needs no code.
    pub async fn add_brand(&self, code: &str, name: &str) -> Result<(), StoreError> {
        let mut errs = ValidationErrors::default();
        let code = code.trim().to_ascii_uppercase();
        if code.len() < 2
            || code.len() > 20
            || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            errs.push(aftersales_domain::FieldError::new(
                "code",
                Rule::Format,
                "code must be 2-20 letters, digits or -",
            ));
        }
        let name = errs.take(text("name", name, 1, 80));
        errs.clone().into_result()?;
        let inserted = sqlx::query("INSERT INTO brands (id, code, name) VALUES ($1, $2, $3)")
            .bind(format!("brand-{}", code.to_ascii_lowercase()))
            .bind(&code)
            .bind(name.unwrap_or_default())
            .execute(&self.store.pool)
            .await;
        unique_as_field(
            inserted,
            "code",
            &format!("a brand with the code {code} exists"),
        )?;
        // A brand whose European terms are published starts with them.
        self.store
            .warranty()
            .seed_published_terms(
                &format!("brand-{}", code.to_ascii_lowercase()),
                &code.to_ascii_lowercase(),
                OffsetDateTime::now_utc(),
            )
            .await
    }

    /// Registers a market: country code, currency, time zone, languages, VAT regime.
    pub async fn add_market(&self, m: &NewMarket<'_>) -> Result<(), StoreError> {
        let mut errs = ValidationErrors::default();
        let code = m.code.trim().to_ascii_uppercase();
        if code.len() != 2 || !code.chars().all(|c| c.is_ascii_uppercase()) {
            errs.push(aftersales_domain::FieldError::new(
                "code",
                Rule::Format,
                "code must be an ISO 3166-1 alpha-2 country code like NO",
            ));
        }
        let currency = m.currency.trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            errs.push(aftersales_domain::FieldError::new(
                "currency",
                Rule::Format,
                "currency must be an ISO 4217 code like NOK",
            ));
        }
        // Only zones whose rules the product knows: times are computed in them (calendars, SLA,
        // invoice dates), and a stored zone it cannot read is an error everywhere it is used.
        let tz = m.time_zone.trim();
        if !tz.contains('/') || tz.chars().any(|c| c.is_whitespace()) {
            errs.push(aftersales_domain::FieldError::new(
                "time_zone",
                Rule::Format,
                "time_zone must be an IANA zone like Europe/Oslo",
            ));
        } else {
            errs.take(aftersales_domain::calendar::Zone::parse("time_zone", tz));
        }
        let mut langs = Vec::new();
        for l in m
            .languages
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            if let Some(l) = errs.take(aftersales_domain::i18n::Language::parse("languages", l)) {
                langs.push(l.code());
            }
        }
        if langs.is_empty() {
            errs.push(aftersales_domain::FieldError::new(
                "languages",
                Rule::Required,
                "languages needs at least one of nb, en, pt",
            ));
        }
        let name = errs.take(text("name", m.name, 1, 80));
        let vat = errs.take(text("vat_regime", m.vat_regime, 1, 40));
        errs.clone().into_result()?;
        let inserted = sqlx::query(
            "INSERT INTO markets (id, code, name, currency, time_zone, languages, vat_regime) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(format!("market-{}", code.to_ascii_lowercase()))
        .bind(&code)
        .bind(name.unwrap_or_default())
        .bind(&currency)
        .bind(tz)
        .bind(langs.join(","))
        .bind(vat.unwrap_or_default())
        .execute(&self.store.pool)
        .await;
        unique_as_field(
            inserted,
            "code",
            &format!("a market with the code {code} exists"),
        )
    }

    /// Creates an organisation from the command line: a brand headquarters (a root), or any kind
    /// under a parent. The first administrator of a new installation is then added with `add_user`.
    pub async fn add_organisation(
        &self,
        spec: &OrgSpec<'_>,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        let OrgSpec {
            name,
            kind,
            brand: brand_code,
            parent,
            market: market_code,
            city,
        } = *spec;
        let mut errs = ValidationErrors::default();
        let kind = errs.take(OrgKind::parse("kind", kind));
        let name = errs.take(text("name", name, 2, 120));
        errs.clone().into_result()?;
        let (Some(kind), Some(name)) = (kind, name) else {
            return Err(errs.into());
        };
        let (parent_id, parent_brand, parent_market) = match parent {
            Some(p) => {
                let (id, _) = self.find_organisation(p).await?;
                let (pkind, brand, market): (String, String, Option<String>) = sqlx::query_as(
                    "SELECT kind, brand_id, market_id FROM organisations WHERE id = $1",
                )
                .bind(&id)
                .fetch_one(&self.store.pool)
                .await?;
                let pkind = OrgKind::parse("parent", &pkind).map_err(ValidationErrors::from)?;
                if !pkind.may_have_child(kind) {
                    return Err(ValidationErrors::single(
                        "kind",
                        Rule::NotAllowed,
                        format!(
                            "a {} cannot be placed under a {}",
                            kind.as_str(),
                            pkind.as_str()
                        ),
                    )
                    .into());
                }
                (Some(id), Some(brand), market)
            }
            None if kind == OrgKind::BrandHq => (None, None, None),
            None => {
                return Err(ValidationErrors::single(
                    "parent",
                    Rule::Required,
                    "only a brand-hq may stand without a parent",
                )
                .into())
            }
        };
        if kind == OrgKind::BrandHq && parent_id.is_some() {
            return Err(ValidationErrors::single(
                "parent",
                Rule::NotAllowed,
                "a brand-hq is always a root",
            )
            .into());
        }
        let brand_id = match (parent_brand, brand_code) {
            (Some(b), _) => b,
            (None, Some(code)) => sqlx::query_scalar("SELECT id FROM brands WHERE code = $1")
                .bind(code.trim().to_ascii_uppercase())
                .fetch_optional(&self.store.pool)
                .await?
                .ok_or_else(|| {
                    ValidationErrors::single(
                        "brand",
                        Rule::Unknown,
                        format!("no brand has the code {code}; add it with `aftersales brand add`"),
                    )
                })?,
            (None, None) => {
                return Err(ValidationErrors::single(
                    "brand",
                    Rule::Required,
                    "a brand-hq needs --brand",
                )
                .into())
            }
        };
        let market_id: Option<String> = match market_code {
            Some(code) => Some(
                sqlx::query_scalar("SELECT id FROM markets WHERE code = $1")
                    .bind(code.trim().to_ascii_uppercase())
                    .fetch_optional(&self.store.pool)
                    .await?
                    .ok_or_else(|| ValidationErrors::single("market", Rule::Unknown, format!("no market has the code {code}; add it with `aftersales market add`")))?,
            ),
            None => parent_market,
        };
        if kind == OrgKind::MarketEntity && market_id.is_none() {
            return Err(ValidationErrors::single(
                "market",
                Rule::Required,
                "a market-entity needs --market",
            )
            .into());
        }
        let id = crate::new_id();
        sqlx::query(
            "INSERT INTO organisations (id, parent_id, kind, name, brand_id, market_id, city, created_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)",
        )
        .bind(&id)
        .bind(parent_id)
        .bind(kind.as_str())
        .bind(&name)
        .bind(brand_id)
        .bind(market_id)
        .bind(city.map(str::trim).filter(|c| !c.is_empty()).map(str::to_string))
        .bind(crate::micros(now))
        .execute(&self.store.pool)
        .await?;
        Ok(id)
    }

    /// The size of the warranty history: vehicles, claims, claim lines (what a benchmark wrote).
    pub async fn history_size(&self) -> Result<(i64, i64, i64), StoreError> {
        let mut out = [0_i64; 3];
        for (i, sql) in [
            "SELECT COUNT(*) FROM vehicles",
            "SELECT COUNT(*) FROM warranty_claims",
            "SELECT COUNT(*) FROM warranty_claim_lines",
        ]
        .iter()
        .enumerate()
        {
            out[i] = sqlx::query_scalar(sql).fetch_one(&self.store.pool).await?;
        }
        Ok((out[0], out[1], out[2]))
    }

    /// The size of a workshop history (the KPI benchmark): repair orders, their events, jobs,
    /// cases and answered surveys.
    pub async fn workshop_history_size(&self) -> Result<[i64; 5], StoreError> {
        let mut out = [0_i64; 5];
        for (i, sql) in [
            "SELECT COUNT(*) FROM repair_orders",
            "SELECT COUNT(*) FROM ro_events",
            "SELECT COUNT(*) FROM ro_jobs",
            "SELECT COUNT(*) FROM cases",
            "SELECT COUNT(*) FROM surveys WHERE answered_at IS NOT NULL",
        ]
        .iter()
        .enumerate()
        {
            out[i] = sqlx::query_scalar(sql).fetch_one(&self.store.pool).await?;
        }
        Ok(out)
    }

    /// Settles the database after a bulk load as autovacuum would soon after: on PostgreSQL
    /// `VACUUM ANALYZE` (planner statistics, and the visibility map that lets index-only scans
    /// skip the table); on SQLite `ANALYZE`.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        let sql = match self.store.engine() {
            Engine::Postgres => "VACUUM ANALYZE",
            Engine::Sqlite => "ANALYZE",
        };
        sqlx::query(sql).execute(&self.store.pool).await?;
        Ok(())
    }

    /// The status-page tokens (`/s/{token}`) of the newest repair orders of a service point, given
    /// by id or exact name: what support staff resend to a customer, and what the load test opens.
    pub async fn status_tokens(&self, org: &str, limit: i64) -> Result<Vec<String>, StoreError> {
        let (org_id, _) = self.find_organisation(org).await?;
        Ok(sqlx::query_scalar(
            "SELECT public_token FROM repair_orders WHERE organisation_id = $1 \
             ORDER BY created_at DESC, id LIMIT $2",
        )
        .bind(&org_id)
        .bind(limit)
        .fetch_all(&self.store.pool)
        .await?)
    }

    /// Empties a PostgreSQL database for a demo reset (the caller asked for it explicitly).
    /// SQLite demo databases are reset by removing the file before connecting.
    pub async fn wipe_postgres(&self) -> Result<(), StoreError> {
        if self.store.engine() != Engine::Postgres {
            return Err(StoreError::Internal(
                "wipe_postgres on a non-PostgreSQL store".into(),
            ));
        }
        sqlx::query("DROP SCHEMA public CASCADE")
            .execute(&self.store.pool)
            .await?;
        sqlx::query("CREATE SCHEMA public")
            .execute(&self.store.pool)
            .await?;
        Ok(())
    }
}
