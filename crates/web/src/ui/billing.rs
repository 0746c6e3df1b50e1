//! Billing screens: the documents in reach (open items first), one document (issue, PDF, EHF, payments,
//! credit with a reason), the legal entity's settings and series with the SAF-T (PT) export, and the
//! customer's own document page behind its link. Invoicing a repair order starts on the repair order.

use aftersales_domain::billing::{DocKind, Market};
use aftersales_domain::org::Permission;
use aftersales_domain::validation::Rule;
use aftersales_domain::ValidationErrors;
use aftersales_store::billing::{
    parse_date, BillingDocument, DocSummary, LegalEntity, LegalEntityInput, PaymentInput,
    PublicDocument, SaftRequest, Series, SeriesInput, PAYMENT_METHODS,
};
use aftersales_store::StoreError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{
    error_page, field, form_pairs, render, see_other, store_error, Chrome, FormErrors, RequestCtx,
    SignedIn,
};
use crate::i18n::Tr;
use crate::AppState;

fn query(q: &Option<String>) -> Vec<(String, String)> {
    q.as_deref()
        .map(|q| form_pairs(q.as_bytes()))
        .unwrap_or_default()
}

fn version(p: &[(String, String)]) -> Result<i64, StoreError> {
    field(p, "version").parse::<i64>().map_err(|_| {
        StoreError::Invalid(ValidationErrors::single(
            "version",
            Rule::Format,
            "the form lost its version; reload the page",
        ))
    })
}

// ---- List ------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "billing.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    docs: Vec<DocSummary>,
    open_only: bool,
    /// The next page of the list.
    next: Option<String>,
}

impl ListPage<'_> {
    fn status(&self, d: &DocSummary) -> String {
        if d.status == "draft" {
            self.t.t("bill-draft")
        } else {
            self.t.t(&format!("bill-pay-{}", d.payment_status.as_str()))
        }
    }
    fn kind(&self, k: &DocKind) -> String {
        self.t.t(&format!("bill-kind-{}", k.as_str()))
    }
}

pub async fn list(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let q = query(&q);
    let open_only = field(&q, "open") == "1";
    let customer = Some(field(&q, "customer")).filter(|c| !c.is_empty());
    let filter = aftersales_store::billing::DocFilter {
        customer_id: customer,
        repair_order_id: None,
        only_open: open_only,
    };
    let page = match state
        .store
        .billing()
        .documents(
            &s.caller.scope,
            &filter,
            Some(field(&q, "cursor")).filter(|c| !c.is_empty()),
            super::PAGE_ROWS,
            state.now(),
        )
        .await
    {
        Ok(d) => d,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let next = page
        .next_cursor
        .map(|c| super::next_page("/billing", &q, "cursor", &c));
    let docs = page.items;
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    render(&ListPage {
        chrome: Chrome::new(&t, &s.ctx),
        docs,
        open_only,
        next,
        t,
    })
}

// ---- One document ------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "billing_document.html")]
struct DocPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    d: BillingDocument,
    can_write: bool,
    ehf: bool,
    methods: &'static [&'static str],
    today: String,
    errors: FormErrors,
    /// Issuing was asked for: the totals are shown for a last look, with the payment method chosen.
    confirm_issue: Option<String>,
}

impl DocPage<'_> {
    fn kind(&self) -> String {
        self.t.t(&format!("bill-kind-{}", self.d.kind.as_str()))
    }
    fn pay_status(&self) -> String {
        self.t
            .t(&format!("bill-pay-{}", self.d.payment_status.as_str()))
    }
    fn tax(&self, code: &aftersales_domain::billing::TaxCode) -> String {
        self.t.t(&format!("bill-tax-{}", code.as_str()))
    }
    fn method(&self, m: &str) -> String {
        self.t.t(&format!("bill-method-{m}"))
    }
    fn pay_type(&self, p: &str) -> String {
        self.t.t(&format!("pay-{p}"))
    }
    fn draft(&self) -> bool {
        self.d.status == "draft"
    }
    fn is_invoice(&self) -> bool {
        self.d.kind == DocKind::Invoice
    }
    fn receipt(&self) -> bool {
        self.d.doc_type == "FR"
    }
    fn open(&self) -> bool {
        !self.d.open.amount.starts_with('-') && self.d.open.amount != "0.00"
    }
    /// Something is left to credit.
    fn creditable(&self) -> bool {
        let v = |m: &str| {
            aftersales_domain::money::parse_centi("m", m, i64::MIN, i64::MAX).unwrap_or(0)
        };
        v(&self.d.credited_total.amount) < v(&self.d.gross.amount)
    }
    fn portugal(&self) -> bool {
        self.d.market == Market::Portugal
    }
    fn tax_codes(&self) -> &'static [aftersales_domain::billing::TaxCode] {
        aftersales_domain::billing::TaxCode::ALL
    }
    fn kinds(&self) -> &'static [&'static str] {
        &["labour", "part", "sublet", "other"]
    }
    fn is_code(
        &self,
        l: &aftersales_store::billing::DocLine,
        c: &aftersales_domain::billing::TaxCode,
    ) -> bool {
        l.tax_code == *c
    }
    fn kind_label(&self, k: &str) -> String {
        self.t.t(&format!("line-{k}"))
    }
    fn is_kind(&self, l: &aftersales_store::billing::DocLine, k: &str) -> bool {
        l.kind == k
    }
    fn buyer_reference_text(&self) -> String {
        self.d.buyer_reference.clone().unwrap_or_default()
    }
    fn note_text(&self) -> String {
        self.d.note.clone().unwrap_or_default()
    }
    fn pt_types(&self) -> &'static [&'static str] {
        &["FT", "FS", "FR"]
    }
    fn is_type(&self, ty: &str) -> bool {
        self.d.doc_type == ty
    }
    fn pt_label(&self, ty: &str) -> String {
        self.t.t(&format!("bill-pt-{ty}"))
    }
}

async fn doc_page(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    doc_page_with(state, s, id, errors, status, None).await
}

async fn doc_page_with(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    errors: FormErrors,
    status: StatusCode,
    confirm_issue: Option<String>,
) -> Response {
    let d = match state
        .store
        .billing()
        .document(&s.caller.scope, id, state.now())
        .await
    {
        Ok(d) => d,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    // EHF is offered where the document can be written as one (a Norwegian business buyer).
    let ehf = if d.market == Market::Norway && d.status == "issued" {
        match state.store.billing().ehf(&s.caller.scope, id).await {
            Ok(_) => true,
            Err(StoreError::Invalid(_)) => false,
            Err(e) => return store_error(state, &s.ctx, e),
        }
    } else {
        false
    };
    (
        status,
        render(&DocPage {
            chrome: Chrome::new(&t, &s.ctx),
            can_write: s
                .caller
                .scope
                .permits(&d.organisation_id, Permission::BillingWrite),
            ehf,
            methods: PAYMENT_METHODS,
            today: state.now().date().to_string(),
            d,
            errors,
            confirm_issue,
            t,
        }),
    )
        .into_response()
}

pub async fn document(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    doc_page(&state, &s, &id, FormErrors::default(), StatusCode::OK).await
}

async fn after(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    r: Result<BillingDocument, StoreError>,
) -> Response {
    match r {
        Ok(d) => see_other(&format!("/billing/documents/{}", d.id)),
        Err(StoreError::Invalid(e)) => {
            doc_page(
                state,
                s,
                id,
                FormErrors(e.0),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(StoreError::Conflict { .. }) => {
            let e = ValidationErrors::single(
                "version",
                Rule::NotAllowed,
                "someone changed this document meanwhile; check it and try again",
            );
            doc_page(state, s, id, FormErrors(e.0), StatusCode::CONFLICT).await
        }
        Err(e) => store_error(state, &s.ctx, e),
    }
}

/// Issue a draft: the second click.
pub async fn issue(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let method = Some(field(&p, "payment_method")).filter(|m| !m.is_empty());
    // Issuing cannot be undone: the first click shows the totals, the confirmation issues.
    if field(&p, "confirm") != "yes" {
        return doc_page_with(
            &state,
            &s,
            &id,
            FormErrors::default(),
            StatusCode::OK,
            Some(method.unwrap_or_default().to_string()),
        )
        .await;
    }
    let r = match version(&p) {
        Ok(v) => {
            state
                .store
                .billing()
                .issue(&s.caller.scope, &id, v, method, state.now())
                .await
        }
        Err(e) => Err(e),
    };
    after(&state, &s, &id, r).await
}

/// A free-standing draft invoice started from the customer's page; more lines are added on the draft.
pub async fn create(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let input = aftersales_store::billing::DraftInput {
        organisation_id: field(&p, "organisation_id").into(),
        customer_id: field(&p, "customer_id").into(),
        doc_type: None,
        note: None,
        buyer_reference: None,
        lines: vec![aftersales_store::billing::LineInput {
            kind: Some("other".into()),
            code: None,
            description: field(&p, "description").into(),
            quantity: field(&p, "quantity").into(),
            unit_price: field(&p, "unit_price").into(),
            tax_code: None,
            exemption_code: None,
            exemption_reason: None,
        }],
    };
    match state
        .store
        .billing()
        .create_draft(&s.caller.scope, &input, state.now())
        .await
    {
        Ok(d) => see_other(&format!("/billing/documents/{}", d.id)),
        // Back on the customer's page, where the form is, with what was typed.
        Err(StoreError::Invalid(e)) => {
            let customer = input.customer_id.clone();
            super::crm::detail_page(
                &state,
                &s,
                &customer,
                (FormErrors(e.0), super::Sent::new("invoice", p)),
                StatusCode::UNPROCESSABLE_ENTITY,
                (None, None),
            )
            .await
        }
        Err(e) => store_error(&state, &s.ctx, e),
    }
}

/// Save a draft's lines (the editor on the draft page): each line's fields repeat in order; a line whose
/// description is empty is dropped.
pub async fn save_lines(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let all = |k: &str| -> Vec<String> {
        p.iter()
            .filter(|(a, _)| a == k)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let (desc, qty, price, tax, ex, kind, code) = (
        all("description"),
        all("quantity"),
        all("unit_price"),
        all("tax_code"),
        all("exemption_code"),
        all("kind"),
        all("code"),
    );
    let get = |v: &Vec<String>, i: usize| v.get(i).cloned().unwrap_or_default();
    let lines: Vec<aftersales_store::billing::LineInput> = (0..desc.len())
        .filter(|&i| !desc[i].trim().is_empty())
        .map(|i| aftersales_store::billing::LineInput {
            kind: Some(get(&kind, i)).filter(|k| !k.is_empty()),
            code: Some(get(&code, i)).filter(|k| !k.trim().is_empty()),
            description: desc[i].clone(),
            quantity: get(&qty, i),
            unit_price: get(&price, i),
            tax_code: Some(get(&tax, i)).filter(|k| !k.is_empty()),
            exemption_code: Some(get(&ex, i)).filter(|k| !k.trim().is_empty()),
            exemption_reason: None,
        })
        .collect();
    let r = match version(&p) {
        Ok(v) => {
            let note = Some(field(&p, "note").to_string()).filter(|n| !n.trim().is_empty());
            let buyer_reference =
                Some(field(&p, "buyer_reference").to_string()).filter(|n| !n.trim().is_empty());
            let current = state
                .store
                .billing()
                .document(&s.caller.scope, &id, state.now())
                .await;
            match current {
                Ok(d) => {
                    state
                        .store
                        .billing()
                        .update_draft(
                            &s.caller.scope,
                            &id,
                            &aftersales_store::billing::DraftUpdate {
                                doc_type: Some(d.doc_type),
                                note,
                                buyer_reference,
                                lines,
                            },
                            v,
                            state.now(),
                        )
                        .await
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    };
    after(&state, &s, &id, r).await
}

/// Change a Portuguese draft's type (FT, FS, FR).
pub async fn set_type(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let r = match version(&p) {
        Ok(v) => {
            state
                .store
                .billing()
                .set_draft_type(&s.caller.scope, &id, field(&p, "doc_type"), v, state.now())
                .await
        }
        Err(e) => Err(e),
    };
    after(&state, &s, &id, r).await
}

pub async fn delete(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let r = state
        .store
        .billing()
        .delete_draft(&s.caller.scope, &id)
        .await;
    super::answer(
        &state,
        &s,
        r,
        |()| see_other("/billing"),
        |errors| doc_page(&state, &s, &id, errors, StatusCode::UNPROCESSABLE_ENTITY),
    )
    .await
}

/// Credit an issued invoice with a reason: the credit note is issued at once.
pub async fn credit(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let now = state.now();
    // A full credit is drafted and issued in one step; a partial one opens in the draft editor.
    let r = state
        .store
        .billing()
        .credit(
            &s.caller.scope,
            &id,
            field(&p, "reason"),
            field(&p, "partial") != "on",
            now,
        )
        .await;
    after(&state, &s, &id, r).await
}

pub async fn payment(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let input = PaymentInput {
        amount: field(&p, "amount").into(),
        method: field(&p, "method").into(),
        paid_on: field(&p, "paid_on").into(),
        reference: Some(field(&p, "reference").to_string()),
    };
    let r = state
        .store
        .billing()
        .record_payment(&s.caller.scope, &id, &input, state.now())
        .await;
    after(&state, &s, &id, r).await
}

pub async fn pdf(State(state): State<AppState>, s: SignedIn, Path(id): Path<String>) -> Response {
    let r = state
        .store
        .billing()
        .document_pdf(&s.caller.scope, &id)
        .await;
    super::answer(
        &state,
        &s,
        r,
        |(name, bytes)| crate::download::pdf_response(&name, bytes, false),
        |errors| doc_page(&state, &s, &id, errors, StatusCode::UNPROCESSABLE_ENTITY),
    )
    .await
}

pub async fn ehf(State(state): State<AppState>, s: SignedIn, Path(id): Path<String>) -> Response {
    match state.store.billing().ehf(&s.caller.scope, &id).await {
        Ok(xml) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/xml; charset=utf-8".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"ehf-{id}.xml\""),
                ),
            ],
            xml,
        )
            .into_response(),
        Err(StoreError::Invalid(e)) => {
            doc_page(
                &state,
                &s,
                &id,
                FormErrors(e.0),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => store_error(&state, &s.ctx, e),
    }
}

/// Invoice a repair order: the first click. Opens the customer's draft (or the first one).
pub async fn invoice_order(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    match state
        .store
        .billing()
        .invoice_repair_order(&s.caller.scope, &id, state.now())
        .await
    {
        Ok(drafts) => {
            let first = drafts
                .iter()
                .find(|d| d.pay_type.as_deref() == Some("customer"))
                .or(drafts.first());
            match first {
                Some(d) => see_other(&format!("/billing/documents/{}", d.id)),
                None => see_other(&format!("/workshop/repair-orders/{id}")),
            }
        }
        Err(StoreError::Invalid(e)) => {
            super::workshop::order_with_errors(&state, &s, &id, FormErrors(e.0)).await
        }
        Err(e) => store_error(&state, &s.ctx, e),
    }
}

// ---- Settings and SAF-T ---------------------------------------------------------------------------

/// (organisation id, name, its legal entity, series, may manage)
type EntityRow = (String, String, Option<LegalEntity>, Vec<Series>, bool);

#[derive(Template)]
#[template(path = "billing_settings.html")]
struct SettingsPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    orgs: Vec<EntityRow>,
    errors: FormErrors,
}

async fn settings_page(
    state: &AppState,
    s: &SignedIn,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let mut ids = s.caller.scope.orgs_with(Permission::BillingManage);
    for o in s.caller.scope.orgs_with(Permission::BillingRead) {
        if !ids.contains(&o) {
            ids.push(o);
        }
    }
    let mut orgs = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for id in ids {
        let entity = match state
            .store
            .billing()
            .legal_entity(&s.caller.scope, &id)
            .await
        {
            Ok(e) => e,
            Err(StoreError::NotFound | StoreError::Forbidden(_)) => None,
            Err(e) => return store_error(state, &s.ctx, e),
        };
        let Some(e) = entity else {
            // Where nothing is set up yet, managers may create the entity here.
            if s.caller.scope.permits(&id, Permission::BillingManage) {
                match state
                    .store
                    .org()
                    .get_organisation(&s.caller.scope, &id)
                    .await
                {
                    Ok(o) => orgs.push((id.clone(), o.name, None, vec![], true)),
                    Err(StoreError::NotFound) => {}
                    Err(e) => return store_error(state, &s.ctx, e),
                }
            }
            continue;
        };
        if seen.contains(&e.id) {
            continue;
        }
        seen.push(e.id.clone());
        // An entity inherited from above the caller's reach shows without its series.
        let series = match state.store.billing().series(&s.caller.scope, &e.id).await {
            Ok(x) => x,
            Err(StoreError::NotFound | StoreError::Forbidden(_)) => Vec::new(),
            Err(e) => return store_error(state, &s.ctx, e),
        };
        let manage = s
            .caller
            .scope
            .permits(&e.organisation_id, Permission::BillingManage);
        let name = e.name.clone();
        orgs.push((e.organisation_id.clone(), name, Some(e), series, manage));
    }
    (
        status,
        render(&SettingsPage {
            chrome: Chrome::new(&t, &s.ctx),
            orgs,
            errors,
            t,
        }),
    )
        .into_response()
}

/// A settings form that failed: its errors on the settings page, anything else as an error page.
async fn settings_error(state: &AppState, s: &SignedIn, e: StoreError) -> Response {
    match e {
        StoreError::Invalid(e) => {
            settings_page(state, s, FormErrors(e.0), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        e => store_error(state, &s.ctx, e),
    }
}

pub async fn settings(State(state): State<AppState>, s: SignedIn) -> Response {
    settings_page(&state, &s, FormErrors::default(), StatusCode::OK).await
}

pub async fn save_entity(
    State(state): State<AppState>,
    s: SignedIn,
    Path(org): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let opt = |k: &str| Some(field(&p, k).to_string()).filter(|v| !v.trim().is_empty());
    let input = LegalEntityInput {
        region: field(&p, "region").into(),
        name: field(&p, "name").into(),
        org_number: opt("org_number"),
        nif: opt("nif"),
        vat_registered: Some(field(&p, "vat_registered") == "on"),
        foretaksregisteret: Some(field(&p, "foretaksregisteret") == "on"),
        street: opt("street"),
        postal_code: opt("postal_code"),
        city: opt("city"),
        email: opt("email"),
        bank_account: opt("bank_account"),
        bic: opt("bic"),
        payment_days: field(&p, "payment_days").trim().parse().ok(),
        kid_scheme: opt("kid_scheme"),
        certificate: opt("certificate"),
        warranty_customer_id: opt("warranty_customer_id"),
        goodwill_customer_id: opt("goodwill_customer_id"),
    };
    let v = field(&p, "version").parse::<i64>().ok();
    match state
        .store
        .billing()
        .set_legal_entity(&s.caller.scope, &org, &input, v, state.now())
        .await
    {
        Ok(_) => see_other("/billing/settings"),
        Err(e) => settings_error(&state, &s, e).await,
    }
}

pub async fn add_series(
    State(state): State<AppState>,
    s: SignedIn,
    Path(entity): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let input = SeriesInput {
        doc_type: field(&p, "doc_type").into(),
        code: field(&p, "code").into(),
        validation_code: Some(field(&p, "validation_code").to_string()),
        kid_prefix: Some(field(&p, "kid_prefix").to_string()),
    };
    match state
        .store
        .billing()
        .add_series(&s.caller.scope, &entity, &input, state.now())
        .await
    {
        Ok(_) => see_other("/billing/settings"),
        Err(e) => settings_error(&state, &s, e).await,
    }
}

/// SAF-T (PT) for a period, as a file download.
pub async fn saft(
    State(state): State<AppState>,
    s: SignedIn,
    Path(entity): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(e) = state
        .store
        .billing()
        .legal_entity_by_id(&s.caller.scope, &entity)
        .await
    {
        return store_error(&state, &s.ctx, e);
    }
    let q = query(&q);
    let mut errs = ValidationErrors::default();
    let from = errs.take(parse_date("from", field(&q, "from")));
    let to = errs.take(parse_date("to", field(&q, "to")));
    let r = match (from, to) {
        (Some(from), Some(to)) => state
            .store
            .billing()
            .saft_pt(
                &s.caller.scope,
                &entity,
                &SaftRequest {
                    from,
                    to,
                    created: state.now().date(),
                    producer_nif: state.config.producer_nif.clone(),
                    product_version: env!("CARGO_PKG_VERSION").into(),
                },
            )
            .await
            .map(|b| (b, from, to)),
        _ => Err(StoreError::Invalid(errs)),
    };
    match r {
        Ok((bytes, from, to)) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/xml; charset=windows-1252".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"saft-pt-{from}-{to}.xml\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => settings_error(&state, &s, e).await,
    }
}

// ---- The customer's page ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "public_document.html")]
struct PublicPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    d: PublicDocument,
}

impl PublicPage<'_> {
    fn kind(&self) -> String {
        self.t.t(&format!("bill-kind-{}", self.d.kind.as_str()))
    }
    fn pay_status(&self) -> String {
        self.t
            .t(&format!("bill-pay-{}", self.d.payment_status.as_str()))
    }
    fn is_invoice(&self) -> bool {
        self.d.kind == DocKind::Invoice
    }
}

pub async fn public_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(token): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = query(&q);
    let d = match state
        .store
        .billing()
        .public_document(&token, state.now())
        .await
    {
        Ok(d) => d,
        Err(StoreError::NotFound) => {
            return error_page(&state, ctx.lang, StatusCode::NOT_FOUND, "error-not-found")
        }
        Err(e) => {
            tracing::error!(error = %e, "public document");
            return error_page(
                &state,
                ctx.lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                "error-internal",
            );
        }
    };
    let lang = if q.iter().any(|(k, _)| k == "lang") {
        ctx.lang
    } else {
        aftersales_domain::i18n::Language::from_tag(&d.language).unwrap_or(ctx.lang)
    };
    let t = Tr {
        i18n: &state.i18n,
        lang,
    };
    let ctx = RequestCtx { lang, ..ctx };
    render(&PublicPage {
        chrome: Chrome::new(&t, &ctx),
        d,
        t,
    })
}

pub async fn public_pdf(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(token): Path<String>,
) -> Response {
    match state.store.billing().public_document_pdf(&token).await {
        Ok((name, bytes)) => crate::download::pdf_response(&name, bytes, false),
        Err(StoreError::NotFound) => {
            error_page(&state, ctx.lang, StatusCode::NOT_FOUND, "error-not-found")
        }
        Err(e) => {
            tracing::error!(error = %e, "public document pdf");
            error_page(
                &state,
                ctx.lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                "error-internal",
            )
        }
    }
}
