//! Demo billing: the legal entities of both markets, their number series and payers.

use super::crm::nif;
use super::*;

/// Billing: Tesla Norway AS invoices for its Norwegian service points, Volvo Cars Portugal for the importer's
/// workshops; each with number series (PT: with made-up AT validation codes), and a company payer for warranty
/// and goodwill. The PT signing key is not demo data: `aftersales demo` makes a throw-away one.
pub(super) async fn seed_billing(
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
