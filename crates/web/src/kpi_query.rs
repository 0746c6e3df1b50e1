//! The filters of a KPI view as its URL carries them (`period`, `from`, `to`,
//! `organisation_id`, `model`, `pay_type`, `by`), read the same way by the pages and the API so
//! a shared link shows the same figures in both.

use aftersales_domain::kpi::{Dimension, Period};
use aftersales_domain::validation::{FieldError, Rule};
use aftersales_domain::workshop::PayType;
use aftersales_domain::ValidationErrors;
use aftersales_store::kpis::KpiQuery;
use time::Date;

/// The named periods a view offers, by their code in the URL.
pub const PRESETS: [&str; 7] = [
    "today",
    "this-week",
    "this-month",
    "last-month",
    "last-12-months",
    "year-to-date",
    "custom",
];

/// A view's filters, parsed.
#[derive(Debug, Clone)]
pub struct Filters {
    pub query: KpiQuery,
    /// The period as asked for: a preset code, a named period (`2026-11`), or `custom`.
    pub period: String,
    pub by: Option<Dimension>,
}

impl Filters {
    /// The filters as a query string (without `by`), for links and downloads.
    pub fn query_string(&self) -> String {
        let mut out = vec![];
        if self.period == "custom" {
            out.push(format!("from={}", self.query.period.from));
            out.push(format!("to={}", self.query.period.to));
        } else {
            out.push(format!("period={}", self.period));
        }
        if let Some(o) = &self.query.organisation {
            out.push(format!("organisation_id={}", enc(o)));
        }
        if let Some(m) = &self.query.model {
            out.push(format!("model={}", enc(m)));
        }
        if let Some(p) = self.query.pay_type {
            out.push(format!("pay_type={}", p.as_str()));
        }
        out.join("&")
    }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn date(field: &str, s: &str) -> Result<Date, FieldError> {
    Date::parse(
        s.trim(),
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| {
        FieldError::new(
            field,
            Rule::Format,
            format!("{field} must be a date like 2026-11-01"),
        )
    })
}

/// Reads the filters; `today` is the reader's day, `default` the preset without a period.
pub fn parse(
    pairs: &[(String, String)],
    today: Date,
    default: &str,
) -> Result<Filters, ValidationErrors> {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let mut errors = ValidationErrors::default();
    let (from, to) = (get("from"), get("to"));
    let (period, name) = if from.is_some() || to.is_some() {
        let f = errors.take(date("from", from.unwrap_or("")));
        let t = errors.take(date("to", to.unwrap_or("")));
        match (f, t) {
            (Some(f), Some(t)) => (errors.take(Period::new(f, t)), "custom".to_string()),
            _ => (None, "custom".to_string()),
        }
    } else {
        let p = get("period").unwrap_or(default);
        let period = match p {
            "today" => Some(Period {
                from: today,
                to: today,
            }),
            "this-week" => Some(Period::this_week(today)),
            "this-month" => Some(Period::this_month(today)),
            "last-month" => Some(Period::last_month(today)),
            "last-12-months" => Some(Period::last_twelve_months(today)),
            "year-to-date" => Some(Period::year_to_date(today)),
            other => errors.take(Period::parse("period", other).map_err(|_| {
                FieldError::new(
                    "period",
                    Rule::OneOf,
                    "period must be one of today, this-week, this-month, last-month, last-12-months, year-to-date, or a month (2026-11), quarter (2026-Q4) or year (2026)",
                )
            })),
        };
        (period, p.to_string())
    };
    let pay_type = get("pay_type").and_then(|p| errors.take(PayType::parse("pay_type", p)));
    let by = get("by").and_then(|b| errors.take(Dimension::parse("by", b)));
    errors.clone().into_result()?;
    let period = period.ok_or(errors)?;
    Ok(Filters {
        query: KpiQuery {
            period,
            organisation: get("organisation_id").map(str::to_string),
            model: get("model").map(str::to_string),
            pay_type,
        },
        period: name,
        by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn p(s: &[(&str, &str)]) -> Vec<(String, String)> {
        s.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn filters_round_trip_through_the_url() {
        let today = date!(2026 - 12 - 07);
        let f = parse(
            &p(&[("period", "2026-11"), ("pay_type", "warranty")]),
            today,
            "last-month",
        )
        .unwrap();
        assert_eq!(f.query.period.from, date!(2026 - 11 - 01));
        assert_eq!(f.query_string(), "period=2026-11&pay_type=warranty");
        let f = parse(&p(&[]), today, "this-week").unwrap();
        assert_eq!(f.query.period.from, date!(2026 - 12 - 07));
        let f = parse(
            &p(&[("from", "2026-10-01"), ("to", "2026-10-15")]),
            today,
            "x",
        )
        .unwrap();
        assert_eq!(f.query_string(), "from=2026-10-01&to=2026-10-15");
        let e = parse(&p(&[("period", "soon")]), today, "x").unwrap_err();
        assert_eq!(e.0[0].field, "period");
        let e = parse(&p(&[("from", "2026-10-01")]), today, "x").unwrap_err();
        assert_eq!(e.0[0].field, "to");
        let e = parse(&p(&[("period", "2026-11"), ("by", "planet")]), today, "x").unwrap_err();
        assert_eq!(e.0[0].field, "by");
    }
}
