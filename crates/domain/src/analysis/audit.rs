//! Red flags on claims and the risk score of a service point (domain rules §3.5): each rule is
//! data (a threshold and a weight, on or off), each hit names the claim, and a service point's
//! score sums its hits' weights per 100 claims. Pure: the store gathers the facts of the claims
//! (including how many days the paying coverage had left, from `warranty::coverage`), this
//! module judges them.
//!
//! The rules and what their threshold means:
//! - `repeat-repair`: another counted claim by the same service point on the same VIN for the same
//!   component group, 1 to `threshold` days before (a fix that did not hold);
//! - `near-expiry`: the car came in when the coverage that pays for its component had at most
//!   `threshold` days left;
//! - `over-flat-rate`: labour claimed above the operation's flat rate by more than `threshold` %;
//! - `replaced-repairable`: a part worth at least `threshold` (whole currency units) replaced
//!   whose returned-part analysis says it could have been repaired;
//! - `duplicate-billing`: a line billed twice in one claim, or the same line (code and amount)
//!   on the same VIN in another claim at most `threshold` days apart;
//! - `shared-address`: the car's owner lives at an address shared by at least `threshold`
//!   customers with claims;
//! - `no-trouble-found`: the returned part was found without fault, counted where more than
//!   `threshold` % of the service point's claims with a returned part say so.
//!
//! A service point's risk score is the sum of the weights of its claims' hits, per 100 claims,
//! plus the weight of `peer-outlier` for each peer comparison (funnel) on which it lies above
//! the upper 99.8 % limit. A claim's sampling weight is 1 plus the weights of its hits, so every
//! claim keeps some chance to be inspected.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use time::Date;

use crate::validation::{FieldError, Rule, ValidationErrors};
use crate::warranty::goodwill::ComponentGroup;

pub use vocab::{AuditResult, ChargebackReason, RedFlag};

/// The audit's vocabularies (the macro's generated items carry no docs of their own).
#[allow(missing_docs)]
mod vocab {
    use crate::validation::{FieldError, Rule};
    use serde::{Deserialize, Serialize};

    vocabulary!(
        /// A red-flag rule.
        RedFlag {
            RepeatRepair => "repeat-repair",
            NearExpiry => "near-expiry",
            OverFlatRate => "over-flat-rate",
            ReplacedRepairable => "replaced-repairable",
            DuplicateBilling => "duplicate-billing",
            SharedAddress => "shared-address",
            NoTroubleFound => "no-trouble-found",
            PeerOutlier => "peer-outlier",
        }
    );

    vocabulary!(
        /// What an audit found on a claim.
        AuditResult {
            Accepted => "accepted",
            ChargedBack => "charged-back",
        }
    );

    vocabulary!(
        /// Why money is charged back after an audit.
        ChargebackReason {
            LabourOverFlatRate => "labour-over-flat-rate",
            RepairPossible => "repair-possible",
            NoFaultFound => "no-fault-found",
            DuplicateBilling => "duplicate-billing",
            RepeatRepair => "repeat-repair",
            NotDocumented => "not-documented",
            NotCovered => "not-covered",
            Other => "other",
        }
    );
}

/// How a rule is set: its threshold (unit per rule, see the module), its weight in risk
/// points, and whether it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleSetting {
    /// The rule.
    pub flag: RedFlag,
    /// Its threshold.
    pub threshold: i64,
    /// Risk points a hit adds.
    pub weight: i64,
    /// Off: the rule finds nothing.
    pub enabled: bool,
}

impl RedFlag {
    /// The unit of the threshold: `days`, `percent`, `money` (whole units), `customers`, `none`.
    pub fn unit(self) -> &'static str {
        match self {
            RedFlag::RepeatRepair | RedFlag::NearExpiry | RedFlag::DuplicateBilling => "days",
            RedFlag::OverFlatRate | RedFlag::NoTroubleFound => "percent",
            RedFlag::ReplacedRepairable => "money",
            RedFlag::SharedAddress => "customers",
            RedFlag::PeerOutlier => "none",
        }
    }

    /// The range a threshold must lie in.
    pub fn threshold_range(self) -> (i64, i64) {
        match self {
            RedFlag::RepeatRepair | RedFlag::NearExpiry => (1, 730),
            RedFlag::DuplicateBilling => (0, 365),
            RedFlag::OverFlatRate | RedFlag::NoTroubleFound => (0, 100),
            RedFlag::ReplacedRepairable => (0, 1_000_000),
            RedFlag::SharedAddress => (2, 1_000),
            RedFlag::PeerOutlier => (0, 0),
        }
    }
}

/// The rules as a market starts with them.
pub fn default_rules() -> Vec<RuleSetting> {
    let r = |flag, threshold, weight| RuleSetting {
        flag,
        threshold,
        weight,
        enabled: true,
    };
    vec![
        r(RedFlag::RepeatRepair, 90, 3),
        r(RedFlag::NearExpiry, 30, 2),
        r(RedFlag::OverFlatRate, 10, 2),
        r(RedFlag::ReplacedRepairable, 100, 3),
        r(RedFlag::DuplicateBilling, 7, 5),
        r(RedFlag::SharedAddress, 3, 4),
        r(RedFlag::NoTroubleFound, 10, 3),
        r(RedFlag::PeerOutlier, 0, 50),
    ]
}

/// Checks a rule setting before it is kept: the threshold in its range, the weight 0–1,000.
/// Errors name the field (`threshold`, `weight`).
pub fn check_rule(s: &RuleSetting) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let (lo, hi) = s.flag.threshold_range();
    if s.threshold < lo || s.threshold > hi {
        errs.push(
            FieldError::new(
                "threshold",
                Rule::Format,
                format!(
                    "threshold of {} must lie between {lo} and {hi}",
                    s.flag.as_str()
                ),
            )
            .hint("au-err-threshold"),
        );
    }
    if !(0..=1_000).contains(&s.weight) {
        errs.push(
            FieldError::new("weight", Rule::Format, "weight must lie between 0 and 1000")
                .hint("au-err-weight"),
        );
    }
    errs.into_result()
}

/// A line of a claim as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLine {
    /// Part number or labour operation.
    pub code: Option<String>,
    /// `part`, `labour`, `sublet`.
    pub kind: String,
    /// Quantity in hundredths.
    pub quantity_centi: i64,
    /// Amount claimed, minor units.
    pub claimed_minor: i64,
    /// The flat rate of a labour line, hundredths of an hour.
    pub flat_rate_centi: Option<i64>,
    /// The returned part's analysis (`confirmed`, `no-trouble-found`, `damaged`, `repairable`).
    pub analysis: Option<String>,
}

/// What the rules know of a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditClaim {
    /// The service point that made it.
    pub point: String,
    /// The car.
    pub vin: String,
    /// The owner when it was made, and their address normalised (none: unknown).
    pub customer: Option<String>,
    /// The owner's address, normalised by [`normalise_address`].
    pub address: Option<String>,
    /// The component group.
    pub component: Option<ComponentGroup>,
    /// The day the car came in.
    pub opened: Date,
    /// Days left of the coverage that pays for its component then (none: not known).
    pub coverage_days_left: Option<i64>,
    /// Its lines.
    pub lines: Vec<AuditLine>,
    /// Whether it counts (in the period judged); earlier claims are read only to find repeats.
    pub in_period: bool,
}

/// An address as compared: lower case, runs of spaces and punctuation folded to one space.
pub fn normalise_address(street: &str, postal_code: Option<&str>) -> Option<String> {
    let mut out = String::new();
    for part in [Some(street), postal_code].into_iter().flatten() {
        for w in part
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&w.to_lowercase());
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A service point's standing: its claims in the period, the hits per rule, its score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointRisk {
    /// The service point.
    pub point: String,
    /// Its claims in the period.
    pub claims: usize,
    /// Claims hit, per rule.
    pub hits: BTreeMap<RedFlag, usize>,
    /// The share of its claims with a returned part found without fault.
    pub no_trouble_share: Option<f64>,
    /// Peer comparisons on which it lies above the upper 99.8 % limit.
    pub outlier_on: Vec<String>,
    /// Risk points: hit weights per 100 claims, plus the peer-outlier weight per comparison.
    pub score: f64,
}

/// What the rules found.
#[derive(Debug, Clone, PartialEq)]
pub struct Findings {
    /// Per claim (in the input's order) the rules it hits; empty for claims outside the period.
    pub flags: Vec<Vec<RedFlag>>,
    /// Per service point, highest score first.
    pub points: Vec<PointRisk>,
}

impl Findings {
    /// A claim's sampling weight: see [`sampling_weight`].
    pub fn weight(&self, index: usize, rules: &[RuleSetting]) -> f64 {
        self.flags
            .get(index)
            .map_or(1.0, |f| sampling_weight(f, rules))
    }
}

/// A claim's sampling weight: 1 plus the weights of the rules it hits, so every claim keeps some
/// chance to be inspected.
pub fn sampling_weight(flags: &[RedFlag], rules: &[RuleSetting]) -> f64 {
    let w: i64 = flags.iter().map(|flag| weight_of(rules, *flag)).sum();
    1.0 + w as f64
}

fn setting(rules: &[RuleSetting], flag: RedFlag) -> Option<&RuleSetting> {
    rules.iter().find(|r| r.flag == flag && r.enabled)
}

fn weight_of(rules: &[RuleSetting], flag: RedFlag) -> i64 {
    setting(rules, flag).map_or(0, |r| r.weight)
}

/// What the claim-local rules judge of one claim, computed from the claims on its VIN (so the
/// store can keep it per claim and count hits for any threshold in SQL, which must agree with
/// [`ClaimInputs::hits`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClaimInputs {
    /// Fewest days (at least 1) since an earlier claim by the same service point on the VIN for
    /// the same component group.
    pub repeat_gap: Option<i64>,
    /// Days the paying coverage had left.
    pub coverage_days_left: Option<i64>,
    /// The highest labour line's quantity against its flat rate, in basis points rounded up
    /// (10,000: exactly the flat rate).
    pub over_flat_bp: Option<i64>,
    /// The dearest part line (claimed, minor units) whose analysis says it was repairable.
    pub repairable_max_minor: Option<i64>,
    /// A line billed twice in the claim.
    pub duplicate_in_claim: bool,
    /// Fewest days since an earlier claim on the VIN with a line of the same code, kind and amount.
    pub duplicate_gap: Option<i64>,
    /// A returned part was analysed.
    pub analysed: bool,
    /// A returned part was found without fault.
    pub no_trouble: bool,
}

impl ClaimInputs {
    /// Whether a claim-local rule hits (`shared-address`, `no-trouble-found` and `peer-outlier`
    /// depend on other claims: never here).
    pub fn hits(&self, r: &RuleSetting) -> bool {
        if !r.enabled {
            return false;
        }
        let t = r.threshold;
        match r.flag {
            RedFlag::RepeatRepair => self.repeat_gap.is_some_and(|g| (1..=t).contains(&g)),
            RedFlag::NearExpiry => self.coverage_days_left.is_some_and(|d| d <= t),
            RedFlag::OverFlatRate => self.over_flat_bp.is_some_and(|bp| bp > 10_000 + 100 * t),
            RedFlag::ReplacedRepairable => self.repairable_max_minor.is_some_and(|m| m >= t * 100),
            RedFlag::DuplicateBilling => {
                self.duplicate_in_claim || self.duplicate_gap.is_some_and(|g| g <= t)
            }
            RedFlag::SharedAddress | RedFlag::NoTroubleFound | RedFlag::PeerOutlier => false,
        }
    }
}

/// The inputs of each claim (in the input's order), from the claims given: each claim is compared
/// with the earlier claims on its VIN (by day, then the input's order).
pub fn inputs(claims: &[AuditClaim]) -> Vec<ClaimInputs> {
    let mut out: Vec<ClaimInputs> = claims.iter().map(own_inputs).collect();
    let mut by_vin: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, c) in claims.iter().enumerate() {
        by_vin.entry(c.vin.as_str()).or_default().push(i);
    }
    for list in by_vin.values_mut() {
        list.sort_by_key(|i| claims[*i].opened);
        for (k, &i) in list.iter().enumerate() {
            let c = &claims[i];
            for &j in &list[..k] {
                let p = &claims[j];
                let gap = (c.opened - p.opened).whole_days();
                if c.component.is_some()
                    && c.component == p.component
                    && c.point == p.point
                    && gap >= 1
                {
                    let g = out[i].repeat_gap.get_or_insert(gap);
                    *g = (*g).min(gap);
                }
                let same = c.lines.iter().any(|l| {
                    l.code.is_some()
                        && p.lines.iter().any(|m| {
                            m.code == l.code
                                && m.kind == l.kind
                                && m.claimed_minor == l.claimed_minor
                        })
                });
                if same {
                    let g = out[i].duplicate_gap.get_or_insert(gap);
                    *g = (*g).min(gap);
                }
            }
        }
    }
    out
}

/// What a claim's own lines say.
fn own_inputs(c: &AuditClaim) -> ClaimInputs {
    let over_flat_bp = c
        .lines
        .iter()
        .filter(|l| l.kind == "labour")
        .filter_map(|l| {
            let f = l.flat_rate_centi.filter(|f| *f > 0)?;
            Some((l.quantity_centi * 10_000 + f - 1).div_euclid(f))
        })
        .max();
    let repairable_max_minor = c
        .lines
        .iter()
        .filter(|l| l.kind == "part" && l.analysis.as_deref() == Some("repairable"))
        .map(|l| l.claimed_minor)
        .max();
    let duplicate_in_claim = c.lines.iter().enumerate().any(|(k, l)| {
        c.lines[..k].iter().any(|m| {
            m.code.is_some()
                && m.code == l.code
                && m.kind == l.kind
                && m.quantity_centi == l.quantity_centi
                && m.claimed_minor == l.claimed_minor
        })
    });
    ClaimInputs {
        repeat_gap: None,
        coverage_days_left: c.coverage_days_left,
        over_flat_bp,
        repairable_max_minor,
        duplicate_in_claim,
        duplicate_gap: None,
        analysed: c.lines.iter().any(|l| l.analysis.is_some()),
        no_trouble: ntf(c),
    }
}

/// Whether a service point's share of "no trouble found" among its analysed claims lies above
/// the rule's threshold: `bad` of `analysed`.
pub fn no_trouble_high(r: &RuleSetting, analysed: usize, bad: usize) -> bool {
    r.enabled && analysed > 0 && bad as f64 * 100.0 > r.threshold as f64 * analysed as f64
}

/// A service point's standing from its counts: claims in the period, hits per rule, claims with
/// an analysed part and those found without fault, and the funnels it lies above.
pub fn point_risk(
    point: &str,
    claims: usize,
    hits: BTreeMap<RedFlag, usize>,
    returned: (usize, usize),
    outlier_on: Vec<String>,
    rules: &[RuleSetting],
) -> PointRisk {
    let points: i64 = hits
        .iter()
        .map(|(f, n)| weight_of(rules, *f) * *n as i64)
        .sum();
    let score = points as f64 * 100.0 / claims.max(1) as f64
        + (weight_of(rules, RedFlag::PeerOutlier) * outlier_on.len() as i64) as f64;
    PointRisk {
        point: point.to_string(),
        claims,
        hits,
        no_trouble_share: (returned.0 > 0).then(|| returned.1 as f64 / returned.0 as f64),
        outlier_on,
        score,
    }
}

/// Judges the claims by the rules. `outliers` names, per service point, the peer comparisons on
/// which it lies above the upper 99.8 % limit (the store runs the funnels).
pub fn evaluate(
    claims: &[AuditClaim],
    rules: &[RuleSetting],
    outliers: &HashMap<String, Vec<String>>,
) -> Findings {
    let inputs = inputs(claims);
    let mut flags: Vec<Vec<RedFlag>> = vec![Vec::new(); claims.len()];
    for (i, c) in claims.iter().enumerate() {
        if c.in_period {
            flags[i] = rules
                .iter()
                .filter(|r| inputs[i].hits(r))
                .map(|r| r.flag)
                .collect();
        }
    }

    // Customers per address, over the claims in the period.
    let mut at_address: HashMap<&str, Vec<&str>> = HashMap::new();
    for c in claims.iter().filter(|c| c.in_period) {
        if let (Some(a), Some(who)) = (c.address.as_deref(), c.customer.as_deref()) {
            let list = at_address.entry(a).or_default();
            if !list.contains(&who) {
                list.push(who);
            }
        }
    }

    // No trouble found: the share per service point.
    let mut returned: HashMap<&str, (usize, usize)> = HashMap::new();
    for (i, c) in claims.iter().enumerate().filter(|(_, c)| c.in_period) {
        if inputs[i].analysed {
            let e = returned.entry(c.point.as_str()).or_default();
            e.0 += 1;
            if inputs[i].no_trouble {
                e.1 += 1;
            }
        }
    }

    for (i, c) in claims.iter().enumerate() {
        if !c.in_period {
            continue;
        }
        if let Some(r) = setting(rules, RedFlag::SharedAddress) {
            let shared = c
                .address
                .as_deref()
                .and_then(|a| at_address.get(a))
                .is_some_and(|who| who.len() as i64 >= r.threshold);
            if shared {
                push(&mut flags[i], RedFlag::SharedAddress);
            }
        }
        if let Some(r) = setting(rules, RedFlag::NoTroubleFound) {
            let (n, bad) = returned.get(c.point.as_str()).copied().unwrap_or_default();
            if inputs[i].no_trouble && no_trouble_high(r, n, bad) {
                push(&mut flags[i], RedFlag::NoTroubleFound);
            }
        }
    }

    // Per service point.
    let mut counts: BTreeMap<&str, (usize, BTreeMap<RedFlag, usize>)> = BTreeMap::new();
    for (i, c) in claims.iter().enumerate() {
        if !c.in_period {
            continue;
        }
        let p = counts.entry(c.point.as_str()).or_default();
        p.0 += 1;
        for f in &flags[i] {
            *p.1.entry(*f).or_default() += 1;
        }
    }
    let mut points: Vec<PointRisk> = counts
        .into_iter()
        .map(|(point, (n, hits))| {
            point_risk(
                point,
                n,
                hits,
                returned.get(point).copied().unwrap_or_default(),
                outliers.get(point).cloned().unwrap_or_default(),
                rules,
            )
        })
        .collect();
    points.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.point.cmp(&b.point)));
    Findings { flags, points }
}

fn ntf(c: &AuditClaim) -> bool {
    c.lines
        .iter()
        .any(|l| l.analysis.as_deref() == Some("no-trouble-found"))
}

fn push(v: &mut Vec<RedFlag>, f: RedFlag) {
    if !v.contains(&f) {
        v.push(f);
    }
}

/// Checks a chargeback: above zero and at most what is still paid on the claim.
pub fn check_chargeback(amount_minor: i64, payable_minor: i64) -> Result<(), FieldError> {
    if amount_minor <= 0 {
        return Err(
            FieldError::new("amount", Rule::Format, "amount must be above zero")
                .hint("au-err-amount"),
        );
    }
    if amount_minor > payable_minor {
        return Err(FieldError::new(
            "amount",
            Rule::NotAllowed,
            "amount must not exceed what is still paid on the claim",
        )
        .hint("au-err-amount-over"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn line(kind: &str, code: &str, qty: i64, amount: i64) -> AuditLine {
        AuditLine {
            code: Some(code.into()),
            kind: kind.into(),
            quantity_centi: qty,
            claimed_minor: amount,
            flat_rate_centi: None,
            analysis: None,
        }
    }

    fn claim(point: &str, vin: &str, day: Date) -> AuditClaim {
        AuditClaim {
            point: point.into(),
            vin: vin.into(),
            customer: Some(format!("c-{vin}")),
            address: Some(format!("street {vin}")),
            component: Some(ComponentGroup::Electrical),
            opened: day,
            coverage_days_left: Some(400),
            lines: vec![line("labour", "EL-REPAIR", 100, 9_000)],
            in_period: true,
        }
    }

    fn hits(f: &Findings, i: usize) -> Vec<RedFlag> {
        f.flags[i].clone()
    }

    #[test]
    fn each_rule_names_the_claims_it_hits_at_its_threshold() {
        let rules = default_rules();
        let mut cs = vec![
            claim("a", "V1", date!(2026 - 01 - 10)),
            // 90 days later, same component: a repeat (the threshold counts).
            claim("a", "V1", date!(2026 - 04 - 10)),
            // 91 days after that: not.
            claim("a", "V1", date!(2026 - 07 - 10)),
        ];
        // Different code so it is no duplicate.
        cs[1].lines[0].code = Some("EL-OTHER".into());
        cs[2].lines[0].code = Some("EL-THIRD".into());
        let f = evaluate(&cs, &rules, &HashMap::new());
        assert_eq!(hits(&f, 0), vec![]);
        assert_eq!(hits(&f, 1), vec![RedFlag::RepeatRepair]);
        assert_eq!(hits(&f, 2), vec![]);

        let mut c = claim("a", "V2", date!(2026 - 02 - 01));
        c.coverage_days_left = Some(30);
        c.lines[0].flat_rate_centi = Some(90);
        // 100 > 90 × 1.10 = 99: over.
        let mut d = claim("a", "V3", date!(2026 - 02 - 01));
        d.coverage_days_left = Some(31);
        d.lines[0].flat_rate_centi = Some(91);
        let f = evaluate(&[c, d], &rules, &HashMap::new());
        assert_eq!(f.flags[0], vec![RedFlag::NearExpiry, RedFlag::OverFlatRate]);
        assert_eq!(f.flags[1], vec![]);
    }

    #[test]
    fn duplicates_addresses_repairable_and_no_trouble_found() {
        let rules = default_rules();
        let mut a = claim("a", "V1", date!(2026 - 03 - 01));
        a.lines.push(line("part", "P-1", 100, 50_000));
        a.lines.push(line("part", "P-1", 100, 50_000));
        let mut b = claim("a", "V2", date!(2026 - 03 - 01));
        b.component = Some(ComponentGroup::Body);
        let mut b2 = claim("a", "V2", date!(2026 - 03 - 05));
        b2.component = Some(ComponentGroup::Chassis);
        // Same labour code and amount four days later on another claim: billed twice.
        let mut shared = Vec::new();
        for k in 0..3 {
            let mut s = claim("b", &format!("S{k}"), date!(2026 - 03 - 01));
            s.address = normalise_address("Rua do Comércio, 12", Some("4700-001"));
            shared.push(s);
        }
        shared[2].address = normalise_address("rua do  comércio 12", Some("4700 001"));
        let mut r = claim("b", "R1", date!(2026 - 03 - 01));
        let mut part = line("part", "P-2", 100, 10_000);
        part.analysis = Some("repairable".into());
        r.lines.push(part);
        let mut n = claim("b", "N1", date!(2026 - 03 - 01));
        let mut part = line("part", "P-3", 100, 20_000);
        part.analysis = Some("no-trouble-found".into());
        n.lines.push(part);
        let mut cs = vec![a, b, b2];
        cs.extend(shared);
        cs.push(r);
        cs.push(n);
        let f = evaluate(&cs, &rules, &HashMap::new());
        assert_eq!(f.flags[0], vec![RedFlag::DuplicateBilling]);
        assert_eq!(f.flags[1], vec![]);
        assert_eq!(f.flags[2], vec![RedFlag::DuplicateBilling]);
        for i in 3..6 {
            assert_eq!(f.flags[i], vec![RedFlag::SharedAddress], "{i}");
        }
        assert_eq!(f.flags[6], vec![RedFlag::ReplacedRepairable]);
        // Point b: 1 of 2 analysed parts without fault, 50 % > 10 %.
        assert_eq!(f.flags[7], vec![RedFlag::NoTroubleFound]);
        // Off: finds nothing.
        let off: Vec<RuleSetting> = rules
            .iter()
            .map(|r| RuleSetting {
                enabled: r.flag != RedFlag::SharedAddress,
                ..*r
            })
            .collect();
        let f = evaluate(&cs, &off, &HashMap::new());
        assert!(f.flags[3].is_empty());
    }

    #[test]
    fn the_score_counts_weights_per_100_claims_and_outliers() {
        let rules = default_rules();
        let mut cs: Vec<AuditClaim> = (0..10)
            .map(|k| claim("a", &format!("A{k}"), date!(2026 - 03 - 01)))
            .collect();
        cs[0].coverage_days_left = Some(1);
        cs.extend((0..4).map(|k| claim("b", &format!("B{k}"), date!(2026 - 03 - 01))));
        let mut out = HashMap::new();
        out.insert("b".to_string(), vec!["labour-per-claim".to_string()]);
        let f = evaluate(&cs, &rules, &out);
        // b: no hits, one funnel: 50. a: one near-expiry (2 points) in 10 claims: 20.
        assert_eq!(f.points[0].point, "b");
        assert_eq!(f.points[0].score, 50.0);
        assert_eq!(f.points[1].score, 20.0);
        assert_eq!(f.points[1].hits.get(&RedFlag::NearExpiry), Some(&1));
        assert_eq!(f.weight(0, &rules), 3.0);
        assert_eq!(f.weight(1, &rules), 1.0);
        // Claims outside the period count for repeats only.
        cs[0].in_period = false;
        let f = evaluate(&cs, &rules, &out);
        assert!(f.flags[0].is_empty());
        assert_eq!(f.points[1].claims, 9);
    }

    #[test]
    fn settings_and_chargebacks_are_checked() {
        let mut s = default_rules()[0];
        assert!(check_rule(&s).is_ok());
        s.threshold = 0;
        s.weight = -1;
        let e = check_rule(&s).unwrap_err();
        assert_eq!(e.0.len(), 2);
        assert_eq!(e.0[0].field, "threshold");
        assert_eq!(e.0[1].field, "weight");
        assert!(check_chargeback(100, 100).is_ok());
        assert_eq!(check_chargeback(0, 100).unwrap_err().field, "amount");
        assert_eq!(
            check_chargeback(101, 100).unwrap_err().rule,
            Rule::NotAllowed
        );
    }
}
