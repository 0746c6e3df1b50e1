//! Demo data that looks real: the Tesla service centre in Trondheim and Polestar Portugal with the
//! importer's workshops, with a user for every role. Used by `aftersales demo` and by tests.

use aftersales_domain::org::OrgKind;
use time::OffsetDateTime;

use crate::auth::hash_password;
use crate::db::Store;
use crate::error::StoreError;
use crate::micros;
use crate::user::NewUser;

/// The password of every demo user; printed when the demo starts.
pub const DEMO_PASSWORD: &str = "aftersales-demo";

#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub username: &'static str,
    pub display_name: &'static str,
    pub role: &'static str,
    pub organisation: &'static str,
}

struct OrgSeed {
    key: &'static str,
    parent: Option<&'static str>,
    kind: OrgKind,
    name: &'static str,
    brand: &'static str,
    market: Option<&'static str>,
    city: &'static str,
}

const ORGS: &[OrgSeed] = &[
    OrgSeed {
        key: "tesla-hq",
        parent: None,
        kind: OrgKind::BrandHq,
        name: "Tesla Service HQ",
        brand: "tesla",
        market: None,
        city: "Austin",
    },
    OrgSeed {
        key: "tesla-no",
        parent: Some("tesla-hq"),
        kind: OrgKind::MarketEntity,
        name: "Tesla Norway AS",
        brand: "tesla",
        market: Some("no"),
        city: "Oslo",
    },
    OrgSeed {
        key: "tesla-trd",
        parent: Some("tesla-no"),
        kind: OrgKind::ServicePoint,
        name: "Tesla Service Centre Trondheim",
        brand: "tesla",
        market: Some("no"),
        city: "Trondheim",
    },
    OrgSeed {
        key: "tesla-care",
        parent: Some("tesla-no"),
        kind: OrgKind::CustomerCareCentre,
        name: "Tesla Customer Care Nordics",
        brand: "tesla",
        market: Some("no"),
        city: "Oslo",
    },
    OrgSeed {
        key: "polestar-hq",
        parent: None,
        kind: OrgKind::BrandHq,
        name: "Polestar Customer Service HQ",
        brand: "polestar",
        market: None,
        city: "Gothenburg",
    },
    OrgSeed {
        key: "polestar-pt",
        parent: Some("polestar-hq"),
        kind: OrgKind::MarketEntity,
        name: "Polestar Portugal",
        brand: "polestar",
        market: Some("pt"),
        city: "Lisboa",
    },
    OrgSeed {
        key: "vcp",
        parent: Some("polestar-pt"),
        kind: OrgKind::Importer,
        name: "Volvo Cars Portugal",
        brand: "polestar",
        market: Some("pt"),
        city: "Lisboa",
    },
    OrgSeed {
        key: "ws-lisboa",
        parent: Some("vcp"),
        kind: OrgKind::ServicePoint,
        name: "Polestar Service Point Lisboa",
        brand: "polestar",
        market: Some("pt"),
        city: "Lisboa",
    },
    OrgSeed {
        key: "ws-porto",
        parent: Some("vcp"),
        kind: OrgKind::ServicePoint,
        name: "Polestar Service Point Porto",
        brand: "polestar",
        market: Some("pt"),
        city: "Porto",
    },
    OrgSeed {
        key: "ws-braga",
        parent: Some("vcp"),
        kind: OrgKind::ServicePoint,
        name: "Polestar Service Point Braga",
        brand: "polestar",
        market: Some("pt"),
        city: "Braga",
    },
];

/// (username, display name, language, e-mail, [(org key, role)])
type UserSeed = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const USERS: &[UserSeed] = &[
    (
        "admin",
        "Platform Administrator",
        "en",
        "it@aftersales.example",
        &[
            ("tesla-hq", "administrator"),
            ("polestar-hq", "administrator"),
        ],
    ),
    (
        "emily",
        "Emily Carter",
        "en",
        "emily.carter@tesla.example",
        &[("tesla-hq", "hq-analyst")],
    ),
    (
        "nora",
        "Nora Aas",
        "nb",
        "nora.aas@tesla.example",
        &[("tesla-no", "administrator")],
    ),
    (
        "ingrid",
        "Ingrid Solberg",
        "nb",
        "ingrid.solberg@tesla.example",
        &[("tesla-trd", "service-advisor")],
    ),
    (
        "lars",
        "Lars Hansen",
        "nb",
        "lars.hansen@tesla.example",
        &[("tesla-trd", "service-advisor")],
    ),
    (
        "kari",
        "Kari Nilsen",
        "nb",
        "kari.nilsen@tesla.example",
        &[("tesla-trd", "service-manager")],
    ),
    (
        "ole",
        "Ole Berg",
        "nb",
        "ole.berg@tesla.example",
        &[("tesla-trd", "technician")],
    ),
    (
        "sindre",
        "Sindre Moe",
        "nb",
        "sindre.moe@tesla.example",
        &[("tesla-trd", "technician")],
    ),
    (
        "mats",
        "Mats Lie",
        "nb",
        "mats.lie@tesla.example",
        &[("tesla-trd", "valet-driver")],
    ),
    (
        "jonas",
        "Jonas Dahl",
        "nb",
        "jonas.dahl@tesla.example",
        &[("tesla-trd", "valet-driver")],
    ),
    (
        "sofie",
        "Sofie Lund",
        "nb",
        "sofie.lund@tesla.example",
        &[("tesla-care", "service-advisor")],
    ),
    (
        "johan",
        "Johan Lindqvist",
        "en",
        "johan.lindqvist@polestar.example",
        &[("polestar-hq", "hq-analyst")],
    ),
    (
        "ana",
        "Ana Ferreira",
        "pt",
        "ana.ferreira@polestar.example",
        &[("polestar-pt", "market-cs-manager")],
    ),
    (
        "rui",
        "Rui Costa",
        "pt",
        "rui.costa@volvocars.example",
        &[("vcp", "importer-staff")],
    ),
    (
        "joao",
        "João Silva",
        "pt",
        "joao.silva@volvocars.example",
        &[("ws-lisboa", "service-advisor")],
    ),
    (
        "marta",
        "Marta Sousa",
        "pt",
        "marta.sousa@volvocars.example",
        &[("ws-porto", "service-manager")],
    ),
    (
        "pedro",
        "Pedro Santos",
        "pt",
        "pedro.santos@volvocars.example",
        &[("ws-braga", "technician")],
    ),
];

fn org_name(key: &str) -> &'static str {
    ORGS.iter()
        .find(|o| o.key == key)
        .map(|o| o.name)
        .unwrap_or("?")
}

/// The logins `seed` creates, one line per role held.
pub fn logins() -> Vec<DemoLogin> {
    USERS
        .iter()
        .flat_map(|(username, name, _, _, roles)| {
            roles.iter().map(move |(org, role)| DemoLogin {
                username,
                display_name: name,
                role,
                organisation: org_name(org),
            })
        })
        .collect()
}

/// Fills an empty, migrated database with the demo organisations and users.
pub async fn seed(store: &Store, now: OffsetDateTime) -> Result<Vec<DemoLogin>, StoreError> {
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organisations")
        .fetch_one(&store.pool)
        .await?;
    if existing > 0 {
        return Err(StoreError::Internal(
            "the database holds organisations already; the demo needs an empty one".into(),
        ));
    }
    let mut tx = store.pool.begin().await?;
    for (id, code, name) in [
        ("brand-tesla", "TESLA", "Tesla"),
        ("brand-polestar", "POLESTAR", "Polestar"),
    ] {
        sqlx::query("INSERT INTO brands (id, code, name) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(code)
            .bind(name)
            .execute(&mut *tx)
            .await?;
    }
    for (id, code, name, currency, tz, langs, vat) in [
        (
            "market-no",
            "NO",
            "Norway",
            "NOK",
            "Europe/Oslo",
            "nb,en",
            "NO-MVA",
        ),
        (
            "market-pt",
            "PT",
            "Portugal",
            "EUR",
            "Europe/Lisbon",
            "pt,en",
            "PT-IVA",
        ),
    ] {
        sqlx::query(
            "INSERT INTO markets (id, code, name, currency, time_zone, languages, vat_regime) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(code)
        .bind(name)
        .bind(currency)
        .bind(tz)
        .bind(langs)
        .bind(vat)
        .execute(&mut *tx)
        .await?;
    }
    let mut ids: Vec<(&str, String)> = Vec::new();
    for o in ORGS {
        let id = crate::new_id();
        let parent = o
            .parent
            .and_then(|p| ids.iter().find(|(k, _)| *k == p).map(|(_, id)| id.clone()));
        sqlx::query(
            "INSERT INTO organisations (id, parent_id, kind, name, brand_id, market_id, city, created_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)",
        )
        .bind(&id)
        .bind(parent)
        .bind(o.kind.as_str())
        .bind(o.name)
        .bind(format!("brand-{}", o.brand))
        .bind(o.market.map(|m| format!("market-{m}")))
        .bind(o.city)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        ids.push((o.key, id));
    }
    tx.commit().await?;

    // One hash for the shared demo password keeps seeding fast; each real user gets their own salt.
    let hash = hash_password(DEMO_PASSWORD).await?;
    for (username, name, lang, email, roles) in USERS {
        let memberships: Vec<(String, String)> = roles
            .iter()
            .filter_map(|(org, role)| {
                ids.iter()
                    .find(|(k, _)| k == org)
                    .map(|(_, id)| (id.clone(), role.to_string()))
            })
            .collect();
        let new = NewUser::parse(
            username,
            name,
            Some(email),
            lang,
            DEMO_PASSWORD,
            &memberships,
        )?;
        store
            .users()
            .insert_user_with_hash(None, &new, &hash, now)
            .await?;
    }
    let org = |key: &str| {
        ids.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, id)| id.clone())
            .unwrap_or_default()
    };
    seed_crm(store, &org("tesla-no"), &org("polestar-pt"), now).await?;
    // Intake channels: the service points take web inquiries and have an inbox address.
    for (key, address) in [
        ("tesla-trd", "service.trondheim@tesla.example"),
        ("tesla-care", "kundeservice@tesla.example"),
        ("ws-lisboa", "lisboa@polestar-service.example"),
        ("ws-porto", "porto@polestar-service.example"),
        ("ws-braga", "braga@polestar-service.example"),
    ] {
        sqlx::query("INSERT INTO inbound_addresses (address, organisation_id) VALUES ($1, $2)")
            .bind(address)
            .bind(org(key))
            .execute(&store.pool)
            .await?;
        sqlx::query("UPDATE organisations SET web_intake = 1 WHERE id = $1")
            .bind(org(key))
            .execute(&store.pool)
            .await?;
    }
    seed_cases(store, &org("tesla-trd"), &org("ws-lisboa"), now).await?;
    seed_knowledge(store, &org("tesla-hq"), &org("polestar-hq"), now).await?;
    seed_workshop(store, &org, now).await?;
    seed_billing(store, &org, now).await?;
    // Working procedures: delivery questions in Norway go to the customer-care centre; technical
    // cases taken in by Polestar Portugal go to the importer's Lisboa workshop.
    for (owner, category, target, targets) in [
        (
            "tesla-no",
            "delivery",
            "tesla-care",
            (Some(120_i64), Some(960_i64)),
        ),
        ("polestar-pt", "technical", "ws-lisboa", (None, None)),
    ] {
        sqlx::query(
            "INSERT INTO routing_rules (id, organisation_id, category, target_organisation_id, first_response_minutes, resolution_minutes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(crate::new_id())
        .bind(org(owner))
        .bind(category)
        .bind(org(target))
        .bind(targets.0)
        .bind(targets.1)
        .bind(micros(now))
        .execute(&store.pool)
        .await?;
    }
    Ok(logins())
}

/// A VIN with a correct check digit, from a 17-character template whose position 9 is `?`.
fn vin(template: &str, serial: u32) -> String {
    let body = format!("{}{serial:06}", &template[..11]);
    let digit = aftersales_domain::crm::vin_check_digit(&body);
    format!("{}{digit}{}", &body[..8], &body[9..])
}

/// A Portuguese NIF with a correct check digit from its first eight digits.
fn nif(first8: u32) -> String {
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

async fn seed_crm(
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
                    summary: "Customer registered".into(),
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
                warranty: Some(if *country == "NO" {
                    "tesla-eu-2023".into()
                } else {
                    "polestar-eu-2022".into()
                }),
                owner_customer: Some((&customer, name)),
                actor: None,
            };
            let vehicle = insert_vehicle(&mut tx, engine, &record, at).await?;
            sqlx::query("INSERT INTO odometer_readings (id, vehicle_id, at, km, source, reason, recorded_by) VALUES ($1, $2, $3, $4, 'service visit', NULL, NULL)")
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

/// A handful of cases in each market: open, waiting, escalated by rule.
async fn seed_cases(
    store: &Store,
    trondheim: &str,
    lisboa: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    use aftersales_domain::cases::{Category, Channel, Priority};
    type Seed<'a> = (
        &'a str,
        &'static str,
        &'static str,
        &'static str,
        Category,
        Priority,
        Channel,
        Option<&'static str>,
        i64,
    );
    let cases: [Seed<'_>; 7] = [
        (
            trondheim,
            "ingrid",
            "Kari Nordmann",
            "Knirkelyd fra bakakselen",
            Category::Technical,
            Priority::Normal,
            Channel::Phone,
            Some("Hører det under 30 km/t på humpete vei."),
            2,
        ),
        (
            trondheim,
            "lars",
            "Ola Hansen",
            "Ønsker vinterdekkskift med henting",
            Category::Maintenance,
            Priority::Low,
            Channel::Email,
            None,
            26,
        ),
        (
            trondheim,
            "ingrid",
            "Magnus Aune",
            "Brent lukt etter lading",
            Category::Technical,
            Priority::High,
            Channel::Phone,
            Some("Kunden kjente brent lukt fra ladeporten i går kveld."),
            1,
        ),
        (
            trondheim,
            "lars",
            "Hanne Moen",
            "Spørsmål om faktura for service",
            Category::Invoice,
            Priority::Normal,
            Channel::Web,
            None,
            50,
        ),
        (
            lisboa,
            "joao",
            "Beatriz Quaresma",
            "Ruído na suspensão dianteira",
            Category::Technical,
            Priority::Normal,
            Channel::Phone,
            Some("Acontece em piso irregular."),
            3,
        ),
        (
            lisboa,
            "joao",
            "Miguel Costa",
            "Marcação de revisão anual",
            Category::Maintenance,
            Priority::Low,
            Channel::Web,
            None,
            30,
        ),
        (
            lisboa,
            "joao",
            "Rui Matos",
            "Travões a chiar ao parar",
            Category::Technical,
            Priority::High,
            Channel::Phone,
            Some("Os travões chiam sempre que para."),
            4,
        ),
    ];
    for (org, who, name, subject, category, priority, channel, symptoms, hours_ago) in cases {
        let actor: String = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(who)
            .fetch_one(&store.pool)
            .await?;
        let cust: Option<(String, String)> =
            sqlx::query_as("SELECT id, organisation_id FROM customers WHERE name = $1")
                .bind(name)
                .fetch_optional(&store.pool)
                .await?;
        store
            .cases()
            .insert_case(
                &crate::cases::NewCase {
                    org,
                    customer: cust.as_ref().map(|(id, o)| (id.as_str(), o.as_str())),
                    vehicle_id: None,
                    channel,
                    category,
                    priority,
                    subject,
                    symptoms,
                    contact: None,
                    actor: Some(&actor),
                },
                now - time::Duration::hours(hours_ago),
            )
            .await?;
    }
    Ok(())
}

/// Remote fixes the brands publish to their networks, in three languages.
async fn seed_knowledge(
    store: &Store,
    tesla: &str,
    polestar: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    type Article = (
        &'static str,
        &'static str,
        &'static str,
        [&'static str; 3],
        [&'static str; 3],
    );
    let tesla_articles: [Article; 4] = [
        ("screen, freeze, frozen, black, skjerm, fryser, svart, ecrã, congelado", "reboot",
         "technical",
         ["Omstart av berøringsskjermen", "Restart the touchscreen", "Reiniciar o ecrã tátil"],
         ["Parker bilen. Hold inne begge rullehjulene på rattet til skjermen blir svart (ca. 10 s) og Tesla-logoen vises.",
          "Park the car. Hold both steering-wheel scroll buttons until the screen goes black (about 10 s) and the Tesla logo appears.",
          "Estacione o carro. Mantenha premidos os dois botões de rolagem do volante até o ecrã ficar preto (cerca de 10 s) e surgir o logótipo Tesla."]),
        ("charging, charge, stops, 80, lading, lader, stopper, carregamento, carrega", "setting",
         "technical",
         ["Ladegrensen står på 80 %", "The charge limit is set to 80 %", "O limite de carga está em 80 %"],
         ["Åpne Lading på skjermen eller i appen og dra ladegrensen til ønsket nivå. 80–90 % anbefales til daglig bruk.",
          "Open Charging on the screen or in the app and move the charge limit to the level wanted. 80–90 % is recommended for daily use.",
          "Abra Carregamento no ecrã ou na app e ajuste o limite de carga. 80–90 % é recomendado para uso diário."]),
        ("phone key, key, nøkkel, telefonnøkkel, låser, chave, telemóvel", "guidance",
         "technical",
         ["Telefonnøkkelen virker ikke", "The phone key does not work", "A chave do telemóvel não funciona"],
         ["Sjekk at Bluetooth og Posisjon er på og at Tesla-appen får kjøre i bakgrunnen. Fjern og legg til telefonnøkkelen på nytt under Låser.",
          "Check that Bluetooth and Location are on and the Tesla app may run in the background. Remove and add the phone key again under Locks.",
          "Verifique que o Bluetooth e a Localização estão ligados e que a app Tesla pode correr em segundo plano. Remova e volte a adicionar a chave em Fechaduras."]),
        ("update, software, oppdatering, programvare, atualização", "ota",
         "technical",
         ["Programvareoppdateringen feilet", "The software update failed", "A atualização de software falhou"],
         ["Kontroller Wi-Fi-tilkoblingen og send oppdateringen på nytt fra verktøyet for fjernstyrt service. Be kunden la bilen stå parkert i 45 minutter.",
          "Check the Wi-Fi connection and push the update again from the remote service tool. Ask the customer to leave the car parked for 45 minutes.",
          "Verifique a ligação Wi-Fi e reenvie a atualização pela ferramenta de serviço remoto. Peça ao cliente que deixe o carro estacionado 45 minutos."]),
    ];
    let polestar_articles: [Article; 2] = [
        ("screen, black, infotainment, ecrã, preto, skjerm", "reboot",
         "technical",
         ["Omstart av infotainmentsystemet", "Restart the infotainment system", "Reiniciar o sistema de infoentretenimento"],
         ["Hold inne volumknappen i 20 sekunder til skjermen starter på nytt.",
          "Hold the volume button for 20 seconds until the screen restarts.",
          "Mantenha premido o botão do volume durante 20 segundos até o ecrã reiniciar."]),
        ("app, connect, ligação, ligar, aplicação, tilkobling", "guidance",
         "technical",
         ["Polestar-appen kobler ikke til bilen", "The Polestar app does not connect to the car", "A app Polestar não liga ao carro"],
         ["Logg ut og inn i appen, og bekreft bilen som digital nøkkel på nytt i bilens skjerm under Profiler.",
          "Sign out of the app and in again, and confirm the car as a digital key again on the car's screen under Profiles.",
          "Termine e volte a iniciar sessão na app e confirme de novo o carro como chave digital no ecrã do carro, em Perfis."]),
    ];
    for (owner, articles) in [
        (tesla, &tesla_articles[..]),
        (polestar, &polestar_articles[..]),
    ] {
        for (keywords, kind, category, titles, steps) in articles {
            sqlx::query(
                "INSERT INTO kb_articles (id, organisation_id, category, keywords, fix_kind, title_nb, title_en, title_pt, steps_nb, steps_en, steps_pt, created_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1)",
            )
            .bind(crate::new_id())
            .bind(owner)
            .bind(*category)
            .bind(*keywords)
            .bind(*kind)
            .bind(titles[0])
            .bind(titles[1])
            .bind(titles[2])
            .bind(steps[0])
            .bind(steps[1])
            .bind(steps[2])
            .bind(micros(now))
            .execute(&store.pool)
            .await?;
        }
    }
    Ok(())
}

/// The workshop of the demo: Trondheim's bays, two technicians (one with a valid high-voltage
/// certificate, one whose certificate expired), shifts, the Norwegian market's labour operations
/// and parts, stock, and one booked service so the board is not empty. Lisboa gets its own rate
/// and catalogue.
async fn seed_workshop(
    store: &Store,
    org: &dyn Fn(&str) -> String,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let trd = org("tesla-trd");
    for (o, rate, self_booking, address) in [
        (
            trd.clone(),
            145_000_i64,
            1_i64,
            "Sluppenvegen 12, 7037 Trondheim",
        ),
        (
            org("ws-lisboa"),
            8_500,
            0,
            "Avenida da Liberdade 200, 1250-147 Lisboa",
        ),
    ] {
        sqlx::query("INSERT INTO workshop_settings (organisation_id, labour_rate_minor, self_booking, mobile_travel_minutes, address, version) VALUES ($1, $2, $3, 30, $4, 1)")
            .bind(o)
            .bind(rate)
            .bind(self_booking)
            .bind(address)
            .execute(&store.pool)
            .await?;
    }
    for (o, name, lift, hv) in [
        (&trd, "Bay 1", 1_i64, 0_i64),
        (&trd, "Bay 2 (HV)", 1, 1),
        (&trd, "Bay 3", 0, 0),
    ] {
        sqlx::query("INSERT INTO bays (id, organisation_id, name, lift, hv_area, active, created_at) VALUES ($1, $2, $3, $4, $5, 1, $6)")
            .bind(crate::new_id())
            .bind(o)
            .bind(name)
            .bind(lift)
            .bind(hv)
            .bind(micros(now))
            .execute(&store.pool)
            .await?;
    }
    let user = |name: &'static str| async move {
        sqlx::query_scalar::<_, String>("SELECT id FROM users WHERE username = $1")
            .bind(name)
            .fetch_one(&store.pool)
            .await
    };
    let today = now.date();
    let techs = [
        (
            "ole",
            1_i64,
            "07:30",
            "15:30",
            today - time::Duration::days(300),
            Some(today + time::Duration::days(400)),
        ),
        (
            "sindre",
            0,
            "08:00",
            "16:00",
            today - time::Duration::days(1100),
            Some(today - time::Duration::days(20)),
        ),
    ];
    for (username, mobile, starts, ends, issued, expires) in techs {
        let id = user(username).await?;
        sqlx::query(
            "INSERT INTO technicians (user_id, organisation_id, mobile) VALUES ($1, $2, $3)",
        )
        .bind(&id)
        .bind(&trd)
        .bind(mobile)
        .execute(&store.pool)
        .await?;
        for day in 0..5_i64 {
            sqlx::query("INSERT INTO technician_shifts (id, user_id, organisation_id, weekday, starts, ends) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(crate::new_id())
                .bind(&id)
                .bind(&trd)
                .bind(day)
                .bind(starts)
                .bind(ends)
                .execute(&store.pool)
                .await?;
        }
        sqlx::query("INSERT INTO certifications (id, user_id, code, issued_on, expires_on, created_at) VALUES ($1, $2, 'hv-work', $3, $4, $5)")
            .bind(crate::new_id())
            .bind(&id)
            .bind(issued.to_string())
            .bind(expires.map(|d| d.to_string()))
            .bind(micros(now))
            .execute(&store.pool)
            .await?;
    }
    type Op = (
        &'static str,
        &'static str,
        &'static str,
        i64,
        Option<&'static str>,
        i64,
        i64,
        i64,
    );
    let ops: [Op; 9] = [
        (
            "tesla-no",
            "SRV-ANNUAL",
            "Annual service",
            100,
            None,
            1,
            0,
            1,
        ),
        (
            "tesla-no",
            "TYRE-SWAP",
            "Seasonal tyre change",
            50,
            None,
            1,
            0,
            1,
        ),
        (
            "tesla-no",
            "DIAG",
            "Diagnosis of a reported fault",
            50,
            None,
            0,
            0,
            1,
        ),
        (
            "tesla-no",
            "WIPER",
            "Wiper blades replacement",
            20,
            None,
            0,
            0,
            1,
        ),
        (
            "tesla-no",
            "CABIN-FILTER",
            "Cabin air filter replacement",
            30,
            None,
            0,
            0,
            0,
        ),
        ("tesla-no", "ALIGN", "Wheel alignment", 100, None, 1, 0, 0),
        (
            "tesla-no",
            "HV-DIAG",
            "High-voltage battery diagnosis",
            150,
            Some("hv-work"),
            1,
            1,
            0,
        ),
        (
            "tesla-no",
            "HV-COOLANT-PUMP",
            "Battery coolant pump replacement",
            240,
            Some("hv-work"),
            1,
            1,
            0,
        ),
        (
            "polestar-pt",
            "PS-REVISAO",
            "Revisão anual",
            120,
            None,
            1,
            0,
            1,
        ),
    ];
    for (owner, code, description, hours, cert, lift, hv, bookable) in ops {
        sqlx::query("INSERT INTO labour_operations (id, organisation_id, code, description, hours_centi, certification, needs_lift, needs_hv_area, bookable, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(crate::new_id())
            .bind(org(owner))
            .bind(code)
            .bind(description)
            .bind(hours)
            .bind(cert)
            .bind(lift)
            .bind(hv)
            .bind(bookable)
            .bind(micros(now))
            .execute(&store.pool)
            .await?;
    }
    let parts: [(&str, &str, &str, i64, i64, i64); 4] = [
        (
            "tesla-no",
            "1490225-00-A",
            "Cabin air filter",
            89_000,
            42_000,
            1_200,
        ),
        (
            "tesla-no",
            "1089472-00-B",
            "Wiper blade kit",
            65_000,
            30_000,
            600,
        ),
        (
            "tesla-no",
            "1495837-00-C",
            "Battery coolant pump",
            690_000,
            380_000,
            0,
        ),
        (
            "polestar-pt",
            "32222937",
            "Filtro de habitáculo",
            4_500,
            2_100,
            0,
        ),
    ];
    for (owner, number, description, price, cost, stock) in parts {
        let id = crate::new_id();
        sqlx::query("INSERT INTO parts (id, organisation_id, part_number, description, price_minor, cost_minor, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&id)
            .bind(org(owner))
            .bind(number)
            .bind(description)
            .bind(price)
            .bind(cost)
            .bind(micros(now))
            .execute(&store.pool)
            .await?;
        if owner == "tesla-no" {
            sqlx::query("INSERT INTO part_stock (part_id, organisation_id, quantity_centi) VALUES ($1, $2, $3)")
                .bind(&id)
                .bind(&trd)
                .bind(stock)
                .execute(&store.pool)
                .await?;
        }
    }
    Ok(())
}

/// Billing: Tesla Norway AS invoices for its Norwegian service points, Volvo Cars Portugal for the importer's
/// workshops; each with number series (PT: with made-up AT validation codes), and a company payer for warranty
/// and goodwill. The PT signing key is not demo data: `aftersales demo` makes a throw-away one.
async fn seed_billing(
    store: &Store,
    org: &dyn Fn(&str) -> String,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    use crate::crm::{insert_customer, CustomerInput, NewCustomer};
    let mut tx = store.pool.begin().await?;
    let engine = store.engine();
    let payer = |name: &str,
                 org_number: Option<&str>,
                 nif_: Option<String>,
                 country: &str,
                 lang: &str,
                 email: &str,
                 street: &str,
                 postal: &str,
                 city: &str| CustomerInput {
        kind: "company".into(),
        name: name.into(),
        org_number: org_number.map(str::to_string),
        nif: nif_,
        email: Some(email.into()),
        phone: None,
        language: lang.into(),
        preferred_channel: "email".into(),
        street: Some(street.into()),
        postal_code: Some(postal.into()),
        city: Some(city.into()),
        country: country.into(),
        latitude: None,
        longitude: None,
    };
    let no_payer = NewCustomer::parse(&payer(
        "Tesla Motors Norway Warranty AS",
        Some("921111118"),
        None,
        "NO",
        "nb",
        "warranty.claims@tesla.example",
        "Drammensveien 130",
        "0277",
        "Oslo",
    ))?;
    let no_fleet = NewCustomer::parse(&payer(
        "Fjord Taxi AS",
        Some("974760673"),
        None,
        "NO",
        "nb",
        "faktura@fjordtaxi.example",
        "Kjøpmannsgata 12",
        "7013",
        "Trondheim",
    ))?;
    let pt_payer = NewCustomer::parse(&payer(
        "Polestar Portugal Unipessoal, Lda.",
        None,
        Some(nif(51_600_000)),
        "PT",
        "pt",
        "garantia@polestar.example",
        "Avenida da Liberdade 110",
        "1250-146",
        "Lisboa",
    ))?;
    let no_payer_id = insert_customer(&mut tx, engine, &org("tesla-no"), &no_payer, now).await?;
    insert_customer(&mut tx, engine, &org("tesla-no"), &no_fleet, now).await?;
    let pt_payer_id = insert_customer(&mut tx, engine, &org("polestar-pt"), &pt_payer, now).await?;
    let entities = [
        (
            org("tesla-no"),
            "NO",
            "NO",
            "Tesla Norway AS",
            Some("988077917".to_string()),
            None,
            1_i64,
            "Drammensveien 130",
            "0277",
            "Oslo",
            "NO",
            Some("86011117947"),
            Some("DNBANOKK"),
            "NOK",
            no_payer_id,
        ),
        (
            org("vcp"),
            "PT",
            "PT",
            "Volvo Cars Portugal, S.A.",
            None,
            Some(nif(50_350_456)),
            0,
            "Avenida da Liberdade 200",
            "1250-147",
            "Lisboa",
            "PT",
            Some("PT50000201231234567890154"),
            None,
            "EUR",
            pt_payer_id,
        ),
    ];
    for (
        o,
        market,
        region,
        name,
        orgno,
        nif_,
        foretak,
        street,
        postal,
        city,
        country,
        bank,
        bic,
        currency,
        payer_id,
    ) in entities
    {
        let id = crate::new_id();
        sqlx::query(
            "INSERT INTO legal_entities (id, organisation_id, market, region, name, org_number, nif, vat_registered, foretaksregisteret, \
             street, postal_code, city, country, email, bank_account, bic, currency, payment_days, kid_scheme, certificate, \
             warranty_customer_id, goodwill_customer_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $11, $12, NULL, $13, $14, $15, 14, 'mod10', '0000', $16, $16, $17)",
        )
        .bind(&id)
        .bind(&o)
        .bind(market)
        .bind(region)
        .bind(name)
        .bind(orgno)
        .bind(nif_)
        .bind(foretak)
        .bind(street)
        .bind(postal)
        .bind(city)
        .bind(country)
        .bind(bank)
        .bind(bic)
        .bind(currency)
        .bind(&payer_id)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        let series: &[(&str, &str, Option<&str>, Option<&str>)] = if market == "NO" {
            &[
                ("invoice", "F", None, Some("1")),
                ("credit-note", "K", None, None),
            ]
        } else {
            &[
                ("FT", "A", Some("JFJ6H7KT"), None),
                ("FS", "A", Some("FS7Q2ZWX"), None),
                ("FR", "A", Some("FR4M8NPB"), None),
                ("NC", "A", Some("KZ3P9QWX"), None),
            ]
        };
        for (doc_type, code, vc, kid) in series {
            sqlx::query(
                "INSERT INTO billing_series (id, legal_entity_id, doc_type, code, validation_code, kid_prefix, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(crate::new_id())
            .bind(&id)
            .bind(*doc_type)
            .bind(*code)
            .bind(*vc)
            .bind(*kid)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
