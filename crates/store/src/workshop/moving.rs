//! Moving a booked appointment to another time: the free times of a day for the repair order's own
//! work (its quarter hours do not stand in its own way), the move in one transaction that claims
//! the new quarter hours and frees the old, and the customer told with an updated invitation.

use super::*;

/// The appointment of a repair order whose car has not arrived yet.
struct Booking {
    id: String,
    kind: AppointmentKind,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    technician: String,
    address: Option<String>,
}

/// "2026-11-24 09:00" on the service point's clock: the appointment's time as people there say it.
fn local_text(zone: Zone, at: OffsetDateTime) -> String {
    let l = zone.local(at);
    format!("{} {:02}:{:02}", l.date(), l.hour(), l.minute())
}

impl Workshop<'_> {
    /// The appointment of `row`, refused when there is none or the car has arrived.
    async fn movable(self, row: &RoRow) -> Result<Booking, StoreError> {
        let status = crate::decode("repair_orders", "status", &row.status, RoStatus::parse)?;
        if status != RoStatus::Booked {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                format!(
                    "only a booked appointment can be moved; this repair order is {}",
                    status.as_str()
                ),
            )
            .into());
        }
        let no_appointment = || {
            StoreError::from(ValidationErrors::single(
                "appointment",
                Rule::NotAllowed,
                "this repair order has no appointment to move (it was opened as a drop-in)",
            ))
        };
        let id = row.appointment_id.as_deref().ok_or_else(no_appointment)?;
        type Row = (String, String, i64, i64, String, Option<String>);
        let (id, kind, starts, ends, technician, address): Row = sqlx::query_as(
            "SELECT id, kind, starts_at, ends_at, technician_id, address FROM appointments WHERE id = $1 AND status = 'booked'",
        )
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await?
        .ok_or_else(no_appointment)?;
        Ok(Booking {
            id,
            kind: crate::decode("appointments", "kind", &kind, AppointmentKind::parse)?,
            starts_at: from_micros(starts),
            ends_at: from_micros(ends),
            technician,
            address,
        })
    }

    /// What the appointment needs at its new time: the labour operations now on the repair order
    /// (work added since booking counts), or its present length when it has none from the catalogue.
    async fn need_of(self, row: &RoRow, b: &Booking) -> Result<Need, StoreError> {
        let codes: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT o.code FROM ro_lines l JOIN labour_operations o ON o.id = l.labour_operation_id WHERE l.repair_order_id = $1 AND l.kind = 'labour' ORDER BY o.code",
        )
        .bind(&row.id)
        .fetch_all(&self.store.pool)
        .await?;
        if !codes.is_empty() {
            return Ok(self.need_for(&row.organisation_id, &codes, b.kind).await?.0);
        }
        let travel = self
            .settings_of(&row.organisation_id)
            .await?
            .mobile_travel_minutes;
        let mobile = b.kind == AppointmentKind::Mobile;
        Ok(Need {
            units: ((b.ends_at - b.starts_at).whole_minutes() / UNIT_MINUTES).max(1),
            buffer_units: if mobile {
                (travel + UNIT_MINUTES - 1) / UNIT_MINUTES
            } else {
                0
            },
            lift: false,
            hv_area: false,
            certifications: Vec::new(),
            mobile,
        })
    }

    /// The free starts of one day (the appointment's own when `None`) for moving a repair
    /// order's appointment.
    pub async fn move_availability(
        self,
        scope: &Scope,
        ro_id: &str,
        date: Option<Date>,
        now: OffsetDateTime,
    ) -> Result<Availability, StoreError> {
        let row = self.writable_ro(scope, ro_id).await?;
        let b = self.movable(&row).await?;
        let need = self.need_of(&row, &b).await?;
        let date = match date {
            Some(d) => d,
            None => {
                let zone = self.store.org().zone_of(&row.organisation_id).await?;
                zone.local(b.starts_at).date()
            }
        };
        let (_, slots, names) = self
            .day_slots(&row.organisation_id, date, &need, now, None, Some(&b.id))
            .await?;
        Ok(availability_view(date, &need, slots, Some(&names)))
    }

    /// Moves a booked appointment to `input.starts_at`: the same technician when free then (or the
    /// one asked for), else any suitable one; jobs that were the booked technician's follow the
    /// appointment. The customer gets the new time with an updated calendar invitation.
    pub async fn move_appointment(
        self,
        scope: &Scope,
        ro_id: &str,
        input: &MoveInput,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let row = self.writable_ro(scope, ro_id).await?;
        let b = self.movable(&row).await?;
        let mut errs = ValidationErrors::default();
        let start = check_start(&mut errs, "starts_at", &input.starts_at, now);
        errs.into_result()?;
        let Some(start) = start else {
            return Err(StoreError::Internal("validated move lost its start".into()));
        };
        if start == b.starts_at
            && opt(&input.technician_id).is_none_or(|t| t == b.technician.as_str())
        {
            return self.repair_order(scope, ro_id).await;
        }
        let org = row.organisation_id.as_str();
        let need = self.need_of(&row, &b).await?;
        let zone = self.store.org().zone_of(org).await?;
        let date = zone.local(start).date();
        let wanted = opt(&input.technician_id);
        for _attempt in 0..3 {
            let mut found = None;
            // The technician asked for, or the appointment's own; anyone suitable only when none was asked for.
            for only in [Some(wanted.unwrap_or(b.technician.as_str())), None] {
                if only.is_none() && wanted.is_some() {
                    break;
                }
                let (_, slots, _) = self
                    .day_slots(org, date, &need, now, only, Some(&b.id))
                    .await?;
                found = slots
                    .ok()
                    .and_then(|s| s.into_iter().find(|s| s.start == unit_floor(start)));
                if found.is_some() {
                    break;
                }
            }
            let Some(slot) = found else {
                return Err(StoreError::Taken(
                    "starts_at: this time is not free; choose another slot".into(),
                ));
            };
            match self
                .write_move(scope, &row, &b, &need, &slot, zone, now)
                .await
            {
                Ok(()) => return self.repair_order(scope, ro_id).await,
                Err(StoreError::Database(e)) if StoreError::is_unique_violation(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Taken(
            "starts_at: this time was just taken; choose another slot".into(),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_move(
        self,
        scope: &Scope,
        row: &RoRow,
        b: &Booking,
        need: &Need,
        slot: &Slot,
        zone: Zone,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let settings = self.settings_of(&row.organisation_id).await?;
        let actor = Some(scope.user_id());
        let mut tx = self.store.begin().await?;
        // Guarded by the time read above: a move made meanwhile makes this one start over.
        let done = sqlx::query("UPDATE appointments SET starts_at = $1, ends_at = $2, bay_id = $3, technician_id = $4 WHERE id = $5 AND status = 'booked' AND starts_at = $6 AND technician_id = $7")
            .bind(micros(slot.starts_at()))
            .bind(micros(slot.ends_at()))
            .bind(&slot.bay)
            .bind(&slot.technician)
            .bind(&b.id)
            .bind(micros(b.starts_at))
            .bind(&b.technician)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                current: row.version,
            });
        }
        sqlx::query("DELETE FROM resource_units WHERE appointment_id = $1")
            .bind(&b.id)
            .execute(&mut *tx)
            .await?;
        for (resource, unit) in occupied_units(slot, need.buffer_units) {
            sqlx::query(
                "INSERT INTO resource_units (resource_id, unit, appointment_id) VALUES ($1, $2, $3)",
            )
            .bind(resource)
            .bind(unit)
            .bind(&b.id)
            .execute(&mut *tx)
            .await?;
        }
        let mut params = vec![
            ("from", local_text(zone, b.starts_at)),
            ("to", local_text(zone, slot.starts_at())),
        ];
        if slot.technician != b.technician {
            // The slot was found for the new technician with the work's competences on that day.
            sqlx::query("UPDATE ro_jobs SET technician_id = $1 WHERE repair_order_id = $2 AND technician_id = $3")
                .bind(&slot.technician)
                .bind(&row.id)
                .bind(&b.technician)
                .execute(&mut *tx)
                .await?;
            let name: String = sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
                .bind(&slot.technician)
                .fetch_one(&mut *tx)
                .await?;
            params.push(("technician", name));
        }
        sqlx::query(
            "UPDATE repair_orders SET updated_at = $1, version = version + 1 WHERE id = $2",
        )
        .bind(micros(now))
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
        let facts: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        ro_fact(&mut tx, &row.id, "moved", &facts, actor, now).await?;
        if let Some(case_id) = &row.case_id {
            crate::cases::fact(
                &mut tx,
                case_id,
                "appointment-moved",
                None,
                &[("number", row.number.as_str()), ("when", facts[1].1)],
                None,
                actor,
                now,
            )
            .await?;
        }
        let moves: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ro_events WHERE repair_order_id = $1 AND kind = 'moved'",
        )
        .bind(&row.id)
        .fetch_one(&mut *tx)
        .await?;
        let place = place_of(
            &row.org_name,
            settings.address.as_deref(),
            b.address.as_deref(),
        );
        let vehicle = vehicle_label(&mut tx, row.vehicle_id.as_deref()).await?;
        let ctx = row.addressee(vehicle, row.eta.map(from_micros));
        let titles: Vec<String> = sqlx::query_scalar(
            "SELECT title FROM ro_jobs WHERE repair_order_id = $1 ORDER BY position",
        )
        .bind(&row.id)
        .fetch_all(&mut *tx)
        .await?;
        enqueue(
            &mut tx,
            self.store.public_url(),
            &Notice {
                event: Event::AppointmentMoved,
                ro: Some(&row.id),
                case_id: row.case_id.as_deref(),
                dedupe: format!("ro:{}:moved:{moves}", row.id),
                extra: vec![("when", slot.starts_at())],
                place: Some(place.clone()),
                message: None,
                calendar: Some(crate::notify::CalendarFile {
                    uid: format!("{}@aftersales", b.id),
                    sequence: u32::try_from(moves).unwrap_or(u32::MAX),
                    start: slot.starts_at(),
                    end: slot.ends_at(),
                    summary: format!("{} – {}", row.org_name, titles.join(", ")),
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
        Ok(())
    }
}

/// A start for a booking or a move: a date-time with offset, on a quarter hour, not in the past.
pub(crate) fn check_start(
    errs: &mut ValidationErrors,
    field: &str,
    value: &str,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let s = errs.take(parse_instant(field, value))?;
    if s.unix_timestamp() % (UNIT_MINUTES * 60) != 0 {
        errs.push(FieldError::new(
            field,
            Rule::Format,
            format!("{field} must be on a quarter hour"),
        ));
        None
    } else if s < now {
        errs.push(FieldError::new(
            field,
            Rule::NotAllowed,
            format!("{field} must not be in the past"),
        ));
        None
    } else {
        Some(s)
    }
}
