//! Conformance cases of the workshop and customer updates: availability from bays, shifts and
//! competences; double booking refused under concurrency; the repair-order status machine with
//! the customer's approval, clocking and the survey; the outbox with consent and quiet hours.

use std::sync::Arc;

use aftersales_domain::calendar::Zone;
use aftersales_domain::i18n::Language;
use aftersales_domain::notify::{Event, MessageChannel};
use aftersales_domain::workshop::{AppointmentKind, Approval, NoSlotReason, Refusal, RoStatus};
use aftersales_store::auth::{Caller, LoginPolicy};
use aftersales_store::workshop::{BookingInput, JobInput, JobUpdate, LineInput, RepairOrderInput};
use aftersales_store::{demo, Store, StoreError};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

pub(crate) async fn caller(store: &Store, username: &str, now: OffsetDateTime) -> Caller {
    let s = store
        .auth()
        .login(
            username,
            demo::DEMO_PASSWORD,
            None,
            now,
            &LoginPolicy::default(),
        )
        .await
        .unwrap();
    store
        .auth()
        .resolve_session(&s.raw_id, now, &LoginPolicy::default())
        .await
        .unwrap()
        .unwrap()
}

pub(crate) fn oslo(local: time::PrimitiveDateTime) -> OffsetDateTime {
    Zone::parse("tz", "Europe/Oslo").unwrap().instant(local)
}

async fn setup(store: &Store) -> (OffsetDateTime, String, String) {
    let t0 = oslo(datetime!(2026-11-23 07:00));
    demo::seed(store, t0 - Duration::days(1)).await.unwrap();
    let trd = store
        .cli()
        .find_organisation("Tesla Service Centre Trondheim")
        .await
        .unwrap()
        .0;
    let ingrid = caller(store, "ingrid", t0).await;
    let hits = store
        .crm()
        .search_crm(&ingrid.scope, "Kari Nordmann", 5)
        .await
        .unwrap();
    let kari = hits
        .iter()
        .find(|h| h.kind == "customer")
        .unwrap()
        .id
        .clone();
    (t0, trd, kari)
}

fn booking(trd: &str, customer: &str, ops: &[&str], at: &str) -> BookingInput {
    BookingInput {
        organisation_id: trd.into(),
        customer_id: customer.into(),
        kind: "workshop".into(),
        operations: ops.iter().map(|s| s.to_string()).collect(),
        starts_at: at.into(),
        complaint: Some("Knocking from the front left over bumps".into()),
        ..Default::default()
    }
}

pub async fn availability_follows_bays_shifts_and_competence(store: &Store) {
    let (t0, trd, kari) = setup(store).await;
    let ingrid = caller(store, "ingrid", t0).await;
    let day = date!(2026 - 11 - 23);
    let a = store
        .workshop()
        .availability(
            &ingrid.scope,
            &trd,
            day,
            AppointmentKind::Workshop,
            &["SRV-ANNUAL".into()],
            t0,
        )
        .await
        .unwrap();
    assert_eq!(a.duration_minutes, 60);
    // Opening 08:00–16:00 (the default calendar); the last start leaves an hour.
    assert_eq!(
        a.slots.first().unwrap().starts_at,
        oslo(datetime!(2026-11-23 08:00))
    );
    assert_eq!(
        a.slots.last().unwrap().starts_at,
        oslo(datetime!(2026-11-23 15:00))
    );
    // High-voltage work: only Ole holds a valid certificate (Sindre's expired).
    let hv = store
        .workshop()
        .availability(
            &ingrid.scope,
            &trd,
            day,
            AppointmentKind::Workshop,
            &["HV-DIAG".into()],
            t0,
        )
        .await
        .unwrap();
    assert!(hv
        .slots
        .iter()
        .all(|s| s.technician.as_deref() == Some("Ole Berg")));
    // Ole works 07:30–15:30: the last 1.5 h job starts at 14:00.
    assert_eq!(
        hv.slots.last().unwrap().starts_at,
        oslo(datetime!(2026-11-23 14:00))
    );
    // Saturday: closed. An unknown operation names the field.
    let sat = store
        .workshop()
        .availability(
            &ingrid.scope,
            &trd,
            date!(2026 - 11 - 28),
            AppointmentKind::Workshop,
            &["SRV-ANNUAL".into()],
            t0,
        )
        .await
        .unwrap();
    assert_eq!(sat.reason, Some(NoSlotReason::Closed));
    match store
        .workshop()
        .availability(
            &ingrid.scope,
            &trd,
            day,
            AppointmentKind::Workshop,
            &["NOPE".into()],
            t0,
        )
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "operations.0"),
        other => panic!("{other:?}"),
    }
    // Two technicians and two lift bays: two bookings at 08:00, not three.
    for _ in 0..2 {
        store
            .workshop()
            .book_appointment(
                &ingrid.scope,
                &booking(&trd, &kari, &["SRV-ANNUAL"], "2026-11-23T08:00:00+01:00"),
                t0,
            )
            .await
            .unwrap();
    }
    let third = store
        .workshop()
        .book_appointment(
            &ingrid.scope,
            &booking(&trd, &kari, &["SRV-ANNUAL"], "2026-11-23T08:00:00+01:00"),
            t0,
        )
        .await;
    assert!(matches!(third, Err(StoreError::Taken(_))), "{third:?}");
    let after = store
        .workshop()
        .availability(
            &ingrid.scope,
            &trd,
            day,
            AppointmentKind::Workshop,
            &["SRV-ANNUAL".into()],
            t0,
        )
        .await
        .unwrap();
    assert!(after
        .slots
        .iter()
        .all(|s| s.starts_at >= oslo(datetime!(2026-11-23 09:00))));
    // Mobile service: Ole drives out, with 30 minutes' travel each way inside his shift.
    let mobile = store
        .workshop()
        .availability(
            &ingrid.scope,
            &trd,
            date!(2026 - 11 - 24),
            AppointmentKind::Mobile,
            &["WIPER".into()],
            t0,
        )
        .await
        .unwrap();
    assert_eq!(
        mobile.slots.first().unwrap().starts_at,
        oslo(datetime!(2026-11-24 08:00))
    );
    assert!(mobile
        .slots
        .iter()
        .all(|s| s.technician.as_deref() == Some("Ole Berg")));
    let mut m = booking(&trd, &kari, &["WIPER"], "2026-11-24T08:00:00+01:00");
    m.kind = "mobile".into();
    let b = store
        .workshop()
        .book_appointment(&ingrid.scope, &m, t0)
        .await
        .unwrap();
    let ro = store
        .workshop()
        .repair_order(&ingrid.scope, &b.repair_order_id)
        .await
        .unwrap();
    // The booking's technician has the job on the repair order (issue 15, item 19).
    assert_eq!(
        ro.jobs[0].technician.as_ref().map(|t| t.label.as_str()),
        Some("Ole Berg")
    );
    let app = ro.appointment.unwrap();
    assert_eq!(
        (app.kind, app.bay, app.address.as_deref()),
        (
            AppointmentKind::Mobile,
            None,
            Some("Elgeseter gate 10, 7030, Trondheim")
        )
    );
    // Bad input names the field; a foreign service point is not found.
    match store
        .workshop()
        .book_appointment(
            &ingrid.scope,
            &booking(&trd, &kari, &["SRV-ANNUAL"], "2026-11-23T08:05:00+01:00"),
            t0,
        )
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "starts_at"),
        other => panic!("{other:?}"),
    }
    let lisboa = store
        .cli()
        .find_organisation("Polestar Service Point Lisboa")
        .await
        .unwrap()
        .0;
    assert!(matches!(
        store
            .workshop()
            .availability(
                &ingrid.scope,
                &lisboa,
                day,
                AppointmentKind::Workshop,
                &["PS-REVISAO".into()],
                t0
            )
            .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn fifty_parallel_bookings_of_the_last_slot_make_one(store: &Store) {
    let (t0, trd, kari) = setup(store).await;
    let ingrid = Arc::new(caller(store, "ingrid", t0).await);
    // High-voltage diagnosis at 10:00 needs Ole and the HV bay: one slot, fifty takers.
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (store, ingrid, input) = (
            store.clone(),
            ingrid.clone(),
            booking(&trd, &kari, &["HV-DIAG"], "2026-11-23T10:00:00+01:00"),
        );
        tasks.push(tokio::spawn(async move {
            store
                .workshop()
                .book_appointment(&ingrid.scope, &input, t0)
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Taken(_)) => {}
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!(ok, 1);
    let day = store
        .workshop()
        .day_board(&ingrid.scope, &trd, date!(2026 - 11 - 23))
        .await
        .unwrap();
    assert_eq!(day.len(), 1);
}

pub async fn repair_order_from_booking_to_survey(store: &Store) {
    let (t0, trd, kari) = setup(store).await;
    let ingrid = caller(store, "ingrid", t0).await;
    let b = store
        .workshop()
        .book_appointment(
            &ingrid.scope,
            &booking(&trd, &kari, &["DIAG"], "2026-11-23T09:00:00+01:00"),
            t0,
        )
        .await
        .unwrap();
    assert!(b.repair_order_number.starts_with("RO-2026-"));
    let ro = store
        .workshop()
        .repair_order(&ingrid.scope, &b.repair_order_id)
        .await
        .unwrap();
    assert_eq!(ro.status, RoStatus::Booked);
    assert_eq!(ro.jobs.len(), 1);
    assert_eq!(
        ro.jobs[0].complaint,
        "Knocking from the front left over bumps"
    );
    assert_eq!(ro.jobs[0].lines[0].total.as_ref().unwrap().amount, "725.00"); // 0.5 h × 1 450.00
                                                                              // The booking mail carries the calendar file; SMS too (market default rules).
    let msgs = store
        .workshop()
        .ro_messages(&ingrid.scope, &ro.id)
        .await
        .unwrap();
    assert_eq!(
        msgs.iter().map(|m| m.channel.as_str()).collect::<Vec<_>>(),
        vec!["email", "sms"]
    );
    assert!(
        msgs[0]
            .subject
            .starts_with("Timen din er bestilt: mandag 23. november 2026 kl. 09:00"),
        "{}",
        msgs[0].subject
    );
    // Only allowed transitions, guarded by version.
    let bad = store
        .workshop()
        .set_ro_status(&ingrid.scope, &ro.id, RoStatus::Ready, ro.version, t0)
        .await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))));
    let ro = store
        .workshop()
        .set_ro_status(&ingrid.scope, &ro.id, RoStatus::CheckedIn, ro.version, t0)
        .await
        .unwrap();
    assert!(matches!(
        store
            .workshop()
            .set_ro_status(
                &ingrid.scope,
                &ro.id,
                RoStatus::Diagnosing,
                ro.version - 1,
                t0
            )
            .await,
        Err(StoreError::Conflict { .. })
    ));
    let mut ro = store
        .workshop()
        .set_ro_status(&ingrid.scope, &ro.id, RoStatus::Diagnosing, ro.version, t0)
        .await
        .unwrap();
    // Found: a worn coolant pump. Added work paid by the customer waits for approval.
    ro = store
        .workshop()
        .add_job(
            &ingrid.scope,
            &ro.id,
            &JobInput {
                title: "Coolant pump".into(),
                complaint: "Found during diagnosis: coolant pump noise".into(),
                pay_type: None,
            },
            t0,
        )
        .await
        .unwrap();
    let job = ro.jobs[1].clone();
    assert_eq!(job.approval, Approval::Pending);
    ro = store
        .workshop()
        .add_line(
            &ingrid.scope,
            &ro.id,
            &job.id,
            &LineInput {
                kind: "labour".into(),
                code: Some("hv-coolant-pump".into()),
                ..Default::default()
            },
            t0,
        )
        .await
        .unwrap();
    ro = store
        .workshop()
        .add_line(
            &ingrid.scope,
            &ro.id,
            &job.id,
            &LineInput {
                kind: "part".into(),
                code: Some("1495837-00-C".into()),
                ..Default::default()
            },
            t0,
        )
        .await
        .unwrap();
    let j = &ro.jobs[1];
    assert_eq!(j.certifications, vec!["hv-work".to_string()]);
    assert!(j.lines[1].backordered, "no pump in stock");
    // Catalogue lines read in the customer's language: Kari reads Norwegian.
    assert_eq!(j.lines[0].description, "Bytte av kjølepumpe for batteri");
    assert_eq!(j.lines[1].description, "Kjølepumpe for batteri");
    // Names per language are checked: a language the product does not speak is named.
    let mut names = std::collections::BTreeMap::new();
    names.insert("sv".to_string(), "Hjulinställning".to_string());
    let manager = caller(store, "kari", t0).await;
    match store
        .workshop()
        .add_labour_operation(
            &manager.scope,
            &aftersales_store::workshop::LabourOperationInput {
                organisation_id: trd.clone(),
                code: "ALIGN-2".into(),
                description: "Wheel alignment, two axles".into(),
                names,
                hours: "1.5".into(),
                ..Default::default()
            },
            t0,
        )
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "names.sv"),
        other => panic!("{other:?}"),
    }
    assert_eq!(j.estimate.as_ref().unwrap().amount, "10380.00"); // 2.4 h × 1 450 + 6 900
    match store
        .workshop()
        .add_line(
            &ingrid.scope,
            &ro.id,
            &job.id,
            &LineInput {
                kind: "labour".into(),
                code: Some("HV-DIAG".into()),
                quantity: Some("0.04".into()),
                ..Default::default()
            },
            t0,
        )
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "quantity"),
        other => panic!("{other:?}"),
    }
    // Competence: Sindre's high-voltage certificate expired; Ole's is valid.
    let sindre = caller(store, "sindre", t0).await;
    let ole = caller(store, "ole", t0).await;
    match store
        .workshop()
        .assign_technician(&ingrid.scope, &ro.id, &job.id, sindre.scope.user_id(), t0)
        .await
    {
        Err(StoreError::Refused(Refusal::ExpiredCertification {
            technician,
            certification,
            ..
        })) => {
            assert_eq!(
                (technician.as_str(), certification.as_str()),
                ("Sindre Moe", "hv-work")
            );
        }
        other => panic!("{other:?}"),
    }
    match store
        .workshop()
        .assign_technician(&ingrid.scope, &ro.id, &job.id, ingrid.scope.user_id(), t0)
        .await
    {
        Err(StoreError::Refused(Refusal::NotTechnicianHere { .. })) => {}
        other => panic!("{other:?}"),
    }
    ro = store
        .workshop()
        .assign_technician(&ingrid.scope, &ro.id, &job.id, ole.scope.user_id(), t0)
        .await
        .unwrap();
    assert_eq!(ro.jobs[1].technician.as_ref().unwrap().label, "Ole Berg");
    // A technician works on his jobs: he does not (re)assign them, and sees no prices.
    match store
        .workshop()
        .assign_technician(&ole.scope, &ro.id, &job.id, ole.scope.user_id(), t0)
        .await
    {
        Err(StoreError::Forbidden(_)) => {}
        other => panic!("a technician assigned a job: {other:?}"),
    }
    let seen = store
        .workshop()
        .repair_order(&ole.scope, &ro.id)
        .await
        .unwrap();
    assert!(!seen.prices_shown && seen.totals.is_empty());
    assert!(seen.jobs.iter().all(|j| j.estimate.is_none()
        && j.lines
            .iter()
            .all(|l| l.unit_price.is_none() && l.total.is_none())));
    // A car that is only booked, not checked in, gets no clocked time.
    let booked = store
        .workshop()
        .create_repair_order(
            &ingrid.scope,
            &RepairOrderInput {
                organisation_id: ro.organisation.id.clone(),
                customer_id: ro.customer.id.clone(),
                complaint: "Rattle in the boot".into(),
                ..Default::default()
            },
            t0,
        )
        .await
        .unwrap();
    assert_eq!(booked.status, RoStatus::Booked);
    let booked = store
        .workshop()
        .assign_technician(
            &ingrid.scope,
            &booked.id,
            &booked.jobs[0].id,
            ole.scope.user_id(),
            t0,
        )
        .await
        .unwrap();
    match store
        .workshop()
        .clock_on(&ole.scope, &booked.id, &booked.jobs[0].id, t0)
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "job_id"),
        other => panic!("clocked on a booked car: {other:?}"),
    }
    // Waiting for approval: the customer decides on the status page.
    ro = store
        .workshop()
        .set_ro_status(
            &ingrid.scope,
            &ro.id,
            RoStatus::WaitingApproval,
            ro.version,
            t0,
        )
        .await
        .unwrap();
    let token = ro.status_page.trim_start_matches("/s/").to_string();
    let page = store.public().status_page(&token).await.unwrap();
    assert_eq!(
        (page.status, page.language),
        (RoStatus::WaitingApproval, Language::Nb)
    );
    assert_eq!(page.jobs[1].approval, Approval::Pending);
    assert!(store
        .public()
        .status_page("not-a-real-token-at-all-xx")
        .await
        .is_err());
    let t1 = t0 + Duration::minutes(20);
    store
        .public()
        .decide_on_status_page(&token, &job.id, true, t1)
        .await
        .unwrap();
    assert!(
        store
            .public()
            .decide_on_status_page(&token, &job.id, false, t1)
            .await
            .is_err(),
        "decided once"
    );
    let ro = store
        .workshop()
        .repair_order(&ingrid.scope, &ro.id)
        .await
        .unwrap();
    assert_eq!(
        (
            ro.jobs[1].approval,
            ro.jobs[1].approval_at,
            ro.jobs[1].approval_via.as_deref()
        ),
        (Approval::Approved, Some(t1), Some("status-page"))
    );
    // Repair with clocking: only the assigned technician clocks on.
    let mut ro = store
        .workshop()
        .set_ro_status(&ingrid.scope, &ro.id, RoStatus::InRepair, ro.version, t1)
        .await
        .unwrap();
    assert!(store
        .workshop()
        .clock_on(&sindre.scope, &ro.id, &job.id, t1)
        .await
        .is_err());
    store
        .workshop()
        .clock_on(&ole.scope, &ro.id, &job.id, t1)
        .await
        .unwrap();
    ro = store
        .workshop()
        .clock_off(&ole.scope, &ro.id, &job.id, t1 + Duration::minutes(120))
        .await
        .unwrap();
    assert_eq!(ro.jobs[1].clocked_minutes, 120);
    assert_eq!(ro.efficiency_percent, Some(145)); // (0.5 + 2.4) h sold ÷ 2 h clocked
    ro = store
        .workshop()
        .update_job(
            &ingrid.scope,
            &ro.id,
            &job.id,
            &JobUpdate {
                cause: Some("Bearing wear in the coolant pump".into()),
                correction: Some("Replaced the coolant pump, bled the loop".into()),
                ..Default::default()
            },
            t1,
        )
        .await
        .unwrap();
    assert_eq!(
        ro.jobs[1].cause.as_deref(),
        Some("Bearing wear in the coolant pump")
    );
    for s in [
        RoStatus::QualityCheck,
        RoStatus::Cleaning,
        RoStatus::Ready,
        RoStatus::Delivered,
    ] {
        ro = store
            .workshop()
            .set_ro_status(
                &ingrid.scope,
                &ro.id,
                s,
                ro.version,
                t1 + Duration::hours(3),
            )
            .await
            .unwrap();
    }
    assert!(store
        .workshop()
        .add_job(
            &ingrid.scope,
            &ro.id,
            &JobInput {
                title: "x".into(),
                complaint: "late".into(),
                pay_type: None
            },
            t1
        )
        .await
        .is_err());
    // Messages: booked, checked-in, waiting-approval, ready by e-mail and SMS where the rules say.
    let msgs = store
        .workshop()
        .ro_messages(&ingrid.scope, &ro.id)
        .await
        .unwrap();
    let events: Vec<(String, String)> = msgs
        .iter()
        .map(|m| (m.event.clone(), m.channel.clone()))
        .collect();
    for want in [
        ("appointment-booked", "email"),
        ("ro-checked-in", "email"),
        ("ro-waiting-approval", "sms"),
        ("ro-ready", "sms"),
        ("ro-ready", "email"),
        ("ro-delivered", "email"),
        ("survey", "email"),
    ] {
        assert!(
            events.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} in {events:?}"
        );
    }
    assert!(!events.iter().any(|e| e.0 == "ro-diagnosing"));
    let survey = msgs.iter().find(|m| m.event == "survey").unwrap();
    assert!(
        survey.not_before > t1 + Duration::hours(3),
        "the survey waits an hour"
    );
    // The survey: one answer, validated.
    let stoken = survey
        .body
        .split("/survey/")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    match store
        .public()
        .answer_survey(&stoken, "6", "11", "", t1)
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(
            e.0.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(),
            vec!["csat", "nps"]
        ),
        other => panic!("{other:?}"),
    }
    store
        .public()
        .answer_survey(&stoken, "5", "9", "Rask og hyggelig", t1)
        .await
        .unwrap();
    assert!(store
        .public()
        .answer_survey(&stoken, "4", "8", "", t1)
        .await
        .is_err());
    assert!(store.public().survey(&stoken).await.unwrap().answered);

    // Erasure (issue 15, item 15): the export had the person's words; afterwards the order keeps
    // its work and times, not the three Cs, the survey comment or typed event texts.
    let before = store
        .gdpr()
        .export_customer(&ingrid.scope, &kari, t1)
        .await
        .unwrap()
        .to_string();
    assert!(before.contains("Rask og hyggelig"), "{before}");
    assert!(before.contains("Knocking from the front left"), "{before}");
    store
        .gdpr()
        .erase_customer(&ingrid.scope, &kari, t1)
        .await
        .unwrap();
    let after = store
        .gdpr()
        .export_customer(&ingrid.scope, &kari, t1)
        .await
        .unwrap()
        .to_string();
    for gone in ["Rask og hyggelig", "Knocking from the front left", "Kari"] {
        assert!(!after.contains(gone), "{gone} in {after}");
    }
    let ro = store
        .workshop()
        .repair_order(&ingrid.scope, &b.repair_order_id)
        .await
        .unwrap();
    assert!(ro
        .jobs
        .iter()
        .all(|j| j.cause.is_none() && j.correction.is_none() && !j.complaint.contains("Knocking")));
    assert!(ro
        .events
        .iter()
        .all(|e| e.kind == "assignment" || e.body.is_none()));
    assert_eq!(ro.status, RoStatus::Delivered, "the order itself stays");
}

pub async fn outbox_respects_rules_consent_and_quiet_hours(store: &Store) {
    let (t0, trd, kari) = setup(store).await;
    let ingrid = caller(store, "ingrid", t0).await;
    let nora = caller(store, "nora", t0).await; // administrator of Tesla Norway
    let tesla_no = store
        .cli()
        .find_organisation("Tesla Norway AS")
        .await
        .unwrap()
        .0;
    // The market turns booking SMS off and words its own booking mail.
    store
        .notify()
        .set_notification_rule(
            &nora.scope,
            &tesla_no,
            Event::AppointmentBooked,
            MessageChannel::Sms,
            false,
            t0,
        )
        .await
        .unwrap();
    match store
        .notify()
        .set_notification_template(
            &nora.scope,
            &tesla_no,
            Event::AppointmentBooked,
            MessageChannel::Email,
            Language::Nb,
            "Velkommen {navn}",
            "x",
            t0,
        )
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "subject"),
        other => panic!("{other:?}"),
    }
    store
        .notify()
        .set_notification_template(
            &nora.scope,
            &tesla_no,
            Event::AppointmentBooked,
            MessageChannel::Email,
            Language::Nb,
            "Velkommen til verkstedet, {name}",
            "Vi ses {when}.",
            t0,
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .notify()
            .set_notification_rule(
                &ingrid.scope,
                &tesla_no,
                Event::RoReady,
                MessageChannel::Sms,
                false,
                t0
            )
            .await,
        Err(StoreError::Forbidden(_)) | Err(StoreError::NotFound)
    ));
    let b = store
        .workshop()
        .book_appointment(
            &ingrid.scope,
            &booking(&trd, &kari, &["WIPER"], "2026-11-23T13:00:00+01:00"),
            t0,
        )
        .await
        .unwrap();
    let msgs = store
        .workshop()
        .ro_messages(&ingrid.scope, &b.repair_order_id)
        .await
        .unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].subject, "Velkommen til verkstedet, Kari Nordmann");
    assert_eq!(msgs[0].body, "Vi ses mandag 23. november 2026 kl. 13:00.");
    // Kari refuses service SMS: the ready SMS is recorded as skipped, with the reason.
    store
        .crm()
        .record_consent(
            &ingrid.scope,
            &kari,
            &aftersales_store::crm::ConsentInput {
                purpose: "service".into(),
                channel: "sms".into(),
                granted: false,
                source: "phone".into(),
                wording: "Kunden vil ikke ha SMS".into(),
            },
            t0,
        )
        .await
        .unwrap();
    let mut ro = store
        .workshop()
        .repair_order(&ingrid.scope, &b.repair_order_id)
        .await
        .unwrap();
    for s in [
        RoStatus::CheckedIn,
        RoStatus::InRepair,
        RoStatus::QualityCheck,
        RoStatus::Ready,
    ] {
        ro = store
            .workshop()
            .set_ro_status(&ingrid.scope, &ro.id, s, ro.version, t0)
            .await
            .unwrap();
    }
    let msgs = store
        .workshop()
        .ro_messages(&ingrid.scope, &ro.id)
        .await
        .unwrap();
    let sms = msgs
        .iter()
        .find(|m| m.event == "ro-ready" && m.channel == "sms")
        .unwrap();
    assert_eq!(sms.status, "skipped");
    assert!(sms.last_error.as_deref().unwrap().contains("declined"));
    // Quiet hours: an SMS written at 22:30 waits for 08:00 (another customer, who allows SMS).
    let hits = store
        .crm()
        .search_crm(&ingrid.scope, "Ola", 5)
        .await
        .unwrap();
    let other = hits
        .iter()
        .find(|h| h.kind == "customer")
        .unwrap()
        .id
        .clone();
    let late = oslo(datetime!(2026-11-23 22:30));
    let b2 = store
        .workshop()
        .book_appointment(
            &ingrid.scope,
            &booking(&trd, &other, &["WIPER"], "2026-11-24T13:00:00+01:00"),
            t0,
        )
        .await
        .unwrap();
    let mut ro2 = store
        .workshop()
        .repair_order(&ingrid.scope, &b2.repair_order_id)
        .await
        .unwrap();
    for s in [
        RoStatus::CheckedIn,
        RoStatus::InRepair,
        RoStatus::QualityCheck,
        RoStatus::Ready,
    ] {
        ro2 = store
            .workshop()
            .set_ro_status(&ingrid.scope, &ro2.id, s, ro2.version, late)
            .await
            .unwrap();
    }
    let m2 = store
        .workshop()
        .ro_messages(&ingrid.scope, &ro2.id)
        .await
        .unwrap();
    let sms2 = m2
        .iter()
        .find(|m| m.event == "ro-ready" && m.channel == "sms")
        .unwrap();
    assert_eq!(
        (sms2.status.as_str(), sms2.not_before),
        ("pending", oslo(datetime!(2026-11-24 08:00)))
    );
    // Delivery bookkeeping: claim, fail with backoff, dead letter, retry by an administrator.
    let claimed = store
        .cli()
        .claim_outbox(&[MessageChannel::Sms], late, 50)
        .await
        .unwrap();
    assert!(
        claimed.iter().all(|j| j.id != sms2.id),
        "not before the morning"
    );
    let morning = oslo(datetime!(2026-11-24 08:00));
    let claimed = store
        .cli()
        .claim_outbox(&[MessageChannel::Sms], morning, 50)
        .await
        .unwrap();
    let job = claimed.iter().find(|j| j.id == sms2.id).unwrap();
    assert!(
        store
            .cli()
            .claim_outbox(&[MessageChannel::Sms], morning, 50)
            .await
            .unwrap()
            .iter()
            .all(|j| j.id != job.id),
        "claimed once"
    );
    let mut at = morning;
    let mut dead = false;
    for _ in 0..6 {
        dead = store
            .cli()
            .outbox_failed(&job.id, "provider down", false, at)
            .await
            .unwrap();
        at += Duration::hours(12);
    }
    assert!(dead);
    let dead_list = store
        .notify()
        .outbox(&nora.scope, Some("dead"), None, 200)
        .await
        .unwrap()
        .items;
    assert!(dead_list.iter().any(|m| m.id == job.id && m.attempts == 6));
    // The advisor sees what her customers were told (issue 15, item 9), but sending again is for
    // those who manage messages.
    assert!(store
        .notify()
        .outbox(&ingrid.scope, Some("dead"), None, 200)
        .await
        .unwrap()
        .items
        .iter()
        .any(|m| m.id == job.id));
    assert!(matches!(
        store
            .notify()
            .retry_outbox(&ingrid.scope, &job.id, at)
            .await,
        Err(StoreError::Forbidden(_) | StoreError::NotFound)
    ));
    store
        .notify()
        .retry_outbox(&nora.scope, &job.id, at)
        .await
        .unwrap();
    let again = store
        .cli()
        .claim_outbox(&[MessageChannel::Sms], at, 50)
        .await
        .unwrap();
    assert!(again.iter().any(|j| j.id == job.id));
    store.cli().outbox_sent(&job.id, at).await.unwrap();
    assert!(store
        .notify()
        .outbox(&nora.scope, Some("sent"), None, 200)
        .await
        .unwrap()
        .items
        .iter()
        .any(|m| m.id == job.id));
}

pub async fn approvals_competence_and_consent_hold_to_the_end(store: &Store) {
    let (t0, trd, kari) = setup(store).await;
    let ingrid = caller(store, "ingrid", t0).await;
    let sindre = caller(store, "sindre", t0).await;
    // A technician asked for by name gets the slot even when the other is less loaded.
    let mut b = booking(&trd, &kari, &["DIAG"], "2026-11-23T12:00:00+01:00");
    b.technician_id = Some(sindre.scope.user_id().to_string());
    let booked = store
        .workshop()
        .book_appointment(&ingrid.scope, &b, t0)
        .await
        .unwrap();
    let mut ro = store
        .workshop()
        .repair_order(&ingrid.scope, &booked.repair_order_id)
        .await
        .unwrap();
    assert_eq!(
        ro.appointment.as_ref().unwrap().technician.label,
        "Sindre Moe"
    );
    // A far-future day is refused, not a crash.
    assert!(matches!(
        store
            .workshop()
            .availability(
                &ingrid.scope,
                &trd,
                date!(9999 - 12 - 31),
                AppointmentKind::Workshop,
                &["DIAG".into()],
                t0
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    // Another customer's car cannot be booked on Kari.
    let ola = store
        .crm()
        .search_crm(&ingrid.scope, "Ola Hansen", 5)
        .await
        .unwrap();
    let ola = ola
        .iter()
        .find(|h| h.kind == "customer")
        .unwrap()
        .id
        .clone();
    let car = store.crm().vehicles_of(&ingrid.scope, &ola).await.unwrap()[0]
        .id
        .clone();
    let mut wrong = booking(&trd, &kari, &["DIAG"], "2026-11-23T13:00:00+01:00");
    wrong.vehicle_id = Some(car);
    match store
        .workshop()
        .book_appointment(&ingrid.scope, &wrong, t0)
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "vehicle_id"),
        other => panic!("{other:?}"),
    }
    for s in [RoStatus::CheckedIn, RoStatus::Diagnosing] {
        ro = store
            .workshop()
            .set_ro_status(&ingrid.scope, &ro.id, s, ro.version, t0)
            .await
            .unwrap();
    }
    // Sindre holds the diagnosis job; high-voltage work cannot be slipped onto it.
    let job1 = ro.jobs[0].id.clone();
    store
        .workshop()
        .assign_technician(&ingrid.scope, &ro.id, &job1, sindre.scope.user_id(), t0)
        .await
        .unwrap();
    assert!(matches!(
        store
            .workshop()
            .add_line(
                &ingrid.scope,
                &ro.id,
                &job1,
                &LineInput {
                    kind: "labour".into(),
                    code: Some("HV-DIAG".into()),
                    ..Default::default()
                },
                t0
            )
            .await,
        Err(StoreError::Refused(Refusal::ExpiredCertification { .. }))
    ));
    // Added work waiting for the customer blocks finishing the car.
    ro = store
        .workshop()
        .add_job(
            &ingrid.scope,
            &ro.id,
            &JobInput {
                title: "Wipers".into(),
                complaint: "Worn wiper blades".into(),
                pay_type: None,
            },
            t0,
        )
        .await
        .unwrap();
    let job2 = ro.jobs[1].id.clone();
    ro = store
        .workshop()
        .add_line(
            &ingrid.scope,
            &ro.id,
            &job2,
            &LineInput {
                kind: "labour".into(),
                code: Some("WIPER".into()),
                ..Default::default()
            },
            t0,
        )
        .await
        .unwrap();
    ro = store
        .workshop()
        .set_ro_status(&ingrid.scope, &ro.id, RoStatus::InRepair, ro.version, t0)
        .await
        .unwrap();
    assert!(matches!(
        store
            .workshop()
            .set_ro_status(
                &ingrid.scope,
                &ro.id,
                RoStatus::QualityCheck,
                ro.version,
                t0
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    ro = store
        .workshop()
        .decide_job(&ingrid.scope, &ro.id, &job2, true, t0)
        .await
        .unwrap();
    // The approved estimate grows: the customer decides again.
    ro = store
        .workshop()
        .add_line(
            &ingrid.scope,
            &ro.id,
            &job2,
            &LineInput {
                kind: "part".into(),
                code: Some("1089472-00-B".into()),
                ..Default::default()
            },
            t0,
        )
        .await
        .unwrap();
    assert_eq!(ro.jobs[1].approval, Approval::Pending);
    ro = store
        .workshop()
        .decide_job(&ingrid.scope, &ro.id, &job2, true, t0)
        .await
        .unwrap();
    for s in [
        RoStatus::QualityCheck,
        RoStatus::Ready,
        RoStatus::Delivered,
        RoStatus::Closed,
    ] {
        ro = store
            .workshop()
            .set_ro_status(&ingrid.scope, &ro.id, s, ro.version, t0)
            .await
            .unwrap();
    }
    // Consent withdrawn after the survey was written: it is not sent.
    store
        .crm()
        .record_consent(
            &ingrid.scope,
            &kari,
            &aftersales_store::crm::ConsentInput {
                purpose: "service".into(),
                channel: "email".into(),
                granted: false,
                source: "phone".into(),
                wording: "Ingen e-post".into(),
            },
            t0,
        )
        .await
        .unwrap();
    let claimed = store
        .cli()
        .claim_outbox(&[MessageChannel::Email], t0 + Duration::hours(3), 100)
        .await
        .unwrap();
    let msgs = store
        .workshop()
        .ro_messages(&ingrid.scope, &ro.id)
        .await
        .unwrap();
    let survey = msgs.iter().find(|m| m.event == "survey").unwrap();
    assert!(claimed.iter().all(|j| j.id != survey.id));
    assert_eq!(survey.status, "skipped");
    // Erasure blanks what was written to the person.
    store
        .gdpr()
        .erase_customer(&ingrid.scope, &kari, t0)
        .await
        .unwrap();
    let msgs = store
        .workshop()
        .ro_messages(&ingrid.scope, &ro.id)
        .await
        .unwrap();
    assert!(msgs
        .iter()
        .all(|m| m.recipient.is_none() && m.body.is_empty()));
}

/// A Lisboa day runs as a Trondheim day does (issue 15, item 1): João finds free times at his
/// service point, books, and the job is Bruno's; Porto and Braga have their technicians too.
pub async fn a_lisboa_day_books_like_trondheim(store: &Store) {
    let t0 = datetime!(2026-11-23 08:00 UTC);
    demo::seed(store, t0 - Duration::days(1)).await.unwrap();
    let joao = caller(store, "joao", t0).await;
    let find =
        |name: &'static str| async move { store.cli().find_organisation(name).await.unwrap().0 };
    let lisboa = find("Polestar Service Point Lisboa").await;
    let day = date!(2026 - 11 - 24);
    let a = store
        .workshop()
        .availability(
            &joao.scope,
            &lisboa,
            day,
            AppointmentKind::Workshop,
            &["PS-REVISAO".into()],
            t0,
        )
        .await
        .unwrap();
    assert!(!a.slots.is_empty(), "{a:?}");
    let beatriz = store
        .crm()
        .search_crm(&joao.scope, "Beatriz Quaresma", 5)
        .await
        .unwrap()
        .into_iter()
        .find(|h| h.kind == "customer")
        .unwrap()
        .id;
    let start = a.slots[0]
        .starts_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let b = store
        .workshop()
        .book_appointment(
            &joao.scope,
            &booking(&lisboa, &beatriz, &["PS-REVISAO"], &start),
            t0,
        )
        .await
        .unwrap();
    let ro = store
        .workshop()
        .repair_order(&joao.scope, &b.repair_order_id)
        .await
        .unwrap();
    assert_eq!(
        ro.jobs[0].technician.as_ref().map(|t| t.label.as_str()),
        Some("Bruno Ferreira")
    );
    for (who, point) in [
        ("marta", "Polestar Service Point Porto"),
        ("pedro", "Polestar Service Point Braga"),
    ] {
        let c = caller(store, who, t0).await;
        let org = find(point).await;
        let techs = store
            .workshop()
            .technicians(&c.scope, &org, t0.date())
            .await
            .unwrap();
        assert_eq!(techs.len(), 1, "{point}: {techs:?}");
        assert!(!techs[0].shifts.is_empty(), "{point}");
    }
}

/// When the expected ready time moves, the customer is told in her language, once per new time.
pub async fn a_moved_eta_is_told_to_the_customer(store: &Store) {
    let (t0, trd, kari) = setup(store).await;
    let ingrid = caller(store, "ingrid", t0).await;
    let ro = store
        .workshop()
        .create_repair_order(
            &ingrid.scope,
            &RepairOrderInput {
                organisation_id: trd.clone(),
                customer_id: kari.clone(),
                complaint: "Bremsene hviner".into(),
                ..Default::default()
            },
            t0,
        )
        .await
        .unwrap();
    let eta = oslo(datetime!(2026-11-23 15:30));
    let scope = &ingrid.scope;
    let told = |ro_id: String| async move {
        store
            .workshop()
            .ro_messages(scope, &ro_id)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.subject.starts_with("Ny ferdigtid"))
            .count()
    };
    let after = store
        .workshop()
        .set_eta(&ingrid.scope, &ro.id, Some(eta), t0)
        .await
        .unwrap();
    assert_eq!(after.eta, Some(eta));
    let msgs = store
        .workshop()
        .ro_messages(&ingrid.scope, &ro.id)
        .await
        .unwrap();
    let mail = msgs
        .iter()
        .find(|m| m.subject.starts_with("Ny ferdigtid"))
        .expect("the customer is told");
    assert!(mail.body.contains("15:30"), "{}", mail.body);
    // The same time again is not news; a new one is.
    store
        .workshop()
        .set_eta(&ingrid.scope, &ro.id, Some(eta), t0)
        .await
        .unwrap();
    assert_eq!(told(ro.id.clone()).await, 1);
    store
        .workshop()
        .set_eta(&ingrid.scope, &ro.id, Some(eta + Duration::hours(2)), t0)
        .await
        .unwrap();
    assert_eq!(told(ro.id.clone()).await, 2);
}

/// Issue 15, items 7 and 13 on both engines: a booked appointment moves (a quarter hour later
/// overlaps its own time, with the other technician busy, and is still free; a taken time is
/// refused), and the repair orders and the outbox page by cursor in the same order as one large page.
pub async fn appointments_move_and_lists_page_on_both_engines(store: &Store) {
    let (t0, trd, kari) = setup(store).await;
    let ingrid = caller(store, "ingrid", t0).await;
    let ws = store.workshop();
    let mut booked = Vec::new();
    for at in [
        "2026-11-24T09:00:00+01:00",
        "2026-11-24T09:00:00+01:00",
        "2026-11-24T11:00:00+01:00",
    ] {
        booked.push(
            ws.book_appointment(&ingrid.scope, &booking(&trd, &kari, &["DIAG"], at), t0)
                .await
                .unwrap(),
        );
    }
    let first = &booked[0];
    let moved = ws
        .move_appointment(
            &ingrid.scope,
            &first.repair_order_id,
            &aftersales_store::workshop::MoveInput {
                starts_at: "2026-11-24T09:15:00+01:00".into(),
                technician_id: None,
            },
            t0,
        )
        .await
        .unwrap();
    let a = moved.appointment.unwrap();
    assert_eq!(a.starts_at, oslo(datetime!(2026-11-24 09:15)));
    assert!(moved
        .events
        .iter()
        .any(|e| e.kind == "moved"
            && e.params.get("to").map(String::as_str) == Some("2026-11-24 09:15")));
    // Both technicians are busy at 11:00 (one by the third booking, one by another one now).
    ws.book_appointment(
        &ingrid.scope,
        &booking(&trd, &kari, &["DIAG"], "2026-11-24T11:00:00+01:00"),
        t0,
    )
    .await
    .unwrap();
    let taken = ws
        .move_appointment(
            &ingrid.scope,
            &first.repair_order_id,
            &aftersales_store::workshop::MoveInput {
                starts_at: "2026-11-24T11:00:00+01:00".into(),
                technician_id: None,
            },
            t0,
        )
        .await;
    assert!(matches!(taken, Err(StoreError::Taken(_))), "{taken:?}");
    // Paging: two at a time gives the one large page, in order.
    let all = ws
        .repair_orders(&ingrid.scope, None, None, None, 200)
        .await
        .unwrap();
    assert!(all.next_cursor.is_none() && all.items.len() >= 4);
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = ws
            .repair_orders(&ingrid.scope, None, None, cursor.as_deref(), 2)
            .await
            .unwrap();
        walked.extend(page.items.into_iter().map(|r| r.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        walked,
        all.items.into_iter().map(|r| r.id).collect::<Vec<_>>()
    );
    let notify = store.notify();
    let all = notify.outbox(&ingrid.scope, None, None, 200).await.unwrap();
    assert!(all.items.len() >= 4, "{}", all.items.len());
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = notify
            .outbox(&ingrid.scope, None, cursor.as_deref(), 3)
            .await
            .unwrap();
        walked.extend(page.items.into_iter().map(|m| m.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        walked,
        all.items.into_iter().map(|m| m.id).collect::<Vec<_>>()
    );
    let bad = notify
        .outbox(&ingrid.scope, None, Some("no-such-message"), 3)
        .await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
}
