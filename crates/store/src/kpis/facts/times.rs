//! Technicians' time: attendance from their shifts less absences, and the time clocked on
//! repair orders, read from the clocked-time roll-ups (migration 34).

use super::*;

/// Technicians' attendance over a period (their weekly shifts less absences, up to today) and
/// the time they clocked on repair orders in it.
pub(crate) async fn load_times(
    pool: &sqlx::AnyPool,
    orgs_tree: &Orgs,
    orgs: &[String],
    window: Period,
    now: OffsetDateTime,
) -> Result<Vec<TechnicianTime>, StoreError> {
    let mut out = Vec::new();
    if orgs.is_empty() {
        return Ok(out);
    }
    let n = orgs.len();
    let in_orgs = placeholders(1, n);
    let binds: Vec<B> = orgs.iter().cloned().map(B::S).collect();
    let sql = format!(
        "SELECT t.user_id, t.organisation_id, u.display_name FROM technicians t JOIN users u ON u.id = t.user_id \
         WHERE t.organisation_id IN ({in_orgs})"
    );
    let techs: Vec<(String, String, String)> = bind_all_as(sqlx::query_as(&sql), &binds)
        .fetch_all(pool)
        .await?;
    if techs.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT user_id, organisation_id, weekday, starts, ends FROM technician_shifts WHERE organisation_id IN ({in_orgs})"
    );
    let shifts: Vec<(String, String, i64, String, String)> =
        bind_all_as(sqlx::query_as(&sql), &binds)
            .fetch_all(pool)
            .await?;
    let (from, _) = window.bounds();
    let to = (window.to.min(now.date() - Duration::days(1)) + Duration::days(1))
        .midnight()
        .assume_utc();
    let mut b2 = binds.clone();
    b2.extend([B::I(micros(from)), B::I(micros(to))]);
    let sql = format!(
        "SELECT a.user_id, a.starts_at, a.ends_at FROM technician_absences a WHERE a.user_id IN \
         (SELECT t.user_id FROM technicians t WHERE t.organisation_id IN ({in_orgs})) AND a.ends_at > ${} AND a.starts_at < ${}",
        n + 1,
        n + 2
    );
    let absences: Vec<(String, i64, i64)> = bind_all_as(sqlx::query_as(&sql), &b2)
        .fetch_all(pool)
        .await?;
    // Only whole days: today's shift is not over (and its clockings wait with it).
    let last_day = window.to.min(now.date() - Duration::days(1));
    let clocked = crate::kpis::rollups::clocked(pool, orgs, window.from, last_day).await?;
    let today = now.date();
    let worked = Period {
        from: window.from,
        to: window.to.min(today - Duration::days(1)),
    };
    for (user, org, name) in techs {
        let pattern: Vec<(u8, i64, i64)> = shifts
            .iter()
            .filter(|s| s.0 == user && s.1 == org)
            .map(|s| {
                (
                    u8::try_from(s.2 + 1).unwrap_or(0),
                    time_of(&s.3),
                    time_of(&s.4),
                )
            })
            .collect();
        let off: Vec<(Date, Date)> = absences
            .iter()
            .filter(|a| a.0 == user)
            .map(|a| {
                (
                    from_micros(a.1).date(),
                    (from_micros(a.2) - Duration::microseconds(1)).date(),
                )
            })
            .collect();
        let attendance = if worked.from <= worked.to {
            kpi::attendance_seconds(&pattern, &off, worked)
        } else {
            0
        };
        let clocked_seconds = clocked
            .get(&(user.clone(), org.clone()))
            .copied()
            .unwrap_or(0)
            / 1_000_000;
        out.push(TechnicianTime {
            technician: user,
            name,
            dims: orgs_tree.dims(&org),
            attendance_seconds: attendance,
            clocked_seconds,
        });
    }
    Ok(out)
}
