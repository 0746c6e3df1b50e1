//! KPIs on both engines: figures recomputed from the raw rows of a generated workshop history
//! (CSAT, turnaround), first-time fix and comebacks adding up, a breakdown whose parts add up to
//! the whole, the drill-down to the repair orders, a market manager never reaching another
//! market's figures, targets with their red/amber/green rule and their checks, costs per hour.

use aftersales_domain::kpi::history::{PointProfile, WorkshopHistorySpec};
use aftersales_domain::kpi::{Dimension, Kpi, KpiItemKind, Period, Rag};
use aftersales_domain::Rule;
use aftersales_store::kpis::{KpiCostsInput, KpiQuery, KpiTargetInput, PointStaff};
use aftersales_store::{demo, Store, StoreError};
use time::macros::{date, datetime};
use time::Duration;

fn query(from: time::Date, to: time::Date) -> KpiQuery {
    KpiQuery {
        period: Period { from, to },
        organisation: None,
        model: None,
        pay_type: None,
    }
}

pub async fn kpis_are_computed_from_what_happened(store: &Store) {
    let t0 = datetime!(2026-11-21 09:00 UTC);
    demo::seed(store, t0 - Duration::hours(1)).await.unwrap();
    let kari = crate::workshop::caller(store, "kari", t0).await;
    let ana = crate::workshop::caller(store, "ana", t0).await;
    let ingrid = crate::workshop::caller(store, "ingrid", t0).await;
    let (_, mut norway) = demo::history_targets(store).await.unwrap();
    norway.models = vec![("Model Y".into(), "XP7YGCEL0SB000000".into(), 2025)];
    let trondheim = norway.service_points[0].clone();
    let techs: Vec<String> = sqlx::query_scalar(
        "SELECT user_id FROM technicians WHERE organisation_id = $1 ORDER BY user_id",
    )
    .bind(&trondheim)
    .fetch_all(aftersales_store::testing::pool(store))
    .await
    .unwrap();
    assert!(!techs.is_empty());
    let written = store
        .kpis()
        .write_history(
            &WorkshopHistorySpec {
                end: t0.date(),
                days: 90,
                points: vec![(
                    PointProfile {
                        per_day: 3.0,
                        comeback: 0.15,
                        happy: 0.7,
                        answers: 0.6,
                        turnaround_days: 2.0,
                        pickup: 0.4,
                        punctual: 0.8,
                        efficiency: 1.1,
                        cases_per_day: 2.0,
                        remote_fix: 0.5,
                        responsive: 0.8,
                    },
                    None,
                )],
                vehicles_per_point: 40,
                technicians: techs.len(),
                seed: 99,
            },
            &norway,
            &[PointStaff {
                advisors: vec![kari.scope.user_id().to_string()],
                technicians: techs.clone(),
                drivers: vec![],
            }],
            t0,
        )
        .await
        .unwrap();
    assert!(written > 100, "{written}");
    let k = store.kpis();
    let october = query(date!(2026 - 10 - 01), date!(2026 - 10 - 31));
    let (from, to) = october.period.bounds();
    let us = |t: time::OffsetDateTime| (t.unix_timestamp_nanos() / 1_000) as i64;

    // CSAT over October, against the raw answers.
    let (happy, all): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN csat >= 4 THEN 1 ELSE 0 END), 0) AS BIGINT), COUNT(*) FROM surveys \
         WHERE organisation_id = $1 AND csat IS NOT NULL AND answered_at >= $2 AND answered_at < $3",
    )
    .bind(&trondheim)
    .bind(us(from))
    .bind(us(to))
    .fetch_one(aftersales_store::testing::pool(store))
    .await
    .unwrap();
    assert!(all > 10, "{all}");
    let r = k
        .report(
            &kari.scope,
            Kpi::Csat,
            &october,
            Dimension::Technician,
            500,
            t0,
        )
        .await
        .unwrap();
    let csat = r.value.figure.value.unwrap();
    assert!(
        (csat - happy as f64 * 100.0 / all as f64).abs() < 1e-9,
        "{csat}"
    );
    assert_eq!(r.value.figure.items, all as usize);
    // The breakdown adds up to the whole; the items lead to the repair orders.
    let parts: f64 = r.breakdown.iter().map(|b| b.figure.numerator).sum();
    assert_eq!(parts, r.value.figure.numerator);
    assert_eq!(r.items.len(), all as usize);
    assert!(r
        .items
        .iter()
        .all(|i| i.item.kind == KpiItemKind::RepairOrder
            && i.href.as_deref() == Some(&format!("/workshop/repair-orders/{}", i.item.id)[..])));
    assert!(r
        .breakdown
        .iter()
        .any(|b| !b.label.is_empty() && b.key.is_some()));

    // Turnaround over October, against the raw status events.
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT d.at, c.at FROM ro_events d JOIN ro_events c ON c.repair_order_id = d.repair_order_id AND c.kind = 'status' AND c.status = 'checked-in' \
         JOIN repair_orders r ON r.id = d.repair_order_id \
         WHERE d.kind = 'status' AND d.status = 'delivered' AND r.organisation_id = $1 AND d.at >= $2 AND d.at < $3",
    )
    .bind(&trondheim)
    .bind(us(from))
    .bind(us(to))
    .fetch_all(aftersales_store::testing::pool(store))
    .await
    .unwrap();
    let mean = rows
        .iter()
        .map(|(d, c)| (d - c) as f64 / 86_400e6)
        .sum::<f64>()
        / rows.len() as f64;
    let r = k
        .report(
            &kari.scope,
            Kpi::Turnaround,
            &october,
            Dimension::Month,
            10,
            t0,
        )
        .await
        .unwrap();
    assert!((r.value.figure.value.unwrap() - mean).abs() < 1e-6);
    assert_eq!(r.items_total, rows.len());
    assert_eq!(r.items.len(), 10);

    // Response SLA over October, against the raw timers: met ÷ (met + breached).
    let (met, breached): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN first_response_breached_at IS NULL AND first_responded_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN first_response_breached_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM cases WHERE organisation_id = $1 AND created_at >= $2 AND created_at < $3",
    )
    .bind(&trondheim)
    .bind(us(from))
    .bind(us(to))
    .fetch_one(aftersales_store::testing::pool(store))
    .await
    .unwrap();
    assert!(met > 0 && breached > 0, "{met} {breached}");
    let r = k
        .report(
            &kari.scope,
            Kpi::ResponseSla,
            &october,
            Dimension::Advisor,
            5,
            t0,
        )
        .await
        .unwrap();
    let sla = r.value.figure.value.unwrap();
    assert!((sla - met as f64 * 100.0 / (met + breached) as f64).abs() < 1e-9);
    assert!(r.items.iter().all(|i| i.item.kind == KpiItemKind::Case));

    // First-time fix and comebacks over September (all 30 days passed): they add up to 100 %.
    let september = query(date!(2026 - 09 - 01), date!(2026 - 09 - 30));
    let d = k
        .dashboard(&kari.scope, &september, None, t0)
        .await
        .unwrap();
    let v = |kpi: Kpi| d.values.iter().find(|v| v.kpi == kpi).unwrap().clone();
    let (ftf, cb) = (v(Kpi::FirstTimeFix), v(Kpi::Comeback));
    assert!(ftf.figure.items > 20);
    assert!((ftf.figure.value.unwrap() + cb.figure.value.unwrap() - 100.0).abs() < 1e-9);
    assert!(cb.figure.value.unwrap() > 0.0);
    assert!(v(Kpi::Efficiency).figure.value.unwrap() > 80.0);
    assert!(v(Kpi::LogisticsOnTime).figure.items > 0);
    // Nothing was invoiced: revenue is unknown, not zero.
    assert_eq!(v(Kpi::ServiceRevenue).figure.value, None);
    assert!(d.columns.is_empty());
    assert_eq!(k.columns(&kari.scope, &september).await.unwrap(), None);

    // A market manager: the Portuguese points side by side, never Trondheim.
    assert_eq!(
        k.columns(&ana.scope, &september).await.unwrap(),
        Some(Dimension::ServicePoint)
    );
    let mut at_trondheim = september.clone();
    at_trondheim.organisation = Some(trondheim.clone());
    assert!(matches!(
        k.report(
            &ana.scope,
            Kpi::Csat,
            &at_trondheim,
            Dimension::ServicePoint,
            10,
            t0
        )
        .await,
        Err(StoreError::NotFound)
    ));
    let theirs = k
        .report(
            &ana.scope,
            Kpi::Csat,
            &september,
            Dimension::ServicePoint,
            10,
            t0,
        )
        .await
        .unwrap();
    assert_eq!(theirs.value.figure.items, 0);
    assert!(k
        .organisations(&ana.scope)
        .await
        .unwrap()
        .iter()
        .all(|o| o.id != trondheim));
    // An advisor reads no KPIs.
    assert!(matches!(
        k.dashboard(&ingrid.scope, &september, None, t0).await,
        Err(StoreError::Forbidden(_))
    ));

    // Targets: the thresholds the wrong way round are refused, naming amber; nothing saved.
    let target = |kpi: &str, green: &str, amber: &str| KpiTargetInput {
        organisation_id: trondheim.clone(),
        kpi: kpi.into(),
        valid_from: "2026-09".into(),
        green: green.into(),
        amber: amber.into(),
    };
    match k
        .set_target(&kari.scope, &target("csat", "80", "90"), t0)
        .await
    {
        Err(StoreError::Invalid(e)) => {
            assert_eq!(e.0[0].field, "amber");
            assert_eq!(e.0[0].rule, Rule::NotAllowed);
        }
        other => panic!("{other:?}"),
    }
    match k
        .set_target(&kari.scope, &target("csat", "lots", "90"), t0)
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "green"),
        other => panic!("{other:?}"),
    }
    assert!(k.targets(&kari.scope).await.unwrap().is_empty());
    let saved = k
        .set_target(&kari.scope, &target("csat", "95", "90"), t0)
        .await
        .unwrap();
    assert_eq!(saved.valid_from, date!(2026 - 09 - 01));
    let r = k
        .report(
            &kari.scope,
            Kpi::Csat,
            &september,
            Dimension::ServicePoint,
            1,
            t0,
        )
        .await
        .unwrap();
    let value = r.value.figure.value.unwrap();
    let expected = if value >= 95.0 {
        Rag::Green
    } else if value >= 90.0 {
        Rag::Amber
    } else {
        Rag::Red
    };
    assert_eq!(r.value.rag, Some(expected));
    assert_eq!(r.breakdown[0].rag, Some(expected));
    // Money in the currency's units, kept in minor units like the figures.
    let money = k
        .set_target(
            &kari.scope,
            &target("service-revenue", "100000", "80000,50"),
            t0,
        )
        .await
        .unwrap();
    assert_eq!((money.green, money.amber), (10_000_000.0, 8_000_050.0));
    // Another market's manager can neither set nor remove Trondheim's targets.
    assert!(k
        .set_target(&ana.scope, &target("csat", "95", "90"), t0)
        .await
        .is_err());
    assert!(matches!(
        k.remove_target(&ana.scope, &saved.id).await,
        Err(StoreError::NotFound)
    ));
    k.remove_target(&kari.scope, &saved.id).await.unwrap();
    assert_eq!(k.targets(&kari.scope).await.unwrap().len(), 1);

    // Costs per hour: checked, then the margin subtracts them.
    match k
        .set_costs(
            &kari.scope,
            &trondheim,
            &KpiCostsInput {
                technician_per_hour: "a lot".into(),
                driver_per_hour: "300".into(),
            },
            t0,
        )
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "technician_per_hour"),
        other => panic!("{other:?}"),
    }
    let c = k
        .set_costs(
            &kari.scope,
            &trondheim,
            &KpiCostsInput {
                technician_per_hour: "450".into(),
                driver_per_hour: "300,50".into(),
            },
            t0,
        )
        .await
        .unwrap();
    assert_eq!(
        (c.technician_minor, c.driver_minor, c.currency.as_str()),
        (45_000, 30_050, "NOK")
    );
    assert!(matches!(
        k.costs(&ana.scope, &trondheim).await,
        Err(StoreError::NotFound)
    ));
}

/// Asserts a dashboard from the roll-ups equals the one from the facts: every KPI's figure and
/// the one before, in total and per service point.
async fn same_as_facts(
    store: &Store,
    scope: &aftersales_store::Scope,
    q: &KpiQuery,
    now: time::OffsetDateTime,
) -> aftersales_store::kpis::Dashboard {
    let k = store.kpis();
    let rolled = k
        .dashboard(scope, q, Some(Dimension::ServicePoint), now)
        .await
        .unwrap();
    let exact = k
        .dashboard_from_facts(scope, q, Some(Dimension::ServicePoint), now)
        .await
        .unwrap();
    let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(1.0),
        (a, b) => a == b,
    };
    let check = |what: &str,
                 r: &[aftersales_store::kpis::KpiValue],
                 e: &[aftersales_store::kpis::KpiValue]| {
        assert_eq!(r.len(), e.len());
        for (r, e) in r.iter().zip(e) {
            assert_eq!(r.kpi, e.kpi);
            assert!(
                close(r.figure.value, e.figure.value) && r.figure.items == e.figure.items,
                "{what} {:?} {:?}: roll-ups {:?}, facts {:?}",
                q.period,
                r.kpi,
                r.figure,
                e.figure
            );
            assert!(
                close(r.previous.value, e.previous.value) && r.previous.items == e.previous.items,
                "{what} {:?} {:?} before: roll-ups {:?}, facts {:?}",
                q.period,
                r.kpi,
                r.previous,
                e.previous
            );
        }
    };
    check("all", &rolled.values, &exact.values);
    assert_eq!(rolled.columns.len(), exact.columns.len());
    for ((rc, rv), (ec, ev)) in rolled.columns.iter().zip(&exact.columns) {
        assert_eq!(rc, ec);
        check(&rc.label, rv, ev);
    }
    rolled
}

/// Asserts the clocked-time roll-ups (per point, technician and day, and per month) hold what
/// the clockings add up to.
async fn clocked_as_raw(pool: &sqlx::AnyPool) {
    let raw: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT r.organisation_id, c.technician_id, c.started_at / 86400000000, \
         CAST(SUM(c.stopped_at - c.started_at) AS BIGINT) FROM ro_clockings c \
         JOIN repair_orders r ON r.id = c.repair_order_id WHERE c.stopped_at IS NOT NULL \
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let daily: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT organisation_id, technician_id, day, micros FROM kpi_clocked_daily \
         WHERE micros <> 0 ORDER BY 1, 2, 3",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(raw.len() > 100, "{}", raw.len());
    assert_eq!(raw, daily);
    let per = |rows: Vec<(String, String, i64, i64)>| {
        let mut m = std::collections::BTreeMap::new();
        for (o, t, month, v) in rows {
            *m.entry((o, t, month)).or_insert(0i64) += v;
        }
        m.retain(|_, v| *v != 0);
        m
    };
    let monthly: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT organisation_id, technician_id, month, micros FROM kpi_clocked_monthly",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let month_of = |day: i64| {
        let d = time::Date::from_julian_day(2_440_588 + day as i32).unwrap();
        i64::from(d.year()) * 12 + i64::from(u8::from(d.month())) - 1
    };
    let by_day = raw
        .into_iter()
        .map(|(o, t, day, v)| (o, t, month_of(day), v))
        .collect();
    assert_eq!(per(monthly), per(by_day));
}

pub async fn kpi_rollups_equal_the_facts_and_follow_every_change(store: &Store) {
    let t0 = datetime!(2026-11-21 09:00 UTC);
    demo::seed(store, t0 - Duration::hours(1)).await.unwrap();
    let (mut portugal, _) = demo::history_targets(store).await.unwrap();
    portugal.models = vec![("Polestar 2".into(), "LPSED3KA0RL000000".into(), 2024)];
    let mut staff = Vec::new();
    for sp in &portugal.service_points {
        staff.push(demo::staff_of(store, sp).await.unwrap());
    }
    let profile = PointProfile {
        per_day: 3.0,
        comeback: 0.15,
        happy: 0.7,
        answers: 0.6,
        turnaround_days: 2.5,
        pickup: 0.4,
        punctual: 0.8,
        efficiency: 1.0,
        cases_per_day: 2.0,
        remote_fix: 0.5,
        responsive: 0.8,
    };
    store
        .kpis()
        .write_history(
            &WorkshopHistorySpec {
                end: t0.date(),
                days: 200,
                points: portugal
                    .service_points
                    .iter()
                    .map(|_| (profile.clone(), None))
                    .collect(),
                vehicles_per_point: 50,
                technicians: 1,
                seed: 11,
            },
            &portugal,
            &staff,
            t0,
        )
        .await
        .unwrap();
    let pool = aftersales_store::testing::pool(store);
    let ana = crate::workshop::caller(store, "ana", t0).await;
    let lisboa = portugal.service_points[0].clone();
    // Whole months, days cut across months, a long stretch, today.
    let periods = [
        query(date!(2026 - 10 - 01), date!(2026 - 10 - 31)),
        query(date!(2026 - 08 - 17), date!(2026 - 11 - 03)),
        query(date!(2026 - 05 - 01), date!(2026 - 11 - 21)),
        query(date!(2026 - 11 - 21), date!(2026 - 11 - 21)),
    ];
    for q in &periods {
        same_as_facts(store, &ana.scope, q, t0).await;
    }
    // The dashboards above were read from roll-ups, not from the facts again.
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM kpi_monthly")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(kept > 100, "{kept}");
    let october = &periods[0];
    let before = same_as_facts(store, &ana.scope, october, t0).await;
    let value = |d: &aftersales_store::kpis::Dashboard, k: Kpi| {
        d.values.iter().find(|v| v.kpi == k).unwrap().figure.clone()
    };
    assert!(value(&before, Kpi::Csat).items > 20);
    assert!(value(&before, Kpi::FirstTimeFix).items > 20);

    // A late change to October: an answer corrected, a line added to a repair order finished
    // then. The next read sees both, as the facts do.
    let (from, to) = october.period.bounds();
    let us = |t: time::OffsetDateTime| (t.unix_timestamp_nanos() / 1_000) as i64;
    let ro: String = sqlx::query_scalar(
        "SELECT repair_order_id FROM surveys WHERE organisation_id = $1 AND csat IS NOT NULL \
         AND answered_at >= $2 AND answered_at < $3 ORDER BY repair_order_id LIMIT 1",
    )
    .bind(&lisboa)
    .bind(us(from))
    .bind(us(to))
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE surveys SET csat = CASE WHEN csat >= 4 THEN 1 ELSE 5 END WHERE repair_order_id = $1",
    )
    .bind(&ro)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("UPDATE ro_lines SET quantity_centi = quantity_centi + 250 WHERE repair_order_id = $1 AND kind = 'labour'")
        .bind(&ro)
        .execute(pool)
        .await
        .unwrap();
    clocked_as_raw(pool).await;
    // Clockings corrected, moved to another day and removed: the clocked-time roll-ups follow.
    let clock: String = sqlx::query_scalar(
        "SELECT id FROM ro_clockings WHERE repair_order_id = $1 ORDER BY id LIMIT 1",
    )
    .bind(&ro)
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query("UPDATE ro_clockings SET stopped_at = stopped_at + 900000000, started_at = started_at - 86400000000 WHERE id = $1")
        .bind(&clock)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE ro_clockings SET stopped_at = NULL WHERE id IN (SELECT id FROM ro_clockings WHERE repair_order_id <> $1 ORDER BY id LIMIT 3)")
        .bind(&ro)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM ro_clockings WHERE id IN (SELECT id FROM ro_clockings WHERE stopped_at IS NOT NULL AND id <> $1 ORDER BY id DESC LIMIT 2)")
        .bind(&clock)
        .execute(pool)
        .await
        .unwrap();
    clocked_as_raw(pool).await;
    let after = same_as_facts(store, &ana.scope, october, t0).await;
    assert_ne!(
        value(&after, Kpi::Csat).numerator,
        value(&before, Kpi::Csat).numerator
    );
    // A repair order removed altogether.
    sqlx::query("DELETE FROM surveys WHERE repair_order_id = $1")
        .bind(&ro)
        .execute(pool)
        .await
        .unwrap();
    let gone = same_as_facts(store, &ana.scope, october, t0).await;
    assert_eq!(
        value(&gone, Kpi::Csat).items + 1,
        value(&after, Kpi::Csat).items
    );

    // A change today, at Lisboa alone: its day is recomputed there, the other points' kept.
    let midnight = t0.date().midnight().assume_utc();
    let case: String = sqlx::query_scalar(
        "SELECT id FROM cases WHERE organisation_id = $1 AND created_at >= $2 ORDER BY id LIMIT 1",
    )
    .bind(&lisboa)
    .bind(us(midnight))
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE cases SET first_responded_at = NULL, first_response_breached_at = $2 WHERE id = $1",
    )
    .bind(&case)
    .bind(us(t0))
    .execute(pool)
    .await
    .unwrap();
    let today = same_as_facts(store, &ana.scope, &periods[3], t0).await;
    assert!(value(&today, Kpi::ResponseSla).items > 0);

    // Time passes: the rest of October's days become final for first-time fix (the 30 days
    // after them are over), with no write at all.
    let later = t0 + Duration::days(25);
    let settled = same_as_facts(store, &ana.scope, october, later).await;
    assert!(
        value(&settled, Kpi::FirstTimeFix).items > value(&before, Kpi::FirstTimeFix).items,
        "{:?} {:?}",
        value(&settled, Kpi::FirstTimeFix),
        value(&before, Kpi::FirstTimeFix)
    );
    for q in &periods {
        same_as_facts(store, &ana.scope, q, later).await;
    }

    // A breakdown by service point and by month adds up the same roll-ups; the items behind
    // it are the newest, from the facts.
    let k = store.kpis();
    for by in [Dimension::ServicePoint, Dimension::Month, Dimension::Market] {
        let r = k
            .report(&ana.scope, Kpi::Turnaround, &periods[2], by, 5, later)
            .await
            .unwrap();
        let sum: f64 = r.breakdown.iter().map(|b| b.figure.numerator).sum();
        assert!((sum - r.value.figure.numerator).abs() < 1e-6);
        assert_eq!(r.items.len(), 5);
        assert!(r.items_total > 100);
        assert!(r.items.windows(2).all(|w| w[0].at >= w[1].at));
        assert!(r.items[0].active_hours.is_some());
        let exact = k
            .dashboard_from_facts(&ana.scope, &periods[2], None, later)
            .await
            .unwrap();
        assert_eq!(r.items_total, value(&exact, Kpi::Turnaround).items);
    }
    let by_month = k
        .report(
            &ana.scope,
            Kpi::Csat,
            &periods[2],
            Dimension::Month,
            1,
            later,
        )
        .await
        .unwrap();
    assert_eq!(
        by_month
            .breakdown
            .iter()
            .map(|b| b.key.clone().unwrap())
            .collect::<Vec<_>>(),
        ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    );
}
