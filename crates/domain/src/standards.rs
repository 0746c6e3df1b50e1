//! Dealer standards (issue 19): the catalogue of requirements a brand (and a market, as additions)
//! sets for its service points, read from and written to a JSON file; how one answer is judged
//! (met / partly / not met / not applicable, a figure against its target); the scores of an audit
//! per category and overall by one stated rule; the corrective-action workflow and when an
//! action is overdue. No I/O: the store reads, asks these functions, writes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::Date;

use crate::i18n::Language;
use crate::validation::{FieldError, Rule};
use crate::ValidationErrors;

vocabulary!(
    /// The areas a catalogue's requirements fall in, in the order pages show them.
    StandardCategory {
        Facilities => "facilities",
        Equipment => "equipment",
        Tools => "tools",
        Staffing => "staffing",
        Processes => "processes",
        CustomerExperience => "customer-experience",
        BrandIdentity => "brand-identity",
    }
);

vocabulary!(
    /// What an auditor needs to see to judge a requirement.
    Evidence {
        None => "none",
        Photo => "photo",
        Document => "document",
        Figure => "figure",
    }
);

vocabulary!(
    /// How a requirement is judged: met / partly / not met, met or not, or a figure against a target.
    Scoring {
        Graded => "graded",
        PassFail => "pass-fail",
        Figure => "figure",
    }
);

vocabulary!(
    /// One answer to a requirement.
    Outcome {
        Met => "met",
        Partly => "partly",
        NotMet => "not-met",
        NotApplicable => "not-applicable",
    }
);

vocabulary!(
    /// Who answered: the service point about itself, or the auditor.
    AuditParty {
        SelfAssessment => "self",
        Official => "official",
    }
);

vocabulary!(
    /// Where an audit stands.
    AuditStatus {
        Planned => "planned",
        Completed => "completed",
        Cancelled => "cancelled",
    }
);

vocabulary!(
    /// Where a corrective action stands: open (the owner works on it), submitted (closing evidence
    /// given, waiting for the auditor), verified (the auditor saw that it worked).
    ActionStatus {
        Open => "open",
        Submitted => "submitted",
        Verified => "verified",
    }
);

/// The pass mark of a catalogue when the file names none, in percent.
pub const DEFAULT_PASS_MARK: u8 = 80;
/// Largest evidence file kept.
pub const MAX_EVIDENCE_BYTES: usize = 10 * 1024 * 1024;
/// Most requirements a catalogue may hold.
pub const MAX_REQUIREMENTS: usize = 500;

/// A figure requirement's target: met at or past `target`, partly at or past `partly` (when set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FigureRule {
    /// What the figure is, per language (for example "CSAT, last 12 months").
    pub unit: BTreeMap<String, String>,
    pub target: f64,
    /// Between the target and this the requirement is partly met.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partly: Option<f64>,
    /// Whether more is better (`true`: at least the target) or less (`false`: at most).
    #[serde(default = "yes")]
    pub higher_is_better: bool,
}

fn yes() -> bool {
    true
}

/// One requirement of a catalogue, as the file writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Requirement {
    /// Unique in the catalogue, e.g. `FAC-01`.
    pub code: String,
    pub category: StandardCategory,
    /// The requirement's text per language: nb, en and pt are all required.
    pub text: BTreeMap<String, String>,
    /// 1 to 10: how much the requirement counts in its category and overall.
    pub weight: u8,
    /// A mandatory requirement must be met for the service point to pass, whatever its score.
    #[serde(default)]
    pub mandatory: bool,
    #[serde(default = "no_evidence")]
    pub evidence: Evidence,
    #[serde(default = "graded")]
    pub scoring: Scoring,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figure: Option<FigureRule>,
}

fn no_evidence() -> Evidence {
    Evidence::None
}
fn graded() -> Scoring {
    Scoring::Graded
}

/// A catalogue file (JSON): the export of a version and the import of the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CatalogueFile {
    /// The catalogue's name per language (nb, en, pt).
    pub name: BTreeMap<String, String>,
    /// The overall score (percent) a service point must reach to pass, besides every mandatory
    /// requirement met. 80 when left out.
    #[serde(default = "pass_mark")]
    pub pass_mark: u8,
    pub requirements: Vec<Requirement>,
}

fn pass_mark() -> u8 {
    DEFAULT_PASS_MARK
}

fn texts(field: &str, map: &BTreeMap<String, String>, max: usize, errs: &mut ValidationErrors) {
    for lang in Language::ALL {
        let at = format!("{field}.{}", lang.code());
        match map.get(lang.code()).map(|s| s.trim()) {
            Some(s) if !s.is_empty() && s.chars().count() <= max => {}
            Some(s) if !s.is_empty() => errs.push(FieldError::new(
                at,
                Rule::TooLong,
                format!("at most {max} characters"),
            )),
            _ => errs.push(FieldError::new(
                at,
                Rule::Required,
                "a text in each of nb, en and pt",
            )),
        }
    }
    for lang in map.keys() {
        if Language::from_tag(lang).map(|l| l.code()) != Some(lang.as_str()) {
            errs.push(FieldError::new(
                format!("{field}.{lang}"),
                Rule::OneOf,
                "languages are nb, en and pt",
            ));
        }
    }
}

impl CatalogueFile {
    /// The rules a catalogue keeps, every problem named by its place in the file
    /// (`requirements.3.text.pt`): nothing is taken when one is wrong.
    pub fn check(&self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::default();
        texts("name", &self.name, 120, &mut errs);
        if !(1..=100).contains(&self.pass_mark) {
            errs.push(FieldError::new(
                "pass_mark",
                Rule::Format,
                "pass_mark is a percentage from 1 to 100",
            ));
        }
        if self.requirements.is_empty() || self.requirements.len() > MAX_REQUIREMENTS {
            errs.push(FieldError::new(
                "requirements",
                Rule::Required,
                format!("a catalogue holds 1 to {MAX_REQUIREMENTS} requirements"),
            ));
        }
        let mut codes = BTreeSet::new();
        for (i, r) in self.requirements.iter().enumerate() {
            let at = |f: &str| format!("requirements.{i}.{f}");
            let code = r.code.trim();
            if code.is_empty()
                || code.len() > 20
                || !code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                errs.push(FieldError::new(
                    at("code"),
                    Rule::Format,
                    "a code is 1 to 20 letters, digits, '-' or '.'",
                ));
            } else if !codes.insert(code.to_ascii_uppercase()) {
                errs.push(FieldError::new(
                    at("code"),
                    Rule::Unique,
                    format!("the code {code} is used twice"),
                ));
            }
            texts(&at("text"), &r.text, 500, &mut errs);
            if !(1..=10).contains(&r.weight) {
                errs.push(FieldError::new(
                    at("weight"),
                    Rule::Format,
                    "weight is a whole number from 1 to 10",
                ));
            }
            match (r.scoring, &r.figure) {
                (Scoring::Figure, None) => errs.push(FieldError::new(
                    at("figure"),
                    Rule::Required,
                    "a requirement scored by a figure needs its target",
                )),
                (Scoring::Figure, Some(f)) => {
                    texts(&at("figure.unit"), &f.unit, 80, &mut errs);
                    if !f.target.is_finite() {
                        errs.push(FieldError::new(
                            at("figure.target"),
                            Rule::Format,
                            "the target is a number",
                        ));
                    }
                    if let Some(p) = f.partly {
                        let wrong_side = if f.higher_is_better {
                            p >= f.target
                        } else {
                            p <= f.target
                        };
                        if !p.is_finite() || wrong_side {
                            errs.push(FieldError::new(
                                at("figure.partly"),
                                Rule::Format,
                                "the partly bound lies on the far side of the target",
                            ));
                        }
                    }
                    if r.evidence != Evidence::Figure {
                        errs.push(FieldError::new(
                            at("evidence"),
                            Rule::OneOf,
                            "a requirement scored by a figure takes a figure as evidence",
                        ));
                    }
                }
                (_, Some(_)) => errs.push(FieldError::new(
                    at("figure"),
                    Rule::NotAllowed,
                    "only a requirement scored by a figure has a target",
                )),
                (_, None) => {}
            }
        }
        errs.into_result()
    }
}

/// What a figure gives against its rule.
pub fn figure_outcome(rule: &FigureRule, value: f64) -> Outcome {
    let reaches = |bound: f64| {
        if rule.higher_is_better {
            value >= bound
        } else {
            value <= bound
        }
    };
    if reaches(rule.target) {
        Outcome::Met
    } else if rule.partly.is_some_and(reaches) {
        Outcome::Partly
    } else {
        Outcome::NotMet
    }
}

/// Checks one answer against its requirement's scoring: a figure requirement takes its figure
/// (the outcome follows from it, or is "not applicable"), a pass/fail one no "partly".
pub fn judge(
    field: &str,
    scoring: Scoring,
    figure_rule: Option<&FigureRule>,
    outcome: Option<Outcome>,
    figure: Option<f64>,
) -> Result<Option<Outcome>, FieldError> {
    match (scoring, figure_rule) {
        (Scoring::Figure, Some(rule)) => match (outcome, figure) {
            (Some(Outcome::NotApplicable), _) => Ok(Some(Outcome::NotApplicable)),
            (_, Some(v)) if v.is_finite() => Ok(Some(figure_outcome(rule, v))),
            (_, Some(_)) => Err(FieldError::new(field, Rule::Format, "a figure is a number")),
            (None, None) => Ok(None),
            (Some(_), None) => Err(FieldError::new(
                field,
                Rule::Required,
                "this requirement is judged by its figure: enter the figure",
            )
            .hint("st-err-figure")),
        },
        _ => match outcome {
            Some(Outcome::Partly) if scoring == Scoring::PassFail => Err(FieldError::new(
                field,
                Rule::OneOf,
                "this requirement is met or not met, never partly",
            )
            .hint("st-err-pass-fail")),
            o => Ok(o),
        },
    }
}

/// One requirement as the score sees it.
#[derive(Debug, Clone, Copy)]
pub struct Scored {
    pub category: StandardCategory,
    pub weight: u8,
    pub mandatory: bool,
    pub outcome: Option<Outcome>,
}

/// The score of a category or of the whole audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Score {
    /// Weighted points earned, in halves (met = 2 × weight, partly = weight).
    pub earned_halves: u32,
    /// Weighted points possible, in halves (2 × weight of every applicable requirement).
    pub possible_halves: u32,
    /// Percent, rounded half up; `None` when nothing applied.
    pub percent: Option<u8>,
}

impl Score {
    fn add(&mut self, weight: u8, outcome: Outcome) {
        let w = u32::from(weight) * 2;
        match outcome {
            Outcome::Met => {
                self.earned_halves += w;
                self.possible_halves += w;
            }
            Outcome::Partly => {
                self.earned_halves += w / 2;
                self.possible_halves += w;
            }
            Outcome::NotMet => self.possible_halves += w,
            Outcome::NotApplicable => {}
        }
        self.percent = (self.possible_halves > 0).then(|| {
            let p = (u64::from(self.earned_halves) * 200 + u64::from(self.possible_halves))
                / (u64::from(self.possible_halves) * 2);
            u8::try_from(p).unwrap_or(100)
        });
    }
}

/// The scores of a set of answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scores {
    pub overall: Score,
    pub categories: BTreeMap<StandardCategory, Score>,
    /// Mandatory requirements not met (partly counts as not met).
    pub mandatory_failed: u32,
    /// Requirements without an answer.
    pub unanswered: u32,
}

impl Scores {
    /// Passed: every mandatory requirement met and the overall score at the pass mark.
    pub fn passed(&self, pass_mark: u8) -> bool {
        self.mandatory_failed == 0
            && self.unanswered == 0
            && self.overall.percent >= Some(pass_mark)
    }
}

/// The scoring rule: met counts the requirement's weight, partly half of it, not met nothing,
/// not applicable leaves it out; a category's score is what it earned over what it could, in
/// percent rounded half up, and the overall score the same over every requirement.
pub fn score(items: &[Scored]) -> Scores {
    let mut out = Scores {
        overall: Score {
            earned_halves: 0,
            possible_halves: 0,
            percent: None,
        },
        categories: BTreeMap::new(),
        mandatory_failed: 0,
        unanswered: 0,
    };
    for i in items {
        let Some(o) = i.outcome else {
            out.unanswered += 1;
            continue;
        };
        out.overall.add(i.weight, o);
        out.categories
            .entry(i.category)
            .or_insert(Score {
                earned_halves: 0,
                possible_halves: 0,
                percent: None,
            })
            .add(i.weight, o);
        if i.mandatory && matches!(o, Outcome::NotMet | Outcome::Partly) {
            out.mandatory_failed += 1;
        }
    }
    out
}

/// Whether a requirement's official outcome is a finding a corrective action may answer.
pub fn is_finding(outcome: Option<Outcome>) -> bool {
    matches!(outcome, Some(Outcome::NotMet | Outcome::Partly))
}

/// An action is overdue when it is still open after its due day.
pub fn overdue(status: ActionStatus, due: Date, today: Date) -> bool {
    status == ActionStatus::Open && due < today
}

/// The moves of a corrective action: the owner submits closing evidence on an open action; the
/// auditor verifies a submitted one, or sends it back (open again).
pub fn action_move(from: ActionStatus, to: ActionStatus) -> Result<(), FieldError> {
    use ActionStatus::*;
    match (from, to) {
        (Open, Submitted) | (Submitted, Verified) | (Submitted, Open) => Ok(()),
        _ => Err(FieldError::new(
            "status",
            Rule::NotAllowed,
            format!(
                "an action that is {} cannot become {}",
                from.as_str(),
                to.as_str()
            ),
        )
        .hint("st-err-action-move")),
    }
}

/// The type of an evidence file, read from its first bytes: a photo (JPEG, PNG, WebP, HEIC,
/// AVIF) or a PDF document; at most [`MAX_EVIDENCE_BYTES`].
pub fn evidence_type(field: &str, bytes: &[u8]) -> Result<&'static str, FieldError> {
    if bytes.len() > MAX_EVIDENCE_BYTES {
        return Err(FieldError::new(
            field,
            Rule::TooLong,
            format!(
                "an evidence file is at most {} MB",
                MAX_EVIDENCE_BYTES / 1024 / 1024
            ),
        )
        .hint("st-err-file-size"));
    }
    if bytes.starts_with(b"%PDF-") {
        return Ok("application/pdf");
    }
    crate::logistics::handover::photo_type(field, bytes).map_err(|e| {
        if e.rule == Rule::OneOf {
            FieldError::new(
                field,
                Rule::OneOf,
                "evidence is a photo (JPEG, PNG, WebP, HEIC, AVIF) or a PDF",
            )
            .hint("st-err-file-type")
        } else {
            e
        }
    })
}

/// A file name as kept: the last path segment, printable characters only, at most 120.
pub fn file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(120)
        .collect();
    if clean.trim().is_empty() {
        "evidence".to_string()
    } else {
        clean.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &str) -> BTreeMap<String, String> {
        ["nb", "en", "pt"]
            .iter()
            .map(|l| (l.to_string(), format!("{s} {l}")))
            .collect()
    }

    fn req(code: &str, category: StandardCategory, weight: u8, mandatory: bool) -> Requirement {
        Requirement {
            code: code.into(),
            category,
            text: names(code),
            weight,
            mandatory,
            evidence: Evidence::None,
            scoring: Scoring::Graded,
            figure: None,
        }
    }

    #[test]
    fn a_catalogue_round_trips_and_names_every_problem() {
        let file = CatalogueFile {
            name: names("Standard"),
            pass_mark: 75,
            requirements: vec![req("FAC-01", StandardCategory::Facilities, 3, true)],
        };
        let json = serde_json::to_vec(&file).unwrap();
        let back: CatalogueFile = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, file);
        assert!(back.check().is_ok());

        let mut bad = file.clone();
        bad.requirements
            .push(req("fac-01", StandardCategory::Tools, 0, false));
        bad.requirements[0].text.remove("pt");
        bad.requirements.push(Requirement {
            scoring: Scoring::Figure,
            ..req("KPI-1", StandardCategory::Processes, 2, false)
        });
        let errs = bad.check().unwrap_err();
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"requirements.0.text.pt"), "{fields:?}");
        assert!(fields.contains(&"requirements.1.code"), "{fields:?}");
        assert!(fields.contains(&"requirements.1.weight"), "{fields:?}");
        assert!(fields.contains(&"requirements.2.figure"), "{fields:?}");
    }

    #[test]
    fn figures_judge_themselves() {
        let rule = FigureRule {
            unit: names("CSAT"),
            target: 85.0,
            partly: Some(80.0),
            higher_is_better: true,
        };
        assert_eq!(figure_outcome(&rule, 85.0), Outcome::Met);
        assert_eq!(figure_outcome(&rule, 82.5), Outcome::Partly);
        assert_eq!(figure_outcome(&rule, 79.9), Outcome::NotMet);
        let lower = FigureRule {
            higher_is_better: false,
            target: 3.0,
            partly: None,
            ..rule.clone()
        };
        assert_eq!(figure_outcome(&lower, 2.0), Outcome::Met);
        assert_eq!(figure_outcome(&lower, 4.0), Outcome::NotMet);
        assert_eq!(
            judge(
                "x",
                Scoring::Figure,
                Some(&rule),
                Some(Outcome::Met),
                Some(70.0)
            ),
            Ok(Some(Outcome::NotMet))
        );
        assert!(judge("x", Scoring::Figure, Some(&rule), Some(Outcome::Met), None).is_err());
        assert!(judge("x", Scoring::PassFail, None, Some(Outcome::Partly), None).is_err());
        assert_eq!(
            judge("x", Scoring::Graded, None, Some(Outcome::Partly), None),
            Ok(Some(Outcome::Partly))
        );
    }

    #[test]
    fn the_scoring_rule() {
        use StandardCategory::*;
        let s = |category, weight, mandatory, outcome| Scored {
            category,
            weight,
            mandatory,
            outcome: Some(outcome),
        };
        let scores = score(&[
            s(Facilities, 3, true, Outcome::Met),
            s(Facilities, 1, false, Outcome::Partly),
            s(Tools, 2, false, Outcome::NotMet),
            s(Tools, 5, false, Outcome::NotApplicable),
        ]);
        // Facilities: (3 + 0.5) / 4 = 87.5 % → 88; tools 0 %; overall 3.5 / 6 = 58.3 % → 58.
        assert_eq!(scores.categories[&Facilities].percent, Some(88));
        assert_eq!(scores.categories[&Tools].percent, Some(0));
        assert_eq!(scores.overall.percent, Some(58));
        assert_eq!(scores.mandatory_failed, 0);
        assert!(!scores.passed(50) || scores.overall.percent >= Some(50));
        assert!(scores.passed(58));
        assert!(!scores.passed(59));
        let failed = score(&[
            s(Facilities, 10, false, Outcome::Met),
            s(Staffing, 1, true, Outcome::Partly),
        ]);
        assert_eq!(failed.mandatory_failed, 1);
        assert!(
            !failed.passed(50),
            "a mandatory requirement partly met fails"
        );
        let open = score(&[Scored {
            category: Tools,
            weight: 1,
            mandatory: false,
            outcome: None,
        }]);
        assert_eq!((open.unanswered, open.overall.percent), (1, None));
    }

    #[test]
    fn actions_move_and_fall_overdue() {
        use ActionStatus::*;
        assert!(action_move(Open, Submitted).is_ok());
        assert!(action_move(Submitted, Verified).is_ok());
        assert!(action_move(Submitted, Open).is_ok());
        assert!(action_move(Open, Verified).is_err());
        assert!(action_move(Verified, Open).is_err());
        let d = |day| Date::from_calendar_date(2026, time::Month::December, day).unwrap();
        assert!(overdue(Open, d(5), d(6)));
        assert!(!overdue(Open, d(6), d(6)));
        assert!(!overdue(Submitted, d(1), d(6)));
    }

    #[test]
    fn evidence_files_are_photos_or_pdfs() {
        assert_eq!(
            evidence_type("file", b"%PDF-1.7 ..."),
            Ok("application/pdf")
        );
        assert_eq!(
            evidence_type("file", b"\x89PNG\r\n\x1a\n...."),
            Ok("image/png")
        );
        assert_eq!(
            evidence_type("file", b"MZ\x90\x00").unwrap_err().rule,
            Rule::OneOf
        );
        assert_eq!(file_name("C:\\fotos\\oficina.jpg"), "oficina.jpg");
        assert_eq!(file_name(""), "evidence");
    }
}
