//! Demo service reminders: each brand's maintenance schedule and each market's periodic
//! inspection as data, service history that spreads the next due dates over the coming weeks,
//! and a planned seasonal campaign per market.

use time::{Duration, OffsetDateTime};

use crate::db::Store;
use crate::error::StoreError;
use crate::micros;

type Schedule<'a> = (
    &'a str,
    &'a str,
    &'a str,
    [&'a str; 3],
    (i64, i64, Option<i64>, Option<i64>, Option<i64>),
    Option<&'a str>,
);

pub(super) async fn seed_reminders(
    store: &Store,
    org: &dyn Fn(&str) -> String,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let schedules: [Schedule; 5] = [
        (
            "tesla-hq",
            "annual-service",
            "service",
            ["Årlig service", "Annual service", "Revisão anual"],
            (12, 12, Some(20_000), None, None),
            Some("SRV-ANNUAL"),
        ),
        (
            "tesla-hq",
            "cabin-filter",
            "service",
            [
                "Bytte av kupéfilter",
                "Cabin air filter replacement",
                "Substituição do filtro do habitáculo",
            ],
            (24, 24, None, None, None),
            Some("CABIN-FILTER"),
        ),
        (
            "polestar-hq",
            "service",
            "service",
            ["Service", "Service", "Revisão"],
            (24, 24, Some(30_000), None, None),
            Some("PS-REVISAO"),
        ),
        (
            "tesla-no",
            "eu-kontroll",
            "inspection",
            [
                "EU-kontroll",
                "Periodic roadworthiness test (EU-kontroll)",
                "Inspeção periódica (EU-kontroll)",
            ],
            (48, 24, None, None, None),
            None,
        ),
        (
            "polestar-pt",
            "ipo",
            "inspection",
            [
                "Periodisk kontroll (IPO)",
                "Periodic inspection (IPO)",
                "Inspeção periódica obrigatória (IPO)",
            ],
            (48, 24, None, Some(96), Some(12)),
            None,
        ),
    ];
    let mut ids = Vec::new();
    for (owner, code, kind, names, (first, every, km, later_from, later_every), op) in schedules {
        let id = crate::new_id();
        sqlx::query(
            "INSERT INTO service_schedules (id, organisation_id, code, kind, model, name_nb, name_en, name_pt, first_months, every_months, \
             every_km, later_from_months, later_every_months, operation_code, remind_days, updated_at) \
             VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8, $9, $10, $11, $12, $13, 30, $14)",
        )
        .bind(&id)
        .bind(org(owner))
        .bind(code)
        .bind(kind)
        .bind(names[0])
        .bind(names[1])
        .bind(names[2])
        .bind(first)
        .bind(every)
        .bind(km)
        .bind(later_from)
        .bind(later_every)
        .bind(op)
        .bind(micros(now))
        .execute(&store.pool)
        .await?;
        ids.push((owner, code, id));
    }
    let schedule = |owner: &str, code: &str| {
        ids.iter()
            .find(|(o, c, _)| *o == owner && *c == code)
            .map(|(_, _, id)| id.clone())
            .unwrap_or_default()
    };
    // Service history: the last annual service and cabin filter (Tesla) or service (Polestar) a
    // year or two ago, so that the next fall due over the coming weeks, one car after the other.
    for (market, owner, code, months, first) in [
        ("tesla-no", "tesla-hq", "annual-service", 12_u32, -6_i64),
        ("tesla-no", "tesla-hq", "cabin-filter", 24, 20),
        ("polestar-pt", "polestar-hq", "service", 24, -6),
    ] {
        let vehicles: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT id, delivery_date FROM vehicles WHERE organisation_id = $1 ORDER BY created_at, id",
        )
        .bind(org(market))
        .fetch_all(&store.pool)
        .await?;
        for (i, (vehicle, delivered)) in vehicles.into_iter().enumerate() {
            let due = now.date() + Duration::days(9 * i as i64 + first);
            let done = aftersales_domain::reminders::sub_months(due, months);
            let delivered = delivered
                .as_deref()
                .and_then(|d| crate::crm::parse_date("delivery_date", d).ok());
            if delivered.is_none_or(|d| d >= done) {
                continue;
            }
            let km: Option<i64> =
                sqlx::query_scalar("SELECT MAX(km) FROM odometer_readings WHERE vehicle_id = $1")
                    .bind(&vehicle)
                    .fetch_one(&store.pool)
                    .await?;
            sqlx::query(
                "INSERT INTO maintenance_records (id, vehicle_id, schedule_id, done_on, km, recorded_by, at) VALUES ($1, $2, $3, $4, $5, NULL, $6)",
            )
            .bind(crate::new_id())
            .bind(&vehicle)
            .bind(schedule(owner, code))
            .bind(crate::billing::format_date(done))
            .bind(km.map(|k| (k - 4_000).max(0)))
            .bind(micros(now))
            .execute(&store.pool)
            .await?;
        }
    }
    // A seasonal campaign per market, planned for next week.
    for (owner, titles, messages, models) in [
        (
            "tesla-no",
            [
                "Vinterklar: gratis dekk- og batterisjekk",
                "Winter ready: free tyre and battery check",
                "Pronto para o inverno: verificação gratuita de pneus e bateria",
            ],
            [
                "Før juletrafikken sjekker vi mønsterdybde, dekktrykk og 12V-batteriet gratis. Ta gjerne med sommerhjulene til dekkhotellet.",
                "Before the Christmas traffic we check tread depth, tyre pressure and the 12V battery for free. Bring your summer wheels for the tyre hotel.",
                "Antes do trânsito do Natal verificamos gratuitamente o piso, a pressão dos pneus e a bateria de 12V.",
            ],
            "",
        ),
        (
            "polestar-pt",
            [
                "Campanha de inverno: pneus e travões",
                "Winter campaign: tyres and brakes",
                "Vinterkampanje: dekk og bremser",
            ],
            [
                "Verificação gratuita de pneus e travões nas oficinas de Lisboa, Porto e Braga até ao fim do mês.",
                "Free tyre and brake check at the Lisboa, Porto and Braga workshops until the end of the month.",
                "Gratis sjekk av dekk og bremser på verkstedene i Lisboa, Porto og Braga ut måneden.",
            ],
            "",
        ),
    ] {
        // Titles and messages are given in the market's language first; stored per language.
        let (t, m) = if owner == "polestar-pt" {
            ([titles[2], titles[1], titles[0]], [messages[2], messages[1], messages[0]])
        } else {
            (titles, messages)
        };
        sqlx::query(
            "INSERT INTO campaigns (id, organisation_id, title_nb, title_en, title_pt, message_nb, message_en, message_pt, models, \
             send_on, status, messages, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'planned', 0, NULL, $11)",
        )
        .bind(crate::new_id())
        .bind(org(owner))
        .bind(t[0])
        .bind(t[1])
        .bind(t[2])
        .bind(m[0])
        .bind(m[1])
        .bind(m[2])
        .bind(models)
        .bind(crate::billing::format_date(now.date() + Duration::days(7)))
        .bind(micros(now))
        .execute(&store.pool)
        .await?;
    }
    Ok(())
}
