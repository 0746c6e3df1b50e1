//! Workshop (capability workshop): the repair-order status machine, pay types, flat-rate hours,
//! competences, the slot finder that books bays and technicians, and the iCalendar confirmation.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};

use crate::validation::{FieldError, Rule};

vocabulary!(
    /// Where a repair order stands, from booking to closing.
    RoStatus {
        Booked => "booked",
        CheckedIn => "checked-in",
        Diagnosing => "diagnosing",
        WaitingApproval => "waiting-approval",
        WaitingParts => "waiting-parts",
        InRepair => "in-repair",
        QualityCheck => "quality-check",
        Cleaning => "cleaning",
        Ready => "ready",
        Delivered => "delivered",
        Closed => "closed",
        Cancelled => "cancelled",
    }
);

impl RoStatus {
    /// The statuses this one may move to. Work goes forward; a failed quality check or new
    /// findings during repair send it back, and only a booking not yet checked in is cancelled.
    pub fn next(self) -> &'static [RoStatus] {
        use RoStatus::*;
        match self {
            Booked => &[CheckedIn, Cancelled],
            CheckedIn => &[Diagnosing, InRepair],
            Diagnosing => &[WaitingApproval, WaitingParts, InRepair],
            WaitingApproval => &[WaitingParts, InRepair, QualityCheck],
            WaitingParts => &[InRepair],
            InRepair => &[WaitingApproval, WaitingParts, QualityCheck],
            QualityCheck => &[InRepair, Cleaning, Ready],
            Cleaning => &[Ready],
            Ready => &[Delivered],
            Delivered => &[Closed],
            Closed | Cancelled => &[],
        }
    }

    pub fn may_become(self, next: RoStatus) -> bool {
        self.next().contains(&next)
    }

    /// Whether time may be clocked: the car is checked in and its work not finished.
    pub fn allows_clocking(self) -> bool {
        matches!(
            self,
            RoStatus::CheckedIn
                | RoStatus::Diagnosing
                | RoStatus::WaitingApproval
                | RoStatus::WaitingParts
                | RoStatus::InRepair
                | RoStatus::QualityCheck
                | RoStatus::Cleaning
        )
    }

    /// Whether the car is (or is expected) at the workshop and work is not finished.
    pub fn is_active(self) -> bool {
        !matches!(
            self,
            RoStatus::Delivered | RoStatus::Closed | RoStatus::Cancelled
        )
    }
}

vocabulary!(
    /// Who pays for a line of work.
    PayType {
        Customer => "customer",
        Warranty => "warranty",
        Goodwill => "goodwill",
        Internal => "internal",
    }
);

vocabulary!(
    LineKind {
        Labour => "labour",
        Part => "part",
        Sublet => "sublet",
    }
);

vocabulary!(
    /// In the workshop, or a technician drives to the customer.
    AppointmentKind {
        Workshop => "workshop",
        Mobile => "mobile",
    }
);

vocabulary!(
    /// The customer's word on a job: work booked by the customer needs none; work found later
    /// and paid by the customer waits for it.
    Approval {
        NotRequired => "not-required",
        Pending => "pending",
        Approved => "approved",
        Declined => "declined",
    }
);

/// The smallest flat-rate time of a labour operation: 0.05 h (three minutes), in hundredths.
pub const MIN_HOURS_CENTI: i64 = 5;

/// A competence code (`hv-work`, `adas-calibration`): lowercase letters, digits and dashes.
pub fn certification_code(field: &str, s: &str) -> Result<String, FieldError> {
    let s = s.trim().to_ascii_lowercase();
    let ok = (2..=40).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(s)
    } else {
        Err(FieldError::new(
            field,
            Rule::Format,
            format!("{field} must be 2–40 lowercase letters, digits or dashes, like hv-work"),
        ))
    }
}

/// Why a technician may not take a job, checked against their certificates on a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Refusal {
    /// The person is not a technician at the repair order's service point.
    NotTechnicianHere { technician: String },
    /// The job needs a certificate the technician has never held.
    MissingCertification {
        technician: String,
        certification: String,
    },
    /// The technician's certificate ran out before the date of the work.
    ExpiredCertification {
        technician: String,
        certification: String,
        #[schema(value_type = String, format = Date)]
        #[serde(with = "crate::iso_date")]
        expired_on: Date,
    },
    /// The job needs a competence whose profile asks for a training the technician has not
    /// passed, or let run out.
    MissingTraining {
        technician: String,
        /// The competence the job needs (`hv-work`).
        competence: String,
        /// The competence profile's name per language.
        profile: crate::i18n::LocalNames,
        /// The required training's name per language.
        training: crate::i18n::LocalNames,
        #[schema(value_type = Option<String>, format = Date)]
        #[serde(with = "crate::iso_date::option")]
        expired_on: Option<Date>,
    },
}

impl Refusal {
    pub fn message(&self) -> String {
        match self {
            Refusal::NotTechnicianHere { technician } => {
                format!("{technician} is not a technician at this service point")
            }
            Refusal::MissingCertification {
                technician,
                certification,
            } => format!("{technician} does not hold the {certification} certification this job needs"),
            Refusal::ExpiredCertification {
                technician,
                certification,
                expired_on,
            } => format!(
                "{technician}'s {certification} certification expired on {expired_on}; this job needs a valid one"
            ),
            Refusal::MissingTraining {
                technician,
                competence,
                profile,
                training,
                expired_on,
            } => {
                let en = |m: &crate::i18n::LocalNames| m.get("en").cloned().unwrap_or_default();
                match expired_on {
                    Some(d) => format!(
                        "{technician}'s training \"{}\" expired on {d}; the profile \"{}\" ({competence}) this job needs requires it",
                        en(training),
                        en(profile)
                    ),
                    None => format!(
                        "{technician} has not passed the training \"{}\" the profile \"{}\" ({competence}) this job needs requires",
                        en(training),
                        en(profile)
                    ),
                }
            }
        }
    }
}

/// One certificate a technician holds: valid from `issued_on` up to and including `expires_on`.
#[derive(Debug, Clone)]
pub struct Certificate {
    pub code: String,
    pub issued_on: Date,
    pub expires_on: Option<Date>,
}

/// Whether `technician` (holding `certs`) may do work needing `required` on `on`.
pub fn check_competence(
    technician: &str,
    certs: &[Certificate],
    required: &[String],
    on: Date,
) -> Result<(), Refusal> {
    for need in required {
        let held: Vec<&Certificate> = certs.iter().filter(|c| &c.code == need).collect();
        if held
            .iter()
            .any(|c| c.issued_on <= on && c.expires_on.is_none_or(|e| on <= e))
        {
            continue;
        }
        return Err(match held.iter().filter_map(|c| c.expires_on).max() {
            Some(expired_on) if expired_on < on => Refusal::ExpiredCertification {
                technician: technician.to_string(),
                certification: need.clone(),
                expired_on,
            },
            _ => Refusal::MissingCertification {
                technician: technician.to_string(),
                certification: need.clone(),
            },
        });
    }
    Ok(())
}

// ---- Capacity: bays and technicians in quarter-hour units -------------------------------------

/// Bookings occupy whole quarter hours; a unit is a quarter hour counted from the Unix epoch.
/// The database holds one row per resource and unit, so two bookings of one bay or technician
/// in the same quarter hour are refused by a unique key, whatever the concurrency.
pub const UNIT_MINUTES: i64 = 15;
const UNIT_SECONDS: i64 = UNIT_MINUTES * 60;

pub fn unit_floor(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(UNIT_SECONDS)
}

pub fn unit_ceil(t: OffsetDateTime) -> i64 {
    let s = t.unix_timestamp();
    s.div_euclid(UNIT_SECONDS) + i64::from(s.rem_euclid(UNIT_SECONDS) != 0)
}

pub fn unit_start(u: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(u.saturating_mul(UNIT_SECONDS))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Whole units needed for a duration in hundredths of an hour (at least one).
pub fn units_for_hours(hours_centi: i64) -> i64 {
    // hours_centi / 100 * 60 / 15 = hours_centi / 25, rounded up
    ((hours_centi.max(1) + 24) / 25).max(1)
}

/// A bay and what it is equipped for.
#[derive(Debug, Clone)]
pub struct BayCap {
    pub id: String,
    pub lift: bool,
    pub hv_area: bool,
}

/// A technician on a given day: valid certificates, whether they drive out, and the units they
/// work (shifts with absences already cut out).
#[derive(Debug, Clone)]
pub struct TechCap {
    pub id: String,
    pub certifications: Vec<String>,
    pub mobile: bool,
    pub shifts: Vec<(i64, i64)>,
}

/// What a booking needs.
#[derive(Debug, Clone, Default)]
pub struct Need {
    pub units: i64,
    /// Travel before and after a mobile job, in units; the technician is away, the customer waits not.
    pub buffer_units: i64,
    pub lift: bool,
    pub hv_area: bool,
    pub certifications: Vec<String>,
    pub mobile: bool,
}

/// A bookable start with the resources it would take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub start: i64,
    pub end: i64,
    pub bay: Option<String>,
    pub technician: String,
}

impl Slot {
    pub fn starts_at(&self) -> OffsetDateTime {
        unit_start(self.start)
    }
    pub fn ends_at(&self) -> OffsetDateTime {
        unit_start(self.end)
    }
}

/// Why a day offers no slot, so the advisor hears the reason and not just "nothing".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NoSlotReason {
    Closed,
    NoSuitableBay,
    NoCompetentTechnician,
    NoMobileTechnician,
    TooLong,
    FullyBooked,
}

/// The free starts of one day. `open` are the opening intervals in units; `busy` the occupied
/// (resource, unit) pairs; starts before `earliest` are skipped. Each start is offered once,
/// with the least-loaded technician who can do it and the first suitable free bay.
pub fn find_slots(
    open: &[(i64, i64)],
    bays: &[BayCap],
    techs: &[TechCap],
    busy: &HashSet<(String, i64)>,
    need: &Need,
    earliest: i64,
) -> Result<Vec<Slot>, NoSlotReason> {
    if open.iter().all(|(a, b)| a >= b) {
        return Err(NoSlotReason::Closed);
    }
    let bays: Vec<&BayCap> = bays
        .iter()
        .filter(|b| (!need.lift || b.lift) && (!need.hv_area || b.hv_area))
        .collect();
    if !need.mobile && bays.is_empty() {
        return Err(NoSlotReason::NoSuitableBay);
    }
    let techs: Vec<&TechCap> = techs
        .iter()
        .filter(|t| {
            need.certifications
                .iter()
                .all(|c| t.certifications.contains(c))
        })
        .collect();
    if techs.is_empty() {
        return Err(NoSlotReason::NoCompetentTechnician);
    }
    let techs: Vec<&TechCap> = techs
        .into_iter()
        .filter(|t| !need.mobile || t.mobile)
        .collect();
    if techs.is_empty() {
        return Err(NoSlotReason::NoMobileTechnician);
    }
    let units = need.units.max(1);
    if !open.iter().any(|(a, b)| b - a >= units) {
        return Err(NoSlotReason::TooLong);
    }
    let mut load: BTreeMap<&str, usize> = techs.iter().map(|t| (t.id.as_str(), 0)).collect();
    for (r, _) in busy {
        if let Some(n) = load.get_mut(r.as_str()) {
            *n += 1;
        }
    }
    let free = |r: &str, a: i64, b: i64| (a..b).all(|u| !busy.contains(&(r.to_string(), u)));
    let mut out = Vec::new();
    for &(oa, ob) in open {
        let mut s = oa.max(earliest);
        while s + units <= ob {
            let e = s + units;
            let (ta, tb) = (s - need.buffer_units, e + need.buffer_units);
            let mut candidates: Vec<&&TechCap> = techs
                .iter()
                .filter(|t| t.shifts.iter().any(|(a, b)| *a <= ta && tb <= *b))
                .filter(|t| free(&t.id, ta, tb))
                .collect();
            candidates.sort_by_key(|t| (load.get(t.id.as_str()).copied().unwrap_or(0), &t.id));
            let bay = if need.mobile {
                Some(None)
            } else {
                bays.iter()
                    .find(|b| free(&b.id, s, e))
                    .map(|b| Some(b.id.clone()))
            };
            if let (Some(t), Some(bay)) = (candidates.first(), bay) {
                out.push(Slot {
                    start: s,
                    end: e,
                    bay,
                    technician: t.id.clone(),
                });
            }
            s += 1;
        }
    }
    if out.is_empty() {
        return Err(NoSlotReason::FullyBooked);
    }
    Ok(out)
}

/// The units a booking occupies: the bay for the job, the technician with travel around it.
pub fn occupied_units(slot: &Slot, buffer_units: i64) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = (slot.start - buffer_units..slot.end + buffer_units)
        .map(|u| (slot.technician.clone(), u))
        .collect();
    if let Some(b) = &slot.bay {
        v.extend((slot.start..slot.end).map(|u| (b.clone(), u)));
    }
    v
}

// ---- iCalendar ----------------------------------------------------------------------------------

/// A booking confirmation as an RFC 5545 calendar with one event (METHOD:PUBLISH).
pub struct CalendarEvent<'a> {
    pub uid: &'a str,
    /// 0 for the first invitation; each change of the same appointment (same `uid`) counts up, so
    /// calendar programs replace the event instead of adding a second one (RFC 5545 3.8.7.4).
    pub sequence: u32,
    pub stamp: OffsetDateTime,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub summary: &'a str,
    pub location: &'a str,
    pub description: &'a str,
}

fn ics_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn ics_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace("\r\n", "\\n")
        .replace('\n', "\\n")
}

/// Folds a content line at 75 octets without splitting a UTF-8 character (RFC 5545 3.1).
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut len = 0;
    for ch in line.chars() {
        let w = ch.len_utf8();
        if len + w > 75 {
            out.push_str("\r\n ");
            len = 1;
        }
        out.push(ch);
        len += w;
    }
    out.push_str("\r\n");
    out
}

pub fn icalendar(e: &CalendarEvent<'_>) -> String {
    let lines = [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//Aftersales//Workshop//EN".to_string(),
        "CALSCALE:GREGORIAN".to_string(),
        "METHOD:PUBLISH".to_string(),
        "BEGIN:VEVENT".to_string(),
        format!("UID:{}", ics_text(e.uid)),
        format!("DTSTAMP:{}", ics_time(e.stamp)),
        format!("SEQUENCE:{}", e.sequence),
        format!("DTSTART:{}", ics_time(e.start)),
        format!("DTEND:{}", ics_time(e.end)),
        format!("SUMMARY:{}", ics_text(e.summary)),
        format!("LOCATION:{}", ics_text(e.location)),
        format!("DESCRIPTION:{}", ics_text(e.description)),
        "STATUS:CONFIRMED".to_string(),
        "TRANSP:OPAQUE".to_string(),
        "END:VEVENT".to_string(),
        "END:VCALENDAR".to_string(),
    ];
    lines.iter().map(|l| fold(l)).collect()
}

/// Whether a repair order may move from `current` to `next`, given how many of its jobs still wait
/// for the customer's decision: along the status machine; into waiting-for-approval only with
/// something to approve; not on to finishing (or out of waiting) while a decision is pending.
pub fn check_status_change(
    current: RoStatus,
    next: RoStatus,
    pending_approvals: i64,
) -> Result<(), FieldError> {
    if !current.may_become(next) {
        return Err(FieldError::new(
            "status",
            Rule::NotAllowed,
            format!(
                "a repair order that is {} cannot become {}; next can be {}",
                current.as_str(),
                next.as_str(),
                current
                    .next()
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if next == RoStatus::WaitingApproval && pending_approvals == 0 {
        return Err(FieldError::new(
            "status",
            Rule::NotAllowed,
            "nothing waits for the customer's approval: add the work found as a job paid by the customer first",
        ));
    }
    // The car is not finished (or handed back) while the customer still has to decide on work.
    let finishing = matches!(
        next,
        RoStatus::QualityCheck | RoStatus::Cleaning | RoStatus::Ready | RoStatus::Delivered
    );
    if (current == RoStatus::WaitingApproval || finishing) && pending_approvals > 0 {
        return Err(FieldError::new(
            "status",
            Rule::NotAllowed,
            "some jobs still wait for the customer's decision",
        ));
    }
    Ok(())
}

/// Efficiency (flat-rate hours sold ÷ hours clocked on those jobs) in percent, if anything was clocked.
pub fn efficiency_percent(flat_rate_centi: i64, clocked: Duration) -> Option<i64> {
    // A few clocked minutes say nothing yet (3.9 flat-rate hours over one minute is not 39 000 %).
    if clocked < MIN_MEASURED_CLOCKING {
        return None;
    }
    let clocked_centi = clocked.whole_seconds() * 100 / 3600;
    (clocked_centi > 0).then(|| flat_rate_centi * 100 / clocked_centi)
}

/// Efficiency is measured once this much time is clocked on the jobs.
pub const MIN_MEASURED_CLOCKING: Duration = Duration::minutes(15);

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn status_changes_wait_for_the_customers_decision() {
        use RoStatus::*;
        assert!(check_status_change(InRepair, WaitingApproval, 1).is_ok());
        assert!(check_status_change(InRepair, WaitingApproval, 0).is_err());
        assert!(check_status_change(WaitingApproval, InRepair, 1).is_err());
        assert!(check_status_change(WaitingApproval, InRepair, 0).is_ok());
        assert!(check_status_change(InRepair, QualityCheck, 2).is_err());
        assert!(check_status_change(InRepair, QualityCheck, 0).is_ok());
        let e = check_status_change(Delivered, InRepair, 0).unwrap_err();
        assert_eq!((e.field.as_str(), e.rule), ("status", Rule::NotAllowed));
        assert!(e.message.contains("next can be"), "{}", e.message);
    }

    #[test]
    fn status_machine_goes_forward_with_the_allowed_returns() {
        use RoStatus::*;
        assert!(Booked.may_become(CheckedIn));
        assert!(!Booked.may_become(Ready));
        assert!(QualityCheck.may_become(InRepair));
        assert!(!Delivered.may_become(Booked));
        assert!(Closed.next().is_empty());
        // Every status but the ends can reach Closed.
        for s in RoStatus::ALL {
            let mut seen = vec![*s];
            let mut i = 0;
            while i < seen.len() {
                for n in seen[i].next() {
                    if !seen.contains(n) {
                        seen.push(*n);
                    }
                }
                i += 1;
            }
            assert!(
                *s == Cancelled || seen.contains(&Closed),
                "{s:?} cannot reach closed"
            );
        }
    }

    #[test]
    fn competence_names_the_missing_or_expired_certificate() {
        let certs = vec![Certificate {
            code: "hv-work".into(),
            issued_on: date!(2024 - 01 - 10),
            expires_on: Some(date!(2026 - 10 - 31)),
        }];
        let need = vec!["hv-work".to_string()];
        assert_eq!(
            check_competence("Ola", &certs, &need, date!(2026 - 10 - 31)),
            Ok(())
        );
        assert_eq!(
            check_competence("Ola", &certs, &need, date!(2026 - 11 - 01)),
            Err(Refusal::ExpiredCertification {
                technician: "Ola".into(),
                certification: "hv-work".into(),
                expired_on: date!(2026 - 10 - 31)
            })
        );
        assert!(matches!(
            check_competence("Ola", &[], &need, date!(2026 - 11 - 01)),
            Err(Refusal::MissingCertification { .. })
        ));
        assert_eq!(
            check_competence("Ola", &[], &[], date!(2026 - 11 - 01)),
            Ok(())
        );
    }

    fn tech(id: &str, certs: &[&str], mobile: bool, shifts: Vec<(i64, i64)>) -> TechCap {
        TechCap {
            id: id.into(),
            certifications: certs.iter().map(|c| c.to_string()).collect(),
            mobile,
            shifts,
        }
    }

    #[test]
    fn slots_respect_bays_shifts_competence_and_bookings() {
        let bays = vec![
            BayCap {
                id: "b1".into(),
                lift: true,
                hv_area: false,
            },
            BayCap {
                id: "b2".into(),
                lift: true,
                hv_area: true,
            },
        ];
        let techs = vec![
            tech("t1", &[], false, vec![(0, 32)]),
            tech("t2", &["hv-work"], true, vec![(8, 32)]),
        ];
        let open = [(0, 32)];
        let mut busy = HashSet::new();
        let plain = Need {
            units: 4,
            ..Need::default()
        };
        let s = find_slots(&open, &bays, &techs, &busy, &plain, 0).unwrap();
        assert_eq!(s.len(), 29);
        assert_eq!(s[0].technician, "t1");
        // High-voltage work: only t2 (from unit 8) in the high-voltage bay.
        let hv = Need {
            units: 4,
            hv_area: true,
            certifications: vec!["hv-work".into()],
            ..Need::default()
        };
        let s = find_slots(&open, &bays, &techs, &busy, &hv, 0).unwrap();
        assert_eq!(
            (s[0].start, s[0].bay.as_deref(), s[0].technician.as_str()),
            (8, Some("b2"), "t2")
        );
        // Book b2 from 8 to 32: no high-voltage slot left.
        for u in 8..32 {
            busy.insert(("b2".to_string(), u));
        }
        assert_eq!(
            find_slots(&open, &bays, &techs, &busy, &hv, 0),
            Err(NoSlotReason::FullyBooked)
        );
        let none = Need {
            certifications: vec!["adas".into()],
            ..plain.clone()
        };
        assert_eq!(
            find_slots(&open, &bays, &techs, &busy, &none, 0),
            Err(NoSlotReason::NoCompetentTechnician)
        );
        assert_eq!(
            find_slots(&[], &bays, &techs, &busy, &plain, 0),
            Err(NoSlotReason::Closed)
        );
        let long = Need {
            units: 40,
            ..plain.clone()
        };
        assert_eq!(
            find_slots(&open, &bays, &techs, &busy, &long, 0),
            Err(NoSlotReason::TooLong)
        );
        // Mobile: no bay, travel buffer inside the shift.
        let mobile = Need {
            units: 4,
            buffer_units: 2,
            mobile: true,
            ..Need::default()
        };
        let s = find_slots(&open, &[], &techs, &HashSet::new(), &mobile, 0).unwrap();
        assert_eq!((s[0].start, s[0].bay.clone()), (10, None));
        assert_eq!(occupied_units(&s[0], 2).len(), 8);
    }

    #[test]
    fn units_round_up_to_quarter_hours() {
        assert_eq!(units_for_hours(5), 1);
        assert_eq!(units_for_hours(25), 1);
        assert_eq!(units_for_hours(26), 2);
        assert_eq!(units_for_hours(100), 4);
        let t = datetime!(2026-11-23 08:07 UTC);
        assert_eq!(unit_start(unit_floor(t)), datetime!(2026-11-23 08:00 UTC));
        assert_eq!(unit_start(unit_ceil(t)), datetime!(2026-11-23 08:15 UTC));
        assert_eq!(
            unit_ceil(datetime!(2026-11-23 08:00 UTC)),
            unit_floor(datetime!(2026-11-23 08:00 UTC))
        );
    }

    #[test]
    fn icalendar_is_folded_and_escaped() {
        let desc = "Service; tyres, wipers — ".repeat(6);
        let ics = icalendar(&CalendarEvent {
            uid: "a1@aftersales",
            sequence: 2,
            stamp: datetime!(2026-11-21 10:00 UTC),
            start: datetime!(2026-11-23 08:00 +01:00),
            end: datetime!(2026-11-23 09:30 +01:00),
            summary: "Service: Model Y",
            location: "Tesla Trondheim, Haakon VII gate 1",
            description: &desc,
        });
        assert!(ics.contains("DTSTART:20261123T070000Z\r\n"));
        assert!(ics.contains("DTEND:20261123T083000Z\r\n"));
        assert!(ics.contains("SEQUENCE:2\r\n"));
        assert!(ics.contains("LOCATION:Tesla Trondheim\\, Haakon VII gate 1\r\n"));
        assert!(ics.contains("Service\\; tyres\\, wipers"));
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{line}");
        }
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
    }

    #[test]
    fn efficiency() {
        assert_eq!(efficiency_percent(150, Duration::minutes(60)), Some(150));
        assert_eq!(efficiency_percent(150, Duration::ZERO), None);
        assert_eq!(
            efficiency_percent(390, Duration::minutes(1)),
            None,
            "not yet measurable"
        );
        assert_eq!(efficiency_percent(25, Duration::minutes(15)), Some(100));
    }
}

/// Productivity (hours clocked on repair orders ÷ attendance hours) in percent.
pub fn productivity_percent(clocked: Duration, attendance: Duration) -> Option<i64> {
    let a = attendance.whole_seconds();
    (a > 0).then(|| clocked.whole_seconds() * 100 / a)
}

/// CSAT: answers of 4–5 on the 1–5 scale ÷ all answers × 100 (kpi-definitions.md).
pub fn csat_percent(answers: &[i64]) -> Option<i64> {
    let n = i64::try_from(answers.len()).ok().filter(|n| *n > 0)?;
    let happy = answers.iter().filter(|a| **a >= 4).count();
    Some(i64::try_from(happy).unwrap_or(0) * 100 / n)
}

/// NPS: % promoters (9–10) − % detractors (0–6), from −100 to +100.
pub fn nps(scores: &[i64]) -> Option<i64> {
    let n = i64::try_from(scores.len()).ok().filter(|n| *n > 0)?;
    let p = i64::try_from(scores.iter().filter(|s| **s >= 9).count()).unwrap_or(0);
    let d = i64::try_from(scores.iter().filter(|s| **s <= 6).count()).unwrap_or(0);
    Some((p - d) * 100 / n)
}

#[cfg(test)]
mod kpi_tests {
    use super::*;

    #[test]
    fn survey_kpis() {
        assert_eq!(csat_percent(&[5, 4, 3, 1]), Some(50));
        assert_eq!(csat_percent(&[]), None);
        assert_eq!(nps(&[10, 9, 8, 6, 0]), Some(0));
        assert_eq!(nps(&[10, 10]), Some(100));
        assert_eq!(
            productivity_percent(Duration::hours(6), Duration::hours(8)),
            Some(75)
        );
    }
}
