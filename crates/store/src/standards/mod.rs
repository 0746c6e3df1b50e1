//! Dealer standards (capability standards, issue 19): catalogue versions per brand headquarters
//! (the brand's standards) or market entity (its additions), imported as a JSON file and never
//! changed after; audits of service points (audits.rs: planned, the self-assessment and the
//! official answers side by side, evidence files, scores by `domain::standards::score`);
//! corrective actions from findings, their verification and the overdue escalation, and the
//! network view (actions.rs). Rules: `domain::standards`.

use std::collections::BTreeMap;

use aftersales_domain::org::Permission;
use aftersales_domain::standards::{
    CatalogueFile, Evidence, FigureRule, Requirement, Scoring, StandardCategory,
};
use aftersales_domain::validation::{FieldError, Rule};
use aftersales_domain::ValidationErrors;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::scope::Scope;
use crate::{decode, from_micros, micros, new_id, Ref};

pub use aftersales_api_types::standards::{
    ActionReview, ActionSubmission, AnswerInput, AnswersInput, CatalogueRequirement,
    CorrectiveAction, CorrectiveActionInput, EvidenceFile, NetworkPoint, ScorePoint,
    StandardAnswer, StandardAudit, StandardAuditInput, StandardAuditItem, StandardAuditSummary,
    StandardCatalogue,
};

mod actions;
mod audits;

crate::capability!(
    /// Dealer standards: catalogues, audits, corrective actions: `store.standards().audit(..)`.
    Standards, standards
);

/// An organisation and the ones above it, nearest first, with their kinds.
pub(crate) async fn lineage(
    pool: &sqlx::AnyPool,
    org: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut out = Vec::new();
    let mut cur = Some(org.to_string());
    while let Some(id) = cur.take() {
        if out.len() > 8 {
            break;
        }
        let row: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT kind, parent_id FROM organisations WHERE id = $1")
                .bind(&id)
                .fetch_optional(pool)
                .await?;
        let Some((kind, parent)) = row else { break };
        out.push((id, kind));
        cur = parent;
    }
    Ok(out)
}

pub(crate) async fn user_ref(pool: &sqlx::AnyPool, id: &str) -> Result<Ref, StoreError> {
    let name: Option<String> = sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(Ref {
        id: id.to_string(),
        label: name.unwrap_or_default(),
    })
}

pub(crate) async fn org_ref(pool: &sqlx::AnyPool, id: &str) -> Result<Ref, StoreError> {
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(Ref {
        id: id.to_string(),
        label: name.ok_or(StoreError::NotFound)?,
    })
}

fn json_map(
    table: &'static str,
    column: &'static str,
    v: &str,
) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_str(v).map_err(|_| StoreError::Corrupt {
        table,
        column,
        value: v.to_string(),
    })
}

type RequirementRow = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
    String,
    Option<String>,
);

pub(crate) const REQUIREMENT_COLUMNS: &str =
    "r.id, r.code, r.category, r.texts, r.weight, r.mandatory, r.evidence, r.scoring, r.figure";

pub(crate) fn requirement_of(row: RequirementRow) -> Result<CatalogueRequirement, StoreError> {
    let (id, code, category, texts, weight, mandatory, evidence, scoring, figure) = row;
    let figure: Option<FigureRule> = match figure {
        Some(f) => Some(serde_json::from_str(&f).map_err(|_| StoreError::Corrupt {
            table: "standard_requirements",
            column: "figure",
            value: f,
        })?),
        None => None,
    };
    Ok(CatalogueRequirement {
        id,
        code,
        category: decode(
            "standard_requirements",
            "category",
            &category,
            StandardCategory::parse,
        )?,
        text: json_map("standard_requirements", "texts", &texts)?,
        weight: u8::try_from(weight).unwrap_or(1),
        mandatory: mandatory != 0,
        evidence: decode(
            "standard_requirements",
            "evidence",
            &evidence,
            Evidence::parse,
        )?,
        scoring: decode("standard_requirements", "scoring", &scoring, Scoring::parse)?,
        figure,
    })
}

/// The requirements of catalogue versions, in catalogue then file order.
pub(crate) async fn requirements_of(
    pool: &sqlx::AnyPool,
    catalogues: &[&str],
) -> Result<Vec<CatalogueRequirement>, StoreError> {
    let mut out = Vec::new();
    for c in catalogues {
        let rows: Vec<RequirementRow> = sqlx::query_as(&format!(
            "SELECT {REQUIREMENT_COLUMNS} FROM standard_requirements r WHERE r.catalogue_id = $1 ORDER BY r.position"
        ))
        .bind(*c)
        .fetch_all(pool)
        .await?;
        for r in rows {
            out.push(requirement_of(r)?);
        }
    }
    Ok(out)
}

/// The latest catalogue version of the brand and of the market above a service point: (brand's,
/// market's additions). A brand without a catalogue cannot be audited.
pub(crate) async fn catalogues_for(
    pool: &sqlx::AnyPool,
    service_point: &str,
) -> Result<(Option<String>, Option<String>), StoreError> {
    let mut brand = None;
    let mut market = None;
    for (org, kind) in lineage(pool, service_point).await? {
        let latest: Option<String> = sqlx::query_scalar(
            "SELECT id FROM standard_catalogues WHERE organisation_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(&org)
        .fetch_optional(pool)
        .await?;
        match kind.as_str() {
            "brand-hq" if brand.is_none() => brand = latest,
            "market-entity" if market.is_none() => market = latest,
            _ => {}
        }
    }
    Ok((brand, market))
}

type CatalogueRow = (String, String, String, i64, String, i64, i64);

impl Standards<'_> {
    /// Whether a person's account is in use (a disabled one is never auditor or owner).
    pub(crate) async fn active(&self, user: &str) -> Result<bool, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = $1 AND disabled = 0")
                .bind(user)
                .fetch_one(&self.store.pool)
                .await?;
        Ok(n > 0)
    }

    /// Organisations whose catalogues the caller may read: those they reach with the right to
    /// see standards, and every organisation above them (their brand's and market's standards).
    async fn readable_owners(&self, scope: &Scope) -> Result<Vec<String>, StoreError> {
        let mut owners: Vec<String> = Vec::new();
        for org in scope.orgs_with(Permission::StandardsRead) {
            for (id, _) in lineage(&self.store.pool, &org).await? {
                if !owners.contains(&id) {
                    owners.push(id);
                }
            }
        }
        Ok(owners)
    }

    async fn catalogue_of(&self, row: CatalogueRow) -> Result<StandardCatalogue, StoreError> {
        let (id, org, kind, version, names, pass_mark, created_at) = row;
        let requirements = requirements_of(&self.store.pool, &[id.as_str()]).await?;
        Ok(StandardCatalogue {
            organisation: org_ref(&self.store.pool, &org).await?,
            scope: if kind == "brand-hq" {
                "brand"
            } else {
                "market"
            }
            .to_string(),
            version,
            name: json_map("standard_catalogues", "names", &names)?,
            pass_mark: u8::try_from(pass_mark).unwrap_or(100),
            created_at: from_micros(created_at),
            requirements,
            id,
        })
    }

    /// The latest version of every catalogue the caller may read (brand's first).
    pub async fn catalogues(&self, scope: &Scope) -> Result<Vec<StandardCatalogue>, StoreError> {
        scope.require_somewhere(Permission::StandardsRead)?;
        let mut out = Vec::new();
        for owner in self.readable_owners(scope).await? {
            let row: Option<CatalogueRow> = sqlx::query_as(
                "SELECT c.id, c.organisation_id, o.kind, c.version, c.names, c.pass_mark, c.created_at \
                 FROM standard_catalogues c JOIN organisations o ON o.id = c.organisation_id \
                 WHERE c.organisation_id = $1 ORDER BY c.version DESC LIMIT 1",
            )
            .bind(&owner)
            .fetch_optional(&self.store.pool)
            .await?;
            if let Some(r) = row {
                out.push(self.catalogue_of(r).await?);
            }
        }
        out.sort_by_key(|c| (c.scope != "brand", c.organisation.label.clone()));
        Ok(out)
    }

    /// One catalogue version (also an older one an audit used).
    pub async fn catalogue(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<StandardCatalogue, StoreError> {
        let row: Option<CatalogueRow> = sqlx::query_as(
            "SELECT c.id, c.organisation_id, o.kind, c.version, c.names, c.pass_mark, c.created_at \
             FROM standard_catalogues c JOIN organisations o ON o.id = c.organisation_id WHERE c.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound);
        };
        if !self.readable_owners(scope).await?.contains(&row.1) {
            return Err(StoreError::NotFound);
        }
        self.catalogue_of(row).await
    }

    /// A catalogue version as a file: what `import_catalogue` reads back.
    pub async fn export_catalogue(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<CatalogueFile, StoreError> {
        let c = self.catalogue(scope, id).await?;
        Ok(CatalogueFile {
            name: c.name,
            pass_mark: c.pass_mark,
            requirements: c
                .requirements
                .into_iter()
                .map(|r| Requirement {
                    code: r.code,
                    category: r.category,
                    text: r.text,
                    weight: r.weight,
                    mandatory: r.mandatory,
                    evidence: r.evidence,
                    scoring: r.scoring,
                    figure: r.figure,
                })
                .collect(),
        })
    }

    /// Reads a catalogue file (JSON) and publishes it as the organisation's next version.
    pub async fn import_catalogue_file(
        &self,
        scope: &Scope,
        organisation_id: &str,
        bytes: &[u8],
        now: OffsetDateTime,
    ) -> Result<StandardCatalogue, StoreError> {
        scope.require(organisation_id, Permission::StandardsManage)?;
        let file: CatalogueFile = serde_json::from_slice(bytes).map_err(|e| {
            ValidationErrors::single(
                "file",
                Rule::Format,
                format!("not a catalogue file (JSON): {e}"),
            )
        })?;
        self.import_catalogue(scope, organisation_id, &file, now)
            .await
    }

    /// Publishes a catalogue as the organisation's next version (a brand's headquarters: the
    /// brand's standards; a market entity: its additions). Earlier versions stay as they were,
    /// for the audits that used them.
    pub async fn import_catalogue(
        &self,
        scope: &Scope,
        organisation_id: &str,
        file: &CatalogueFile,
        now: OffsetDateTime,
    ) -> Result<StandardCatalogue, StoreError> {
        scope.require(organisation_id, Permission::StandardsManage)?;
        let kind: Option<String> =
            sqlx::query_scalar("SELECT kind FROM organisations WHERE id = $1")
                .bind(organisation_id)
                .fetch_optional(&self.store.pool)
                .await?;
        if !matches!(kind.as_deref(), Some("brand-hq" | "market-entity")) {
            return Err(ValidationErrors::from(
                FieldError::new(
                    "organisation_id",
                    Rule::NotAllowed,
                    "a catalogue is kept by a brand's headquarters or a market entity",
                )
                .hint("st-err-owner"),
            )
            .into());
        }
        file.check()?;
        let mut tx = self.store.begin().await?;
        let version: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(version), 0) + 1 AS BIGINT) FROM standard_catalogues WHERE organisation_id = $1",
        )
        .bind(organisation_id)
        .fetch_one(&mut *tx)
        .await?;
        let id = new_id();
        let names = serde_json::to_string(&file.name).unwrap_or_default();
        let inserted = sqlx::query(
            "INSERT INTO standard_catalogues (id, organisation_id, version, names, pass_mark, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (organisation_id, version) DO NOTHING",
        )
        .bind(&id)
        .bind(organisation_id)
        .bind(version)
        .bind(names)
        .bind(i64::from(file.pass_mark))
        .bind(scope.user_id())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            // Another version was published at the same moment.
            return Err(StoreError::Conflict { current: version });
        }
        for (i, r) in file.requirements.iter().enumerate() {
            let text: BTreeMap<&String, &str> = r.text.iter().map(|(k, v)| (k, v.trim())).collect();
            sqlx::query(
                "INSERT INTO standard_requirements (id, catalogue_id, position, code, category, texts, weight, mandatory, evidence, scoring, figure) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(new_id())
            .bind(&id)
            .bind(i64::try_from(i).unwrap_or(0))
            .bind(r.code.trim().to_ascii_uppercase())
            .bind(r.category.as_str())
            .bind(serde_json::to_string(&text).unwrap_or_default())
            .bind(i64::from(r.weight))
            .bind(i64::from(r.mandatory))
            .bind(r.evidence.as_str())
            .bind(r.scoring.as_str())
            .bind(r.figure.as_ref().and_then(|f| serde_json::to_string(f).ok()))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.catalogue(scope, &id).await
    }
}
