//! Logistics on both engines: jobs added to repair orders with their rules, the day planned and
//! saved over its version only, locks that hold, the driver's steps, and scope.

use crate::workshop::caller;
use aftersales_domain::calendar::Zone;
use aftersales_domain::org::Permission;
use aftersales_store::auth::Caller;
use aftersales_store::crm::{CustomerInput, NewCustomer};
use aftersales_store::logistics::{
    Budget, JobStatusInput, LockInput, PhotoInput, TransportJobInput, WindowInput,
};
use aftersales_store::workshop::RepairOrderInput;
use aftersales_store::{demo, Store, StoreError};
use time::format_description::well_known::Rfc3339;
use time::macros::{date, datetime};
use time::{Duration, PrimitiveDateTime};

fn oslo(local: PrimitiveDateTime) -> String {
    Zone::parse("tz", "Europe/Oslo")
        .unwrap()
        .instant(local)
        .format(&Rfc3339)
        .unwrap()
}

fn fields(e: StoreError) -> Vec<(String, &'static str)> {
    match e {
        StoreError::Invalid(v) => {
            v.0.into_iter()
                .map(|f| (f.field, f.rule.as_str()))
                .collect()
        }
        other => panic!("expected invalid input, got {other:?}"),
    }
}

/// A customer at a place in Trondheim with a repair order at the service point.
async fn repair_order(store: &Store, c: &Caller, org: &str, name: &str, at: (f64, f64)) -> String {
    let t0 = datetime!(2026-11-23 06:00 UTC);
    let new = NewCustomer::parse(&CustomerInput {
        kind: "person".into(),
        name: name.into(),
        language: "nb".into(),
        preferred_channel: "sms".into(),
        phone: Some("+47 91234567".into()),
        street: Some("Kongens gate 1".into()),
        postal_code: Some("7011".into()),
        city: Some("Trondheim".into()),
        country: "NO".into(),
        latitude: Some(at.0),
        longitude: Some(at.1),
        ..Default::default()
    })
    .unwrap();
    let customer = store
        .crm()
        .create_customer(&c.scope, Some(org), &new, t0)
        .await
        .unwrap();
    store
        .workshop()
        .create_repair_order(
            &c.scope,
            &RepairOrderInput {
                organisation_id: org.into(),
                customer_id: customer.id,
                complaint: "Service med henting".into(),
                ..Default::default()
            },
            t0,
        )
        .await
        .unwrap()
        .id
}

fn job(ro: &str, kind: &str, from: PrimitiveDateTime, to: PrimitiveDateTime) -> TransportJobInput {
    TransportJobInput {
        repair_order_id: ro.into(),
        kind: kind.into(),
        window_from: oslo(from),
        window_to: oslo(to),
        ..Default::default()
    }
}

fn budget() -> Budget {
    Budget {
        time: std::time::Duration::from_millis(300),
        seed: 7,
        minimal: false,
    }
}

pub async fn logistics_day_is_planned_locked_driven_and_never_overwritten(store: &Store) {
    // Monday 23 November 2026, 08:00 in Trondheim.
    let t0 = datetime!(2026-11-23 07:00 UTC);
    let day = date!(2026 - 11 - 23);
    demo::seed(store, t0 - Duration::hours(1)).await.unwrap();
    let ingrid = caller(store, "ingrid", t0).await;
    let mats = caller(store, "mats", t0).await;
    let joao = caller(store, "joao", t0).await;
    let trd = ingrid.scope.orgs_with(Permission::LogisticsPlan)[0].clone();
    let lg = store.logistics();
    let ro1 = repair_order(store, &ingrid, &trd, "Astrid Berg", (63.4405, 10.4012)).await;
    let ro2 = repair_order(store, &ingrid, &trd, "Bjørn Haugen", (63.4102, 10.4521)).await;
    let ro3 = repair_order(store, &ingrid, &trd, "Camilla Eide", (63.4230, 10.3801)).await;
    let ro4 = repair_order(store, &ingrid, &trd, "Daniel Moen", (63.4301, 10.4602)).await;
    let loaners = lg.loaners(&ingrid.scope, &trd).await.unwrap();
    let loaner = loaners
        .iter()
        .find(|l| l.range_km >= 300)
        .unwrap()
        .id
        .clone();

    // Bad input is named by field and rule, and nothing is saved.
    let mut bad = job(
        &ro1,
        "teleport",
        datetime!(2026-11-23 10:00),
        datetime!(2026-11-23 09:00),
    );
    bad.loaner_id = Some("no-such-loaner".into());
    let errs = fields(lg.add_job(&ingrid.scope, &bad, t0).await.unwrap_err());
    assert!(errs.contains(&("kind".into(), "one-of")), "{errs:?}");
    assert!(
        errs.contains(&("window_to".into(), "not-allowed")),
        "{errs:?}"
    );
    assert!(errs.contains(&("loaner_id".into(), "unknown")), "{errs:?}");
    let mut half = job(
        &ro1,
        "pickup",
        datetime!(2026-11-23 09:00),
        datetime!(2026-11-23 10:00),
    );
    half.latitude = Some("63.1".into());
    let errs = fields(lg.add_job(&ingrid.scope, &half, t0).await.unwrap_err());
    assert_eq!(errs, [("longitude".to_string(), "required")]);
    assert!(lg
        .jobs_of_repair_order(&ingrid.scope, &ro1)
        .await
        .unwrap()
        .is_empty());

    // A pickup with a loaner, a plain pickup, a delivery with a wash once the car is ready.
    let mut p1 = job(
        &ro1,
        "pickup",
        datetime!(2026-11-23 08:30),
        datetime!(2026-11-23 10:00),
    );
    p1.loaner_id = Some(loaner.clone());
    let p1 = lg.add_job(&ingrid.scope, &p1, t0).await.unwrap();
    assert!(p1.loaner.is_some());
    let p2 = lg
        .add_job(
            &ingrid.scope,
            &job(
                &ro2,
                "pickup",
                datetime!(2026-11-23 09:00),
                datetime!(2026-11-23 11:00),
            ),
            t0,
        )
        .await
        .unwrap();
    let mut d3 = job(
        &ro3,
        "delivery",
        datetime!(2026-11-23 13:00),
        datetime!(2026-11-23 15:00),
    );
    d3.clean = true;
    let d3 = lg.add_job(&ingrid.scope, &d3, t0).await.unwrap();
    // The same loaner cannot be promised to a second customer before it is back.
    let mut twice = job(
        &ro4,
        "pickup",
        datetime!(2026-11-23 09:00),
        datetime!(2026-11-23 10:00),
    );
    twice.loaner_id = Some(loaner.clone());
    let errs = fields(lg.add_job(&ingrid.scope, &twice, t0).await.unwrap_err());
    assert_eq!(errs, [("loaner_id".to_string(), "not-allowed")]);
    // Another address without coordinates is kept, and flagged rather than guessed.
    let mut nowhere = job(
        &ro4,
        "pickup",
        datetime!(2026-11-23 09:00),
        datetime!(2026-11-23 12:00),
    );
    nowhere.address = Some("Hyttefeltet 3, Oppdal".into());
    let nowhere = lg.add_job(&ingrid.scope, &nowhere, t0).await.unwrap();
    assert_eq!(nowhere.latitude, None);

    // The delivery waits for an expected ready time.
    let plan = lg
        .replan(&ingrid.scope, &trd, day, budget(), t0)
        .await
        .unwrap();
    let reason = |p: &aftersales_store::logistics::DayPlan, id: &str| {
        p.unplanned
            .iter()
            .find(|u| u.job.id == id)
            .map(|u| u.reason.clone())
    };
    assert_eq!(reason(&plan, &nowhere.id).as_deref(), Some("no-place"));
    assert_eq!(reason(&plan, &d3.id).as_deref(), Some("no-eta"));
    store
        .workshop()
        .set_eta(
            &ingrid.scope,
            &ro3,
            Some(datetime!(2026-11-23 11:00 UTC)),
            t0,
        )
        .await
        .unwrap();
    // The plan follows the workshop: the moved ETA re-plans the day from its saved plan, and the
    // delivery that waited for it is on a run now.
    let after = lg.day_plan(&ingrid.scope, &trd, day).await.unwrap();
    assert_eq!(after.planned_version, Some(after.version));
    assert_eq!(reason(&after, &d3.id), None);
    assert!(after
        .runs
        .iter()
        .any(|r| r.entries.iter().any(|e| e.job.id == d3.id)));
    let plan = lg
        .replan(&ingrid.scope, &trd, day, budget(), t0)
        .await
        .unwrap();
    assert_eq!(plan.planned_version, Some(plan.version));
    let entries: Vec<_> = plan.runs.iter().flat_map(|r| r.entries.iter()).collect();
    for id in [&p1.id, &p2.id, &d3.id] {
        let e = entries.iter().find(|e| e.job.id == *id).expect("planned");
        assert!(e.at_customer >= e.job.window_from && e.at_customer <= e.job.window_to);
        assert!(e.starts_at <= e.at_customer && e.at_customer <= e.ends_at);
    }
    let delivery = entries.iter().find(|e| e.job.id == d3.id).unwrap();
    let wash = delivery.wash.as_ref().expect("washed before delivery");
    assert!(wash.from >= datetime!(2026-11-23 11:00 UTC) && delivery.starts_at >= wash.to);

    // A lock to a driver and a time holds through the next plan.
    let drivers = lg.drivers(&ingrid.scope, &trd).await.unwrap();
    let jonas = drivers.iter().find(|d| d.label == "Jonas Dahl").unwrap();
    lg.lock_job(
        &ingrid.scope,
        &p2.id,
        &LockInput {
            driver_id: Some(jonas.id.clone()),
            at: Some(oslo(datetime!(2026-11-23 10:30))),
            held: false,
        },
    )
    .await
    .unwrap();
    let plan = lg
        .replan(&ingrid.scope, &trd, day, budget(), t0)
        .await
        .unwrap();
    let run = plan.runs.iter().find(|r| r.driver.id == jonas.id).unwrap();
    let locked = run.entries.iter().find(|e| e.job.id == p2.id).unwrap();
    assert_eq!(
        locked.at_customer,
        Zone::parse("tz", "Europe/Oslo")
            .unwrap()
            .instant(datetime!(2026-11-23 10:30))
    );
    let errs = fields(
        lg.lock_job(
            &ingrid.scope,
            &p2.id,
            &LockInput {
                at: Some(oslo(datetime!(2026-11-24 10:30))),
                ..Default::default()
            },
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(errs, [("at".to_string(), "not-allowed")]);

    // The customer asks for another window: the driver's lock stays, the locked time goes.
    let moved = lg
        .move_window(
            &ingrid.scope,
            &p2.id,
            &WindowInput {
                window_from: oslo(datetime!(2026-11-23 10:00)),
                window_to: oslo(datetime!(2026-11-23 12:00)),
            },
            t0,
        )
        .await
        .unwrap();
    assert_eq!(moved.lock_at, None);
    assert_eq!(moved.lock_driver.map(|d| d.id), Some(jonas.id.clone()));

    // Two advisors re-planning at once: both finish, neither plan is lost over a newer day.
    let (a, b) = tokio::join!(
        lg.replan(&ingrid.scope, &trd, day, budget(), t0),
        lg.replan(&ingrid.scope, &trd, day, budget(), t0)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.planned_version, Some(a.version));
    assert_eq!(b.planned_version, Some(b.version));

    // The driver works his own sheet, one step at a time, with the readings at the hand-over.
    let runs = lg.my_runs(&mats.scope, day).await.unwrap();
    let mine: Vec<String> = runs
        .iter()
        .flat_map(|r| r.entries.iter().map(|e| e.job.id.clone()))
        .collect();
    let theirs = [&p1.id, &d3.id].into_iter().find(|id| !mine.contains(id));
    if let Some(other) = theirs {
        let e = lg
            .set_job_status(
                &mats.scope,
                other,
                &JobStatusInput {
                    status: "on-the-way".into(),
                    ..Default::default()
                },
                t0,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Forbidden(_)), "{e:?}");
    }
    // An advisor presses for the driver whose sheet holds the loaner pickup.
    let press = |status: &str| JobStatusInput {
        status: status.into(),
        ..Default::default()
    };
    let errs = fields(
        lg.set_job_status(&ingrid.scope, &p1.id, &press("done"), t0)
            .await
            .unwrap_err(),
    );
    assert_eq!(errs[0], ("status".to_string(), "not-allowed"));
    for s in ["on-the-way", "arrived"] {
        lg.set_job_status(&ingrid.scope, &p1.id, &press(s), t0 + Duration::minutes(30))
            .await
            .unwrap();
    }
    let errs = fields(
        lg.set_job_status(&ingrid.scope, &p1.id, &press("done"), t0)
            .await
            .unwrap_err(),
    );
    // A loaner goes out with this pickup: both cars' readings and the customer's signature are asked for.
    assert_eq!(
        errs,
        [
            ("odometer_km".to_string(), "required"),
            ("loaner_odometer_km".to_string(), "required"),
            ("signer_name".to_string(), "required"),
            ("signature_png".to_string(), "required"),
        ]
    );
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let signature = b64(include_bytes!(
        "../../../documents/tests/fixtures/signature.png"
    ));
    let photo = b64(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0]);
    let handover = JobStatusInput {
        status: "done".into(),
        odometer_km: Some(41_250),
        charge_pct: Some(64),
        note: Some("Steinsprut i frontruta fra før".into()),
        loaner_odometer_km: Some(8_120),
        loaner_charge_pct: Some(90),
        loaner_range_km: Some(310),
        loaner_note: None,
        photos: vec![
            PhotoInput {
                car: "customer".into(),
                data: photo.clone(),
            },
            PhotoInput {
                car: "loaner".into(),
                data: b64(b"%PDF-1.7 not a photo"),
            },
        ],
        signer_name: Some("Kari Nordmann".into()),
        signature_png: Some(b64(b"GIF89a")),
        terms_sha256: None,
    };
    // A file that is no image and a signature that is no PNG are named; nothing is kept.
    let errs = fields(
        lg.set_job_status(&ingrid.scope, &p1.id, &handover, t0)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        errs,
        [
            ("photos.1.data".to_string(), "one-of"),
            ("signature_png".to_string(), "not-allowed"),
        ]
    );
    assert_eq!(
        lg.job(&ingrid.scope, &p1.id).await.unwrap().status.as_str(),
        "arrived"
    );
    // Terms changed while the customer read them are read again before anyone signs.
    let shown = lg
        .terms_for_job(&ingrid.scope, &lg.job(&ingrid.scope, &p1.id).await.unwrap())
        .await
        .unwrap();
    assert!(shown.body.contains("AutoPASS") && shown.standard);
    let errs = fields(
        lg.set_job_status(
            &ingrid.scope,
            &p1.id,
            &JobStatusInput {
                photos: Vec::new(),
                signature_png: Some(signature.clone()),
                terms_sha256: Some("0".repeat(64)),
                ..handover.clone()
            },
            t0,
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(errs, [("terms_sha256".to_string(), "not-allowed")]);
    let done = lg
        .set_job_status(
            &ingrid.scope,
            &p1.id,
            &JobStatusInput {
                photos: vec![PhotoInput {
                    car: "customer".into(),
                    data: photo.clone(),
                }],
                signature_png: Some(signature),
                terms_sha256: Some(shown.sha256.clone()),
                ..handover
            },
            t0 + Duration::minutes(50),
        )
        .await
        .unwrap();
    // The hand-over is kept with the repair order: the customer's car in, the loaner out, the photo, and the
    // agreement as a PDF in the customer's language whose hash is on record.
    let kept = lg
        .handovers_of_repair_order(&ingrid.scope, &ro1)
        .await
        .unwrap();
    let cars: Vec<(&str, &str, i64)> = kept
        .handovers
        .iter()
        .map(|h| (h.car.as_str(), h.direction.as_str(), h.odometer_km))
        .collect();
    assert_eq!(cars, [("customer", "in", 41_250), ("loaner", "out", 8_120)]);
    assert_eq!(kept.handovers[0].photos.len(), 1);
    let (kind, bytes) = lg
        .handover_photo(&ingrid.scope, &kept.handovers[0].photos[0])
        .await
        .unwrap();
    assert_eq!((kind.as_str(), bytes.len()), ("image/jpeg", 11));
    assert_eq!(kept.agreements.len(), 1);
    assert_eq!(
        (
            kept.agreements[0].signer_name.as_str(),
            kept.agreements[0].language.as_str()
        ),
        ("Kari Nordmann", "nb")
    );
    let (name, pdf) = lg
        .agreement_pdf(&ingrid.scope, &kept.agreements[0].id)
        .await
        .unwrap();
    assert!(
        pdf.starts_with(b"%PDF-") && name.ends_with(".pdf"),
        "{name}"
    );
    {
        use sha2::Digest;
        let hash: String = sha2::Sha256::digest(&pdf)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hash, kept.agreements[0].sha256);
    }
    // Lisboa sees none of it; a technician on the order sees the photos, not the customer's signature.
    assert!(matches!(
        lg.agreement_pdf(&joao.scope, &kept.agreements[0].id).await,
        Err(StoreError::NotFound)
    ));
    let ole = caller(store, "ole", t0).await;
    assert!(matches!(
        lg.agreement_pdf(&ole.scope, &kept.agreements[0].id).await,
        Err(StoreError::NotFound)
    ));
    let seen = lg
        .handovers_of_repair_order(&ole.scope, &ro1)
        .await
        .unwrap();
    assert!(seen.agreements.is_empty() && seen.handovers.len() == 2);
    assert!(lg
        .handover_photo(&ole.scope, &kept.handovers[0].photos[0])
        .await
        .is_ok());
    assert!(matches!(
        lg.handover_photo(&joao.scope, &kept.handovers[0].photos[0])
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        (done.odometer_km, done.charge_pct, done.status.as_str()),
        (Some(41_250), Some(64), "done")
    );
    assert!(done.on_the_way_at.is_some() && done.arrived_at.is_some() && done.done_at.is_some());
    // The loaner is now with that customer, planned from now on with the range its display showed.
    let out = lg.loaners(&ingrid.scope, &trd).await.unwrap();
    let l = out.iter().find(|l| l.id == loaner).unwrap();
    assert_eq!(l.range_km, 310);
    assert_eq!(
        l.with_customer.as_ref().map(|r| r.id.as_str()),
        Some(ro1.as_str())
    );
    // A plan made later keeps the job done where it was worked.
    let plan = lg
        .replan(&ingrid.scope, &trd, day, budget(), t0 + Duration::hours(1))
        .await
        .unwrap();
    assert!(plan
        .runs
        .iter()
        .any(|r| r.entries.iter().any(|e| e.job.id == p1.id)));

    // The customer's export holds the pickup; erasing the customer clears where the car was fetched and the
    // hand-over notes.
    let export = store
        .gdpr()
        .export_customer(&ingrid.scope, &done.customer.id, t0 + Duration::hours(2))
        .await
        .unwrap();
    assert!(export["transport"]
        .as_array()
        .unwrap()
        .iter()
        .any(|j| j["id"] == p1.id.as_str() && j["handover_note"].is_string()));
    store
        .gdpr()
        .erase_customer(&ingrid.scope, &done.customer.id, t0 + Duration::hours(2))
        .await
        .unwrap();
    let erased = lg.job(&ingrid.scope, &p1.id).await.unwrap();
    assert_eq!(
        (
            erased.address.as_str(),
            erased.latitude,
            erased.handover_note
        ),
        ("", None, None)
    );
    let kept = lg
        .handovers_of_repair_order(&ingrid.scope, &ro1)
        .await
        .unwrap();
    assert!(
        kept.agreements.is_empty()
            && kept
                .handovers
                .iter()
                .all(|h| h.photos.is_empty() && h.note.is_none())
    );
    assert_eq!(kept.handovers.len(), 2, "the readings stay");

    // Lisboa's advisor does not see Trondheim's day; a driver cannot re-plan it.
    assert!(matches!(
        lg.day_plan(&joao.scope, &trd, day).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        lg.replan(&mats.scope, &trd, day, budget(), t0).await,
        Err(StoreError::Forbidden(_))
    ));
}

/// A stand-in for a routing server (OSRM needs a road network's data, which this machine does not have): it
/// answers the table API with 100 seconds and 1 km per straight-line km, and counts the requests.
async fn routing_stub() -> (
    String,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    tokio::task::JoinHandle<()>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = vec![0u8; 65536];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let path = req.split_whitespace().nth(1).unwrap_or("").to_string();
            let coords = path
                .trim_start_matches("/table/v1/driving/")
                .split('?')
                .next()
                .unwrap_or("")
                .to_string();
            let places: Vec<(f64, f64)> = coords
                .split(';')
                .map(|c| {
                    let (lon, lat) = c.split_once(',').unwrap();
                    (lat.parse().unwrap(), lon.parse().unwrap())
                })
                .collect();
            let km = |a: (f64, f64), b: (f64, f64)| {
                aftersales_domain::logistics::Place { lat: a.0, lon: a.1 }
                    .km_to(&aftersales_domain::logistics::Place { lat: b.0, lon: b.1 })
            };
            let durations: Vec<Vec<f64>> = places
                .iter()
                .map(|a| {
                    places
                        .iter()
                        .map(|b| (km(*a, *b) * 100.0).round())
                        .collect()
                })
                .collect();
            let distances: Vec<Vec<f64>> = places
                .iter()
                .map(|a| {
                    places
                        .iter()
                        .map(|b| (km(*a, *b) * 1000.0).round())
                        .collect()
                })
                .collect();
            let body =
                serde_json::json!({"code": "Ok", "durations": durations, "distances": distances})
                    .to_string();
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(answer.as_bytes()).await;
        }
    });
    (format!("http://{addr}"), hits, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routing_service_times_the_driving_is_cached_and_its_absence_falls_back() {
    use std::sync::atomic::Ordering;
    let (url, hits, server) = routing_stub().await;
    let db = aftersales_store::testing::sqlite().await.unwrap();
    let t0 = datetime!(2026-11-23 07:00 UTC);
    demo::seed(&db.store, t0 - Duration::hours(1))
        .await
        .unwrap();
    let store = db.store.clone().with_routing(std::sync::Arc::new(
        aftersales_store::logistics::OsrmTable::new(&url, std::time::Duration::from_secs(2))
            .unwrap(),
    ));
    let store = &store;
    let day = date!(2026 - 11 - 23);
    let ingrid = caller(store, "ingrid", t0).await;
    let trd = ingrid.scope.orgs_with(Permission::LogisticsPlan)[0].clone();
    let lg = store.logistics();
    let ro = repair_order(store, &ingrid, &trd, "Astrid Berg", (63.4405, 10.4012)).await;
    store
        .workshop()
        .set_eta(
            &ingrid.scope,
            &ro,
            Some(datetime!(2026-11-23 10:00 UTC)),
            t0,
        )
        .await
        .unwrap();
    let d = lg
        .add_job(
            &ingrid.scope,
            &job(
                &ro,
                "delivery",
                datetime!(2026-11-23 13:00),
                datetime!(2026-11-23 15:00),
            ),
            t0,
        )
        .await
        .unwrap();
    let plan = lg
        .replan(&ingrid.scope, &trd, day, budget(), t0)
        .await
        .unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    let e = plan
        .runs
        .iter()
        .flat_map(|r| r.entries.iter())
        .find(|e| e.job.id == d.id)
        .expect("planned");
    // The delivery drives from the service point to the customer: the service's time, not the model's.
    let settings = lg.settings(&ingrid.scope, &trd).await.unwrap().unwrap();
    let depot = aftersales_domain::logistics::Place {
        lat: settings.latitude,
        lon: settings.longitude,
    };
    let there = aftersales_domain::logistics::Place {
        lat: 63.4405,
        lon: 10.4012,
    };
    let expected = (depot.km_to(&there) * 100.0).round();
    let driven = (e.at_customer - e.starts_at).as_seconds_f64();
    assert!((driven - expected).abs() < 1.0, "{driven} vs {expected}");
    assert_eq!(plan.travel.as_deref(), Some("routing"));
    // Planned again: the pairs come from the cache.
    lg.replan(&ingrid.scope, &trd, day, budget(), t0)
        .await
        .unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // The service goes away; a new place still gets planned, with the built-in model.
    server.abort();
    let _ = server.await;
    let ro2 = repair_order(store, &ingrid, &trd, "Bjørn Haugen", (63.4102, 10.4521)).await;
    let p2 = lg
        .add_job(
            &ingrid.scope,
            &job(
                &ro2,
                "pickup",
                datetime!(2026-11-23 09:00),
                datetime!(2026-11-23 11:00),
            ),
            t0,
        )
        .await
        .unwrap();
    let plan = lg
        .replan(&ingrid.scope, &trd, day, budget(), t0)
        .await
        .unwrap();
    assert!(plan
        .runs
        .iter()
        .any(|r| r.entries.iter().any(|e| e.job.id == p2.id)));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // The board can say the day was planned without the service.
    assert_eq!(plan.travel.as_deref(), Some("fallback"));
}
