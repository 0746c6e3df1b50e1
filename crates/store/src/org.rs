//! Brands, markets and the organisation tree (capability: org).

use crate::db::Write;
use aftersales_domain::calendar::Zone;
use aftersales_domain::org::{OrgKind, Permission};
use aftersales_domain::validation::{text, FieldError, Rule};
use aftersales_domain::ValidationErrors;
use time::OffsetDateTime;

use crate::db::placeholders;
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{from_micros, micros, new_id, Page};
pub use aftersales_api_types::org::{Brand, Market, Organisation};

crate::capability!(
    /// Organisations, brands and markets: `store.org().get_organisation(..)`.
    Org, org
);

#[derive(sqlx::FromRow)]
struct OrgRow {
    id: String,
    parent_id: Option<String>,
    kind: String,
    name: String,
    brand_id: String,
    brand_code: String,
    brand_name: String,
    market_code: Option<String>,
    city: Option<String>,
    created_at: i64,
    version: i64,
}

impl OrgRow {
    /// The parent is named only when the caller may see it: an id above one's reach is data too.
    pub(crate) fn into_org_for(self, scope: &Scope) -> Result<Organisation, StoreError> {
        let mut org = self.into_org()?;
        if org
            .parent_id
            .as_deref()
            .is_some_and(|p| !scope.permits(p, Permission::OrgRead))
        {
            org.parent_id = None;
        }
        Ok(org)
    }

    pub(crate) fn into_org(self) -> Result<Organisation, StoreError> {
        Ok(Organisation {
            kind: OrgKind::parse("kind", &self.kind)
                .map_err(|e| StoreError::Internal(e.message))?,
            id: self.id,
            parent_id: self.parent_id,
            name: self.name,
            brand: Brand {
                id: self.brand_id,
                code: self.brand_code,
                name: self.brand_name,
            },
            market_code: self.market_code,
            city: self.city,
            created_at: from_micros(self.created_at),
            version: self.version,
        })
    }
}

const ORG_SELECT: &str = "SELECT o.id, o.parent_id, o.kind, o.name, b.id AS brand_id, b.code AS brand_code, \
    b.name AS brand_name, m.code AS market_code, o.city, o.created_at, o.version \
    FROM organisations o JOIN brands b ON b.id = o.brand_id LEFT JOIN markets m ON m.id = o.market_id";

/// A new organisation, parsed from a form or JSON body.
#[derive(Debug, Clone)]
pub struct NewOrganisation {
    pub parent_id: String,
    pub kind: OrgKind,
    pub name: String,
    pub market_code: Option<String>,
    pub city: Option<String>,
}

impl NewOrganisation {
    pub fn parse(
        parent_id: &str,
        kind: &str,
        name: &str,
        market_code: Option<&str>,
        city: Option<&str>,
    ) -> Result<NewOrganisation, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        if parent_id.trim().is_empty() {
            errs.push(FieldError::new(
                "parent_id",
                Rule::Required,
                "parent_id is required",
            ));
        }
        let kind = errs.take(OrgKind::parse("kind", kind));
        let name = errs.take(text("name", name, 2, 120));
        let city = match city.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => errs.take(text("city", c, 1, 80)),
            None => None,
        };
        let market_code = market_code
            .map(|m| m.trim().to_ascii_uppercase())
            .filter(|m| !m.is_empty());
        errs.clone().into_result()?;
        match (kind, name) {
            (Some(kind), Some(name)) => Ok(NewOrganisation {
                parent_id: parent_id.trim().to_string(),
                kind,
                name,
                market_code,
                city,
            }),
            _ => Err(errs),
        }
    }
}

impl Org<'_> {
    /// The time zone an organisation's people read times in: its market's (Oslo when it has none).
    pub async fn zone_of(self, org_id: &str) -> Result<Zone, StoreError> {
        let tz: Option<(String,)> = sqlx::query_as(
            "SELECT m.time_zone FROM organisations o JOIN markets m ON m.id = o.market_id WHERE o.id = $1",
        )
        .bind(org_id)
        .fetch_optional(&self.store.pool)
        .await?;
        match tz {
            Some((tz,)) => crate::decode("markets", "time_zone", &tz, Zone::parse),
            None => Ok(Zone::OSLO),
        }
    }

    /// The organisation and its ancestors, nearest first.
    pub(crate) async fn lineage(self, org_id: &str) -> Result<Vec<String>, StoreError> {
        let mut out = vec![org_id.to_string()];
        let mut cur = org_id.to_string();
        for _ in 0..8 {
            let parent: Option<Option<String>> =
                sqlx::query_scalar("SELECT parent_id FROM organisations WHERE id = $1")
                    .bind(&cur)
                    .fetch_optional(&self.store.pool)
                    .await?;
            match parent.flatten() {
                Some(p) => {
                    out.push(p.clone());
                    cur = p;
                }
                None => break,
            }
        }
        Ok(out)
    }

    /// The brands of the organisations the caller can see.
    pub async fn list_brands(self, scope: &Scope) -> Result<Vec<Brand>, StoreError> {
        let ids = scope.orgs_with(Permission::OrgRead);
        let sql = format!(
            "SELECT id, code, name FROM brands WHERE id IN (SELECT brand_id FROM organisations WHERE id IN ({})) ORDER BY name",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query_as::<_, (String, String, String)>(&sql);
        for id in &ids {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&self.store.pool).await?;
        Ok(rows
            .into_iter()
            .map(|(id, code, name)| Brand { id, code, name })
            .collect())
    }

    /// Markets are reference data every signed-in user may read.
    pub async fn list_markets(self, _scope: &Scope) -> Result<Vec<Market>, StoreError> {
        let rows: Vec<(String, String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT id, code, name, currency, time_zone, languages, vat_regime FROM markets ORDER BY code",
        )
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, code, name, currency, time_zone, languages, vat_regime)| Market {
                    id,
                    code,
                    name,
                    currency,
                    time_zone,
                    languages: languages.split(',').map(str::to_string).collect(),
                    vat_regime,
                },
            )
            .collect())
    }

    /// The organisations the caller may see, ordered by id (creation), one page.
    pub async fn list_organisations(
        self,
        scope: &Scope,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<Page<Organisation>, StoreError> {
        let ids = scope.orgs_with(Permission::OrgRead);
        let sql = format!(
            "{ORG_SELECT} WHERE o.id IN ({}) AND o.id > ${} ORDER BY o.id LIMIT ${}",
            placeholders(1, ids.len()),
            ids.len() + 1,
            ids.len() + 2
        );
        let mut q = sqlx::query_as::<_, OrgRow>(&sql);
        for id in &ids {
            q = q.bind(id);
        }
        let rows = q
            .bind(cursor.unwrap_or(""))
            .bind(limit + 1)
            .fetch_all(&self.store.pool)
            .await?;
        let items = rows
            .into_iter()
            .map(|r| r.into_org_for(scope))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, limit, |o| o.id.clone()))
    }

    /// Every organisation the caller may see (for trees and pickers).
    pub async fn all_organisations(self, scope: &Scope) -> Result<Vec<Organisation>, StoreError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .list_organisations(scope, cursor.as_deref(), 200)
                .await?;
            all.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(all),
            }
        }
    }

    pub async fn get_organisation(
        self,
        scope: &Scope,
        id: &str,
    ) -> Result<Organisation, StoreError> {
        if !scope.permits(id, Permission::OrgRead) {
            return Err(StoreError::NotFound);
        }
        let sql = format!("{ORG_SELECT} WHERE o.id = $1");
        let row = sqlx::query_as::<_, OrgRow>(&sql)
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await?;
        row.ok_or(StoreError::NotFound)?.into_org_for(scope)
    }

    /// Creates an organisation below one the caller administers. Brand is inherited from the parent;
    /// the market too unless given.
    pub async fn create_organisation(
        self,
        scope: &Scope,
        new: &NewOrganisation,
        now: OffsetDateTime,
    ) -> Result<Organisation, StoreError> {
        let parent = self
            .get_organisation(scope, &new.parent_id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ValidationErrors::single(
                    "parent_id",
                    Rule::Unknown,
                    "parent_id names no organisation you can see",
                )
                .into(),
                e => e,
            })?;
        scope.require(&parent.id, Permission::OrgManage)?;
        if !parent.kind.may_have_child(new.kind) {
            return Err(ValidationErrors::single(
                "kind",
                Rule::NotAllowed,
                format!(
                    "a {} cannot be placed under a {}",
                    new.kind.as_str(),
                    parent.kind.as_str()
                ),
            )
            .into());
        }
        let market_id: Option<String> =
            match new.market_code.as_deref().or(parent.market_code.as_deref()) {
                Some(code) => Some(
                    sqlx::query_scalar("SELECT id FROM markets WHERE code = $1")
                        .bind(code)
                        .fetch_optional(&self.store.pool)
                        .await?
                        .ok_or_else(|| {
                            ValidationErrors::single(
                                "market_code",
                                Rule::Unknown,
                                format!("no market has the code {code}"),
                            )
                        })?,
                ),
                None => None,
            };
        if new.kind == OrgKind::MarketEntity && market_id.is_none() {
            return Err(ValidationErrors::single(
                "market_code",
                Rule::Required,
                "a market entity needs its market",
            )
            .into());
        }
        let id = new_id();
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "INSERT INTO organisations (id, parent_id, kind, name, brand_id, market_id, city, created_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)",
        )
        .bind(&id)
        .bind(&parent.id)
        .bind(new.kind.as_str())
        .bind(&new.name)
        .bind(&parent.brand.id)
        .bind(market_id)
        .bind(new.city.clone())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        crate::audit::record(
            &mut tx,
            crate::audit::NewEvent {
                kind: crate::audit::AuditKind::OrganisationCreated,
                actor_user_id: Some(scope.user_id()),
                organisation_id: Some(&id),
                detail: serde_json::json!({"name": new.name, "kind": new.kind.as_str(), "parent_id": parent.id}),
                ..Default::default()
            },
            now,
        )
        .await?;
        tx.commit().await?;
        // The caller's scope predates the new organisation; read it through the parent's reach.
        let sql = format!("{ORG_SELECT} WHERE o.id = $1");
        sqlx::query_as::<_, OrgRow>(&sql)
            .bind(&id)
            .fetch_one(&self.store.pool)
            .await?
            .into_org()
    }

    /// Renames an organisation the caller administers, guarded by its version.
    pub async fn rename_organisation(
        self,
        scope: &Scope,
        id: &str,
        name: &str,
        expected_version: i64,
    ) -> Result<Organisation, StoreError> {
        let name = text("name", name, 2, 120).map_err(ValidationErrors::from)?;
        let current = self.get_organisation(scope, id).await?;
        scope.require(id, Permission::OrgManage)?;
        let done = sqlx::query(
            "UPDATE organisations SET name = $1, version = version + 1 WHERE id = $2 AND version = $3",
        )
        .bind(&name)
        .bind(id)
        .bind(expected_version)
        .write(self.store)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                current: current.version,
            });
        }
        self.get_organisation(scope, id).await
    }
}
