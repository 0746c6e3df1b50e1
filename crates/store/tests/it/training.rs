//! Competence and training on both engines: the gap analysis and compliance over the demo's
//! people, a high-voltage job refused once the technician's training has run out (the profile
//! and the training named), an xAPI completion granting a record, sessions with places, expiry
//! reminders through the outbox.

use aftersales_domain::i18n::Language;
use aftersales_domain::training::TrainingStanding;
use aftersales_domain::workshop::Refusal;
use aftersales_store::training::{AttendanceInput, TrainingRecordInput};
use aftersales_store::workshop::{LineInput, RepairOrderInput};
use aftersales_store::{demo, Store, StoreError};
use serde_json::json;
use time::macros::datetime;
use time::Duration;

pub async fn training_gaps_enforcement_and_xapi(store: &Store) {
    let t0 = datetime!(2026-11-21 09:00 UTC);
    demo::seed(store, t0 - Duration::hours(1)).await.unwrap();
    let t = store.training();
    let ana = crate::workshop::caller(store, "ana", t0).await;
    let joao = crate::workshop::caller(store, "joao", t0).await;
    let marta = crate::workshop::caller(store, "marta", t0).await;
    let bruno = crate::workshop::caller(store, "bruno", t0).await;

    // The gap analysis of the market: Pedro's level-2 runs out within the window, João lacks a
    // course; compliance per service point, high-voltage separately.
    let g = t
        .gaps(&ana.scope, t0.date(), 30, Language::En)
        .await
        .unwrap();
    let person = |name: &str| {
        g.people
            .iter()
            .find(|p| p.person.label == name)
            .unwrap_or_else(|| panic!("{name} in {:?}", g.people))
    };
    let pedro = person("Pedro Santos");
    let hv2 = pedro
        .requirements
        .iter()
        .find(|r| r.course.label == "High-voltage technician (level 2)")
        .unwrap();
    assert!(matches!(hv2.standing, TrainingStanding::Expiring { days_left, .. } if days_left < 30));
    assert!(hv2.high_voltage);
    let joao_gap = person("João Silva");
    assert!(joao_gap
        .requirements
        .iter()
        .any(|r| r.course.label == "Polestar 3 product training"
            && r.standing == TrainingStanding::Missing));
    let lisboa = g
        .points
        .iter()
        .find(|p| p.service_point.label == "Polestar Service Point Lisboa")
        .unwrap();
    assert!(lisboa.compliance.per_mille().unwrap() < 1000);
    assert_eq!(
        g.high_voltage.held, g.high_voltage.required,
        "all HV held today"
    );
    let braga = g
        .points
        .iter()
        .find(|p| p.service_point.label == "Polestar Service Point Braga")
        .unwrap();
    assert_eq!(braga.expiring, 1);
    // Marta sees Porto's people; Bruno only himself.
    let porto = t
        .gaps(&marta.scope, t0.date(), 30, Language::Pt)
        .await
        .unwrap();
    assert!(porto
        .people
        .iter()
        .all(|p| p.service_point.label == "Polestar Service Point Porto"));
    let own = t
        .gaps(&bruno.scope, t0.date(), 90, Language::Pt)
        .await
        .unwrap();
    assert_eq!(own.people.len(), 1);
    assert_eq!(own.people[0].person.label, "Bruno Ferreira");

    // Reminders: each runs out once told, to the person and the service's manager.
    let n = store.cli().remind_expiring_trainings(t0).await.unwrap();
    assert!(n >= 1);
    assert_eq!(store.cli().remind_expiring_trainings(t0).await.unwrap(), 0);
    let mails: Vec<(String, String)> = store
        .notify()
        .outbox(&ana.scope, None, None, 200)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|m| m.event == "training-expiring")
        .map(|m| (m.recipient.unwrap_or_default(), m.subject))
        .collect();
    assert!(
        mails
            .iter()
            .any(|(to, s)| to == "sara.rocha@volvocars.example"
                && s.starts_with("Formação a expirar")),
        "{mails:?}"
    );

    // Enforcement: a high-voltage job at Lisboa goes to Bruno today, not once his level-2
    // training has run out (the profile and the training named).
    let customers = store
        .crm()
        .list_customers(&joao.scope, None, 200)
        .await
        .unwrap();
    let mut picked = None;
    for c in &customers.items {
        let cars = store.crm().vehicles_of(&joao.scope, &c.id).await.unwrap();
        if let Some(v) = cars.first() {
            picked = Some((c.id.clone(), v.id.clone()));
            break;
        }
    }
    let (customer, car) = picked.unwrap();
    let lisboa_id = store
        .cli()
        .find_organisation("Polestar Service Point Lisboa")
        .await
        .unwrap()
        .0;
    let ro = store
        .workshop()
        .create_repair_order(
            &joao.scope,
            &RepairOrderInput {
                organisation_id: lisboa_id,
                customer_id: customer,
                vehicle_id: Some(car),
                case_id: None,
                complaint: "Aviso de bateria".into(),
            },
            t0,
        )
        .await
        .unwrap();
    let job = ro.jobs[0].id.clone();
    store
        .workshop()
        .add_line(
            &joao.scope,
            &ro.id,
            &job,
            &LineInput {
                kind: "labour".into(),
                code: Some("PS-HV-DIAG".into()),
                ..Default::default()
            },
            t0,
        )
        .await
        .unwrap();
    store
        .workshop()
        .assign_technician(&joao.scope, &ro.id, &job, bruno.scope.user_id(), t0)
        .await
        .unwrap();
    let later = t0 + Duration::days(600);
    match store
        .workshop()
        .assign_technician(&joao.scope, &ro.id, &job, bruno.scope.user_id(), later)
        .await
    {
        Err(StoreError::Refused(Refusal::MissingTraining {
            technician,
            competence,
            profile,
            training,
            expired_on,
        })) => {
            assert_eq!(technician, "Bruno Ferreira");
            assert_eq!(competence, "hv-work");
            assert_eq!(profile["pt"], "Técnico de alta tensão");
            assert_eq!(training["en"], "High-voltage technician (level 2)");
            assert!(expired_on.is_some());
        }
        other => panic!("{other:?}"),
    }

    // xAPI: a completion of the mapped e-learning course grants João his record, once.
    let statement = json!({
        "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
        "actor": {"mbox": "mailto:Joao.Silva@volvocars.example", "name": "João Silva"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "https://academy.polestar.example/courses/ps3-product"},
        "result": {"success": true, "completion": true},
        "timestamp": "2026-11-20T16:30:00Z"
    });
    let r = t.take_statements(&ana.scope, &statement, t0).await.unwrap();
    assert_eq!(r[0].person.as_ref().unwrap().label, "João Silva");
    let record = r[0].record_id.clone().unwrap();
    let again = t
        .take_statements(&ana.scope, &json!([statement]), t0)
        .await
        .unwrap();
    assert_eq!(again[0].record_id.as_deref(), Some(record.as_str()));
    let records = t
        .records_of(&joao.scope, joao.scope.user_id())
        .await
        .unwrap();
    assert_eq!(
        records
            .iter()
            .filter(|r| r.course.label == "ps3-product")
            .count(),
        1
    );
    let g = t
        .gaps(&ana.scope, t0.date(), 30, Language::En)
        .await
        .unwrap();
    assert!(g
        .people
        .iter()
        .find(|p| p.person.label == "João Silva")
        .unwrap()
        .requirements
        .iter()
        .all(|r| r.standing.holds()));
    // A statement without an actor is refused, naming where.
    let e = t
        .take_statements(&ana.scope, &json!([{"verb": {"id": "x:y"}}]), t0)
        .await
        .unwrap_err();
    match e {
        StoreError::Invalid(v) => assert_eq!(v.0[0].field, "0.actor"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        t.take_statements(&joao.scope, &statement, t0).await,
        Err(StoreError::Forbidden(_))
    ));
    assert!(!t.statements(&ana.scope, 50).await.unwrap().is_empty());

    // A record by hand: a course not in reach, a day ahead, are refused.
    let courses = t.courses(&ana.scope).await.unwrap();
    let hv1 = courses.iter().find(|c| c.code == "hv-1").unwrap();
    let e = t
        .record(
            &ana.scope,
            &TrainingRecordInput {
                user_id: joao.scope.user_id().to_string(),
                course_id: hv1.id.clone(),
                completed_on: "2027-01-01".into(),
                passed: true,
                certificate_name: None,
                certificate_base64: None,
            },
            Some(("cert.exe", b"MZ")),
            t0,
        )
        .await
        .unwrap_err();
    match e {
        StoreError::Invalid(v) => {
            let f: Vec<&str> = v.0.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(f, ["completed_on", "certificate"]);
        }
        other => panic!("{other:?}"),
    }
    let rec = t
        .record(
            &ana.scope,
            &TrainingRecordInput {
                user_id: joao.scope.user_id().to_string(),
                course_id: hv1.id.clone(),
                completed_on: "2026-11-02".into(),
                passed: true,
                certificate_name: None,
                certificate_base64: None,
            },
            Some(("certificado.pdf", b"%PDF-1.4 certificado")),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(rec.expires_on.as_deref(), Some("2029-11-01"));
    let (name, kind, _) = t.certificate(&joao.scope, &rec.id).await.unwrap();
    assert_eq!(
        (name.as_str(), kind.as_str()),
        ("certificado.pdf", "application/pdf")
    );
    assert!(matches!(
        t.certificate(&marta.scope, &rec.id).await,
        Err(StoreError::NotFound)
    ));

    // Sessions: places are kept; attendance after the start writes the record.
    let sessions = t.sessions(&ana.scope, t0).await.unwrap();
    let s = &sessions[0];
    assert_eq!(s.attendees.len(), 1);
    let e = t
        .attendance(
            &ana.scope,
            &s.id,
            &AttendanceInput {
                user_id: crate::workshop::caller(store, "pedro", t0)
                    .await
                    .scope
                    .user_id()
                    .to_string(),
                status: "attended".into(),
            },
            t0,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "not begun yet");
    let after = s.starts_at + Duration::hours(8);
    let pedro_id = crate::workshop::caller(store, "pedro", t0)
        .await
        .scope
        .user_id()
        .to_string();
    let done = t
        .attendance(
            &ana.scope,
            &s.id,
            &AttendanceInput {
                user_id: pedro_id.clone(),
                status: "attended".into(),
            },
            after,
        )
        .await
        .unwrap();
    assert_eq!(done.attendees[0].status.as_str(), "attended");
    let g = t
        .gaps(&ana.scope, after.date(), 30, Language::En)
        .await
        .unwrap();
    let pedro = g
        .people
        .iter()
        .find(|p| p.person.label == "Pedro Santos")
        .unwrap();
    let hv2 = pedro
        .requirements
        .iter()
        .find(|r| r.course.label == "High-voltage technician (level 2)")
        .unwrap();
    assert!(
        matches!(hv2.standing, TrainingStanding::Held { .. }),
        "renewed by the session: {:?}",
        hv2.standing
    );
}
