//! The knowledge base as people use and write it: the articles triage suggests, each in the
//! reader's language with what its remote fix achieved, and the form to write one in all three
//! languages (service managers, market customer-service managers, administrators).

use aftersales_domain::cases::Category;
use aftersales_domain::i18n::Language;
use aftersales_domain::org::Permission;
use aftersales_store::cases::triage::{Article, ArticleInput, Outcomes};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{field, form_pairs, render, store_error, Chrome, FormErrors, Sent, SignedIn};
use crate::i18n::Tr;
use crate::AppState;

#[derive(Template)]
#[template(path = "knowledge.html")]
struct KnowledgePage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    articles: Vec<(Article, Outcomes)>,
    /// Where the reader may publish: (organisation id, name); empty hides the form.
    owners: Vec<(String, String)>,
    categories: &'static [Category],
    fix_kinds: &'static [&'static str],
    languages: [Language; 3],
    errors: FormErrors,
    sent: Sent,
    done: bool,
}

impl KnowledgePage<'_> {
    fn label(&self, prefix: &str, code: &str) -> String {
        self.t.t(&format!("{prefix}-{code}"))
    }
}

async fn page(
    state: &AppState,
    s: &SignedIn,
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
    done: bool,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let cases = state.store.cases();
    let list = match cases.list_articles(&s.caller.scope, s.ctx.lang).await {
        Ok(l) => l,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let mut articles = Vec::new();
    for a in list {
        match cases.article_outcomes(&a.id, state.now()).await {
            Ok(o) => articles.push((a, o)),
            Err(e) => return store_error(state, &s.ctx, e),
        }
    }
    let owners = match super::orgs_named(state, s, Permission::KnowledgeManage).await {
        Ok(o) => o,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    (
        status,
        render(&KnowledgePage {
            chrome: Chrome::new(&t, &s.ctx),
            articles,
            owners,
            categories: Category::ALL,
            fix_kinds: aftersales_store::cases::triage::FIX_KINDS,
            languages: Language::ALL,
            errors,
            sent,
            done,
            t,
        }),
    )
        .into_response()
}

pub async fn list(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    let done = field(&q, "done") == "article";
    page(&state, &s, Default::default(), StatusCode::OK, done).await
}

pub async fn create(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let f = |name: &str| field(&p, name).to_string();
    let input = ArticleInput {
        category: f("category"),
        keywords: f("keywords"),
        fix_kind: f("fix_kind"),
        title_nb: f("title_nb"),
        title_en: f("title_en"),
        title_pt: f("title_pt"),
        steps_nb: f("steps_nb"),
        steps_en: f("steps_en"),
        steps_pt: f("steps_pt"),
    };
    let r = state
        .store
        .cases()
        .create_article(
            &s.caller.scope,
            field(&p, "organisation_id"),
            &input,
            state.now(),
        )
        .await
        .map(|_| ());
    super::after_form(&state, &s, r, "/knowledge?done=article", |errors| {
        page(
            &state,
            &s,
            (errors, Sent::new("article", p)),
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
        )
    })
    .await
}
