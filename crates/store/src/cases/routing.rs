//! Working procedures: routing rules that hand a category of case to the party that handles it,
//! and the hand-off history.

use super::*;
use crate::db::Write;

impl Cases<'_> {
    /// The nearest working procedure for `category` at or above the intake organisation, when it
    /// names another party.
    pub(crate) async fn route_for(
        self,
        intake_org: &str,
        category: Category,
    ) -> Result<Option<RouteMatch>, StoreError> {
        type Row = (String, String, String, Option<i64>, Option<i64>);
        let row: Option<Row> = sqlx::query_as(
            "WITH RECURSIVE up(id, parent_id, depth) AS ( \
                SELECT id, parent_id, 0 FROM organisations WHERE id = $1 \
                UNION ALL SELECT p.id, p.parent_id, up.depth + 1 FROM organisations p JOIN up ON p.id = up.parent_id \
             ) SELECT r.id, r.target_organisation_id, t.name, r.first_response_minutes, r.resolution_minutes \
             FROM routing_rules r JOIN up ON up.id = r.organisation_id JOIN organisations t ON t.id = r.target_organisation_id \
             WHERE r.category = $2 ORDER BY up.depth LIMIT 1",
        )
        .bind(intake_org)
        .bind(category.as_str())
        .fetch_optional(&self.store.pool)
        .await?;
        Ok(row.filter(|r| r.1 != intake_org).map(
            |(rule_id, target, target_name, first_response, resolution)| RouteMatch {
                rule_id,
                target,
                target_name,
                first_response,
                resolution,
            },
        ))
    }
    /// Sets the working procedure of an organisation the caller administers: cases of `category`
    /// taken in at or below it go to `target` (a party in the same brand), optionally with that
    /// party's own SLA targets.
    pub async fn set_routing_rule(
        self,
        scope: &Scope,
        org_id: &str,
        category: Category,
        target: &str,
        targets: Option<(i64, i64)>,
        now: OffsetDateTime,
    ) -> Result<RoutingRule, StoreError> {
        scope.require(org_id, Permission::OrgManage)?;
        let brands: Vec<(String, String)> =
            sqlx::query_as("SELECT id, brand_id FROM organisations WHERE id = $1 OR id = $2")
                .bind(org_id)
                .bind(target)
                .fetch_all(&self.store.pool)
                .await?;
        let brand_of = |id: &str| brands.iter().find(|b| b.0 == id).map(|b| b.1.clone());
        if brand_of(target).is_none() || brand_of(target) != brand_of(org_id) {
            return Err(ValidationErrors::single(
                "target_organisation_id",
                Rule::Unknown,
                "the target must be an organisation of the same brand",
            )
            .into());
        }
        if let Some((f, r)) = targets {
            if !(1..=60 * 24 * 30).contains(&f) || !(f..=60 * 24 * 90).contains(&r) {
                return Err(ValidationErrors::single(
                    "resolution_minutes",
                    Rule::Format,
                    "targets must be positive, and resolution no shorter than first response",
                )
                .into());
            }
        }
        let mut tx = self.store.begin().await?;
        sqlx::query("DELETE FROM routing_rules WHERE organisation_id = $1 AND category = $2")
            .bind(org_id)
            .bind(category.as_str())
            .execute(&mut *tx)
            .await?;
        let id = new_id();
        sqlx::query(
            "INSERT INTO routing_rules (id, organisation_id, category, target_organisation_id, first_response_minutes, resolution_minutes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(org_id)
        .bind(category.as_str())
        .bind(target)
        .bind(targets.map(|t| t.0))
        .bind(targets.map(|t| t.1))
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.routing_rules(scope)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(StoreError::NotFound)
    }
    /// The working procedures that apply within the caller's reach (theirs and those above).
    /// Ends the working procedure of a category at an organisation the caller administers: its
    /// cases stay where they are taken in from now on. `NotFound` when there was none.
    pub async fn remove_routing_rule(
        self,
        scope: &Scope,
        org_id: &str,
        category: Category,
    ) -> Result<(), StoreError> {
        scope.require(org_id, Permission::OrgManage)?;
        let gone =
            sqlx::query("DELETE FROM routing_rules WHERE organisation_id = $1 AND category = $2")
                .bind(org_id)
                .bind(category.as_str())
                .write(self.store)
                .await?
                .rows_affected();
        if gone == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn routing_rules(self, scope: &Scope) -> Result<Vec<RoutingRule>, StoreError> {
        type Row = (
            String,
            String,
            String,
            String,
            String,
            String,
            Option<i64>,
            Option<i64>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT r.id, r.organisation_id, o.name, r.category, r.target_organisation_id, t.name, r.first_response_minutes, r.resolution_minutes \
             FROM routing_rules r JOIN organisations o ON o.id = r.organisation_id JOIN organisations t ON t.id = r.target_organisation_id ORDER BY o.name, r.category",
        )
        .fetch_all(&self.store.pool)
        .await?;
        rows.into_iter()
            .filter(|r| scope.permits_record(&r.1, Permission::OrgRead))
            .map(
                |(id, org, org_name, category, target, target_name, f, res)| {
                    Ok(RoutingRule {
                        id,
                        organisation: Ref {
                            id: org,
                            label: org_name,
                        },
                        category: crate::decode(
                            "routing_rules",
                            "category",
                            &category,
                            Category::parse,
                        )?,
                        target: Ref {
                            id: target,
                            label: target_name,
                        },
                        first_response_minutes: f,
                        resolution_minutes: res,
                    })
                },
            )
            .collect()
    }
    /// The hand-offs of a case, oldest first.
    pub async fn case_handoffs(
        self,
        scope: &Scope,
        case_id: &str,
    ) -> Result<Vec<Handoff>, StoreError> {
        self.case_row(scope, case_id).await?;
        type Row = (
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT h.from_organisation_id, f.name, h.to_organisation_id, t.name, h.rule_id, h.note, h.at FROM case_handoffs h \
             JOIN organisations f ON f.id = h.from_organisation_id JOIN organisations t ON t.id = h.to_organisation_id \
             WHERE h.case_id = $1 ORDER BY h.at, h.id",
        )
        .bind(case_id)
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(f, fname, t, tname, rule_id, note, at)| Handoff {
                from: Ref {
                    id: f,
                    label: fname,
                },
                to: Ref {
                    id: t,
                    label: tname,
                },
                rule_id,
                note,
                at: from_micros(at),
            })
            .collect())
    }
    /// Hands a case to another party by hand: one named by a working procedure within the
    /// caller's reach. The new party's SLA targets apply from now on.
    pub async fn hand_off_case(
        self,
        scope: &Scope,
        case_id: &str,
        to: &str,
        note: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Case, StoreError> {
        let row = self.writable_case(scope, case_id).await?;
        let allowed = self
            .routing_rules(scope)
            .await?
            .into_iter()
            .any(|r| r.target.id == to);
        if !allowed || to == row.organisation_id {
            return Err(ValidationErrors::single(
                "to_organisation_id",
                Rule::NotAllowed,
                "hand cases only to a party a working procedure names",
            )
            .into());
        }
        let note = note
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| text_block("note", n, 1, 2000))
            .transpose()
            .map_err(ValidationErrors::from)?;
        let category = crate::decode("routing_rules", "category", &row.category, Category::parse)?;
        let priority = crate::decode("routing_rules", "priority", &row.priority, Priority::parse)?;
        let (fr, res) = self.policy_for(to, category, priority).await?;
        let to_name: String = sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
            .bind(to)
            .fetch_one(&self.store.pool)
            .await?;
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "UPDATE cases SET organisation_id = $1, first_response_minutes = $2, resolution_minutes = $3, owner_user_id = NULL, \
             updated_at = $4, version = version + 1 WHERE id = $5",
        )
        .bind(to)
        .bind(fr)
        .bind(res)
        .bind(micros(now))
        .bind(case_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO case_handoffs (id, case_id, from_organisation_id, to_organisation_id, rule_id, note, actor_user_id, at) \
             VALUES ($1, $2, $3, $4, NULL, $5, $6, $7)",
        )
        .bind(new_id())
        .bind(case_id)
        .bind(&row.organisation_id)
        .bind(to)
        .bind(note.clone())
        .bind(scope.user_id())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        fact(
            &mut tx,
            case_id,
            "handoff",
            None,
            &[("to", &to_name)],
            note.map(|n| n.to_string()),
            Some(scope.user_id()),
            now,
        )
        .await?;
        tx.commit().await?;
        // The party that handed it on keeps reading it (see `case_row`).
        self.get_case(scope, case_id, now).await
    }
}
