//! CRM identifiers, parsed once: VINs (ISO 3779, check digit), Norwegian organisation numbers
//! (MOD11), Portuguese NIFs (check digit), phone numbers (E.164). Rules and sources:
//! `shared/reference/domain-rules.md` §2.7 and §4; official values in `test-vectors.json`.

use serde::{Deserialize, Serialize};

use crate::validation::{FieldError, Rule};

/// A vehicle identification number: 17 characters, digits and capital letters without I, O, Q.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Vin(String);

/// What the check digit (position 9) says about a VIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CheckDigit {
    Valid,
    /// Wrong, for a manufacturer that does not promise one (outside North America): a warning.
    Mismatch,
}

impl Vin {
    /// Parses a VIN. `enforce_check_digit` comes from the WMI table: where the manufacturer
    /// uses the check digit, a wrong one is an error; elsewhere it is reported as a mismatch.
    pub fn parse(
        field: &str,
        s: &str,
        enforce_check_digit: impl Fn(&str) -> bool,
    ) -> Result<(Vin, CheckDigit), FieldError> {
        let v: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        if v.is_empty() {
            return Err(FieldError::new(
                field,
                Rule::Required,
                format!("{field} is required"),
            ));
        }
        if v.len() != 17 {
            return Err(FieldError::new(
                field,
                Rule::Format,
                format!("{field} must have 17 characters, not {}", v.chars().count()),
            ));
        }
        if let Some(bad) = v
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() || matches!(c, 'I' | 'O' | 'Q'))
        {
            return Err(FieldError::new(
                field,
                Rule::Format,
                format!(
                    "{field} may not contain {bad:?} (VINs use digits and letters except I, O, Q)"
                ),
            ));
        }
        let check = if vin_check_digit(&v) == v.as_bytes()[8] as char {
            CheckDigit::Valid
        } else {
            CheckDigit::Mismatch
        };
        if check == CheckDigit::Mismatch && enforce_check_digit(&v[..3]) {
            return Err(FieldError::new(
                field,
                Rule::CheckDigit,
                format!(
                    "{field} has a wrong check digit at position 9 (expected {})",
                    vin_check_digit(&v)
                ),
            ));
        }
        Ok((Vin(v), check))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// World manufacturer identifier: positions 1–3.
    pub fn wmi(&self) -> &str {
        &self.0[..3]
    }
    /// The last six characters, which people read out on the phone.
    pub fn last6(&self) -> &str {
        &self.0[11..]
    }
    /// Model year from position 10, taking the most recent year not after `latest_year`
    /// (the code cycles every 30 years).
    pub fn model_year(&self, latest_year: i32) -> Option<i32> {
        let c = self.0.as_bytes()[9] as char;
        let base = match c {
            'A'..='H' => 2010 + (c as i32 - 'A' as i32),
            'J'..='N' => 2018 + (c as i32 - 'J' as i32),
            'P' => 2023,
            'R'..='T' => 2024 + (c as i32 - 'R' as i32),
            'V'..='Y' => 2027 + (c as i32 - 'V' as i32),
            '1'..='9' => 2031 + (c as i32 - '1' as i32),
            _ => return None,
        };
        let mut y = base;
        while y > latest_year {
            y -= 30;
        }
        while y + 30 <= latest_year {
            y += 30;
        }
        Some(y)
    }
    /// Position 11: the plant code.
    pub fn plant_code(&self) -> char {
        self.0.as_bytes()[10] as char
    }
}

fn transliterate(c: char) -> u32 {
    match c {
        '0'..='9' => c as u32 - '0' as u32,
        'A' | 'J' => 1,
        'B' | 'K' | 'S' => 2,
        'C' | 'L' | 'T' => 3,
        'D' | 'M' | 'U' => 4,
        'E' | 'N' | 'V' => 5,
        'F' | 'W' => 6,
        'G' | 'P' | 'X' => 7,
        'H' | 'Y' => 8,
        'R' | 'Z' => 9,
        _ => 0,
    }
}

/// The ISO 3779 check digit of a 17-character VIN: `0`–`9` or `X`.
pub fn vin_check_digit(vin: &str) -> char {
    const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    let sum: u32 = vin
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| transliterate(c) * w)
        .sum();
    match sum % 11 {
        10 => 'X',
        d => char::from_digit(d, 10).unwrap_or('0'),
    }
}

/// A Norwegian organisation number (Enhetsregisteret): nine digits, MOD11 check digit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrgNumber(String);

impl OrgNumber {
    pub fn parse(field: &str, s: &str) -> Result<OrgNumber, FieldError> {
        let v: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let v = v.strip_suffix("MVA").unwrap_or(&v);
        let v = v.strip_prefix("NO").unwrap_or(v).to_string();
        if v.len() != 9 || !v.chars().all(|c| c.is_ascii_digit()) {
            return Err(FieldError::new(
                field,
                Rule::Format,
                format!("{field} must be a Norwegian organisation number of 9 digits"),
            ));
        }
        let d: Vec<u32> = v.chars().filter_map(|c| c.to_digit(10)).collect();
        let sum: u32 = d[..8]
            .iter()
            .zip([3, 2, 7, 6, 5, 4, 3, 2])
            .map(|(a, w)| a * w)
            .sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => {
                return Err(FieldError::new(
                    field,
                    Rule::CheckDigit,
                    format!("{field} is not a valid organisation number"),
                ))
            }
            c => c,
        };
        if check != d[8] {
            return Err(FieldError::new(
                field,
                Rule::CheckDigit,
                format!("{field} has a wrong check digit"),
            ));
        }
        Ok(OrgNumber(v))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Portuguese tax number (NIF): nine digits, check digit per the AT rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Nif(String);

impl Nif {
    pub fn parse(field: &str, s: &str) -> Result<Nif, FieldError> {
        let v: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let v = v.strip_prefix("PT").unwrap_or(&v).to_string();
        if v.len() != 9 || !v.chars().all(|c| c.is_ascii_digit()) {
            return Err(FieldError::new(
                field,
                Rule::Format,
                format!("{field} must be a Portuguese NIF of 9 digits"),
            ));
        }
        let d: Vec<u32> = v.chars().filter_map(|c| c.to_digit(10)).collect();
        let sum: u32 = d[..8]
            .iter()
            .enumerate()
            .map(|(i, a)| a * (9 - i as u32))
            .sum();
        let r = sum % 11;
        let check = if r < 2 { 0 } else { 11 - r };
        if check != d[8] {
            return Err(FieldError::new(
                field,
                Rule::CheckDigit,
                format!("{field} has a wrong check digit"),
            ));
        }
        Ok(Nif(v))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Whether the NIF belongs to a company or public body (prefixes 5, 6, 71, 72, 9x) rather than a person.
    pub fn is_company(&self) -> bool {
        matches!(&self.0[..1], "5" | "6" | "9") || matches!(&self.0[..2], "71" | "72")
    }
}

/// A phone number in E.164 form (`+4791234567`). National numbers get the market's country code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// `country_code` is the market's calling code without `+` (47 for Norway, 351 for Portugal).
    pub fn parse(field: &str, s: &str, country_code: &str) -> Result<Phone, FieldError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(FieldError::new(
                field,
                Rule::Required,
                format!("{field} is required"),
            ));
        }
        if t.chars()
            .any(|c| !(c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.')))
        {
            return Err(FieldError::new(
                field,
                Rule::Format,
                format!("{field} may contain only digits, spaces and + - ( ) ."),
            ));
        }
        let digits: String = t.chars().filter(char::is_ascii_digit).collect();
        let full = if t.starts_with('+') {
            digits
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest.to_string()
        } else {
            // National numbers have a fixed length in the markets we serve.
            let national_len = match country_code {
                "47" => Some(8),
                "351" => Some(9),
                _ => None,
            };
            if let Some(n) = national_len.filter(|n| digits.len() != *n) {
                return Err(FieldError::new(
                    field,
                    Rule::Format,
                    format!("{field} must have {n} digits, or start with + and the country code"),
                ));
            }
            format!("{country_code}{digits}")
        };
        if !(8..=15).contains(&full.len()) {
            return Err(FieldError::new(
                field,
                Rule::Format,
                format!(
                    "{field} must be a phone number with its country code, like +47 912 34 567"
                ),
            ));
        }
        Ok(Phone(format!("+{full}")))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &str = include_str!("../../../../shared/reference/test-vectors.json");

    fn vectors(path: &[&str]) -> Vec<String> {
        let mut v: &str = VECTORS;
        // A tiny reader: the arrays in the official file are flat lists of strings.
        for p in path {
            let key = format!("\"{p}\"");
            v = &v[v.find(&key).unwrap() + key.len()..];
        }
        let start = v.find('[').unwrap();
        let end = v.find(']').unwrap();
        v[start + 1..end]
            .split(',')
            .map(|s| s.trim().trim_matches('"').to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }

    #[test]
    fn official_vins() {
        let valid = vectors(&["vin", "valid_check_digit"]);
        assert_eq!(valid.len(), 8);
        for v in valid {
            let (vin, check) = Vin::parse("vin", &v, |_| true).unwrap();
            assert_eq!(check, CheckDigit::Valid, "{v}");
            assert_eq!(vin.as_str(), v);
        }
        for v in vectors(&["vin", "invalid_check_digit"]) {
            let e = Vin::parse("vin", &v, |_| true).unwrap_err();
            assert_eq!(e.rule, Rule::CheckDigit, "{v}");
            // Where the manufacturer does not use the check digit, it is only a warning.
            assert_eq!(
                Vin::parse("vin", &v, |_| false).unwrap().1,
                CheckDigit::Mismatch
            );
        }
        assert_eq!(vin_check_digit("5YJSA1H12FFP71790"), '2');
    }

    #[test]
    fn vin_structure() {
        let (vin, _) = Vin::parse("vin", " lrw3e7fs5pc695355 ", |_| true).unwrap();
        assert_eq!(
            (vin.wmi(), vin.last6(), vin.plant_code()),
            ("LRW", "695355", 'C')
        );
        assert_eq!(vin.model_year(2026), Some(2023));
        assert_eq!(
            Vin::parse("vin", "5YJSA1H12FFP71790", |_| true)
                .unwrap()
                .0
                .model_year(2026),
            Some(2015)
        );
        assert_eq!(
            Vin::parse("vin", "5YJSA1H1", |_| true).unwrap_err().rule,
            Rule::Format
        );
        assert_eq!(
            Vin::parse("vin", "5YJSA1H12FFO71790", |_| true)
                .unwrap_err()
                .rule,
            Rule::Format
        );
        assert_eq!(
            Vin::parse("vin", "", |_| true).unwrap_err().rule,
            Rule::Required
        );
    }

    #[test]
    fn official_org_numbers_and_nifs() {
        for v in vectors(&["no_orgnr", "valid"]) {
            assert_eq!(OrgNumber::parse("org_number", &v).unwrap().as_str(), v);
        }
        assert_eq!(
            OrgNumber::parse("org_number", "NO 988 077 917 MVA")
                .unwrap()
                .as_str(),
            "988077917"
        );
        assert_eq!(
            OrgNumber::parse("org_number", "988077918")
                .unwrap_err()
                .rule,
            Rule::CheckDigit
        );
        assert_eq!(
            OrgNumber::parse("org_number", "98807791").unwrap_err().rule,
            Rule::Format
        );
        for v in vectors(&["pt_nif", "valid"]) {
            assert_eq!(Nif::parse("nif", &v).unwrap().as_str(), v);
        }
        for v in vectors(&["pt_nif", "invalid"]) {
            assert_eq!(Nif::parse("nif", &v).unwrap_err().rule, Rule::CheckDigit);
        }
        assert!(Nif::parse("nif", "PT 501 964 843").unwrap().is_company());
        assert!(!Nif::parse("nif", "123456789").unwrap().is_company());
    }

    #[test]
    fn phones() {
        assert_eq!(
            Phone::parse("phone", "912 34 567", "47").unwrap().as_str(),
            "+4791234567"
        );
        assert_eq!(
            Phone::parse("phone", "+351 912 345 678", "47")
                .unwrap()
                .as_str(),
            "+351912345678"
        );
        assert_eq!(
            Phone::parse("phone", "0047 912 34 567", "351")
                .unwrap()
                .as_str(),
            "+4791234567"
        );
        assert_eq!(
            Phone::parse("phone", "call me", "47").unwrap_err().rule,
            Rule::Format
        );
        assert_eq!(
            Phone::parse("phone", "12", "47").unwrap_err().rule,
            Rule::Format
        );
    }
}
