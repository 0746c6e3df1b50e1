//! Warranty claims: the vocabulary, the workflow through the network (service point → importer →
//! brand), the checks a claim passes before it is made, the decisions line by line, the step's
//! deadline and the supplier recovery. Pure rules; the store keeps the records.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::validation::{FieldError, Rule, ValidationErrors};
use crate::workshop::LineKind;

vocabulary!(
    /// What a claim asks to be paid under.
    ClaimType {
        Warranty => "warranty",
        Goodwill => "goodwill",
        Campaign => "campaign",
        PartsWarranty => "parts-warranty",
        Pdi => "pdi",
    }
);

vocabulary!(
    /// Where a claim stands. Review states name who holds it; the last three are decisions.
    ClaimStatus {
        Draft => "draft",
        ImporterReview => "importer-review",
        BrandReview => "brand-review",
        Returned => "returned",
        Approved => "approved",
        PartlyApproved => "partly-approved",
        Rejected => "rejected",
    }
);

vocabulary!(
    /// The three parties a claim passes through.
    Party {
        ServicePoint => "service-point",
        Importer => "importer",
        Brand => "brand",
    }
);

vocabulary!(
    /// A step someone takes on a claim. `approve` with a line below its claimed amount is
    /// recorded as `approve-partly`.
    ClaimAction {
        Submit => "submit",
        Approve => "approve",
        ApprovePartly => "approve-partly",
        Reject => "reject",
        Return => "return",
        Appeal => "appeal",
    }
);

vocabulary!(
    /// Why a line (or a claim) is paid less than claimed, or not at all.
    ReasonCode {
        NotCovered => "not-covered",
        OverFlatRate => "over-flat-rate",
        PriceAboveList => "price-above-list",
        PartNotReturned => "part-not-returned",
        NoFaultFound => "no-fault-found",
        MissingInformation => "missing-information",
        WrongOperation => "wrong-operation",
        Other => "other",
    }
);

vocabulary!(
    /// What the analysis of a returned part found.
    PartAnalysis {
        Confirmed => "confirmed",
        NoTroubleFound => "no-trouble-found",
        Damaged => "damaged",
        Repairable => "repairable",
    }
);

impl ClaimStatus {
    /// The party whose move it is, if anyone's.
    pub fn holder(self) -> Party {
        match self {
            ClaimStatus::ImporterReview => Party::Importer,
            ClaimStatus::BrandReview => Party::Brand,
            _ => Party::ServicePoint,
        }
    }

    /// A decision has been taken (the claim may still be appealed).
    pub fn decided(self) -> bool {
        matches!(
            self,
            ClaimStatus::Approved | ClaimStatus::PartlyApproved | ClaimStatus::Rejected
        )
    }

    /// What the brand (or importer) owes on this claim counts: approved in whole or part.
    pub fn pays(self) -> bool {
        matches!(self, ClaimStatus::Approved | ClaimStatus::PartlyApproved)
    }
}

/// How long a party has for its step, in calendar days: the importer 5, the brand 10, the service
/// point 15 to answer a claim sent back. `None` where no one waits.
pub fn step_days(status: ClaimStatus) -> Option<i64> {
    match status {
        ClaimStatus::ImporterReview => Some(5),
        ClaimStatus::BrandReview => Some(10),
        ClaimStatus::Returned => Some(15),
        _ => None,
    }
}

/// When the step entered at `at` is due.
pub fn step_due(status: ClaimStatus, at: OffsetDateTime) -> Option<OffsetDateTime> {
    step_days(status).map(|d| at + Duration::days(d))
}

/// What a step leads to. `reviewer` says whether an importer (or market entity) stands between
/// the service point and the brand; `appealed` whether the one appeal has been used; `reduced`
/// whether an approval pays any line less than claimed.
pub fn next_status(
    status: ClaimStatus,
    action: ClaimAction,
    reviewer: bool,
    appealed: bool,
    reduced: bool,
) -> Result<ClaimStatus, FieldError> {
    use ClaimAction as A;
    use ClaimStatus as S;
    let first_review = if reviewer {
        S::ImporterReview
    } else {
        S::BrandReview
    };
    let not_now = || {
        FieldError::new(
            "action",
            Rule::NotAllowed,
            format!(
                "a claim that is {} cannot take the step {}",
                status.as_str(),
                action.as_str()
            ),
        )
        .hint("wc-err-step")
    };
    Ok(match (status, action) {
        (S::Draft | S::Returned, A::Submit) => first_review,
        (S::ImporterReview, A::Approve | A::ApprovePartly) => S::BrandReview,
        (S::BrandReview, A::Approve | A::ApprovePartly) => {
            if reduced {
                S::PartlyApproved
            } else {
                S::Approved
            }
        }
        (S::ImporterReview | S::BrandReview, A::Reject) => S::Rejected,
        (S::ImporterReview | S::BrandReview, A::Return) => S::Returned,
        (S::Rejected | S::PartlyApproved, A::Appeal) => {
            if appealed {
                return Err(FieldError::new(
                    "action",
                    Rule::NotAllowed,
                    "a claim can be appealed once, and this one has been",
                )
                .hint("wc-err-appealed"));
            }
            S::BrandReview
        }
        _ => return Err(not_now()),
    })
}

/// A line of the repair order offered to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedLine {
    pub kind: LineKind,
    pub code: Option<String>,
    /// Hours for labour (hundredths), pieces for parts.
    pub quantity_centi: i64,
    pub amount_minor: i64,
    /// The labour operation's flat-rate time, hundredths of an hour.
    pub flat_rate_centi: Option<i64>,
    /// Why more hours than the flat rate were needed, as the technician wrote it.
    pub over_reason: Option<String>,
}

/// What a claim states beside its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimFacts {
    pub claim_type: ClaimType,
    pub campaign: Option<String>,
    pub odometer_km: Option<i64>,
    pub complaint: String,
    pub causal_part: Option<String>,
    pub preauth: Option<String>,
    /// For a parts-warranty claim: the part numbers the network fitted earlier on the car whose
    /// parts warranty still ran when the car came in; the causal part must be one of them.
    pub parts_under_warranty: Vec<String>,
}

/// The smallest time a labour line may claim (Tesla: 0.05 h).
pub const MIN_LABOUR_CENTI: i64 = 5;

/// The claimed amount above which a brand wants a pre-authorisation number, in the currency's
/// minor units: Polestar €1,500 / NOK 17,500, Tesla €2,500 / NOK 30,000 (the brands' dealer
/// portals ask for it above a limit; these are the limits this product starts with).
pub fn preauth_limit(brand_code: &str, currency: &str) -> Option<i64> {
    match (brand_code, currency) {
        ("polestar", "EUR") => Some(150_000),
        ("polestar", "NOK") => Some(1_750_000),
        ("tesla", "EUR") => Some(250_000),
        ("tesla", "NOK") => Some(3_000_000),
        _ => None,
    }
}

/// The checks a claim passes before it is made: an odometer reading, the customer's complaint,
/// a campaign id for a campaign claim, a causal part where parts are claimed, labour hours
/// within the flat rate or a reason, at least the minimum time, and a pre-authorisation above
/// the brand's limit. Errors name the field (`lines.N.…` for a line).
pub fn check_claim(
    facts: &ClaimFacts,
    lines: &[OfferedLine],
    preauth_above: Option<i64>,
) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::default();
    match facts.odometer_km {
        None => errs.push(
            FieldError::new(
                "odometer_km",
                Rule::Required,
                "a claim needs the odometer reading",
            )
            .hint("wc-err-odometer"),
        ),
        Some(km) if !(0..=2_000_000).contains(&km) => errs.push(
            FieldError::new(
                "odometer_km",
                Rule::NotAllowed,
                "odometer_km must lie between 0 and 2000000",
            )
            .hint("wc-err-odometer"),
        ),
        Some(_) => {}
    }
    if facts.complaint.trim().is_empty() {
        errs.push(
            FieldError::new(
                "complaint",
                Rule::Required,
                "a claim needs the customer's complaint",
            )
            .hint("wc-err-complaint"),
        );
    }
    if facts.claim_type == ClaimType::Campaign
        && facts
            .campaign
            .as_deref()
            .is_none_or(|c| c.trim().is_empty())
    {
        errs.push(
            FieldError::new(
                "campaign",
                Rule::Required,
                "a campaign claim names its campaign",
            )
            .hint("wc-err-campaign"),
        );
    }
    if lines.is_empty() {
        errs.push(
            FieldError::new(
                "lines",
                Rule::Required,
                "a claim needs at least one line with pay type warranty or goodwill",
            )
            .hint("wc-err-lines"),
        );
    }
    let parts = lines.iter().any(|l| l.kind == LineKind::Part);
    if parts
        && matches!(
            facts.claim_type,
            ClaimType::Warranty | ClaimType::PartsWarranty
        )
        && facts
            .causal_part
            .as_deref()
            .is_none_or(|p| p.trim().is_empty())
    {
        errs.push(
            FieldError::new(
                "causal_part",
                Rule::Required,
                "a claim with parts names the part that failed first",
            )
            .hint("wc-err-causal-part"),
        );
    }
    for (i, l) in lines.iter().enumerate() {
        if l.kind != LineKind::Labour {
            continue;
        }
        if l.quantity_centi < MIN_LABOUR_CENTI {
            errs.push(
                FieldError::new(
                    format!("lines.{i}.hours"),
                    Rule::TooShort,
                    "a labour line claims at least 0.05 hours",
                )
                .hint("wc-err-hours"),
            );
        }
        if let Some(frt) = l.flat_rate_centi {
            if l.quantity_centi > frt
                && l.over_reason.as_deref().is_none_or(|r| r.trim().is_empty())
            {
                errs.push(
                    FieldError::new(
                        format!("lines.{i}.over_reason"),
                        Rule::Required,
                        format!(
                        "{} hours is above the operation's flat rate of {} hours: give the reason",
                        crate::money::format_centi(l.quantity_centi),
                        crate::money::format_centi(frt)
                    ),
                    )
                    .hint("wc-err-over-reason"),
                );
            }
        }
    }
    let total: i64 = lines.iter().map(|l| l.amount_minor).sum();
    if preauth_above.is_some_and(|limit| total > limit)
        && facts.preauth.as_deref().is_none_or(|p| p.trim().is_empty())
    {
        errs.push(
            FieldError::new(
                "preauth",
                Rule::Required,
                "the brand wants a pre-authorisation number for a claim of this amount",
            )
            .hint("wc-err-preauth"),
        );
    }
    if facts.claim_type == ClaimType::PartsWarranty {
        if let Some(p) = facts.causal_part.as_deref().map(str::trim) {
            if !p.is_empty()
                && !facts
                    .parts_under_warranty
                    .iter()
                    .any(|f| f.trim().eq_ignore_ascii_case(p))
            {
                errs.push(
                    FieldError::new(
                        "causal_part",
                        Rule::NotAllowed,
                        "a parts-warranty claim names a part the network fitted whose parts warranty still runs",
                    )
                    .hint("wc-err-parts-warranty"),
                );
            }
        }
    }
    errs.into_result()
}

/// A decider's word on one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineDecision {
    pub approved_minor: i64,
    pub reason: Option<ReasonCode>,
}

/// Checks the decisions on a claim's lines (`claimed` in line order): each between nothing and
/// the claimed amount, a reason wherever less is paid. Lines without a word are paid in full.
/// Answers the decisions in line order and whether any line is reduced.
pub fn check_decisions(
    claimed: &[i64],
    given: &[Option<LineDecision>],
) -> Result<(Vec<LineDecision>, bool), ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let mut out = Vec::with_capacity(claimed.len());
    let mut reduced = false;
    for (i, &c) in claimed.iter().enumerate() {
        let d = given.get(i).copied().flatten().unwrap_or(LineDecision {
            approved_minor: c,
            reason: None,
        });
        if !(0..=c).contains(&d.approved_minor) {
            errs.push(
                FieldError::new(
                    format!("lines.{i}.approved"),
                    Rule::NotAllowed,
                    "an approved amount lies between 0 and the claimed amount",
                )
                .hint("wc-err-approved"),
            );
        } else if d.approved_minor < c && d.reason.is_none() {
            errs.push(
                FieldError::new(
                    format!("lines.{i}.reason"),
                    Rule::Required,
                    "a line paid less than claimed needs a reason code",
                )
                .hint("wc-err-line-reason"),
            );
        }
        reduced |= d.approved_minor < c;
        out.push(d);
    }
    if given.len() > claimed.len() {
        errs.push(FieldError::new(
            "lines",
            Rule::NotAllowed,
            "more decisions than the claim has lines",
        ));
    }
    errs.into_result()?;
    Ok((out, reduced))
}

/// What a supplier pays back on a line: the recovery percentage of the approved amount, rounded
/// half away from zero to the minor unit.
pub fn recovery_amount(approved_minor: i64, pct: i64) -> i64 {
    let n = i128::from(approved_minor) * i128::from(pct);
    let q = (n + 50) / 100;
    i64::try_from(q).unwrap_or(i64::MAX)
}

/// Checks a recovery percentage (0–100) and that a part's analysis comes with its return.
pub fn check_recovery(
    kind: LineKind,
    returned: Option<bool>,
    analysis: Option<PartAnalysis>,
    pct: i64,
) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::default();
    if !(0..=100).contains(&pct) {
        errs.push(
            FieldError::new(
                "recovery_pct",
                Rule::NotAllowed,
                "recovery_pct lies between 0 and 100",
            )
            .hint("wc-err-recovery-pct"),
        );
    }
    if kind != LineKind::Part && (returned.is_some() || analysis.is_some()) {
        errs.push(
            FieldError::new(
                "part_returned",
                Rule::NotAllowed,
                "only a part line is returned and analysed",
            )
            .hint("wc-err-not-a-part"),
        );
    }
    if analysis.is_some() && returned != Some(true) {
        errs.push(
            FieldError::new(
                "analysis",
                Rule::NotAllowed,
                "a part is analysed once it has been returned",
            )
            .hint("wc-err-analysis"),
        );
    }
    errs.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labour(hours: i64, frt: Option<i64>, reason: Option<&str>) -> OfferedLine {
        OfferedLine {
            kind: LineKind::Labour,
            code: Some("17400312".into()),
            quantity_centi: hours,
            amount_minor: hours * 100,
            flat_rate_centi: frt,
            over_reason: reason.map(str::to_string),
        }
    }

    fn facts() -> ClaimFacts {
        ClaimFacts {
            claim_type: ClaimType::Warranty,
            campaign: None,
            odometer_km: Some(41_000),
            complaint: "Charge port door does not open".into(),
            causal_part: Some("1089451-00-A".into()),
            preauth: None,
            parts_under_warranty: Vec::new(),
        }
    }

    fn fields(e: ValidationErrors) -> Vec<String> {
        e.0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn the_workflow_passes_three_parties_and_allows_one_appeal() {
        use ClaimAction as A;
        use ClaimStatus as S;
        assert_eq!(
            next_status(S::Draft, A::Submit, true, false, false),
            Ok(S::ImporterReview)
        );
        assert_eq!(
            next_status(S::Draft, A::Submit, false, false, false),
            Ok(S::BrandReview)
        );
        assert_eq!(
            next_status(S::ImporterReview, A::ApprovePartly, true, false, true),
            Ok(S::BrandReview)
        );
        assert_eq!(
            next_status(S::BrandReview, A::Approve, true, false, true),
            Ok(S::PartlyApproved)
        );
        assert_eq!(
            next_status(S::BrandReview, A::Approve, true, false, false),
            Ok(S::Approved)
        );
        assert_eq!(
            next_status(S::ImporterReview, A::Return, true, false, false),
            Ok(S::Returned)
        );
        assert_eq!(
            next_status(S::Returned, A::Submit, true, false, false),
            Ok(S::ImporterReview)
        );
        assert_eq!(
            next_status(S::Rejected, A::Appeal, true, false, false),
            Ok(S::BrandReview)
        );
        assert!(next_status(S::Rejected, A::Appeal, true, true, false).is_err());
        assert!(next_status(S::Approved, A::Appeal, true, false, false).is_err());
        assert!(next_status(S::Draft, A::Approve, true, false, false).is_err());
        assert!(next_status(S::Approved, A::Submit, true, false, false).is_err());
        assert_eq!(S::ImporterReview.holder(), Party::Importer);
        assert_eq!(S::Returned.holder(), Party::ServicePoint);
    }

    #[test]
    fn labour_above_the_flat_rate_needs_a_reason_and_the_minimum_holds() {
        // At the flat rate exactly: fine.
        assert!(check_claim(&facts(), &[labour(120, Some(120), None)], None).is_ok());
        // One hundredth above: needs the reason.
        let e = check_claim(&facts(), &[labour(121, Some(120), None)], None).unwrap_err();
        assert_eq!(fields(e), ["lines.0.over_reason"]);
        assert!(check_claim(
            &facts(),
            &[labour(121, Some(120), Some("seized bolt"))],
            None
        )
        .is_ok());
        // 0.05 h is the least; 0.04 is refused.
        assert!(check_claim(&facts(), &[labour(5, None, None)], None).is_ok());
        let e = check_claim(&facts(), &[labour(4, None, None)], None).unwrap_err();
        assert_eq!(fields(e), ["lines.0.hours"]);
    }

    #[test]
    fn pre_authorisation_above_the_limit_and_the_facts_a_claim_needs() {
        let line = labour(150, Some(200), None); // 15 000 minor units
        assert!(check_claim(&facts(), std::slice::from_ref(&line), Some(15_000)).is_ok());
        let e = check_claim(&facts(), std::slice::from_ref(&line), Some(14_999)).unwrap_err();
        assert_eq!(fields(e), ["preauth"]);
        let mut f = facts();
        f.preauth = Some("PA-2026-0091".into());
        assert!(check_claim(&f, &[line], Some(14_999)).is_ok());
        let f = ClaimFacts {
            claim_type: ClaimType::Campaign,
            campaign: None,
            odometer_km: None,
            complaint: " ".into(),
            causal_part: None,
            preauth: None,
            parts_under_warranty: Vec::new(),
        };
        let e = check_claim(&f, &[], None).unwrap_err();
        assert_eq!(fields(e), ["odometer_km", "complaint", "campaign", "lines"]);
        let part = OfferedLine {
            kind: LineKind::Part,
            code: Some("1089451-00-A".into()),
            quantity_centi: 100,
            amount_minor: 9_900,
            flat_rate_centi: None,
            over_reason: None,
        };
        let mut f = facts();
        f.causal_part = None;
        assert_eq!(
            fields(check_claim(&f, std::slice::from_ref(&part), None).unwrap_err()),
            ["causal_part"]
        );
        // A parts-warranty claim names a part fitted earlier whose parts warranty still runs.
        let mut f = facts();
        f.claim_type = ClaimType::PartsWarranty;
        assert_eq!(
            fields(check_claim(&f, std::slice::from_ref(&part), None).unwrap_err()),
            ["causal_part"]
        );
        f.parts_under_warranty = vec!["1089451-00-a".into()];
        assert!(check_claim(&f, &[part], None).is_ok());
    }

    #[test]
    fn decisions_pay_at_most_the_claim_and_a_reduction_has_a_reason() {
        let claimed = [10_000, 4_000];
        let (d, reduced) = check_decisions(&claimed, &[]).unwrap();
        assert!(!reduced);
        assert_eq!(d[1].approved_minor, 4_000);
        let cut = Some(LineDecision {
            approved_minor: 2_000,
            reason: Some(ReasonCode::OverFlatRate),
        });
        let (d, reduced) = check_decisions(&claimed, &[None, cut]).unwrap();
        assert!(reduced);
        assert_eq!(d[0].approved_minor, 10_000);
        let no_reason = Some(LineDecision {
            approved_minor: 2_000,
            reason: None,
        });
        assert_eq!(
            fields(check_decisions(&claimed, &[None, no_reason]).unwrap_err()),
            ["lines.1.reason"]
        );
        let too_much = Some(LineDecision {
            approved_minor: 4_001,
            reason: None,
        });
        assert_eq!(
            fields(check_decisions(&claimed, &[None, too_much]).unwrap_err()),
            ["lines.1.approved"]
        );
        // Nothing paid at all on a line is a reduction too.
        let zero = Some(LineDecision {
            approved_minor: 0,
            reason: Some(ReasonCode::NotCovered),
        });
        assert!(check_decisions(&claimed, &[zero]).unwrap().1);
    }

    #[test]
    fn recovery_is_a_share_of_the_approved_amount() {
        assert_eq!(recovery_amount(9_999, 50), 5_000);
        assert_eq!(recovery_amount(10_000, 0), 0);
        assert_eq!(recovery_amount(10_000, 100), 10_000);
        assert!(check_recovery(
            LineKind::Part,
            Some(true),
            Some(PartAnalysis::Confirmed),
            80
        )
        .is_ok());
        assert!(check_recovery(
            LineKind::Part,
            Some(false),
            Some(PartAnalysis::Confirmed),
            0
        )
        .is_err());
        assert!(check_recovery(LineKind::Labour, Some(true), None, 0).is_err());
        assert!(check_recovery(LineKind::Part, None, None, 101).is_err());
    }

    #[test]
    fn each_step_has_its_deadline() {
        let at = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(
            step_due(ClaimStatus::ImporterReview, at),
            Some(at + Duration::days(5))
        );
        assert_eq!(step_due(ClaimStatus::Approved, at), None);
    }
}
