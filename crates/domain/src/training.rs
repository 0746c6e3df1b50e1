//! Competence and training (issue 19): courses with how long a completion stays valid, competence
//! profiles per role listing the courses they require (and the competence they grant, which the
//! workshop asks for when it assigns work), a person's standing on each requirement on a day
//! (held, expiring, expired, missing), the training compliance KPI
//! (`kpi-definitions.md`: required and unexpired ÷ required, high-voltage reported separately),
//! and what an xAPI statement says when it reports a completion. No I/O.

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::validation::{FieldError, Rule};

vocabulary!(
    /// Where a training record came from.
    RecordSource {
        Manual => "manual",
        Session => "session",
        Xapi => "xapi",
    }
);

vocabulary!(
    /// A person's place on a training session.
    Attendance {
        Registered => "registered",
        Attended => "attended",
        Absent => "absent",
    }
);

/// The last day a completion on `completed` stays valid: the same day `months` later, less one
/// (a course valid 36 months completed on 2024-03-15 holds until 2027-03-14). `None`: for good.
pub fn expires_on(completed: Date, months: Option<u16>) -> Option<Date> {
    let months = i32::from(months?);
    let total = completed.year() * 12 + i32::from(u8::from(completed.month())) - 1 + months;
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12));
    let month = Month::try_from(u8::try_from(month0 + 1).ok()?).ok()?;
    let last = month.length(year);
    let day = completed.day().min(last);
    Date::from_calendar_date(year, month, day)
        .ok()
        .and_then(|d| d.previous_day())
}

/// One completion of a course as the standing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub course: String,
    pub completed_on: Date,
    pub passed: bool,
    pub expires_on: Option<Date>,
}

/// Where a person stands on one required course on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum TrainingStanding {
    /// Held and valid beyond the warning window (or for good).
    Held {
        #[schema(value_type = Option<String>, format = Date)]
        #[serde(with = "crate::iso_date::option")]
        expires_on: Option<Date>,
    },
    /// Held, but it runs out within the window asked about.
    Expiring {
        #[schema(value_type = String, format = Date)]
        #[serde(with = "crate::iso_date")]
        expires_on: Date,
        days_left: i64,
    },
    /// Held once; ran out.
    Expired {
        #[schema(value_type = String, format = Date)]
        #[serde(with = "crate::iso_date")]
        expired_on: Date,
    },
    /// Never passed.
    Missing,
}

impl TrainingStanding {
    /// Counts as held for compliance and for assigning work: valid on the day.
    pub fn holds(self) -> bool {
        matches!(
            self,
            TrainingStanding::Held { .. } | TrainingStanding::Expiring { .. }
        )
    }
    pub fn code(self) -> &'static str {
        match self {
            TrainingStanding::Held { .. } => "held",
            TrainingStanding::Expiring { .. } => "expiring",
            TrainingStanding::Expired { .. } => "expired",
            TrainingStanding::Missing => "missing",
        }
    }
}

/// A person's standing on `course` on `on`, warning `window` days ahead: the best passed
/// completion counts (the one valid longest).
pub fn standing(
    completions: &[Completion],
    course: &str,
    on: Date,
    window: i64,
) -> TrainingStanding {
    let passed: Vec<&Completion> = completions
        .iter()
        .filter(|c| c.course == course && c.passed && c.completed_on <= on)
        .collect();
    if passed.is_empty() {
        return TrainingStanding::Missing;
    }
    if passed.iter().any(|c| c.expires_on.is_none()) {
        return TrainingStanding::Held { expires_on: None };
    }
    let Some(last) = passed.iter().filter_map(|c| c.expires_on).max() else {
        return TrainingStanding::Missing;
    };
    if last < on {
        return TrainingStanding::Expired { expired_on: last };
    }
    let days_left = (last - on).whole_days();
    if days_left < window {
        TrainingStanding::Expiring {
            expires_on: last,
            days_left,
        }
    } else {
        TrainingStanding::Held {
            expires_on: Some(last),
        }
    }
}

/// The first requirement of a profile a person does not meet on a day: the course, and the day
/// it ran out when it did.
pub fn first_gap<'a>(
    completions: &[Completion],
    required: &'a [String],
    on: Date,
) -> Option<(&'a str, Option<Date>)> {
    required
        .iter()
        .find_map(|course| match standing(completions, course, on, 0) {
            TrainingStanding::Expired { expired_on } => Some((course.as_str(), Some(expired_on))),
            TrainingStanding::Missing => Some((course.as_str(), None)),
            _ => None,
        })
}

/// Training compliance: requirements held and unexpired over requirements, in percent (one
/// decimal in tenths), `None` when nothing is required.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Compliance {
    pub held: u32,
    pub required: u32,
}

impl Compliance {
    pub fn add(&mut self, holds: bool) {
        self.required += 1;
        if holds {
            self.held += 1;
        }
    }
    pub fn merge(&mut self, other: Compliance) {
        self.held += other.held;
        self.required += other.required;
    }
    /// Percent in tenths (`987` = 98.7 %), rounded half up.
    pub fn per_mille(self) -> Option<u32> {
        (self.required > 0).then(|| (self.held * 2000 + self.required) / (self.required * 2))
    }
}

/// What an xAPI statement reports, as far as training records care.
#[derive(Debug, Clone, PartialEq)]
pub struct XapiCompletion {
    /// `mailto:` address or account name of the actor.
    pub actor: String,
    pub verb: String,
    pub object: String,
    pub success: Option<bool>,
}

/// The verbs that report a finished course.
pub const COMPLETION_VERBS: [&str; 2] = [
    "http://adlnet.gov/expapi/verbs/completed",
    "http://adlnet.gov/expapi/verbs/passed",
];

/// Whether a statement reports a course passed: a completion verb and no failed result.
pub fn completes(s: &XapiCompletion) -> bool {
    COMPLETION_VERBS.contains(&s.verb.as_str()) && s.success != Some(false)
}

/// Reads the parts of an xAPI statement (version 1.0.3) a training record needs: the actor
/// (`mbox` as an address, else `account.name`), `verb.id`, `object.id`, `result.success`.
/// Errors name the statement's path.
pub fn read_statement(at: &str, v: &serde_json::Value) -> Result<XapiCompletion, FieldError> {
    let actor = &v["actor"];
    let who = actor["mbox"]
        .as_str()
        .map(|m| m.trim_start_matches("mailto:").to_lowercase())
        .or_else(|| actor["account"]["name"].as_str().map(str::to_string))
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            FieldError::new(
                format!("{at}actor"),
                Rule::Required,
                "an actor with mbox or account.name",
            )
        })?;
    let verb = v["verb"]["id"]
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            FieldError::new(format!("{at}verb.id"), Rule::Required, "a verb id (IRI)")
        })?;
    let object = v["object"]["id"]
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            FieldError::new(
                format!("{at}object.id"),
                Rule::Required,
                "an object (activity) id (IRI)",
            )
        })?;
    if verb.len() > 500 || object.len() > 500 || who.len() > 320 {
        return Err(FieldError::new(
            format!("{at}object.id"),
            Rule::TooLong,
            "ids are at most 500 characters",
        ));
    }
    Ok(XapiCompletion {
        actor: who,
        verb: verb.to_string(),
        object: object.to_string(),
        success: v["result"]["success"].as_bool(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn done(course: &str, on: Date, months: Option<u16>) -> Completion {
        Completion {
            course: course.into(),
            completed_on: on,
            passed: true,
            expires_on: expires_on(on, months),
        }
    }

    #[test]
    fn validity_counts_whole_months() {
        assert_eq!(
            expires_on(date!(2024 - 03 - 15), Some(36)),
            Some(date!(2027 - 03 - 14))
        );
        assert_eq!(
            expires_on(date!(2024 - 01 - 31), Some(1)),
            Some(date!(2024 - 02 - 28))
        );
        assert_eq!(expires_on(date!(2024 - 01 - 31), None), None);
    }

    #[test]
    fn standing_on_a_day() {
        let c = [done("hv-2", date!(2023 - 12 - 01), Some(36))];
        // Valid until 2026-11-30.
        assert_eq!(
            standing(&c, "hv-2", date!(2026 - 09 - 01), 30),
            TrainingStanding::Held {
                expires_on: Some(date!(2026 - 11 - 30))
            }
        );
        assert_eq!(
            standing(&c, "hv-2", date!(2026 - 11 - 21), 30),
            TrainingStanding::Expiring {
                expires_on: date!(2026 - 11 - 30),
                days_left: 9
            }
        );
        assert_eq!(
            standing(&c, "hv-2", date!(2026 - 12 - 01), 30),
            TrainingStanding::Expired {
                expired_on: date!(2026 - 11 - 30)
            }
        );
        assert_eq!(
            standing(&c, "hv-1", date!(2026 - 12 - 01), 30),
            TrainingStanding::Missing
        );
        let failed = [Completion {
            passed: false,
            ..done("hv-1", date!(2026 - 01 - 01), None)
        }];
        assert_eq!(
            standing(&failed, "hv-1", date!(2026 - 12 - 01), 30),
            TrainingStanding::Missing
        );
        let required = vec!["hv-1".to_string(), "hv-2".to_string()];
        let all = [c[0].clone(), done("hv-1", date!(2023 - 01 - 01), None)];
        assert_eq!(first_gap(&all, &required, date!(2026 - 11 - 30)), None);
        assert_eq!(
            first_gap(&all, &required, date!(2026 - 12 - 01)),
            Some(("hv-2", Some(date!(2026 - 11 - 30))))
        );
    }

    #[test]
    fn compliance_in_tenths() {
        let mut c = Compliance::default();
        assert_eq!(c.per_mille(), None);
        c.add(true);
        c.add(true);
        c.add(false);
        assert_eq!(c.per_mille(), Some(667));
    }

    #[test]
    fn xapi_completions() {
        let s = serde_json::json!({
            "actor": {"mbox": "mailto:Bruno.Ferreira@volvocars.example"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": "https://lms.example/courses/hv-2"},
            "result": {"success": true}
        });
        let r = read_statement("", &s).unwrap();
        assert_eq!(r.actor, "bruno.ferreira@volvocars.example");
        assert!(completes(&r));
        let failed = XapiCompletion {
            success: Some(false),
            ..r.clone()
        };
        assert!(!completes(&failed));
        let launched = XapiCompletion {
            verb: "http://adlnet.gov/expapi/verbs/launched".into(),
            ..r
        };
        assert!(!completes(&launched));
        let e = read_statement("0.", &serde_json::json!({"actor": {}})).unwrap_err();
        assert_eq!(e.field, "0.actor");
    }
}
