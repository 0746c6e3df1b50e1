//! Recalls and service campaigns: which VINs a campaign affects (a list read from CSV, or a rule
//! by model, model year and serial range), what remedies it (labour and parts, or an over-the-air
//! update with the software version that counts as done), and its completion rate. Pure rules;
//! the store keeps campaigns and each VIN's completion.

use serde::{Deserialize, Serialize};

use crate::validation::{FieldError, Rule, ValidationErrors};

vocabulary!(
    /// A safety recall or a service campaign.
    CampaignKind {
        Recall => "recall",
        Service => "service",
    }
);

vocabulary!(
    /// How a campaign is remedied.
    Remedy {
        Workshop => "workshop",
        Ota => "ota",
    }
);

vocabulary!(
    /// How a VIN's campaign was done.
    DoneHow {
        Workshop => "workshop",
        Ota => "ota",
    }
);

/// Reads VINs from CSV text: one per line, or a column headed `vin` (any case); blank lines,
/// spaces and duplicates dropped. A VIN must be 17 characters of A–Z (not I, O, Q) and 0–9;
/// errors name the line (`vins.N`, counted from 1).
pub fn vins_from_csv(text: &str) -> Result<Vec<String>, ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let mut out: Vec<String> = Vec::new();
    let mut column: Option<usize> = None;
    for (n, line) in text.lines().enumerate() {
        let cells: Vec<&str> = line.split([',', ';']).map(str::trim).collect();
        if n == 0 {
            if let Some(i) = cells.iter().position(|c| c.eq_ignore_ascii_case("vin")) {
                column = Some(i);
                continue;
            }
        }
        let cell = cells.get(column.unwrap_or(0)).copied().unwrap_or("");
        let vin = cell.trim_matches('"').to_ascii_uppercase();
        if vin.is_empty() {
            continue;
        }
        let ok = vin.len() == 17
            && vin
                .bytes()
                .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"IOQ".contains(&b)));
        if !ok {
            errs.push(
                FieldError::new(
                    format!("vins.{}", n + 1),
                    Rule::Format,
                    format!(
                        "line {}: {vin} is not a VIN (17 letters and digits, no I, O or Q)",
                        n + 1
                    ),
                )
                .hint("cp-err-vin"),
            );
        } else if !out.contains(&vin) {
            out.push(vin);
        }
    }
    errs.into_result()?;
    Ok(out)
}

/// A rule choosing VINs: the model (as decoded), model years and the serial range (VIN positions
/// 12–17), each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub model: Option<String>,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    pub serial_from: Option<u32>,
    pub serial_to: Option<u32>,
}

impl Selection {
    /// Whether a vehicle (VIN, decoded model and model year) falls under the rule.
    pub fn matches(&self, vin: &str, model: Option<&str>, year: Option<i32>) -> bool {
        let serial = vin.get(11..17).and_then(|s| s.parse::<u32>().ok());
        self.model
            .as_deref()
            .is_none_or(|m| model.is_some_and(|x| x.eq_ignore_ascii_case(m)))
            && self.year_from.is_none_or(|f| year.is_some_and(|y| y >= f))
            && self.year_to.is_none_or(|t| year.is_some_and(|y| y <= t))
            && self
                .serial_from
                .is_none_or(|f| serial.is_some_and(|s| s >= f))
            && self
                .serial_to
                .is_none_or(|t| serial.is_some_and(|s| s <= t))
    }
}

/// Whether a reported software version is at or past the one that counts as done: compared
/// number by number (`2024.20.3` ≥ `2024.14.11`); text parts compare as text.
pub fn version_done(reported: &str, done: &str) -> bool {
    let parts = |v: &str| -> Vec<String> {
        v.trim()
            .split(['.', '-', ' '])
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (a, b) = (parts(reported), parts(done));
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i), b.get(i));
        let ord = match (x, y) {
            (Some(x), Some(y)) => match (x.parse::<u64>(), y.parse::<u64>()) {
                (Ok(x), Ok(y)) => x.cmp(&y),
                _ => x.cmp(y),
            },
            (Some(_), None) => std::cmp::Ordering::Greater,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (None, None) => std::cmp::Ordering::Equal,
        };
        if ord != std::cmp::Ordering::Equal {
            return ord == std::cmp::Ordering::Greater;
        }
    }
    true
}

/// Completion in whole percent (rounded down, so 100 % means all done); none of none is 0.
pub fn completion_pct(done: usize, affected: usize) -> u32 {
    (done * 100)
        .checked_div(affected)
        .map_or(0, |p| u32::try_from(p).unwrap_or(100))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vins_are_read_from_a_list_or_a_column() {
        let v =
            vins_from_csv("LPSED3KA9NL123456\n\nlpsed3ka9nl123456\n5YJSA1H12FFP71790\n").unwrap();
        assert_eq!(v, ["LPSED3KA9NL123456", "5YJSA1H12FFP71790"]);
        let v = vins_from_csv("plate;VIN\nAA-00-AA;LPSED3KA9NL123456\n").unwrap();
        assert_eq!(v, ["LPSED3KA9NL123456"]);
        let e = vins_from_csv("LPSED3KA9NL123456\nLPSED3KA9NL12345O\nSHORT").unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["vins.2", "vins.3"]);
    }

    #[test]
    fn a_rule_chooses_by_model_year_and_serial() {
        let s = Selection {
            model: Some("Polestar 2".into()),
            year_from: Some(2022),
            year_to: Some(2023),
            serial_from: Some(100_000),
            serial_to: Some(199_999),
        };
        assert!(s.matches("LPSED3KA9NL123456", Some("Polestar 2"), Some(2022)));
        assert!(!s.matches("LPSED3KA9NL223456", Some("Polestar 2"), Some(2022)));
        assert!(!s.matches("LPSED3KA9NL123456", Some("Polestar 3"), Some(2022)));
        assert!(!s.matches("LPSED3KA9NL123456", Some("Polestar 2"), Some(2024)));
        assert!(Selection::default().matches("LPSED3KA9NL123456", None, None));
    }

    #[test]
    fn software_versions_compare_number_by_number() {
        assert!(version_done("2024.20.3", "2024.14.11"));
        assert!(version_done("2024.14.11", "2024.14.11"));
        assert!(!version_done("2024.14.9", "2024.14.11"));
        assert!(!version_done("2024.14", "2024.14.1"));
        assert!(version_done("P2.4.1", "P2.4"));
    }

    #[test]
    fn completion_is_whole_percent_rounded_down() {
        assert_eq!(completion_pct(0, 0), 0);
        assert_eq!(completion_pct(12, 30), 40);
        assert_eq!(completion_pct(29, 30), 96);
        assert_eq!(completion_pct(30, 30), 100);
    }
}
