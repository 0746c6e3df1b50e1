//! Appointments against real availability: free times from bays, shifts, absences, competences,
//! opening hours and holidays; booking claims `resource_units` rows so double booking is impossible.

use super::*;

impl Workshop<'_> {
    /// The customer, vehicle and case of a booking or repair order, checked to belong together:
    /// the customer is one of this service point's market, the vehicle is currently theirs, the
    /// case is about them and the caller may write to it (the booking is noted on it).
    pub(crate) async fn parties(
        self,
        scope: &Scope,
        org: &str,
        customer_id: &str,
        vehicle_id: &Option<String>,
        case_id: &Option<String>,
        errs: &mut ValidationErrors,
    ) -> Result<(Option<crate::crm::Customer>, Option<String>, Option<String>), StoreError> {
        let lineage = self.store.org().lineage(org).await?;
        let customer = match self
            .store
            .crm()
            .get_customer(scope, customer_id.trim())
            .await
        {
            Ok(c) if lineage.contains(&c.organisation_id) && c.erased_at.is_none() => Some(c),
            Ok(_) => {
                errs.push(FieldError::new(
                    "customer_id",
                    Rule::NotAllowed,
                    "the customer belongs to another market than this service point, or was erased",
                ));
                None
            }
            Err(StoreError::NotFound) => {
                errs.push(FieldError::new(
                    "customer_id",
                    Rule::Unknown,
                    "customer_id names no customer you can see",
                ));
                None
            }
            Err(e) => return Err(e),
        };
        let vehicle = match opt(vehicle_id) {
            Some(v) => match self.store.crm().get_vehicle(scope, v).await {
                Ok(v) => {
                    let owned: Option<String> = sqlx::query_scalar("SELECT customer_id FROM vehicle_ownerships WHERE vehicle_id = $1 AND to_date IS NULL")
                        .bind(&v.id)
                        .fetch_optional(&self.store.pool)
                        .await?;
                    if customer
                        .as_ref()
                        .is_some_and(|c| owned.as_deref() != Some(c.id.as_str()))
                    {
                        errs.push(FieldError::new(
                            "vehicle_id",
                            Rule::NotAllowed,
                            "the vehicle is not the customer's (by its current ownership)",
                        ));
                        None
                    } else {
                        Some(v.id)
                    }
                }
                Err(StoreError::NotFound) => {
                    errs.push(FieldError::new(
                        "vehicle_id",
                        Rule::Unknown,
                        "vehicle_id names no vehicle you can see",
                    ));
                    None
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        let case = match opt(case_id) {
            Some(c) => match self.store.cases().writable_case(scope, c).await {
                Ok(row)
                    if row.customer_id.is_none()
                        || row.customer_id.as_deref()
                            == customer.as_ref().map(|c| c.id.as_str()) =>
                {
                    Some(row.id)
                }
                Ok(_) => {
                    errs.push(FieldError::new(
                        "case_id",
                        Rule::NotAllowed,
                        "the case is about another customer",
                    ));
                    None
                }
                Err(StoreError::NotFound) => {
                    errs.push(FieldError::new(
                        "case_id",
                        Rule::Unknown,
                        "case_id names no case you can see",
                    ));
                    None
                }
                Err(StoreError::Forbidden(_)) => {
                    errs.push(FieldError::new(
                        "case_id",
                        Rule::NotAllowed,
                        "you follow this case read-only; its handling party books",
                    ));
                    None
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        Ok((customer, vehicle, case))
    }
    pub(crate) async fn need_for(
        self,
        org: &str,
        codes: &[String],
        kind: AppointmentKind,
    ) -> Result<(Need, Vec<LabourOperation>), StoreError> {
        let catalogue = self.operations_at(org).await?;
        let mut errs = ValidationErrors::default();
        let mut ops = Vec::new();
        if codes.is_empty() {
            errs.push(FieldError::new(
                "operations",
                Rule::Required,
                "choose at least one labour operation",
            ));
        }
        for (i, c) in codes.iter().enumerate() {
            match catalogue
                .iter()
                .find(|o| o.code.eq_ignore_ascii_case(c.trim()))
            {
                Some(o) => ops.push(o.clone()),
                None => errs.push(FieldError::new(
                    format!("operations.{i}"),
                    Rule::Unknown,
                    format!("no labour operation {c} in this service point's catalogue"),
                )),
            }
        }
        errs.into_result()?;
        let hours: i64 = ops
            .iter()
            .filter_map(|o| parse_centi("hours", &o.hours, 0, i64::MAX).ok())
            .sum();
        let travel = self.settings_of(org).await?.mobile_travel_minutes;
        let need = Need {
            units: units_for_hours(hours),
            buffer_units: if kind == AppointmentKind::Mobile {
                (travel + UNIT_MINUTES - 1) / UNIT_MINUTES
            } else {
                0
            },
            lift: kind == AppointmentKind::Workshop && ops.iter().any(|o| o.needs_lift),
            hv_area: kind == AppointmentKind::Workshop && ops.iter().any(|o| o.needs_hv_area),
            certifications: ops
                .iter()
                .filter_map(|o| o.certification.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            mobile: kind == AppointmentKind::Mobile,
        };
        Ok((need, ops))
    }
    /// The free starts of one local day at a service point for a need.
    pub(crate) async fn day_slots(
        self,
        org: &str,
        date: Date,
        need: &Need,
        earliest: OffsetDateTime,
        only: Option<&str>,
        except: Option<&str>,
    ) -> Result<
        (
            Zone,
            Result<Vec<Slot>, NoSlotReason>,
            BTreeMap<String, String>,
        ),
        StoreError,
    > {
        check_day(date)?;
        let cal = self
            .store
            .cases()
            .calendar_for(org, date.midnight().assume_utc())
            .await?;
        let zone = cal.zone;
        let open: Vec<(i64, i64)> = cal
            .open_on(date)
            .into_iter()
            .map(|(o, c)| (unit_ceil(o), unit_floor(c)))
            .collect();
        let bays: Vec<BayCap> = sqlx::query_as::<_, (String, i64, i64)>("SELECT id, lift, hv_area FROM bays WHERE organisation_id = $1 AND active = 1 ORDER BY name")
            .bind(org)
            .fetch_all(&self.store.pool)
            .await?
            .into_iter()
            .map(|(id, lift, hv)| BayCap { id, lift: lift == 1, hv_area: hv == 1 })
            .collect();
        let day_start = zone.instant(date.midnight());
        let day_end = zone.instant((date + Duration::days(1)).midnight());
        let weekday = i64::from(date.weekday().number_days_from_monday());
        let mut techs = Vec::new();
        let mut names = BTreeMap::new();
        for t in self.technicians_of(org, date).await? {
            // A technician asked for by name: the day is planned with them alone.
            if only.is_some_and(|o| o != t.user_id) {
                continue;
            }
            let mut shifts: Vec<(i64, i64)> = t
                .shifts
                .iter()
                .filter(|s| i64::from(s.weekday) == weekday)
                .filter_map(|s| {
                    let a = parse_time_of_day("starts", &s.starts).ok()?;
                    let b = parse_time_of_day("ends", &s.ends).ok()?;
                    Some((
                        unit_ceil(zone.instant(date.with_time(a))),
                        unit_floor(zone.instant(date.with_time(b))),
                    ))
                })
                .collect();
            for a in t
                .absences
                .iter()
                .filter(|a| a.starts_at < day_end && a.ends_at > day_start)
            {
                let (x, y) = (unit_floor(a.starts_at), unit_ceil(a.ends_at));
                shifts = shifts
                    .into_iter()
                    .flat_map(|(s, e)| {
                        let mut parts = Vec::new();
                        if s < x.min(e) {
                            parts.push((s, x.min(e)));
                        }
                        if y.max(s) < e {
                            parts.push((y.max(s), e));
                        }
                        parts
                    })
                    .collect();
            }
            names.insert(t.user_id.clone(), t.name.clone());
            techs.push(TechCap {
                id: t.user_id,
                certifications: t
                    .certifications
                    .into_iter()
                    .filter(|c| c.valid)
                    .map(|c| c.code)
                    .collect(),
                mobile: t.mobile,
                shifts,
            });
        }
        let resources: Vec<String> = bays
            .iter()
            .map(|b| b.id.clone())
            .chain(techs.iter().map(|t| t.id.clone()))
            .collect();
        // The appointment being moved does not stand in its own way.
        let sql = format!(
            "SELECT resource_id, unit FROM resource_units WHERE unit >= $1 AND unit < $2 AND appointment_id <> $3 AND resource_id IN ({})",
            placeholders(4, resources.len())
        );
        let mut q = sqlx::query_as::<_, (String, i64)>(&sql)
            .bind(unit_floor(day_start) - 32)
            .bind(unit_ceil(day_end) + 32)
            .bind(except.unwrap_or(""));
        for r in &resources {
            q = q.bind(r);
        }
        let busy: HashSet<(String, i64)> =
            q.fetch_all(&self.store.pool).await?.into_iter().collect();
        Ok((
            zone,
            find_slots(&open, &bays, &techs, &busy, need, unit_ceil(earliest)),
            names,
        ))
    }
    /// Free appointment starts on one day for the given labour operations (staff view).
    pub async fn availability(
        self,
        scope: &Scope,
        org: &str,
        date: Date,
        kind: AppointmentKind,
        operations: &[String],
        now: OffsetDateTime,
    ) -> Result<Availability, StoreError> {
        self.require_service_point(scope, org, Permission::OrgRead)
            .await?;
        let (need, _) = self.need_for(org, operations, kind).await?;
        let (_, slots, names) = self.day_slots(org, date, &need, now, None, None).await?;
        Ok(availability_view(date, &need, slots, Some(&names)))
    }
    /// Books an appointment and opens its repair order (status booked) in one transaction; the
    /// customer gets the confirmation with a calendar file. A taken slot is refused, never doubled.
    pub async fn book_appointment(
        self,
        scope: &Scope,
        input: &BookingInput,
        now: OffsetDateTime,
    ) -> Result<Booked, StoreError> {
        let org = input.organisation_id.trim();
        self.require_service_point(scope, org, Permission::WorkshopWrite)
            .await?;
        let mut errs = ValidationErrors::default();
        let kind = errs.take(AppointmentKind::parse("kind", &input.kind));
        let start = super::moving::check_start(&mut errs, "starts_at", &input.starts_at, now);
        let complaint =
            opt(&input.complaint).and_then(|c| errs.take(text_block("complaint", c, 2, 5000)));
        let (customer, vehicle_id, case_id) = self
            .parties(
                scope,
                org,
                &input.customer_id,
                &input.vehicle_id,
                &input.case_id,
                &mut errs,
            )
            .await?;
        let address = match kind {
            Some(AppointmentKind::Mobile) => {
                let a = opt(&input.address).map(str::to_string).or_else(|| {
                    customer.as_ref().and_then(|c| {
                        let parts: Vec<&str> = [
                            c.street.as_deref(),
                            c.postal_code.as_deref(),
                            c.city.as_deref(),
                        ]
                        .into_iter()
                        .flatten()
                        .collect();
                        (!parts.is_empty()).then(|| parts.join(", "))
                    })
                });
                match a {
                    Some(a) => errs.take(text("address", &a, 3, 300)),
                    None => {
                        errs.push(FieldError::new(
                            "address",
                            Rule::Required,
                            "a mobile appointment needs the address to drive to",
                        ));
                        None
                    }
                }
            }
            _ => None,
        };
        errs.into_result()?;
        let (Some(kind), Some(start), Some(customer)) = (kind, start, customer) else {
            return Err(StoreError::Internal(
                "validated booking lost a field".into(),
            ));
        };
        let (need, ops) = self.need_for(org, &input.operations, kind).await?;
        let wanted_tech = opt(&input.technician_id).map(str::to_string);
        self.book_slot(
            &BookingPlan {
                org,
                kind,
                start,
                need: &need,
                ops: &ops,
                customer_id: &customer.id,
                vehicle_id: vehicle_id.as_deref(),
                case_id: case_id.as_deref(),
                address: address.as_deref(),
                complaint: complaint.as_deref(),
                technician: wanted_tech.as_deref(),
                source: "advisor",
                actor: Some(scope.user_id()),
            },
            now,
        )
        .await
    }
    /// Claims the slot's quarter hours and writes appointment, repair order, jobs, lines and the
    /// confirmation. Another booking that got there first makes the unique key refuse the claim;
    /// then the day is read again and, if the start is still free with other resources, retried.
    pub(crate) async fn book_slot(
        self,
        p: &BookingPlan<'_>,
        now: OffsetDateTime,
    ) -> Result<Booked, StoreError> {
        let local_date = self.store.org().zone_of(p.org).await?.local(p.start).date();
        for _attempt in 0..3 {
            let (_, slots, _) = self
                .day_slots(p.org, local_date, p.need, now, p.technician, None)
                .await?;
            let Some(slot) = slots
                .ok()
                .and_then(|s| s.into_iter().find(|s| s.start == unit_floor(p.start)))
            else {
                return Err(StoreError::Taken(
                    "starts_at: this time is not free; choose another slot".into(),
                ));
            };
            match self.write_booking(p, &slot, now).await {
                Ok(b) => return Ok(b),
                Err(StoreError::Database(e)) if StoreError::is_unique_violation(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Taken(
            "starts_at: this time was just taken; choose another slot".into(),
        ))
    }
    pub(crate) async fn write_booking(
        self,
        p: &BookingPlan<'_>,
        slot: &Slot,
        now: OffsetDateTime,
    ) -> Result<Booked, StoreError> {
        let settings = self.settings_of(p.org).await?;
        let rate = parse_centi("rate", &settings.labour_rate.amount, 0, i64::MAX)
            .unwrap_or(DEFAULT_LABOUR_RATE_MINOR);
        let org_name: String = sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
            .bind(p.org)
            .fetch_one(&self.store.pool)
            .await?;
        // The work reads in the customer's language, as lines added later do (estimate, status
        // page, invoice).
        let lang = self.customer_language(p.customer_id).await?;
        let appointment_id = new_id();
        let ro_id = new_id();
        let public_token = crate::new_token();
        let mut tx = self.store.begin().await?;
        // The first statement writes, so SQLite takes the write lock before anything is read.
        sqlx::query("INSERT INTO appointments (id, organisation_id, kind, customer_id, vehicle_id, case_id, starts_at, ends_at, bay_id, technician_id, address, source, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'booked', $13, $14)")
            .bind(&appointment_id)
            .bind(p.org)
            .bind(p.kind.as_str())
            .bind(p.customer_id)
            .bind(p.vehicle_id)
            .bind(p.case_id)
            .bind(micros(slot.starts_at()))
            .bind(micros(slot.ends_at()))
            .bind(&slot.bay)
            .bind(&slot.technician)
            .bind(p.address)
            .bind(p.source)
            .bind(p.actor)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        for (resource, unit) in occupied_units(slot, p.need.buffer_units) {
            sqlx::query("INSERT INTO resource_units (resource_id, unit, appointment_id) VALUES ($1, $2, $3)")
                .bind(resource)
                .bind(unit)
                .bind(&appointment_id)
                .execute(&mut *tx)
                .await?;
        }
        let number = next_ro_number(&mut tx, now.year()).await?;
        sqlx::query("INSERT INTO repair_orders (id, number, organisation_id, customer_id, vehicle_id, case_id, appointment_id, status, eta, public_token, created_by, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'booked', NULL, $8, $9, $10, $10, 1)")
            .bind(&ro_id)
            .bind(&number)
            .bind(p.org)
            .bind(p.customer_id)
            .bind(p.vehicle_id)
            .bind(p.case_id)
            .bind(&appointment_id)
            .bind(&public_token)
            .bind(p.actor)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        for (i, op) in p.ops.iter().enumerate() {
            let job_id = new_id();
            let title = local_name(&op.names, &op.description, lang);
            let complaint = if i == 0 {
                p.complaint.unwrap_or(title)
            } else {
                title
            };
            insert_job(
                &mut tx,
                &job_id,
                &ro_id,
                i64::try_from(i).unwrap_or(0) + 1,
                title,
                complaint,
                PayType::Customer,
                Approval::NotRequired,
                // The slot was found for this technician with the operation's competences on that
                // day: the job is theirs unless the advisor assigns it to someone else.
                Some(&slot.technician),
                now,
            )
            .await?;
            let hours = parse_centi("hours", &op.hours, 0, i64::MAX).unwrap_or(MIN_HOURS_CENTI);
            sqlx::query("INSERT INTO ro_lines (id, job_id, repair_order_id, kind, code, description, quantity_centi, unit_price_minor, unit_cost_minor, pay_type, labour_operation_id, part_id, certification, backordered, created_at) \
                 VALUES ($1, $2, $3, 'labour', $4, $5, $6, $7, 0, 'customer', $8, NULL, $9, 0, $10)")
                .bind(new_id())
                .bind(&job_id)
                .bind(&ro_id)
                .bind(&op.code)
                .bind(title)
                .bind(hours)
                .bind(rate)
                .bind(&op.id)
                .bind(&op.certification)
                .bind(micros(now))
                .execute(&mut *tx)
                .await?;
        }
        ro_event(
            &mut tx,
            &ro_id,
            "status",
            Some(RoStatus::Booked),
            None,
            p.actor,
            if p.actor.is_some() {
                "staff"
            } else {
                "self-service"
            },
            now,
        )
        .await?;
        if let Some(case_id) = p.case_id {
            crate::cases::fact(
                &mut tx,
                case_id,
                "appointment",
                None,
                &[("number", number.as_str())],
                None,
                p.actor,
                now,
            )
            .await?;
        }
        let vehicle = vehicle_label(&mut tx, p.vehicle_id).await?;
        let place = place_of(&org_name, settings.address.as_deref(), p.address);
        let ctx = Addressee {
            org_id: p.org.to_string(),
            org_name: org_name.clone(),
            customer_id: p.customer_id.to_string(),
            number: number.clone(),
            token: public_token,
            vehicle,
            eta: None,
        };
        let summary = format!(
            "{} – {}",
            org_name,
            p.ops
                .iter()
                .map(|o| local_name(&o.names, &o.description, lang))
                .collect::<Vec<_>>()
                .join(", ")
        );
        enqueue(
            &mut tx,
            self.store.public_url(),
            &Notice {
                event: Event::AppointmentBooked,
                ro: Some(&ro_id),
                case_id: p.case_id,
                dedupe: format!("ro:{ro_id}:booked"),
                extra: vec![("when", slot.starts_at())],
                place: Some(place.clone()),
                message: None,
                calendar: Some(crate::notify::CalendarFile {
                    uid: format!("{appointment_id}@aftersales"),
                    sequence: 0,
                    start: slot.starts_at(),
                    end: slot.ends_at(),
                    summary,
                    location: place,
                }),
                delay: Duration::ZERO,
                item: None,
                due: None,
            },
            &ctx,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Booked {
            appointment_id,
            repair_order_id: ro_id,
            repair_order_number: number,
            starts_at: slot.starts_at(),
            ends_at: slot.ends_at(),
        })
    }
}
