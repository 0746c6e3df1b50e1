//! Conformance cases of the CRM: customers, vehicles, consents, timeline, search, GDPR.

use aftersales_domain::crm::CheckDigit;
use aftersales_domain::validation::Rule;
use aftersales_store::auth::Caller;
use aftersales_store::crm::{
    Channel, ConsentInput, CustomerInput, NewCustomer, Purpose, TimelineInput, VehicleInput,
};
use aftersales_store::{demo, Store, StoreError};
use time::macros::datetime;
use time::OffsetDateTime;

const T0: OffsetDateTime = datetime!(2026-11-21 09:00 UTC);

async fn caller(store: &Store, username: &str) -> Caller {
    crate::workshop::caller(store, username, T0).await
}

fn rules(e: &StoreError) -> Vec<(String, Rule)> {
    match e {
        StoreError::Invalid(v) => v.0.iter().map(|f| (f.field.clone(), f.rule)).collect(),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

pub fn person(name: &str, phone: &str, country: &str) -> CustomerInput {
    CustomerInput {
        kind: "person".into(),
        name: name.into(),
        phone: Some(phone.into()),
        email: Some(format!(
            "{}@example.no",
            name.split(' ').next().unwrap().to_lowercase()
        )),
        language: if country == "PT" {
            "pt".into()
        } else {
            "nb".into()
        },
        preferred_channel: "sms".into(),
        country: country.into(),
        city: Some(if country == "PT" {
            "Lisboa".into()
        } else {
            "Trondheim".into()
        }),
        ..Default::default()
    }
}

pub async fn customers_are_validated_and_shared_within_the_market(store: &Store) {
    demo::seed(store, T0).await.unwrap();
    let ingrid = caller(store, "ingrid").await;
    let new = NewCustomer::parse(&person("Kari Testesen", "912 34 567", "NO")).unwrap();
    let c = store
        .crm()
        .create_customer(&ingrid.scope, None, &new, T0)
        .await
        .unwrap();
    assert_eq!(c.phone.as_deref(), Some("+4791234567"));
    let norway = store
        .cli()
        .find_organisation("Tesla Norway AS")
        .await
        .unwrap()
        .0;
    assert_eq!(
        c.organisation_id, norway,
        "customers belong to the market entity"
    );
    // The market's people see it; a Polestar workshop does not know it exists.
    for who in ["lars", "kari", "ole", "nora", "sofie"] {
        let w = caller(store, who).await;
        assert_eq!(
            store
                .crm()
                .get_customer(&w.scope, &c.id)
                .await
                .unwrap()
                .name,
            "Kari Testesen",
            "{who}"
        );
    }
    // A valet driver and an HQ analyst do not open the customer file (drivers see their stops,
    // analysts aggregates), nor list or search customers.
    for who in ["mats", "emily"] {
        let w = caller(store, who).await;
        assert!(
            store.crm().get_customer(&w.scope, &c.id).await.is_err(),
            "{who}"
        );
        assert!(matches!(
            store.crm().search_crm(&w.scope, "Testesen", 10).await,
            Err(StoreError::Forbidden(_))
        ));
    }
    for who in ["marta", "ana", "johan"] {
        let w = caller(store, who).await;
        assert!(
            matches!(
                store.crm().get_customer(&w.scope, &c.id).await,
                Err(StoreError::NotFound)
            ),
            "{who}"
        );
        assert!(
            !store
                .crm()
                .list_customers(&w.scope, None, 200)
                .await
                .map(|p| p.items.iter().any(|x| x.id == c.id))
                .unwrap_or(false),
            "{who}"
        );
    }
    // Drivers do not change the customer file either.
    let mats = caller(store, "mats").await;
    assert!(matches!(
        store
            .crm()
            .update_customer(&mats.scope, &c.id, &new, c.version, T0)
            .await,
        Err(StoreError::Forbidden(_) | StoreError::NotFound)
    ));
    // Bad input: every field named with its rule.
    let bad = CustomerInput {
        kind: "alien".into(),
        name: "".into(),
        org_number: Some("988077918".into()),
        nif: Some("501964842".into()),
        email: Some("kari@".into()),
        phone: None,
        language: "sv".into(),
        preferred_channel: "sms".into(),
        postal_code: Some("70100".into()),
        country: "NO".into(),
        latitude: Some(63.4),
        ..Default::default()
    };
    assert_eq!(
        rules(&NewCustomer::parse(&bad).unwrap_err().into()),
        vec![
            ("kind".into(), Rule::OneOf),
            ("name".into(), Rule::Required),
            ("org_number".into(), Rule::CheckDigit),
            ("nif".into(), Rule::CheckDigit),
            ("email".into(), Rule::Format),
            ("language".into(), Rule::OneOf),
            ("preferred_channel".into(), Rule::NotAllowed),
            ("postal_code".into(), Rule::Format),
            ("longitude".into(), Rule::Required),
        ]
    );
    let company = CustomerInput {
        kind: "company".into(),
        name: "Trøndelag Taxi AS".into(),
        org_number: Some("988 077 917".into()),
        email: Some("drift@trondelagtaxi.example".into()),
        language: "nb".into(),
        preferred_channel: "email".into(),
        postal_code: Some("7010".into()),
        country: "NO".into(),
        latitude: Some(63.43),
        longitude: Some(10.39),
        ..Default::default()
    };
    let tt = store
        .crm()
        .create_customer(
            &ingrid.scope,
            None,
            &NewCustomer::parse(&company).unwrap(),
            T0,
        )
        .await
        .unwrap();
    assert_eq!(tt.org_number.as_deref(), Some("988077917"));
    let tt = store
        .crm()
        .add_contact(
            &ingrid.scope,
            &tt.id,
            "Per Fleet",
            Some("Fleet manager"),
            None,
            Some("41 00 00 00"),
        )
        .await
        .unwrap();
    assert_eq!(tt.contacts[0].phone.as_deref(), Some("+4741000000"));
    // Versions guard updates.
    let mut edit = person("Kari Testesen", "+47 912 34 568", "NO");
    edit.preferred_channel = "email".into();
    let updated = store
        .crm()
        .update_customer(
            &ingrid.scope,
            &c.id,
            &NewCustomer::parse(&edit).unwrap(),
            c.version,
            T0,
        )
        .await
        .unwrap();
    assert_eq!(updated.phone.as_deref(), Some("+4791234568"));
    assert!(matches!(
        store
            .crm()
            .update_customer(
                &ingrid.scope,
                &c.id,
                &NewCustomer::parse(&edit).unwrap(),
                c.version,
                T0
            )
            .await,
        Err(StoreError::Conflict { .. })
    ));
    // Paging by name, one customer a page, visits everyone once, in order.
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .crm()
            .list_customers(&ingrid.scope, cursor.as_deref(), 3)
            .await
            .unwrap();
        names.extend(page.items.into_iter().map(|c| c.name));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(
        names.contains(&"Kari Testesen".to_string())
            && names.contains(&"Trøndelag Taxi AS".to_string())
    );
}

pub async fn vehicles_are_decoded_owned_and_read(store: &Store) {
    demo::seed(store, T0).await.unwrap();
    let ingrid = caller(store, "ingrid").await;
    let c = store
        .crm()
        .create_customer(
            &ingrid.scope,
            None,
            &NewCustomer::parse(&person("Ola Hansen", "98765432", "NO")).unwrap(),
            T0,
        )
        .await
        .unwrap();
    let input = VehicleInput {
        vin: "lrw3e7fs5pc695355".into(),
        registration: Some("el 12345".into()),
        delivery_date: Some("2023-04-14".into()),
        warranty_version: Some("tesla-eu-3y".into()),
        owner_customer_id: Some(c.id.clone()),
    };
    let v = store
        .crm()
        .create_vehicle(&ingrid.scope, None, &input, T0)
        .await
        .unwrap();
    assert_eq!(v.vin, "LRW3E7FS5PC695355");
    assert_eq!(
        (
            v.brand.as_deref(),
            v.model.as_deref(),
            v.model_year,
            v.plant.as_deref()
        ),
        (Some("Tesla"), Some("Model 3"), Some(2023), Some("Shanghai"))
    );
    assert_eq!(v.registration.as_deref(), Some("EL12345"));
    assert_eq!(v.owners[0].customer_id, c.id);
    assert_eq!(v.check_digit, CheckDigit::Valid);
    // A terms version the brand does not have is named.
    let unknown_terms = VehicleInput {
        vin: "LRW3E7EB6RC123456".into(),
        warranty_version: Some("tesla-eu-2023".into()),
        ..Default::default()
    };
    assert_eq!(
        rules(
            &store
                .crm()
                .create_vehicle(&ingrid.scope, None, &unknown_terms, T0)
                .await
                .unwrap_err()
        ),
        vec![("warranty_version".into(), Rule::Unknown)]
    );
    // The same VIN twice, a wrong check digit for Tesla, bad fields: refused with their rules.
    assert_eq!(
        rules(
            &store
                .crm()
                .create_vehicle(&ingrid.scope, None, &input, T0)
                .await
                .unwrap_err()
        ),
        vec![("vin".into(), Rule::Unique)]
    );
    let bad = VehicleInput {
        vin: "LRW3E7FS1PC695355".into(),
        registration: Some("!!".into()),
        delivery_date: Some("14.04.2023".into()),
        ..Default::default()
    };
    assert_eq!(
        rules(
            &store
                .crm()
                .create_vehicle(&ingrid.scope, None, &bad, T0)
                .await
                .unwrap_err()
        ),
        vec![
            ("vin".into(), Rule::CheckDigit),
            ("registration".into(), Rule::Format),
            ("delivery_date".into(), Rule::Format)
        ]
    );
    // A delivery in the year 3000 is refused, with the field named.
    let future = VehicleInput {
        vin: "LRW3E7FS1PC695355".into(),
        delivery_date: Some("3000-01-01".into()),
        ..Default::default()
    };
    let e = store
        .crm()
        .create_vehicle(&ingrid.scope, None, &future, T0)
        .await
        .unwrap_err();
    assert!(
        rules(&e).contains(&("delivery_date".into(), Rule::NotAllowed)),
        "{:?}",
        rules(&e)
    );
    // An unknown manufacturer's mismatch is a warning, kept with the vehicle.
    let other = VehicleInput {
        vin: "WVWZZZ1KZ6W000001".into(),
        ..Default::default()
    };
    let w = store
        .crm()
        .create_vehicle(&ingrid.scope, None, &other, T0)
        .await
        .unwrap();
    assert_eq!(
        (w.check_digit, w.brand.as_deref()),
        (CheckDigit::Mismatch, None)
    );
    let decoded = store
        .crm()
        .decode_vin("LPSED3KA1NL075645", 2026)
        .await
        .unwrap();
    assert_eq!(
        (decoded.model.as_deref(), decoded.model_year),
        (Some("Polestar 2"), Some(2022))
    );

    // Odometer never goes backwards without a recorded reason.
    let v = store
        .crm()
        .record_odometer(&ingrid.scope, &v.id, 12_500, "service visit", None, T0)
        .await
        .unwrap();
    assert_eq!(v.odometer[0].km, 12_500);
    let e = store
        .crm()
        .record_odometer(&ingrid.scope, &v.id, 1_250, "service visit", None, T0)
        .await
        .unwrap_err();
    assert_eq!(rules(&e), vec![("reason".into(), Rule::Required)]);
    let v = store
        .crm()
        .record_odometer(
            &ingrid.scope,
            &v.id,
            1_250,
            "service visit",
            Some("Instrument cluster replaced under warranty"),
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        v.odometer[0].reason.as_deref(),
        Some("Instrument cluster replaced under warranty")
    );

    // A sale: the new owner from a date, the old ownership ends the day before.
    let buyer = store
        .crm()
        .create_customer(
            &ingrid.scope,
            None,
            &NewCustomer::parse(&person("Siri Berg", "41234567", "NO")).unwrap(),
            T0,
        )
        .await
        .unwrap();
    let e = store
        .crm()
        .transfer_vehicle(&ingrid.scope, &v.id, &buyer.id, "2023-01-01", T0)
        .await
        .unwrap_err();
    assert_eq!(rules(&e), vec![("from_date".into(), Rule::NotAllowed)]);
    let v = store
        .crm()
        .transfer_vehicle(&ingrid.scope, &v.id, &buyer.id, "2025-06-01", T0)
        .await
        .unwrap();
    assert_eq!(v.owners.len(), 2);
    assert_eq!(
        (
            v.owners[0].customer_id.as_str(),
            v.owners[0].to_date.as_deref()
        ),
        (buyer.id.as_str(), None)
    );
    assert_eq!(v.owners[1].to_date.as_deref(), Some("2025-05-31"));
    assert_eq!(
        store
            .crm()
            .vehicles_of(&ingrid.scope, &c.id)
            .await
            .unwrap()
            .len(),
        1,
        "the history stays with the first owner too"
    );
    // Another market cannot see the car.
    let marta = caller(store, "marta").await;
    assert!(matches!(
        store.crm().get_vehicle(&marta.scope, &v.id).await,
        Err(StoreError::NotFound)
    ));
    let timeline = store
        .crm()
        .vehicle_timeline(&ingrid.scope, &v.id)
        .await
        .unwrap();
    let kinds: Vec<&str> = timeline.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec!["ownership", "odometer", "odometer", "vehicle-added"]
    );
}

pub async fn consents_decide_what_may_be_sent(store: &Store) {
    demo::seed(store, T0).await.unwrap();
    let joao = caller(store, "joao").await;
    let mut input = person("João Silva Ferreira", "912 345 678", "PT");
    input.nif = Some("123456789".into());
    let c = store
        .crm()
        .create_customer(&joao.scope, None, &NewCustomer::parse(&input).unwrap(), T0)
        .await
        .unwrap();
    assert_eq!(c.phone.as_deref(), Some("+351912345678"));
    // Service messages need no marketing consent; marketing needs one.
    assert!(store
        .crm()
        .may_contact(&joao.scope, &c.id, Purpose::Service, Channel::Sms)
        .await
        .unwrap());
    assert!(!store
        .crm()
        .may_contact(&joao.scope, &c.id, Purpose::Marketing, Channel::Email)
        .await
        .unwrap());
    let give = ConsentInput {
        purpose: "marketing".into(),
        channel: "email".into(),
        granted: true,
        source: "workshop counter".into(),
        wording: "Aceito receber novidades da Polestar por e-mail.".into(),
    };
    store
        .crm()
        .record_consent(&joao.scope, &c.id, &give, T0)
        .await
        .unwrap();
    assert!(store
        .crm()
        .may_contact(&joao.scope, &c.id, Purpose::Marketing, Channel::Email)
        .await
        .unwrap());
    assert!(
        !store
            .crm()
            .may_contact(&joao.scope, &c.id, Purpose::Marketing, Channel::Sms)
            .await
            .unwrap(),
        "per channel"
    );
    let withdraw = ConsentInput {
        granted: false,
        source: "phone call".into(),
        wording: "Customer asked to stop marketing e-mails.".into(),
        ..give.clone()
    };
    store
        .crm()
        .record_consent(&joao.scope, &c.id, &withdraw, T0 + time::Duration::days(3))
        .await
        .unwrap();
    assert!(!store
        .crm()
        .may_contact(&joao.scope, &c.id, Purpose::Marketing, Channel::Email)
        .await
        .unwrap());
    let history = store.crm().consents(&joao.scope, &c.id).await.unwrap();
    assert_eq!(
        history.len(),
        2,
        "the history is proof: nothing is overwritten"
    );
    assert_eq!(
        (history[0].granted, history[0].source.as_str()),
        (false, "phone call")
    );
    // Refusing service SMS stops them too.
    let no_sms = ConsentInput {
        purpose: "service".into(),
        channel: "sms".into(),
        granted: false,
        source: "phone call".into(),
        wording: "Prefers no SMS at all.".into(),
    };
    store
        .crm()
        .record_consent(&joao.scope, &c.id, &no_sms, T0)
        .await
        .unwrap();
    assert!(!store
        .crm()
        .may_contact(&joao.scope, &c.id, Purpose::Service, Channel::Sms)
        .await
        .unwrap());
    let bad = ConsentInput {
        purpose: "spam".into(),
        channel: "fax".into(),
        granted: true,
        source: "".into(),
        wording: "ok".into(),
    };
    assert_eq!(
        rules(
            &store
                .crm()
                .record_consent(&joao.scope, &c.id, &bad, T0)
                .await
                .unwrap_err()
        ),
        vec![
            ("purpose".into(), Rule::OneOf),
            ("channel".into(), Rule::OneOf),
            ("source".into(), Rule::Required),
            ("wording".into(), Rule::TooShort)
        ]
    );
}

pub async fn search_finds_by_every_handle_within_reach(store: &Store) {
    demo::seed(store, T0).await.unwrap();
    let ingrid = caller(store, "ingrid").await;
    let c = store
        .crm()
        .create_customer(
            &ingrid.scope,
            None,
            &NewCustomer::parse(&person("Ingeborg Øyen", "+47 934 00 789", "NO")).unwrap(),
            T0,
        )
        .await
        .unwrap();
    let v = VehicleInput {
        vin: "XP7YGCEL9RB123456".into(),
        registration: Some("EV 98765".into()),
        owner_customer_id: Some(c.id.clone()),
        ..Default::default()
    };
    let v = store
        .crm()
        .create_vehicle(&ingrid.scope, None, &v, T0)
        .await
        .unwrap();
    let joao = caller(store, "joao").await;
    let pc = store
        .crm()
        .create_customer(
            &joao.scope,
            None,
            &NewCustomer::parse(&person("Iolanda Rosário", "961 111 222", "PT")).unwrap(),
            T0,
        )
        .await
        .unwrap();
    let find = |who: Caller, q: &'static str| {
        let store = store.clone();
        async move {
            store
                .crm()
                .search_crm(&who.scope, q, 20)
                .await
                .unwrap()
                .into_iter()
                .map(|h| h.id)
                .collect::<Vec<_>>()
        }
    };
    for q in [
        "ingeb",
        "oyen",
        "Øyen Ingeborg",
        "93400",
        "4793400789",
        "ingeborg@example",
        "123456",
        "XP7YGCEL9RB123456",
        "ev98765",
        "EV 987",
    ] {
        let hits = find(ingrid.clone(), q).await;
        assert!(
            hits.contains(&c.id) || hits.contains(&v.id),
            "{q:?} found nothing"
        );
    }
    assert_eq!(
        find(ingrid.clone(), "123456").await,
        vec![v.id.clone()],
        "last six of the VIN"
    );
    assert!(
        find(ingrid.clone(), "iolanda").await.is_empty(),
        "Polestar's customers are not Tesla's to find"
    );
    assert_eq!(
        find(joao.clone(), "rosario").await,
        vec![pc.id.clone()],
        "diacritics do not matter"
    );
    assert!(find(joao.clone(), "ingeborg").await.is_empty());
    assert!(
        store
            .crm()
            .search_crm(&ingrid.scope, "*:&|!()", 20)
            .await
            .unwrap()
            .is_empty(),
        "query syntax is not passed through"
    );
}

pub async fn timeline_and_gdpr_export_and_erasure(store: &Store) {
    demo::seed(store, T0).await.unwrap();
    let ingrid = caller(store, "ingrid").await;
    let c = store
        .crm()
        .create_customer(
            &ingrid.scope,
            None,
            &NewCustomer::parse(&person("Berit Lie", "95555555", "NO")).unwrap(),
            T0,
        )
        .await
        .unwrap();
    let v = store
        .crm()
        .create_vehicle(
            &ingrid.scope,
            None,
            &VehicleInput {
                vin: "5YJSA7E23PF123456".into(),
                owner_customer_id: Some(c.id.clone()),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap();
    let call = TimelineInput {
        kind: "call".into(),
        summary: "Asked about a rattle from the rear".into(),
        body: Some("Berit lives at Byåsen, call after 16".into()),
        vehicle_id: Some(v.id.clone()),
    };
    store
        .crm()
        .add_timeline_entry(&ingrid.scope, &c.id, &call, T0 + time::Duration::minutes(5))
        .await
        .unwrap();
    let bad = TimelineInput {
        kind: "telepathy".into(),
        summary: "x".into(),
        body: None,
        vehicle_id: Some("nope".into()),
    };
    assert_eq!(
        rules(
            &store
                .crm()
                .add_timeline_entry(&ingrid.scope, &c.id, &bad, T0)
                .await
                .unwrap_err()
        ),
        vec![
            ("kind".into(), Rule::OneOf),
            ("summary".into(), Rule::TooShort),
            ("vehicle_id".into(), Rule::Unknown)
        ]
    );
    let t = store
        .crm()
        .customer_timeline(&ingrid.scope, &c.id)
        .await
        .unwrap();
    assert_eq!(
        t.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        vec!["call", "vehicle-added", "customer-created"]
    );
    assert_eq!(t[0].actor.as_deref(), Some("Ingrid Solberg"));

    let export = store
        .gdpr()
        .export_customer(&ingrid.scope, &c.id, T0)
        .await
        .unwrap();
    assert_eq!(export["customer"]["name"], "Berit Lie");
    assert_eq!(export["vehicles"][0]["vin"], "5YJSA7E23PF123456");
    assert_eq!(export["timeline"].as_array().unwrap().len(), 3);

    let erased = store
        .gdpr()
        .erase_customer(&ingrid.scope, &c.id, T0 + time::Duration::days(1))
        .await
        .unwrap();
    assert!(erased.name.starts_with("— ") && erased.erased_at.is_some());
    assert!(erased.phone.is_none() && erased.email.is_none() && erased.city.is_none());
    assert!(store
        .crm()
        .search_crm(&ingrid.scope, "berit", 10)
        .await
        .unwrap()
        .is_empty());
    // The vehicle keeps its history; notes lose their free text.
    let v = store.crm().get_vehicle(&ingrid.scope, &v.id).await.unwrap();
    assert_eq!(v.owners[0].customer_id, c.id);
    let t = store
        .crm()
        .customer_timeline(&ingrid.scope, &c.id)
        .await
        .unwrap();
    assert_eq!(t[0].kind, "erased");
    assert!(t.iter().all(|e| e.body.is_none()));
    assert!(!store
        .crm()
        .may_contact(&ingrid.scope, &c.id, Purpose::Service, Channel::Email)
        .await
        .unwrap());
    let again = NewCustomer::parse(&person("Berit Lie", "95555555", "NO")).unwrap();
    assert!(matches!(
        store
            .crm()
            .update_customer(&ingrid.scope, &c.id, &again, erased.version, T0)
            .await,
        Err(StoreError::Invalid(_))
    ));
}
