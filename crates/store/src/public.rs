//! The customer's own entries, without an account: the status page of a repair order and the
//! satisfaction survey (each reached by an unguessable token that is the only key), and
//! self-service booking at service points that opted in. Like the contact form (`intake`), these
//! are deliberate exceptions to scoped access: each answers only about its own token or creates
//! a booking, and reveals nothing else.

use aftersales_domain::billing::{rate_bp, vat, TaxCode, TaxRegion};
use aftersales_domain::crm::Phone;
use aftersales_domain::i18n::Language;
use aftersales_domain::money::{line_total, Money};
use aftersales_domain::org::OrgKind;
use aftersales_domain::user::Email;
use aftersales_domain::validation::{text, text_block, FieldError, Rule};
use aftersales_domain::workshop::{AppointmentKind, Approval, LineKind, PayType, RoStatus};
use aftersales_domain::ValidationErrors;
use serde::Serialize;
use time::{Date, Duration, OffsetDateTime};

use crate::crm::{CustomerKind, NewCustomer};
use crate::error::StoreError;
use crate::workshop::{availability_view, Availability, Booked, BookingPlan};
use crate::{from_micros, micros, new_id};

crate::capability!(
    /// The customer's own entries, reached by token: `store.public().status_page(..)`.
    Public, public
);

/// At most this many self-service bookings and web inquiries per client address and hour.
const PUBLIC_LIMIT_PER_HOUR: i64 = crate::cases::intake::WEB_LIMIT_PER_HOUR;
/// Online booking starts this long from now at the earliest.
const LEAD: Duration = Duration::hours(2);
/// How far ahead customers can book online.
const HORIZON: Duration = Duration::days(180);

#[derive(Debug, Clone, Serialize)]
pub struct PublicLine {
    pub description: String,
    /// Hundredths: 240 is 2.4 (hours for labour, pieces otherwise).
    pub quantity_centi: i64,
    /// Labour, counted in hours.
    pub hours: bool,
    /// Excluding VAT.
    pub total: Money,
    /// Including VAT at the market's standard rate.
    pub total_gross: Money,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicJob {
    pub id: String,
    pub title: String,
    pub complaint: String,
    pub approval: Approval,
    pub approval_at: Option<OffsetDateTime>,
    /// The customer's part, excluding VAT.
    pub estimate: Money,
    /// The customer's part, including VAT (what a private customer pays).
    pub estimate_gross: Money,
    pub lines: Vec<PublicLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusPage {
    pub number: String,
    pub status: RoStatus,
    pub service_point: String,
    pub vehicle: Option<String>,
    pub language: Language,
    pub eta: Option<OffsetDateTime>,
    pub appointment: Option<(OffsetDateTime, OffsetDateTime, AppointmentKind)>,
    /// Status changes, oldest first.
    pub timeline: Vec<(OffsetDateTime, RoStatus)>,
    pub jobs: Vec<PublicJob>,
    /// The survey token, once delivered and not yet answered.
    pub survey: Option<String>,
    /// The customer is a business (sees amounts without VAT as well as with it).
    pub business: bool,
    /// Invoices and credit notes issued to the customer for this order: (number, link, total).
    pub documents: Vec<(String, String, aftersales_domain::money::Money)>,
    #[serde(skip)]
    pub zone: aftersales_domain::calendar::Zone,
    /// The car's pickup and delivery: what, where it stands, the promised window, and while the
    /// driver is on the way the window of arrival as the plan now expects it.
    pub transport: Vec<PublicTransport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicTransport {
    pub kind: aftersales_domain::logistics::JobKind,
    pub status: aftersales_domain::logistics::JobStatus,
    pub window: (OffsetDateTime, OffsetDateTime),
    pub arriving: Option<(OffsetDateTime, OffsetDateTime)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SurveyPage {
    pub number: String,
    pub service_point: String,
    pub language: Language,
    pub answered: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BookableOperation {
    pub code: String,
    pub description: String,
    /// The name in other languages, by language code.
    pub names: aftersales_domain::i18n::LocalNames,
    pub hours: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BookingPoint {
    pub id: String,
    pub name: String,
    pub city: Option<String>,
    pub brand: String,
    pub operations: Vec<BookableOperation>,
}

/// What a customer types into the booking page.
#[derive(Debug, Clone, Default)]
pub struct SelfBooking {
    pub service_point: String,
    pub operation: String,
    pub starts_at: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub registration: String,
    pub message: String,
    /// The car is picked up at the customer's address in the two hours before the appointment.
    pub pickup: bool,
    pub address: String,
    /// Where the customer is, when their browser shared it; else the pickup is flagged for the advisor.
    pub latitude: String,
    pub longitude: String,
}

/// How long before the appointment a pickup window opens, and when it closes.
const PICKUP_LEAD: (Duration, Duration) = (Duration::hours(2), Duration::minutes(15));

/// id, number, status, service point, vehicle, language, ETA, appointment, organisation,
/// customer kind, currency, time zone
type OrderHead = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<i64>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
);

impl Public<'_> {
    pub(crate) async fn ro_by_token(
        self,
        token: &str,
    ) -> Result<
        (
            String,
            String,
            String,
            String,
            Option<String>,
            String,
            Option<i64>,
            Option<String>,
        ),
        StoreError,
    > {
        let h = self.order_head(token).await?;
        Ok((h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7))
    }

    /// The order behind a status-page link with everything one row away (service point,
    /// customer, market) in one query: a status page is opened by every customer with a link, so
    /// it costs few round trips (issue 21).
    async fn order_head(self, token: &str) -> Result<OrderHead, StoreError> {
        if token.len() < 20 || token.len() > 64 {
            return Err(StoreError::NotFound);
        }
        let row: Option<OrderHead> = sqlx::query_as(
            "SELECT r.id, r.number, r.status, o.name, CASE WHEN v.id IS NULL THEN NULL ELSE COALESCE(v.model, 'Vehicle') || ' ' || COALESCE(v.registration, v.vin) END, \
             c.language, r.eta, r.appointment_id, r.organisation_id, c.kind, m.currency, m.time_zone \
             FROM repair_orders r JOIN organisations o ON o.id = r.organisation_id JOIN customers c ON c.id = r.customer_id \
             LEFT JOIN vehicles v ON v.id = r.vehicle_id LEFT JOIN markets m ON m.id = o.market_id WHERE r.public_token = $1",
        )
        .bind(token)
        .fetch_optional(&self.store.pool)
        .await?;
        row.ok_or(StoreError::NotFound)
    }

    /// The customer's view of a repair order: status, timeline, ETA, and the estimate of work
    /// waiting for their decision. Internal notes, costs and staff names stay out.
    pub async fn status_page(self, token: &str) -> Result<StatusPage, StoreError> {
        let (id, number, status, sp, vehicle, lang, eta, appointment, org, kind, currency, tz) =
            self.order_head(token).await?;
        // The lists the order owns, side by side.
        let currency = currency.unwrap_or_else(|| "NOK".into());
        let zone = match tz {
            Some(t) => crate::decode(
                "markets",
                "time_zone",
                &t,
                aftersales_domain::calendar::Zone::parse,
            )?,
            None => aftersales_domain::calendar::Zone::OSLO,
        };
        let pool = &self.store.pool;
        let timeline = async {
            sqlx::query_as::<_, (i64, String)>("SELECT at, status FROM ro_events WHERE repair_order_id = $1 AND kind = 'status' ORDER BY at, id")
                .bind(&id)
                .fetch_all(pool)
                .await
                .map_err(StoreError::from)
        };
        let jobs = async {
            sqlx::query_as::<_, (String, String, String, String, Option<i64>)>(
                "SELECT id, title, complaint, approval, approval_at FROM ro_jobs WHERE repair_order_id = $1 ORDER BY position",
            )
            .bind(&id)
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)
        };
        let lines = async {
            sqlx::query_as::<_, (String, String, i64, i64, String, String)>(
                "SELECT job_id, description, quantity_centi, unit_price_minor, pay_type, kind FROM ro_lines WHERE repair_order_id = $1 ORDER BY created_at, id",
            )
            .bind(&id)
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)
        };
        let app = async {
            match &appointment {
                Some(a) => sqlx::query_as::<_, (i64, i64, String)>(
                    "SELECT starts_at, ends_at, kind FROM appointments WHERE id = $1",
                )
                .bind(a)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::from),
                None => Ok(None),
            }
        };
        let survey = async {
            sqlx::query_scalar::<_, String>(
                "SELECT token FROM surveys WHERE repair_order_id = $1 AND answered_at IS NULL",
            )
            .bind(&id)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::from)
        };
        let (timeline, jobs, lines, app, survey, documents, entity) = tokio::try_join!(
            timeline,
            jobs,
            lines,
            app,
            survey,
            self.store.billing().ro_documents(&id),
            self.store.billing().entity_for(&org),
        )?;
        // Work is invoiced at the standard rate of the region the legal entity invoices in.
        let region = match entity {
            Some(e) => e.region,
            None if currency == "EUR" => TaxRegion::Mainland,
            None => TaxRegion::Norway,
        };
        let rate = rate_bp(region, TaxCode::Standard);
        let gross = |net: i64| net + vat(net, rate);
        let mut transport = Vec::new();
        for j in self
            .store
            .logistics()
            .jobs_where(
                "j.repair_order_id = $1 AND j.status <> 'cancelled'",
                &[id.as_str()],
            )
            .await?
        {
            let j = j.job;
            let arriving = match (j.status, j.on_the_way_at) {
                (aftersales_domain::logistics::JobStatus::OnTheWay, Some(left)) => {
                    Some(self.store.logistics().arrival(&j.id, left).await?)
                }
                _ => None,
            };
            transport.push(PublicTransport {
                kind: j.kind,
                status: j.status,
                window: (j.window_from, j.window_to),
                arriving,
            });
        }
        Ok(StatusPage {
            transport,
            business: kind == "company",
            documents,
            number,
            status: crate::decode("repair_orders", "status", &status, RoStatus::parse)?,
            service_point: sp,
            vehicle,
            language: Language::from_tag(&lang).unwrap_or(Language::En),
            eta: eta.map(from_micros),
            appointment: app
                .map(|(s, e, k)| {
                    crate::decode("appointments", "kind", &k, AppointmentKind::parse)
                        .map(|k| (from_micros(s), from_micros(e), k))
                })
                .transpose()?,
            timeline: timeline
                .into_iter()
                .map(|(at, s)| {
                    Ok((
                        from_micros(at),
                        crate::decode("ro_events", "status", &s, RoStatus::parse)?,
                    ))
                })
                .collect::<Result<_, StoreError>>()?,
            jobs: jobs
                .into_iter()
                .map(|(jid, title, complaint, approval, at)| {
                    let mine: Vec<&(String, String, i64, i64, String, String)> = lines
                        .iter()
                        .filter(|l| l.0 == jid && l.4 == PayType::Customer.as_str())
                        .collect();
                    let estimate: i64 = mine.iter().map(|l| line_total(l.3, l.2)).sum();
                    Ok(PublicJob {
                        lines: mine
                            .iter()
                            .map(|l| PublicLine {
                                description: l.1.clone(),
                                quantity_centi: l.2,
                                hours: l.5 == LineKind::Labour.as_str(),
                                total: Money::new(line_total(l.3, l.2), &currency),
                                total_gross: Money::new(gross(line_total(l.3, l.2)), &currency),
                            })
                            .collect(),
                        estimate: Money::new(estimate, &currency),
                        estimate_gross: Money::new(gross(estimate), &currency),
                        id: jid,
                        title,
                        complaint,
                        approval: crate::decode("ro_jobs", "approval", &approval, Approval::parse)?,
                        approval_at: at.map(from_micros),
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            survey,
            zone,
        })
    }

    /// The customer approves or declines added work on their status page; time and channel are recorded.
    pub async fn decide_on_status_page(
        self,
        token: &str,
        job_id: &str,
        approve: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (id, _, status, ..) = self.ro_by_token(token).await?;
        self.store
            .workshop()
            .decide(
                &id,
                &status,
                job_id,
                approve,
                crate::workshop::Decider::Customer,
                now,
            )
            .await
    }

    pub async fn survey(self, token: &str) -> Result<SurveyPage, StoreError> {
        if token.len() < 20 || token.len() > 64 {
            return Err(StoreError::NotFound);
        }
        let r: Option<(String, String, String, Option<i64>)> = sqlx::query_as(
            "SELECT r.number, o.name, s.language, s.answered_at FROM surveys s JOIN repair_orders r ON r.id = s.repair_order_id JOIN organisations o ON o.id = s.organisation_id WHERE s.token = $1",
        )
        .bind(token)
        .fetch_optional(&self.store.pool)
        .await?;
        let (number, service_point, lang, answered) = r.ok_or(StoreError::NotFound)?;
        Ok(SurveyPage {
            number,
            service_point,
            language: Language::from_tag(&lang).unwrap_or(Language::En),
            answered: answered.is_some(),
        })
    }

    /// Stores one answer per survey: CSAT 1–5, NPS 0–10, optional words.
    pub async fn answer_survey(
        self,
        token: &str,
        csat: &str,
        nps: &str,
        comment: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.survey(token).await?;
        let mut errs = ValidationErrors::default();
        let csat = match csat.trim().parse::<i64>() {
            Ok(v) if (1..=5).contains(&v) => Some(v),
            _ => {
                errs.push(FieldError::new(
                    "csat",
                    Rule::OneOf,
                    "csat must be a whole number from 1 to 5",
                ));
                None
            }
        };
        let nps = match nps.trim().parse::<i64>() {
            Ok(v) if (0..=10).contains(&v) => Some(v),
            _ => {
                errs.push(FieldError::new(
                    "nps",
                    Rule::OneOf,
                    "nps must be a whole number from 0 to 10",
                ));
                None
            }
        };
        let comment = if comment.trim().is_empty() {
            None
        } else {
            errs.take(text_block("comment", comment, 1, 5000))
        };
        errs.into_result()?;
        let done = sqlx::query("UPDATE surveys SET csat = $1, nps = $2, comment = $3, answered_at = $4 WHERE token = $5 AND answered_at IS NULL")
            .bind(csat)
            .bind(nps)
            .bind(comment)
            .bind(micros(now))
            .bind(token)
            .execute(&self.store.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(ValidationErrors::single(
                "csat",
                Rule::NotAllowed,
                "this survey was already answered",
            )
            .into());
        }
        Ok(())
    }

    /// Service points that take online bookings, with the operations customers may book.
    pub async fn public_booking_points(self) -> Result<Vec<BookingPoint>, StoreError> {
        let rows: Vec<(String, String, Option<String>, String)> = sqlx::query_as(
            "SELECT o.id, o.name, o.city, b.name FROM workshop_settings w JOIN organisations o ON o.id = w.organisation_id JOIN brands b ON b.id = o.brand_id \
             WHERE w.self_booking = 1 AND o.kind = 'service-point' ORDER BY b.name, o.name",
        )
        .fetch_all(&self.store.pool)
        .await?;
        let mut out = Vec::new();
        for (id, name, city, brand) in rows {
            let operations = self
                .public_operations(&id)
                .await?
                .into_iter()
                .map(|o| BookableOperation {
                    code: o.code,
                    description: o.description,
                    names: o.names,
                    hours: o.hours,
                })
                .collect();
            out.push(BookingPoint {
                id,
                name,
                city,
                brand,
                operations,
            });
        }
        Ok(out)
    }

    pub(crate) async fn public_operations(
        self,
        org: &str,
    ) -> Result<Vec<crate::workshop::LabourOperation>, StoreError> {
        Ok(self
            .store
            .workshop()
            .operations_at(org)
            .await?
            .into_iter()
            .filter(|o| o.bookable)
            .collect())
    }

    pub(crate) async fn bookable(self, org: &str, op: &str) -> Result<bool, StoreError> {
        let on: Option<i64> = sqlx::query_scalar("SELECT w.self_booking FROM workshop_settings w JOIN organisations o ON o.id = w.organisation_id WHERE w.organisation_id = $1 AND o.kind = $2")
            .bind(org)
            .bind(OrgKind::ServicePoint.as_str())
            .fetch_optional(&self.store.pool)
            .await?;
        Ok(on == Some(1)
            && self
                .public_operations(org)
                .await?
                .iter()
                .any(|o| o.code.eq_ignore_ascii_case(op)))
    }

    /// Free starts for one bookable operation on one day, without staff names.
    pub async fn public_availability(
        self,
        org: &str,
        op: &str,
        date: Date,
        now: OffsetDateTime,
    ) -> Result<Availability, StoreError> {
        if !self.bookable(org, op).await? {
            return Err(ValidationErrors::single(
                "operation",
                Rule::OneOf,
                "choose one of the listed services",
            )
            .into());
        }
        let today = self.store.org().zone_of(org).await?.local(now).date();
        aftersales_domain::validation::date_between("date", date, today, today + HORIZON)
            .map_err(ValidationErrors::from)?;
        let (need, _) = self
            .store
            .workshop()
            .need_for(org, &[op.to_string()], AppointmentKind::Workshop)
            .await?;
        let (_, slots, _) = self
            .store
            .workshop()
            .day_slots(org, date, &need, now + LEAD, None, None)
            .await?;
        Ok(availability_view(date, &need, slots, None))
    }

    /// Books online: validates, limits per client address, links the customer when every
    /// contact given belongs to one known customer (else records a new one), and books the slot
    /// like an advisor would. Answers with the booking, and with the status-page token only when
    /// the booking made a new customer; the confirmation goes by e-mail.
    pub async fn book_self_service(
        self,
        b: &SelfBooking,
        lang: Language,
        ip: &str,
        now: OffsetDateTime,
    ) -> Result<(Booked, Option<String>), StoreError> {
        let recent: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM public_submissions WHERE ip = $1 AND at > $2")
                .bind(ip)
                .bind(micros(now - Duration::hours(1)))
                .fetch_one(&self.store.pool)
                .await?;
        if recent >= PUBLIC_LIMIT_PER_HOUR {
            return Err(StoreError::Forbidden(
                "too many bookings from this address; please try again in an hour or call us"
                    .into(),
            ));
        }
        let org = b.service_point.trim();
        let mut errs = ValidationErrors::default();
        let bookable = self.bookable(org, b.operation.trim()).await?;
        if !bookable {
            errs.push(FieldError::new(
                "operation",
                Rule::OneOf,
                "choose one of the listed services",
            ));
        }
        let start = errs.take(crate::workshop::parse_instant("starts_at", &b.starts_at));
        if let Some(s) = start {
            if s < now + LEAD {
                errs.push(FieldError::new(
                    "starts_at",
                    Rule::NotAllowed,
                    "online bookings start two hours from now at the earliest",
                ));
            } else if s > now + HORIZON {
                errs.push(FieldError::new(
                    "starts_at",
                    Rule::NotAllowed,
                    "online bookings reach 180 days ahead at most",
                ));
            }
        }
        let name = errs.take(text("name", &b.name, 2, 200));
        let email = errs.take(Email::parse("email", &b.email));
        let country: Option<String> = sqlx::query_scalar("SELECT m.code FROM organisations o JOIN markets m ON m.id = o.market_id WHERE o.id = $1")
            .bind(org)
            .fetch_optional(&self.store.pool)
            .await?;
        let country = country.unwrap_or_else(|| "NO".into());
        let phone = Some(b.phone.trim())
            .filter(|p| !p.is_empty())
            .and_then(|p| {
                errs.take(Phone::parse(
                    "phone",
                    p,
                    crate::crm::calling_code(&country).unwrap_or(""),
                ))
            });
        let registration = Some(b.registration.trim())
            .filter(|r| !r.is_empty())
            .and_then(|r| errs.take(crate::crm::registration("registration", r)));
        let message = Some(b.message.trim())
            .filter(|m| !m.is_empty())
            .and_then(|m| errs.take(text_block("message", m, 2, 2000)));
        let pickup = if b.pickup {
            let address = errs.take(
                text("address", &b.address, 3, 300).map_err(|e| e.hint("book-address-required")),
            );
            let place = match (b.latitude.trim(), b.longitude.trim()) {
                ("", "") => None,
                (a, o) => errs.take(aftersales_domain::logistics::parse_place(a, o)),
            };
            Some((address, place))
        } else {
            None
        };
        errs.into_result()?;
        let (Some(start), Some(name), Some(email)) = (start, name, email) else {
            return Err(StoreError::Internal(
                "validated booking lost a field".into(),
            ));
        };
        // A pickup is offered only where drivers are planned, and only when the day's plan can
        // still serve it; an address without a place is taken and flagged for the advisor.
        let window = (start - PICKUP_LEAD.0, start - PICKUP_LEAD.1);
        if let Some((_, place)) = &pickup {
            if let Some(why) = self
                .store
                .logistics()
                .pickup_blocked(org, window, *place, now)
                .await?
            {
                return Err(ValidationErrors(vec![FieldError::new(
                    "pickup",
                    Rule::NotAllowed,
                    format!("no driver can pick the car up before this time ({})", why.0),
                )
                .hint(why.1)])
                .into());
            }
        }
        let mut matches = Vec::new();
        for handle in [
            Some(email.as_str().to_string()),
            phone.as_ref().map(|p| p.as_str().to_string()),
        ]
        .into_iter()
        .flatten()
        {
            matches.push(
                self.store
                    .cases()
                    .store
                    .cases()
                    .customer_for_intake(org, &handle)
                    .await?,
            );
        }
        // Every valid attempt counts towards the limit, booked or not.
        sqlx::query(
            "INSERT INTO public_submissions (id, ip, at, case_id) VALUES ($1, $2, $3, NULL)",
        )
        .bind(new_id())
        .bind(ip)
        .bind(micros(now))
        .execute(&self.store.pool)
        .await?;
        let (need, ops) = self
            .store
            .workshop()
            .need_for(
                org,
                &[b.operation.trim().to_string()],
                AppointmentKind::Workshop,
            )
            .await?;
        // Nobody is recorded for a time that is not free.
        let local_date = self.store.org().zone_of(org).await?.local(start).date();
        let (_, free, _) = self
            .store
            .workshop()
            .day_slots(org, local_date, &need, now + LEAD, None, None)
            .await?;
        if !free.is_ok_and(|f| f.iter().any(|s| s.starts_at() == start)) {
            return Err(StoreError::Taken(
                "starts_at: this time is not free; choose another".into(),
            ));
        }
        let known = match matches.first() {
            Some(Some(first))
                if matches
                    .iter()
                    .all(|m| m.as_ref().map(|c| &c.0) == Some(&first.0)) =>
            {
                Some(first.0.clone())
            }
            _ => None,
        };
        let known_customer = known.is_some();
        let customer_id = match known {
            Some(id) => id,
            None => {
                let owner = self.crm_owner(org).await?;
                let mut conn = self.store.pool.acquire().await?;
                crate::crm::insert_customer(
                    &mut conn,
                    self.store.engine(),
                    &owner,
                    &NewCustomer {
                        kind: CustomerKind::Person,
                        name: name.clone(),
                        org_number: None,
                        nif: None,
                        email: Some(email.clone()),
                        phone: phone.clone(),
                        language: lang,
                        preferred_channel: crate::crm::Channel::Email,
                        street: None,
                        postal_code: None,
                        city: None,
                        country: country.clone(),
                        position: None,
                    },
                    now,
                )
                .await?
            }
        };
        let vehicle_id: Option<String> = match &registration {
            Some(reg) => sqlx::query_scalar(
                "SELECT v.id FROM vehicles v JOIN vehicle_ownerships w ON w.vehicle_id = v.id AND w.to_date IS NULL WHERE v.registration = $1 AND w.customer_id = $2",
            )
            .bind(reg)
            .bind(&customer_id)
            .fetch_optional(&self.store.pool)
            .await?,
            None => None,
        };
        let mut complaint = message.unwrap_or_default();
        if let (Some(reg), None) = (&registration, &vehicle_id) {
            complaint = format!("{complaint}\n(Vehicle given online: {reg})")
                .trim()
                .to_string();
        }
        let booked = self
            .store
            .workshop()
            .book_slot(
                &BookingPlan {
                    org,
                    kind: AppointmentKind::Workshop,
                    start,
                    need: &need,
                    ops: &ops,
                    customer_id: &customer_id,
                    vehicle_id: vehicle_id.as_deref(),
                    case_id: None,
                    address: None,
                    complaint: Some(complaint.as_str()).filter(|c| !c.is_empty()),
                    technician: None,
                    source: "self-service",
                    actor: None,
                },
                now,
            )
            .await?;
        if let Some((Some(address), place)) = &pickup {
            let zone = self.store.org().zone_of(org).await?;
            let day = zone.local(window.0).date().to_string();
            self.store
                .logistics()
                .write_job(
                    &crate::logistics::NewJob {
                        org,
                        repair_order: &booked.repair_order_id,
                        kind: aftersales_domain::logistics::JobKind::Pickup,
                        day: &day,
                        address,
                        coords: place
                            .map(|p| ((p.lat * 1e6).round() as i64, (p.lon * 1e6).round() as i64)),
                        window,
                        loaner: None,
                        clean: false,
                        actor: None,
                    },
                    now,
                )
                .await?;
        }
        // The status page is shown to the person at the form only when the booking made a new
        // customer record; a booking linked to a known customer by their e-mail could be typed by
        // anyone, so its link goes to that customer's mailbox only.
        let token: Option<String> = if known_customer {
            None
        } else {
            Some(
                sqlx::query_scalar("SELECT public_token FROM repair_orders WHERE id = $1")
                    .bind(&booked.repair_order_id)
                    .fetch_one(&self.store.pool)
                    .await?,
            )
        };
        Ok((booked, token))
    }

    /// Where a service point's customers are kept: its nearest market entity (or itself).
    pub(crate) async fn crm_owner(self, org: &str) -> Result<String, StoreError> {
        for o in self.store.org().lineage(org).await? {
            let kind: Option<String> =
                sqlx::query_scalar("SELECT kind FROM organisations WHERE id = $1")
                    .bind(&o)
                    .fetch_optional(&self.store.pool)
                    .await?;
            if kind.as_deref() == Some(OrgKind::MarketEntity.as_str()) {
                return Ok(o);
            }
        }
        Ok(org.to_string())
    }
}
