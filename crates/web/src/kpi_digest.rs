//! The words of a KPI digest e-mail, in the recipient's language: the period, each KPI's value
//! against the period before and its status against the target, the columns side by side where
//! the recipient reaches several service points or markets, and the link to the same view.

use aftersales_store::kpis::{Dashboard, DueDigest};

use crate::i18n::{I18n, Tr};
use crate::ui::kpis::{figure_text, rag_text};

/// (subject, body) of `due`'s digest over `dashboard`; `base` is the product's public address.
pub fn compose(
    i18n: &I18n,
    due: &DueDigest,
    dashboard: &Dashboard,
    base: &str,
) -> (String, String) {
    let t = Tr {
        i18n,
        lang: due.language,
    };
    let range = t.with(
        "kpi-range",
        &[
            ("from", &t.date(&due.period.from.to_string())),
            ("to", &t.date(&due.period.to.to_string())),
        ],
    );
    let subject = t.with(
        &format!("kpi-digest-subject-{}", due.frequency),
        &[("period", &range)],
    );
    let mut body = t.with("kpi-digest-hello", &[("name", &due.name)]);
    body.push_str("\n\n");
    body.push_str(&t.with("kpi-digest-intro", &[("period", &range)]));
    body.push_str("\n\n");
    for (i, v) in dashboard.values.iter().enumerate() {
        let name = t.t(&format!("kpi-name-{}", v.kpi.as_str()));
        let mut line = format!(
            "- {name}: {} ({}: {})",
            figure_text(&t, v.kpi, &v.figure),
            t.t("kpi-previous"),
            figure_text(&t, v.kpi, &v.previous)
        );
        let status = rag_text(&t, &v.rag);
        if !status.is_empty() {
            line.push_str(&format!(" · {status}"));
        }
        for (col, vs) in &dashboard.columns {
            if let Some(cv) = vs.get(i) {
                line.push_str(&format!(
                    "\n    {}: {}",
                    col.label,
                    figure_text(&t, cv.kpi, &cv.figure)
                ));
            }
        }
        body.push_str(&line);
        body.push('\n');
    }
    let link = format!(
        "{base}/kpis?from={}&to={}&lang={}",
        due.period.from,
        due.period.to,
        due.language.code()
    );
    body.push('\n');
    body.push_str(&t.with("kpi-digest-link", &[("link", &link)]));
    body.push_str("\n\n");
    body.push_str(&t.t("kpi-digest-why"));
    (subject, body)
}
