//! Conformance cases of cases: SLA timers on business calendars, escalation rules, messages,
//! status machine, follow-up tasks.

use crate::workshop::caller;
use aftersales_domain::calendar::Zone;
use aftersales_domain::cases::{Category, EscalationReason, Priority, Status, Timer};
use aftersales_domain::validation::Rule;
use aftersales_store::cases::{CaseInput, InboxFilter};
use aftersales_store::{demo, Store, StoreError};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

fn oslo(local: time::PrimitiveDateTime) -> OffsetDateTime {
    Zone::parse("tz", "Europe/Oslo").unwrap().instant(local)
}

fn phone_case(subject: &str, contact: &str) -> CaseInput {
    CaseInput {
        contact: Some(contact.into()),
        channel: "phone".into(),
        category: "technical".into(),
        priority: "normal".into(),
        subject: subject.into(),
        ..Default::default()
    }
}

pub async fn sla_timers_run_on_the_business_calendar(store: &Store) {
    let t0 = oslo(datetime!(2026-05-13 15:00));
    demo::seed(store, t0 - Duration::days(1)).await.unwrap();
    let nora = caller(store, "nora", t0).await;
    let trondheim = store
        .cli()
        .find_organisation("Tesla Service Centre Trondheim")
        .await
        .unwrap()
        .0;
    store
        .cases()
        .set_sla_policy(
            &nora.scope,
            &trondheim,
            Category::Technical,
            Priority::Normal,
            60,
            8 * 60,
        )
        .await
        .unwrap();
    let ingrid = caller(store, "ingrid", t0).await;
    // A known caller is recognised by the phone number she gives, however it is typed.
    let case = store
        .cases()
        .create_case(
            &ingrid.scope,
            &phone_case("Screen freezes when reversing", "415 22 333"),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(
        case.customer.as_ref().map(|c| c.label.as_str()),
        Some("Siri Berg")
    );
    assert!(case.number.starts_with("CASE-2026-"));
    assert_eq!(case.status, Status::New);
    assert_eq!(
        (case.first_response.minutes, case.resolution.minutes),
        (60, 480)
    );
    // Wednesday 15:00 + 8 business hours, Thursday 14 May being Ascension Day: Friday 15:00.
    assert_eq!(
        case.resolution.due_at,
        Some(oslo(datetime!(2026-05-15 15:00)))
    );
    assert_eq!(
        case.first_response.due_at,
        Some(oslo(datetime!(2026-05-13 16:00)))
    );
    assert_eq!(case.first_response.state, Timer::Running);

    // Wednesday 15:50: 50 of 60 minutes used, at risk: the inbox escalates it.
    let at = oslo(datetime!(2026-05-13 15:50));
    let inbox = store
        .cases()
        .inbox(&ingrid.scope, InboxFilter::All, at)
        .await
        .unwrap();
    let c = inbox.iter().find(|c| c.id == case.id).unwrap();
    assert_eq!(c.first_response.state, Timer::AtRisk);
    let c = store
        .cases()
        .get_case(&ingrid.scope, &case.id, at)
        .await
        .unwrap();
    assert_eq!(c.escalation_reason, Some(EscalationReason::SlaAtRisk));
    // Thursday (a holiday) at noon: the first response was missed; the breach is recorded once.
    let thu = oslo(datetime!(2026-05-14 12:00));
    store
        .cases()
        .inbox(&ingrid.scope, InboxFilter::All, thu)
        .await
        .unwrap();
    store
        .cases()
        .inbox(&ingrid.scope, InboxFilter::All, thu)
        .await
        .unwrap();
    let c = store
        .cases()
        .get_case(&ingrid.scope, &case.id, thu)
        .await
        .unwrap();
    assert_eq!(c.first_response.state, Timer::Breached);
    assert_eq!(
        c.resolution.used_minutes, 60,
        "no time runs on the holiday or at night"
    );
    let breaches = store
        .cases()
        .case_events(&ingrid.scope, &case.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "breach")
        .count();
    assert_eq!(breaches, 1);

    // Friday 09:00 the advisor answers and waits for the customer until Monday 10:00: the
    // resolution clock stops for the wait, so it is due Monday 16:00 instead of Friday 15:00.
    let fri = oslo(datetime!(2026-05-15 09:00));
    let c = store
        .cases()
        .add_case_message(
            &ingrid.scope,
            &case.id,
            "Could you send a photo of the screen?",
            true,
            fri,
        )
        .await
        .unwrap();
    assert_eq!(c.status, Status::Open);
    assert_eq!(
        c.first_response.state,
        Timer::Breached,
        "answered, but late"
    );
    let c = store
        .cases()
        .set_case_status(
            &ingrid.scope,
            &case.id,
            Status::WaitingForCustomer,
            c.version,
            fri,
        )
        .await
        .unwrap();
    assert_eq!(c.resolution.state, Timer::Paused);
    let mon = oslo(datetime!(2026-05-18 10:00));
    let c = store
        .cases()
        .set_case_status(&ingrid.scope, &case.id, Status::Open, c.version, mon)
        .await
        .unwrap();
    assert_eq!(
        c.resolution.used_minutes,
        60 + 60,
        "Wednesday 15–16 and Friday 08–09"
    );
    assert_eq!(c.resolution.due_at, Some(oslo(datetime!(2026-05-18 16:00))));
    let c = store
        .cases()
        .set_case_status(
            &ingrid.scope,
            &case.id,
            Status::Resolved,
            c.version,
            oslo(datetime!(2026-05-18 11:00)),
        )
        .await
        .unwrap();
    assert_eq!(c.resolution.state, Timer::Met);
    assert!(!store
        .cases()
        .inbox(&ingrid.scope, InboxFilter::All, mon)
        .await
        .unwrap()
        .iter()
        .any(|x| x.id == case.id));
    // The status machine refuses what makes no sense, and stale versions.
    let e = store
        .cases()
        .set_case_status(
            &ingrid.scope,
            &case.id,
            Status::WaitingForCustomer,
            c.version,
            mon,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(v) if v.0[0].rule == Rule::NotAllowed),
        "{e:?}"
    );
    let e = store
        .cases()
        .set_case_status(&ingrid.scope, &case.id, Status::Closed, c.version - 1, mon)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict { .. }));
}

pub async fn escalation_rules_and_the_managers_queue(store: &Store) {
    let t0 = datetime!(2026-06-02 08:30 UTC);
    demo::seed(store, t0 - Duration::days(1)).await.unwrap();
    let ingrid = caller(store, "ingrid", t0).await;
    // Safety words in the customer's own words escalate at once.
    let mut input = phone_case("Strange smell", "41 52 22 33");
    input.symptoms = Some("Det kommer røyk fra under panseret når den lader".into());
    let smoke = store
        .cases()
        .create_case(&ingrid.scope, &input, t0)
        .await
        .unwrap();
    assert_eq!(smoke.escalation_reason, Some(EscalationReason::Safety));
    // A second contact about the same concern escalates as a repeat contact.
    let first = store
        .cases()
        .create_case(
            &ingrid.scope,
            &phone_case("Charging stops at 80 %", "934 56 789"),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(first.escalation_reason, None);
    let again = store
        .cases()
        .create_case(
            &ingrid.scope,
            &phone_case("Still charging problems", "934 56 789"),
            t0 + Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(
        again.escalation_reason,
        Some(EscalationReason::RepeatContact)
    );
    // An unclassified contact (a mail or web form lands as "other") from the same customer is a
    // repeat contact too, whatever the category of the open case.
    let mut unclassified = phone_case("Any news?", "934 56 789");
    unclassified.channel = "email".into();
    unclassified.category = "other".into();
    let unclassified = store
        .cases()
        .create_case(&ingrid.scope, &unclassified, t0 + Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(
        unclassified.escalation_reason,
        Some(EscalationReason::RepeatContact)
    );
    // A classified contact about another concern is not.
    let mut invoice = phone_case("Invoice address", "934 56 789");
    invoice.category = "invoice".into();
    let invoice = store
        .cases()
        .create_case(&ingrid.scope, &invoice, t0 + Duration::hours(3))
        .await
        .unwrap();
    assert_eq!(invoice.escalation_reason, None);
    // One action escalates by hand, once.
    let other = store
        .cases()
        .create_case(
            &ingrid.scope,
            &phone_case("Wants a loan car", "415 22 333"),
            t0,
        )
        .await
        .unwrap();
    let other = store
        .cases()
        .escalate_case(
            &ingrid.scope,
            &other.id,
            Some("VIP customer, car needed tomorrow"),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(other.escalation_reason, Some(EscalationReason::Manual));
    assert!(store
        .cases()
        .escalate_case(&ingrid.scope, &other.id, None, t0)
        .await
        .is_err());
    // The service manager's queue holds the three escalated cases; Porto sees none of them.
    let kari = caller(store, "kari", t0).await;
    let queue = store
        .cases()
        .inbox(&kari.scope, InboxFilter::Escalated, t0 + Duration::hours(1))
        .await
        .unwrap();
    let ids: Vec<&str> = queue.iter().map(|c| c.id.as_str()).collect();
    for c in [&smoke, &again, &other] {
        assert!(ids.contains(&c.id.as_str()), "{}", c.subject);
    }
    assert!(!ids.contains(&first.id.as_str()));
    let marta = caller(store, "marta", t0).await;
    assert!(store
        .cases()
        .inbox(&marta.scope, InboxFilter::All, t0)
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        store.cases().get_case(&marta.scope, &smoke.id, t0).await,
        Err(StoreError::NotFound)
    ));
    // A driver neither reads nor changes cases, nor sees the inbox.
    let mats = caller(store, "mats", t0).await;
    assert!(matches!(
        store
            .cases()
            .add_case_message(&mats.scope, &smoke.id, "hei", false, t0)
            .await,
        Err(StoreError::Forbidden(_) | StoreError::NotFound)
    ));
    assert!(matches!(
        store.cases().inbox(&mats.scope, InboxFilter::All, t0).await,
        Err(StoreError::Forbidden(_))
    ));
    // Notes stay internal and do not count as a response; the owner takes the case.
    let c = store
        .cases()
        .add_case_message(
            &kari.scope,
            &smoke.id,
            "Customer must not drive the car; send the tow truck",
            false,
            t0,
        )
        .await
        .unwrap();
    assert_eq!(
        (c.status, c.first_response.state),
        (Status::New, Timer::Running)
    );
    let c = store
        .cases()
        .take_case(&kari.scope, &smoke.id, t0)
        .await
        .unwrap();
    assert_eq!(c.owner.map(|o| o.label), Some("Kari Nilsen".into()));
    let mine = store
        .cases()
        .inbox(&kari.scope, InboxFilter::Mine, t0)
        .await
        .unwrap();
    assert_eq!(
        mine.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        vec![smoke.id.clone()]
    );
    // Bad input names the fields.
    let bad = CaseInput {
        channel: "pigeon".into(),
        category: "gossip".into(),
        priority: "now".into(),
        subject: "x".into(),
        ..Default::default()
    };
    let e = store
        .cases()
        .create_case(&ingrid.scope, &bad, t0)
        .await
        .unwrap_err();
    let got: Vec<(String, Rule)> = match e {
        StoreError::Invalid(v) => v.0.into_iter().map(|f| (f.field, f.rule)).collect(),
        e => panic!("{e:?}"),
    };
    assert_eq!(
        got,
        vec![
            ("channel".to_string(), Rule::OneOf),
            ("category".into(), Rule::OneOf),
            ("priority".into(), Rule::OneOf),
            ("subject".into(), Rule::TooShort),
            ("contact".into(), Rule::Required),
        ]
    );
}

pub async fn follow_up_tasks(store: &Store) {
    let t0 = datetime!(2026-06-02 08:30 UTC);
    demo::seed(store, t0 - Duration::days(1)).await.unwrap();
    let ingrid = caller(store, "ingrid", t0).await;
    let lars = caller(store, "lars", t0).await;
    let case = store
        .cases()
        .create_case(
            &ingrid.scope,
            &phone_case("Call back about tyre change", "980 11 223"),
            t0,
        )
        .await
        .unwrap();
    let t1 = store
        .cases()
        .add_task(
            &ingrid.scope,
            &case.id,
            "Call Magnus back",
            t0 + Duration::days(2),
            None,
            t0,
        )
        .await
        .unwrap();
    let t2 = store
        .cases()
        .add_task(
            &ingrid.scope,
            &case.id,
            "Order winter tyres",
            t0 + Duration::days(1),
            Some(&lars.user_id),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .cases()
            .my_tasks(&ingrid.scope)
            .await
            .unwrap()
            .iter()
            .map(|t| t.id.clone())
            .collect::<Vec<_>>(),
        vec![t1.id.clone()]
    );
    assert_eq!(
        store.cases().my_tasks(&lars.scope).await.unwrap()[0].title,
        "Order winter tyres"
    );
    let done = store
        .cases()
        .complete_task(&lars.scope, &t2.id, t0 + Duration::hours(3))
        .await
        .unwrap();
    assert!(done.done_at.is_some());
    assert!(store
        .cases()
        .my_tasks(&lars.scope)
        .await
        .unwrap()
        .is_empty());
    let marta = caller(store, "marta", t0).await;
    let e = store
        .cases()
        .add_task(
            &ingrid.scope,
            &case.id,
            "Hand to Porto",
            t0,
            Some(&marta.user_id),
            t0,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(v) if v.0[0].field == "assignee_user_id"),
        "{e:?}"
    );
    assert!(matches!(
        store.cases().complete_task(&marta.scope, &t1.id, t0).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn email_and_web_intake(store: &Store) {
    use aftersales_store::cases::intake::{InboundEmail, WebInquiry};
    let t0 = datetime!(2026-06-02 08:30 UTC);
    demo::seed(store, t0 - Duration::days(1)).await.unwrap();
    let ingrid = caller(store, "ingrid", t0).await;
    let mail = |id: &str, subject: &str, reply_to: Option<&str>| InboundEmail {
        from: "siri.3@example.no".into(),
        to: "Service.Trondheim@tesla.example".into(),
        subject: subject.into(),
        text: "Ladingen stopper på 80 prosent.".into(),
        message_id: id.into(),
        in_reply_to: reply_to.map(str::to_string),
    };
    let first = store
        .cases()
        .receive_email(
            &ingrid.scope,
            &mail("<m1@example>", "Lading stopper", None),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(first.outcome, "created");
    let case = store
        .cases()
        .get_case(&ingrid.scope, &first.case_id, t0)
        .await
        .unwrap();
    assert_eq!(
        case.customer.as_ref().map(|c| c.label.as_str()),
        Some("Siri Berg"),
        "the sender is recognised"
    );
    assert_eq!(case.channel, aftersales_domain::cases::Channel::Email);
    // The gateway retries: taken once.
    let again = store
        .cases()
        .receive_email(
            &ingrid.scope,
            &mail("<m1@example>", "Lading stopper", None),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(
        (again.outcome.as_str(), again.case_id.as_str()),
        ("duplicate", first.case_id.as_str())
    );
    // The advisor waits for the customer; the reply threads in and reopens the case.
    let c = store
        .cases()
        .set_case_status(
            &ingrid.scope,
            &case.id,
            Status::WaitingForCustomer,
            case.version,
            t0,
        )
        .await
        .unwrap();
    let reply = store
        .cases()
        .receive_email(
            &ingrid.scope,
            &mail("<m2@example>", "Re: Lading stopper", Some("<m1@example>")),
            t0 + Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(
        (reply.outcome.as_str(), reply.case_id.as_str()),
        ("threaded", c.id.as_str())
    );
    assert_eq!(
        store
            .cases()
            .get_case(&ingrid.scope, &c.id, t0)
            .await
            .unwrap()
            .status,
        Status::Open
    );
    // Or by the case number in the subject.
    let by_number = store
        .cases()
        .receive_email(
            &ingrid.scope,
            &mail(
                "<m3@example>",
                &format!("Sv: [{}] bilde", case.number),
                None,
            ),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(by_number.outcome, "threaded");
    let events = store
        .cases()
        .case_events(&ingrid.scope, &c.id)
        .await
        .unwrap();
    assert_eq!(events.iter().filter(|e| e.kind == "inbound").count(), 2);
    // Fetched from the inbox's own mailbox (no account behind it): a reply to the message the
    // advisor sent joins the case by its reference alone.
    store
        .cases()
        .add_case_message(&ingrid.scope, &c.id, "Send et bilde, takk.", true, t0)
        .await
        .unwrap();
    let sent = store
        .notify()
        .outbox(&ingrid.scope, None, None, 200)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|m| m.case_id.as_deref() == Some(c.id.as_str()) && m.channel == "email")
        .unwrap();
    let mut answer = mail(
        "m5@example",
        "Svar",
        Some(&format!("<{}@aftersales.example>", sent.id)),
    );
    answer.to = "service.trondheim@tesla.example".into();
    let via_mailbox = store
        .cli()
        .receive_mailbox_email(&answer, t0)
        .await
        .unwrap();
    assert_eq!(
        (via_mailbox.outcome.as_str(), via_mailbox.case_id.as_str()),
        ("threaded", c.id.as_str())
    );
    // The same reference from someone else is a new case, not a way into another's case.
    let mut stranger = mail(
        "m6@example",
        "Svar",
        Some(&format!("<{}@aftersales.example>", sent.id)),
    );
    stranger.from = "someone@example.org".into();
    let other = store
        .cli()
        .receive_mailbox_email(&stranger, t0)
        .await
        .unwrap();
    assert_eq!(other.outcome, "created");
    // The same reference arriving at another organisation's inbox stays out of this case.
    let mut elsewhere = mail(
        "m8@example",
        "Svar",
        Some(&format!("<{}@aftersales.example>", sent.id)),
    );
    elsewhere.to = "lisboa@polestar-service.example".into();
    let elsewhere = store
        .cli()
        .receive_mailbox_email(&elsewhere, t0)
        .await
        .unwrap();
    assert_eq!(elsewhere.outcome, "created");
    assert_ne!(elsewhere.case_id, c.id);
    // A mail without subject is named by the customer's first line, not by a word of ours.
    let mut bare = mail("m7@example", "", None);
    bare.to = "service.trondheim@tesla.example".into();
    let bare = store.cli().receive_mailbox_email(&bare, t0).await.unwrap();
    assert_eq!(
        store
            .cases()
            .get_case(&ingrid.scope, &bare.case_id, t0)
            .await
            .unwrap()
            .subject,
        "Ladingen stopper på 80 prosent."
    );
    // Mail to an unknown inbox, or to another market's inbox, is refused.
    let mut foreign = mail("<m4@example>", "Hei", None);
    foreign.to = "lisboa@polestar-service.example".into();
    let e = store
        .cases()
        .receive_email(&ingrid.scope, &foreign, t0)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(v) if v.0[0].field == "to"),
        "{e:?}"
    );

    // The public web form: validated, linked, rate limited.
    let points = store.cases().public_service_points().await.unwrap();
    let trd = points
        .iter()
        .find(|p| p.name == "Tesla Service Centre Trondheim")
        .unwrap()
        .id
        .clone();
    let bad = WebInquiry {
        service_point: "nope".into(),
        name: "K".into(),
        subject: "Hi".into(),
        message: "short".into(),
        ..Default::default()
    };
    let e = store
        .cases()
        .submit_web_inquiry(&bad, "198.51.100.7", t0)
        .await
        .unwrap_err();
    let fields: Vec<String> = match e {
        StoreError::Invalid(v) => v.0.into_iter().map(|f| f.field).collect(),
        e => panic!("{e:?}"),
    };
    assert_eq!(
        fields,
        vec!["service_point", "name", "email", "subject", "message"]
    );
    let good = WebInquiry {
        service_point: trd.clone(),
        name: "Nina Dahl".into(),
        phone: "481 90 554".into(),
        subject: "Bremsene skraper".into(),
        message: "Det skraper fra bremsene foran når jeg bremser.".into(),
        ..Default::default()
    };
    let number = store
        .cases()
        .submit_web_inquiry(&good, "198.51.100.7", t0)
        .await
        .unwrap();
    let inbox = store
        .cases()
        .inbox(&ingrid.scope, InboxFilter::All, t0)
        .await
        .unwrap();
    let web = inbox.iter().find(|c| c.number == number).unwrap();
    assert_eq!(
        web.customer.as_ref().map(|c| c.label.as_str()),
        Some("Nina Dahl")
    );
    assert_eq!(
        web.escalation_reason,
        Some(EscalationReason::Safety),
        "web inquiries get the same rules"
    );
    for _ in 0..4 {
        store
            .cases()
            .submit_web_inquiry(&good, "198.51.100.7", t0)
            .await
            .unwrap();
    }
    assert!(matches!(
        store
            .cases()
            .submit_web_inquiry(&good, "198.51.100.7", t0)
            .await,
        Err(StoreError::Forbidden(_))
    ));
    store
        .cases()
        .submit_web_inquiry(&good, "198.51.100.8", t0)
        .await
        .unwrap();
    store
        .cases()
        .submit_web_inquiry(&good, "198.51.100.7", t0 + Duration::minutes(61))
        .await
        .unwrap();
}

pub async fn triage_suggests_learns_and_counts(store: &Store) {
    use aftersales_domain::i18n::Language;
    use aftersales_store::cases::triage::{ArticleInput, DecisionInput};
    let t0 = datetime!(2026-06-02 08:30 UTC);
    demo::seed(store, t0 - Duration::days(1)).await.unwrap();
    let ingrid = caller(store, "ingrid", t0).await;
    let mut input = phone_case("Skjermen fryser ved rygging", "415 22 333");
    input.symptoms = Some("Berøringsskjermen blir svart og fryser".into());
    let case = store
        .cases()
        .create_case(&ingrid.scope, &input, t0)
        .await
        .unwrap();
    let s = store
        .cases()
        .triage_suggestions(&ingrid.scope, &case.id, Language::Nb, t0)
        .await
        .unwrap();
    assert_eq!(s[0].kind, "remote-fix");
    let screen = s[0].article.clone().unwrap();
    assert_eq!(screen.title, "Omstart av berøringsskjermen");
    assert!(
        s[0].matched.iter().any(|m| m == "skjerm"),
        "{:?}",
        s[0].matched
    );
    assert_eq!(
        s[0].outcomes.as_ref().unwrap().rate_percent,
        None,
        "no outcomes yet"
    );
    assert_eq!(
        s.iter()
            .rev()
            .take(2)
            .map(|x| x.kind.as_str())
            .collect::<Vec<_>>(),
        vec!["workshop", "mobile-service"]
    );
    // Polestar's fixes are not Tesla's to suggest.
    assert!(s
        .iter()
        .filter_map(|x| x.article.as_ref())
        .all(|a| !a.title.contains("infotainment")));

    // The advisor applies the fix; the case is resolved; 30 days pass without a comeback: success.
    let bad = DecisionInput {
        kind: "remote-fix".into(),
        article_id: None,
    };
    let e = store
        .cases()
        .record_triage(&ingrid.scope, &case.id, &bad, t0)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(v) if v.0[0].field == "article_id"),
        "{e:?}"
    );
    store
        .cases()
        .record_triage(
            &ingrid.scope,
            &case.id,
            &DecisionInput {
                kind: "remote-fix".into(),
                article_id: Some(screen.id.clone()),
            },
            t0,
        )
        .await
        .unwrap();
    let c = store
        .cases()
        .get_case(&ingrid.scope, &case.id, t0)
        .await
        .unwrap();
    store
        .cases()
        .set_case_status(
            &ingrid.scope,
            &case.id,
            Status::Resolved,
            c.version,
            t0 + Duration::minutes(10),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .cases()
            .article_outcomes(&screen.id, t0 + Duration::days(5))
            .await
            .unwrap()
            .settled,
        0,
        "not known before 30 days"
    );
    let later = t0 + Duration::days(31);
    let o = store
        .cases()
        .article_outcomes(&screen.id, later)
        .await
        .unwrap();
    assert_eq!((o.settled, o.successes, o.rate_percent), (1, 1, Some(100)));
    // A second customer's identical fix fails: they call again about the same concern.
    let mut input2 = phone_case("Skjermen fryser igjen", "952 88 104");
    input2.symptoms = Some("skjerm svart".into());
    let c2 = store
        .cases()
        .create_case(&ingrid.scope, &input2, t0)
        .await
        .unwrap();
    store
        .cases()
        .record_triage(
            &ingrid.scope,
            &c2.id,
            &DecisionInput {
                kind: "remote-fix".into(),
                article_id: Some(screen.id.clone()),
            },
            t0,
        )
        .await
        .unwrap();
    let v = store
        .cases()
        .get_case(&ingrid.scope, &c2.id, t0)
        .await
        .unwrap()
        .version;
    store
        .cases()
        .set_case_status(
            &ingrid.scope,
            &c2.id,
            Status::Resolved,
            v,
            t0 + Duration::hours(1),
        )
        .await
        .unwrap();
    store
        .cases()
        .create_case(
            &ingrid.scope,
            &phone_case("Skjermen er svart igjen", "952 88 104"),
            t0 + Duration::days(3),
        )
        .await
        .unwrap();
    let o = store
        .cases()
        .article_outcomes(&screen.id, later)
        .await
        .unwrap();
    assert_eq!((o.settled, o.successes, o.rate_percent), (2, 1, Some(50)));
    // The KPI over the period: technical cases resolved remotely without a comeback ÷ technical cases.
    let (num, den) = store
        .cases()
        .remote_resolution_rate(
            &ingrid.scope,
            t0 - Duration::hours(1),
            t0 + Duration::days(10),
            later,
        )
        .await
        .unwrap();
    assert_eq!((num, den), (1, 3));
    // The decisions show on the customer's timeline.
    let customer = case.customer.unwrap().id;
    let tl = store
        .crm()
        .customer_timeline(&ingrid.scope, &customer)
        .await
        .unwrap();
    assert!(tl
        .iter()
        .any(|e| e.kind == "triage" && e.body.as_deref() == Some("Restart the touchscreen")));

    // Writing the knowledge base: a service manager may, an advisor may not.
    let trondheim = store
        .cli()
        .find_organisation("Tesla Service Centre Trondheim")
        .await
        .unwrap()
        .0;
    let article = ArticleInput {
        category: "technical".into(),
        keywords: "wiper, vindusvisker, escovas".into(),
        fix_kind: "setting".into(),
        title_nb: "Vindusviskeren går av seg selv".into(),
        title_en: "The wipers start by themselves".into(),
        title_pt: "As escovas ligam sozinhas".into(),
        steps_nb: "Slå av automatisk visking under Kontroller.".into(),
        steps_en: "Turn off auto wipers under Controls.".into(),
        steps_pt: "Desligue a limpeza automática em Controlos.".into(),
    };
    assert!(matches!(
        store
            .cases()
            .create_article(&ingrid.scope, &trondheim, &article, t0)
            .await,
        Err(StoreError::Forbidden(_))
    ));
    let kari = caller(store, "kari", t0).await;
    let a = store
        .cases()
        .create_article(&kari.scope, &trondheim, &article, t0)
        .await
        .unwrap();
    assert_eq!(
        store
            .cases()
            .get_article(&ingrid.scope, &a.id, Language::Pt)
            .await
            .unwrap()
            .title,
        "As escovas ligam sozinhas"
    );
    let bad = ArticleInput {
        fix_kind: "magic".into(),
        ..article.clone()
    };
    assert!(matches!(
        store
            .cases()
            .create_article(&kari.scope, &trondheim, &bad, t0)
            .await,
        Err(StoreError::Invalid(_))
    ));
}

pub async fn working_procedures_route_and_hand_off(store: &Store) {
    let t0 = datetime!(2026-06-02 08:30 UTC);
    demo::seed(store, t0 - Duration::days(1)).await.unwrap();
    let ingrid = caller(store, "ingrid", t0).await;
    let sofie = caller(store, "sofie", t0).await;
    let care = store
        .cli()
        .find_organisation("Tesla Customer Care Nordics")
        .await
        .unwrap()
        .0;
    // A delivery question taken in at Trondheim goes to the customer-care centre, with its SLA.
    let mut input = phone_case("Når blir bilen min levert?", "980 11 223");
    input.category = "delivery".into();
    let c = store
        .cases()
        .create_case(&ingrid.scope, &input, t0)
        .await
        .unwrap();
    assert_eq!(c.organisation.id, care);
    assert_eq!((c.first_response.minutes, c.resolution.minutes), (120, 960));
    let handoffs = store
        .cases()
        .case_handoffs(&ingrid.scope, &c.id)
        .await
        .unwrap();
    assert_eq!(handoffs.len(), 1);
    assert!(handoffs[0].rule_id.is_some());
    assert_eq!(handoffs[0].from.label, "Tesla Service Centre Trondheim");
    // The care centre has it in its inbox; Trondheim follows it read-only.
    assert!(store
        .cases()
        .inbox(&sofie.scope, InboxFilter::All, t0)
        .await
        .unwrap()
        .iter()
        .any(|x| x.id == c.id));
    assert!(!store
        .cases()
        .inbox(&ingrid.scope, InboxFilter::All, t0)
        .await
        .unwrap()
        .iter()
        .any(|x| x.id == c.id));
    assert_eq!(
        store
            .cases()
            .get_case(&ingrid.scope, &c.id, t0)
            .await
            .unwrap()
            .id,
        c.id
    );
    assert!(store
        .cases()
        .add_case_message(&ingrid.scope, &c.id, "hei", false, t0)
        .await
        .is_err());
    store
        .cases()
        .add_case_message(
            &sofie.scope,
            &c.id,
            "Levering er planlagt til fredag.",
            true,
            t0,
        )
        .await
        .unwrap();
    // Polestar Portugal's technical calls go to the importer's Lisboa workshop; Porto does not see them.
    let ana = caller(store, "ana", t0).await;
    let mut pt = phone_case("Ruído ao travar", "935 112 009");
    pt.contact = Some("935 112 009".into());
    let pc = store
        .cases()
        .create_case(&ana.scope, &pt, t0)
        .await
        .unwrap();
    assert_eq!(pc.organisation.label, "Polestar Service Point Lisboa");
    let joao = caller(store, "joao", t0).await;
    assert!(store
        .cases()
        .inbox(&joao.scope, InboxFilter::All, t0)
        .await
        .unwrap()
        .iter()
        .any(|x| x.id == pc.id));
    let marta = caller(store, "marta", t0).await;
    assert!(matches!(
        store.cases().get_case(&marta.scope, &pc.id, t0).await,
        Err(StoreError::NotFound)
    ));
    // By hand: only to a party a procedure names.
    let tech = store
        .cases()
        .create_case(
            &ingrid.scope,
            &phone_case("Spørsmål om levering av deler", "415 22 333"),
            t0,
        )
        .await
        .unwrap();
    let porto = store
        .cli()
        .find_organisation("Polestar Service Point Porto")
        .await
        .unwrap()
        .0;
    let e = store
        .cases()
        .hand_off_case(&ingrid.scope, &tech.id, &porto, None, t0)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(v) if v.0[0].rule == Rule::NotAllowed),
        "{e:?}"
    );
    let moved = store
        .cases()
        .hand_off_case(&ingrid.scope, &tech.id, &care, Some("Gjelder levering"), t0)
        .await
        .unwrap();
    assert_eq!(moved.organisation.id, care);
    assert!(store
        .cases()
        .inbox(&sofie.scope, InboxFilter::All, t0)
        .await
        .unwrap()
        .iter()
        .any(|x| x.id == tech.id));
    // Setting procedures is for administrators, within one brand.
    let norway = store
        .cli()
        .find_organisation("Tesla Norway AS")
        .await
        .unwrap()
        .0;
    assert!(store
        .cases()
        .set_routing_rule(&ingrid.scope, &norway, Category::Invoice, &care, None, t0)
        .await
        .is_err());
    let nora = caller(store, "nora", t0).await;
    let e = store
        .cases()
        .set_routing_rule(&nora.scope, &norway, Category::Invoice, &porto, None, t0)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(v) if v.0[0].field == "target_organisation_id"),
        "{e:?}"
    );
    let rule = store
        .cases()
        .set_routing_rule(
            &nora.scope,
            &norway,
            Category::Invoice,
            &care,
            Some((60, 480)),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(rule.target.label, "Tesla Customer Care Nordics");
    assert_eq!(
        store
            .cases()
            .routing_rules(&ingrid.scope)
            .await
            .unwrap()
            .len(),
        2,
        "Trondheim works under Norway's procedures"
    );
    assert!(store
        .cases()
        .routing_rules(&marta.scope)
        .await
        .unwrap()
        .iter()
        .all(|r| r.organisation.label == "Polestar Portugal"));
}

pub async fn the_sla_sweep_works_without_anyone_looking(store: &Store) {
    let t0 = oslo(datetime!(2026-05-13 15:00));
    demo::seed(store, t0 - Duration::days(1)).await.unwrap();
    let ingrid = caller(store, "ingrid", t0).await;
    let mut input = phone_case("Dørhåndtak kommer ikke ut", "481 90 554");
    input.priority = "urgent".into();
    let case = store
        .cases()
        .create_case(&ingrid.scope, &input, t0)
        .await
        .unwrap();
    // Urgent: 30 business minutes to the first response. At 15:40 nobody has opened the inbox.
    let n = store
        .cli()
        .sweep_sla(oslo(datetime!(2026-05-13 15:40)))
        .await
        .unwrap();
    assert!(n >= 1);
    let events = store
        .cases()
        .case_events(&ingrid.scope, &case.id)
        .await
        .unwrap();
    assert_eq!(events.iter().filter(|e| e.kind == "breach").count(), 1);
    assert!(events.iter().any(|e| e.kind == "escalated"
        && e.params.get("reason").map(String::as_str) == Some("sla-at-risk")));
    store
        .cli()
        .sweep_sla(oslo(datetime!(2026-05-13 15:45)))
        .await
        .unwrap();
    let events = store
        .cases()
        .case_events(&ingrid.scope, &case.id)
        .await
        .unwrap();
    assert_eq!(
        events.iter().filter(|e| e.kind == "breach").count(),
        1,
        "recorded once"
    );
}

/// A stored value the code does not know is an error that names the table, column and value,
/// never a silent default (a bad status once read back as "open").
pub async fn unknown_stored_values_fail_loudly(store: &Store) {
    let t0 = datetime!(2026-11-23 08:00 UTC);
    demo::seed(store, t0).await.unwrap();
    let ingrid = caller(store, "ingrid", t0).await;
    let case = store
        .cases()
        .create_case(
            &ingrid.scope,
            &phone_case("Wipers squeak", "415 22 333"),
            t0,
        )
        .await
        .unwrap();
    aftersales_store::testing::execute_raw(
        store,
        &format!(
            "UPDATE cases SET status = 'on-hold-42' WHERE id = '{}'",
            case.id
        ),
    )
    .await
    .unwrap();
    match store.cases().get_case(&ingrid.scope, &case.id, t0).await {
        Err(StoreError::Corrupt {
            table,
            column,
            value,
        }) => assert_eq!(
            (table, column, value.as_str()),
            ("cases", "status", "on-hold-42")
        ),
        other => panic!("expected a loud error, got {other:?}"),
    }
}

/// A case escalated as a safety risk gets no remote fix: none is suggested and none can be recorded.
pub async fn safety_cases_get_no_remote_fix(store: &Store) {
    use aftersales_domain::i18n::Language;
    use aftersales_store::cases::triage::DecisionInput;
    let t0 = datetime!(2026-06-02 08:30 UTC);
    demo::seed(store, t0 - Duration::days(1)).await.unwrap();
    let ingrid = caller(store, "ingrid", t0).await;
    // Matches the "charge limit at 80 %" fix by its words, and smells of fire.
    let mut input = phone_case("Charging stops at 80 % and a burning smell", "415 22 333");
    input.symptoms = Some("Burning smell after charging".into());
    let case = store
        .cases()
        .create_case(&ingrid.scope, &input, t0)
        .await
        .unwrap();
    assert_eq!(case.escalation_reason, Some(EscalationReason::Safety));
    let s = store
        .cases()
        .triage_suggestions(&ingrid.scope, &case.id, Language::En, t0)
        .await
        .unwrap();
    assert_eq!(
        s.iter().map(|x| x.kind.as_str()).collect::<Vec<_>>(),
        vec!["mobile-service", "workshop"]
    );
    // The same words without the safety risk do get the fix.
    let calm = store
        .cases()
        .create_case(
            &ingrid.scope,
            &phone_case("Charging stops at 80 %", "415 22 333"),
            t0,
        )
        .await
        .unwrap();
    let s = store
        .cases()
        .triage_suggestions(&ingrid.scope, &calm.id, Language::En, t0)
        .await
        .unwrap();
    assert_eq!(s[0].kind, "remote-fix");
    let article = s[0].article.clone().unwrap();
    let refused = store
        .cases()
        .record_triage(
            &ingrid.scope,
            &case.id,
            &DecisionInput {
                kind: "remote-fix".into(),
                article_id: Some(article.id),
            },
            t0,
        )
        .await;
    match refused {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "kind"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Impossible dates are refused with the field named: follow-ups in 2020 or 3000, online bookings
/// of a day that passed or lies years ahead.
pub async fn impossible_dates_are_refused(store: &Store) {
    let t0 = datetime!(2026-11-23 08:00 UTC);
    demo::seed(store, t0).await.unwrap();
    let ingrid = caller(store, "ingrid", t0).await;
    let case = store
        .cases()
        .create_case(
            &ingrid.scope,
            &phone_case("Wipers squeak", "415 22 333"),
            t0,
        )
        .await
        .unwrap();
    for due in [
        datetime!(2020-01-01 10:00 UTC),
        datetime!(3000-01-01 10:00 UTC),
    ] {
        match store
            .cases()
            .add_task(&ingrid.scope, &case.id, "Call back", due, None, t0)
            .await
        {
            Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "due_at"),
            other => panic!("expected a refusal for {due}, got {other:?}"),
        }
    }
    let points = store.public().public_booking_points().await.unwrap();
    let sp = &points[0];
    let op = &sp.operations[0].code;
    for day in [
        time::macros::date!(2026 - 11 - 01),
        time::macros::date!(3000 - 01 - 01),
    ] {
        match store
            .public()
            .public_availability(&sp.id, op, day, t0)
            .await
        {
            Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "date"),
            other => panic!("expected a refusal for {day}, got {other:?}"),
        }
    }
    assert!(store
        .public()
        .public_availability(&sp.id, op, time::macros::date!(2026 - 11 - 25), t0)
        .await
        .is_ok());
}
