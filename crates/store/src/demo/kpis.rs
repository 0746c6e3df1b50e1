//! The demo's KPIs: eighteen months of workshop history at Trondheim, Lisboa, Porto and Braga
//! (Lisboa and Porto include pickup and delivery from four months back, and their customers
//! are happier since), the targets of Trondheim and of the Portuguese market, the costs per hour
//! of both markets.

use aftersales_domain::kpi::history::{PointProfile, WorkshopHistorySpec};
use time::{Duration, OffsetDateTime};

use super::history_targets;
use crate::error::StoreError;
use crate::kpis::PointStaff;
use crate::{micros, new_id, Store};

/// The day the Portuguese pickup-and-delivery programme started in the demo: the first of the
/// month four months before `now`.
pub fn programme_start(now: OffsetDateTime) -> time::Date {
    let d = now.date() - Duration::days(120);
    d.replace_day(1).unwrap_or(d)
}

async fn staff_of(store: &Store, org: &str) -> Result<PointStaff, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT user_id, role FROM memberships WHERE organisation_id = $1 ORDER BY user_id",
    )
    .bind(org)
    .fetch_all(&store.pool)
    .await?;
    let of = |role: &str| {
        rows.iter()
            .filter(|(_, r)| r == role)
            .map(|(u, _)| u.clone())
            .collect::<Vec<_>>()
    };
    let mut advisors = of("service-advisor");
    advisors.extend(of("service-manager"));
    Ok(PointStaff {
        advisors,
        technicians: of("technician"),
        drivers: of("valet-driver"),
    })
}

fn profile(per_day: f64, comeback: f64, happy: f64, turnaround: f64, pickup: f64) -> PointProfile {
    PointProfile {
        per_day,
        comeback,
        happy,
        answers: 0.45,
        turnaround_days: turnaround,
        pickup,
        punctual: 0.88,
        efficiency: 1.05,
        cases_per_day: per_day * 0.8,
        remote_fix: 0.45,
        responsive: 0.85,
    }
}

/// Writes the history, the targets and the costs (after [`super::seed`]).
pub async fn seed_kpis(store: &Store, now: OffsetDateTime) -> Result<(), StoreError> {
    let (mut portugal, mut norway) = history_targets(store).await?;
    // Cars of their own, apart from the warranty history's.
    portugal.models = vec![
        ("Polestar 2".into(), "LPSED3KA0RL000000".into(), 2024),
        ("Polestar 4".into(), "LPSED4KA0SL000000".into(), 2025),
    ];
    portugal.prefix = "PT".into();
    norway.models = vec![
        ("Model Y".into(), "XP7YGCEL0SB000000".into(), 2025),
        ("Model 3".into(), "LRW3E7EB0SC000000".into(), 2025),
    ];
    norway.prefix = "NO".into();
    let start = programme_start(now);
    let end = now.date();
    let k = store.kpis();
    let trondheim = profile(7.0, 0.07, 0.84, 2.2, 0.35);
    let norway_staff = vec![staff_of(store, &norway.service_points[0]).await?];
    k.write_history(
        &WorkshopHistorySpec {
            end,
            days: 540,
            points: vec![(trondheim, None)],
            vehicles_per_point: 1_200,
            technicians: 4,
            seed: 4_711,
        },
        &norway,
        &norway_staff,
        now,
    )
    .await?;
    let before = |per_day| profile(per_day, 0.10, 0.72, 3.0, 0.12);
    let after = |per_day| PointProfile {
        happy: 0.85,
        turnaround_days: 2.6,
        pickup: 0.8,
        ..before(per_day)
    };
    let mut pt_staff = Vec::new();
    for sp in &portugal.service_points {
        pt_staff.push(staff_of(store, sp).await?);
    }
    k.write_history(
        &WorkshopHistorySpec {
            end,
            days: 540,
            points: vec![
                (before(4.0), Some((start, after(4.0)))),
                (before(3.5), Some((start, after(3.5)))),
                (profile(2.5, 0.13, 0.70, 3.2, 0.10), None),
            ],
            vehicles_per_point: 700,
            technicians: 3,
            seed: 1_755,
        },
        &portugal,
        &pt_staff,
        now,
    )
    .await?;

    // Targets from the start of the year; costs per hour.
    let year = time::Date::from_calendar_date(end.year(), time::Month::January, 1)
        .unwrap_or(end)
        .to_string();
    let targets: [(&str, f64, f64); 9] = [
        ("first-time-fix", 92.0, 88.0),
        ("comeback", 8.0, 12.0),
        ("turnaround-days", 2.5, 3.5),
        ("csat", 85.0, 78.0),
        ("nps", 50.0, 30.0),
        ("response-sla-attainment", 90.0, 80.0),
        ("logistics-on-time", 90.0, 80.0),
        ("technician-efficiency", 100.0, 90.0),
        ("technician-productivity", 85.0, 75.0),
    ];
    let market_pt: String =
        sqlx::query_scalar("SELECT id FROM organisations WHERE name = 'Polestar Portugal'")
            .fetch_one(&store.pool)
            .await?;
    let mut tx = store.pool.begin().await?;
    for org in [&norway.service_points[0], &market_pt] {
        for (kpi, green, amber) in targets {
            sqlx::query("INSERT INTO kpi_targets (id, organisation_id, kpi, valid_from, green, amber, set_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(new_id())
                .bind(org)
                .bind(kpi)
                .bind(&year)
                .bind(green.to_string())
                .bind(amber.to_string())
                .bind(micros(now))
                .execute(&mut *tx)
                .await?;
        }
    }
    for (org, tech, driver, currency) in [
        (&norway.service_points[0], 45_000_i64, 30_000_i64, "NOK"),
        (&market_pt, 2_800, 1_500, "EUR"),
    ] {
        sqlx::query("INSERT INTO kpi_costs (organisation_id, technician_minor, driver_minor, currency, set_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(org)
            .bind(tech)
            .bind(driver)
            .bind(currency)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
