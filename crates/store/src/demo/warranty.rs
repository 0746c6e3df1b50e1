//! Demo warranty claims in both markets, made and moved through the store's own operations by the
//! people who would: in Lisboa (João makes them, Rui reviews for the importer, Helena decides for
//! Polestar) one waits for the importer, one was sent back for information, one went all the way
//! (importer cut a line, Polestar approved, the supplier pays back on the pump); in Trondheim
//! (Ingrid makes them, Tom decides for Tesla; no importer between) one waits for the brand and one
//! is approved.

use aftersales_domain::workshop::RoStatus;
use time::{Duration, OffsetDateTime};

use crate::db::Store;
use crate::error::StoreError;
use crate::scope::Scope;
use crate::warranty::{
    ClaimInput, ClaimStepInput, GoodwillDecision, GoodwillInput, LineDecisionInput, RecoveryInput,
};
use crate::workshop::{JobUpdate, LineInput, RepairOrderInput};

/// How far a demo claim has come.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Submitted: with the importer (Lisboa) or the brand (Trondheim).
    Submitted,
    /// Sent back by the importer for information.
    Returned,
    /// Approved: in part by the importer, then by the brand, with a supplier recovery.
    Approved,
}

struct DemoClaim {
    customer: &'static str,
    complaint: &'static str,
    cause: &'static str,
    correction: &'static str,
    /// (kind, code, hours) — hours only for labour above the flat rate.
    lines: &'static [(&'static str, &'static str, Option<&'static str>)],
    over_reason: Option<&'static str>,
    dtcs: &'static [&'static str],
    causal_part: &'static str,
    stage: Stage,
    days_ago: i64,
}

const LISBOA: &[DemoClaim] = &[
    DemoClaim {
        customer: "Inês Ramalho",
        complaint: "Aviso de avaria na bateria e ventoinha sempre ligada",
        cause: "Bomba de refrigeração da bateria sem caudal; conectores com corrosão",
        correction: "Substituída a bomba de refrigeração, conectores limpos, teste de estanquidade",
        lines: &[
            ("labour", "PS-HV-DIAG", Some("2.00")),
            ("labour", "PS-AT-BOMBA", None),
            ("part", "31686961", None),
        ],
        over_reason: Some("Conectores corroídos: limpeza e teste adicional"),
        dtcs: &["P0C73", "P0AA6"],
        causal_part: "31686961",
        stage: Stage::Submitted,
        days_ago: 2,
    },
    DemoClaim {
        customer: "Beatriz Quaresma",
        complaint: "Ruído da bomba de refrigeração ao carregar",
        cause: "Rolamento da bomba de refrigeração gasto",
        correction: "Substituída a bomba de refrigeração da bateria",
        lines: &[("labour", "PS-AT-BOMBA", None), ("part", "31686961", None)],
        over_reason: None,
        dtcs: &["P0C73"],
        causal_part: "31686961",
        stage: Stage::Returned,
        days_ago: 4,
    },
    DemoClaim {
        customer: "Carolina Sá",
        complaint: "Carregamento interrompido e aviso de temperatura da bateria",
        cause: "Bomba de refrigeração da bateria avariada",
        correction: "Substituída a bomba de refrigeração; diagnóstico da bateria de alta tensão",
        lines: &[
            ("labour", "PS-HV-DIAG", Some("2.50")),
            ("labour", "PS-AT-BOMBA", None),
            ("part", "31686961", None),
        ],
        over_reason: Some("Segundo ciclo de teste após purga do circuito"),
        dtcs: &["P0C73", "P0A7E"],
        causal_part: "31686961",
        stage: Stage::Approved,
        days_ago: 12,
    },
];

const TRONDHEIM: &[DemoClaim] = &[
    DemoClaim {
        customer: "Siri Berg",
        complaint: "Varsel om redusert batterikjøling, vifte går for fullt",
        cause: "Kjølepumpe for batteri uten sirkulasjon",
        correction: "Byttet kjølepumpe for batteri, luftet kretsen",
        lines: &[
            ("labour", "HV-DIAG", None),
            ("labour", "HV-COOLANT-PUMP", None),
            ("part", "1495837-00-C", None),
        ],
        over_reason: None,
        dtcs: &["BMS_a079", "THC_a0010"],
        causal_part: "1495837-00-C",
        stage: Stage::Submitted,
        days_ago: 3,
    },
    DemoClaim {
        customer: "Magnus Aune",
        complaint: "Pumpestøy fra fronten under lading",
        cause: "Lager i kjølepumpe for batteri slitt",
        correction: "Byttet kjølepumpe for batteri",
        lines: &[
            ("labour", "HV-COOLANT-PUMP", None),
            ("part", "1495837-00-C", None),
        ],
        over_reason: None,
        dtcs: &["THC_a0010"],
        causal_part: "1495837-00-C",
        stage: Stage::Approved,
        days_ago: 15,
    },
];

async fn scope_of(store: &Store, username: &str) -> Result<Scope, StoreError> {
    let id: String = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(&store.pool)
        .await?;
    store.scope_of(&id).await
}

pub(super) async fn seed_warranty(
    store: &Store,
    org: &dyn Fn(&str) -> String,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for (claims, advisor, service_point, reviewer, decider) in [
        (LISBOA, "joao", "ws-lisboa", Some("rui"), "helena"),
        (TRONDHEIM, "ingrid", "tesla-trd", None, "tom"),
    ] {
        let sp = org(service_point);
        let advisor = scope_of(store, advisor).await?;
        let decider = scope_of(store, decider).await?;
        let reviewer = match reviewer {
            Some(r) => Some(scope_of(store, r).await?),
            None => None,
        };
        for d in claims {
            let at = |hours: i64| now - Duration::days(d.days_ago) + Duration::hours(hours);
            let (customer, vehicle) = super::day::customer_and_car(store, d.customer).await?;
            let ro = store
                .workshop()
                .create_repair_order(
                    &advisor,
                    &RepairOrderInput {
                        organisation_id: sp.clone(),
                        customer_id: customer,
                        vehicle_id: vehicle,
                        complaint: d.complaint.into(),
                        ..Default::default()
                    },
                    at(0),
                )
                .await?;
            let job = ro.jobs.first().map(|j| j.id.clone()).unwrap_or_default();
            store
                .workshop()
                .update_job(
                    &advisor,
                    &ro.id,
                    &job,
                    &JobUpdate {
                        cause: Some(d.cause.into()),
                        correction: Some(d.correction.into()),
                        pay_type: Some("warranty".into()),
                        ..Default::default()
                    },
                    at(1),
                )
                .await?;
            let mut ro = ro;
            for (kind, code, hours) in d.lines {
                ro = store
                    .workshop()
                    .add_line(
                        &advisor,
                        &ro.id,
                        &job,
                        &LineInput {
                            kind: (*kind).into(),
                            code: Some((*code).into()),
                            quantity: hours.map(str::to_string),
                            ..Default::default()
                        },
                        at(2),
                    )
                    .await?;
            }
            let mut status = ro.status;
            for step in [
                RoStatus::CheckedIn,
                RoStatus::InRepair,
                RoStatus::QualityCheck,
                RoStatus::Ready,
            ] {
                if status.may_become(step) {
                    ro = store
                        .workshop()
                        .set_ro_status(&advisor, &ro.id, step, ro.version, at(3))
                        .await?;
                    status = step;
                }
            }
            // What the customer was told about the work went out when it happened.
            sqlx::query(
                "UPDATE outbox SET status = 'sent', sent_at = not_before, attempts = 1 \
                 WHERE repair_order_id = $1 AND status = 'pending'",
            )
            .bind(&ro.id)
            .execute(&store.pool)
            .await?;
            let over_reasons = ro
                .jobs
                .first()
                .map(|j| {
                    j.lines
                        .iter()
                        .filter(|l| {
                            d.lines.iter().any(|(kind, code, hours)| {
                                *kind == "labour"
                                    && hours.is_some()
                                    && l.code.as_deref() == Some(*code)
                            })
                        })
                        .filter_map(|l| d.over_reason.map(|r| (l.id.clone(), r.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            let w = store.warranty();
            let mut claim = w
                .create_claim(
                    &advisor,
                    &ClaimInput {
                        job_id: job.clone(),
                        claim_type: "warranty".into(),
                        dtcs: d.dtcs.iter().map(|s| s.to_string()).collect(),
                        causal_part: Some(d.causal_part.into()),
                        component_group: Some("high-voltage".into()),
                        over_reasons,
                        ..Default::default()
                    },
                    at(4),
                )
                .await?;
            let step = |action: &str, note: Option<&str>| ClaimStepInput {
                action: action.into(),
                note: note.map(str::to_string),
                ..Default::default()
            };
            claim = w
                .step(
                    &advisor,
                    &claim.id,
                    claim.version,
                    &step("submit", None),
                    at(5),
                )
                .await?;
            match (d.stage, &reviewer) {
                (Stage::Submitted, _) => {}
                (Stage::Returned, Some(rui)) => {
                    w.step(
                        rui,
                        &claim.id,
                        claim.version,
                        &step(
                            "return",
                            Some("Falta a fotografia da etiqueta da bomba avariada e o relatório de diagnóstico."),
                        ),
                        at(30),
                    )
                    .await?;
                }
                (Stage::Approved, reviewer) => {
                    if let Some(rui) = reviewer {
                        // The importer pays the extra diagnosis hours at the flat rate only.
                        let cut: Vec<LineDecisionInput> = claim
                            .lines
                            .iter()
                            .filter(|l| l.over_reason.is_some() && l.flat_rate_hours.is_some())
                            .map(|l| {
                                let rate = l.unit_price.minor().unwrap_or(0);
                                let hours = l
                                    .flat_rate_hours
                                    .as_deref()
                                    .and_then(|h| {
                                        aftersales_domain::money::parse_centi("h", h, 0, 100_000)
                                            .ok()
                                    })
                                    .unwrap_or(0);
                                let paid = aftersales_domain::money::line_total(rate, hours);
                                LineDecisionInput {
                                    line_id: l.id.clone(),
                                    approved: aftersales_domain::money::format_centi(paid),
                                    reason: Some("over-flat-rate".into()),
                                }
                            })
                            .collect();
                        claim = w
                            .step(
                                rui,
                                &claim.id,
                                claim.version,
                                &ClaimStepInput {
                                    action: "approve".into(),
                                    lines: cut,
                                    ..Default::default()
                                },
                                at(48),
                            )
                            .await?;
                    }
                    let follow: Vec<LineDecisionInput> = claim
                        .lines
                        .iter()
                        .filter_map(|l| {
                            let amount = l.importer.as_ref()?;
                            Some(LineDecisionInput {
                                line_id: l.id.clone(),
                                approved: amount.amount.clone(),
                                reason: l.importer_reason.map(|r| r.as_str().to_string()),
                            })
                        })
                        .collect();
                    claim = w
                        .step(
                            &decider,
                            &claim.id,
                            claim.version,
                            &ClaimStepInput {
                                action: "approve".into(),
                                lines: follow,
                                ..Default::default()
                            },
                            at(96),
                        )
                        .await?;
                    if let Some(pump) = claim.lines.iter().find(|l| l.kind.as_str() == "part") {
                        w.record_recovery(
                            &decider,
                            &claim.id,
                            &pump.id,
                            &RecoveryInput {
                                part_returned: Some(true),
                                analysis: Some("confirmed".into()),
                                recovery_pct: 80,
                            },
                            at(120),
                        )
                        .await?;
                    }
                }
                (Stage::Returned, None) => {}
            }
        }
    }
    seed_goodwill(store, org, now).await?;
    seed_campaigns(store, org, now).await
}

/// A recall in Portugal over 30 Polestar 2 VINs (the market's demo cars and others of the same
/// series), a third of them done in Lisboa, Porto and Braga; and an over-the-air service campaign
/// in Norway over the demo Teslas, some already updated.
async fn seed_campaigns(
    store: &Store,
    org: &dyn Fn(&str) -> String,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    use crate::warranty::{CampaignDoneInput, RecallCampaignInput};
    let w = store.warranty();
    let ana = scope_of(store, "ana").await?;
    let mut vins: Vec<String> = sqlx::query_scalar(
        "SELECT vin FROM vehicles WHERE brand_id = 'brand-polestar' ORDER BY vin",
    )
    .fetch_all(&store.pool)
    .await?;
    let mut serial = 400_000_u32;
    while vins.len() < 30 {
        vins.push(super::crm::vin("LPSED3KA?PL", serial));
        serial += 1_237;
    }
    let recall = w
        .create_campaign(
            &ana,
            &RecallCampaignInput {
                organisation_id: org("polestar-pt"),
                code: "PS-R-2611".into(),
                kind: "recall".into(),
                title_nb: "Kjølepumpe for høyvoltsbatteri: kontroll og bytte".into(),
                title_en: "High-voltage battery coolant pump: inspection and replacement".into(),
                title_pt:
                    "Bomba de refrigeração da bateria de alta tensão: verificação e substituição"
                        .into(),
                remedy: "workshop".into(),
                operation: Some("PS-AT-BOMBA".into()),
                part: Some("31686961".into()),
                vins_csv: Some(vins.join("\n")),
                ..Default::default()
            },
            now - Duration::days(30),
        )
        .await?;
    for (i, (who, point)) in [
        ("joao", "ws-lisboa"),
        ("joao", "ws-lisboa"),
        ("joao", "ws-lisboa"),
        ("joao", "ws-lisboa"),
        ("marta", "ws-porto"),
        ("marta", "ws-porto"),
        ("marta", "ws-porto"),
        ("pedro", "ws-braga"),
        ("pedro", "ws-braga"),
        ("pedro", "ws-braga"),
    ]
    .into_iter()
    .enumerate()
    {
        let scope = scope_of(store, who).await?;
        // Synthetic VINs first: the demo customers' own cars stay open, so their pages show it.
        let vin = vins[vins.len() - 1 - i].clone();
        w.campaign_done(
            &scope,
            &recall.id,
            &CampaignDoneInput {
                vin,
                how: "workshop".into(),
                organisation_id: Some(org(point)),
                software_version: None,
            },
            now - Duration::days(20) + Duration::days(i64::try_from(i).unwrap_or(0)),
        )
        .await?;
    }
    let tom = scope_of(store, "tom").await?;
    let teslas: Vec<String> =
        sqlx::query_scalar("SELECT vin FROM vehicles WHERE brand_id = 'brand-tesla' ORDER BY vin")
            .fetch_all(&store.pool)
            .await?;
    let ota = w
        .create_campaign(
            &tom,
            &RecallCampaignInput {
                organisation_id: org("tesla-hq"),
                code: "TS-OTA-2026-44".into(),
                kind: "service".into(),
                title_nb: "Programvare for varmepumpe i kulde".into(),
                title_en: "Heat pump software for cold weather".into(),
                title_pt: "Software da bomba de calor para tempo frio".into(),
                remedy: "ota".into(),
                done_version: Some("2026.38.4".into()),
                vins_csv: Some(teslas.join("\n")),
                ..Default::default()
            },
            now - Duration::days(14),
        )
        .await?;
    for vin in teslas.iter().take(4) {
        w.campaign_done(
            &tom,
            &ota.id,
            &CampaignDoneInput {
                vin: vin.clone(),
                how: "ota".into(),
                organisation_id: None,
                software_version: Some("2026.38.6".into()),
            },
            now - Duration::days(10),
        )
        .await?;
    }
    Ok(())
}

/// Goodwill in both markets: each market's budget for the quarter; in Lisboa João asks for goodwill
/// on a suspension arm at about three years and 70 000 km, above a service manager's authority,
/// so it waits for the importer (Rui); in Trondheim Kari approved one within her own authority and
/// the customer's share is on the repair order's lines. Two more were asked on cases before the
/// car was booked: Lisboa's approved by Rui and waiting for the repair order, Trondheim's waiting
/// for Kari.
async fn seed_goodwill(
    store: &Store,
    org: &dyn Fn(&str) -> String,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let period = crate::warranty::goodwill::quarter(now.date());
    for (market, amount) in [("market-pt", 2_500_000_i64), ("market-no", 25_000_000)] {
        sqlx::query(
            "INSERT INTO goodwill_budgets (market_id, period, amount_minor) VALUES ($1, $2, $3)",
        )
        .bind(market)
        .bind(&period)
        .bind(amount)
        .execute(&store.pool)
        .await?;
    }
    for (advisor, decider, service_point, customer, complaint, group, sublet, labour, km) in [
        (
            "joao",
            None,
            "ws-lisboa",
            "Tiago Marques",
            "Ruído na suspensão dianteira: braço partido fora da garantia",
            "chassis",
            ("Braço de suspensão dianteiro esquerdo (peça)", "800"),
            "PS-DIAG",
            70_000,
        ),
        (
            "ingrid",
            Some("kari"),
            "tesla-trd",
            "Erik Stene",
            "Dørhåndtaket foran til venstre går ikke ut",
            "body",
            ("Dørhåndtak foran venstre (del)", "3000"),
            "ALIGN",
            68_000,
        ),
    ] {
        let advisor = scope_of(store, advisor).await?;
        let (customer_id, vehicle) = super::day::customer_and_car(store, customer).await?;
        let at = |h: i64| now - Duration::days(1) + Duration::hours(h);
        let ro = store
            .workshop()
            .create_repair_order(
                &advisor,
                &RepairOrderInput {
                    organisation_id: org(service_point),
                    customer_id,
                    vehicle_id: vehicle,
                    complaint: complaint.into(),
                    ..Default::default()
                },
                at(0),
            )
            .await?;
        let job = ro.jobs.first().map(|j| j.id.clone()).unwrap_or_default();
        store
            .workshop()
            .add_line(
                &advisor,
                &ro.id,
                &job,
                &LineInput {
                    kind: "sublet".into(),
                    description: Some(sublet.0.into()),
                    unit_price: Some(sublet.1.into()),
                    ..Default::default()
                },
                at(1),
            )
            .await?;
        store
            .workshop()
            .add_line(
                &advisor,
                &ro.id,
                &job,
                &LineInput {
                    kind: "labour".into(),
                    code: Some(labour.into()),
                    ..Default::default()
                },
                at(1),
            )
            .await?;
        let input = GoodwillInput {
            job_id: Some(job),
            ..Default::default()
        };
        ask_goodwill(store, &advisor, input, (group, km), decider, at(2)).await?;
    }
    // Asked on a case before the car is booked: in Lisboa approved by the importer and waiting
    // for the repair order, in Trondheim waiting for Kari.
    for (advisor, decider, customer, subject, group, parts, labour, km) in [
        (
            "joao",
            Some("rui"),
            "Rui Matos",
            "Ecrã central apaga-se durante a condução",
            "electrical",
            "620.00",
            "170.00",
            38_000,
        ),
        (
            "ingrid",
            None,
            "Siri Berg",
            "Bakluken lukker seg ikke helt etter lading",
            "body",
            "2400.00",
            "1200.00",
            45_000,
        ),
    ] {
        let advisor = scope_of(store, advisor).await?;
        let (customer_id, vehicle) = super::day::customer_and_car(store, customer).await?;
        let at = |h: i64| now - Duration::days(2) + Duration::hours(h);
        let case = store
            .cases()
            .create_case(
                &advisor,
                &crate::cases::CaseInput {
                    customer_id: Some(customer_id),
                    vehicle_id: vehicle,
                    channel: "phone".into(),
                    category: "warranty".into(),
                    priority: "normal".into(),
                    subject: subject.into(),
                    ..Default::default()
                },
                at(0),
            )
            .await?;
        let input = GoodwillInput {
            case_id: Some(case.id),
            parts_amount: Some(parts.into()),
            labour_amount: Some(labour.into()),
            ..Default::default()
        };
        ask_goodwill(store, &advisor, input, (group, km), decider, at(1)).await?;
    }
    Ok(())
}

/// Asks for goodwill as the advisor (network history and first owner as the records would say,
/// the component group and km given) and, with a decider, has them approve at the proposal.
async fn ask_goodwill(
    store: &Store,
    advisor: &Scope,
    input: GoodwillInput,
    (group, km): (&str, i64),
    decider: Option<&str>,
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    let w = store.warranty();
    let input = GoodwillInput {
        component_group: group.into(),
        odometer_km: Some(km),
        network_history: Some(true),
        first_owner: Some(true),
        ..input
    };
    let request = w.request_goodwill(advisor, &input, at).await?;
    if let Some(decider) = decider {
        let decider = scope_of(store, decider).await?;
        w.decide_goodwill(
            &decider,
            &request.id,
            request.version,
            &GoodwillDecision {
                action: "approve".into(),
                ..Default::default()
            },
            at + Duration::hours(1),
        )
        .await?;
    }
    Ok(())
}
