//! Warranty coverage on both engines: the published terms a brand starts with decide a demo
//! Polestar 2's coverage at two and a half years (the car's warranty over, the battery's running),
//! battery readings move the capacity verdict, bad readings are named, and another brand's market
//! sees nothing.

use crate::workshop::caller;
use aftersales_store::warranty::BatteryReadingInput;
use aftersales_store::{demo, Store, StoreError};
use time::macros::datetime;
use time::{Date, Duration};

/// A demo customer's id and their car's id, as the advisor finds them.
async fn customer_and_car(
    store: &Store,
    scope: &aftersales_store::Scope,
    name: &str,
) -> (String, String) {
    let customers = store.crm().list_customers(scope, None, 200).await.unwrap();
    let customer = customers.items.iter().find(|c| c.name == name).unwrap();
    let car = store.crm().vehicles_of(scope, &customer.id).await.unwrap()[0]
        .id
        .clone();
    (customer.id.clone(), car)
}

/// A repair order at Lisboa for the customer's car (from a case when given), its first job
/// with `pay` as pay type; the order and that job's id.
async fn lisboa_job(
    store: &Store,
    scope: &aftersales_store::Scope,
    (customer, car): &(String, String),
    case: Option<&str>,
    pay: &str,
    at: time::OffsetDateTime,
) -> (aftersales_store::workshop::RepairOrder, String) {
    let lisboa = store
        .cli()
        .find_organisation("Polestar Service Point Lisboa")
        .await
        .unwrap()
        .0;
    let ro = store
        .workshop()
        .create_repair_order(
            scope,
            &aftersales_store::workshop::RepairOrderInput {
                organisation_id: lisboa,
                customer_id: customer.clone(),
                vehicle_id: Some(car.clone()),
                case_id: case.map(str::to_string),
                complaint: "Aviso no painel".into(),
            },
            at,
        )
        .await
        .unwrap();
    let job = ro.jobs[0].id.clone();
    store
        .workshop()
        .update_job(
            scope,
            &ro.id,
            &job,
            &aftersales_store::workshop::JobUpdate {
                pay_type: Some(pay.into()),
                ..Default::default()
            },
            at,
        )
        .await
        .unwrap();
    (ro, job)
}

pub async fn warranty_coverage_is_decided_per_vehicle(store: &Store) {
    let t0 = datetime!(2026-11-21 09:00 UTC);
    demo::seed(store, t0 - Duration::hours(1)).await.unwrap();
    let ana = caller(store, "ana", t0).await;
    let ingrid = caller(store, "ingrid", t0).await;
    // A Polestar 2 of a Portuguese customer, delivered on a known day.
    let customers = store
        .crm()
        .list_customers(&ana.scope, None, 200)
        .await
        .unwrap();
    let mut found = None;
    for c in &customers.items {
        for v in store.crm().vehicles_of(&ana.scope, &c.id).await.unwrap() {
            if v.brand.as_deref() == Some("Polestar") && v.delivery_date.is_some() {
                found.get_or_insert((v.id.clone(), v.delivery_date.clone().unwrap()));
            }
        }
    }
    let (id, delivered) = found.expect("a demo Polestar with a delivery date");
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let delivered = Date::parse(&delivered, &fmt).unwrap();
    let w = store.warranty();
    let at = aftersales_domain::reminders::add_months(delivered, 30);
    let c = w.coverage(&ana.scope, &id, at, Some(48_000)).await.unwrap();
    assert_eq!(c.terms.as_deref(), Some("polestar-eu-2020"));
    let standing = |c: &aftersales_store::warranty::VehicleCoverage, kind: &str| {
        c.coverages
            .iter()
            .find(|x| x.kind.as_str() == kind)
            .map(|x| (x.standing.clone(), x.km_left))
            .unwrap()
    };
    assert_eq!(standing(&c, "vehicle").0, "expired");
    assert_eq!(
        standing(&c, "battery-drive-unit"),
        ("covered".to_string(), Some(112_000))
    );
    let st = c.statutory.unwrap();
    assert_eq!((st.months, st.applies), (36, true));

    // A battery reading at the threshold is not a capacity case; one under it is.
    for (soh, day) in [(70, -30), (69, -1)] {
        w.record_battery(
            &ana.scope,
            &id,
            &BatteryReadingInput {
                read_on: (t0.date() + Duration::days(day)).to_string(),
                odometer_km: 48_000,
                soh_pct: soh,
                source: "capacity-test".into(),
            },
            t0,
        )
        .await
        .unwrap();
        let c = w.coverage(&ana.scope, &id, at, Some(48_000)).await.unwrap();
        let cap = c.coverages.iter().find_map(|x| x.capacity.clone()).unwrap();
        assert_eq!((cap.soh_pct, cap.below), (soh, soh < 70));
    }
    assert_eq!(w.battery_readings(&ana.scope, &id).await.unwrap().len(), 2);

    // Bad readings are named, field by field, and nothing is kept.
    let e = w
        .record_battery(
            &ana.scope,
            &id,
            &BatteryReadingInput {
                read_on: (t0.date() + Duration::days(3)).to_string(),
                odometer_km: -5,
                soh_pct: 0,
                source: "guess".into(),
            },
            t0,
        )
        .await
        .unwrap_err();
    let StoreError::Invalid(v) = e else {
        panic!("expected invalid input, got {e:?}");
    };
    let fields: Vec<&str> = v.0.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["read_on", "odometer_km", "soh_pct", "source"]);
    assert_eq!(w.battery_readings(&ana.scope, &id).await.unwrap().len(), 2);

    // Trondheim's advisor works for another brand in another market: the vehicle is not there.
    assert!(matches!(
        w.coverage(&ingrid.scope, &id, at, None).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        w.battery_readings(&ingrid.scope, &id).await,
        Err(StoreError::NotFound)
    ));
}

/// Claims through the network on both engines: the demo's claims are seen by the parties in their
/// line and nobody else; a claim goes service point → importer (partly) → brand, is appealed once,
/// refuses the wrong party, stale versions and bad decisions by field; a new claim checks flat-rate
/// hours and duplicates; the brand's partial approval shows against the issued warranty invoice.
pub async fn warranty_claims_pass_the_network(store: &Store) {
    use aftersales_domain::warranty::claims::ClaimStatus;
    use aftersales_store::warranty::{
        ClaimFilter, ClaimInput, ClaimStepInput, LineDecisionInput, RecoveryInput,
    };
    let t0 = datetime!(2026-11-21 09:00 UTC);
    demo::seed(store, t0 - Duration::hours(1)).await.unwrap();
    let w = store.warranty();
    let who = |name: &'static str| async move { caller(store, name, t0).await };
    let (joao, rui, helena, marta, ingrid, tom, ana, emily) = (
        who("joao").await,
        who("rui").await,
        who("helena").await,
        who("marta").await,
        who("ingrid").await,
        who("tom").await,
        who("ana").await,
        who("emily").await,
    );
    let all = ClaimFilter::default();
    let mine = ClaimFilter {
        mine: true,
        ..Default::default()
    };
    let count = |c: &Vec<aftersales_store::warranty::ClaimSummary>| c.len();
    assert_eq!(count(&w.claims(&joao.scope, &all, t0).await.unwrap()), 3);
    assert_eq!(count(&w.claims(&rui.scope, &all, t0).await.unwrap()), 3);
    assert_eq!(count(&w.claims(&ana.scope, &all, t0).await.unwrap()), 3);
    assert_eq!(count(&w.claims(&helena.scope, &all, t0).await.unwrap()), 3);
    assert_eq!(count(&w.claims(&ingrid.scope, &all, t0).await.unwrap()), 2);
    assert_eq!(count(&w.claims(&tom.scope, &all, t0).await.unwrap()), 2);
    // Porto's manager sees Porto's claims (none), a Tesla analyst Tesla's, not Polestar's.
    assert_eq!(count(&w.claims(&marta.scope, &all, t0).await.unwrap()), 0);
    assert_eq!(count(&w.claims(&emily.scope, &all, t0).await.unwrap()), 2);
    // What waits for whom: the importer has one, the service point the one sent back.
    let rui_mine = w.claims(&rui.scope, &mine, t0).await.unwrap();
    assert_eq!(rui_mine.len(), 1);
    assert_eq!(rui_mine[0].status, ClaimStatus::ImporterReview);
    let joao_mine = w.claims(&joao.scope, &mine, t0).await.unwrap();
    assert_eq!(
        joao_mine.iter().map(|c| c.status).collect::<Vec<_>>(),
        [ClaimStatus::Returned]
    );
    let approved_pt = w
        .claims(
            &joao.scope,
            &ClaimFilter {
                status: Some(ClaimStatus::PartlyApproved),
                ..Default::default()
            },
            t0,
        )
        .await
        .unwrap();
    assert_eq!(
        approved_pt.len(),
        1,
        "the importer's cut stays with the brand's approval"
    );
    let demo = w.claim(&joao.scope, &approved_pt[0].id, t0).await.unwrap();
    assert_eq!(
        demo.actions.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        ["appeal"]
    );
    assert_eq!(demo.recovered.amount, "496.00", "80 % of the pump");

    // The claim waiting for the importer, seen by the three parties, hidden from Porto.
    let id = rui_mine[0].id.clone();
    let c = w.claim(&rui.scope, &id, t0).await.unwrap();
    assert_eq!(
        c.reviewer.as_ref().map(|r| r.label.as_str()),
        Some("Volvo Cars Portugal")
    );
    assert_eq!(c.brand.label, "Polestar Customer Service HQ");
    assert!(matches!(
        w.claim(&marta.scope, &id, t0).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        c.actions.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        ["approve", "reject", "return"]
    );
    assert!(w
        .claim(&joao.scope, &id, t0)
        .await
        .unwrap()
        .actions
        .is_empty());
    let over = c
        .lines
        .iter()
        .find(|l| l.over_reason.is_some())
        .expect("the diagnosis above its flat rate, with its reason")
        .clone();
    assert_eq!(
        (over.quantity.as_str(), over.flat_rate_hours.as_deref()),
        ("2.00", Some("1.50"))
    );
    // The service point cannot decide; the importer cannot skip a reason or pay more than claimed.
    let approve = |lines: Vec<LineDecisionInput>| ClaimStepInput {
        action: "approve".into(),
        lines,
        ..Default::default()
    };
    assert!(matches!(
        w.step(&joao.scope, &id, c.version, &approve(vec![]), t0)
            .await,
        Err(StoreError::Forbidden(_))
    ));
    let cut = |amount: &str, reason: Option<&str>| LineDecisionInput {
        line_id: over.id.clone(),
        approved: amount.into(),
        reason: reason.map(str::to_string),
    };
    match w
        .step(
            &rui.scope,
            &id,
            c.version,
            &approve(vec![cut("127.50", None)]),
            t0,
        )
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "lines.0.reason"),
        other => panic!("expected the reason asked for, got {other:?}"),
    }
    match w
        .step(
            &rui.scope,
            &id,
            c.version,
            &approve(vec![cut("999999", Some("other"))]),
            t0,
        )
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "lines.0.approved"),
        other => panic!("expected the amount refused, got {other:?}"),
    }
    match w
        .step(
            &rui.scope,
            &id,
            c.version,
            &ClaimStepInput {
                action: "reject".into(),
                ..Default::default()
            },
            t0,
        )
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "reason"),
        other => panic!("expected a rejection's reason asked for, got {other:?}"),
    }
    // The importer pays the diagnosis at its flat rate (1.50 h × €85.00).
    let c = w
        .step(
            &rui.scope,
            &id,
            c.version,
            &approve(vec![cut("127.50", Some("over-flat-rate"))]),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(c.status, ClaimStatus::BrandReview);
    assert_eq!(c.events.last().unwrap().action.as_str(), "approve-partly");
    // A stale version is a conflict, and the importer's step is over.
    assert!(matches!(
        w.step(&helena.scope, &id, c.version - 1, &approve(vec![]), t0)
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        w.step(&rui.scope, &id, c.version, &approve(vec![]), t0)
            .await,
        Err(StoreError::Forbidden(_))
    ));
    // Polestar follows the importer: a partial approval.
    let line = c.lines.iter().find(|l| l.id == over.id).unwrap();
    assert_eq!(line.importer.as_ref().unwrap().amount, "127.50");
    let c = w
        .step(
            &helena.scope,
            &id,
            c.version,
            &approve(vec![LineDecisionInput {
                line_id: over.id.clone(),
                approved: "127.50".into(),
                reason: Some("over-flat-rate".into()),
            }]),
            t0 + Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(c.status, ClaimStatus::PartlyApproved);
    assert_eq!(c.approved.as_ref().unwrap().amount, "951.50");
    assert_eq!(c.claimed.amount, "994.00");
    // The service point appeals once; Polestar then pays in full; a second appeal is refused.
    let appeal = ClaimStepInput {
        action: "appeal".into(),
        note: Some("Diagnóstico prolongado pela corrosão documentada em fotografia.".into()),
        ..Default::default()
    };
    let c = w
        .step(
            &joao.scope,
            &id,
            c.version,
            &appeal,
            t0 + Duration::hours(2),
        )
        .await
        .unwrap();
    assert_eq!((c.status, c.appealed), (ClaimStatus::BrandReview, true));
    let c = w
        .step(
            &helena.scope,
            &id,
            c.version,
            &approve(vec![]),
            t0 + Duration::hours(3),
        )
        .await
        .unwrap();
    assert_eq!(c.status, ClaimStatus::Approved);
    assert_eq!(c.approved.as_ref().unwrap().amount, "994.00");
    assert!(c.actions.is_empty());
    match w.step(&joao.scope, &id, c.version, &appeal, t0).await {
        Err(StoreError::Forbidden(_)) | Err(StoreError::Invalid(_)) => {}
        other => panic!("a second appeal must be refused, got {other:?}"),
    }
    assert_eq!(
        c.events
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        [
            "submit",
            "approve-partly",
            "approve-partly",
            "appeal",
            "approve"
        ]
    );
    // Supplier recovery on the pump: the brand records it; the service point may not.
    let pump = c.lines.iter().find(|l| l.kind.as_str() == "part").unwrap();
    let rec = RecoveryInput {
        part_returned: Some(true),
        analysis: Some("confirmed".into()),
        recovery_pct: 50,
    };
    assert!(matches!(
        w.record_recovery(&joao.scope, &id, &pump.id, &rec, t0)
            .await,
        Err(StoreError::Forbidden(_))
    ));
    let bad = RecoveryInput {
        part_returned: Some(false),
        analysis: Some("confirmed".into()),
        recovery_pct: 150,
    };
    match w
        .record_recovery(&helena.scope, &id, &pump.id, &bad, t0)
        .await
    {
        Err(StoreError::Invalid(e)) => {
            let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
            assert_eq!(fields, ["recovery_pct", "analysis"]);
        }
        other => panic!("expected the recovery refused, got {other:?}"),
    }
    let c = w
        .record_recovery(&helena.scope, &id, &pump.id, &rec, t0)
        .await
        .unwrap();
    assert_eq!(c.recovered.amount, "310.00");
    let export = c.export();
    assert_eq!(export.parts[0].recovery.as_deref(), Some("310.00"));
    assert_eq!(export.labour.len(), 2);
    assert_eq!(export.submissions, 1);
    let json = serde_json::to_value(&export).unwrap();
    assert_eq!(json["ClaimNumberString"], c.number.as_str());
    assert_eq!(json["VehicleID"], c.vin.as_str());

    // Trondheim: no importer between, the claim waits for Tesla, which approves the pump at half;
    // the warranty invoice issued for the order shows the difference to credit.
    let tesla = w.claims(&tom.scope, &mine, t0).await.unwrap();
    assert_eq!(tesla.len(), 1);
    let c = w.claim(&tom.scope, &tesla[0].id, t0).await.unwrap();
    assert!(c.reviewer.is_none());
    let pump = c
        .lines
        .iter()
        .find(|l| l.kind.as_str() == "part")
        .unwrap()
        .clone();
    assert_eq!(pump.claimed.amount, "6900.00");
    let c = w
        .step(
            &tom.scope,
            &c.id,
            c.version,
            &approve(vec![LineDecisionInput {
                line_id: pump.id.clone(),
                approved: "3450".into(),
                reason: Some("price-above-list".into()),
            }]),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(c.status, ClaimStatus::PartlyApproved);
    let r = c.reconciliation.clone().unwrap();
    assert_eq!(
        (r.invoiced.amount.as_str(), r.difference.amount.as_str()),
        ("0.00", "-9105.00")
    );
    let drafts = store
        .billing()
        .invoice_repair_order(&ingrid.scope, &c.repair_order.id, t0)
        .await
        .unwrap();
    let warr = drafts
        .iter()
        .find(|d| d.pay_type.as_deref() == Some("warranty"))
        .unwrap();
    let d = store
        .billing()
        .document(&ingrid.scope, &warr.id, t0)
        .await
        .unwrap();
    store
        .billing()
        .issue(&ingrid.scope, &warr.id, d.version, None, t0)
        .await
        .unwrap();
    let c = w.claim(&ingrid.scope, &c.id, t0).await.unwrap();
    let r = c.reconciliation.unwrap();
    assert_eq!(
        (
            r.approved.amount.as_str(),
            r.invoiced.amount.as_str(),
            r.difference.amount.as_str()
        ),
        ("9105.00", "12555.00", "3450.00")
    );

    // A new claim from a job: hours above the flat rate need a reason; a job is claimed once.
    let sent_back = &joao_mine[0];
    let c = w.claim(&joao.scope, &sent_back.id, t0).await.unwrap();
    assert_eq!(c.events.last().unwrap().party.as_str(), "importer");
    assert!(c.events.last().unwrap().note.is_some());
    let unknown = ClaimInput {
        job_id: "no-such-job".into(),
        claim_type: "warranty".into(),
        ..Default::default()
    };
    assert!(matches!(
        w.create_claim(&joao.scope, &unknown, t0).await,
        Err(StoreError::NotFound)
    ));
    // A fresh warranty job with diagnosis above its flat rate.
    let miguel = customer_and_car(store, &joao.scope, "Miguel Costa").await;
    let (ro, fresh) = lisboa_job(store, &joao.scope, &miguel, None, "warranty", t0).await;
    let ro = store
        .workshop()
        .add_line(
            &joao.scope,
            &ro.id,
            &fresh,
            &aftersales_store::workshop::LineInput {
                kind: "labour".into(),
                code: Some("PS-HV-DIAG".into()),
                quantity: Some("2.25".into()),
                ..Default::default()
            },
            t0,
        )
        .await
        .unwrap();
    let line = ro.jobs[0].lines[0].id.clone();
    let mut input = ClaimInput {
        job_id: fresh.clone(),
        claim_type: "warranty".into(),
        ..Default::default()
    };
    match w.create_claim(&joao.scope, &input, t0).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "lines.0.over_reason"),
        other => panic!("expected the reason for the hours asked for, got {other:?}"),
    }
    // A technician cannot claim; the advisor with the reason can.
    let bruno = caller(store, "bruno", t0).await;
    input
        .over_reasons
        .insert(line.clone(), "Isolamento medido em três pontos".into());
    assert!(matches!(
        w.create_claim(&bruno.scope, &input, t0).await,
        Err(StoreError::NotFound) | Err(StoreError::Forbidden(_))
    ));
    let made = w.create_claim(&joao.scope, &input, t0).await.unwrap();
    assert_eq!(made.status, ClaimStatus::Draft);
    assert_eq!(
        made.lines[0].over_reason.as_deref(),
        Some("Isolamento medido em três pontos")
    );
    assert!(made.odometer_km > 0, "the car's latest reading");
    let ro = store
        .workshop()
        .repair_order(&joao.scope, &c.repair_order.id)
        .await
        .unwrap();
    let job = ro.jobs[0].id.clone();
    match w
        .create_claim(
            &joao.scope,
            &ClaimInput {
                job_id: job.clone(),
                claim_type: "warranty".into(),
                ..Default::default()
            },
            t0,
        )
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "job_id"),
        other => panic!("expected the job refused as claimed, got {other:?}"),
    }
    // Resubmitted after the return: back with the importer.
    let c = w
        .step(
            &joao.scope,
            &c.id,
            c.version,
            &ClaimStepInput {
                action: "submit".into(),
                note: Some("Fotografia e relatório anexados ao processo.".into()),
                ..Default::default()
            },
            t0,
        )
        .await
        .unwrap();
    assert_eq!(c.status, ClaimStatus::ImporterReview);
    assert!(c.step_due.is_some_and(|d| d == t0 + Duration::days(5)));
}

/// Goodwill on both engines: the demo's Lisboa request at 70 000 km gets the matrix's proposal and
/// waits for the importer (above a service manager's authority); a person without authority is
/// refused, other shares need a reason; the importer approves within his authority and the job's
/// lines split so the customer's share is on the repair order; the quarter's budget counts it;
/// Trondheim's request, approved by its service manager, shows there, not in Portugal.
pub async fn goodwill_follows_the_policy_and_the_authority(store: &Store) {
    use aftersales_domain::org::Role;
    use aftersales_domain::warranty::goodwill::GoodwillStatus;
    use aftersales_store::warranty::GoodwillDecision;
    let t0 = datetime!(2026-11-21 09:00 UTC);
    demo::seed(store, t0 - Duration::hours(1)).await.unwrap();
    let w = store.warranty();
    let joao = caller(store, "joao", t0).await;
    let rui = caller(store, "rui", t0).await;
    let marta = caller(store, "marta", t0).await;
    let kari = caller(store, "kari", t0).await;
    let pt = w
        .goodwill_requests(&joao.scope, false, None, None)
        .await
        .unwrap();
    // The request on Tiago's repair order, and one asked on Rui Matos's case (approved by Rui).
    assert_eq!(pt.len(), 2);
    let g = pt.iter().find(|g| g.job_id.is_some()).unwrap();
    let on_case = pt.iter().find(|g| g.case.is_some()).unwrap();
    assert_eq!(on_case.status, GoodwillStatus::Approved);
    assert_eq!(g.policy, "standard-2026");
    assert_eq!(g.odometer_km, 70_000);
    assert_eq!(
        (g.proposed_parts_pct, g.proposed_labour_pct),
        (Some(80), Some(100))
    );
    // Parts €800.00 at 80 % + labour 0.5 h × €85.00 at 100 % = €682.50; the customer €160.00.
    assert_eq!(
        (g.goodwill.amount.as_str(), g.customer.amount.as_str()),
        ("682.50", "160.00")
    );
    assert_eq!(g.split.brand + g.split.importer + g.split.dealer, 68_250);
    assert_eq!(
        (g.level, g.status),
        (Role::ImporterStaff, GoodwillStatus::Pending)
    );
    assert!(!g.may_decide, "an advisor has no goodwill authority");
    assert!(matches!(
        w.decide_goodwill(
            &joao.scope,
            &g.id,
            g.version,
            &GoodwillDecision {
                action: "approve".into(),
                ..Default::default()
            },
            t0
        )
        .await,
        Err(StoreError::Forbidden(_))
    ));
    assert!(matches!(
        w.goodwill_request(&marta.scope, &g.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        w.goodwill_requests(&rui.scope, true, None, None)
            .await
            .unwrap()
            .len(),
        1
    );
    // Other shares need a reason; the importer gives 90 % of parts with one, within his €2,000.
    let more = GoodwillDecision {
        action: "approve".into(),
        parts_pct: Some(90),
        ..Default::default()
    };
    match w
        .decide_goodwill(&rui.scope, &g.id, g.version, &more, t0)
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "deviation_reason"),
        other => panic!("expected the reason asked for, got {other:?}"),
    }
    let more = GoodwillDecision {
        deviation_reason: Some("Cliente fiel, revisões todas na rede".into()),
        ..more
    };
    let done = w
        .decide_goodwill(&rui.scope, &g.id, g.version, &more, t0)
        .await
        .unwrap();
    assert_eq!(done.status, GoodwillStatus::Approved);
    assert_eq!(done.customer.amount, "80.00");
    assert_eq!(
        done.events
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        ["request", "approve"]
    );
    // The repair order's lines: the part split 90/10, labour wholly goodwill.
    let ro = store
        .workshop()
        .repair_order(&joao.scope, &done.repair_order.as_ref().unwrap().id)
        .await
        .unwrap();
    let mut lines: Vec<(String, String)> = ro.jobs[0]
        .lines
        .iter()
        .map(|l| {
            (
                l.pay_type.as_str().to_string(),
                l.total.as_ref().unwrap().amount.clone(),
            )
        })
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            ("customer".to_string(), "80.00".to_string()),
            ("goodwill".to_string(), "42.50".to_string()),
            ("goodwill".to_string(), "720.00".to_string()),
        ]
    );
    // Decided once: a second decision is refused.
    assert!(w
        .decide_goodwill(&rui.scope, &g.id, done.version, &more, t0)
        .await
        .is_err());
    let budgets = w.goodwill_budgets(&rui.scope, t0.date()).await.unwrap();
    assert_eq!(budgets.len(), 1);
    let b = &budgets[0];
    assert_eq!(
        (
            b.period.as_str(),
            b.committed.amount.as_str(),
            b.left.amount.as_str()
        ),
        (
            "2026-Q4",
            format!(
                "{:.2}",
                762.50 + on_case.goodwill.amount.parse::<f64>().unwrap()
            )
            .as_str(),
            format!(
                "{:.2}",
                24_237.50 - on_case.goodwill.amount.parse::<f64>().unwrap()
            )
            .as_str()
        )
    );
    // Trondheim: Kari approved within her authority; the customer's share is on the order.
    let no = w
        .goodwill_requests(&kari.scope, false, None, None)
        .await
        .unwrap();
    assert_eq!(
        no.len(),
        2,
        "the approved one and the one asked on Siri Berg's case"
    );
    assert!(no
        .iter()
        .any(|g| g.status == GoodwillStatus::Approved && g.job_id.is_some()));
    assert!(no
        .iter()
        .any(|g| g.status == GoodwillStatus::Pending && g.case.is_some()));
    assert_eq!(
        w.goodwill_budgets(&kari.scope, t0.date()).await.unwrap()[0].period,
        "2026-Q4"
    );
}

/// Campaigns on both engines: the demo recall over 30 Polestar VINs shows its completion in all
/// and per service point, a demo customer's car lists it as open; a VIN is recorded done once, an
/// over-the-air report older than the remedy is refused; a CSV with a bad line names it; a rule
/// picks the brand's vehicles; Tesla's market sees none of Polestar's.
pub async fn campaigns_count_their_completion(store: &Store) {
    use aftersales_store::warranty::{CampaignDoneInput, RecallCampaignInput};
    let t0 = datetime!(2026-11-21 09:00 UTC);
    demo::seed(store, t0 - Duration::hours(1)).await.unwrap();
    let w = store.warranty();
    let ana = caller(store, "ana", t0).await;
    let joao = caller(store, "joao", t0).await;
    let ingrid = caller(store, "ingrid", t0).await;
    let tom = caller(store, "tom", t0).await;
    let pt = w.campaigns(&ana.scope).await.unwrap();
    assert_eq!(pt.len(), 1);
    let recall = &pt[0];
    assert_eq!(
        (recall.affected, recall.done, recall.completion_pct),
        (30, 10, 33)
    );
    let detail = w.campaign(&joao.scope, &recall.id).await.unwrap();
    assert_eq!(detail.points.len(), 1, "João sees Lisboa's line only");
    assert_eq!(detail.points[0].done, 4);
    let all = w.campaign(&ana.scope, &recall.id).await.unwrap();
    assert_eq!(all.points.iter().map(|p| p.done).sum::<i64>(), 10);
    // Tesla's side sees only its own.
    let no = w.campaigns(&ingrid.scope).await.unwrap();
    assert_eq!(no.len(), 1);
    assert_eq!(no[0].code, "TS-OTA-2026-44");
    assert!(matches!(
        w.campaign(&ingrid.scope, &recall.id).await,
        Err(StoreError::NotFound)
    ));
    // A demo customer's Polestar shows the recall open; done in Lisboa, it no longer does.
    let vehicles = w.campaign_vehicles(&joao.scope, &recall.id).await.unwrap();
    let open = vehicles
        .iter()
        .find(|v| v.vehicle_id.is_some() && v.done_at.is_none())
        .unwrap();
    let car = open.vehicle_id.clone().unwrap();
    assert_eq!(w.open_campaigns(&joao.scope, &car).await.unwrap().len(), 1);
    let lisboa = detail.points[0].organisation.id.clone();
    let done = CampaignDoneInput {
        vin: open.vin.clone(),
        how: "workshop".into(),
        organisation_id: Some(lisboa.clone()),
        software_version: None,
    };
    let after = w
        .campaign_done(&joao.scope, &recall.id, &done, t0)
        .await
        .unwrap();
    assert_eq!(after.done, 11);
    assert!(w
        .open_campaigns(&joao.scope, &car)
        .await
        .unwrap()
        .is_empty());
    match w.campaign_done(&joao.scope, &recall.id, &done, t0).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "vin"),
        other => panic!("done once, got {other:?}"),
    }
    // Over the air: a version before the remedy's is refused.
    let ota = &no[0];
    let open_tesla = w
        .campaign_vehicles(&tom.scope, &ota.id)
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.done_at.is_none())
        .unwrap();
    let old = CampaignDoneInput {
        vin: open_tesla.vin.clone(),
        how: "ota".into(),
        organisation_id: None,
        software_version: Some("2026.36.1".into()),
    };
    match w.campaign_done(&tom.scope, &ota.id, &old, t0).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "software_version"),
        other => panic!("expected the old version refused, got {other:?}"),
    }
    // The owners of the open VINs are told once; João may not send it, Ana (who runs it) may.
    assert!(matches!(
        w.notify_campaign(&joao.scope, &recall.id, t0).await,
        Err(StoreError::Forbidden(_))
    ));
    let told = w.notify_campaign(&ana.scope, &recall.id, t0).await.unwrap();
    assert!(told >= 3, "the demo customers' open Polestars: {told}");
    assert_eq!(
        w.notify_campaign(&ana.scope, &recall.id, t0).await.unwrap(),
        0
    );
    // A new campaign: a bad CSV line is named; a rule over the brand's vehicles works.
    let mut input = RecallCampaignInput {
        organisation_id: ana
            .scope
            .orgs_with(aftersales_domain::org::Permission::WarrantyReview)[0]
            .clone(),
        code: "ps-s-2612".into(),
        kind: "service".into(),
        title_nb: "Kontroll av ladeluke".into(),
        title_en: "Charge port door check".into(),
        title_pt: "Verificação da tampa de carregamento".into(),
        remedy: "workshop".into(),
        operation: Some("PS-DIAG".into()),
        vins_csv: Some("vin\nLPSED3KA9NL123456\nNOT-A-VIN\n".into()),
        ..Default::default()
    };
    match w.create_campaign(&ana.scope, &input, t0).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "vins.3"),
        other => panic!("expected the line named, got {other:?}"),
    }
    input.vins_csv = None;
    input.model = Some("Polestar 2".into());
    let made = w.create_campaign(&ana.scope, &input, t0).await.unwrap();
    assert_eq!(made.code, "PS-S-2612");
    assert!(made.affected > 0 && made.affected < 30, "{}", made.affected);
}

/// Terms versions on both engines: Tesla's warranty administrator keeps a new version for the
/// brand (checked by field, the code once); an advisor may not; the versions in force list it.
pub async fn warranty_terms_are_kept_by_the_brand(store: &Store) {
    use aftersales_domain::warranty::{CoverageKind, CoverageTerm};
    use aftersales_store::warranty::WarrantyTerms;
    let t0 = datetime!(2026-11-21 09:00 UTC);
    demo::seed(store, t0 - Duration::hours(1)).await.unwrap();
    let w = store.warranty();
    let tom = caller(store, "tom", t0).await;
    let ingrid = caller(store, "ingrid", t0).await;
    let hq = tom
        .scope
        .orgs_with(aftersales_domain::org::Permission::WarrantyDecide)
        .into_iter()
        .find(|o| tom.scope.roles_at(o).is_some())
        .unwrap();
    let mut terms = WarrantyTerms {
        code: "tesla-eu-cyber-2027".into(),
        market: None,
        models: vec!["Cybertruck".into()],
        delivered_from: Some("2027-01-01".into()),
        delivered_before: Some("2026-01-01".into()),
        coverages: vec![CoverageTerm {
            kind: CoverageKind::Basic,
            months: 0,
            km: Some(80_000),
            min_soh_pct: None,
        }],
    };
    match w.add_terms(&tom.scope, &hq, &terms, t0).await {
        Err(StoreError::Invalid(e)) => {
            let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
            assert_eq!(fields, ["coverages.0.months", "delivered_before"]);
        }
        other => panic!("expected the fields named, got {other:?}"),
    }
    terms.delivered_before = None;
    terms.coverages[0].months = 48;
    assert!(w.add_terms(&ingrid.scope, &hq, &terms, t0).await.is_err());
    w.add_terms(&tom.scope, &hq, &terms, t0).await.unwrap();
    assert!(matches!(
        w.add_terms(&tom.scope, &hq, &terms, t0).await,
        Err(StoreError::Invalid(_))
    ));
    let listed = w.terms(&tom.scope, &hq).await.unwrap();
    assert!(listed.iter().any(|t| t.code == "tesla-eu-cyber-2027"));
}

/// The parts warranty covers what the network fitted, from the day the car went back with it:
/// Carolina Sá's pump (fitted in Lisboa's approved demo claim) runs under Polestar's two years;
/// a later failure of that pump is a parts-warranty claim, another part is not.
pub async fn fitted_parts_keep_their_own_warranty(store: &Store) {
    use aftersales_store::warranty::ClaimInput;
    let t0 = datetime!(2026-11-21 09:00 UTC);
    demo::seed(store, t0 - Duration::hours(1)).await.unwrap();
    let joao = caller(store, "joao", t0).await;
    let carolina = customer_and_car(store, &joao.scope, "Carolina Sá").await;
    let today = Date::from_calendar_date(2026, time::Month::November, 21).unwrap();
    let cov = store
        .warranty()
        .coverage(&joao.scope, &carolina.1, today, None)
        .await
        .unwrap();
    let pump = cov
        .parts
        .iter()
        .find(|p| p.part_number.as_deref() == Some("31686961"))
        .expect("the pump fitted in the approved demo claim");
    assert_eq!(pump.coverage.standing, "covered");
    assert_eq!(
        pump.coverage.kind,
        aftersales_domain::warranty::CoverageKind::Parts
    );
    let fitted = Date::parse(
        &pump.fitted_on,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    assert!(fitted < today && fitted > today - Duration::days(30));
    assert_eq!(
        pump.coverage.last_day,
        fitted
            .replace_year(fitted.year() + 2)
            .unwrap()
            .previous_day()
            .unwrap()
            .to_string(),
        "two years from fitting, the last day counted"
    );
    // Two years on, the pump's parts warranty has ended.
    let later = store
        .warranty()
        .coverage(&joao.scope, &carolina.1, today + Duration::days(800), None)
        .await
        .unwrap();
    assert!(later.parts.iter().all(|p| p.coverage.standing == "expired"));

    // The pump fails again: a parts-warranty claim names it; a part never fitted is refused.
    let (ro, job) = lisboa_job(store, &joao.scope, &carolina, None, "warranty", t0).await;
    store
        .workshop()
        .add_line(
            &joao.scope,
            &ro.id,
            &job,
            &aftersales_store::workshop::LineInput {
                kind: "part".into(),
                code: Some("31686961".into()),
                ..Default::default()
            },
            t0,
        )
        .await
        .unwrap();
    let mut input = ClaimInput {
        job_id: job,
        claim_type: "parts-warranty".into(),
        causal_part: Some("PS-NEVER-FITTED".into()),
        ..Default::default()
    };
    match store.warranty().create_claim(&joao.scope, &input, t0).await {
        Err(StoreError::Invalid(e)) => {
            assert_eq!(e.0[0].field, "causal_part");
            assert_eq!(e.0[0].hint, Some("wc-err-parts-warranty"));
        }
        other => panic!("expected the causal part refused, got {other:?}"),
    }
    input.causal_part = Some("31686961".into());
    let made = store
        .warranty()
        .create_claim(&joao.scope, &input, t0)
        .await
        .unwrap();
    assert_eq!(made.claim_type.as_str(), "parts-warranty");
}

/// Goodwill asked on a case before the car is booked: the estimate gets the policy's proposal
/// and is decided as any request; once approved it is applied to a job of the case's repair
/// order, which splits that job's customer lines; goodwill above what was approved is refused.
pub async fn goodwill_asked_on_a_case_lands_on_its_repair_order(store: &Store) {
    use aftersales_domain::warranty::goodwill::GoodwillStatus;
    use aftersales_store::cases::CaseInput;
    use aftersales_store::warranty::{GoodwillDecision, GoodwillInput};
    let t0 = datetime!(2026-11-21 09:00 UTC);
    demo::seed(store, t0 - Duration::hours(1)).await.unwrap();
    let w = store.warranty();
    let joao = caller(store, "joao", t0).await;
    let rui = caller(store, "rui", t0).await;
    let marta = caller(store, "marta", t0).await;
    let carolina = customer_and_car(store, &joao.scope, "Carolina Sá").await;
    let case = store
        .cases()
        .create_case(
            &joao.scope,
            &CaseInput {
                customer_id: Some(carolina.0.clone()),
                vehicle_id: Some(carolina.1.clone()),
                channel: "phone".into(),
                category: "warranty".into(),
                priority: "normal".into(),
                subject: "Ecrã central apaga-se ao conduzir".into(),
                ..Default::default()
            },
            t0,
        )
        .await
        .unwrap();
    let ask = |parts: &str, labour: &str| GoodwillInput {
        case_id: Some(case.id.clone()),
        parts_amount: Some(parts.into()),
        labour_amount: Some(labour.into()),
        component_group: "electrical".into(),
        odometer_km: Some(30_000),
        network_history: Some(true),
        first_owner: Some(true),
        ..Default::default()
    };
    // A bad estimate is named; a job and a case at once are refused.
    match w
        .request_goodwill(&joao.scope, &ask("12,345.678", "0"), t0)
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "parts_amount"),
        other => panic!("expected the estimate refused, got {other:?}"),
    }
    match w.request_goodwill(&joao.scope, &ask("0", ""), t0).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].hint, Some("gw-err-estimate")),
        other => panic!("expected an estimate asked for, got {other:?}"),
    }
    let both = GoodwillInput {
        job_id: Some("some-job".into()),
        ..ask("100", "100")
    };
    assert!(matches!(
        w.request_goodwill(&joao.scope, &both, t0).await,
        Err(StoreError::Invalid(_))
    ));
    let g = w
        .request_goodwill(&joao.scope, &ask("400.00", "150,00"), t0)
        .await
        .unwrap();
    assert_eq!(
        g.case.as_ref().map(|c| c.id.as_str()),
        Some(case.id.as_str())
    );
    assert!(g.repair_order.is_none() && g.job_id.is_none());
    assert_eq!(
        (g.parts.amount.as_str(), g.labour.amount.as_str()),
        ("400.00", "150.00")
    );
    assert!(
        g.proposed_parts_pct.is_some(),
        "the policy proposes on an estimate"
    );
    // One open request per case; Porto does not see it.
    match w.request_goodwill(&joao.scope, &ask("1", "1"), t0).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].hint, Some("gw-err-case-taken")),
        other => panic!("expected the open request named, got {other:?}"),
    }
    assert!(matches!(
        w.goodwill_request(&marta.scope, &g.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        w.goodwill_requests(&joao.scope, false, None, Some(&case.id))
            .await
            .unwrap()
            .len(),
        1
    );
    // Applying before approval is refused.
    assert!(matches!(
        w.apply_goodwill(&joao.scope, &g.id, g.version, "x", t0)
            .await,
        Err(StoreError::Invalid(_))
    ));
    let approved = w
        .decide_goodwill(
            &rui.scope,
            &g.id,
            g.version,
            &GoodwillDecision {
                action: "approve".into(),
                ..Default::default()
            },
            t0,
        )
        .await
        .unwrap();
    assert_eq!(approved.status, GoodwillStatus::Approved);
    assert!(approved.apply_to.is_empty(), "no repair order yet");

    // The car is booked from the case: its job can take the goodwill.
    let (ro, job) = lisboa_job(
        store,
        &joao.scope,
        &carolina,
        Some(&case.id),
        "customer",
        t0,
    )
    .await;
    let seen = w.goodwill_request(&joao.scope, &g.id).await.unwrap();
    assert_eq!(
        seen.apply_to
            .iter()
            .map(|j| j.id.as_str())
            .collect::<Vec<_>>(),
        [job.as_str()]
    );
    // Lines the customer would pay, more than the estimate: refused, nothing split.
    let add = |code: &'static str, qty: &'static str| {
        let (ro_id, job) = (ro.id.clone(), job.clone());
        let scope = joao.scope.clone();
        async move {
            store
                .workshop()
                .add_line(
                    &scope,
                    &ro_id,
                    &job,
                    &aftersales_store::workshop::LineInput {
                        kind: "labour".into(),
                        code: Some(code.into()),
                        quantity: Some(qty.into()),
                        ..Default::default()
                    },
                    t0,
                )
                .await
                .unwrap()
        }
    };
    add("PS-HV-DIAG", "20.00").await;
    match w
        .apply_goodwill(&joao.scope, &g.id, seen.version, &job, t0)
        .await
    {
        Err(StoreError::Invalid(e)) => {
            assert_eq!(e.0[0].hint, Some("gw-err-above-approved"))
        }
        other => panic!("expected goodwill above the approval refused, got {other:?}"),
    }
    let ro_now = store
        .workshop()
        .repair_order(&joao.scope, &ro.id)
        .await
        .unwrap();
    assert!(ro_now.jobs[0]
        .lines
        .iter()
        .all(|l| l.pay_type.as_str() == "customer"));
    // Within the estimate: applied, the job's lines split, the request tied to the job.
    let line = ro_now.jobs[0].lines[0].id.clone();
    store
        .workshop()
        .remove_line(&joao.scope, &ro.id, &line, t0)
        .await
        .unwrap();
    add("PS-HV-DIAG", "1.00").await;
    let applied = w
        .apply_goodwill(&joao.scope, &g.id, seen.version, &job, t0)
        .await
        .unwrap();
    assert_eq!(applied.job_id.as_deref(), Some(job.as_str()));
    assert_eq!(
        applied.repair_order.as_ref().map(|r| r.id.as_str()),
        Some(ro.id.as_str())
    );
    assert_eq!(
        applied.events.last().map(|e| e.action.as_str()),
        Some("apply")
    );
    assert!(applied.apply_to.is_empty());
    let ro_now = store
        .workshop()
        .repair_order(&joao.scope, &ro.id)
        .await
        .unwrap();
    assert!(ro_now.jobs[0]
        .lines
        .iter()
        .any(|l| l.pay_type.as_str() == "goodwill"));
    // Applied once.
    assert!(matches!(
        w.apply_goodwill(&joao.scope, &g.id, applied.version, &job, t0)
            .await,
        Err(StoreError::Invalid(_))
    ));
}

/// Claim analysis over the demo's warranty history on both engines: Ana (Polestar Portugal) sees
/// claims per 1,000 by months in service rising with age, cost per unit, a Weibull fit of the
/// high-voltage system near the shape it was generated with, and the electrical claims the
/// history makes rise flagged by the early warning, while chassis claims are not; a service
/// manager may not analyse, and Tesla's analyst sees Norway's cars, not Portugal's.
pub async fn claim_analysis_reads_the_history(store: &Store) {
    use aftersales_domain::warranty::goodwill::ComponentGroup;
    let t0 = datetime!(2026-11-21 09:00 UTC);
    demo::seed(store, t0 - Duration::hours(1)).await.unwrap();
    demo::seed_history(store, t0 - Duration::hours(1))
        .await
        .unwrap();
    let w = store.warranty();
    let ana = caller(store, "ana", t0).await;
    let marta = caller(store, "marta", t0).await;
    let emily = caller(store, "emily", t0).await;
    let today = t0.date();
    let m = w
        .mis_matrix(
            &ana.scope,
            today,
            &aftersales_store::warranty::MisQuery::default(),
            48,
        )
        .await
        .unwrap();
    assert!(
        m.rows.len() >= 14,
        "a row per delivery quarter: {}",
        m.rows.len()
    );
    let cum = |month: usize| m.total[month - 1].cumulative_per_1000.unwrap();
    assert!(
        cum(12) > 0.0 && cum(36) > cum(12),
        "{} {}",
        cum(12),
        cum(36)
    );
    let vehicles: u64 = m.rows.iter().map(|r| r.vehicles).sum();
    assert!((1_500..1_600).contains(&vehicles), "{vehicles}");
    // By service point: each one's claims over the same vehicles; together they make the whole.
    let points = w.service_points_analysed(&ana.scope).await.unwrap();
    assert!(points.len() >= 3, "{points:?}");
    let mut sum = 0.0;
    for (id, _) in &points {
        let one = w
            .mis_matrix(
                &ana.scope,
                today,
                &aftersales_store::warranty::MisQuery {
                    service_point: Some(id.clone()),
                    ..Default::default()
                },
                48,
            )
            .await
            .unwrap();
        let one_vehicles: u64 = one.rows.iter().map(|r| r.vehicles).sum();
        assert_eq!(one_vehicles, vehicles);
        sum += one.total[11].cumulative_per_1000.unwrap_or(0.0);
    }
    assert!(
        (sum - cum(12)).abs() < 1e-6 * cum(12).max(1.0),
        "{sum} vs {}",
        cum(12)
    );
    let cpu = w.cost_per_unit(&ana.scope, today).await.unwrap();
    assert_eq!(cpu.currency.as_deref(), Some("EUR"));
    assert!(cpu.per_unit().unwrap() > 0.0 && cpu.recovery_share().unwrap() > 0.0);
    assert!(cpu.claims > 1_000, "{}", cpu.claims);
    // Cost ÷ service revenue: what was claimed is revenue, the cost is at most that.
    let share = cpu.revenue_share().unwrap();
    assert!(cpu.claimed > 0 && share > 0.3 && share <= 1.0, "{share}");
    let fit = w
        .weibull_by_months(&ana.scope, today, ComponentGroup::HighVoltage, 0.95)
        .await
        .unwrap()
        .unwrap();
    assert!((1.1..2.2).contains(&fit.beta), "β {}", fit.beta);
    assert!(fit.beta_ci.lower < fit.beta && fit.beta < fit.beta_ci.upper);
    assert!(fit.failures > 20 && fit.suspensions > 1_000);
    // By km: the same failures and suspensions, at km (800–2,500 km a month: η in km well above η in months).
    let km = w
        .weibull_by_km(&ana.scope, today, ComponentGroup::HighVoltage, 0.95)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (km.failures, km.suspensions),
        (fit.failures, fit.suspensions)
    );
    assert!(
        km.eta > fit.eta * 500.0,
        "η {} km vs {} months",
        km.eta,
        fit.eta
    );
    assert!(km.beta_ci.lower < km.beta && km.beta < km.beta_ci.upper);
    let rising = w
        .early_warning(&ana.scope, today, ComponentGroup::Electrical, 24)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rising.months.len(), 24);
    assert!(
        rising.chart.signalled().iter().any(|i| *i >= 18),
        "the rise of the last months is flagged: {:?}",
        rising.chart.signalled()
    );
    let calm = w
        .early_warning(&ana.scope, today, ComponentGroup::Chassis, 24)
        .await
        .unwrap()
        .unwrap();
    assert!(
        calm.chart.signalled().iter().all(|i| *i < 18),
        "{:?}",
        calm.chart.signalled()
    );
    // Braga claims half as much labour again: above its peers on the funnel, the others not.
    let peers = w
        .peer_funnel(
            &ana.scope,
            today,
            aftersales_store::warranty::PeerMeasure::LabourPerClaim,
            12,
        )
        .await
        .unwrap()
        .unwrap();
    let outside: Vec<&str> = peers
        .funnel
        .outside_outer()
        .into_iter()
        .map(|i| peers.points[i].1.as_str())
        .collect();
    assert!(
        outside.contains(&"Polestar Service Point Braga"),
        "{outside:?}"
    );
    // Claims per vehicle serviced: a rate over the vehicles each point had in, every point in it.
    let rate = w
        .peer_funnel(
            &ana.scope,
            today,
            aftersales_store::warranty::PeerMeasure::ClaimsPerVehicle,
            12,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rate.points.len(), peers.points.len());
    assert!(rate.funnel.floor_at_zero);
    for p in &rate.funnel.points {
        assert!(p.value > 0.0 && p.size >= 1.0, "{p:?}");
    }
    assert!(matches!(
        w.mis_matrix(
            &marta.scope,
            today,
            &aftersales_store::warranty::MisQuery::default(),
            48
        )
        .await,
        Err(StoreError::Forbidden(_))
    ));
    let no = w.cost_per_unit(&emily.scope, today).await.unwrap();
    assert_eq!(no.currency.as_deref(), Some("NOK"));
    assert!((1_000..1_100).contains(&no.vehicles), "{}", no.vehicles);
}

/// The audit of service points over the demo's history: Braga ranks first by risk (over the flat
/// rate, no trouble found, a shared address, lines billed twice, above its peers), each rule's hits
/// name claims, an audit sample is drawn by risk and sized by the rule, a chargeback lowers what
/// the claim pays and the cost per unit, bad input is refused by field, and those without the
/// permission see nothing.
pub async fn audit_of_service_points(store: &Store) {
    use aftersales_domain::analysis::audit::RedFlag;
    use aftersales_store::warranty::{AuditProposal, AuditResultInput, AuditRuleInput};
    let t0 = datetime!(2026-11-21 09:00 UTC);
    demo::seed(store, t0 - Duration::hours(1)).await.unwrap();
    demo::seed_history(store, t0 - Duration::hours(1))
        .await
        .unwrap();
    let w = store.warranty();
    let ana = caller(store, "ana", t0).await;
    let marta = caller(store, "marta", t0).await;
    let emily = caller(store, "emily", t0).await;
    let today = t0.date();
    let risk = w.risk(&ana.scope, today, 12).await.unwrap();
    let top = &risk.points[0];
    assert_eq!(top.service_point.label, "Polestar Service Point Braga");
    assert!(risk.points.len() >= 3);
    assert!(
        top.score > risk.points[1].score * 1.5,
        "{} vs {}",
        top.score,
        risk.points[1].score
    );
    assert!(top.outlier_on.contains(&"labour-per-claim".to_string()));
    let hits = |flag: RedFlag| {
        top.hits
            .iter()
            .find(|h| h.flag == flag)
            .map_or(0, |h| h.claims)
    };
    for flag in [
        RedFlag::OverFlatRate,
        RedFlag::NoTroubleFound,
        RedFlag::SharedAddress,
        RedFlag::DuplicateBilling,
        RedFlag::ReplacedRepairable,
    ] {
        assert!(hits(flag) > 0, "{flag:?}: {:?}", top.hits);
    }
    let braga = top.service_point.id.clone();

    // The flags SQL finds are the domain's judgement of the facts, at any threshold.
    let local = [
        RedFlag::RepeatRepair,
        RedFlag::NearExpiry,
        RedFlag::OverFlatRate,
        RedFlag::ReplacedRepairable,
        RedFlag::DuplicateBilling,
    ];
    for (rule, threshold) in [
        (None, 0),
        (Some("repeat-repair"), 730),
        (Some("over-flat-rate"), 0),
        (Some("near-expiry"), 730),
        (Some("duplicate-billing"), 365),
    ] {
        if let Some(rule) = rule {
            w.set_audit_rule(
                &ana.scope,
                rule,
                &AuditRuleInput {
                    threshold: Some(threshold),
                    weight: None,
                    enabled: None,
                },
                t0,
            )
            .await
            .unwrap();
        }
        let settings = w.audit_rules(&ana.scope).await.unwrap();
        let settings: Vec<_> = settings.rules.iter().map(|r| r.setting).collect();
        let from = today - Duration::days(360);
        let inputs = w
            .claim_inputs(&ana.scope, &braga, from, today)
            .await
            .unwrap();
        let (_, flagged) = w
            .flagged_claims(&ana.scope, today, 12, &braga, None, None)
            .await
            .unwrap();
        let mut hit_somewhere = 0;
        for (id, input) in &inputs {
            let want: Vec<RedFlag> = settings
                .iter()
                .filter(|s| input.hits(s))
                .map(|s| s.flag)
                .collect();
            let got: Vec<RedFlag> = flagged
                .iter()
                .find(|c| &c.id == id)
                .map(|c| {
                    c.flags
                        .iter()
                        .copied()
                        .filter(|f| local.contains(f))
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(got, want, "claim {id} after {rule:?}");
            hit_somewhere += usize::from(!want.is_empty());
        }
        assert!(hit_somewhere > 0, "{rule:?}");
    }
    for rule in [
        "repeat-repair",
        "over-flat-rate",
        "near-expiry",
        "duplicate-billing",
    ] {
        let d = aftersales_domain::analysis::audit::default_rules()
            .into_iter()
            .find(|r| r.flag.as_str() == rule)
            .unwrap();
        w.set_audit_rule(
            &ana.scope,
            rule,
            &AuditRuleInput {
                threshold: Some(d.threshold),
                weight: None,
                enabled: None,
            },
            t0,
        )
        .await
        .unwrap();
    }

    let (total, shared) = w
        .flagged_claims(
            &ana.scope,
            today,
            12,
            &braga,
            Some(RedFlag::SharedAddress),
            None,
        )
        .await
        .unwrap();
    assert_eq!(shared.len() as i64, hits(RedFlag::SharedAddress));
    assert_eq!(total, hits(RedFlag::SharedAddress));
    let (total, newest) = w
        .flagged_claims(
            &ana.scope,
            today,
            12,
            &braga,
            Some(RedFlag::SharedAddress),
            Some(2),
        )
        .await
        .unwrap();
    assert_eq!((total, newest.len()), (hits(RedFlag::SharedAddress), 2));
    assert_eq!(newest[0].id, shared[0].id);
    assert!(shared
        .iter()
        .all(|c| c.flags.contains(&RedFlag::SharedAddress)));

    // Rules are data: switching one off removes its hits.
    let off = AuditRuleInput {
        threshold: None,
        weight: None,
        enabled: Some(false),
    };
    let rules = w
        .set_audit_rule(&ana.scope, "shared-address", &off, t0)
        .await
        .unwrap();
    assert!(rules.rules.iter().any(|r| r.changed && !r.setting.enabled));
    let risk2 = w.risk(&ana.scope, today, 12).await.unwrap();
    let top2 = risk2
        .points
        .iter()
        .find(|p| p.service_point.id == braga)
        .unwrap();
    assert!(top2.hits.iter().all(|h| h.flag != RedFlag::SharedAddress));
    let bad = AuditRuleInput {
        threshold: Some(0),
        weight: Some(5000),
        enabled: None,
    };
    match w
        .set_audit_rule(&ana.scope, "repeat-repair", &bad, t0)
        .await
    {
        Err(StoreError::Invalid(e)) => {
            let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
            assert_eq!(fields, vec!["threshold", "weight"]);
        }
        other => panic!("{other:?}"),
    }

    // The sample: sized by discovery sampling, drawn by risk.
    let audit = w
        .propose_audit(
            &ana.scope,
            &AuditProposal {
                service_point_id: braga.clone(),
                months: None,
                confidence_pct: None,
                min_bad_rate_pct: None,
            },
            t0,
        )
        .await
        .unwrap();
    assert_eq!(audit.required, 59);
    assert_eq!(audit.items.len() as i64, audit.population.min(59));
    assert!(audit.population > 59, "{}", audit.population);
    let flagged = audit.items.iter().filter(|i| !i.flags.is_empty()).count();
    assert!(
        flagged * 100 / audit.items.len() > 40,
        "risky claims come first: {flagged} of {}",
        audit.items.len()
    );
    match w.close_audit(&ana.scope, &audit.id, t0).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].hint, Some("au-err-undecided")),
        other => panic!("an audit without findings closed: {other:?}"),
    }
    let first = &audit.items[0];
    let paid = first.approved.minor().unwrap();
    // Half of what the claim pays (the sample is drawn at random: amounts differ per run).
    let cb = paid / 2;
    let cb_dot = format!("{}.{:02}", cb / 100, cb % 100);
    let cb_comma = format!("{},{:02}", cb / 100, cb % 100);
    assert!(paid > 0);
    let before = w.cost_per_unit(&ana.scope, today).await.unwrap();

    // Bad input keeps what was saved.
    let charge = |amount: &str, reason: &str| AuditResultInput {
        result: "charged-back".into(),
        amount: Some(amount.into()),
        reason: Some(reason.into()),
        note: Some("Labour booked twice".into()),
    };
    let over = format!("{}.00", paid / 100 + 1);
    match w
        .record_audit_result(
            &ana.scope,
            &audit.id,
            &first.claim_id,
            &charge(&over, "nonsense"),
            t0,
        )
        .await
    {
        Err(StoreError::Invalid(e)) => {
            let mut fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
            fields.sort_unstable();
            assert_eq!(fields, vec!["amount", "reason"]);
        }
        other => panic!("{other:?}"),
    }
    let a = w
        .record_audit_result(
            &ana.scope,
            &audit.id,
            &first.claim_id,
            &charge(&cb_dot, "labour-over-flat-rate"),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(a.charged_back.minor(), Some(cb));
    assert_eq!(a.decided, 1);
    let claim = w.claim(&ana.scope, &first.claim_id, t0).await.unwrap();
    assert_eq!(claim.charged_back.minor(), Some(cb));
    assert_eq!(claim.audits.len(), 1);
    assert_eq!(
        claim.reconciliation.as_ref().unwrap().approved.minor(),
        Some(paid - cb)
    );
    let after = w.cost_per_unit(&ana.scope, today).await.unwrap();
    assert_eq!(after.cost.charged_back, before.cost.charged_back + cb);
    // Changed to accepted: the chargeback is taken back.
    let a = w
        .record_audit_result(
            &ana.scope,
            &audit.id,
            &first.claim_id,
            &AuditResultInput {
                result: "accepted".into(),
                amount: None,
                reason: None,
                note: None,
            },
            t0,
        )
        .await
        .unwrap();
    assert_eq!(a.charged_back.minor(), Some(0));
    let claim = w.claim(&ana.scope, &first.claim_id, t0).await.unwrap();
    assert_eq!(claim.charged_back.minor(), Some(0));
    // Charge back again, and close the audit by accepting the rest.
    w.record_audit_result(
        &ana.scope,
        &audit.id,
        &first.claim_id,
        &charge(&cb_comma, "labour-over-flat-rate"),
        t0,
    )
    .await
    .unwrap();
    let mut last = None;
    for i in &audit.items[1..] {
        last = Some(
            w.record_audit_result(
                &ana.scope,
                &audit.id,
                &i.claim_id,
                &AuditResultInput {
                    result: "accepted".into(),
                    amount: None,
                    reason: None,
                    note: None,
                },
                t0,
            )
            .await
            .unwrap(),
        );
    }
    // Every claim has a finding: still open (findings may change) until closed.
    assert_eq!(last.unwrap().status, "open");
    let closed = w.close_audit(&ana.scope, &audit.id, t0).await.unwrap();
    assert_eq!(closed.status, "closed");
    assert!(matches!(
        w.close_audit(&ana.scope, &audit.id, t0).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        w.record_audit_result(
            &ana.scope,
            &audit.id,
            &first.claim_id,
            &charge("1", "other"),
            t0
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
    let claim = w.claim(&ana.scope, &first.claim_id, t0).await.unwrap();
    assert_eq!(claim.charged_back.minor(), Some(cb));
    // The next proposal leaves claims already audited out.
    let next = w
        .propose_audit(
            &ana.scope,
            &AuditProposal {
                service_point_id: braga.clone(),
                months: None,
                confidence_pct: Some(90),
                min_bad_rate_pct: Some(10),
            },
            t0,
        )
        .await
        .unwrap();
    assert_eq!(next.required, 22);
    assert!(next
        .items
        .iter()
        .all(|i| audit.items.iter().all(|j| j.claim_id != i.claim_id)));
    assert_eq!(w.audits(&ana.scope).await.unwrap().len(), 2);

    // Out of reach: Marta (a service manager) may not audit; Emily (an analyst) neither.
    assert!(matches!(
        w.risk(&marta.scope, today, 12).await,
        Err(StoreError::Forbidden(_))
    ));
    assert!(matches!(
        w.audit(&emily.scope, &audit.id).await,
        Err(StoreError::NotFound | StoreError::Forbidden(_))
    ));
    assert!(matches!(
        w.record_audit_result(
            &marta.scope,
            &audit.id,
            &first.claim_id,
            &charge("1", "other"),
            t0
        )
        .await,
        Err(StoreError::NotFound | StoreError::Forbidden(_))
    ));
}
