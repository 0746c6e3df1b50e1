//! The demo's KPIs: eighteen months of workshop history at Trondheim, Lisboa, Porto and Braga,
//! and at Coimbra and Faro, two more Portuguese service points this step adds (Lisboa and Porto
//! include pickup and delivery from four months back, and their customers are happier since),
//! the targets of Trondheim and of the Portuguese market, the costs per hour of both markets,
//! and the pilot that evaluates the Portuguese programme against Braga, Coimbra and Faro.

use aftersales_domain::kpi::history::{PointProfile, WorkshopHistorySpec};
use time::{Duration, OffsetDateTime};

use super::{history_targets, DEMO_PASSWORD};
use crate::auth::hash_password;
use crate::error::StoreError;
use crate::kpis::PointStaff;
use crate::user::NewUser;
use crate::{micros, new_id, Store};

/// The day the Portuguese pickup-and-delivery programme started in the demo: the first of the
/// month four months before `now`.
pub fn programme_start(now: OffsetDateTime) -> time::Date {
    let d = now.date() - Duration::days(120);
    d.replace_day(1).unwrap_or(d)
}

/// Two more Portuguese service points under the importer, each with a manager and a technician,
/// so the pilot has a control group of three. Their ids.
pub async fn more_service_points(
    store: &Store,
    now: OffsetDateTime,
) -> Result<Vec<String>, StoreError> {
    add_service_points(
        store,
        &[
            (
                "Coimbra",
                [("ines", "Inês Carvalho"), ("miguel", "Miguel Pinto")],
            ),
            (
                "Faro",
                [("beatriz", "Beatriz Gomes"), ("andre", "André Ribeiro")],
            ),
        ]
        .map(|(city, people)| {
            (
                city.to_string(),
                people.map(|(u, n)| (u.to_string(), n.to_string())),
            )
        }),
        now,
    )
    .await
}

/// Service points under the Portuguese importer, named after their cities, each with a service
/// manager and a technician ((username, name) of each, the demo password); their ids.
pub async fn add_service_points(
    store: &Store,
    points: &[(String, [(String, String); 2])],
    now: OffsetDateTime,
) -> Result<Vec<String>, StoreError> {
    let (parent, market): (String, Option<String>) = sqlx::query_as(
        "SELECT id, market_id FROM organisations WHERE name = 'Volvo Cars Portugal'",
    )
    .fetch_one(&store.pool)
    .await?;
    let hash = hash_password(DEMO_PASSWORD).await?;
    let mut ids = Vec::new();
    for (city, people) in points {
        let id = new_id();
        sqlx::query(
            "INSERT INTO organisations (id, parent_id, kind, name, brand_id, market_id, city, created_at, version) \
             VALUES ($1, $2, 'service-point', $3, 'brand-polestar', $4, $5, $6, 1)",
        )
        .bind(&id)
        .bind(&parent)
        .bind(format!("Polestar Service Point {city}"))
        .bind(&market)
        .bind(city)
        .bind(micros(now))
        .execute(&store.pool)
        .await?;
        for ((username, name), role) in people.iter().zip(["service-manager", "technician"]) {
            let email = format!("{username}@volvocars.example");
            let new = NewUser::parse(
                username,
                name,
                Some(&email),
                "pt",
                DEMO_PASSWORD,
                &[(id.clone(), role.to_string())],
            )?;
            store
                .users()
                .insert_user_with_hash(None, &new, &hash, now)
                .await?;
        }
        ids.push(id);
    }
    Ok(ids)
}

pub async fn staff_of(store: &Store, org: &str) -> Result<PointStaff, StoreError> {
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
    portugal
        .service_points
        .extend(more_service_points(store, now).await?);
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
                (profile(3.0, 0.11, 0.73, 3.1, 0.11), None),
                (profile(2.8, 0.12, 0.71, 2.9, 0.10), None),
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
    seed_pilot(store, &market_pt, &portugal.service_points, start, now).await
}

/// The Portuguese pickup-and-delivery pilot: Lisboa and Porto from the programme's start,
/// Braga, Coimbra and Faro as the control group (all the market's other points, as the matching
/// proposes them), set up by Ana.
async fn seed_pilot(
    store: &Store,
    market: &str,
    points: &[String],
    start: time::Date,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let ana: String = sqlx::query_scalar("SELECT id FROM users WHERE username = 'ana'")
        .fetch_one(&store.pool)
        .await?;
    let id = new_id();
    let mut tx = store.pool.begin().await?;
    sqlx::query(
        "INSERT INTO pilots (id, organisation_id, name, programme, start_date, months_before, control_method, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, 6, 'matched', $6, $7)",
    )
    .bind(&id)
    .bind(market)
    .bind("Recolha e entrega incluídas")
    .bind("Recolha e entrega do carro incluídas em todas as visitas à oficina em Lisboa e no Porto, sem custo para o cliente.")
    .bind(start.to_string())
    .bind(&ana)
    .bind(micros(now - time::Duration::days(130)))
    .execute(&mut *tx)
    .await?;
    for (i, kpi) in ["csat", "nps", "turnaround-days", "first-time-fix"]
        .iter()
        .enumerate()
    {
        sqlx::query("INSERT INTO pilot_kpis (pilot_id, kpi, position) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(*kpi)
            .bind(i as i64)
            .execute(&mut *tx)
            .await?;
    }
    for (i, point) in points.iter().enumerate() {
        sqlx::query(
            "INSERT INTO pilot_points (pilot_id, organisation_id, role) VALUES ($1, $2, $3)",
        )
        .bind(&id)
        .bind(point)
        .bind(if i < 2 { "pilot" } else { "control" })
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    // The roll-ups of the history, so the first dashboard need not add it all up.
    store.kpis().refresh(now).await
}
