//! System events in the reader's language: a case event or a timeline entry is stored as a kind
//! with parameters (docs: "People read it"), and this turns it into a sentence. Codes among the
//! parameters (a channel, a reason, a status) become their labels; names and numbers stay as given.

use std::collections::BTreeMap;

use crate::i18n::Tr;

fn p<'a>(params: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    params.get(key).map(String::as_str).unwrap_or("")
}

/// The sentence for a case event, or `None` when the event has no facts to tell (a status change
/// shows its status; a note or message shows its text).
pub fn case_event(t: &Tr<'_>, kind: &str, params: &BTreeMap<String, String>) -> Option<String> {
    if params.is_empty() {
        return None;
    }
    let label = |prefix: &str, code: &str| t.t(&format!("{prefix}-{code}"));
    Some(match kind {
        "created" => t.with(
            "case-fact-created",
            &[("channel", &label("case-channel", p(params, "channel")))],
        ),
        "status" if p(params, "by") == "customer" => t.t("case-fact-customer-wrote"),
        "handoff" if params.contains_key("category") => t.with(
            "case-fact-handoff-rule",
            &[
                ("to", p(params, "to")),
                ("category", &label("category", p(params, "category"))),
            ],
        ),
        "handoff" => t.with("case-fact-handoff", &[("to", p(params, "to"))]),
        "escalated" => {
            let reason = label("escalation", p(params, "reason"));
            match params.get("words") {
                Some(words) => t.with(
                    "case-fact-escalated-words",
                    &[("reason", &reason), ("words", words)],
                ),
                None => t.with("case-fact-escalated", &[("reason", &reason)]),
            }
        }
        "breach" => t.with(
            "case-fact-breach",
            &[
                ("timer", &label("case-timer", p(params, "timer"))),
                ("minutes", p(params, "minutes")),
            ],
        ),
        "triage" => label("triage-kind", p(params, "decision")),
        "repair-order" => t.with("case-fact-repair-order", &[("number", p(params, "number"))]),
        "appointment" => t.with("case-fact-appointment", &[("number", p(params, "number"))]),
        "appointment-moved" => t.with(
            "case-fact-appointment-moved",
            &[("number", p(params, "number")), ("when", p(params, "when"))],
        ),
        _ => return None,
    })
}

/// The words of a customer or vehicle timeline entry: what a person wrote, or the system
/// entry's facts as a sentence.
pub fn timeline_entry(
    t: &Tr<'_>,
    kind: &str,
    summary: &str,
    params: &BTreeMap<String, String>,
) -> String {
    if !summary.is_empty() {
        return summary.to_string();
    }
    // What a person wrote and erasure blanked.
    if matches!(kind, "note" | "call" | "email" | "message") {
        return t.written(summary);
    }
    // Facts removed on erasure: the kind says enough.
    if params.is_empty() && matches!(kind, "case" | "triage" | "consent" | "ownership") {
        return String::new();
    }
    let label = |prefix: &str, code: &str| t.t(&format!("{prefix}-{code}"));
    let case = p(params, "case");
    match kind {
        "case" if params.contains_key("status") => t.with(
            "timeline-fact-case-status",
            &[
                ("case", case),
                ("status", &label("status", p(params, "status"))),
            ],
        ),
        "case" if params.contains_key("task") => t.with(
            "timeline-fact-case-task",
            &[("case", case), ("task", p(params, "task"))],
        ),
        "case" if p(params, "event") == "escalated" => {
            t.with("timeline-fact-case-escalated", &[("case", case)])
        }
        "case" => t.with("timeline-fact-case-opened", &[("case", case)]),
        "triage" => t.with(
            "timeline-fact-triage",
            &[
                ("case", case),
                ("decision", &label("triage-kind", p(params, "decision"))),
            ],
        ),
        "consent" => t.with(
            if p(params, "granted") == "yes" {
                "timeline-fact-consent-given"
            } else {
                "timeline-fact-consent-withdrawn"
            },
            &[
                ("purpose", &label("purpose", p(params, "purpose"))),
                ("channel", &label("channel", p(params, "channel"))),
                ("source", p(params, "source")),
            ],
        ),
        "customer-created" if p(params, "kind") == "company" => {
            t.t("timeline-fact-company-created")
        }
        "customer-created" => t.t("timeline-fact-customer-created"),
        "customer-updated" => t.t("timeline-fact-customer-updated"),
        "ownership" => t.with(
            "timeline-fact-ownership",
            &[
                ("vin", p(params, "vin")),
                ("from", &t.date(p(params, "from"))),
            ],
        ),
        "odometer" => t.with("timeline-fact-odometer", &[("km", p(params, "km"))]),
        "vehicle-added" => {
            let vehicle = [p(params, "model"), p(params, "vin")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let mut s = t.with("timeline-fact-vehicle-added", &[("vehicle", &vehicle)]);
            if p(params, "check") == "mismatch" {
                s.push(' ');
                s.push_str(&t.t("timeline-fact-check-mismatch"));
            }
            s
        }
        "erased" => t.t("timeline-fact-erased"),
        "repair-order" => t.with(
            "timeline-fact-repair-order",
            &[
                ("number", p(params, "number")),
                ("status", &label("ro-status", p(params, "status"))),
            ],
        ),
        "appointment" => t.with(
            "timeline-fact-appointment",
            &[
                ("date", &t.date(p(params, "date"))),
                ("time", p(params, "time")),
                ("status", &label("appointment-status", p(params, "status"))),
            ],
        ),
        "invoice" | "credit-note" => {
            let gross = aftersales_domain::money::Money::new(
                p(params, "gross").parse().unwrap_or(0),
                p(params, "currency"),
            );
            t.with(
                &format!("timeline-fact-{kind}"),
                &[("number", p(params, "number")), ("gross", &t.money(&gross))],
            )
        }
        "message-sent" => t.with(
            "timeline-fact-message-sent",
            &[
                ("event", &label("event", p(params, "event"))),
                ("channel", &label("channel", p(params, "channel"))),
                ("status", &label("msg-status", p(params, "status"))),
            ],
        ),
        "survey" => t.with(
            "timeline-fact-survey",
            &[("csat", p(params, "csat")), ("nps", p(params, "nps"))],
        ),
        _ => String::new(),
    }
}
