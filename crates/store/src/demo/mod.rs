//! Demo data that looks real: the Tesla service centre in Trondheim and Polestar Portugal with the
//! importer's workshops, with a user for every role. Used by `aftersales demo` and by tests.

use aftersales_domain::org::OrgKind;
use time::OffsetDateTime;

use crate::auth::hash_password;
use crate::db::Store;
use crate::error::StoreError;
use crate::micros;
use crate::user::NewUser;

mod billing;
mod cases;
mod crm;
mod day;
mod kpis;
mod logistics;
mod reminders;
mod standards;
mod training;
mod warranty;
mod workshop;

use billing::seed_billing;
use cases::{seed_cases, seed_knowledge};
use crm::seed_crm;
use day::seed_day;
use logistics::{seed_logistics, seed_logistics_day};
use reminders::seed_reminders;
use workshop::seed_workshop;

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
        "eirik",
        "Eirik Strand",
        "nb",
        "eirik.strand@tesla.example",
        &[("tesla-trd", "valet-driver")],
    ),
    (
        "hanne",
        "Hanne Viken",
        "nb",
        "hanne.viken@tesla.example",
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
        "helena",
        "Helena Berg",
        "en",
        "helena.berg@polestar.example",
        &[("polestar-hq", "warranty-administrator")],
    ),
    (
        "tom",
        "Tom Becker",
        "en",
        "tom.becker@tesla.example",
        &[("tesla-hq", "warranty-administrator")],
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
        "tiago",
        "Tiago Martins",
        "pt",
        "tiago.martins@volvocars.example",
        &[("ws-lisboa", "valet-driver")],
    ),
    (
        "ricardo",
        "Ricardo Neves",
        "pt",
        "ricardo.neves@volvocars.example",
        &[("ws-lisboa", "valet-driver")],
    ),
    (
        "pedro",
        "Pedro Santos",
        "pt",
        "pedro.santos@volvocars.example",
        &[("ws-braga", "technician")],
    ),
    (
        "sara",
        "Sara Rocha",
        "pt",
        "sara.rocha@volvocars.example",
        &[("ws-braga", "service-manager")],
    ),
    (
        "bruno",
        "Bruno Ferreira",
        "pt",
        "bruno.ferreira@volvocars.example",
        &[("ws-lisboa", "technician")],
    ),
    (
        "catarina",
        "Catarina Lopes",
        "pt",
        "catarina.lopes@volvocars.example",
        &[("ws-porto", "technician")],
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
/// The demo's working day on top of [`seed`] (demo/day.rs): appointments, a car ready for delivery
/// and tasks for the advisors of both markets, at times relative to `now`. The product's demo
/// runs it after `seed`; test fixtures stay as `seed` leaves them.
pub async fn seed_today(store: &Store, now: OffsetDateTime) -> Result<(), StoreError> {
    let mut ids: Vec<(&str, String)> = Vec::new();
    for o in ORGS {
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM organisations WHERE name = $1")
            .bind(o.name)
            .fetch_optional(&store.pool)
            .await?;
        ids.push((o.key, id.ok_or(StoreError::NotFound)?));
    }
    let org = |key: &str| {
        ids.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, id)| id.clone())
            .unwrap_or_default()
    };
    seed_day(store, &org, now).await?;
    seed_logistics_day(store, &org, now).await
}

pub use kpis::{add_service_points, more_service_points, programme_start, seed_kpis, staff_of};

/// The markets a warranty history is written into: Polestar Portugal (its three service points,
/// euros) and Tesla Norway (Trondheim, kroner). The demo writes a small history, the claim
/// analysis benchmark a large one.
pub async fn history_targets(
    store: &Store,
) -> Result<
    (
        crate::warranty::HistoryTarget,
        crate::warranty::HistoryTarget,
    ),
    StoreError,
> {
    use crate::warranty::HistoryTarget;
    let id = |name: &'static str| async move {
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM organisations WHERE name = $1")
            .bind(name)
            .fetch_optional(&store.pool)
            .await?;
        id.ok_or(StoreError::NotFound)
    };
    let portugal = HistoryTarget {
        owner_org: id("Polestar Portugal").await?,
        service_points: vec![
            id("Polestar Service Point Lisboa").await?,
            id("Polestar Service Point Porto").await?,
            id("Polestar Service Point Braga").await?,
        ],
        brand_id: "brand-polestar".into(),
        warranty_version: "polestar-eu-2020".into(),
        models: vec![
            ("Polestar 2".into(), "LPSED3KA0NL000000".into(), 2022),
            ("Polestar 2".into(), "LPSED3KA0PL000000".into(), 2023),
            ("Polestar 3".into(), "YSMYKEAE0RB000000".into(), 2024),
        ],
        country: "PT".into(),
        language: "pt".into(),
        currency: "EUR".into(),
        labour_rate_minor: 8_500,
        price_factor: 1,
        prefix: "PT".into(),
    };
    let norway = HistoryTarget {
        owner_org: id("Tesla Norway AS").await?,
        service_points: vec![id("Tesla Service Centre Trondheim").await?],
        brand_id: "brand-tesla".into(),
        warranty_version: "tesla-eu-3y".into(),
        models: vec![
            ("Model Y".into(), "XP7YGCEL0NB000000".into(), 2022),
            ("Model 3".into(), "LRW3E7EB0PC000000".into(), 2023),
            ("Model Y".into(), "XP7YGCEL0RB000000".into(), 2024),
        ],
        country: "NO".into(),
        language: "nb".into(),
        currency: "NOK".into(),
        labour_rate_minor: 110_000,
        price_factor: 11,
        prefix: "NO".into(),
    };
    Ok((portugal, norway))
}

/// A warranty history behind the claim analysis, after [`seed`]: four years of Polestar cars in
/// Portugal serviced at Lisboa, Porto and Braga (electrical claims rising over the last months,
/// Braga claiming more labour than its peers) and of Tesla cars in Trondheim. Separate from
/// `seed` so the store's tests keep their small world; the `demo` command runs both.
pub async fn seed_history(store: &Store, now: OffsetDateTime) -> Result<(), StoreError> {
    use aftersales_domain::analysis::history::HistorySpec;
    use aftersales_domain::warranty::goodwill::ComponentGroup;
    let (portugal, norway) = history_targets(store).await?;
    let end = now.date();
    let w = store.warranty();
    w.write_history(
        &HistorySpec {
            vehicles: 1_500,
            end,
            years: 4,
            service_points: 3,
            rising: Some(ComponentGroup::Electrical),
            costly_point: Some(2),
            rate: 1.0,
            seed: 2026,
        },
        &portugal,
        now,
    )
    .await?;
    w.write_history(
        &HistorySpec {
            vehicles: 1_000,
            end,
            years: 4,
            service_points: 1,
            rising: None,
            costly_point: None,
            rate: 0.8,
            seed: 47,
        },
        &norway,
        now,
    )
    .await?;
    Ok(())
}

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
    seed_reminders(store, &org, now).await?;
    seed_logistics(store, &org, now).await?;
    for (id, code) in [("brand-tesla", "tesla"), ("brand-polestar", "polestar")] {
        store.warranty().seed_published_terms(id, code, now).await?;
    }
    warranty::seed_warranty(store, &org, now).await?;
    standards::seed_standards(store, &org, now).await?;
    training::seed_training(store, &org, now).await?;
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
