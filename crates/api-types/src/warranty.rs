//! Warranty: a vehicle's coverage on a day (which coverages apply, what is left, why one does
//! not), the statutory period beside it, and battery state-of-health readings.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use aftersales_domain::warranty::CoverageKind;

/// One coverage of the vehicle's warranty on the day asked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Coverage {
    pub kind: CoverageKind,
    /// The last day it holds (YYYY-MM-DD).
    #[schema(format = Date)]
    pub last_day: String,
    /// Its km limit; none: unlimited.
    pub km_limit: Option<i64>,
    /// `covered`, `expired` or `over-km`.
    pub standing: String,
    /// Days left, the last day counted (covered only).
    pub days_left: Option<i64>,
    /// Km left (covered, with a limit).
    pub km_left: Option<i64>,
    /// The battery's latest state of health against the coverage's threshold.
    pub capacity: Option<Capacity>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Capacity {
    pub soh_pct: i64,
    pub threshold_pct: i64,
    /// Below the threshold: a capacity claim is a warranty case while the coverage applies.
    pub below: bool,
}

/// A vehicle's warranty on a day at an odometer reading.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VehicleCoverage {
    pub vehicle_id: String,
    #[schema(format = Date)]
    pub on: String,
    /// The reading it was judged at (the one asked for, else the latest recorded).
    pub odometer_km: Option<i64>,
    /// The terms version that applies (fixed on the vehicle, else by model and delivery date).
    pub terms: Option<String>,
    /// Why nothing could be decided: `no-delivery-date`, `no-terms`.
    pub undecided: Option<String>,
    pub coverages: Vec<Coverage>,
    /// The parts the network fitted on the car (handed back with it), each under the terms'
    /// parts warranty counted from its fitting: newest first; empty when the terms have none.
    pub parts: Vec<PartCoverage>,
    /// The buyer's statutory complaint period in the market, beside the warranty (never part of it).
    pub statutory: Option<Statutory>,
}

/// A part a workshop fitted on the car, with its own parts warranty on the day asked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PartCoverage {
    /// The part number (its code on the repair order line).
    pub part_number: Option<String>,
    pub description: String,
    pub repair_order_id: String,
    pub repair_order_number: String,
    /// The day the car was handed back with it.
    #[schema(format = Date)]
    pub fitted_on: String,
    /// The odometer when it was fitted (the latest reading up to then).
    pub fitted_km: Option<i64>,
    /// The parts warranty on the day asked (`kind` is `parts`; `km_limit` is the odometer
    /// reading at which it ends).
    pub coverage: Coverage,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Statutory {
    pub months: u32,
    #[schema(format = Date)]
    pub last_day: String,
    pub applies: bool,
}

/// A battery state-of-health reading, as claim evidence.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatteryReading {
    pub id: String,
    pub vehicle_id: String,
    #[schema(format = Date)]
    pub read_on: String,
    pub odometer_km: i64,
    pub soh_pct: i64,
    /// `diagnostic`, `telematics`, `capacity-test`, `customer`.
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatteryReadingInput {
    #[schema(format = Date)]
    pub read_on: String,
    pub odometer_km: i64,
    pub soh_pct: i64,
    /// `diagnostic`, `telematics`, `capacity-test` or `customer`.
    pub source: String,
}

use crate::common::Ref;
use aftersales_domain::money::Money;
use aftersales_domain::warranty::claims::{
    ClaimAction, ClaimStatus, ClaimType, PartAnalysis, Party, ReasonCode,
};
use aftersales_domain::workshop::LineKind;

/// One line of a claim: what was claimed, what the importer recommended, what the brand
/// approved, and what the supplier pays back.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClaimLine {
    pub id: String,
    pub ro_line_id: String,
    pub position: i64,
    pub kind: LineKind,
    /// The labour operation's code or the part number.
    pub code: Option<String>,
    pub description: String,
    /// Hours for labour, pieces for parts.
    pub quantity: String,
    pub unit_price: Money,
    pub claimed: Money,
    /// The operation's flat-rate hours (labour).
    pub flat_rate_hours: Option<String>,
    /// Why more hours than the flat rate were claimed.
    pub over_reason: Option<String>,
    /// The importer's recommendation, once it reviewed.
    pub importer: Option<Money>,
    pub importer_reason: Option<ReasonCode>,
    /// The brand's decision.
    pub approved: Option<Money>,
    pub approved_reason: Option<ReasonCode>,
    /// Supplier recovery: the part went back to the supplier, what its analysis found, the
    /// share of the approved amount the supplier pays back.
    pub part_returned: Option<bool>,
    pub analysis: Option<PartAnalysis>,
    pub recovery_pct: Option<i64>,
    pub recovery: Option<Money>,
}

/// A decision on one line as a step recorded it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineDecisionRecord {
    pub line_id: String,
    pub approved: Money,
    pub reason: Option<ReasonCode>,
}

/// A step in the claim's history: who, when, as which party, what, why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClaimEvent {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub actor: Option<String>,
    pub party: Party,
    pub action: ClaimAction,
    pub status_after: ClaimStatus,
    pub reason: Option<ReasonCode>,
    pub decisions: Vec<LineDecisionRecord>,
    /// What the person wrote, as written.
    pub note: Option<String>,
}

/// What the approved claim is owed against what the repair order invoiced the warranty payer
/// for the same lines (net of VAT, issued invoices less credit notes).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reconciliation {
    pub approved: Money,
    pub invoiced: Money,
    /// Invoiced less approved: above zero the payer was invoiced more than it approved (a
    /// credit note is due), below zero less.
    pub difference: Money,
}

/// A warranty claim as the party reading it sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Claim {
    pub id: String,
    pub number: String,
    /// The service point that claims.
    pub organisation: Ref,
    /// The importer (or market entity) that reviews; none where the brand reviews directly.
    pub reviewer: Option<Ref>,
    /// The brand's headquarters that decides.
    pub brand: Ref,
    pub repair_order: Ref,
    pub vehicle_id: Option<String>,
    pub vin: String,
    pub claim_type: ClaimType,
    pub campaign: Option<String>,
    pub odometer_km: i64,
    #[schema(format = Date)]
    pub delivered_on: Option<String>,
    /// The repair order's opening and closing days.
    #[schema(format = Date)]
    pub opened_on: String,
    #[schema(format = Date)]
    pub closed_on: Option<String>,
    /// The three Cs.
    pub complaint: String,
    pub cause: Option<String>,
    pub correction: Option<String>,
    /// Diagnostic trouble codes.
    pub dtcs: Vec<String>,
    /// The part that failed first.
    /// The component group the claim is for (none on claims made before it was asked).
    pub component_group: Option<ComponentGroup>,
    pub causal_part: Option<String>,
    pub technician: Option<Ref>,
    pub preauth: Option<String>,
    pub status: ClaimStatus,
    /// Whose move it is.
    pub holder: Party,
    pub appealed: bool,
    /// When the step it is in is due; overdue once passed.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub step_due: Option<OffsetDateTime>,
    pub overdue: bool,
    pub lines: Vec<ClaimLine>,
    pub claimed: Money,
    pub approved: Option<Money>,
    /// What suppliers pay back on its lines.
    pub recovered: Money,
    /// Charged back after audits: the claim pays `approved` less this.
    pub charged_back: Money,
    /// What audits found on it.
    pub audits: Vec<ClaimAuditFinding>,
    pub reconciliation: Option<Reconciliation>,
    pub events: Vec<ClaimEvent>,
    /// The steps the caller may take now.
    pub actions: Vec<ClaimAction>,
    /// Whether the caller may record the supplier recovery of its lines.
    pub may_record_recovery: bool,
    pub currency: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    pub version: i64,
}

/// A claim in a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClaimSummary {
    pub id: String,
    pub number: String,
    pub organisation: Ref,
    pub repair_order: Ref,
    /// The repair-order job it claims for.
    pub job_id: String,
    pub vin: String,
    pub claim_type: ClaimType,
    pub status: ClaimStatus,
    pub holder: Party,
    pub claimed: Money,
    pub approved: Option<Money>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub step_due: Option<OffsetDateTime>,
    pub overdue: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// Makes a claim from one job of a repair order: its lines with pay type warranty or goodwill.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimInput {
    pub job_id: String,
    /// `warranty`, `goodwill`, `campaign`, `parts-warranty` or `pdi`.
    pub claim_type: String,
    /// The campaign's id (campaign claims).
    pub campaign: Option<String>,
    /// The odometer reading; the repair order's vehicle's latest when left out.
    pub odometer_km: Option<i64>,
    #[serde(default)]
    pub dtcs: Vec<String>,
    /// `high-voltage`, `drivetrain`, `electrical`, `chassis`, `body`, `interior`: what failed,
    /// for the claim analysis.
    pub component_group: Option<String>,
    pub causal_part: Option<String>,
    pub preauth: Option<String>,
    /// Why a labour line claims more hours than its flat rate, by repair-order line id.
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub over_reasons: std::collections::BTreeMap<String, String>,
}

/// A decision on one line (approve with amounts).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineDecisionInput {
    pub line_id: String,
    /// The amount approved, `1234.50`.
    pub approved: String,
    /// Required when less than claimed: `not-covered`, `over-flat-rate`, `price-above-list`,
    /// `part-not-returned`, `no-fault-found`, `missing-information`, `wrong-operation`, `other`.
    pub reason: Option<String>,
}

/// A step on a claim.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimStepInput {
    /// `submit`, `approve`, `reject`, `return` or `appeal` (`approve` with a line below its claim
    /// is recorded as `approve-partly`).
    pub action: String,
    /// A reject's reason code.
    pub reason: Option<String>,
    /// Required to reject, return or appeal: what the other party should know.
    pub note: Option<String>,
    /// Line decisions for `approve`; lines left out are approved as claimed.
    #[serde(default)]
    pub lines: Vec<LineDecisionInput>,
}

/// The supplier recovery of one line.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryInput {
    pub part_returned: Option<bool>,
    /// `confirmed`, `no-trouble-found` or `damaged`.
    pub analysis: Option<String>,
    pub recovery_pct: i64,
}

/// A claim exported for the brand's or importer's warranty system: one documented JSON object
/// (docs/warranty-claim-export.md). Field names follow the STAR 5 warranty claim
/// (`WarrantyClaimType`) where one fits; the rest are named in the same style.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClaimExport {
    /// `aftersales-warranty-claim/1`.
    #[serde(rename = "Format")]
    pub format: String,
    #[serde(rename = "ClaimNumberString")]
    pub claim_number: String,
    /// `warranty`, `goodwill`, `campaign`, `parts-warranty`, `pdi`.
    #[serde(rename = "ClaimTypeString")]
    pub claim_type: ClaimType,
    #[serde(rename = "ClaimStatus")]
    pub status: ClaimStatus,
    #[serde(rename = "DealerName")]
    pub dealer: String,
    #[serde(rename = "RepairOrderNumberString")]
    pub repair_order: String,
    #[serde(rename = "VehicleID")]
    pub vin: String,
    #[schema(format = Date)]
    #[serde(rename = "DeliveryDate")]
    pub delivered_on: Option<String>,
    #[schema(format = Date)]
    #[serde(rename = "RepairOrderOpenedDate")]
    pub opened_on: String,
    #[schema(format = Date)]
    #[serde(rename = "RepairOrderClosedDate")]
    pub closed_on: Option<String>,
    /// Kilometres.
    #[serde(rename = "OdometerReading")]
    pub odometer_km: i64,
    #[serde(rename = "CustomerComplaint")]
    pub complaint: String,
    #[serde(rename = "CauseDescription")]
    pub cause: Option<String>,
    #[serde(rename = "CorrectionDescription")]
    pub correction: Option<String>,
    #[serde(rename = "DiagnosticTroubleCodes")]
    pub dtcs: Vec<String>,
    /// STAR: the primary part responsible for the failure.
    #[serde(rename = "ItemID")]
    pub causal_part: Option<String>,
    #[serde(rename = "ServiceCampaignID")]
    pub campaign: Option<String>,
    #[serde(rename = "WholesalePreauthorization")]
    pub preauth: Option<String>,
    #[serde(rename = "TechnicianName")]
    pub technician: Option<String>,
    #[serde(rename = "WarrantyAppealIndicator")]
    pub appealed: bool,
    /// How many times the service point submitted it (resubmissions after a return count).
    #[serde(rename = "ClaimSubmissionCountNumeric")]
    pub submissions: i64,
    #[serde(rename = "CurrencyCode")]
    pub currency: String,
    #[serde(rename = "Labor")]
    pub labour: Vec<ExportLabour>,
    #[serde(rename = "Parts")]
    pub parts: Vec<ExportPart>,
    #[serde(rename = "Sublet")]
    pub sublet: Vec<ExportSublet>,
    #[serde(rename = "ClaimedAmount")]
    pub claimed: String,
    #[serde(rename = "ApprovedAmount")]
    pub approved: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExportLabour {
    #[serde(rename = "LaborOperationID")]
    pub operation: Option<String>,
    #[serde(rename = "LaborOperationDescription")]
    pub description: String,
    /// Decimal hours.
    #[serde(rename = "LaborActualHoursNumeric")]
    pub hours: String,
    #[serde(rename = "LaborAllowanceHoursNumeric")]
    pub flat_rate_hours: Option<String>,
    #[serde(rename = "LaborHoursReason")]
    pub over_reason: Option<String>,
    #[serde(rename = "ClaimedAmount")]
    pub claimed: String,
    #[serde(rename = "ApprovedAmount")]
    pub approved: Option<String>,
    #[serde(rename = "DebitReasonCode")]
    pub reason: Option<ReasonCode>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExportPart {
    #[serde(rename = "ItemID")]
    pub part_number: Option<String>,
    #[serde(rename = "ItemIdDescription")]
    pub description: String,
    #[serde(rename = "ItemQuantity")]
    pub quantity: String,
    #[serde(rename = "UnitPriceAmount")]
    pub unit_price: String,
    #[serde(rename = "ClaimedAmount")]
    pub claimed: String,
    #[serde(rename = "ApprovedAmount")]
    pub approved: Option<String>,
    #[serde(rename = "DebitReasonCode")]
    pub reason: Option<ReasonCode>,
    #[serde(rename = "PartReturnedIndicator")]
    pub returned: Option<bool>,
    #[serde(rename = "PartAnalysisResult")]
    pub analysis: Option<PartAnalysis>,
    #[serde(rename = "SupplierRecoveryPercent")]
    pub recovery_pct: Option<i64>,
    #[serde(rename = "SupplierRecoveryAmount")]
    pub recovery: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExportSublet {
    #[serde(rename = "SubletDescription")]
    pub description: String,
    #[serde(rename = "ClaimedAmount")]
    pub claimed: String,
    #[serde(rename = "ApprovedAmount")]
    pub approved: Option<String>,
}

impl Claim {
    /// The claim in the export format.
    pub fn export(&self) -> ClaimExport {
        let amount = |m: &Money| m.amount.clone();
        let submissions = self
            .events
            .iter()
            .filter(|e| e.action == ClaimAction::Submit)
            .count();
        ClaimExport {
            format: "aftersales-warranty-claim/1".into(),
            claim_number: self.number.clone(),
            claim_type: self.claim_type,
            status: self.status,
            dealer: self.organisation.label.clone(),
            repair_order: self.repair_order.label.clone(),
            vin: self.vin.clone(),
            delivered_on: self.delivered_on.clone(),
            opened_on: self.opened_on.clone(),
            closed_on: self.closed_on.clone(),
            odometer_km: self.odometer_km,
            complaint: self.complaint.clone(),
            cause: self.cause.clone(),
            correction: self.correction.clone(),
            dtcs: self.dtcs.clone(),
            causal_part: self.causal_part.clone(),
            campaign: self.campaign.clone(),
            preauth: self.preauth.clone(),
            technician: self.technician.as_ref().map(|t| t.label.clone()),
            appealed: self.appealed,
            submissions: i64::try_from(submissions).unwrap_or(i64::MAX),
            currency: self.currency.clone(),
            labour: self
                .lines
                .iter()
                .filter(|l| l.kind == LineKind::Labour)
                .map(|l| ExportLabour {
                    operation: l.code.clone(),
                    description: l.description.clone(),
                    hours: l.quantity.clone(),
                    flat_rate_hours: l.flat_rate_hours.clone(),
                    over_reason: l.over_reason.clone(),
                    claimed: amount(&l.claimed),
                    approved: l.approved.as_ref().map(amount),
                    reason: l.approved_reason,
                })
                .collect(),
            parts: self
                .lines
                .iter()
                .filter(|l| l.kind == LineKind::Part)
                .map(|l| ExportPart {
                    part_number: l.code.clone(),
                    description: l.description.clone(),
                    quantity: l.quantity.clone(),
                    unit_price: amount(&l.unit_price),
                    claimed: amount(&l.claimed),
                    approved: l.approved.as_ref().map(amount),
                    reason: l.approved_reason,
                    returned: l.part_returned,
                    analysis: l.analysis,
                    recovery_pct: l.recovery_pct,
                    recovery: l.recovery.as_ref().map(amount),
                })
                .collect(),
            sublet: self
                .lines
                .iter()
                .filter(|l| l.kind == LineKind::Sublet)
                .map(|l| ExportSublet {
                    description: l.description.clone(),
                    claimed: amount(&l.claimed),
                    approved: l.approved.as_ref().map(amount),
                })
                .collect(),
            claimed: amount(&self.claimed),
            approved: self.approved.as_ref().map(amount),
        }
    }
}

/// A repair-order line a claim would carry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OfferLine {
    pub ro_line_id: String,
    pub kind: LineKind,
    pub code: Option<String>,
    pub description: String,
    pub quantity: String,
    pub amount: Money,
    pub flat_rate_hours: Option<String>,
    /// More hours than the flat rate: the claim needs a reason.
    pub over_flat_rate: bool,
}

/// What a claim from one job would state, before it is made.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClaimOffer {
    pub job_id: String,
    pub job_title: String,
    pub repair_order: Ref,
    pub vin: Option<String>,
    pub complaint: String,
    pub cause: Option<String>,
    pub correction: Option<String>,
    pub odometer_km: Option<i64>,
    /// The job's warranty lines and its goodwill lines.
    pub warranty_lines: Vec<OfferLine>,
    pub goodwill_lines: Vec<OfferLine>,
    /// The claim already made from this job.
    pub existing: Option<Ref>,
    /// The brand wants a pre-authorisation number above this amount.
    pub preauth_above: Option<Money>,
}

use aftersales_domain::org::Role;
use aftersales_domain::warranty::goodwill::{ComponentGroup, GoodwillStatus, Split};

/// A step on a goodwill request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GoodwillEvent {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub actor: Option<String>,
    /// The role the person acted in.
    pub role: Option<Role>,
    /// `request`, `recommend` (above the person's authority: passed up), `approve`, `reject`.
    pub action: String,
    pub parts_pct: Option<i64>,
    pub labour_pct: Option<i64>,
    pub note: Option<String>,
}

/// A goodwill request for a repair-order job, with the policy's proposal and the decision.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GoodwillRequest {
    pub id: String,
    pub number: String,
    pub organisation: Ref,
    /// The case it was asked from (before a repair order existed), if so.
    pub case: Option<Ref>,
    /// The repair order and job it applies to; none for a request from a case until it is
    /// applied to a job of the case's repair order.
    pub repair_order: Option<Ref>,
    pub job_id: Option<String>,
    pub job_title: Option<String>,
    /// Approved from a case and not applied yet: the jobs of the case's repair orders it may
    /// be applied to (for a caller who may).
    pub apply_to: Vec<Ref>,
    pub vin: Option<String>,
    /// The policy version applied.
    pub policy: String,
    pub component_group: ComponentGroup,
    pub age_months: i64,
    pub odometer_km: i64,
    pub network_history: bool,
    pub first_owner: bool,
    pub parts: Money,
    pub labour: Money,
    /// The policy's proposal; none with the reason where it proposes nothing.
    pub proposed_parts_pct: Option<i64>,
    pub proposed_labour_pct: Option<i64>,
    /// `no-network-history`, `not-first-owner`, `outside-bands`.
    pub no_goodwill: Option<String>,
    /// The shares in force (proposed, or as the last person deciding set them).
    pub parts_pct: i64,
    pub labour_pct: i64,
    pub brand_pct: i64,
    pub importer_pct: i64,
    pub dealer_pct: i64,
    pub deviation_reason: Option<String>,
    /// What each pays, in minor units of `currency`.
    pub split: Split,
    pub goodwill: Money,
    pub customer: Money,
    /// The level whose authority the amount needs.
    pub level: Role,
    pub status: GoodwillStatus,
    /// The caller may decide it now (their authority covers the amount) or pass it up.
    pub may_decide: bool,
    /// The caller's own limit, if any.
    pub authority: Option<Money>,
    pub events: Vec<GoodwillEvent>,
    pub currency: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub version: i64,
}

/// Asks for goodwill on a repair-order job (its customer lines are the amounts) or on a case
/// before the order exists (with an estimate): the policy proposes from the car's age, km and the
/// component; network history and first owner default to what the records say.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoodwillInput {
    /// The repair-order job it is for: its customer lines are the amounts. Either this or
    /// `case_id`.
    pub job_id: Option<String>,
    /// The case it is asked from before a repair order exists, with the estimate below.
    pub case_id: Option<String>,
    /// For a case: the estimated parts (and sublet) amount, in the market's currency (`1234.50`).
    pub parts_amount: Option<String>,
    /// For a case: the estimated labour amount.
    pub labour_amount: Option<String>,
    /// `high-voltage`, `drivetrain`, `electrical`, `chassis`, `body`, `interior`.
    pub component_group: String,
    /// The car's km; its latest reading when left out.
    pub odometer_km: Option<i64>,
    pub network_history: Option<bool>,
    pub first_owner: Option<bool>,
    pub note: Option<String>,
}

/// Applies an approved goodwill request from a case to a job of the case's repair order.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoodwillApply {
    pub job_id: String,
}

/// A decision on a goodwill request: approve (at the proposal, or other shares with a reason)
/// or reject. Above the decider's authority an approval passes the request up with their shares.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoodwillDecision {
    /// `approve` or `reject`.
    pub action: String,
    pub parts_pct: Option<i64>,
    pub labour_pct: Option<i64>,
    /// Required when the shares differ from the policy's proposal.
    pub deviation_reason: Option<String>,
    pub note: Option<String>,
}

/// A market's goodwill budget for a quarter, with what approvals committed and invoices spent.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GoodwillBudget {
    pub market: String,
    /// `2026-Q4`.
    pub period: String,
    pub budget: Money,
    /// Approved, not yet on an issued invoice.
    pub committed: Money,
    /// On issued invoices.
    pub spent: Money,
    pub left: Money,
}

use aftersales_domain::i18n::LocalNames;
use aftersales_domain::warranty::campaigns::{CampaignKind, DoneHow, Remedy};

/// Completion at one service point: the campaign's VINs done there, and those still open whose
/// latest repair order was there.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CampaignPoint {
    pub organisation: Ref,
    pub done: i64,
    pub open: i64,
    pub completion_pct: u32,
}

/// A recall or service campaign with its completion.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecallCampaign {
    pub id: String,
    pub code: String,
    pub organisation: Ref,
    pub kind: CampaignKind,
    /// The title per language.
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub title: LocalNames,
    pub remedy: Remedy,
    /// The labour operation and part that remedy it in the workshop.
    pub operation: Option<String>,
    pub part: Option<String>,
    /// The software version that counts as done (over-the-air remedies).
    pub done_version: Option<String>,
    pub affected: i64,
    pub done: i64,
    pub completion_pct: u32,
    /// Per service point (detail only).
    pub points: Vec<CampaignPoint>,
    /// The caller may record VINs done (a workshop, or the brand/market for over-the-air).
    pub may_record: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// One affected VIN of a campaign.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CampaignVehicle {
    pub vin: String,
    /// The vehicle in the CRM, if it is there.
    pub vehicle_id: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub done_at: Option<OffsetDateTime>,
    pub done_how: Option<DoneHow>,
    pub done_at_point: Option<Ref>,
    pub software_version: Option<String>,
}

/// An open campaign of a vehicle, as the vehicle page, the case and the repair order show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OpenCampaign {
    pub id: String,
    pub code: String,
    pub kind: CampaignKind,
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub title: LocalNames,
    pub remedy: Remedy,
    pub operation: Option<String>,
}

/// A new campaign: its VINs from CSV text, or by rule (model, model years, serial range) over the
/// brand's vehicles in the owner's reach.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecallCampaignInput {
    /// The brand headquarters or market entity that runs it.
    pub organisation_id: String,
    pub code: String,
    /// `recall` or `service`.
    pub kind: String,
    pub title_nb: String,
    pub title_en: String,
    pub title_pt: String,
    /// `workshop` or `ota`.
    pub remedy: String,
    pub operation: Option<String>,
    pub part: Option<String>,
    pub done_version: Option<String>,
    /// One VIN per line, or a CSV with a `vin` column.
    pub vins_csv: Option<String>,
    pub model: Option<String>,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    pub serial_from: Option<u32>,
    pub serial_to: Option<u32>,
}

/// A VIN's campaign done: in the workshop (at the service point named), or over the air with the
/// software version the car reports.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignDoneInput {
    pub vin: String,
    /// `workshop` or `ota`.
    pub how: String,
    /// The service point that did it (workshop).
    pub organisation_id: Option<String>,
    pub software_version: Option<String>,
}

use aftersales_domain::warranty::CoverageTerm;

/// A version of a brand's warranty terms (the market's own where `market` is set).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarrantyTerms {
    pub code: String,
    /// The market it is for; none: the brand's terms everywhere it has no market terms.
    #[serde(default)]
    pub market: Option<String>,
    /// Models it is for (as the vehicle's model is written); empty: every model.
    #[serde(default)]
    pub models: Vec<String>,
    /// Delivered on or after (YYYY-MM-DD).
    #[schema(format = Date)]
    pub delivered_from: Option<String>,
    /// Delivered before (YYYY-MM-DD).
    #[schema(format = Date)]
    pub delivered_before: Option<String>,
    /// `{"kind": "battery-drive-unit", "months": 96, "km": 160000, "min_soh_pct": 70}`.
    pub coverages: Vec<CoverageTerm>,
}

// --- The risk-based audit of service points (issue 18) ---

use aftersales_domain::analysis::audit::{AuditResult, ChargebackReason, RedFlag, RuleSetting};

/// The red-flag rules an organisation audits by, with what each threshold means.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditRules {
    pub organisation: Ref,
    pub rules: Vec<AuditRule>,
}

/// One red-flag rule as set.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditRule {
    #[serde(flatten)]
    pub setting: RuleSetting,
    /// The threshold's unit: `days`, `percent`, `money`, `customers`, `none`.
    pub unit: String,
    /// Whether it was changed from the default.
    pub changed: bool,
}

/// A change to a rule: any of threshold, weight, on or off.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AuditRuleInput {
    pub threshold: Option<i64>,
    pub weight: Option<i64>,
    pub enabled: Option<bool>,
}

/// A service point's risk over the period.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PointRiskRow {
    pub service_point: Ref,
    /// Claims counted in the period.
    pub claims: i64,
    /// Claims hit per rule.
    pub hits: Vec<FlagCount>,
    /// Share of its claims with a returned part that say "no trouble found", %.
    pub no_trouble_pct: Option<f64>,
    /// Peer comparisons on which it lies above the 99.8 % limit (`labour-per-claim`, `cost-per-claim`).
    pub outlier_on: Vec<String>,
    /// Risk points (see the rules).
    pub score: f64,
    /// An audit not yet closed, if any.
    pub open_audit: Option<Ref>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlagCount {
    pub flag: RedFlag,
    pub claims: i64,
}

/// The service points ranked by risk.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RiskOverview {
    /// The first and last day of the period (YYYY-MM-DD).
    pub from: String,
    pub to: String,
    pub rules: Vec<AuditRule>,
    pub points: Vec<PointRiskRow>,
}

/// A claim with the red flags it raised.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlaggedClaim {
    pub id: String,
    pub number: String,
    pub vin: String,
    /// YYYY-MM-DD.
    pub opened_on: String,
    pub status: ClaimStatus,
    pub flags: Vec<RedFlag>,
    pub paid: Money,
}

/// Propose an audit of a service point over the last `months` months (default 12).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AuditProposal {
    pub service_point_id: String,
    pub months: Option<u32>,
    /// Chance of finding at least one bad claim, % (default 95).
    pub confidence_pct: Option<i64>,
    /// The smallest share of bad claims to detect, % (default 5).
    pub min_bad_rate_pct: Option<i64>,
}

/// An audit of a service point: the sample proposed and what was found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Audit {
    pub id: String,
    pub number: String,
    pub organisation: Ref,
    pub service_point: Ref,
    /// YYYY-MM-DD.
    pub period_from: String,
    pub period_to: String,
    /// Claims it was drawn from: paid claims of the period not in another audit.
    pub population: i64,
    /// The size the sizing rule asks for (before the cap by the population).
    pub required: i64,
    pub confidence_pct: i64,
    pub min_bad_rate_pct: i64,
    /// The seed of the weighted draw (repeats it).
    pub seed: String,
    pub score: f64,
    /// `open` or `closed`.
    pub status: String,
    pub items: Vec<AuditItem>,
    pub charged_back: Money,
    pub decided: i64,
    pub created_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub version: i64,
}

/// A claim in an audit sample.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditItem {
    pub claim_id: String,
    pub claim_number: String,
    pub vin: String,
    pub opened_on: String,
    /// 1: inspect first.
    pub priority: i64,
    /// Its sampling weight (1 + the weights of its flags).
    pub weight: f64,
    pub flags: Vec<RedFlag>,
    /// What the claim pays before this audit's chargeback.
    pub approved: Money,
    pub result: Option<AuditResult>,
    pub chargeback: Option<Money>,
    pub reason: Option<ChargebackReason>,
    pub note: Option<String>,
    pub decided_by: Option<String>,
}

/// What an audit found on one claim.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AuditResultInput {
    /// `accepted` or `charged-back`.
    pub result: String,
    /// The amount charged back (a decimal, `120.50`), with `charged-back`.
    pub amount: Option<String>,
    /// A reason code, with `charged-back`.
    pub reason: Option<String>,
    pub note: Option<String>,
}

/// An audit as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditSummary {
    pub id: String,
    pub number: String,
    pub service_point: Ref,
    pub status: String,
    pub sampled: i64,
    pub decided: i64,
    pub charged_back: Money,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// An audit's finding on a claim, as the claim shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClaimAuditFinding {
    pub audit: Ref,
    pub result: AuditResult,
    pub chargeback: Option<Money>,
    pub reason: Option<ChargebackReason>,
    pub note: Option<String>,
    pub decided_by: Option<String>,
}
