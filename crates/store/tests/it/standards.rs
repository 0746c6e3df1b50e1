//! Dealer standards on both engines: the demo's network, an audit of Lisboa run by Ana beside
//! João's self-assessment, findings as corrective actions closed with evidence and verified, the
//! overdue escalation through the outbox, catalogue versions imported and exported.

use aftersales_domain::standards::{ActionStatus, AuditParty, AuditStatus, Outcome};
use aftersales_store::standards::{
    ActionReview, ActionSubmission, AnswerInput, AnswersInput, CorrectiveActionInput, StandardAudit,
};
use aftersales_store::{demo, Store, StoreError};
use time::macros::datetime;
use time::Duration;

fn field_of(e: &StoreError) -> Vec<String> {
    match e {
        StoreError::Invalid(v) => v.0.iter().map(|f| f.field.clone()).collect(),
        other => vec![format!("{other:?}")],
    }
}

fn all_met(a: &StandardAudit, except: &[(&str, Outcome)], finish: bool) -> AnswersInput {
    AnswersInput {
        answers: a
            .items
            .iter()
            .map(|i| {
                let r = &i.requirement;
                let o = except
                    .iter()
                    .find(|(c, _)| *c == r.code)
                    .map_or(Outcome::Met, |(_, o)| *o);
                AnswerInput {
                    requirement_id: r.id.clone(),
                    outcome: Some(o.as_str().to_string()),
                    figure: r.figure.as_ref().map(|f| {
                        if o == Outcome::Met {
                            f.target
                        } else {
                            f.target - 50.0
                        }
                    }),
                    comment: Some(format!("{} checked", r.code)),
                }
            })
            .collect(),
        finish,
    }
}

pub async fn dealer_standards_audit_and_actions(store: &Store) {
    let t0 = datetime!(2026-11-21 09:00 UTC);
    demo::seed(store, t0 - Duration::hours(1)).await.unwrap();
    let st = store.standards();
    let ana = crate::workshop::caller(store, "ana", t0).await;
    let joao = crate::workshop::caller(store, "joao", t0).await;
    let marta = crate::workshop::caller(store, "marta", t0).await;

    // The network as the demo leaves it.
    let net = st.network(&ana.scope, t0).await.unwrap();
    let names: Vec<&str> = net.iter().map(|p| p.service_point.label.as_str()).collect();
    assert_eq!(
        names,
        [
            "Polestar Service Point Braga",
            "Polestar Service Point Lisboa",
            "Polestar Service Point Porto"
        ]
    );
    let braga = &net[0];
    assert_eq!(braga.passed, Some(false));
    assert!(braga.mandatory_failed >= 2, "{braga:?}");
    assert_eq!((braga.open_actions, braga.overdue_actions), (2, 1));
    assert_eq!(net[2].trend.len(), 2, "Porto was audited twice");
    assert!(net[2].trend[0].score < net[2].trend[1].score);
    assert_eq!(
        net[1].next_audit_on.as_deref(),
        Some((t0 + Duration::days(2)).date().to_string().as_str())
    );
    let porto_only = st.network(&marta.scope, t0).await.unwrap();
    assert_eq!(porto_only.len(), 1);

    // The planned audit of Lisboa, with João's self-assessment submitted.
    let planned = st
        .audits(&ana.scope, Some(AuditStatus::Planned))
        .await
        .unwrap();
    assert_eq!(planned.len(), 1);
    assert!(planned[0].self_submitted);
    let id = planned[0].id.clone();
    assert!(matches!(
        st.audit(&marta.scope, &id).await,
        Err(StoreError::NotFound)
    ));
    let audit = st.audit(&joao.scope, &id).await.unwrap();
    assert!(audit.self_scores.is_some());
    assert_eq!(audit.items.len(), 17, "15 of the brand and 2 of the market");
    assert!(audit.evidence.iter().any(|e| e.party == "self"));
    // João may not change his submitted self-assessment, nor answer for the auditor.
    let e = st
        .save_answers(
            &joao.scope,
            &id,
            AuditParty::SelfAssessment,
            &all_met(&audit, &[], false),
            t0,
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), ["party"]);
    assert!(matches!(
        st.save_answers(
            &joao.scope,
            &id,
            AuditParty::Official,
            &all_met(&audit, &[], false),
            t0
        )
        .await,
        Err(StoreError::Forbidden(_))
    ));
    // A "partly" on a pass/fail requirement and an unanswered sheet are refused, nothing saved.
    let mut bad = all_met(&audit, &[("STF-01", Outcome::Partly)], true);
    bad.answers.pop();
    let e = st
        .save_answers(&ana.scope, &id, AuditParty::Official, &bad, t0)
        .await
        .unwrap_err();
    assert!(field_of(&e)[0].ends_with(".outcome"), "{e:?}");
    let mut short = all_met(&audit, &[], true);
    short.answers.pop();
    let e = st
        .save_answers(&ana.scope, &id, AuditParty::Official, &short, t0)
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), ["answers"]);
    assert_eq!(
        st.audit(&ana.scope, &id).await.unwrap().status,
        AuditStatus::Planned
    );
    // Ana completes it with two findings.
    let done = st
        .save_answers(
            &ana.scope,
            &id,
            AuditParty::Official,
            &all_met(
                &audit,
                &[("BRD-02", Outcome::NotMet), ("PT-02", Outcome::Partly)],
                true,
            ),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(done.status, AuditStatus::Completed);
    let scores = done.scores.clone().unwrap();
    assert_eq!(scores.mandatory_failed, 0);
    // Weights: 45 in all; BRD-02 (1) not met, PT-02 (2) partly: 43 of 46 … earned 45 − 1 − 1.
    let total: u32 = done
        .items
        .iter()
        .map(|i| u32::from(i.requirement.weight))
        .sum();
    let earned = total * 2 - 2 - 2;
    assert_eq!(
        scores.overall.percent,
        Some(u8::try_from((earned * 100 + total) / (total * 2)).unwrap())
    );
    assert_eq!(done.passed, Some(true));
    assert!(st
        .save_answers(
            &ana.scope,
            &id,
            AuditParty::Official,
            &all_met(&audit, &[], true),
            t0
        )
        .await
        .is_err());

    // Findings become corrective actions; a met requirement or an owner elsewhere is refused.
    let req = |code: &str| {
        done.items
            .iter()
            .find(|i| i.requirement.code == code)
            .unwrap()
            .requirement
            .id
            .clone()
    };
    let pedro = crate::workshop::caller(store, "pedro", t0).await;
    let uid = |name: &str| {
        if name == "joao" {
            joao.scope.user_id().to_string()
        } else {
            pedro.scope.user_id().to_string()
        }
    };
    let input = |code: &str, owner: &str| CorrectiveActionInput {
        requirement_id: req(code),
        title: "Renovar a zona de entrega".into(),
        owner_id: uid(owner),
        due_on: (t0 + Duration::days(30)).date().to_string(),
    };
    let e = st
        .raise_action(&ana.scope, &id, &input("FAC-01", "joao"), t0)
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), ["requirement_id"]);
    let e = st
        .raise_action(&ana.scope, &id, &input("BRD-02", "pedro"), t0)
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), ["owner_id"]);
    assert!(matches!(
        st.raise_action(&joao.scope, &id, &input("BRD-02", "joao"), t0)
            .await,
        Err(StoreError::Forbidden(_))
    ));
    let action = st
        .raise_action(&ana.scope, &id, &input("BRD-02", "joao"), t0)
        .await
        .unwrap();
    assert_eq!(action.status, ActionStatus::Open);
    // Closing needs evidence; a file that is neither photo nor PDF is refused.
    let note = ActionSubmission {
        note: "Zona renovada.".into(),
    };
    let e = st
        .submit_action(&joao.scope, &action.id, &note, t0)
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), ["file"]);
    let e = st
        .add_action_evidence(&joao.scope, &action.id, "x.exe", b"MZ\x90\x00", t0)
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), ["file"]);
    let file = st
        .add_action_evidence(
            &joao.scope,
            &action.id,
            "C:\\fotos\\zona.pdf",
            b"%PDF-1.7 zona",
            t0,
        )
        .await
        .unwrap();
    assert_eq!(
        (file.file_name.as_str(), file.content_type.as_str()),
        ("zona.pdf", "application/pdf")
    );
    let (_, bytes) = st.evidence(&ana.scope, &file.id).await.unwrap();
    assert_eq!(bytes, b"%PDF-1.7 zona");
    assert!(matches!(
        st.evidence(&marta.scope, &file.id).await,
        Err(StoreError::NotFound)
    ));
    let submitted = st
        .submit_action(&joao.scope, &action.id, &note, t0)
        .await
        .unwrap();
    assert_eq!(submitted.status, ActionStatus::Submitted);
    // Sent back needs a reason; verified closes it.
    let e = st
        .review_action(
            &ana.scope,
            &action.id,
            &ActionReview {
                verified: false,
                note: None,
            },
            t0,
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), ["note"]);
    let back = st
        .review_action(
            &ana.scope,
            &action.id,
            &ActionReview {
                verified: false,
                note: Some("Falta a sinalética.".into()),
            },
            t0,
        )
        .await
        .unwrap();
    assert_eq!(back.status, ActionStatus::Open);
    st.submit_action(&joao.scope, &action.id, &note, t0 + Duration::hours(1))
        .await
        .unwrap();
    let verified = st
        .review_action(
            &ana.scope,
            &action.id,
            &ActionReview {
                verified: true,
                note: None,
            },
            t0 + Duration::hours(2),
        )
        .await
        .unwrap();
    assert_eq!(verified.status, ActionStatus::Verified);
    assert_eq!(verified.verified_by.unwrap().label, "Ana Ferreira");

    // Overdue actions escalate once: Braga's, to its owner and its auditor.
    let n = store.cli().escalate_overdue_actions(t0).await.unwrap();
    assert_eq!(n, 1);
    assert_eq!(store.cli().escalate_overdue_actions(t0).await.unwrap(), 0);
    let mails: Vec<(String, String, String)> = store
        .notify()
        .outbox(&ana.scope, None, None, 200)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|m| m.event == "action-overdue")
        .map(|m| (m.recipient.unwrap_or_default(), m.subject, m.language))
        .collect();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails
        .iter()
        .all(|(_, subject, lang)| lang == "pt" && subject.starts_with("Ação corretiva em atraso")));
    let to: Vec<&str> = mails.iter().map(|(r, _, _)| r.as_str()).collect();
    assert!(to.contains(&"sara.rocha@volvocars.example"), "{to:?}");
    assert!(to.contains(&"rui.costa@volvocars.example"), "{to:?}");

    // Catalogues: a wrong file names its places; a good one is the next version, exported as read.
    let cats = st.catalogues(&joao.scope).await.unwrap();
    assert_eq!(cats.len(), 2);
    assert_eq!(cats[0].scope, "brand");
    let market = cats[1].clone();
    let file = st.export_catalogue(&ana.scope, &market.id).await.unwrap();
    let mut wrong = serde_json::to_value(&file).unwrap();
    wrong["requirements"][1]["weight"] = 0.into();
    wrong["requirements"][0]["text"]["pt"] = "".into();
    let e = st
        .import_catalogue_file(
            &ana.scope,
            &market.organisation.id,
            &serde_json::to_vec(&wrong).unwrap(),
            t0,
        )
        .await
        .unwrap_err();
    assert_eq!(
        field_of(&e),
        ["requirements.0.text.pt", "requirements.1.weight"]
    );
    let e = st
        .import_catalogue_file(&ana.scope, &market.organisation.id, b"code;weight", t0)
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), ["file"]);
    assert!(matches!(
        st.import_catalogue(&joao.scope, &market.organisation.id, &file, t0)
            .await,
        Err(StoreError::NotFound)
    ));
    let v2 = st
        .import_catalogue_file(
            &ana.scope,
            &market.organisation.id,
            &serde_json::to_vec(&file).unwrap(),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(v2.version, market.version + 1);
    assert_eq!(st.export_catalogue(&ana.scope, &v2.id).await.unwrap(), file);
    // A planned audit is moved or cancelled by those who plan audits, not by the service point.
    let marta_point = st
        .network(&marta.scope, t0)
        .await
        .unwrap()
        .remove(0)
        .service_point
        .id;
    let rui = crate::workshop::caller(store, "rui", t0).await;
    let next = st
        .plan_audit(
            &ana.scope,
            &aftersales_store::standards::StandardAuditInput {
                service_point_id: marta_point,
                auditor_id: rui.scope.user_id().to_string(),
                planned_on: "2026-12-15".into(),
            },
            t0,
        )
        .await
        .unwrap();
    let moved = aftersales_store::standards::StandardAuditInput {
        service_point_id: String::new(),
        auditor_id: ana.scope.user_id().to_string(),
        planned_on: "2027-01-12".into(),
    };
    assert!(matches!(
        st.replan_audit(&marta.scope, &next.id, &moved, false, t0)
            .await,
        Err(StoreError::Forbidden(_))
    ));
    let m = st
        .replan_audit(&ana.scope, &next.id, &moved, false, t0)
        .await
        .unwrap();
    assert_eq!(
        (m.planned_on.as_str(), m.auditor.label.as_str()),
        ("2027-01-12", "Ana Ferreira")
    );
    let c = st
        .replan_audit(&rui.scope, &next.id, &moved, true, t0)
        .await
        .unwrap();
    assert_eq!(c.status, AuditStatus::Cancelled);
    // The completed audit keeps the version it used.
    assert!(st
        .audit(&ana.scope, &id)
        .await
        .unwrap()
        .catalogues
        .iter()
        .any(|c| c.id == market.id));
}
