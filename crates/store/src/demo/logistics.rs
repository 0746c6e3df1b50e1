//! Demo logistics: what Trondheim and Lisboa plan with (the service point on the map, loaners,
//! wash bays, drivers' hours: `seed_logistics`, part of the fixture), and a real day of pickups and
//! deliveries around repair orders in each (`seed_logistics_day`, the binary's demo): customers
//! across the city, windows from now to the evening, loaners and washes, planned once through
//! `replan` as an advisor would; the first loaner pickup already handed over at the door.

use aftersales_domain::logistics::JobKind;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, Time};

use crate::crm::{CustomerInput, NewCustomer};
use crate::db::Store;
use crate::error::StoreError;
use crate::logistics::{Budget, JobStatusInput, PhotoInput, TransportJobInput};
use crate::workshop::RepairOrderInput;
use crate::{micros, new_id};

struct Site {
    key: &'static str,
    /// The service point on the map.
    depot: (f64, f64),
    loaners: &'static [(&'static str, &'static str, i64)],
    bays: &'static [&'static str],
    /// Drivers' hours, every day of the week.
    drivers: &'static [(&'static str, &'static str, &'static str)],
}

const SITES: [Site; 2] = [
    Site {
        key: "tesla-trd",
        depot: (63.4318, 10.4412),
        loaners: &[
            ("EL 12345", "Model 3", 380),
            ("EL 23456", "Model 3", 300),
            ("EL 34567", "Model Y", 420),
            ("EL 45678", "Model Y", 150),
            ("EL 56789", "Model S", 480),
            ("EL 67890", "Model Y", 60),
        ],
        bays: &["Vaskehall 1", "Vaskehall 2"],
        drivers: &[
            ("mats", "07:00", "15:30"),
            ("jonas", "08:00", "16:30"),
            ("eirik", "11:00", "19:30"),
            ("hanne", "13:00", "21:30"),
        ],
    },
    Site {
        key: "ws-lisboa",
        depot: (38.7436, -9.1602),
        loaners: &[
            ("AA-11-BB", "Polestar 2", 350),
            ("CC-22-DD", "Polestar 2", 280),
        ],
        bays: &["Lavagem"],
        drivers: &[("tiago", "08:00", "16:30"), ("ricardo", "12:00", "20:30")],
    },
];

/// The fixture's logistics set-up, written directly (operator data, as the VIN table is).
pub(super) async fn seed_logistics(
    store: &Store,
    org: &dyn Fn(&str) -> String,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for site in &SITES {
        let sp = org(site.key);
        sqlx::query(
            "INSERT INTO logistics_settings (organisation_id, latitude_e6, longitude_e6, updated_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&sp)
        .bind((site.depot.0 * 1e6).round() as i64)
        .bind((site.depot.1 * 1e6).round() as i64)
        .bind(micros(now))
        .execute(&store.pool)
        .await?;
        for (plate, model, range) in site.loaners {
            sqlx::query(
                "INSERT INTO loaners (id, organisation_id, plate, model, range_km, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(new_id())
            .bind(&sp)
            .bind(plate)
            .bind(model)
            .bind(range)
            .bind(micros(now))
            .execute(&store.pool)
            .await?;
        }
        for name in site.bays {
            sqlx::query(
                "INSERT INTO wash_bays (id, organisation_id, name, minutes_per_car, opens, closes, created_at) \
                 VALUES ($1, $2, $3, 25, '07:00', '21:00', $4)",
            )
            .bind(new_id())
            .bind(&sp)
            .bind(name)
            .bind(micros(now))
            .execute(&store.pool)
            .await?;
        }
        for (username, starts, ends) in site.drivers {
            let user: String = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
                .bind(username)
                .fetch_one(&store.pool)
                .await?;
            for weekday in 0..7_i64 {
                sqlx::query(
                    "INSERT INTO driver_shifts (id, user_id, organisation_id, weekday, starts, ends) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(new_id())
                .bind(&user)
                .bind(&sp)
                .bind(weekday)
                .bind(starts)
                .bind(ends)
                .execute(&store.pool)
                .await?;
            }
        }
    }
    Ok(())
}

/// One market's day: the advisor, the customers' streets and where they lie.
struct DayPlan {
    key: &'static str,
    advisor: &'static str,
    customers: usize,
    names: &'static [&'static str],
    streets: &'static [&'static str],
    city: &'static str,
    postal: &'static str,
    country: &'static str,
    lang: &'static str,
    phone_prefix: &'static str,
    /// Latitude and longitude half-spans around the depot.
    spread: (f64, f64),
    complaint: &'static str,
}

const DAYS: [DayPlan; 2] = [
    DayPlan {
        key: "tesla-trd",
        advisor: "ingrid",
        customers: 20,
        names: &[
            "Astrid Berg",
            "Bjørn Haugen",
            "Camilla Eide",
            "Daniel Moen",
            "Elin Strand",
            "Fredrik Lie",
            "Guro Bakke",
            "Henrik Sæther",
            "Ida Lunde",
            "Jon Aune",
            "Kristin Foss",
            "Lars Bråten",
            "Marit Holm",
            "Nils Rønning",
            "Oda Vik",
            "Per Ness",
            "Randi Myhre",
            "Sigurd Dahl",
            "Tone Lien",
            "Vegard Hoel",
        ],
        streets: &[
            "Kongens gate",
            "Innherredsveien",
            "Byåsveien",
            "Bromstadveien",
            "Jonsvannsveien",
            "Lade allé",
            "Østre Rosten",
            "Klæbuveien",
            "Elgeseter gate",
            "Tungasletta",
        ],
        city: "Trondheim",
        postal: "7030",
        country: "NO",
        lang: "nb",
        phone_prefix: "+47 9",
        spread: (0.045, 0.11),
        complaint: "Service med henting og levering",
    },
    DayPlan {
        key: "ws-lisboa",
        advisor: "joao",
        customers: 7,
        names: &[
            "Beatriz Almeida",
            "Carlos Pereira",
            "Diana Rodrigues",
            "Eduardo Nunes",
            "Filipa Gomes",
            "Gonçalo Ribeiro",
            "Helena Carvalho",
        ],
        streets: &[
            "Avenida da Liberdade",
            "Rua Augusta",
            "Avenida de Roma",
            "Rua de Benfica",
            "Avenida da Igreja",
        ],
        city: "Lisboa",
        postal: "1250-096",
        country: "PT",
        lang: "pt",
        phone_prefix: "+351 91",
        spread: (0.03, 0.05),
        complaint: "Revisão com recolha e entrega",
    },
];

/// A day of pickups and deliveries at each service point, planned once. Windows run from the next
/// half hour to the evening; when little of today is left, the day is tomorrow.
pub(super) async fn seed_logistics_day(
    store: &Store,
    org: &dyn Fn(&str) -> String,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for plan in &DAYS {
        let user: String = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(plan.advisor)
            .fetch_one(&store.pool)
            .await?;
        let scope = store.scope_of(&user).await?;
        let sp = org(plan.key);
        let zone = store.org().zone_of(&sp).await?;
        let settings = store
            .logistics()
            .settings_of(&sp)
            .await?
            .ok_or(StoreError::NotFound)?;
        let local = zone.local(now);
        let (date, first_hour) = if local.hour() < 16 {
            (local.date(), f64::from(local.hour()) + 1.0)
        } else {
            (local.date() + Duration::days(1), 7.5)
        };
        let first_hour = first_hour.max(7.5);
        let last_hour = 19.0_f64;
        let span = (last_hour - first_hour).max(2.0);
        let at_hour = |h: f64| {
            let minutes = (h * 60.0).round() as i64;
            let t = Time::from_hms(
                u8::try_from(minutes / 60).unwrap_or(23),
                u8::try_from(minutes % 60).unwrap_or(0),
                0,
            )
            .unwrap_or(Time::MIDNIGHT);
            zone.instant(date.with_time(t))
        };
        let budget = |minimal| Budget {
            time: std::time::Duration::from_millis(800),
            seed: 1,
            minimal,
        };
        let mut loaners: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM loaners WHERE organisation_id = $1 AND range_km >= 200 ORDER BY plate",
        )
        .bind(&sp)
        .fetch_all(&store.pool)
        .await?;
        // A small deterministic scatter of the customers around the service point.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 10_000) as f64 / 10_000.0
        };
        // Yesterday a loaner went out with a pickup: that car is in the workshop, the loaner (the last
        // of the fleet) with its customer, and the hand-over kept with the repair order.
        let note = if plan.lang == "pt" {
            "Risco na porta traseira direita, visto com o cliente."
        } else {
            "Riper på bakre høyre dør, vist til kunden."
        };
        if let Some(out) = loaners.pop() {
            let yesterday = local.date() - Duration::days(1);
            let at = |h: u8, m: u8| {
                zone.instant(yesterday.with_time(Time::from_hms(h, m, 0).unwrap_or(Time::MIDNIGHT)))
            };
            let before = at(7, 0);
            let name = if plan.lang == "pt" {
                "Inês Carvalho"
            } else {
                "Kjersti Wold"
            };
            let place = (
                settings.latitude + 0.4 * plan.spread.0,
                settings.longitude - 0.3 * plan.spread.1,
            );
            let ro = order(
                store,
                &scope,
                &sp,
                plan,
                name,
                plan.customers,
                place,
                before,
            )
            .await?;
            let job = store
                .logistics()
                .add_job(
                    &scope,
                    &TransportJobInput {
                        repair_order_id: ro.clone(),
                        kind: JobKind::Pickup.as_str().into(),
                        window_from: at(8, 30).format(&Rfc3339).unwrap_or_default(),
                        window_to: at(10, 0).format(&Rfc3339).unwrap_or_default(),
                        loaner_id: Some(out),
                        ..Default::default()
                    },
                    before,
                )
                .await?;
            store
                .logistics()
                .replan(&scope, &sp, yesterday, budget(false), before)
                .await?;
            handed_over(store, &job.id, note, at(8, 15)).await?;
            // What the customer was told yesterday went out yesterday.
            sqlx::query(
                "UPDATE outbox SET status = 'sent', sent_at = not_before, attempts = 1 \
                 WHERE repair_order_id = $1 AND status = 'pending'",
            )
            .bind(&ro)
            .execute(&store.pool)
            .await?;
            store
                .logistics()
                .replan(&scope, &sp, yesterday, budget(true), at(8, 40))
                .await?;
        }
        for i in 0..plan.customers {
            let name = plan.names[i % plan.names.len()];
            let lat = settings.latitude + (next() * 2.0 - 1.0) * plan.spread.0;
            let lon = settings.longitude + (next() * 2.0 - 1.0) * plan.spread.1;
            let ro = order(store, &scope, &sp, plan, name, i, (lat, lon), now).await?;
            // Pickups in the first part of the day, the car back some hours later.
            let share = i as f64 / plan.customers as f64;
            let pick = first_hour + share * span * 0.6;
            let back = (pick + 3.5 + next() * 2.0).min(last_hour);
            // The workshop expects the car ready two hours after the pickup window closes.
            store
                .workshop()
                .set_eta(&scope, &ro, Some(at_hour((pick + 3.0).min(20.0))), now)
                .await?;
            let loaner = (i % 3 == 0).then(|| loaners.get(i / 3).cloned()).flatten();
            for (kind, from) in [(JobKind::Pickup, pick), (JobKind::Delivery, back)] {
                let length = if i % 2 == 0 { 1.0 } else { 2.0 };
                let fmt = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
                store
                    .logistics()
                    .add_job(
                        &scope,
                        &TransportJobInput {
                            repair_order_id: ro.clone(),
                            kind: kind.as_str().into(),
                            window_from: fmt(at_hour(from)),
                            window_to: fmt(at_hour((from + length).min(21.0))),
                            loaner_id: loaner.clone(),
                            clean: kind == JobKind::Delivery && i % 2 == 1,
                            ..Default::default()
                        },
                        now,
                    )
                    .await?;
            }
        }
        store
            .logistics()
            .replan(&scope, &sp, date, budget(false), now)
            .await?;
    }
    Ok(())
}

/// A demo customer living at `place` with a repair order at the service point; answers the order.
#[allow(clippy::too_many_arguments)]
async fn order(
    store: &Store,
    scope: &crate::scope::Scope,
    sp: &str,
    plan: &DayPlan,
    name: &str,
    i: usize,
    place: (f64, f64),
    now: OffsetDateTime,
) -> Result<String, StoreError> {
    let input = CustomerInput {
        kind: "person".into(),
        name: name.into(),
        phone: Some(format!("{}{:07}", plan.phone_prefix, 1_234_567 + 7_919 * i)),
        language: plan.lang.into(),
        preferred_channel: "sms".into(),
        street: Some(format!(
            "{} {}",
            plan.streets[i % plan.streets.len()],
            3 + 7 * i
        )),
        postal_code: Some(plan.postal.into()),
        city: Some(plan.city.into()),
        country: plan.country.into(),
        latitude: Some((place.0 * 1e6).round() / 1e6),
        longitude: Some((place.1 * 1e6).round() / 1e6),
        ..Default::default()
    };
    let new = NewCustomer::parse(&input)?;
    let customer = store
        .crm()
        .create_customer(scope, Some(sp), &new, now)
        .await?;
    let ro = store
        .workshop()
        .create_repair_order(
            scope,
            &RepairOrderInput {
                organisation_id: sp.to_string(),
                customer_id: customer.id,
                complaint: plan.complaint.into(),
                ..Default::default()
            },
            now,
        )
        .await?;
    Ok(ro.id)
}

/// A driver's hand-over of a pickup with a loaner, pressed step by step on the run sheet.
async fn handed_over(
    store: &Store,
    job: &str,
    note: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    use base64::Engine;
    let driver: Option<String> =
        sqlx::query_scalar("SELECT driver_id FROM plan_entries WHERE job_id = $1")
            .bind(job)
            .fetch_optional(&store.pool)
            .await?
            .flatten();
    let Some(driver) = driver else {
        return Ok(());
    };
    let scope = store.scope_of(&driver).await?;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let customer: String = sqlx::query_scalar(
        "SELECT c.name FROM transport_jobs j JOIN repair_orders r ON r.id = j.repair_order_id \
         JOIN customers c ON c.id = r.customer_id WHERE j.id = $1",
    )
    .bind(job)
    .fetch_one(&store.pool)
    .await?;
    let lg = store.logistics();
    for (status, minutes) in [("on-the-way", 0), ("arrived", 12)] {
        lg.set_job_status(
            &scope,
            job,
            &JobStatusInput {
                status: status.into(),
                ..Default::default()
            },
            now + Duration::minutes(minutes),
        )
        .await?;
    }
    lg.set_job_status(
        &scope,
        job,
        &JobStatusInput {
            status: "done".into(),
            odometer_km: Some(38_412),
            charge_pct: Some(46),
            note: Some(note.into()),
            loaner_odometer_km: Some(12_806),
            loaner_charge_pct: Some(92),
            loaner_range_km: Some(385),
            photos: vec![PhotoInput {
                car: "customer".into(),
                data: b64(include_bytes!("handover-photo.png")),
            }],
            signer_name: Some(customer),
            signature_png: Some(b64(include_bytes!("signature.png"))),
            ..Default::default()
        },
        now + Duration::minutes(20),
    )
    .await?;
    Ok(())
}
