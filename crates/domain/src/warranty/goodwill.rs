//! Goodwill by policy: a market's matrix (age band × km band × component group → the share of
//! parts and labour goodwill pays, split between brand, importer and service point; the customer
//! pays the rest), its conditions (service history in the network, first owner), the proposal for
//! a request, the authority each role has, and how a line's price splits between goodwill and
//! the customer. Pure rules; the store keeps policies (versioned), requests and budgets.

use serde::{Deserialize, Serialize};

use crate::org::Role;
use crate::validation::{FieldError, Rule, ValidationErrors};

vocabulary!(
    /// What failed, as the policy groups it.
    ComponentGroup {
        HighVoltage => "high-voltage",
        Drivetrain => "drivetrain",
        Electrical => "electrical",
        Chassis => "chassis",
        Body => "body",
        Interior => "interior",
    }
);

vocabulary!(
    /// Where a goodwill request stands: pending waits for someone with enough authority.
    GoodwillStatus {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
    }
);

/// One cell of the matrix: up to `max_age_months` and `max_km`, for `groups` (all when empty),
/// goodwill pays `parts_pct` of parts and `labour_pct` of labour, shared brand / importer /
/// service point (the three add up to 100).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Band {
    pub max_age_months: u32,
    pub max_km: i64,
    #[serde(default)]
    pub groups: Vec<ComponentGroup>,
    pub parts_pct: i64,
    pub labour_pct: i64,
    pub brand_pct: i64,
    pub importer_pct: i64,
    pub dealer_pct: i64,
}

/// A market's goodwill policy, one version of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Policy {
    pub code: String,
    /// Goodwill needs the car serviced in the network as its schedule asks.
    pub needs_network_history: bool,
    /// Goodwill is for the first owner only.
    pub needs_first_owner: bool,
    /// Bands, most generous first: the first that fits decides.
    pub bands: Vec<Band>,
}

/// Why the policy proposes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NoGoodwill {
    NoNetworkHistory,
    NotFirstOwner,
    /// Older or further than any band of the policy.
    OutsideBands,
}

impl NoGoodwill {
    pub fn as_str(self) -> &'static str {
        match self {
            NoGoodwill::NoNetworkHistory => "no-network-history",
            NoGoodwill::NotFirstOwner => "not-first-owner",
            NoGoodwill::OutsideBands => "outside-bands",
        }
    }
}

/// Money of a request split by the policy (minor units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Split {
    pub goodwill: i64,
    pub brand: i64,
    pub importer: i64,
    pub dealer: i64,
    pub customer: i64,
}

/// The band that applies to a car `age_months` old at `km` for `group`, or why none does.
pub fn band_for(
    policy: &Policy,
    age_months: u32,
    km: i64,
    group: ComponentGroup,
    network_history: bool,
    first_owner: bool,
) -> Result<&Band, NoGoodwill> {
    if policy.needs_network_history && !network_history {
        return Err(NoGoodwill::NoNetworkHistory);
    }
    if policy.needs_first_owner && !first_owner {
        return Err(NoGoodwill::NotFirstOwner);
    }
    policy
        .bands
        .iter()
        .find(|b| {
            age_months <= b.max_age_months
                && km <= b.max_km
                && (b.groups.is_empty() || b.groups.contains(&group))
        })
        .ok_or(NoGoodwill::OutsideBands)
}

fn pct_of(amount: i64, pct: i64) -> i64 {
    let n = i128::from(amount) * i128::from(pct);
    i64::try_from((n + 50) / 100).unwrap_or(i64::MAX)
}

/// Splits parts and labour by percentages: goodwill pays `parts_pct`/`labour_pct`, shared
/// brand / importer / service point (the service point takes what rounding leaves), the customer
/// the rest.
pub fn split(parts: i64, labour: i64, parts_pct: i64, labour_pct: i64, band: &Band) -> Split {
    let goodwill = pct_of(parts, parts_pct) + pct_of(labour, labour_pct);
    let brand = pct_of(goodwill, band.brand_pct);
    let importer = pct_of(goodwill, band.importer_pct);
    Split {
        goodwill,
        brand,
        importer,
        dealer: goodwill - brand - importer,
        customer: parts + labour - goodwill,
    }
}

/// The unit price goodwill pays of a line priced `unit` at `pct` (rounded half up); the customer
/// pays the rest of each unit, so the two lines add up to the original exactly.
pub fn unit_share(unit: i64, pct: i64) -> i64 {
    pct_of(unit, pct)
}

/// Checks a policy before it is kept: percentages 0–100, the three shares adding to 100, bands
/// with positive limits.
pub fn check_policy(p: &Policy) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::default();
    if p.bands.is_empty() {
        errs.push(FieldError::new(
            "bands",
            Rule::Required,
            "a policy has at least one band",
        ));
    }
    for (i, b) in p.bands.iter().enumerate() {
        for (name, v) in [
            ("parts_pct", b.parts_pct),
            ("labour_pct", b.labour_pct),
            ("brand_pct", b.brand_pct),
            ("importer_pct", b.importer_pct),
            ("dealer_pct", b.dealer_pct),
        ] {
            if !(0..=100).contains(&v) {
                errs.push(FieldError::new(
                    format!("bands.{i}.{name}"),
                    Rule::NotAllowed,
                    format!("{name} lies between 0 and 100"),
                ));
            }
        }
        if b.brand_pct + b.importer_pct + b.dealer_pct != 100 {
            errs.push(FieldError::new(
                format!("bands.{i}.dealer_pct"),
                Rule::NotAllowed,
                "brand, importer and service point shares add up to 100",
            ));
        }
        if b.max_km <= 0 || b.max_age_months == 0 {
            errs.push(FieldError::new(
                format!("bands.{i}.max_km"),
                Rule::NotAllowed,
                "a band's age and km limits are above zero",
            ));
        }
    }
    errs.into_result()
}

/// How much goodwill (minor units, the market's currency) a role may grant on its own; above it
/// the next level decides. `None`: no authority; `Some(i64::MAX)`: no limit.
pub fn authority(role: Role, currency: &str) -> Option<i64> {
    let eur = match role {
        Role::ServiceManager => 50_000,
        Role::ImporterStaff => 200_000,
        Role::MarketCsManager => 500_000,
        Role::WarrantyAdministrator => return Some(i64::MAX),
        _ => return None,
    };
    // Norway's amounts in kroner at a round 11.5 per euro.
    Some(if currency == "NOK" {
        eur * 115 / 10
    } else {
        eur
    })
}

/// The roles in the order requests climb: a request above one's limit goes to the next.
pub const LEVELS: [Role; 4] = [
    Role::ServiceManager,
    Role::ImporterStaff,
    Role::MarketCsManager,
    Role::WarrantyAdministrator,
];

/// The first level whose authority covers `amount`.
pub fn level_for(amount: i64, currency: &str) -> Role {
    LEVELS
        .into_iter()
        .find(|r| authority(*r, currency).is_some_and(|l| amount <= l))
        .unwrap_or(Role::WarrantyAdministrator)
}

/// The published starting policy for a market: the km scale of domain-rules §3.4 (parts 100 %
/// to 50 000 km, falling 10 points per 10 000 km to 40 % above 100 000; labour 100 %) within 6
/// years; high-voltage parts keep 10 points more; the brand pays 60 %, the importer 25 %, the
/// service point 15 %; service history in the network required.
pub fn published_policy(code: &str) -> Policy {
    let mut bands = Vec::new();
    let scale: [(i64, i64); 7] = [
        (50_000, 100),
        (60_000, 90),
        (70_000, 80),
        (80_000, 70),
        (90_000, 60),
        (100_000, 50),
        (200_000, 40),
    ];
    for (km, parts) in scale {
        bands.push(Band {
            max_age_months: 72,
            max_km: km,
            groups: vec![ComponentGroup::HighVoltage],
            parts_pct: (parts + 10).min(100),
            labour_pct: 100,
            brand_pct: 60,
            importer_pct: 25,
            dealer_pct: 15,
        });
        bands.push(Band {
            max_age_months: 72,
            max_km: km,
            groups: Vec::new(),
            parts_pct: parts,
            labour_pct: 100,
            brand_pct: 60,
            importer_pct: 25,
            dealer_pct: 15,
        });
    }
    Policy {
        code: code.to_string(),
        needs_network_history: true,
        needs_first_owner: false,
        bands,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_years_and_seventy_thousand_km_get_the_published_scale() {
        let p = published_policy("pt-2026");
        assert!(check_policy(&p).is_ok());
        let b = band_for(&p, 36, 70_000, ComponentGroup::Chassis, true, true).unwrap();
        assert_eq!((b.parts_pct, b.labour_pct), (80, 100));
        // One km more: the next band.
        let b = band_for(&p, 36, 70_001, ComponentGroup::Chassis, true, true).unwrap();
        assert_eq!(b.parts_pct, 70);
        let hv = band_for(&p, 36, 70_000, ComponentGroup::HighVoltage, true, true).unwrap();
        assert_eq!(hv.parts_pct, 90);
        // Six years is the end; without network history there is none.
        assert!(band_for(&p, 72, 10_000, ComponentGroup::Body, true, true).is_ok());
        assert_eq!(
            band_for(&p, 73, 10_000, ComponentGroup::Body, true, true),
            Err(NoGoodwill::OutsideBands)
        );
        assert_eq!(
            band_for(&p, 12, 10_000, ComponentGroup::Body, false, true),
            Err(NoGoodwill::NoNetworkHistory)
        );
    }

    #[test]
    fn the_split_adds_up_to_the_request() {
        let p = published_policy("pt-2026");
        let b = band_for(&p, 36, 70_000, ComponentGroup::Chassis, true, true).unwrap();
        // Parts €1,000.00 at 80 %, labour €333.33 at 100 %.
        let s = split(100_000, 33_333, b.parts_pct, b.labour_pct, b);
        assert_eq!(s.goodwill, 113_333);
        assert_eq!(s.customer, 20_000);
        assert_eq!(s.brand + s.importer + s.dealer, s.goodwill);
        assert_eq!((s.brand, s.importer), (68_000, 28_333));
        // A unit split never loses a cent.
        let unit = 12_345;
        let g = unit_share(unit, 80);
        assert_eq!(g + (unit - g), unit);
        assert_eq!(g, 9_876);
    }

    #[test]
    fn authority_climbs_with_the_amount() {
        assert_eq!(level_for(50_000, "EUR"), Role::ServiceManager);
        assert_eq!(level_for(50_001, "EUR"), Role::ImporterStaff);
        assert_eq!(level_for(200_001, "EUR"), Role::MarketCsManager);
        assert_eq!(level_for(500_001, "EUR"), Role::WarrantyAdministrator);
        assert_eq!(authority(Role::ServiceManager, "NOK"), Some(575_000));
        assert_eq!(authority(Role::Technician, "EUR"), None);
    }

    #[test]
    fn a_policy_with_bad_shares_is_named_by_field() {
        let mut p = published_policy("x");
        p.bands[0].dealer_pct = 20;
        p.bands[1].parts_pct = 120;
        let e = check_policy(&p).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["bands.0.dealer_pct", "bands.1.parts_pct"]);
    }
}
