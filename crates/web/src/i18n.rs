//! Translations in Project Fluent (`i18n/{en,nb,pt}.ftl`, embedded in the binary). English is the
//! reference: a test proves every language has exactly its keys and every template key exists.

use std::collections::HashMap;

use aftersales_domain::i18n::Language;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

pub const SOURCES: [(Language, &str); 3] = [
    (Language::En, include_str!("../i18n/en.ftl")),
    (Language::Nb, include_str!("../i18n/nb.ftl")),
    (Language::Pt, include_str!("../i18n/pt.ftl")),
];

#[derive(Debug, thiserror::Error)]
pub enum I18nError {
    #[error("translation file for {0} does not parse: {1}")]
    Parse(&'static str, String),
    #[error("translation file for {0}: {1}")]
    Bundle(&'static str, String),
}

pub struct I18n {
    bundles: HashMap<Language, FluentBundle<FluentResource>>,
}

impl I18n {
    pub fn load() -> Result<I18n, I18nError> {
        let mut bundles = HashMap::new();
        for (lang, src) in SOURCES {
            let res = FluentResource::try_new(src.to_string())
                .map_err(|(_, errs)| I18nError::Parse(lang.code(), format!("{errs:?}")))?;
            let tag = lang
                .code()
                .parse()
                .map_err(|e| I18nError::Bundle(lang.code(), format!("{e:?}")))?;
            let mut bundle = FluentBundle::new_concurrent(vec![tag]);
            // No Unicode isolation marks around arguments: they show as boxes in some fonts.
            bundle.set_use_isolating(false);
            bundle
                .add_resource(res)
                .map_err(|e| I18nError::Bundle(lang.code(), format!("{e:?}")))?;
            bundles.insert(lang, bundle);
        }
        Ok(I18n { bundles })
    }

    /// The message `key` in `lang`, falling back to English, then to the key itself.
    pub fn get(&self, lang: Language, key: &str, args: Option<&FluentArgs>) -> String {
        for l in [lang, Language::En] {
            if let Some(bundle) = self.bundles.get(&l) {
                if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
                    let mut errors = Vec::new();
                    let text = bundle.format_pattern(pattern, args, &mut errors);
                    if !errors.is_empty() {
                        tracing::warn!(key, lang = l.code(), ?errors, "translation errors");
                    }
                    return text.into_owned();
                }
            }
        }
        tracing::warn!(key, lang = lang.code(), "missing translation");
        key.to_string()
    }

    pub fn has(&self, lang: Language, key: &str) -> bool {
        self.bundles.get(&lang).is_some_and(|b| b.has_message(key))
    }
}

/// A translator bound to one language, handed to templates as `t`.
#[derive(Clone, Copy)]
pub struct Tr<'a> {
    pub i18n: &'a I18n,
    pub lang: Language,
}

impl Tr<'_> {
    /// What a person wrote, or, where erasure blanked it, a note saying so in the reader's
    /// language (erasure stores no words of any language).
    pub fn written(&self, text: &str) -> String {
        if text.is_empty() {
            self.t("removed-on-erasure")
        } else {
            text.to_string()
        }
    }

    /// Why an outbox message was not sent, in the reader's language (a skip reason's code), or
    /// the delivery error as the server answered it (for whoever retries it).
    pub fn outbox_reason(&self, status: &str, last_error: Option<&str>) -> String {
        match last_error {
            Some(code) if status == "skipped" && self.has(&format!("msg-skip-{code}")) => {
                self.t(&format!("msg-skip-{code}"))
            }
            Some(e) => e.to_string(),
            None => String::new(),
        }
    }

    /// A stored code in the reader's language where the product knows it (`{prefix}-{code}`),
    /// else as it was typed.
    pub fn known(&self, prefix: &str, code: &str) -> String {
        let key = format!("{prefix}-{code}");
        if self.has(&key) {
            self.t(&key)
        } else {
            code.to_string()
        }
    }

    /// `{{ t.t("nav-home") }}` in a template.
    pub fn t(&self, key: &str) -> String {
        self.i18n.get(self.lang, key, None)
    }

    /// One named argument: `{{ t.t1("hello", "name", user.display_name) }}`.
    pub fn t1(&self, key: &str, name: &str, value: &str) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_string(), FluentValue::from(value.to_string()));
        self.i18n.get(self.lang, key, Some(&args))
    }

    /// Named arguments: `t.with("case-fact-handoff", &[("to", name)])`.
    pub fn with(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut a = FluentArgs::new();
        for (name, value) in args {
            a.set(name.to_string(), FluentValue::from(value.to_string()));
        }
        self.i18n.get(self.lang, key, Some(&a))
    }

    /// A count, for plural rules: `{{ t.n("users-count", n) }}`.
    pub fn n(&self, key: &str, count: usize) -> String {
        let mut args = FluentArgs::new();
        args.set("count", FluentValue::from(count));
        self.i18n.get(self.lang, key, Some(&args))
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    /// Whether the reader's language (or English) has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.i18n.has(self.lang, key) || self.i18n.has(Language::En, key)
    }

    /// Money in the reader's format: `{{ t.money(d.gross) }}` is `10 380,00 kr` in Norwegian.
    pub fn money(&self, m: &aftersales_domain::money::Money) -> String {
        match m.minor() {
            Some(minor) => aftersales_domain::money::format_money(minor, &m.currency, self.lang),
            None => format!("{} {}", m.amount, m.currency),
        }
    }

    /// A whole number grouped as the reader writes it: `148 000` (nb, pt, a narrow no-break
    /// space as in money), `148,000` (en).
    pub fn int(&self, n: i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let sep = match self.lang {
            Language::En => ",",
            _ => "\u{202f}",
        };
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(sep);
            }
            out.push(c);
        }
        if n < 0 {
            format!("-{out}")
        } else {
            out
        }
    }

    /// A decimal number with `places` decimals as the reader writes it: `12,5` (nb, pt), `12.5`.
    pub fn dec(&self, v: f64, places: usize) -> String {
        let s = format!("{v:.places$}");
        match self.lang {
            Language::En => s,
            _ => s.replace('.', ","),
        }
    }

    /// A date (`YYYY-MM-DD`) as the reader writes it: `06.12.2026`, `06/12/2026`, `6 Dec 2026`.
    pub fn date(&self, iso: &str) -> String {
        let f = time::macros::format_description!("[year]-[month]-[day]");
        let Ok(d) = time::Date::parse(iso, &f) else {
            return iso.to_string();
        };
        let (y, m, day) = (d.year(), u8::from(d.month()), d.day());
        match self.lang {
            Language::Nb => format!("{day:02}.{m:02}.{y}"),
            Language::Pt => format!("{day:02}/{m:02}/{y}"),
            Language::En => {
                const MONTHS: [&str; 12] = [
                    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                    "Dec",
                ];
                let name = MONTHS.get(usize::from(m) - 1).copied().unwrap_or("");
                format!("{day} {name} {y}")
            }
        }
    }

    /// A month (`YYYY-MM`) as the reader writes it: `nov. 2026`, `nov. 2026`, `Nov 2026`.
    pub fn month(&self, iso: &str) -> String {
        let Some((y, m)) = iso.split_once('-') else {
            return iso.to_string();
        };
        let Some(i) = m.parse::<usize>().ok().filter(|m| (1..=12).contains(m)) else {
            return iso.to_string();
        };
        let names: [&str; 12] = match self.lang {
            Language::Nb => [
                "jan.", "feb.", "mars", "april", "mai", "juni", "juli", "aug.", "sep.", "okt.",
                "nov.", "des.",
            ],
            Language::Pt => [
                "jan.", "fev.", "mar.", "abr.", "maio", "jun.", "jul.", "ago.", "set.", "out.",
                "nov.", "dez.",
            ],
            Language::En => [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ],
        };
        format!("{} {y}", names[i - 1])
    }

    /// A catalogue item's name in the reader's language: `{{ t.local(op.names, op.description) }}`.
    pub fn local<'n>(
        &self,
        names: &'n aftersales_domain::i18n::LocalNames,
        description: &'n str,
    ) -> &'n str {
        aftersales_domain::i18n::local_name(names, description, self.lang)
    }

    /// An amount to edit, in the reader's number format without the currency (`1 234,50`); the
    /// parser reads it back whatever the language.
    pub fn amount(&self, m: &aftersales_domain::money::Money) -> String {
        match m.minor() {
            Some(minor) => aftersales_domain::money::format_amount(minor, self.lang),
            None => m.amount.clone(),
        }
    }
}

/// The message ids defined in a Fluent source.
pub fn keys(src: &str) -> Vec<String> {
    src.lines()
        .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_dates_in_the_readers_format() {
        let i18n = I18n::load().unwrap();
        let tr = |lang| Tr { i18n: &i18n, lang };
        let m = aftersales_domain::money::Money::new(1_038_000, "NOK");
        assert_eq!(tr(Language::Nb).money(&m), "10\u{202f}380,00\u{a0}kr");
        assert_eq!(tr(Language::En).money(&m), "NOK 10,380.00");
        assert_eq!(tr(Language::Pt).int(148_000), "148\u{202f}000");
        assert_eq!(tr(Language::En).int(-1_234_567), "-1,234,567");
        assert_eq!(tr(Language::Nb).int(999), "999");
        assert_eq!(tr(Language::Nb).amount(&m), "10\u{202f}380,00");
        let eur = aftersales_domain::money::Money::new(-10_200, "EUR");
        assert_eq!(tr(Language::Pt).money(&eur), "−102,00\u{a0}€");
        // What the form shows for editing reads back to the same amount.
        let shown = tr(Language::Pt).amount(&eur);
        assert_eq!(
            aftersales_domain::money::parse_centi("x", &shown, i64::MIN / 2, i64::MAX / 2),
            Ok(-10_200)
        );
        assert_eq!(tr(Language::Nb).date("2026-12-06"), "06.12.2026");
        assert_eq!(tr(Language::Pt).date("2026-12-06"), "06/12/2026");
        assert_eq!(tr(Language::En).date("2026-12-06"), "6 Dec 2026");
        assert_eq!(tr(Language::En).date("not a date"), "not a date");
    }

    #[test]
    fn all_languages_have_the_same_keys_and_parse() {
        let i18n = I18n::load().unwrap();
        let en: Vec<String> = keys(SOURCES[0].1);
        assert!(
            en.len() > 50,
            "expected the English reference to hold the UI strings"
        );
        for (lang, src) in SOURCES {
            let mut theirs = keys(src);
            theirs.sort();
            let mut ours = en.clone();
            ours.sort();
            assert_eq!(
                ours,
                theirs,
                "{} must translate exactly the English keys",
                lang.code()
            );
            for k in &en {
                assert!(i18n.has(lang, k), "{} lacks {k}", lang.code());
            }
        }
    }

    #[test]
    fn every_generated_key_exists() {
        use aftersales_domain::org::{OrgKind, Role};
        use aftersales_domain::validation::Rule;
        let i18n = I18n::load().unwrap();
        let mut keys: Vec<String> = Vec::new();
        keys.extend(Role::ALL.iter().map(|r| format!("role-{}", r.as_str())));
        keys.extend(OrgKind::ALL.iter().map(|k| format!("kind-{}", k.as_str())));
        keys.extend(
            aftersales_store::audit::AuditKind::ALL
                .iter()
                .map(|k| format!("audit-kind-{}", k.as_str())),
        );
        for r in Rule::ALL {
            keys.push(format!("rule-{}", r.as_str()));
        }
        use aftersales_domain::cases::{Category, Priority, Status};
        keys.extend(
            Category::ALL
                .iter()
                .map(|c| format!("category-{}", c.as_str())),
        );
        keys.extend(
            Priority::ALL
                .iter()
                .map(|c| format!("priority-{}", c.as_str())),
        );
        keys.extend(Status::ALL.iter().map(|c| format!("status-{}", c.as_str())));
        keys.extend(
            ["met", "running", "at-risk", "breached", "paused"].map(|k| format!("timer-{k}")),
        );
        keys.extend(
            ["manual", "safety", "sla-at-risk", "repeat-contact"]
                .map(|k| format!("escalation-{k}")),
        );
        keys.extend(
            [
                "created",
                "status",
                "note",
                "message",
                "escalated",
                "assigned",
                "breach",
                "task",
            ]
            .map(|k| format!("case-event-{k}")),
        );
        keys.extend(["phone", "email", "web"].map(|k| format!("case-channel-{k}")));
        {
            use aftersales_domain::notify::Event;
            use aftersales_domain::workshop::{
                Approval, LineKind, NoSlotReason, PayType, RoStatus,
            };
            keys.extend(
                RoStatus::ALL
                    .iter()
                    .map(|s| format!("ro-status-{}", s.as_str())),
            );
            keys.extend(PayType::ALL.iter().map(|s| format!("pay-{}", s.as_str())));
            keys.extend(
                Approval::ALL
                    .iter()
                    .map(|s| format!("approval-{}", s.as_str())),
            );
            keys.extend(LineKind::ALL.iter().map(|s| format!("line-{}", s.as_str())));
            keys.extend(Event::ALL.iter().map(|s| format!("event-{}", s.as_str())));
            keys.extend(
                aftersales_domain::warranty::CoverageKind::ALL
                    .iter()
                    .map(|k| format!("wr-kind-{}", k.as_str())),
            );
            keys.extend(
                aftersales_domain::warranty::BatterySource::ALL
                    .iter()
                    .map(|k| format!("wr-source-{}", k.as_str())),
            );
            keys.extend(["no-delivery-date", "no-terms"].map(|u| format!("wr-undecided-{u}")));
            {
                use aftersales_domain::warranty::claims as wc;
                keys.extend(
                    wc::ClaimStatus::ALL
                        .iter()
                        .map(|k| format!("wc-status-{}", k.as_str())),
                );
                keys.extend(
                    wc::Party::ALL
                        .iter()
                        .map(|k| format!("wc-party-{}", k.as_str())),
                );
                keys.extend(
                    wc::ClaimType::ALL
                        .iter()
                        .map(|k| format!("wc-type-{}", k.as_str())),
                );
                keys.extend(
                    wc::ReasonCode::ALL
                        .iter()
                        .map(|k| format!("wc-reason-{}", k.as_str())),
                );
                keys.extend(
                    wc::ClaimAction::ALL
                        .iter()
                        .map(|k| format!("wc-action-{}", k.as_str())),
                );
                keys.extend(
                    wc::PartAnalysis::ALL
                        .iter()
                        .map(|k| format!("wc-analysis-{}", k.as_str())),
                );
                keys.extend(
                    ["submit", "approve", "reject", "return", "appeal"]
                        .map(|a| format!("wc-done-{a}")),
                );
                use aftersales_domain::warranty::goodwill as gw;
                keys.extend(
                    gw::ComponentGroup::ALL
                        .iter()
                        .map(|k| format!("gw-group-{}", k.as_str())),
                );
                keys.extend(
                    gw::GoodwillStatus::ALL
                        .iter()
                        .map(|k| format!("gw-status-{}", k.as_str())),
                );
                keys.extend(
                    ["requested", "approve", "recommend", "reject", "apply"]
                        .map(|a| format!("gw-done-{a}")),
                );
                keys.extend(
                    ["request", "recommend", "approve", "reject", "apply"]
                        .map(|a| format!("gw-action-{a}")),
                );
                keys.extend(
                    ["no-network-history", "not-first-owner", "outside-bands"]
                        .map(|a| format!("gw-none-{a}")),
                );
                use aftersales_domain::warranty::campaigns as cp;
                keys.extend(
                    cp::CampaignKind::ALL
                        .iter()
                        .map(|k| format!("cp-kind-{}", k.as_str())),
                );
                keys.extend(
                    cp::Remedy::ALL
                        .iter()
                        .map(|k| format!("cp-remedy-{}", k.as_str())),
                );
            }
            for r in [
                NoSlotReason::Closed,
                NoSlotReason::NoSuitableBay,
                NoSlotReason::NoCompetentTechnician,
                NoSlotReason::NoMobileTechnician,
                NoSlotReason::TooLong,
                NoSlotReason::FullyBooked,
            ] {
                let code = serde_json::to_value(r).unwrap();
                keys.push(format!("ws-no-slot-{}", code.as_str().unwrap()));
            }
            keys.extend(
                [
                    "status",
                    "job",
                    "assignment",
                    "approved",
                    "declined",
                    "moved",
                ]
                .map(|k| format!("ws-event-{k}")),
            );
            keys.extend(
                aftersales_domain::notify::PLACEHOLDERS
                    .iter()
                    .map(|(k, _)| format!("placeholder-{k}")),
            );
            keys.extend((0..7).map(|d| format!("weekday-{d}")));
            keys.extend((0..7).map(|d| format!("weekday-short-{d}")));
            keys.extend(["staff", "status-page", "self-service"].map(|k| format!("ws-via-{k}")));
            keys.extend(["pending", "sent", "dead", "skipped"].map(|k| format!("msg-status-{k}")));
            keys.extend(["email", "sms"].map(|k| format!("msg-{k}")));
        }
        for role in Role::ALL {
            keys.extend(
                role.capabilities()
                    .iter()
                    .map(|c| format!("cap-{}", c.as_str())),
            );
        }
        for k in keys {
            for lang in Language::ALL {
                assert!(i18n.has(lang, &k), "{k} is missing in {}", lang.code());
            }
        }
    }

    #[test]
    fn every_key_used_in_templates_and_code_exists() {
        let i18n = I18n::load().unwrap();
        let dirs = [
            concat!(env!("CARGO_MANIFEST_DIR"), "/templates"),
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/ui"),
        ];
        let mut used = Vec::new();
        for dir in dirs {
            for entry in std::fs::read_dir(dir).unwrap() {
                let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
                for marker in ["t.t(\"", "t.t1(\"", "t.n(\"", "tr(\""] {
                    for part in text.split(marker).skip(1) {
                        if let Some(key) = part.split('"').next() {
                            used.push(key.to_string());
                        }
                    }
                }
                // Keys handed around as string literals (form field labels, hints, confirmations).
                // (Not HTML attributes such as class="field-error".)
                for prefix in [
                    "field-", "hint-", "crm-", "channel-", "purpose-", "consent-", "done-",
                ] {
                    let needle = format!("\"{prefix}");
                    for (at, _) in text.match_indices(&needle) {
                        if text[..at].ends_with('=') {
                            continue;
                        }
                        let part = &text[at + needle.len()..];
                        let rest: String = part
                            .chars()
                            .take_while(|c| {
                                c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'
                            })
                            .collect();
                        if part[rest.len()..].starts_with('"') && !rest.is_empty() {
                            used.push(format!("{prefix}{rest}"));
                        }
                    }
                }
            }
        }
        assert!(used.len() > 30);
        for k in used {
            for lang in Language::ALL {
                assert!(
                    i18n.has(lang, &k),
                    "template key {k} is missing in {}",
                    lang.code()
                );
            }
        }
    }
}
