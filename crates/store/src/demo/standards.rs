//! Demo dealer standards, written through the store's own operations at days relative to `now`:
//! Polestar's catalogue with Polestar Portugal's additions and Tesla's; audits of Lisboa, Porto and
//! Braga (a trend, one below the mandatory threshold) and of Trondheim; corrective actions open,
//! overdue, waiting for verification and verified; an audit of Lisboa planned with João's
//! self-assessment submitted, for Ana to run.

use aftersales_domain::standards::{AuditParty, CatalogueFile, Outcome};
use time::{Duration, OffsetDateTime};

use crate::error::StoreError;
use crate::standards::{
    ActionReview, ActionSubmission, AnswerInput, AnswersInput, CorrectiveActionInput,
    StandardAudit, StandardAuditInput,
};
use crate::Store;

const POLESTAR: &str = include_str!("standards-polestar.json");
const POLESTAR_PT: &str = include_str!("standards-polestar-pt.json");
const TESLA: &str = include_str!("standards-tesla.json");
const PHOTO: &[u8] = include_bytes!("handover-photo.png");

async fn user(store: &Store, username: &str) -> Result<String, StoreError> {
    let id: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&store.pool)
        .await?;
    id.ok_or(StoreError::NotFound)
}

fn file(json: &str) -> Result<CatalogueFile, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Internal(format!("demo catalogue: {e}")))
}

/// One party's answers: each requirement `met` unless `plan` says otherwise (an outcome, or a
/// figure for a requirement scored by one).
fn answers(audit: &StandardAudit, plan: Plan<'_>) -> AnswersInput {
    AnswersInput {
        answers: audit
            .items
            .iter()
            .map(|i| {
                let r = &i.requirement;
                let planned = plan.iter().find(|(c, _, _)| *c == r.code);
                let (outcome, figure) = match planned {
                    Some((_, o, f)) => (*o, *f),
                    None if r.figure.is_some() => (None, r.figure.as_ref().map(|f| f.target + 2.0)),
                    None => (Some(Outcome::Met), None),
                };
                AnswerInput {
                    requirement_id: r.id.clone(),
                    outcome: outcome.map(|o| o.as_str().to_string()),
                    figure,
                    comment: None,
                }
            })
            .collect(),
        finish: true,
    }
}

fn requirement(audit: &StandardAudit, code: &str) -> String {
    audit
        .items
        .iter()
        .find(|i| i.requirement.code == code)
        .map(|i| i.requirement.id.clone())
        .unwrap_or_default()
}

/// Answers other than "met" by requirement code: an outcome, or a figure.
type Plan<'a> = &'a [(&'a str, Option<Outcome>, Option<f64>)];

struct Run<'a> {
    store: &'a Store,
    now: OffsetDateTime,
}

impl Run<'_> {
    /// Plans an audit `days_ago` (negative: ahead) and, when it lies in the past, completes it with
    /// the auditor's answers by `plan`.
    async fn audit(
        &self,
        planner: &str,
        auditor: &str,
        point: &str,
        days_ago: i64,
        plan: Option<Plan<'_>>,
    ) -> Result<StandardAudit, StoreError> {
        let at = self.now - Duration::days(days_ago.max(0) + 7);
        let day = (self.now - Duration::days(days_ago)).date();
        let s = self
            .store
            .scope_of(&user(self.store, planner).await?)
            .await?;
        let st = self.store.standards();
        let audit = st
            .plan_audit(
                &s,
                &StandardAuditInput {
                    service_point_id: point.to_string(),
                    auditor_id: user(self.store, auditor).await?,
                    planned_on: day.to_string(),
                },
                at,
            )
            .await?;
        let Some(plan) = plan else {
            return Ok(audit);
        };
        let a = self
            .store
            .scope_of(&user(self.store, auditor).await?)
            .await?;
        let done = self.now - Duration::days(days_ago) + Duration::hours(6);
        st.save_answers(
            &a,
            &audit.id,
            AuditParty::Official,
            &answers(&audit, plan),
            done,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn action(
        &self,
        auditor: &str,
        audit: &StandardAudit,
        code: &str,
        title: &str,
        owner: &str,
        due_in: i64,
        raised_days_ago: i64,
    ) -> Result<String, StoreError> {
        let a = self
            .store
            .scope_of(&user(self.store, auditor).await?)
            .await?;
        let raised = self.now - Duration::days(raised_days_ago);
        let action = self
            .store
            .standards()
            .raise_action(
                &a,
                &audit.id,
                &CorrectiveActionInput {
                    requirement_id: requirement(audit, code),
                    title: title.to_string(),
                    owner_id: user(self.store, owner).await?,
                    due_on: (self.now + Duration::days(due_in)).date().to_string(),
                },
                raised,
            )
            .await?;
        Ok(action.id)
    }

    async fn close(
        &self,
        owner: &str,
        action: &str,
        note: &str,
        days_ago: i64,
    ) -> Result<(), StoreError> {
        let o = self.store.scope_of(&user(self.store, owner).await?).await?;
        let at = self.now - Duration::days(days_ago);
        let st = self.store.standards();
        st.add_action_evidence(&o, action, "foto.png", PHOTO, at)
            .await?;
        st.submit_action(
            &o,
            action,
            &ActionSubmission {
                note: note.to_string(),
            },
            at,
        )
        .await?;
        Ok(())
    }
}

pub(crate) async fn seed_standards(
    store: &Store,
    org: &impl Fn(&str) -> String,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let st = store.standards();
    let published = now - Duration::days(400);
    let johan = store.scope_of(&user(store, "johan").await?).await?;
    st.import_catalogue(&johan, &org("polestar-hq"), &file(POLESTAR)?, published)
        .await?;
    let ana = store.scope_of(&user(store, "ana").await?).await?;
    st.import_catalogue(&ana, &org("polestar-pt"), &file(POLESTAR_PT)?, published)
        .await?;
    let emily = store.scope_of(&user(store, "emily").await?).await?;
    st.import_catalogue(&emily, &org("tesla-hq"), &file(TESLA)?, published)
        .await?;

    let run = Run { store, now };
    use Outcome::*;
    // Porto: a weak audit a year ago, a good one since; the action from the first verified.
    let porto_old = run
        .audit(
            "ana",
            "rui",
            &org("ws-porto"),
            380,
            Some(&[
                ("FAC-01", Some(Partly), None),
                ("EQP-02", Some(NotMet), None),
                ("TLS-02", Some(NotMet), None),
                ("PRC-02", None, Some(88.0)),
                ("CX-01", None, Some(79.0)),
            ]),
        )
        .await?;
    let lift = run
        .action(
            "rui",
            &porto_old,
            "EQP-02",
            "Adquirir mesa elevatória homologada para baterias",
            "marta",
            -320,
            378,
        )
        .await?;
    run.close(
        "marta",
        &lift,
        "Mesa elevatória entregue e instalada; certificado em anexo.",
        330,
    )
    .await?;
    let rui = store.scope_of(&user(store, "rui").await?).await?;
    st.review_action(
        &rui,
        &lift,
        &ActionReview {
            verified: true,
            note: Some("Verificado na visita de acompanhamento.".into()),
        },
        now - Duration::days(325),
    )
    .await?;
    run.audit(
        "ana",
        "rui",
        &org("ws-porto"),
        120,
        Some(&[("CX-01", None, Some(84.0)), ("BRD-02", Some(Partly), None)]),
    )
    .await?;

    // Braga: below the mandatory threshold; one action overdue, one open.
    let braga = run
        .audit(
            "ana",
            "rui",
            &org("ws-braga"),
            60,
            Some(&[
                ("FAC-02", Some(Partly), None),
                ("STF-01", Some(NotMet), None),
                ("CX-01", None, Some(82.0)),
                ("PT-02", Some(NotMet), None),
            ]),
        )
        .await?;
    run.action(
        "rui",
        &braga,
        "FAC-02",
        "Delimitar e sinalizar o posto de alta tensão",
        "sara",
        -10,
        58,
    )
    .await?;
    run.action(
        "rui",
        &braga,
        "STF-01",
        "Certificar um segundo técnico de alta tensão",
        "sara",
        30,
        58,
    )
    .await?;

    // Lisboa: an audit half a year ago with an action waiting for Ana's verification, and the
    // next audit planned in two days with João's self-assessment submitted.
    let lisboa_old = run
        .audit(
            "ana",
            "ana",
            &org("ws-lisboa"),
            200,
            Some(&[
                ("FAC-03", Some(Partly), None),
                ("PRC-02", None, Some(91.0)),
                ("BRD-02", Some(NotMet), None),
            ]),
        )
        .await?;
    let handover = run
        .action(
            "ana",
            &lisboa_old,
            "BRD-02",
            "Renovar a zona de entrega segundo as diretrizes da marca",
            "joao",
            -20,
            198,
        )
        .await?;
    run.close(
        "joao",
        &handover,
        "Zona de entrega renovada; fotografia em anexo.",
        25,
    )
    .await?;
    let next = run.audit("ana", "ana", &org("ws-lisboa"), -2, None).await?;
    let joao = store.scope_of(&user(store, "joao").await?).await?;
    let self_at = now - Duration::days(1);
    st.add_evidence(
        &joao,
        &next.id,
        &requirement(&next, "FAC-02"),
        AuditParty::SelfAssessment,
        ("posto-alta-tensao.png", PHOTO),
        self_at,
    )
    .await?;
    st.save_answers(
        &joao,
        &next.id,
        AuditParty::SelfAssessment,
        &answers(
            &next,
            &[
                ("BRD-02", Some(Partly), None),
                ("PT-02", Some(NotMet), None),
                ("CX-01", None, Some(86.5)),
            ],
        ),
        self_at,
    )
    .await?;

    // Trondheim: Tesla's catalogue, audited by Emily; one action open for Kari.
    let trd = run
        .audit(
            "emily",
            "emily",
            &org("tesla-trd"),
            90,
            Some(&[
                ("T-FAC-2", Some(Partly), None),
                ("T-PRC-1", None, Some(92.0)),
            ]),
        )
        .await?;
    run.action(
        "emily",
        &trd,
        "T-FAC-2",
        "Sett opp lading for kundenes telefoner i ventesonen",
        "kari",
        20,
        88,
    )
    .await?;
    Ok(())
}
