//! Pilots on both engines: a programme at Lisboa and Porto against Braga, Coimbra and Faro,
//! evaluated from a generated history (the customers happier after the start at the pilot points
//! only): the monthly series are the KPI pages' own figures, the difference-in-differences is the
//! difference of the cell means, the verdict sees the lift; a single pilot point gets its
//! synthetic control; too little data is named; controls are proposed by matching; a pilot is
//! never seen outside the organisation it is run from.

use aftersales_domain::kpi::history::{PointProfile, WorkshopHistorySpec};
use aftersales_domain::kpi::{Dimension, Kpi, Period};
use aftersales_domain::pilot::{PilotRole, Thin, Verdict};
use aftersales_domain::Rule;
use aftersales_store::kpis::KpiQuery;
use aftersales_store::pilots::{ControlProposalInput, PilotInput};
use aftersales_store::{demo, Store, StoreError};
use time::macros::datetime;
use time::Duration;

fn profile(happy: f64) -> PointProfile {
    PointProfile {
        per_day: 3.0,
        comeback: 0.1,
        happy,
        answers: 0.6,
        turnaround_days: 3.0,
        pickup: 0.1,
        punctual: 0.9,
        efficiency: 1.0,
        cases_per_day: 1.0,
        remote_fix: 0.4,
        responsive: 0.8,
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

pub async fn pilots_are_evaluated_against_their_control_group(store: &Store) {
    let t0 = datetime!(2026-11-21 09:00 UTC);
    demo::seed(store, t0 - Duration::hours(1)).await.unwrap();
    let (mut portugal, norway) = demo::history_targets(store).await.unwrap();
    portugal.models = vec![("Polestar 2".into(), "LPSED3KA0RL000000".into(), 2024)];
    portugal
        .service_points
        .extend(demo::more_service_points(store, t0).await.unwrap());
    let mut staff = Vec::new();
    for sp in &portugal.service_points {
        staff.push(demo::staff_of(store, sp).await.unwrap());
    }
    let start = time::macros::date!(2026 - 07 - 01);
    let written = store
        .kpis()
        .write_history(
            &WorkshopHistorySpec {
                end: t0.date(),
                days: 300,
                points: vec![
                    (profile(0.70), Some((start, profile(0.92)))),
                    (profile(0.72), Some((start, profile(0.93)))),
                    (profile(0.71), None),
                    (profile(0.69), None),
                    (profile(0.73), None),
                ],
                vehicles_per_point: 150,
                technicians: 1,
                seed: 7,
            },
            &portugal,
            &staff,
            t0,
        )
        .await
        .unwrap();
    assert!(written > 1_000, "{written}");
    let ana = crate::workshop::caller(store, "ana", t0).await;
    let kari = crate::workshop::caller(store, "kari", t0).await;
    let marta = crate::workshop::caller(store, "marta", t0).await;
    let market = portugal.owner_org.clone();
    let [lisboa, porto, braga, coimbra, faro] =
        [0, 1, 2, 3, 4].map(|i| portugal.service_points[i].clone());
    let p = store.pilots();
    let input = |pilots: &[&String], controls: &[&String]| PilotInput {
        organisation_id: market.clone(),
        name: "Recolha e entrega".into(),
        programme: "Pickup and delivery included".into(),
        start_date: start.to_string(),
        end_date: None,
        months_before: Some(5),
        kpis: strings(&["csat", "turnaround-days"]),
        pilot_points: pilots.iter().map(|s| s.to_string()).collect(),
        control_points: controls.iter().map(|s| s.to_string()).collect(),
        control_method: Some("matched".into()),
    };

    // Controls proposed by matching: the three others, never a Norwegian point.
    let proposal = p
        .propose_controls(
            &ana.scope,
            &ControlProposalInput {
                organisation_id: market.clone(),
                start_date: start.to_string(),
                months_before: Some(5),
                kpis: strings(&["csat", "turnaround-days"]),
                pilot_points: vec![lisboa.clone(), porto.clone()],
            },
            t0,
        )
        .await
        .unwrap();
    let proposed: Vec<&str> = proposal
        .iter()
        .map(|c| c.service_point.id.as_str())
        .collect();
    assert_eq!(proposed.len(), 3, "{proposed:?}");
    for c in [&braga, &coimbra, &faro] {
        assert!(proposed.contains(&c.as_str()));
    }
    assert!(proposal.windows(2).all(|w| w[0].distance <= w[1].distance));

    let pilot = p
        .create(
            &ana.scope,
            &input(&[&lisboa, &porto], &[&braga, &coimbra, &faro]),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(pilot.pilot_points.len(), 2);
    assert_eq!(pilot.control_points.len(), 3);
    let e = p.evaluate(&ana.scope, &pilot.id, t0).await.unwrap();
    // Five months before July, July to October after (November has not ended).
    assert_eq!(e.months.first().map(String::as_str), Some("2026-02"));
    assert_eq!(e.months.last().map(String::as_str), Some("2026-10"));
    assert_eq!(e.months_before, 5);
    let csat = e.results.iter().find(|r| r.kpi == Kpi::Csat).unwrap();
    assert_eq!(csat.thin, None);
    let did = csat.did.as_ref().unwrap();
    // The saturated regression's δ is the difference of the cell means.
    let cell = |role: PilotRole, after: bool| {
        let v: Vec<f64> = csat
            .series
            .iter()
            .filter(|s| s.role == role)
            .flat_map(|s| {
                s.values
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| (*i >= e.months_before) == after)
                    .filter_map(|(_, v)| *v)
            })
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let by_hand = (cell(PilotRole::Pilot, true) - cell(PilotRole::Pilot, false))
        - (cell(PilotRole::Control, true) - cell(PilotRole::Control, false));
    assert!(
        (did.effect - by_hand).abs() < 1e-6,
        "{} {by_hand}",
        did.effect
    );
    assert!(did.effect > 10.0 && did.lower > 0.0, "{did:?}");
    assert_eq!(csat.verdict, Verdict::Improved);
    assert_eq!(did.placebo_assignments, Some(10));
    // Each monthly value is the KPI page's figure for that point and month.
    let september = e.months.iter().position(|m| m == "2026-09").unwrap();
    let report = store
        .kpis()
        .report(
            &ana.scope,
            Kpi::Csat,
            &KpiQuery {
                period: Period {
                    from: time::macros::date!(2026 - 09 - 01),
                    to: time::macros::date!(2026 - 09 - 30),
                },
                organisation: None,
                model: None,
                pay_type: None,
            },
            Dimension::ServicePoint,
            10,
            t0,
        )
        .await
        .unwrap();
    for s in &csat.series {
        let page = report
            .breakdown
            .iter()
            .find(|b| b.key.as_deref() == Some(s.service_point.id.as_str()))
            .and_then(|b| b.figure.value);
        assert_eq!(s.values[september], page, "{}", s.service_point.label);
    }

    // A single pilot point: its synthetic control, weights on the simplex.
    let single = p
        .create(
            &ana.scope,
            &input(&[&lisboa], &[&braga, &coimbra, &faro, &porto]),
            t0,
        )
        .await
        .unwrap();
    let e1 = p.evaluate(&ana.scope, &single.id, t0).await.unwrap();
    let s = e1.results[0].synthetic.as_ref().unwrap();
    let total: f64 = s.weights.iter().map(|(_, w)| w).sum();
    assert!((total - 1.0).abs() < 1e-9 && s.weights.iter().all(|(_, w)| *w >= 0.0));
    assert_eq!(s.placebo_points, 5);

    // Started this month: nothing after the start yet.
    let mut fresh = input(&[&lisboa, &porto], &[&braga, &coimbra, &faro]);
    fresh.start_date = "2026-11-01".into();
    let fresh = p.create(&ana.scope, &fresh, t0).await.unwrap();
    let e2 = p.evaluate(&ana.scope, &fresh.id, t0).await.unwrap();
    assert!(e2
        .results
        .iter()
        .all(|r| r.verdict == Verdict::TooThin && r.thin == Some(Thin::TooFewPeriodsAfter)));

    // Bad input names the field; nothing is written.
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pilots")
        .fetch_one(aftersales_store::testing::pool(store))
        .await
        .unwrap();
    let trondheim = norway.service_points[0].clone();
    let err = p
        .create(&ana.scope, &input(&[&lisboa], &[&trondheim, &braga]), t0)
        .await
        .unwrap_err();
    match err {
        StoreError::Invalid(v) => {
            assert!(
                v.0.iter()
                    .any(|f| f.field == "control_points.0" && f.rule == Rule::Unknown),
                "{v:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    let mut bad = input(&[&lisboa], &[&braga]);
    bad.kpis = strings(&["claims-per-1000"]);
    bad.start_date = "July".into();
    match p.create(&ana.scope, &bad, t0).await.unwrap_err() {
        StoreError::Invalid(v) => {
            let fields: Vec<&str> = v.0.iter().map(|f| f.field.as_str()).collect();
            assert!(
                fields.contains(&"kpis") && fields.contains(&"start_date"),
                "{fields:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pilots")
        .fetch_one(aftersales_store::testing::pool(store))
        .await
        .unwrap();
    assert_eq!(before, after);
    assert!(matches!(
        p.end(&ana.scope, &pilot.id, "2026-01-01", t0).await,
        Err(StoreError::Invalid(_))
    ));
    let ended = p
        .end(&ana.scope, &pilot.id, "2026-09-15", t0)
        .await
        .unwrap();
    assert_eq!(
        ended.end_date.map(|d| d.to_string()).as_deref(),
        Some("2026-09-15")
    );
    let e3 = p.evaluate(&ana.scope, &pilot.id, t0).await.unwrap();
    assert_eq!(e3.months.last().map(String::as_str), Some("2026-09"));

    // Never seen outside the organisation it is run from.
    assert_eq!(p.list(&ana.scope).await.unwrap().len(), 3);
    assert!(p.list(&kari.scope).await.unwrap().is_empty());
    assert!(p.list(&marta.scope).await.unwrap().is_empty());
    assert!(matches!(
        p.get(&kari.scope, &pilot.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        p.evaluate(&marta.scope, &pilot.id, t0).await,
        Err(StoreError::NotFound)
    ));
    assert!(p
        .create(&kari.scope, &input(&[&lisboa], &[&braga, &coimbra]), t0)
        .await
        .is_err());
}
