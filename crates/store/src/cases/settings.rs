//! The inbox's settings as its administrator reads and changes them on one page: opening hours,
//! SLA targets (all of them at once, in one transaction), inbound addresses and the web form.

use super::*;

impl Cases<'_> {
    /// How the organisation's inbox works (administrators of it).
    pub async fn inbox_settings(
        self,
        scope: &Scope,
        org_id: &str,
    ) -> Result<InboxSettings, StoreError> {
        scope.require(org_id, Permission::OrgManage)?;
        let hours: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT weekday, opens, closes FROM opening_hours WHERE organisation_id = $1 ORDER BY weekday, opens",
        )
        .bind(org_id)
        .fetch_all(&self.store.pool)
        .await?;
        let mut opening_hours = Vec::new();
        for (weekday, opens, closes) in hours {
            opening_hours.push(OpeningPeriod {
                weekday: u8::try_from(weekday).map_err(|_| StoreError::Corrupt {
                    table: "opening_hours",
                    column: "weekday",
                    value: weekday.to_string(),
                })?,
                opens,
                closes,
            });
        }
        let own: Vec<(String, String)> = sqlx::query_as(
            "SELECT category, priority FROM sla_policies WHERE organisation_id = $1",
        )
        .bind(org_id)
        .fetch_all(&self.store.pool)
        .await?;
        let mut sla = Vec::new();
        for category in Category::ALL {
            for priority in Priority::ALL {
                let (fr, res) = self.policy_for(org_id, *category, *priority).await?;
                sla.push(SlaTarget {
                    category: category.as_str().to_string(),
                    priority: priority.as_str().to_string(),
                    first_response_minutes: fr,
                    resolution_minutes: res,
                    own: own
                        .iter()
                        .any(|(c, p)| c == category.as_str() && p == priority.as_str()),
                });
            }
        }
        let inbound_addresses: Vec<String> = sqlx::query_scalar(
            "SELECT address FROM inbound_addresses WHERE organisation_id = $1 ORDER BY address",
        )
        .bind(org_id)
        .fetch_all(&self.store.pool)
        .await?;
        let web_intake: i64 =
            sqlx::query_scalar("SELECT web_intake FROM organisations WHERE id = $1")
                .bind(org_id)
                .fetch_one(&self.store.pool)
                .await?;
        Ok(InboxSettings {
            opening_hours,
            sla,
            inbound_addresses,
            web_intake: web_intake == 1,
        })
    }

    /// Sets several SLA targets at once: each is checked (errors name `sla.<i>`), and all are
    /// written in one transaction or none.
    pub async fn set_sla_policies(
        self,
        scope: &Scope,
        org_id: &str,
        targets: &[(Category, Priority, i64, i64)],
    ) -> Result<(), StoreError> {
        scope.require(org_id, Permission::OrgManage)?;
        let mut errs = ValidationErrors::default();
        for (i, (_, _, fr, res)) in targets.iter().enumerate() {
            if !(1..=60 * 24 * 30).contains(fr) || !(*fr..=60 * 24 * 90).contains(res) {
                errs.push(FieldError::new(
                    format!("sla.{i}.resolution_minutes"),
                    Rule::Format,
                    "targets must be positive, and resolution no shorter than first response",
                ));
            }
        }
        errs.into_result()?;
        let mut tx = self.store.begin().await?;
        for (category, priority, fr, res) in targets {
            sqlx::query("DELETE FROM sla_policies WHERE organisation_id = $1 AND category = $2 AND priority = $3")
                .bind(org_id)
                .bind(category.as_str())
                .bind(priority.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO sla_policies (organisation_id, category, priority, first_response_minutes, resolution_minutes) VALUES ($1, $2, $3, $4, $5)")
                .bind(org_id)
                .bind(category.as_str())
                .bind(priority.as_str())
                .bind(fr)
                .bind(res)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
