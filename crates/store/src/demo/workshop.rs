//! The demo workshops: bays, technicians, shifts, catalogues, stock and a booked service.

use super::*;

/// The workshop of the demo: Trondheim's bays, two technicians (one with a valid high-voltage
/// certificate, one whose certificate expired), shifts, the Norwegian market's labour operations
/// and parts, stock, and one booked service so the board is not empty. The Portuguese service
/// points (Lisboa, Porto, Braga) get their rates, bays, a technician each with shifts and the
/// high-voltage certificate, and the market's catalogue, so a day runs there as in Trondheim.
pub(super) async fn seed_workshop(
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
            1,
            "Avenida da Liberdade 200, 1250-147 Lisboa",
        ),
        (
            org("ws-porto"),
            8_000,
            1,
            "Rua de Santa Catarina 500, 4000-446 Porto",
        ),
        (
            org("ws-braga"),
            7_500,
            0,
            "Avenida da Liberdade 700, 4710-251 Braga",
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
    let (lisboa, porto, braga) = (org("ws-lisboa"), org("ws-porto"), org("ws-braga"));
    for (o, name, lift, hv) in [
        (&trd, "Bay 1", 1_i64, 0_i64),
        (&trd, "Bay 2 (HV)", 1, 1),
        (&trd, "Bay 3", 0, 0),
        (&lisboa, "Elevador 1", 1, 0),
        (&lisboa, "Elevador 2 (AT)", 1, 1),
        (&porto, "Elevador 1", 1, 0),
        (&porto, "Elevador 2 (AT)", 1, 1),
        (&braga, "Elevador 1 (AT)", 1, 1),
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
            "bruno",
            &lisboa,
            0_i64,
            "08:30",
            "17:30",
            today - time::Duration::days(200),
            Some(today + time::Duration::days(500)),
        ),
        (
            "catarina",
            &porto,
            0,
            "08:30",
            "17:30",
            today - time::Duration::days(150),
            Some(today + time::Duration::days(600)),
        ),
        (
            "pedro",
            &braga,
            1,
            "09:00",
            "18:00",
            today - time::Duration::days(400),
            Some(today + time::Duration::days(300)),
        ),
        (
            "ole",
            &trd,
            1_i64,
            "07:30",
            "15:30",
            today - time::Duration::days(300),
            Some(today + time::Duration::days(400)),
        ),
        (
            "sindre",
            &trd,
            0,
            "08:00",
            "16:00",
            today - time::Duration::days(1100),
            Some(today - time::Duration::days(20)),
        ),
    ];
    for (username, at, mobile, starts, ends, issued, expires) in techs {
        let id = user(username).await?;
        sqlx::query(
            "INSERT INTO technicians (user_id, organisation_id, mobile) VALUES ($1, $2, $3)",
        )
        .bind(&id)
        .bind(at)
        .bind(mobile)
        .execute(&store.pool)
        .await?;
        for day in 0..5_i64 {
            sqlx::query("INSERT INTO technician_shifts (id, user_id, organisation_id, weekday, starts, ends) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(crate::new_id())
                .bind(&id)
                .bind(at)
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
    let ops: [Op; 13] = [
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
        (
            "polestar-pt",
            "PS-PNEUS",
            "Mudança de pneus",
            50,
            None,
            1,
            0,
            1,
        ),
        (
            "polestar-pt",
            "PS-DIAG",
            "Diagnóstico de avaria",
            50,
            None,
            0,
            0,
            1,
        ),
        (
            "polestar-pt",
            "PS-AT-BOMBA",
            "Substituição da bomba de refrigeração da bateria",
            240,
            Some("hv-work"),
            1,
            1,
            0,
        ),
        (
            "polestar-pt",
            "PS-HV-DIAG",
            "Diagnóstico da bateria de alta tensão",
            150,
            Some("hv-work"),
            1,
            1,
            0,
        ),
    ];
    for (owner, code, description, hours, cert, lift, hv, bookable) in ops {
        sqlx::query("INSERT INTO labour_operations (id, organisation_id, code, description, hours_centi, certification, needs_lift, needs_hv_area, bookable, created_at, names) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
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
            .bind(names(code))
            .execute(&store.pool)
            .await?;
    }
    let parts: [(&str, &str, &str, i64, i64, i64); 5] = [
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
        (
            "polestar-pt",
            "31686961",
            "Bomba de refrigeração da bateria",
            62_000,
            41_000,
            0,
        ),
    ];
    for (owner, number, description, price, cost, stock) in parts {
        let id = crate::new_id();
        sqlx::query("INSERT INTO parts (id, organisation_id, part_number, description, price_minor, cost_minor, created_at, names) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&id)
            .bind(org(owner))
            .bind(number)
            .bind(description)
            .bind(price)
            .bind(cost)
            .bind(micros(now))
            .bind(names(number))
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

/// The demo catalogue's names in each language (code, nb, en, pt), as JSON for the `names` column.
fn names(code: &str) -> Option<String> {
    const NAMES: [(&str, &str, &str, &str); 18] = [
        (
            "SRV-ANNUAL",
            "Årlig service",
            "Annual service",
            "Revisão anual",
        ),
        (
            "TYRE-SWAP",
            "Sesongskift av dekk",
            "Seasonal tyre change",
            "Mudança de pneus sazonal",
        ),
        (
            "DIAG",
            "Feilsøking av meldt feil",
            "Diagnosis of a reported fault",
            "Diagnóstico de uma avaria reportada",
        ),
        (
            "WIPER",
            "Bytte av viskerblader",
            "Wiper blades replacement",
            "Substituição das escovas",
        ),
        (
            "CABIN-FILTER",
            "Bytte av kupéfilter",
            "Cabin air filter replacement",
            "Substituição do filtro de habitáculo",
        ),
        (
            "ALIGN",
            "Hjulstilling",
            "Wheel alignment",
            "Alinhamento de direção",
        ),
        (
            "HV-DIAG",
            "Diagnose av høyvoltsbatteri",
            "High-voltage battery diagnosis",
            "Diagnóstico da bateria de alta tensão",
        ),
        (
            "HV-COOLANT-PUMP",
            "Bytte av kjølepumpe for batteri",
            "Battery coolant pump replacement",
            "Substituição da bomba de refrigeração da bateria",
        ),
        (
            "PS-REVISAO",
            "Årlig service",
            "Annual service",
            "Revisão anual",
        ),
        ("PS-PNEUS", "Dekkskift", "Tyre change", "Mudança de pneus"),
        (
            "PS-DIAG",
            "Feilsøking",
            "Fault diagnosis",
            "Diagnóstico de avaria",
        ),
        (
            "PS-HV-DIAG",
            "Diagnose av høyvoltsbatteri",
            "High-voltage battery diagnosis",
            "Diagnóstico da bateria de alta tensão",
        ),
        (
            "1490225-00-A",
            "Kupéfilter",
            "Cabin air filter",
            "Filtro de habitáculo",
        ),
        (
            "1089472-00-B",
            "Viskerbladsett",
            "Wiper blade kit",
            "Kit de escovas",
        ),
        (
            "1495837-00-C",
            "Kjølepumpe for batteri",
            "Battery coolant pump",
            "Bomba de refrigeração da bateria",
        ),
        (
            "PS-AT-BOMBA",
            "Bytte av kjølepumpe for batteri",
            "Battery coolant pump replacement",
            "Substituição da bomba de refrigeração da bateria",
        ),
        (
            "31686961",
            "Kjølepumpe for batteri",
            "Battery coolant pump",
            "Bomba de refrigeração da bateria",
        ),
        (
            "32222937",
            "Kupéfilter",
            "Cabin air filter",
            "Filtro de habitáculo",
        ),
    ];
    let (_, nb, en, pt) = NAMES.iter().find(|n| n.0 == code)?;
    serde_json::to_string(&serde_json::json!({"nb": nb, "en": en, "pt": pt})).ok()
}
