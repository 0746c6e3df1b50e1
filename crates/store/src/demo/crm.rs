//! Demo customers and vehicles in both markets, with real check digits (VIN, NIF).

use super::*;

/// A VIN with a correct check digit, from a 17-character template whose position 9 is `?`.
pub(super) fn vin(template: &str, serial: u32) -> String {
    let body = format!("{}{serial:06}", &template[..11]);
    let digit = aftersales_domain::crm::vin_check_digit(&body);
    format!("{}{digit}{}", &body[..8], &body[9..])
}

/// A Portuguese NIF with a correct check digit from its first eight digits.
pub(super) fn nif(first8: u32) -> String {
    let d: Vec<u32> = format!("{first8:08}")
        .chars()
        .filter_map(|c| c.to_digit(10))
        .collect();
    let sum: u32 = d.iter().enumerate().map(|(i, a)| a * (9 - i as u32)).sum();
    let r = sum % 11;
    format!("{first8:08}{}", if r < 2 { 0 } else { 11 - r })
}

type CustomerSeed = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    f64,
    f64,
);

const NO_CUSTOMERS: &[CustomerSeed] = &[
    // name, phone, street, postal code, city, latitude, longitude
    (
        "Kari Nordmann",
        "912 34 567",
        "Elgeseter gate 10",
        "7030",
        "Trondheim",
        63.4221,
        10.3951,
    ),
    (
        "Ola Hansen",
        "934 56 789",
        "Byåsveien 120",
        "7020",
        "Trondheim",
        63.4187,
        10.3524,
    ),
    (
        "Siri Berg",
        "415 22 333",
        "Jonsvannsveien 42",
        "7050",
        "Trondheim",
        63.4123,
        10.4410,
    ),
    (
        "Magnus Aune",
        "980 11 223",
        "Ranheimsvegen 5",
        "7053",
        "Ranheim",
        63.4290,
        10.5270,
    ),
    (
        "Ingvild Åsen",
        "952 88 104",
        "Kongens gate 30",
        "7012",
        "Trondheim",
        63.4302,
        10.3925,
    ),
    (
        "Erik Stene",
        "470 33 921",
        "Heimdalsvegen 15",
        "7080",
        "Heimdal",
        63.3521,
        10.3587,
    ),
    (
        "Hanne Moen",
        "994 12 876",
        "Strindvegen 77",
        "7052",
        "Trondheim",
        63.4215,
        10.4305,
    ),
    (
        "Tor Lie",
        "922 45 610",
        "Stjørdalsgata 2",
        "7500",
        "Stjørdal",
        63.4696,
        10.9240,
    ),
    (
        "Nina Dahl",
        "481 90 554",
        "Sjetnveien 9",
        "7081",
        "Sjetnemarka",
        63.3630,
        10.4125,
    ),
    (
        "Per Solli",
        "907 65 432",
        "Lade allé 80",
        "7041",
        "Trondheim",
        63.4440,
        10.4460,
    ),
];

const PT_CUSTOMERS: &[CustomerSeed] = &[
    (
        "Beatriz Quaresma",
        "912 345 678",
        "Avenida da Liberdade 110",
        "1250-146",
        "Lisboa",
        38.7200,
        -9.1450,
    ),
    (
        "Tiago Marques",
        "935 112 009",
        "Rua de Santa Catarina 200",
        "4000-447",
        "Porto",
        41.1480,
        -8.6060,
    ),
    (
        "Inês Ramalho",
        "961 442 118",
        "Avenida da Liberdade 45",
        "4710-251",
        "Braga",
        41.5500,
        -8.4230,
    ),
    (
        "Miguel Costa",
        "917 880 215",
        "Rua Augusta 80",
        "1100-053",
        "Lisboa",
        38.7105,
        -9.1370,
    ),
    (
        "Carolina Sá",
        "926 773 401",
        "Rua do Almada 12",
        "4050-031",
        "Porto",
        41.1470,
        -8.6130,
    ),
    (
        "Rui Matos",
        "968 120 334",
        "Avenida da República 9",
        "1050-185",
        "Lisboa",
        38.7370,
        -9.1450,
    ),
];

pub(super) async fn seed_crm(
    store: &Store,
    tesla_no: &str,
    polestar_pt: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    use crate::crm::{
        add_entry, insert_customer, insert_vehicle, CustomerInput, NewCustomer, NewEntry,
        VehicleRecord,
    };
    let mut tx = store.pool.begin().await?;
    let engine = store.engine();
    let markets = [
        (
            tesla_no,
            "NO",
            "nb",
            NO_CUSTOMERS,
            ["LRW3E7EB?RC", "XP7YGCEL?RB", "5YJSA7E2?PF", "XP7YGCEL?SB"],
        ),
        (
            polestar_pt,
            "PT",
            "pt",
            PT_CUSTOMERS,
            ["LPSED3KA?NL", "LPSED3KA?PL", "7SYEJ3YB?SG", "LPSED3KA?RL"],
        ),
    ];
    for (m, (owner, country, lang, people, vins)) in markets.iter().enumerate() {
        for (i, (name, phone, street, postal, city, lat, lon)) in people.iter().enumerate() {
            let first = name.split(' ').next().unwrap_or("kunde").to_lowercase();
            let input = CustomerInput {
                kind: "person".into(),
                name: (*name).into(),
                nif: (*country == "PT").then(|| nif(23_000_000 + 1_111 * i as u32)),
                email: Some(format!(
                    "{}.{}@example.{}",
                    first,
                    i + 1,
                    country.to_lowercase()
                )),
                phone: Some((*phone).into()),
                language: (*lang).into(),
                preferred_channel: if i % 3 == 0 {
                    "email".into()
                } else {
                    "sms".into()
                },
                street: Some((*street).into()),
                postal_code: Some((*postal).into()),
                city: Some((*city).into()),
                country: (*country).into(),
                latitude: Some(*lat),
                longitude: Some(*lon),
                ..Default::default()
            };
            let new = NewCustomer::parse(&input)?;
            let at = now - time::Duration::days(400 - 30 * i as i64);
            let customer = insert_customer(&mut tx, engine, owner, &new, at).await?;
            add_entry(
                &mut tx,
                NewEntry {
                    organisation_id: owner,
                    customer_id: Some(&customer),
                    vehicle_id: None,
                    kind: "customer-created",
                    summary: String::new(),
                    params: vec![("kind", "person".to_string())],
                    body: None,
                    actor: None,
                },
                at,
            )
            .await?;
            let vin_text = vin(
                vins[i % vins.len()],
                100_000 + 7_919 * (i as u32 + 1) + 50_000 * m as u32,
            );
            let (parsed, check) = aftersales_domain::crm::Vin::parse("vin", &vin_text, |_| true)
                .map_err(aftersales_domain::ValidationErrors::from)?;
            let decoded = store
                .crm()
                .decode_parsed(&parsed, Some(check), now.year() + 1)
                .await?;
            let brand_id: Option<String> = sqlx::query_scalar("SELECT b.id FROM vin_wmis w JOIN brands b ON b.code = w.brand_code WHERE w.wmi = $1")
                .bind(parsed.wmi())
                .fetch_optional(&mut *tx)
                .await?;
            let plate = if *country == "NO" {
                format!("EL{}", 20_000 + 1_337 * i)
            } else {
                format!("{:02}AA{:02}", 10 + i, 40 + i)
            };
            let delivered = decoded.model_year.and_then(|y| {
                time::Date::from_calendar_date(y, time::Month::March, 1 + i as u8).ok()
            });
            let record = VehicleRecord {
                owner_org: owner,
                vin: &parsed,
                check,
                decoded: &decoded,
                brand_id,
                registration: Some(plate),
                delivery: delivered,
                // The terms version is fixed on the vehicle at delivery, as the brand's system gives it.
                warranty: delivered.and_then(|d| {
                    let brand = if *country == "NO" {
                        "tesla"
                    } else {
                        "polestar"
                    };
                    let versions = aftersales_domain::warranty::published_terms(brand);
                    aftersales_domain::warranty::terms_for(&versions, decoded.model.as_deref(), d)
                        .map(|t| t.code.clone())
                }),
                owner_customer: Some((&customer, name)),
                actor: None,
            };
            let vehicle = insert_vehicle(&mut tx, engine, &record, at).await?;
            sqlx::query("INSERT INTO odometer_readings (id, vehicle_id, at, km, source, reason, recorded_by) VALUES ($1, $2, $3, $4, 'service', NULL, NULL)")
                .bind(crate::new_id())
                .bind(&vehicle)
                .bind(micros(now - time::Duration::days(20 + i as i64)))
                .bind(12_000 + 4_321 * i as i64)
                .execute(&mut *tx)
                .await?;
            if i % 2 == 0 {
                sqlx::query(
                    "INSERT INTO consents (id, customer_id, purpose, channel, granted, at, source, wording, recorded_by) \
                     VALUES ($1, $2, 'marketing', 'email', 1, $3, 'delivery handover', $4, NULL)",
                )
                .bind(crate::new_id())
                .bind(&customer)
                .bind(micros(at))
                .bind(if *country == "NO" { "Ja, jeg vil ha nyheter og tilbud på e-post." } else { "Sim, quero receber novidades e ofertas por e-mail." })
                .execute(&mut *tx)
                .await?;
            }
            let (summary, body) = match (country, i % 3) {
                (&"NO", 0) => (
                    "Ringte om knirkelyd fra bakakselen",
                    "Hører det under 30 km/t på humpete vei. Foreslått verkstedtime.",
                ),
                (&"NO", 1) => (
                    "Spurte om vinterdekkskift",
                    "Ønsker henting hjemme og lånebil.",
                ),
                (&"NO", _) => (
                    "Ladekabel-feilmelding etter programvareoppdatering",
                    "Løst med omstart av bilen via telefon.",
                ),
                (_, 0) => (
                    "Ligou por ruído na suspensão dianteira",
                    "Acontece em piso irregular. Proposta marcação na oficina.",
                ),
                (_, 1) => ("Pediu orçamento para revisão", "Prefere recolha em casa."),
                _ => (
                    "Erro no carregamento após atualização",
                    "Resolvido por reinício remoto.",
                ),
            };
            add_entry(
                &mut tx,
                NewEntry {
                    organisation_id: owner,
                    customer_id: Some(&customer),
                    vehicle_id: Some(&vehicle),
                    kind: "call",
                    summary: summary.into(),
                    params: Vec::new(),
                    body: Some(body.into()),
                    actor: None,
                },
                now - time::Duration::days(3 + i as i64),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
