//! The languages the product speaks, for staff and customers.

use serde::{Deserialize, Serialize};

use crate::validation::{FieldError, Rule};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Language {
    /// Norwegian bokmål
    #[serde(rename = "nb")]
    Nb,
    #[serde(rename = "en")]
    En,
    #[serde(rename = "pt")]
    Pt,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::Nb, Language::En, Language::Pt];

    pub fn code(self) -> &'static str {
        match self {
            Language::Nb => "nb",
            Language::En => "en",
            Language::Pt => "pt",
        }
    }

    /// The language's own name, as shown in a language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Language::Nb => "Norsk bokmål",
            Language::En => "English",
            Language::Pt => "Português",
        }
    }

    /// Accepts `nb`, `no`, `nn` (served as bokmål), `en`, `pt`, with or without region (`pt-PT`, `en_GB`).
    pub fn from_tag(tag: &str) -> Option<Language> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "nb" | "no" | "nn" => Some(Language::Nb),
            "en" => Some(Language::En),
            "pt" => Some(Language::Pt),
            _ => None,
        }
    }

    pub fn parse(field: &str, value: &str) -> Result<Language, FieldError> {
        match value {
            "nb" => Ok(Language::Nb),
            "en" => Ok(Language::En),
            "pt" => Ok(Language::Pt),
            _ => Err(FieldError::new(
                field,
                Rule::OneOf,
                format!("{field} must be one of nb, en, pt"),
            )),
        }
    }

    /// Picks the first supported language of an `Accept-Language` header, honouring q-values.
    pub fn negotiate(accept_language: &str) -> Option<Language> {
        let mut candidates: Vec<(f32, usize, Language)> = accept_language
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut it = part.split(';');
                let tag = it.next()?;
                let q = it
                    .find_map(|p| {
                        p.trim()
                            .strip_prefix("q=")
                            .and_then(|q| q.parse::<f32>().ok())
                    })
                    .unwrap_or(1.0);
                Language::from_tag(tag)
                    .filter(|_| q > 0.0)
                    .map(|l| (q, i, l))
            })
            .collect();
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        candidates.first().map(|c| c.2)
    }
}

/// A catalogue item's name in other languages (labour operations, parts), by language code:
/// `{"nb": "Dekkskift", "pt": "Mudança de pneus"}`. The item's own description is the name
/// where a language has none.
pub type LocalNames = std::collections::BTreeMap<String, String>;

/// Checks names per language: each key a language (nb, en, pt), each name 2–200 characters.
pub fn parse_names(field: &str, names: &LocalNames) -> Result<LocalNames, Vec<FieldError>> {
    let mut out = LocalNames::new();
    let mut errs = Vec::new();
    for (lang, name) in names {
        let at = format!("{field}.{lang}");
        if let Err(e) = Language::parse(&at, lang) {
            errs.push(e);
            continue;
        }
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        match crate::validation::text(&at, name, 2, 200) {
            Ok(n) => {
                out.insert(lang.clone(), n);
            }
            Err(e) => errs.push(e),
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(errs)
    }
}

/// The name to show a reader of `lang`: theirs if given, else the item's own description.
pub fn local_name<'a>(names: &'a LocalNames, description: &'a str, lang: Language) -> &'a str {
    names
        .get(lang.code())
        .map(String::as_str)
        .unwrap_or(description)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_per_language() {
        let mut names = LocalNames::new();
        names.insert("nb".into(), " Dekkskift ".into());
        names.insert("pt".into(), "".into());
        let ok = parse_names("names", &names).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(local_name(&ok, "Tyre change", Language::Nb), "Dekkskift");
        assert_eq!(local_name(&ok, "Tyre change", Language::Pt), "Tyre change");
        names.insert("sv".into(), "Däckbyte".into());
        names.insert("en".into(), "x".into());
        let e = parse_names("names", &names).unwrap_err();
        let fields: Vec<_> = e.iter().map(|f| (f.field.as_str(), f.rule)).collect();
        assert_eq!(
            fields,
            vec![("names.en", Rule::TooShort), ("names.sv", Rule::OneOf)]
        );
    }

    #[test]
    fn negotiates_by_quality_then_order() {
        assert_eq!(
            Language::negotiate("de-DE, pt-PT;q=0.8, en;q=0.9"),
            Some(Language::En)
        );
        assert_eq!(Language::negotiate("nn-NO,en;q=0.5"), Some(Language::Nb));
        assert_eq!(Language::negotiate("fr, de"), None);
        assert_eq!(Language::negotiate("en;q=0, pt"), Some(Language::Pt));
    }
}
