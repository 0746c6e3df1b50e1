//! Dealer standards as people work them: the network view (every service point's latest scores
//! side by side, trend, open actions, audits, planning one), the catalogue (read, export, import
//! the next version), an audit's page (the self-assessment and the official answers side by side,
//! the sheet to fill with evidence, scores, findings raised as actions) and a corrective action's
//! page (close with evidence, verify or send back), evidence downloads.

use std::collections::BTreeMap;

use aftersales_domain::calendar::Zone;
use aftersales_domain::org::Permission;
use aftersales_domain::standards::{
    self as rules, ActionStatus, AuditParty, AuditStatus, Outcome, Scoring, StandardCategory,
};
use aftersales_domain::validation::{FieldError, Rule};
use aftersales_store::standards::{
    ActionReview, ActionSubmission, AnswerInput, AnswersInput, CatalogueRequirement,
    CorrectiveAction, CorrectiveActionInput, NetworkPoint, StandardAnswer, StandardAudit,
    StandardAuditInput, StandardAuditItem, StandardAuditSummary, StandardCatalogue,
};
use aftersales_store::{Ref, StoreError};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{
    field, form_pairs, form_with_files, form_with_named_files, or_page, render, see_other,
    store_error, Chrome, FormErrors, Sent, SignedIn,
};
use crate::i18n::Tr;
use crate::AppState;

/// A text kept per language, in the reader's (English when missing).
fn local(t: &Tr<'_>, m: &BTreeMap<String, String>) -> String {
    m.get(t.lang.code())
        .or_else(|| m.get("en"))
        .cloned()
        .unwrap_or_default()
}

fn outcome_label(t: &Tr<'_>, o: Option<Outcome>) -> String {
    match o {
        Some(o) => t.t(&format!("st-outcome-{}", o.as_str())),
        None => "–".to_string(),
    }
}

/// A figure as the reader writes it, without a needless decimal: `86,5`, `95`.
fn figure(t: &Tr<'_>, f: f64) -> String {
    if f.fract() == 0.0 {
        t.dec(f, 0)
    } else {
        t.dec(f, 1)
    }
}

fn pct(p: Option<u8>) -> String {
    p.map_or("–".to_string(), |p| format!("{p} %"))
}

/// The service points where the reader may plan audits, with their names.
async fn points_to_audit(
    state: &AppState,
    s: &SignedIn,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut out = Vec::new();
    for (id, name) in super::orgs_named(state, s, Permission::StandardsAudit).await? {
        let o = state
            .store
            .org()
            .get_organisation(&s.caller.scope, &id)
            .await?;
        if o.kind.as_str() == "service-point" {
            out.push((id, name));
        }
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "network.html")]
struct NetworkPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    points: Vec<NetworkPoint>,
    categories: &'static [StandardCategory],
    audits: Vec<StandardAuditSummary>,
    actions: Vec<CorrectiveAction>,
    /// Where the reader may plan audits, and who may run them.
    plan_points: Vec<(String, String)>,
    auditors: Vec<Ref>,
    today: String,
    errors: FormErrors,
    sent: Sent,
}

impl NetworkPage<'_> {
    fn cat(&self, c: &StandardCategory) -> String {
        self.t.t(&format!("st-cat-{}", c.as_str()))
    }
    fn cat_score(&self, p: &NetworkPoint, c: &StandardCategory) -> String {
        pct(p.categories.get(c).copied().flatten())
    }
    fn score(&self, p: &Option<u8>) -> String {
        pct(*p)
    }
    fn trend(&self, p: &NetworkPoint) -> String {
        p.trend
            .iter()
            .map(|s| pct(s.score))
            .collect::<Vec<_>>()
            .join(" → ")
    }
    fn standing(&self, p: &NetworkPoint) -> String {
        match p.passed {
            Some(true) => self.t.t("st-passed"),
            Some(false) if p.mandatory_failed > 0 => self.t.with(
                "st-below-mandatory",
                &[("n", &p.mandatory_failed.to_string())],
            ),
            Some(false) => self.t.t("st-below-pass-mark"),
            None => self.t.t("st-not-audited"),
        }
    }
    fn status(&self, a: &StandardAuditSummary) -> String {
        self.t.t(&format!("st-audit-{}", a.status.as_str()))
    }
    fn action_status(&self, a: &CorrectiveAction) -> String {
        self.t.t(&format!("st-action-{}", a.status.as_str()))
    }
    fn overdue_n(&self, p: &NetworkPoint) -> String {
        self.t
            .with("st-overdue-n", &[("n", &p.overdue_actions.to_string())])
    }
    fn age(&self, d: &i64) -> String {
        self.t.with("st-days", &[("n", &d.to_string())])
    }
    fn days(&self, d: &Option<i64>) -> String {
        d.map_or(String::new(), |d| {
            self.t.with("st-days", &[("n", &d.to_string())])
        })
    }
}

async fn network_page(
    state: &AppState,
    s: &SignedIn,
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let st = state.store.standards();
    let now = state.now();
    let points = or_page!(state, &s.ctx, st.network(&s.caller.scope, now).await);
    let audits = or_page!(state, &s.ctx, st.audits(&s.caller.scope, None).await);
    let actions = or_page!(
        state,
        &s.ctx,
        st.actions(&s.caller.scope, None, true, now).await
    );
    let plan_points = or_page!(state, &s.ctx, points_to_audit(state, s).await);
    let mut auditors: Vec<Ref> = Vec::new();
    for (p, _) in &plan_points {
        for a in or_page!(state, &s.ctx, st.auditors(&s.caller.scope, p).await) {
            if !auditors.iter().any(|x| x.id == a.id) {
                auditors.push(a);
            }
        }
    }
    (
        status,
        render(&NetworkPage {
            chrome: Chrome::new(&t, &s.ctx),
            points,
            categories: StandardCategory::ALL,
            audits,
            actions,
            plan_points,
            auditors,
            today: now.date().to_string(),
            errors,
            sent,
            t,
        }),
    )
        .into_response()
}

pub async fn network(State(state): State<AppState>, s: SignedIn) -> Response {
    network_page(&state, &s, Default::default(), StatusCode::OK).await
}

pub async fn plan(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let input = StandardAuditInput {
        service_point_id: field(&p, "service_point_id").to_string(),
        auditor_id: field(&p, "auditor_id").to_string(),
        planned_on: field(&p, "planned_on").to_string(),
    };
    let r = state
        .store
        .standards()
        .plan_audit(&s.caller.scope, &input, state.now())
        .await;
    super::answer(
        &state,
        &s,
        r,
        |a| see_other(&format!("/network/audits/{}", a.id)),
        |errors| {
            network_page(
                &state,
                &s,
                (errors, Sent::new("plan", p.clone())),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "network_catalogue.html")]
struct CataloguePage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    catalogues: Vec<StandardCatalogue>,
    categories: &'static [StandardCategory],
    /// Where the reader may publish a catalogue: (organisation id, name).
    owners: Vec<(String, String)>,
    errors: FormErrors,
    sent: Sent,
}

impl CataloguePage<'_> {
    fn name(&self, c: &StandardCatalogue) -> String {
        local(&self.t, &c.name)
    }
    fn text(&self, r: &CatalogueRequirement) -> String {
        local(&self.t, &r.text)
    }
    fn cat(&self, c: &StandardCategory) -> String {
        self.t.t(&format!("st-cat-{}", c.as_str()))
    }
    fn in_cat<'c>(
        &self,
        c: &'c StandardCatalogue,
        cat: &StandardCategory,
    ) -> Vec<&'c CatalogueRequirement> {
        c.requirements
            .iter()
            .filter(|r| r.category == *cat)
            .collect()
    }
    fn evidence(&self, r: &CatalogueRequirement) -> String {
        self.t.t(&format!("st-evidence-{}", r.evidence.as_str()))
    }
    fn scoring(&self, r: &CatalogueRequirement) -> String {
        match &r.figure {
            Some(f) => self.t.with(
                if f.higher_is_better {
                    "st-figure-at-least"
                } else {
                    "st-figure-at-most"
                },
                &[
                    ("target", &f.target.to_string()),
                    ("unit", &local(&self.t, &f.unit)),
                ],
            ),
            None => self.t.t(&format!("st-scoring-{}", r.scoring.as_str())),
        }
    }
    fn version_line(&self, c: &StandardCatalogue) -> String {
        format!(
            "{} · {}",
            self.t.with(
                "st-version",
                &[
                    ("v", &c.version.to_string()),
                    ("day", &self.t.date(&c.created_at.date().to_string())),
                ],
            ),
            self.t
                .with("st-pass-mark", &[("pct", &c.pass_mark.to_string())])
        )
    }
}

async fn catalogue_page(
    state: &AppState,
    s: &SignedIn,
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let catalogues = or_page!(
        state,
        &s.ctx,
        state.store.standards().catalogues(&s.caller.scope).await
    );
    let mut owners = Vec::new();
    for (id, name) in or_page!(
        state,
        &s.ctx,
        super::orgs_named(state, s, Permission::StandardsManage).await
    ) {
        let o = or_page!(
            state,
            &s.ctx,
            state
                .store
                .org()
                .get_organisation(&s.caller.scope, &id)
                .await
        );
        if matches!(o.kind.as_str(), "brand-hq" | "market-entity") {
            owners.push((id, name));
        }
    }
    (
        status,
        render(&CataloguePage {
            chrome: Chrome::new(&t, &s.ctx),
            catalogues,
            categories: StandardCategory::ALL,
            owners,
            errors,
            sent,
            t,
        }),
    )
        .into_response()
}

pub async fn catalogue(State(state): State<AppState>, s: SignedIn) -> Response {
    catalogue_page(&state, &s, Default::default(), StatusCode::OK).await
}

pub async fn import(
    State(state): State<AppState>,
    s: SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (p, files) = form_with_files(&headers, &body);
    let file = files.into_iter().find(|(n, _)| n == "file").map(|(_, b)| b);
    let r = match file {
        Some(bytes) => state
            .store
            .standards()
            .import_catalogue_file(
                &s.caller.scope,
                field(&p, "organisation_id"),
                &bytes,
                state.now(),
            )
            .await
            .map(|_| ()),
        None => Err(StoreError::Invalid(
            FieldError::new("file", Rule::Required, "choose the catalogue file")
                .hint("st-err-file-missing")
                .into(),
        )),
    };
    super::after_form(&state, &s, r, "/network/catalogue", |errors| {
        catalogue_page(
            &state,
            &s,
            (errors, Sent::new("import", p.clone())),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    })
    .await
}

/// A catalogue version as its JSON file, downloaded.
pub async fn catalogue_file(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let st = state.store.standards();
    let c = or_page!(state, &s.ctx, st.catalogue(&s.caller.scope, &id).await);
    let file = or_page!(
        state,
        &s.ctx,
        st.export_catalogue(&s.caller.scope, &id).await
    );
    let json = serde_json::to_vec_pretty(&file).unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"standards-v{}.json\"", c.version),
            ),
        ],
        json,
    )
        .into_response()
}

/// One requirement's row on the audit page.
struct Row<'a> {
    item: &'a StandardAuditItem,
    files_self: Vec<&'a aftersales_store::standards::EvidenceFile>,
    files_official: Vec<&'a aftersales_store::standards::EvidenceFile>,
}

#[derive(Template)]
#[template(path = "network_audit.html")]
struct AuditPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    a: StandardAudit,
    actions: Vec<CorrectiveAction>,
    /// The party whose sheet the reader fills now, if any.
    party: Option<AuditParty>,
    /// The reader raises actions from findings: the people who may own one.
    owners: Option<Vec<Ref>>,
    /// The reader may move or cancel the planned audit: the people who may audit it.
    replan: Option<Vec<Ref>>,
    categories: &'static [StandardCategory],
    outcomes: &'static [Outcome],
    zone: Zone,
    errors: FormErrors,
    sent: Sent,
}

impl AuditPage<'_> {
    fn rows(&self, cat: &StandardCategory) -> Vec<Row<'_>> {
        self.a
            .items
            .iter()
            .filter(|i| i.requirement.category == *cat)
            .map(|i| Row {
                files_self: self
                    .a
                    .evidence
                    .iter()
                    .filter(|e| {
                        e.party == "self" && e.requirement_id.as_deref() == Some(&i.requirement.id)
                    })
                    .collect(),
                files_official: self
                    .a
                    .evidence
                    .iter()
                    .filter(|e| {
                        e.party == "official"
                            && e.requirement_id.as_deref() == Some(&i.requirement.id)
                    })
                    .collect(),
                item: i,
            })
            .collect()
    }
    fn has(&self, cat: &StandardCategory) -> bool {
        self.a.items.iter().any(|i| i.requirement.category == *cat)
    }
    fn cat(&self, c: &StandardCategory) -> String {
        self.t.t(&format!("st-cat-{}", c.as_str()))
    }
    fn text(&self, r: &CatalogueRequirement) -> String {
        local(&self.t, &r.text)
    }
    fn evidence(&self, r: &CatalogueRequirement) -> String {
        self.t.t(&format!("st-evidence-{}", r.evidence.as_str()))
    }
    fn answer(&self, a: &Option<StandardAnswer>) -> String {
        match a {
            Some(a) => {
                let mut s = outcome_label(&self.t, a.outcome);
                if let Some(f) = a.figure {
                    s.push_str(&format!(" ({})", figure(&self.t, f)));
                }
                s
            }
            None => "–".to_string(),
        }
    }
    fn outcome_class(&self, a: &Option<StandardAnswer>) -> &'static str {
        match a.as_ref().and_then(|a| a.outcome) {
            Some(Outcome::Met) => "ok",
            Some(Outcome::Partly) => "warn",
            Some(Outcome::NotMet) => "bad",
            _ => "",
        }
    }
    fn status(&self) -> String {
        self.t.t(&format!("st-audit-{}", self.a.status.as_str()))
    }
    fn outcome(&self, o: &Outcome) -> String {
        outcome_label(&self.t, Some(*o))
    }
    fn allows(&self, r: &CatalogueRequirement, o: &Outcome) -> bool {
        !(r.scoring == Scoring::PassFail && *o == Outcome::Partly)
    }
    fn is_figure(&self, r: &CatalogueRequirement) -> bool {
        r.figure.is_some()
    }
    fn unit(&self, r: &CatalogueRequirement) -> String {
        r.figure
            .as_ref()
            .map(|f| local(&self.t, &f.unit))
            .unwrap_or_default()
    }
    /// The reader's own party's current answer to prefill the sheet.
    fn mine<'b>(&self, i: &'b StandardAuditItem) -> Option<&'b StandardAnswer> {
        match self.party {
            Some(AuditParty::SelfAssessment) => i.self_answer.as_ref(),
            Some(AuditParty::Official) => i.official.as_ref(),
            None => None,
        }
    }
    fn chosen(&self, i: &StandardAuditItem, o: &Outcome) -> bool {
        let key = format!("outcome_{}", i.requirement.id);
        if self.sent.is("answers") {
            return self.sent.get("answers", &key) == o.as_str();
        }
        self.mine(i).and_then(|a| a.outcome) == Some(*o)
    }
    fn figure_value(&self, i: &StandardAuditItem) -> String {
        let key = format!("figure_{}", i.requirement.id);
        if self.sent.is("answers") {
            return self.sent.get("answers", &key).to_string();
        }
        self.mine(i)
            .and_then(|a| a.figure)
            .map(|f| figure(&self.t, f))
            .unwrap_or_default()
    }
    fn comment_value(&self, i: &StandardAuditItem) -> String {
        let key = format!("comment_{}", i.requirement.id);
        if self.sent.is("answers") {
            return self.sent.get("answers", &key).to_string();
        }
        self.mine(i)
            .and_then(|a| a.comment.clone())
            .unwrap_or_default()
    }
    fn party_str(&self) -> &'static str {
        self.party.map_or("", |p| p.as_str())
    }
    fn sheet_title(&self) -> String {
        match self.party {
            Some(AuditParty::Official) => self.t.t("st-sheet-official"),
            _ => self.t.t("st-sheet-self"),
        }
    }
    fn finish_label(&self) -> String {
        match self.party {
            Some(AuditParty::Official) => self.t.t("st-complete"),
            _ => self.t.t("st-submit-self"),
        }
    }
    fn score_rows(&self) -> Vec<(String, String, String)> {
        let get = |s: &Option<aftersales_domain::standards::Scores>, c: &StandardCategory| {
            pct(s
                .as_ref()
                .and_then(|s| s.categories.get(c))
                .and_then(|x| x.percent))
        };
        let mut out: Vec<(String, String, String)> = StandardCategory::ALL
            .iter()
            .filter(|c| self.has(c))
            .map(|c| {
                (
                    self.cat(c),
                    get(&self.a.self_scores, c),
                    get(&self.a.scores, c),
                )
            })
            .collect();
        out.push((
            self.t.t("st-overall"),
            pct(self.a.self_scores.as_ref().and_then(|s| s.overall.percent)),
            pct(self.a.scores.as_ref().and_then(|s| s.overall.percent)),
        ));
        out
    }
    fn verdict(&self) -> String {
        match (&self.a.scores, self.a.passed) {
            (Some(_), Some(true)) => self.t.t("st-passed"),
            (Some(s), Some(false)) if s.mandatory_failed > 0 => self.t.with(
                "st-below-mandatory",
                &[("n", &s.mandatory_failed.to_string())],
            ),
            (Some(_), Some(false)) => self.t.t("st-below-pass-mark"),
            _ => String::new(),
        }
    }
    fn findings(&self) -> Vec<&StandardAuditItem> {
        self.a
            .items
            .iter()
            .filter(|i| rules::is_finding(i.official.as_ref().and_then(|o| o.outcome)))
            .collect()
    }
    fn when(&self, at: &Option<time::OffsetDateTime>) -> String {
        at.map(|at| super::local_time(self.zone, at))
            .unwrap_or_default()
    }
    fn action_status(&self, a: &CorrectiveAction) -> String {
        self.t.t(&format!("st-action-{}", a.status.as_str()))
    }
    fn pass_mark(&self) -> String {
        self.t
            .with("st-pass-mark", &[("pct", &self.a.pass_mark.to_string())])
    }
    fn submitted_by(&self) -> String {
        match (&self.a.self_submitted_by, self.a.self_submitted_at) {
            (Some(by), Some(at)) => self.t.with(
                "st-self-submitted-by",
                &[
                    ("name", &by.label),
                    ("at", &super::local_time(self.zone, at)),
                ],
            ),
            _ => self.t.t("st-self-not-submitted"),
        }
    }
}

async fn audit_page(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let st = state.store.standards();
    let now = state.now();
    let a = or_page!(state, &s.ctx, st.audit(&s.caller.scope, id).await);
    let actions = or_page!(
        state,
        &s.ctx,
        st.actions(&s.caller.scope, Some(id), false, now).await
    );
    let scope = &s.caller.scope;
    let point = a.service_point.id.clone();
    let party = if a.status != AuditStatus::Planned {
        None
    } else if a.auditor.id == scope.user_id() && scope.permits(&point, Permission::StandardsAudit) {
        Some(AuditParty::Official)
    } else if a.self_submitted_at.is_none()
        && scope.permits(&point, Permission::StandardsSelfAssess)
    {
        Some(AuditParty::SelfAssessment)
    } else {
        None
    };
    let owners = if a.status == AuditStatus::Completed
        && scope.permits(&point, Permission::StandardsAudit)
    {
        Some(or_page!(
            state,
            &s.ctx,
            st.action_owners(scope, &point).await
        ))
    } else {
        None
    };
    let replan =
        if a.status == AuditStatus::Planned && scope.permits(&point, Permission::StandardsAudit) {
            Some(or_page!(state, &s.ctx, st.auditors(scope, &point).await))
        } else {
            None
        };
    let zone = or_page!(state, &s.ctx, super::reader_zone(state, s).await);
    (
        status,
        render(&AuditPage {
            chrome: Chrome::new(&t, &s.ctx),
            a,
            actions,
            party,
            owners,
            replan,
            categories: StandardCategory::ALL,
            outcomes: Outcome::ALL,
            zone,
            errors,
            sent,
            t,
        }),
    )
        .into_response()
}

pub async fn audit(State(state): State<AppState>, s: SignedIn, Path(id): Path<String>) -> Response {
    audit_page(&state, &s, &id, Default::default(), StatusCode::OK).await
}

/// Reads a number as people type it: `86,5` or `86.5`.
fn number(v: &str) -> Option<Result<f64, ()>> {
    let v = v.trim().replace(' ', "").replace(',', ".");
    if v.is_empty() {
        return None;
    }
    Some(
        v.parse::<f64>()
            .map_err(|_| ())
            .and_then(|f| if f.is_finite() { Ok(f) } else { Err(()) }),
    )
}

/// The sheet of one party: answers (and files) saved; with "finish" the self-assessment is
/// submitted or the audit completed. Files are checked before anything is saved.
pub async fn answers(
    State(state): State<AppState>,
    s: SignedIn,
    Path((id, party)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(party) = AuditParty::parse("party", &party) else {
        return super::error_for(&state, &s.ctx, StatusCode::NOT_FOUND, "error-not-found");
    };
    let (p, files) = form_with_named_files(&headers, &body);
    let st = state.store.standards();
    let now = state.now();
    let audit = match st.audit(&s.caller.scope, &id).await {
        Ok(a) => a,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let mut errs: Vec<FieldError> = Vec::new();
    let mut answers = Vec::new();
    let sent = |k: &str| p.iter().any(|(name, _)| name == k);
    for (i, item) in audit.items.iter().enumerate() {
        let rid = &item.requirement.id;
        // A requirement whose fields the form did not carry stays as it was.
        if !["outcome", "figure", "comment"]
            .iter()
            .any(|f| sent(&format!("{f}_{rid}")))
        {
            continue;
        }
        let figure = match number(field(&p, &format!("figure_{rid}"))) {
            Some(Ok(f)) => Some(f),
            Some(Err(())) => {
                errs.push(
                    FieldError::new(
                        format!("answers.{i}.figure"),
                        Rule::Format,
                        "a figure is a number",
                    )
                    .hint("st-err-figure-number"),
                );
                None
            }
            None => None,
        };
        let outcome =
            Some(field(&p, &format!("outcome_{rid}")).to_string()).filter(|o| !o.is_empty());
        let comment =
            Some(field(&p, &format!("comment_{rid}")).trim().to_string()).filter(|c| !c.is_empty());
        answers.push(AnswerInput {
            requirement_id: rid.clone(),
            outcome,
            figure,
            comment,
        });
    }
    let mut uploads = Vec::new();
    for (name, file_name, bytes) in &files {
        let Some(rid) = name.strip_prefix("file_") else {
            continue;
        };
        match rules::evidence_type("file", bytes) {
            Ok(_) => uploads.push((rid.to_string(), file_name, bytes)),
            Err(e) => errs.push(e),
        }
    }
    let finish = field(&p, "finish") == "1";
    let again = |errors: FormErrors| {
        audit_page(
            &state,
            &s,
            &id,
            (errors, Sent::new("answers", p.clone())),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    if !errs.is_empty() {
        return again(FormErrors(errs)).await;
    }
    let saved = st
        .save_answers(
            &s.caller.scope,
            &id,
            party,
            &AnswersInput {
                answers,
                finish: false,
            },
            now,
        )
        .await;
    if let Err(e) = saved {
        return match e {
            StoreError::Invalid(v) => again(FormErrors(v.0)).await,
            e => store_error(&state, &s.ctx, e),
        };
    }
    for (rid, file_name, bytes) in uploads {
        let r = st
            .add_evidence(&s.caller.scope, &id, &rid, party, (file_name, bytes), now)
            .await;
        if let Err(e) = r {
            return match e {
                StoreError::Invalid(v) => again(FormErrors(v.0)).await,
                e => store_error(&state, &s.ctx, e),
            };
        }
    }
    if finish {
        let r = st
            .save_answers(
                &s.caller.scope,
                &id,
                party,
                &AnswersInput {
                    answers: Vec::new(),
                    finish: true,
                },
                now,
            )
            .await;
        if let Err(e) = r {
            return match e {
                StoreError::Invalid(v) => {
                    audit_page(
                        &state,
                        &s,
                        &id,
                        (FormErrors(v.0), Sent::default()),
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await
                }
                e => store_error(&state, &s.ctx, e),
            };
        }
    }
    see_other(&format!("/network/audits/{id}"))
}

/// Moves a planned audit (day, auditor) or cancels it.
pub async fn replan(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let input = StandardAuditInput {
        service_point_id: String::new(),
        auditor_id: field(&p, "auditor_id").to_string(),
        planned_on: field(&p, "planned_on").to_string(),
    };
    let cancel = field(&p, "cancel") == "1";
    let r = state
        .store
        .standards()
        .replan_audit(&s.caller.scope, &id, &input, cancel, state.now())
        .await
        .map(|_| ());
    super::after_form(&state, &s, r, &format!("/network/audits/{id}"), |errors| {
        audit_page(
            &state,
            &s,
            &id,
            (errors, Sent::new("replan", p.clone())),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    })
    .await
}

pub async fn raise(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let input = CorrectiveActionInput {
        requirement_id: field(&p, "requirement_id").to_string(),
        title: field(&p, "title").to_string(),
        owner_id: field(&p, "owner_id").to_string(),
        due_on: field(&p, "due_on").to_string(),
    };
    let r = state
        .store
        .standards()
        .raise_action(&s.caller.scope, &id, &input, state.now())
        .await
        .map(|_| ());
    super::after_form(&state, &s, r, &format!("/network/audits/{id}"), |errors| {
        audit_page(
            &state,
            &s,
            &id,
            (errors, Sent::new("action", p.clone())),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    })
    .await
}

#[derive(Template)]
#[template(path = "network_action.html")]
struct ActionPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    a: CorrectiveAction,
    may_close: bool,
    may_review: bool,
    zone: Zone,
    errors: FormErrors,
    sent: Sent,
}

impl ActionPage<'_> {
    fn status(&self) -> String {
        self.t.t(&format!("st-action-{}", self.a.status.as_str()))
    }
    fn requirement(&self) -> String {
        local(&self.t, &self.a.requirement_text)
    }
    fn when(&self, at: &Option<time::OffsetDateTime>) -> String {
        at.map(|at| super::local_time(self.zone, at))
            .unwrap_or_default()
    }
    fn verified_by(&self) -> String {
        self.a
            .verified_by
            .as_ref()
            .map(|r| r.label.clone())
            .unwrap_or_default()
    }
}

async fn action_page(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let a = or_page!(
        state,
        &s.ctx,
        state
            .store
            .standards()
            .action(&s.caller.scope, id, state.now())
            .await
    );
    let scope = &s.caller.scope;
    let may_close = a.status == ActionStatus::Open
        && scope.permits(&a.service_point.id, Permission::StandardsSelfAssess);
    let may_review = a.status == ActionStatus::Submitted
        && scope.permits(&a.service_point.id, Permission::StandardsAudit);
    let zone = or_page!(state, &s.ctx, super::reader_zone(state, s).await);
    (
        status,
        render(&ActionPage {
            chrome: Chrome::new(&t, &s.ctx),
            a,
            may_close,
            may_review,
            zone,
            errors,
            sent,
            t,
        }),
    )
        .into_response()
}

pub async fn action(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    action_page(&state, &s, &id, Default::default(), StatusCode::OK).await
}

/// Closes an open action: its evidence file(s) and the note, in one form.
pub async fn submit(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (p, files) = form_with_named_files(&headers, &body);
    let st = state.store.standards();
    let now = state.now();
    let again = |errors: FormErrors| {
        action_page(
            &state,
            &s,
            &id,
            (errors, Sent::new("close", p.clone())),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let mut errs = Vec::new();
    for (_, _, bytes) in &files {
        if let Err(e) = rules::evidence_type("file", bytes) {
            errs.push(e);
        }
    }
    if field(&p, "note").trim().chars().count() < 3 {
        errs.push(
            FieldError::new("note", Rule::TooShort, "describe what was done").hint("st-err-note"),
        );
    }
    if !errs.is_empty() {
        return again(FormErrors(errs)).await;
    }
    for (_, file_name, bytes) in &files {
        if let Err(e) = st
            .add_action_evidence(&s.caller.scope, &id, file_name, bytes, now)
            .await
        {
            return match e {
                StoreError::Invalid(v) => again(FormErrors(v.0)).await,
                e => store_error(&state, &s.ctx, e),
            };
        }
    }
    let r = st
        .submit_action(
            &s.caller.scope,
            &id,
            &ActionSubmission {
                note: field(&p, "note").to_string(),
            },
            now,
        )
        .await
        .map(|_| ());
    super::after_form(&state, &s, r, &format!("/network/actions/{id}"), again).await
}

pub async fn review(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let input = ActionReview {
        verified: field(&p, "verified") == "1",
        note: Some(field(&p, "note").trim().to_string()).filter(|n| !n.is_empty()),
    };
    let r = state
        .store
        .standards()
        .review_action(&s.caller.scope, &id, &input, state.now())
        .await
        .map(|_| ());
    super::after_form(&state, &s, r, &format!("/network/actions/{id}"), |errors| {
        action_page(
            &state,
            &s,
            &id,
            (errors, Sent::new("review", p.clone())),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    })
    .await
}

/// An evidence file, downloaded.
pub async fn evidence(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let (meta, bytes) = or_page!(
        state,
        &s.ctx,
        state.store.standards().evidence(&s.caller.scope, &id).await
    );
    crate::api::standards::evidence_response(&meta, bytes)
}
