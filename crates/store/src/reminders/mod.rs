//! Service reminders (capability reminders): maintenance schedules as data (a brand's service
//! items at its headquarters, a market's legal inspections at the market), when each vehicle is
//! next due (`domain::reminders` does the arithmetic), the advisor's list of who is due,
//! maintenance recorded when done elsewhere, and seasonal campaigns. The server's reminder run
//! (`Cli::send_reminders`) tells customers through the outbox, each due date once, with consent
//! respected: service reminders unless the customer declined service messages on the channel,
//! campaigns only to customers who agreed to offers on it.
//! Campaigns (created, listed, withdrawn, sent) are in campaigns.rs.

mod campaigns;
use campaigns::send_campaigns;

use std::collections::{BTreeMap, HashMap};

use aftersales_domain::i18n::Language;
use aftersales_domain::notify::Event;
use aftersales_domain::org::Permission;
use aftersales_domain::reminders::{standing, Interval, ItemKind, Usage};
use aftersales_domain::validation::{text, text_block, FieldError, Rule};
use aftersales_domain::ValidationErrors;
use time::{Date, Duration, OffsetDateTime};

use crate::billing::format_date;
use crate::crm::parse_date;
use crate::db::{placeholders, Write};
use crate::error::StoreError;
use crate::notify::{enqueue, Addressee, Notice};
use crate::scope::Scope;
use crate::{from_micros, micros, new_id, Ref};
pub use aftersales_api_types::reminders::{
    Campaign, CampaignInput, DueItem, MaintenanceInput, ScheduleInput, ScheduleItem, Texts,
};

crate::capability!(
    /// Service reminders and campaigns: `store.reminders().due(..)`.
    Reminders, reminders
);

const SCHEDULE_SELECT: &str = "SELECT s.id, s.organisation_id, o.name, s.code, s.kind, s.model, s.name_nb, s.name_en, s.name_pt, \
    s.first_months, s.every_months, s.every_km, s.later_from_months, s.later_every_months, s.operation_code, s.remind_days \
    FROM service_schedules s JOIN organisations o ON o.id = s.organisation_id";

type ScheduleRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    i64,
);

fn months(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

fn schedule_of(r: ScheduleRow) -> Result<ScheduleItem, StoreError> {
    Ok(ScheduleItem {
        id: r.0,
        organisation: Ref {
            id: r.1,
            label: r.2,
        },
        code: r.3,
        kind: crate::decode("service_schedules", "kind", &r.4, ItemKind::parse)?,
        model: r.5,
        name: Texts {
            nb: r.6,
            en: r.7,
            pt: r.8,
        },
        interval: Interval {
            first_months: months(r.9),
            every_months: months(r.10),
            every_km: r.11.map(months),
            later_from_months: r.12.map(months),
            later_every_months: r.13.map(months),
        },
        operation_code: r.14,
        remind_days: months(r.15),
    })
}

/// A vehicle with what decides its due items.
struct VehicleFacts {
    id: String,
    org: String,
    vin: String,
    registration: Option<String>,
    model: Option<String>,
    delivered: Option<Date>,
    customer: Option<Ref>,
}

/// A due item with what the reminder run needs besides what the list shows.
struct Found {
    item: DueItem,
    remind_days: u32,
    /// What the reminder is sent once for (`cycle_key`).
    cycle: String,
    customer_id: Option<String>,
    /// The organisation that speaks to the customer: where the car was last in the workshop,
    /// else the vehicle's owner organisation.
    sender: String,
}

/// The schedule items of a vehicle: those of its owner and the organisations above, of its
/// model or of every model; where two share a code, the nearest organisation's (a market's own
/// rule replaces the brand's).
fn applicable<'a>(
    schedules: &'a [ScheduleItem],
    lineage: &[String],
    model: Option<&str>,
) -> Vec<&'a ScheduleItem> {
    let depth = |s: &ScheduleItem| lineage.iter().position(|o| *o == s.organisation.id);
    let mut out: Vec<&ScheduleItem> = Vec::new();
    for s in schedules.iter().filter(|s| {
        depth(s).is_some()
            && s.model
                .as_deref()
                .is_none_or(|m| model.is_some_and(|vm| vm.eq_ignore_ascii_case(m)))
    }) {
        match out.iter().position(|o| o.code == s.code) {
            Some(i) if depth(s) < depth(out[i]) => out[i] = s,
            Some(_) => {}
            None => out.push(s),
        }
    }
    out
}

/// What a reminder is sent once for: a service item's cycle (counted from when it was last done,
/// or delivery; a due date reached by km moves with every reading), an inspection's deadline.
fn cycle_key(
    kind: ItemKind,
    delivered: Date,
    last: Option<(Date, Option<u32>)>,
    due: Date,
) -> String {
    match kind {
        ItemKind::Service => format_date(last.map(|(d, _)| d).unwrap_or(delivered)),
        ItemKind::Inspection => format_date(due),
    }
}

impl Reminders<'_> {
    /// The schedule items that apply at an organisation: its own and those above it.
    pub async fn schedules(
        self,
        scope: &Scope,
        org_id: &str,
    ) -> Result<Vec<ScheduleItem>, StoreError> {
        scope.require(org_id, Permission::OrgRead)?;
        let lineage = self.store.org().lineage(org_id).await?;
        let sql = format!(
            "{SCHEDULE_SELECT} WHERE s.organisation_id IN ({}) ORDER BY s.kind, s.code",
            placeholders(1, lineage.len())
        );
        let mut q = sqlx::query_as::<_, ScheduleRow>(&sql);
        for o in &lineage {
            q = q.bind(o);
        }
        q.fetch_all(&self.store.pool)
            .await?
            .into_iter()
            .map(schedule_of)
            .collect()
    }

    /// Writes a schedule item at a brand's headquarters or a market (people who set up the
    /// workshop there): new, or changed under the same code.
    pub async fn set_schedule(
        self,
        scope: &Scope,
        org_id: &str,
        code: &str,
        input: &ScheduleInput,
        now: OffsetDateTime,
    ) -> Result<ScheduleItem, StoreError> {
        scope.require(org_id, Permission::WorkshopManage)?;
        let mut errs = ValidationErrors::default();
        let code = errs.take(text("code", code, 2, 40).and_then(|c| {
            if c.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
            {
                Ok(c)
            } else {
                Err(FieldError::new(
                    "code",
                    Rule::Format,
                    "code must be lower-case letters, digits and hyphens",
                ))
            }
        }));
        let kind = errs.take(ItemKind::parse("kind", &input.kind));
        let names = [
            ("name.nb", &input.name.nb),
            ("name.en", &input.name.en),
            ("name.pt", &input.name.pt),
        ]
        .map(|(f, v)| errs.take(text(f, v, 2, 120)));
        let model = input
            .model
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_string);
        let operation = input
            .operation_code
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_string);
        let remind_days = input.remind_days.unwrap_or(30);
        if !(1..=120).contains(&remind_days) {
            errs.push(FieldError::new(
                "remind_days",
                Rule::NotAllowed,
                "remind_days must lie between 1 and 120",
            ));
        }
        let interval = Interval {
            first_months: input.first_months,
            every_months: input.every_months,
            every_km: input.every_km,
            later_from_months: input.later_from_months,
            later_every_months: input.later_every_months,
        };
        if let Some(k) = kind {
            if let Err(e) = interval.check(k) {
                errs.0.extend(e.0);
            }
        }
        errs.clone().into_result()?;
        let (Some(code), Some(kind), [Some(nb), Some(en), Some(pt)]) = (code, kind, names) else {
            return Err(errs.into());
        };
        // One statement, new or changed: two writers of the same code cannot collide.
        sqlx::query(
            "INSERT INTO service_schedules (id, organisation_id, code, kind, model, name_nb, name_en, name_pt, first_months, \
             every_months, every_km, later_from_months, later_every_months, operation_code, remind_days, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT (organisation_id, code) DO UPDATE SET kind = excluded.kind, model = excluded.model, \
             name_nb = excluded.name_nb, name_en = excluded.name_en, name_pt = excluded.name_pt, \
             first_months = excluded.first_months, every_months = excluded.every_months, every_km = excluded.every_km, \
             later_from_months = excluded.later_from_months, later_every_months = excluded.later_every_months, \
             operation_code = excluded.operation_code, remind_days = excluded.remind_days, updated_at = excluded.updated_at",
        )
        .bind(new_id())
        .bind(org_id)
        .bind(&code)
        .bind(kind.as_str())
        .bind(&model)
        .bind(&nb)
        .bind(&en)
        .bind(&pt)
        .bind(i64::from(interval.first_months))
        .bind(i64::from(interval.every_months))
        .bind(interval.every_km.map(i64::from))
        .bind(interval.later_from_months.map(i64::from))
        .bind(interval.later_every_months.map(i64::from))
        .bind(&operation)
        .bind(i64::from(remind_days))
        .bind(micros(now))
        .write(self.store)
        .await?;
        let row = sqlx::query_as::<_, ScheduleRow>(&format!(
            "{SCHEDULE_SELECT} WHERE s.organisation_id = $1 AND s.code = $2"
        ))
        .bind(org_id)
        .bind(&code)
        .fetch_one(&self.store.pool)
        .await?;
        schedule_of(row)
    }

    /// Who is due: every vehicle the caller's service points look after with an item due within
    /// `days` (or overdue), soonest first. For advisors, service managers and market managers.
    pub async fn due(
        self,
        scope: &Scope,
        days: u32,
        now: OffsetDateTime,
    ) -> Result<Vec<DueItem>, StoreError> {
        let mut owners = scope.record_owners_with(Permission::WorkshopPlan);
        for o in scope.record_owners_with(Permission::NotifyManage) {
            if !owners.contains(&o) {
                owners.push(o);
            }
        }
        if owners.is_empty() {
            scope.require_somewhere(Permission::WorkshopPlan)?;
        }
        let today = now.date();
        let horizon = today + Duration::days(i64::from(days.min(366)));
        Ok(self
            .find(&owners, None, today)
            .await?
            .into_iter()
            .map(|f| f.item)
            .filter(|i| i.due_on <= horizon)
            .collect())
    }

    /// Every item of one vehicle, due or not (the vehicle page).
    pub async fn due_for_vehicle(
        self,
        scope: &Scope,
        vehicle_id: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<DueItem>, StoreError> {
        let owner: Option<String> =
            sqlx::query_scalar("SELECT organisation_id FROM vehicles WHERE id = $1")
                .bind(vehicle_id)
                .fetch_optional(&self.store.pool)
                .await?;
        let owner = owner.ok_or(StoreError::NotFound)?;
        scope.require_record(&owner, Permission::CrmRead)?;
        Ok(self
            .find(&[owner], Some(vehicle_id), now.date())
            .await?
            .into_iter()
            .map(|f| f.item)
            .collect())
    }

    /// Records maintenance done outside our repair orders (an inspection at a test station, a
    /// service elsewhere): the next due date counts from it.
    pub async fn record_maintenance(
        self,
        scope: &Scope,
        vehicle_id: &str,
        input: &MaintenanceInput,
        now: OffsetDateTime,
    ) -> Result<Vec<DueItem>, StoreError> {
        let owner: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT organisation_id, delivery_date FROM vehicles WHERE id = $1")
                .bind(vehicle_id)
                .fetch_optional(&self.store.pool)
                .await?;
        let (owner, delivered) = owner.ok_or(StoreError::NotFound)?;
        scope.require_record(&owner, Permission::CrmWrite)?;
        // The owner's calendar day: the form offers the reader's today.
        let today = self.store.org().zone_of(&owner).await?.local(now).date();
        let mut errs = ValidationErrors::default();
        let done_on = errs.take(parse_date("done_on", &input.done_on).and_then(|d| {
            let earliest = delivered
                .as_deref()
                .and_then(|s| parse_date("delivery_date", s).ok())
                .unwrap_or(Date::MIN);
            aftersales_domain::validation::date_between("done_on", d, earliest, today)
        }));
        if input.km.is_some_and(|k| k > 2_000_000) {
            errs.push(FieldError::new(
                "km",
                Rule::Format,
                "km must be a whole number from 0 to 2000000",
            ));
        }
        let lineage = self.store.org().lineage(&owner).await?;
        let schedule: Option<String> =
            sqlx::query_scalar("SELECT organisation_id FROM service_schedules WHERE id = $1")
                .bind(&input.schedule_id)
                .fetch_optional(&self.store.pool)
                .await?;
        if !schedule.is_some_and(|o| lineage.contains(&o)) {
            errs.push(FieldError::new(
                "schedule_id",
                Rule::Unknown,
                "schedule_id is no schedule item of this vehicle",
            ));
        }
        errs.clone().into_result()?;
        let Some(done_on) = done_on else {
            return Err(errs.into());
        };
        sqlx::query("INSERT INTO maintenance_records (id, vehicle_id, schedule_id, done_on, km, recorded_by, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(new_id())
            .bind(vehicle_id)
            .bind(&input.schedule_id)
            .bind(format_date(done_on))
            .bind(input.km.map(i64::from))
            .bind(scope.user_id())
            .bind(micros(now))
            .write(self.store)
            .await?;
        self.due_for_vehicle(scope, vehicle_id, now).await
    }

    /// Each applicable schedule item of each vehicle owned at `owners` (or the one vehicle).
    async fn find(
        self,
        owners: &[String],
        only: Option<&str>,
        today: Date,
    ) -> Result<Vec<Found>, StoreError> {
        if owners.is_empty() {
            return Ok(Vec::new());
        }
        let pool = &self.store.pool;
        let in_owners = placeholders(1, owners.len());
        let one = only.map(|_| format!(" AND v.id = ${}", owners.len() + 1));
        let where_v = format!(
            "v.organisation_id IN ({in_owners}){}",
            one.as_deref().unwrap_or("")
        );
        // Every query reads the same vehicles: owned at `owners` (or the one vehicle).
        macro_rules! fetch {
            ($t:ty, $sql:expr $(, $extra:expr)?) => {{
                let sql: String = $sql;
                let mut q = sqlx::query_as::<_, $t>(&sql);
                for o in owners {
                    q = q.bind(o);
                }
                if let Some(v) = only {
                    q = q.bind(v);
                }
                $(q = q.bind($extra);)?
                q.fetch_all(pool).await?
            }};
        }
        type VRow = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let vehicles: Vec<VRow> = fetch!(VRow, format!(
            "SELECT v.id, v.organisation_id, v.vin, v.registration, v.model, v.delivery_date, c.id, c.name \
             FROM vehicles v LEFT JOIN vehicle_ownerships w ON w.vehicle_id = v.id AND w.to_date IS NULL \
             LEFT JOIN customers c ON c.id = w.customer_id AND c.erased_at IS NULL \
             WHERE {where_v} ORDER BY v.id"
        ));
        let vehicles: Vec<VehicleFacts> = vehicles
            .into_iter()
            .map(|r| VehicleFacts {
                id: r.0,
                org: r.1,
                vin: r.2,
                registration: r.3,
                model: r.4,
                delivered: r
                    .5
                    .as_deref()
                    .and_then(|d| parse_date("delivery_date", d).ok()),
                customer: r.6.zip(r.7).map(|(id, label)| Ref { id, label }),
            })
            .collect();
        if vehicles.is_empty() {
            return Ok(Vec::new());
        }
        let schedules: Vec<ScheduleItem> =
            sqlx::query_as::<_, ScheduleRow>(&format!("{SCHEDULE_SELECT} ORDER BY s.kind, s.code"))
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(schedule_of)
                .collect::<Result<_, _>>()?;
        let mut readings: HashMap<String, Vec<(Date, u32)>> = HashMap::new();
        let rows: Vec<(String, i64, i64)> = fetch!((String, i64, i64), format!(
            "SELECT r.vehicle_id, r.at, r.km FROM odometer_readings r JOIN vehicles v ON v.id = r.vehicle_id WHERE {where_v}"
        ));
        for (v, at, km) in rows {
            readings
                .entry(v)
                .or_default()
                .push((from_micros(at).date(), months(km)));
        }
        // Done: recorded, or a delivered (or closed) repair order with the item's operation.
        let mut done: HashMap<(String, String), (Date, Option<u32>)> = HashMap::new();
        let mut note = |key: (String, String), d: Date, km: Option<u32>| {
            let e = done.entry(key).or_insert((d, km));
            if d > e.0 {
                *e = (d, km);
            }
        };
        let rows: Vec<(String, String, String, Option<i64>)> =
            fetch!((String, String, String, Option<i64>), format!(
                "SELECT m.vehicle_id, m.schedule_id, m.done_on, m.km FROM maintenance_records m JOIN vehicles v ON v.id = m.vehicle_id WHERE {where_v}"
            ));
        for (v, s, d, km) in rows {
            if let Ok(d) = parse_date("done_on", &d) {
                note((v, s), d, km.map(months));
            }
        }
        let rows: Vec<(String, String, i64, String)> = fetch!((String, String, i64, String), format!(
            "SELECT ro.vehicle_id, l.code, \
             COALESCE((SELECT MAX(e.at) FROM ro_events e WHERE e.repair_order_id = ro.id AND e.status = 'delivered'), ro.updated_at), \
             ro.organisation_id FROM repair_orders ro \
             JOIN ro_lines l ON l.repair_order_id = ro.id JOIN ro_jobs j ON j.id = l.job_id \
             JOIN vehicles v ON v.id = ro.vehicle_id \
             WHERE {where_v} AND ro.status IN ('delivered', 'closed') AND j.approval <> 'declined' \
             AND l.kind = 'labour' AND l.code IS NOT NULL"
        ));
        for (v, code, at, _) in &rows {
            let day = from_micros(*at).date();
            let km = readings.get(v).and_then(|r| {
                r.iter()
                    .filter(|(d, _)| *d <= day)
                    .max_by_key(|(d, _)| *d)
                    .map(|(_, k)| *k)
            });
            for s in schedules
                .iter()
                .filter(|s| s.operation_code.as_deref() == Some(code.as_str()))
            {
                note((v.clone(), s.id.clone()), day, km);
            }
        }
        // Where each vehicle was last in the workshop, and its next appointment.
        let mut last_visit: HashMap<String, (i64, String, String)> = HashMap::new();
        let visits: Vec<(String, i64, String, String)> = fetch!((String, i64, String, String), format!(
            "SELECT ro.vehicle_id, ro.created_at, o.id, o.name FROM repair_orders ro JOIN organisations o ON o.id = ro.organisation_id \
             JOIN vehicles v ON v.id = ro.vehicle_id WHERE {where_v}"
        ));
        for (v, at, o, name) in visits {
            let e = last_visit.entry(v).or_insert((at, o.clone(), name.clone()));
            if at > e.0 {
                *e = (at, o, name);
            }
        }
        let next: Vec<(String, i64)> = fetch!((String, i64), format!(
            "SELECT a.vehicle_id, MIN(a.starts_at) FROM appointments a JOIN vehicles v ON v.id = a.vehicle_id \
             WHERE {where_v} AND a.status = 'booked' AND a.starts_at >= ${} GROUP BY a.vehicle_id",
            owners.len() + usize::from(only.is_some()) + 1
        ), micros(today.midnight().assume_utc()));
        let next: HashMap<String, i64> = next.into_iter().collect();
        let sent: Vec<(String, String, String, i64)> = fetch!((String, String, String, i64), format!(
            "SELECT r.vehicle_id, r.schedule_id, r.due_on, r.at FROM reminders_sent r JOIN vehicles v ON v.id = r.vehicle_id WHERE {where_v}"
        ));
        let sent: HashMap<(String, String, String), i64> = sent
            .into_iter()
            .map(|(v, s, d, at)| ((v, s, d), at))
            .collect();
        let mut lineages: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut out = Vec::new();
        for v in &vehicles {
            let Some(delivered) = v.delivered else {
                continue;
            };
            if !lineages.contains_key(&v.org) {
                let l = self.store.org().lineage(&v.org).await?;
                lineages.insert(v.org.clone(), l);
            }
            let lineage = lineages.get(&v.org).map(Vec::as_slice).unwrap_or_default();
            let usage = Usage::from_readings(
                readings.get(&v.id).map(Vec::as_slice).unwrap_or_default(),
                Some(delivered),
            );
            for s in applicable(&schedules, lineage, v.model.as_deref()) {
                let last = done.get(&(v.id.clone(), s.id.clone())).copied();
                let due = match s.kind {
                    ItemKind::Service => s.interval.next_service(delivered, last, &usage),
                    ItemKind::Inspection => {
                        s.interval
                            .next_inspection(delivered, last.map(|(d, _)| d), today)
                    }
                };
                let visit = last_visit.get(&v.id);
                out.push(Found {
                    item: DueItem {
                        vehicle_id: v.id.clone(),
                        vin: v.vin.clone(),
                        registration: v.registration.clone(),
                        model: v.model.clone(),
                        customer: v.customer.clone(),
                        schedule_id: s.id.clone(),
                        code: s.code.clone(),
                        kind: s.kind,
                        name: s.name.clone(),
                        due_on: due.date,
                        due_km: due.km,
                        by_km: due.by_km,
                        standing: standing(due.date, today, s.remind_days),
                        last_done_on: last.map(|(d, _)| d),
                        reminded_at: sent
                            .get(&(
                                v.id.clone(),
                                s.id.clone(),
                                cycle_key(s.kind, delivered, last, due.date),
                            ))
                            .map(|at| from_micros(*at)),
                        next_appointment: next.get(&v.id).map(|at| from_micros(*at)),
                        service_point: visit.map(|(_, id, name)| Ref {
                            id: id.clone(),
                            label: name.clone(),
                        }),
                    },
                    remind_days: s.remind_days,
                    cycle: cycle_key(s.kind, delivered, last, due.date),
                    customer_id: v.customer.as_ref().map(|c| c.id.clone()),
                    sender: visit
                        .map(|(_, id, _)| id.clone())
                        .unwrap_or_else(|| v.org.clone()),
                });
            }
        }
        out.sort_by(|a, b| {
            (a.item.due_on, &a.item.vin, &a.item.code).cmp(&(
                b.item.due_on,
                &b.item.vin,
                &b.item.code,
            ))
        });
        Ok(out)
    }
}

/// What a reminder run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReminderRun {
    /// Due items the customer was told about (once per due date).
    pub reminders: usize,
    /// Campaigns sent.
    pub campaigns: usize,
}

pub(crate) async fn addressee(
    conn: &mut sqlx::AnyConnection,
    org: &str,
    customer: &str,
    vehicle: &str,
) -> Result<Addressee, StoreError> {
    let org_name: String = sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
        .bind(org)
        .fetch_one(&mut *conn)
        .await?;
    Ok(Addressee {
        org_id: org.to_string(),
        org_name,
        customer_id: customer.to_string(),
        number: String::new(),
        token: String::new(),
        vehicle: vehicle.to_string(),
        eta: None,
    })
}

impl crate::cli::Cli<'_> {
    /// The reminder run the server makes every hour: every customer whose vehicle comes due
    /// within the item's reminder days (or is overdue) and has no appointment booked is told once
    /// per due date; campaigns whose day has come are sent to every owner who agreed to offers.
    pub async fn send_reminders(&self, now: OffsetDateTime) -> Result<ReminderRun, StoreError> {
        let store = self.store();
        let owners: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT organisation_id FROM vehicles ORDER BY 1")
                .fetch_all(&store.pool)
                .await?;
        let today = now.date();
        let mut run = ReminderRun::default();
        for f in store.reminders().find(&owners, None, today).await? {
            let i = &f.item;
            let (Some(customer), None) = (&f.customer_id, i.next_appointment) else {
                continue;
            };
            if i.reminded_at.is_some()
                || i.due_on > today + Duration::days(i64::from(f.remind_days))
                || i.due_on < today - Duration::days(i64::from(f.remind_days))
            {
                continue;
            }
            let mut tx = store.begin().await?;
            let claimed = sqlx::query(
                "INSERT INTO reminders_sent (vehicle_id, schedule_id, due_on, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(&i.vehicle_id)
            .bind(&i.schedule_id)
            .bind(&f.cycle)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 0 {
                continue;
            }
            let vehicle = crate::workshop::vehicle_label(&mut tx, Some(&i.vehicle_id)).await?;
            let to = addressee(&mut tx, &f.sender, customer, &vehicle).await?;
            let lang = customer_language(&mut tx, customer).await?;
            let dedupe = format!("due:{}:{}:{}", i.vehicle_id, i.schedule_id, f.cycle);
            enqueue(
                &mut tx,
                store.public_url(),
                &Notice {
                    event: Event::ServiceDue,
                    ro: None,
                    case_id: None,
                    dedupe: dedupe.clone(),
                    extra: Vec::new(),
                    place: None,
                    message: None,
                    calendar: None,
                    delay: Duration::ZERO,
                    item: Some(i.name.get(lang).to_string()),
                    due: Some(i.due_on),
                },
                &to,
                now,
            )
            .await?;
            // Reminded only when a message is on its way: with no channel open (no address,
            // declined, switched off) nothing is recorded and the next run looks again.
            let on_its_way: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE $1 AND status = 'pending'",
            )
            .bind(format!("{dedupe}%"))
            .fetch_one(&mut *tx)
            .await?;
            if on_its_way == 0 {
                tx.rollback().await?;
                continue;
            }
            tx.commit().await?;
            run.reminders += 1;
        }
        run.campaigns = send_campaigns(store, today, now).await?;
        Ok(run)
    }
}

pub(crate) async fn customer_language(
    conn: &mut sqlx::AnyConnection,
    customer: &str,
) -> Result<Language, StoreError> {
    let lang: Option<String> = sqlx::query_scalar("SELECT language FROM customers WHERE id = $1")
        .bind(customer)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(lang
        .as_deref()
        .and_then(|l| Language::parse("language", l).ok())
        .unwrap_or(Language::En))
}

/// Binds a list of values in order.
trait BindAll<'q> {
    fn bind_all(self, values: &'q [String]) -> Self;
}

impl<'q, O> BindAll<'q>
    for sqlx::query::QueryScalar<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>
{
    fn bind_all(mut self, values: &'q [String]) -> Self {
        for v in values {
            self = self.bind(v);
        }
        self
    }
}

impl<'q, O> BindAll<'q> for sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    fn bind_all(mut self, values: &'q [String]) -> Self {
        for v in values {
            self = self.bind(v);
        }
        self
    }
}
