//! Business calendars per service point (opening hours, holidays), SLA policies and the rules that
//! escalate a case; the sweep that marks breaches.

use super::*;

impl Cases<'_> {
    /// The business calendar of an organisation: its opening hours (Monday–Friday 08:00–16:00
    /// when none are set), its market's time zone and public holidays.
    pub async fn calendar_for(
        self,
        org_id: &str,
        around: OffsetDateTime,
    ) -> Result<BusinessCalendar, StoreError> {
        let market: Option<(String, String)> = sqlx::query_as(
            "SELECT m.code, m.time_zone FROM organisations o JOIN markets m ON m.id = o.market_id WHERE o.id = $1",
        )
        .bind(org_id)
        .fetch_optional(&self.store.pool)
        .await?;
        let (country, tz) = market.unwrap_or_else(|| ("NO".into(), "Europe/Oslo".into()));
        let zone = crate::decode("markets", "time_zone", &tz, Zone::parse)?;
        let year = around.year();
        let mut cal = BusinessCalendar::weekdays(
            zone,
            Time::from_hms(8, 0, 0).unwrap_or(Time::MIDNIGHT),
            Time::from_hms(16, 0, 0).unwrap_or(Time::MIDNIGHT),
            &country,
            year - 1..=year + 2,
        );
        let hours: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT weekday, opens, closes FROM opening_hours WHERE organisation_id = $1 ORDER BY weekday, opens")
                .bind(org_id)
                .fetch_all(&self.store.pool)
                .await?;
        if !hours.is_empty() {
            cal.week = Default::default();
            for (day, o, c) in hours {
                if let (Some(o), Some(c), Ok(d)) =
                    (parse_hm(&o), parse_hm(&c), usize::try_from(day))
                {
                    if let Some(slot) = cal.week.get_mut(d) {
                        slot.push((o, c));
                    }
                }
            }
        }
        Ok(cal)
    }
    /// Sets the opening hours of an organisation the caller administers (`weekday` 0 = Monday).
    pub async fn set_opening_hours(
        self,
        scope: &Scope,
        org_id: &str,
        hours: &[(u8, Time, Time)],
    ) -> Result<(), StoreError> {
        scope.require(org_id, Permission::OrgManage)?;
        for (i, (d, o, c)) in hours.iter().enumerate() {
            let overlaps = hours
                .iter()
                .enumerate()
                .any(|(j, (d2, o2, c2))| j != i && d2 == d && o < c2 && o2 < c);
            if overlaps {
                return Err(ValidationErrors::single(
                    format!("hours.{i}"),
                    Rule::NotAllowed,
                    "opening hours of one day must not overlap",
                )
                .into());
            }
            if *d > 6 || o >= c {
                return Err(ValidationErrors::single(
                    format!("hours.{i}"),
                    Rule::Format,
                    "each day needs 0–6 and opening before closing",
                )
                .into());
            }
        }
        let mut tx = self.store.begin().await?;
        sqlx::query("DELETE FROM opening_hours WHERE organisation_id = $1")
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        for (d, o, c) in hours {
            sqlx::query("INSERT INTO opening_hours (organisation_id, weekday, opens, closes) VALUES ($1, $2, $3, $4)")
                .bind(org_id)
                .bind(i64::from(*d))
                .bind(format!("{:02}:{:02}", o.hour(), o.minute()))
                .bind(format!("{:02}:{:02}", c.hour(), c.minute()))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
    /// Sets an SLA policy of an organisation the caller administers.
    pub async fn set_sla_policy(
        self,
        scope: &Scope,
        org_id: &str,
        category: Category,
        priority: Priority,
        first_response_minutes: i64,
        resolution_minutes: i64,
    ) -> Result<(), StoreError> {
        scope.require(org_id, Permission::OrgManage)?;
        if !(1..=60 * 24 * 30).contains(&first_response_minutes)
            || !(first_response_minutes..=60 * 24 * 90).contains(&resolution_minutes)
        {
            return Err(ValidationErrors::single(
                "resolution_minutes",
                Rule::Format,
                "targets must be positive, and resolution no shorter than first response",
            )
            .into());
        }
        self.set_sla_policies(
            scope,
            org_id,
            &[(
                category,
                priority,
                first_response_minutes,
                resolution_minutes,
            )],
        )
        .await
    }
    /// The SLA targets for a case: the handling organisation's policy, else the nearest above, else
    /// the built-in default.
    pub(crate) async fn policy_for(
        self,
        org_id: &str,
        category: Category,
        priority: Priority,
    ) -> Result<(i64, i64), StoreError> {
        let found: Option<(i64, i64)> = sqlx::query_as(
            "WITH RECURSIVE up(id, parent_id, depth) AS ( \
                SELECT id, parent_id, 0 FROM organisations WHERE id = $1 \
                UNION ALL SELECT p.id, p.parent_id, up.depth + 1 FROM organisations p JOIN up ON p.id = up.parent_id \
             ) SELECT s.first_response_minutes, s.resolution_minutes FROM sla_policies s JOIN up ON up.id = s.organisation_id \
             WHERE s.category = $2 AND s.priority = $3 ORDER BY up.depth LIMIT 1",
        )
        .bind(org_id)
        .bind(category.as_str())
        .bind(priority.as_str())
        .fetch_optional(&self.store.pool)
        .await?;
        Ok(found.unwrap_or_else(|| default_policy(priority)))
    }
    pub(crate) async fn apply_sla_rules(
        self,
        c: &Case,
        fr_breached: bool,
        res_breached: bool,
        escalated: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        let mut changed = false;
        for (timer, already, column, label) in [
            (
                &c.first_response,
                fr_breached,
                "first_response_breached_at",
                "first-response",
            ),
            (
                &c.resolution,
                res_breached,
                "resolution_breached_at",
                "resolution",
            ),
        ] {
            if timer.state == Timer::Breached && !already {
                let sql =
                    format!("UPDATE cases SET {column} = $1 WHERE id = $2 AND {column} IS NULL");
                let done = sqlx::query(&sql)
                    .bind(micros(now))
                    .bind(&c.id)
                    .execute(&mut *tx)
                    .await?;
                // Two readers at once record the breach once.
                if done.rows_affected() == 0 {
                    continue;
                }
                let minutes = timer.minutes.to_string();
                fact(
                    &mut tx,
                    &c.id,
                    "breach",
                    None,
                    &[("timer", label), ("minutes", &minutes)],
                    None,
                    None,
                    now,
                )
                .await?;
                changed = true;
            }
        }
        let at_risk = [&c.first_response, &c.resolution]
            .iter()
            .any(|t| matches!(t.state, Timer::AtRisk | Timer::Breached));
        if at_risk && !escalated {
            sqlx::query("UPDATE cases SET escalated_at = $1, escalation_reason = 'sla-at-risk' WHERE id = $2 AND escalated_at IS NULL")
                .bind(micros(now))
                .bind(&c.id)
                .execute(&mut *tx)
                .await?;
            fact(
                &mut tx,
                &c.id,
                "escalated",
                None,
                &[("reason", "sla-at-risk")],
                None,
                None,
                now,
            )
            .await?;
            changed = true;
        }
        if changed {
            tx.commit().await?;
        }
        Ok(())
    }
}

impl crate::cli::Cli<'_> {
    /// The SLA sweep the server runs every minute: applies the SLA rules (breaches recorded,
    /// at-risk cases escalated) to every active case, whether or not anyone opens an inbox.
    /// Returns how many active cases were looked at.
    pub async fn sweep_sla(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let store = self.store();
        let sql = format!("{CASE_SELECT} WHERE c.status IN ('new', 'open', 'waiting-for-customer') ORDER BY c.created_at LIMIT 5000");
        let rows = sqlx::query_as::<_, CaseRow>(&sql)
            .fetch_all(&store.pool)
            .await?;
        let n = rows.len();
        for row in rows {
            let flags = (
                row.first_response_breached_at.is_some(),
                row.resolution_breached_at.is_some(),
                row.escalated_at.is_some(),
            );
            let case = store.cases().case_from_row(row, now).await?;
            store
                .cases()
                .apply_sla_rules(&case, flags.0, flags.1, flags.2, now)
                .await?;
        }
        Ok(n)
    }
}
