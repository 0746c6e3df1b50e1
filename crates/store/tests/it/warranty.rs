//! Warranty coverage on both engines: the published terms a brand starts with decide a demo
//! Polestar 2's coverage at two and a half years (the car's warranty over, the battery's running),
//! battery readings move the capacity verdict, bad readings are named, and another brand's market
//! sees nothing.

use crate::workshop::caller;
use aftersales_store::warranty::BatteryReadingInput;
use aftersales_store::{demo, Store, StoreError};
use time::macros::datetime;
use time::{Date, Duration};

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
