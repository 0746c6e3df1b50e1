//! Writes a warranty history planned by `domain::analysis::history` into a market: one customer
//! and one car per planned vehicle (owned by the market's organisation), and for every planned
//! claim a closed repair order at the car's service point with its warranty job and lines, and
//! the claim with its lines and events, decided as planned (approved, cut to the flat rate,
//! rejected, or still with the reviewer), with supplier recovery on returned parts. Rows go in
//! batches of multi-row inserts, so the benchmark's 100,000 cars and 300,000 claims take a
//! while, not an afternoon; the demo writes a few thousand.

use aftersales_domain::analysis::history::{self, HistorySpec, Outcome, PlannedClaim};
use aftersales_domain::money::line_total;
use aftersales_domain::warranty::goodwill::ComponentGroup;
use time::{Date, OffsetDateTime};

use super::Warranty;
use crate::batch::{Batch, CarRows, NewCar, V};
use crate::error::StoreError;
use crate::{micros, new_id};

/// Where a planned history goes.
#[derive(Debug, Clone)]
pub struct HistoryTarget {
    /// The organisation owning the customers and cars (a market entity or a service point).
    pub owner_org: String,
    /// The service points claims are made at, in the spec's order.
    pub service_points: Vec<String>,
    /// The brand's id (`brands.id`).
    pub brand_id: String,
    /// The terms version the cars get.
    pub warranty_version: String,
    /// Models: (name, VIN template of 17 characters, model year).
    pub models: Vec<(String, String, i64)>,
    /// Customers' country and language.
    pub country: String,
    pub language: String,
    pub currency: String,
    /// Labour rate per hour in minor units.
    pub labour_rate_minor: i64,
    /// Minor units of the currency per euro cent of the planned part prices (1 in euros).
    pub price_factor: i64,
    /// Prefix that keeps generated numbers apart (`H1` makes `RO-H1-0000001`).
    pub prefix: String,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryCounts {
    pub vehicles: usize,
    pub claims: usize,
}

/// The words a generated repair order uses, per component group and language.
fn words(group: ComponentGroup, lang: &str) -> (&'static str, &'static str, &'static str) {
    use ComponentGroup::*;
    match (group, lang) {
        (HighVoltage, "pt") => (
            "Sistema de alta tensão",
            "Aviso da bateria de alta tensão",
            "Módulo substituído",
        ),
        (Drivetrain, "pt") => (
            "Unidade motriz",
            "Ruído da unidade motriz",
            "Unidade motriz reparada",
        ),
        (Electrical, "pt") => (
            "Sistema elétrico",
            "Ecrã ou sensor com falhas",
            "Componente elétrico substituído",
        ),
        (Chassis, "pt") => (
            "Suspensão",
            "Ruído na suspensão",
            "Braço de suspensão substituído",
        ),
        (Body, "pt") => (
            "Carroçaria",
            "Fecho ou vedante com defeito",
            "Peça de carroçaria substituída",
        ),
        (Interior, "pt") => ("Interior", "Acabamento interior solto", "Acabamento fixado"),
        (HighVoltage, "nb") => (
            "Høyspenningssystem",
            "Varsel om høyspenningsbatteri",
            "Modul byttet",
        ),
        (Drivetrain, "nb") => ("Drivenhet", "Støy fra drivenheten", "Drivenhet reparert"),
        (Electrical, "nb") => (
            "Elektrisk system",
            "Skjerm eller sensor feiler",
            "Elektrisk komponent byttet",
        ),
        (Chassis, "nb") => ("Understell", "Støy fra hjuloppheng", "Bærearm byttet"),
        (Body, "nb") => (
            "Karosseri",
            "Lås eller list med feil",
            "Karosseridel byttet",
        ),
        (Interior, "nb") => ("Interiør", "Løs interiørlist", "List festet"),
        (HighVoltage, _) => (
            "High-voltage system",
            "High-voltage battery warning",
            "Module replaced",
        ),
        (Drivetrain, _) => ("Drive unit", "Drive unit noise", "Drive unit repaired"),
        (Electrical, _) => (
            "Electrical system",
            "Screen or sensor fails",
            "Electrical part replaced",
        ),
        (Chassis, _) => ("Chassis", "Suspension noise", "Control arm replaced"),
        (Body, _) => ("Body", "Latch or seal faulty", "Body part replaced"),
        (Interior, _) => ("Interior", "Loose interior trim", "Trim fixed"),
    }
}

/// A customer's name from common first names and surnames of the language.
pub(crate) fn person(lang: &str, serial: usize) -> String {
    let (first, last): (&[&str], &[&str]) = match lang {
        "pt" => (
            &[
                "Ana", "João", "Maria", "Pedro", "Inês", "Rui", "Sofia", "Miguel", "Beatriz",
                "Tiago", "Catarina", "Nuno", "Marta", "Luís", "Rita", "André",
            ],
            &[
                "Silva",
                "Santos",
                "Ferreira",
                "Pereira",
                "Oliveira",
                "Costa",
                "Rodrigues",
                "Martins",
                "Jesus",
                "Sousa",
                "Fernandes",
                "Gonçalves",
                "Gomes",
                "Lopes",
                "Marques",
                "Alves",
                "Almeida",
                "Ribeiro",
                "Pinto",
                "Carvalho",
            ],
        ),
        "nb" => (
            &[
                "Ola", "Kari", "Lars", "Ingrid", "Erik", "Marit", "Jon", "Silje", "Per", "Hanne",
                "Anders", "Nora", "Håkon", "Ida", "Magnus", "Sigrid",
            ],
            &[
                "Hansen",
                "Johansen",
                "Olsen",
                "Larsen",
                "Andersen",
                "Pedersen",
                "Nilsen",
                "Kristiansen",
                "Jensen",
                "Karlsen",
                "Johnsen",
                "Pettersen",
                "Eriksen",
                "Berg",
                "Haugen",
                "Hagen",
                "Johannessen",
                "Andreassen",
                "Jacobsen",
                "Dahl",
            ],
        ),
        _ => (
            &["Alex", "Sam", "Chris", "Jordan", "Taylor", "Morgan"],
            &["Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans"],
        ),
    };
    let a = first[serial % first.len()];
    let b = last[(serial / first.len()) % last.len()];
    let c = last[(serial / (first.len() * last.len()) + serial * 7) % last.len()];
    format!("{a} {c} {b}")
}

/// A short code per component group for operation and part numbers.
fn code(group: ComponentGroup) -> &'static str {
    use ComponentGroup::*;
    match group {
        HighVoltage => "HV",
        Drivetrain => "DU",
        Electrical => "EL",
        Chassis => "CH",
        Body => "BO",
        Interior => "IN",
    }
}

/// A VIN from a 17-character template with the serial in positions 12–17 and its check digit.
pub(crate) fn vin(template: &str, serial: usize) -> String {
    let body = format!("{}{:06}", &template[..11], serial % 1_000_000);
    let digit = aftersales_domain::crm::vin_check_digit(&body);
    format!("{}{digit}{}", &body[..8], &body[9..])
}

fn at_noon(d: Date) -> OffsetDateTime {
    d.with_hms(12, 0, 0)
        .map_or(d.midnight(), |t| t)
        .assume_utc()
}

impl Warranty<'_> {
    /// Plans and writes a warranty history (see the module): returns how many cars and claims.
    pub async fn write_history(
        self,
        spec: &HistorySpec,
        target: &HistoryTarget,
        now: OffsetDateTime,
    ) -> Result<HistoryCounts, StoreError> {
        if target.service_points.is_empty() || target.models.is_empty() {
            return Err(StoreError::Internal(
                "a history needs service points and models".into(),
            ));
        }
        let mut parties = Vec::with_capacity(target.service_points.len());
        for sp in &target.service_points {
            parties.push(self.parties_of(sp).await?);
        }
        let planned = history::plan(spec);
        let mut cars = CarRows::new();
        let mut orders = Batch::new(
            "repair_orders",
            &[
                "id",
                "number",
                "organisation_id",
                "customer_id",
                "vehicle_id",
                "status",
                "public_token",
                "created_at",
                "updated_at",
            ],
        );
        let mut jobs = Batch::new(
            "ro_jobs",
            &[
                "id",
                "repair_order_id",
                "position",
                "title",
                "complaint",
                "cause",
                "correction",
                "pay_type",
                "approval",
                "created_at",
            ],
        );
        let mut ro_lines = Batch::new(
            "ro_lines",
            &[
                "id",
                "job_id",
                "repair_order_id",
                "kind",
                "code",
                "description",
                "quantity_centi",
                "unit_price_minor",
                "unit_cost_minor",
                "pay_type",
                "backordered",
                "created_at",
            ],
        );
        let mut claims = Batch::new(
            "warranty_claims",
            &[
                "id",
                "number",
                "organisation_id",
                "reviewer_org_id",
                "brand_org_id",
                "repair_order_id",
                "job_id",
                "vehicle_id",
                "vin",
                "claim_type",
                "odometer_km",
                "delivered_on",
                "opened_on",
                "closed_on",
                "complaint",
                "cause",
                "correction",
                "dtcs",
                "causal_part",
                "component_group",
                "currency",
                "status",
                "appealed",
                "step_since",
                "created_at",
                "updated_at",
            ],
        );
        let mut claim_lines = Batch::new(
            "warranty_claim_lines",
            &[
                "id",
                "claim_id",
                "ro_line_id",
                "position",
                "kind",
                "code",
                "description",
                "quantity_centi",
                "unit_price_minor",
                "claimed_minor",
                "flat_rate_centi",
                "over_reason",
                "approved_minor",
                "approved_reason",
                "part_returned",
                "analysis",
                "recovery_pct",
                "recovery_minor",
            ],
        );
        let mut events = Batch::new(
            "warranty_claim_events",
            &[
                "id",
                "claim_id",
                "at",
                "party",
                "action",
                "status_after",
                "reason",
            ],
        );
        let created = micros(now);
        let mut counts = HistoryCounts::default();
        let mut tx = self.store.begin().await?;
        for v in &planned {
            let point = v.point.min(target.service_points.len() - 1);
            let (model, template, year) = &target.models[v.model % target.models.len()];
            let vin = vin(template, v.serial);
            // Now and then a customer of the costly point gives the same address as others.
            let street = if spec.costly_point == Some(v.point) && v.serial % 40 == 0 {
                "Rua do Comércio 12".to_string()
            } else {
                format!("Rua {} {}", 1 + v.serial % 400, 1 + v.serial % 97)
            };
            let (customer, vehicle) = cars
                .push(
                    &mut tx,
                    self.store.engine(),
                    NewCar {
                        owner_org: &target.owner_org,
                        name: person(&target.language, v.serial),
                        street,
                        language: &target.language,
                        country: &target.country,
                        vin: vin.clone(),
                        brand_id: &target.brand_id,
                        model,
                        year: *year,
                        delivered: Some(v.delivered),
                        warranty_version: Some(&target.warranty_version),
                        from_date: v.delivered,
                        created,
                    },
                )
                .await?;
            for c in &v.claims {
                counts.claims += 1;
                let n = counts.claims;
                claim_rows(
                    c,
                    (&target.service_points[point], &parties[point]),
                    (&vehicle, &vin, v.delivered, &customer),
                    target,
                    n,
                    &mut [
                        &mut orders,
                        &mut jobs,
                        &mut ro_lines,
                        &mut claims,
                        &mut claim_lines,
                        &mut events,
                    ],
                );
            }
            counts.vehicles += 1;
            if counts.vehicles % 2_000 == 0 {
                cars.flush(&mut tx).await?;
                for b in [
                    &mut orders,
                    &mut jobs,
                    &mut ro_lines,
                    &mut claims,
                    &mut claim_lines,
                    &mut events,
                ] {
                    b.flush(&mut tx).await?;
                }
            }
        }
        cars.flush(&mut tx).await?;
        for b in [
            &mut orders,
            &mut jobs,
            &mut ro_lines,
            &mut claims,
            &mut claim_lines,
            &mut events,
        ] {
            b.flush(&mut tx).await?;
        }
        tx.commit().await?;
        // The analysis reads facts: compute them now rather than on the first screen.
        self.refresh_facts().await?;
        Ok(counts)
    }
}

/// The rows of one planned claim: repair order, job, lines, claim, claim lines, events.
fn claim_rows(
    c: &PlannedClaim,
    (point, (reviewer, brand)): (&String, &(Option<String>, String)),
    (vehicle, vin, delivered, customer): (&String, &String, Date, &String),
    target: &HistoryTarget,
    n: usize,
    out: &mut [&mut Batch; 6],
) {
    let [orders, jobs, ro_lines, claims, claim_lines, events] = out;
    let at = micros(at_noon(c.day));
    let closed = c.day.next_day().unwrap_or(c.day);
    let (ro, job, claim) = (new_id(), new_id(), new_id());
    let number = format!("RO-{}-{n:07}", target.prefix);
    let (title, complaint, correction) = words(c.component, &target.language);
    let code = code(c.component);
    orders.rows.push(vec![
        V::T(ro.clone()),
        V::T(number.clone()),
        V::T(point.clone()),
        V::T(customer.clone()),
        V::T(vehicle.clone()),
        V::T("closed".into()),
        V::T(new_id()),
        V::I(at),
        V::I(at),
    ]);
    jobs.rows.push(vec![
        V::T(job.clone()),
        V::T(ro.clone()),
        V::I(1),
        V::T(title.into()),
        V::T(complaint.into()),
        V::T(title.into()),
        V::T(correction.into()),
        V::T("warranty".into()),
        V::T("approved".into()),
        V::I(at),
    ]);
    let labour_minor = line_total(target.labour_rate_minor, c.labour_centi);
    let flat_minor = line_total(target.labour_rate_minor, c.flat_rate_centi);
    let parts_minor = c.parts_minor * target.price_factor;
    let part_number = format!("{code}-{:04}", 1000 + n % 37);
    let mut lines = vec![(
        "labour",
        format!("{code}-REPAIR"),
        c.labour_centi,
        target.labour_rate_minor,
        labour_minor,
        Some(c.flat_rate_centi),
    )];
    if parts_minor > 0 {
        let copies = if c.duplicate_line { 2 } else { 1 };
        for _ in 0..copies {
            lines.push((
                "part",
                part_number.clone(),
                100,
                parts_minor,
                parts_minor,
                None,
            ));
        }
    }
    let status = match c.outcome {
        Outcome::Approved => "approved",
        Outcome::PartlyApproved => "partly-approved",
        Outcome::Rejected => "rejected",
        Outcome::Open => "importer-review",
    };
    let status = if c.outcome == Outcome::Open && reviewer.is_none() {
        "brand-review"
    } else {
        status
    };
    for (i, (kind, line_code, qty, unit, claimed, frt)) in lines.iter().enumerate() {
        let ro_line = new_id();
        ro_lines.rows.push(vec![
            V::T(ro_line.clone()),
            V::T(job.clone()),
            V::T(ro.clone()),
            V::T((*kind).into()),
            V::T(line_code.clone()),
            V::T(if *kind == "labour" { correction } else { title }.into()),
            V::I(*qty),
            V::I(*unit),
            // Parts at cost: what the point paid for them (70 % of the price).
            V::I(if *kind == "part" { *unit * 7 / 10 } else { 0 }),
            V::T("warranty".into()),
            V::I(0),
            V::I(at),
        ]);
        let over = *kind == "labour" && c.labour_centi > c.flat_rate_centi;
        let (approved, reason) = match c.outcome {
            Outcome::Approved => (Some(*claimed), None),
            Outcome::PartlyApproved if *kind == "labour" => (
                Some(if over { flat_minor } else { claimed * 9 / 10 }),
                Some("over-flat-rate"),
            ),
            Outcome::PartlyApproved => (Some(*claimed), None),
            Outcome::Rejected | Outcome::Open => (None, None),
        };
        let part = *kind == "part" && approved.is_some();
        let (returned, analysis, pct, recovered) = if part {
            let pct = if c.no_trouble_found || c.repairable {
                0
            } else {
                60 + (n % 5) as i64 * 10
            };
            (
                V::I(1),
                V::T(
                    if c.no_trouble_found {
                        "no-trouble-found"
                    } else if c.repairable {
                        "repairable"
                    } else {
                        "confirmed"
                    }
                    .into(),
                ),
                V::I(pct),
                V::I(approved.unwrap_or(0) * pct / 100),
            )
        } else {
            (V::NullInt, V::NullText, V::NullInt, V::NullInt)
        };
        claim_lines.rows.push(vec![
            V::T(new_id()),
            V::T(claim.clone()),
            V::T(ro_line),
            V::I(i as i64 + 1),
            V::T((*kind).into()),
            V::T(line_code.clone()),
            V::T(if *kind == "labour" { correction } else { title }.into()),
            V::I(*qty),
            V::I(*unit),
            V::I(*claimed),
            frt.map_or(V::NullInt, V::I),
            if over {
                V::T(complaint.into())
            } else {
                V::NullText
            },
            approved.map_or(V::NullInt, V::I),
            reason.map_or(V::NullText, |r| V::T(r.into())),
            returned,
            analysis,
            pct,
            recovered,
        ]);
    }
    claims.rows.push(vec![
        V::T(claim.clone()),
        V::T(format!("WC-{number}-1")),
        V::T(point.clone()),
        reviewer.clone().map_or(V::NullText, V::T),
        V::T(brand.clone()),
        V::T(ro),
        V::T(job),
        V::T(vehicle.clone()),
        V::T(vin.clone()),
        V::T("warranty".into()),
        V::I(c.odometer_km),
        V::T(delivered.to_string()),
        V::T(c.day.to_string()),
        V::T(closed.to_string()),
        V::T(complaint.into()),
        V::T(title.into()),
        V::T(correction.into()),
        V::T("[]".into()),
        if parts_minor > 0 {
            V::T(part_number)
        } else {
            V::NullText
        },
        V::T(c.component.as_str().into()),
        V::T(target.currency.clone()),
        V::T(status.into()),
        V::I(0),
        V::I(at),
        V::I(at),
        V::I(at),
    ]);
    let submitted = if reviewer.is_some() {
        "importer-review"
    } else {
        "brand-review"
    };
    events.rows.push(vec![
        V::T(new_id()),
        V::T(claim.clone()),
        V::I(at),
        V::T("service-point".into()),
        V::T("submit".into()),
        V::T(submitted.into()),
        V::NullText,
    ]);
    let decided = match c.outcome {
        Outcome::Approved => Some(("approve", None)),
        Outcome::PartlyApproved => Some(("approve-partly", None)),
        Outcome::Rejected => Some(("reject", Some("not-covered"))),
        Outcome::Open => None,
    };
    if let Some((action, reason)) = decided {
        events.rows.push(vec![
            V::T(new_id()),
            V::T(claim),
            V::I(at + 86_400_000_000 * 3),
            V::T("brand".into()),
            V::T(action.into()),
            V::T(status.into()),
            reason.map_or(V::NullText, |r| V::T(r.into())),
        ]);
    }
}
