//! Demo cases in each market and the brands' knowledge base of remote fixes.

use super::*;

/// A handful of cases in each market: open, waiting, escalated by rule.
pub(super) async fn seed_cases(
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
pub(super) async fn seed_knowledge(
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
