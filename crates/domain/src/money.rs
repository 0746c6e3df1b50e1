//! Exact amounts: money in integer minor units (øre, cents) and quantities in hundredths
//! (hours, litres, pieces), parsed once from text and never held as floating point.
//! Rounding is stated here, once: half away from zero, to the minor unit.

use crate::validation::{FieldError, Rule};

/// Parses a decimal with at most two decimals (`1234.5`, `1 234,50`) into hundredths.
/// `min` and `max` are in hundredths too.
pub fn parse_centi(field: &str, s: &str, min: i64, max: i64) -> Result<i64, FieldError> {
    let cleaned: String = s
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    if cleaned.is_empty() {
        return Err(FieldError::new(
            field,
            Rule::Required,
            format!("{field} is required"),
        ));
    }
    let bad = || {
        FieldError::new(
            field,
            Rule::Format,
            format!("{field} must be a number with at most two decimals, like 1.25"),
        )
    };
    let (neg, digits) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cleaned.as_str()),
    };
    let (whole, frac) = match digits.split_once('.') {
        Some((w, f)) => (w, f),
        None => (digits, ""),
    };
    if whole.is_empty() && frac.is_empty()
        || frac.len() > 2
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || whole.len() > 12
    {
        return Err(bad());
    }
    let w: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let f: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| bad())? * 10,
        _ => frac.parse().map_err(|_| bad())?,
    };
    let v = (w * 100 + f) * if neg { -1 } else { 1 };
    if v < min {
        return Err(FieldError::new(
            field,
            Rule::NotAllowed,
            format!("{field} must be at least {}", format_centi(min)),
        ));
    }
    if v > max {
        return Err(FieldError::new(
            field,
            Rule::NotAllowed,
            format!("{field} must be at most {}", format_centi(max)),
        ));
    }
    Ok(v)
}

/// `12345` → `"123.45"`; the API's string decimal for money and quantities.
pub fn format_centi(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// Money as a person reads it in their language: `10 380,00 kr` and `10 380,00 €` in Norwegian and
/// Portuguese (a narrow no-break space groups thousands, a comma before the cents), `NOK 10,380.00`
/// and `€10,380.00` in English.
pub fn format_money(minor: i64, currency: &str, lang: crate::i18n::Language) -> String {
    use crate::i18n::Language;
    let sign = if minor < 0 { "−" } else { "" };
    let number = grouped(minor.unsigned_abs(), lang);
    match (lang, currency) {
        (Language::En, "EUR") => format!("{sign}€{number}"),
        (Language::En, c) => format!("{sign}{c} {number}"),
        (_, "NOK") => format!("{sign}{number}\u{a0}kr"),
        (_, "EUR") => format!("{sign}{number}\u{a0}€"),
        (_, c) => format!("{sign}{number}\u{a0}{c}"),
    }
}

/// An amount in the reader's number format without a currency, as a form shows it for editing:
/// `1 234,50` in Norwegian and Portuguese, `1,234.50` in English; [`parse_centi`] reads both.
pub fn format_amount(minor: i64, lang: crate::i18n::Language) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}", grouped(minor.unsigned_abs(), lang))
}

fn grouped(a: u64, lang: crate::i18n::Language) -> String {
    use crate::i18n::Language;
    let whole = (a / 100).to_string();
    let (group, decimal) = match lang {
        Language::En => (",", "."),
        Language::Nb | Language::Pt => ("\u{202f}", ","),
    };
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push_str(group);
        }
        grouped.push(c);
    }
    format!("{grouped}{decimal}{:02}", a % 100)
}

/// Price × quantity, both in hundredths, rounded half away from zero to the minor unit.
pub fn line_total(unit_price_minor: i64, quantity_centi: i64) -> i64 {
    let p = i128::from(unit_price_minor) * i128::from(quantity_centi);
    let rounded = if p >= 0 {
        (p + 50) / 100
    } else {
        (p - 50) / 100
    };
    i64::try_from(rounded).unwrap_or(i64::MAX)
}

/// An amount with its currency, as the API writes money: `{"amount": "1234.50", "currency": "NOK"}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Money {
    pub amount: String,
    pub currency: String,
}

impl Money {
    /// The amount in minor units, read back from its text.
    pub fn minor(&self) -> Option<i64> {
        parse_centi("amount", &self.amount, i64::MIN / 2, i64::MAX / 2).ok()
    }

    pub fn new(minor: i64, currency: &str) -> Money {
        Money {
            amount: format_centi(minor),
            currency: currency.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_in_the_readers_language() {
        use crate::i18n::Language;
        assert_eq!(
            format_money(1_038_000, "NOK", Language::Nb),
            "10\u{202f}380,00\u{a0}kr"
        );
        assert_eq!(
            format_money(1_038_000, "EUR", Language::Pt),
            "10\u{202f}380,00\u{a0}€"
        );
        assert_eq!(
            format_money(1_038_000, "NOK", Language::En),
            "NOK 10,380.00"
        );
        assert_eq!(format_money(1_038_000, "EUR", Language::En), "€10,380.00");
        assert_eq!(format_money(-50, "NOK", Language::Nb), "−0,50\u{a0}kr");
        assert_eq!(
            format_money(123_456_789, "NOK", Language::En),
            "NOK 1,234,567.89"
        );
    }

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(parse_centi("h", "1.25", 5, 10_000), Ok(125));
        assert_eq!(parse_centi("h", "0,05", 5, 10_000), Ok(5));
        assert_eq!(parse_centi("p", "1 234,5", 0, i64::MAX), Ok(123_450));
        assert_eq!(parse_centi("p", "7", 0, i64::MAX), Ok(700));
        assert_eq!(
            parse_centi("h", "0.04", 5, 10_000).unwrap_err().rule,
            Rule::NotAllowed
        );
        assert_eq!(
            parse_centi("h", "1.234", 5, 10_000).unwrap_err().rule,
            Rule::Format
        );
        assert_eq!(
            parse_centi("h", "abc", 5, 10_000).unwrap_err().rule,
            Rule::Format
        );
        assert_eq!(
            parse_centi("h", "", 5, 10_000).unwrap_err().rule,
            Rule::Required
        );
        assert_eq!(
            parse_centi("h", ".", 5, 10_000).unwrap_err().rule,
            Rule::Format
        );
        assert_eq!(format_centi(123_450), "1234.50");
        assert_eq!(format_centi(-5), "-0.05");
    }

    #[test]
    fn line_totals_round_half_away_from_zero() {
        // 1.25 h at 1 095.00 = 1 368.75
        assert_eq!(line_total(109_500, 125), 136_875);
        // 0.05 h at 999.99 = 49.9995 → 50.00
        assert_eq!(line_total(99_999, 5), 5_000);
        assert_eq!(line_total(-99_999, 5), -5_000);
        assert_eq!(line_total(1, 50), 1);
        assert_eq!(line_total(1, 49), 0);
    }
}
