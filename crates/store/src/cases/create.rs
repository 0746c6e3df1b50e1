//! Opening a case: its number, the caller recognised by phone or e-mail, the first event.

use super::*;

impl Cases<'_> {
    /// The organisation that handles cases the caller takes in: their first membership whose
    /// roles may write customer records.
    pub(crate) async fn case_home(self, scope: &Scope) -> Result<String, StoreError> {
        let ms: Vec<(String, String)> = sqlx::query_as("SELECT organisation_id, role FROM memberships WHERE user_id = $1 ORDER BY granted_at, organisation_id")
            .bind(scope.user_id())
            .fetch_all(&self.store.pool)
            .await?;
        ms.into_iter()
            .find(|(_, r)| Role::parse("role", r).is_ok_and(|r| r.grants(Permission::CrmWrite)))
            .map(|(o, _)| o)
            .ok_or_else(|| {
                StoreError::Forbidden(format!(
                    "your roles do not allow {}",
                    Permission::CrmWrite.describe()
                ))
            })
    }
    pub(crate) async fn next_number(
        conn: &mut sqlx::AnyConnection,
        year: i32,
    ) -> Result<String, StoreError> {
        let name = format!("case-{year}");
        sqlx::query(
            "INSERT INTO counters (name, value) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&name)
        .execute(&mut *conn)
        .await?;
        let n: i64 = sqlx::query_scalar(
            "UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value",
        )
        .bind(&name)
        .fetch_one(&mut *conn)
        .await?;
        Ok(format!("CASE-{year}-{n:05}"))
    }
    /// Takes in a case. Links the customer (given, or found by the contact's phone or e-mail) and
    /// the vehicle; escalates at once when the customer describes a safety risk or contacts us
    /// again while an earlier case about the same is open.
    pub async fn create_case(
        self,
        scope: &Scope,
        input: &CaseInput,
        now: OffsetDateTime,
    ) -> Result<Case, StoreError> {
        let mut errs = ValidationErrors::default();
        let channel = errs.take(Channel::parse("channel", &input.channel));
        let category = errs.take(Category::parse("category", &input.category));
        let priority = errs.take(Priority::parse("priority", &input.priority));
        let subject = errs.take(text("subject", &input.subject, 3, 200));
        let symptoms = crate::crm::opt(&input.symptoms)
            .and_then(|s| errs.take(text_block("symptoms", s, 1, 5000)));
        let contact =
            crate::crm::opt(&input.contact).and_then(|s| errs.take(text("contact", s, 3, 200)));
        let mut customer = match crate::crm::opt(&input.customer_id) {
            Some(id) => match self.store.crm().get_customer(scope, id).await {
                Ok(c) => Some(c),
                Err(StoreError::NotFound) => {
                    errs.push(FieldError::new(
                        "customer_id",
                        Rule::Unknown,
                        "customer_id names no customer you can see",
                    ));
                    None
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        let vehicle = match crate::crm::opt(&input.vehicle_id) {
            Some(id) => match self.store.crm().get_vehicle(scope, id).await {
                Ok(v) => Some(v),
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
        if customer.is_none() && contact.is_none() && vehicle.is_none() {
            errs.push(FieldError::new(
                "contact",
                Rule::Required,
                "name the customer, the vehicle or the caller's phone or e-mail",
            ));
        }
        errs.clone().into_result()?;
        let (Some(channel), Some(category), Some(priority), Some(subject)) =
            (channel, category, priority, subject)
        else {
            return Err(errs.into());
        };
        let org = self.case_home(scope).await?;
        // A caller who is a known customer is linked by their phone or e-mail.
        if customer.is_none() {
            if let Some(c) = &contact {
                customer = self.find_customer_by_contact(scope, &org, c).await?;
            }
        }
        if customer.is_none() {
            if let Some(v) = &vehicle {
                if let Some(o) = v.owners.iter().find(|o| o.to_date.is_none()) {
                    customer = self
                        .store
                        .crm()
                        .get_customer(scope, &o.customer_id)
                        .await
                        .ok();
                }
            }
        }
        let id = self
            .insert_case(
                &NewCase {
                    org: &org,
                    customer: customer
                        .as_ref()
                        .map(|c| (c.id.as_str(), c.organisation_id.as_str())),
                    vehicle_id: vehicle.as_ref().map(|v| v.id.as_str()),
                    channel,
                    category,
                    priority,
                    subject: &subject,
                    symptoms: symptoms.as_deref(),
                    contact: contact.as_deref(),
                    actor: Some(scope.user_id()),
                },
                now,
            )
            .await?;
        self.get_case(scope, &id, now).await
    }
    /// Writes a new case with its SLA targets and the escalation rules applied at intake.
    pub(crate) async fn insert_case(
        self,
        n: &NewCase<'_>,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        let (intake_org, channel, category, priority, subject) =
            (n.org, n.channel, n.category, n.priority, n.subject);
        // Working procedures: the nearest rule at or above the intake hands the case on.
        let route = self.route_for(intake_org, category).await?;
        let org = route
            .as_ref()
            .map(|r| r.target.as_str())
            .unwrap_or(intake_org);
        let (fr, res) = match &route {
            Some(RouteMatch {
                first_response: Some(f),
                resolution: Some(r),
                ..
            }) => (*f, *r),
            _ => self.policy_for(org, category, priority).await?,
        };
        let text_for_rules = format!("{subject} {}", n.symptoms.unwrap_or_default());
        let signals = safety_signals(&text_for_rules);
        let repeat = match n.customer {
            Some((customer_id, _)) => {
                let since = micros(now - Duration::days(7));
                // A mail or web form is not classified yet ("other"): any open or recent concern
                // of the same customer makes it a repeat contact.
                let same_concern = if category == Category::Other {
                    "$2 = $2"
                } else {
                    "category = $2"
                };
                let n: i64 = sqlx::query_scalar(&format!(
                    "SELECT COUNT(*) FROM cases WHERE customer_id = $1 AND {same_concern} AND (status IN ('new', 'open', 'waiting-for-customer') OR resolved_at > $3)",
                ))
                .bind(customer_id)
                .bind(category.as_str())
                .bind(since)
                .fetch_one(&self.store.pool)
                .await?;
                n > 0
            }
            None => false,
        };
        let escalation = if !signals.is_empty() {
            Some((
                EscalationReason::Safety,
                // The customer's own words that raised it, shown as they wrote them.
                signals.join(", "),
            ))
        } else if repeat {
            Some((EscalationReason::RepeatContact, String::new()))
        } else {
            None
        };
        let id = new_id();
        let mut tx = self.store.begin().await?;
        let number = Self::next_number(&mut tx, now.year()).await?;
        sqlx::query(
            "INSERT INTO cases (id, number, organisation_id, customer_id, vehicle_id, channel, category, priority, status, subject, symptoms, \
             contact, owner_user_id, escalated_at, escalation_reason, first_response_minutes, resolution_minutes, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'new', $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, 1)",
        )
        .bind(&id)
        .bind(&number)
        .bind(org)
        .bind(n.customer.map(|c| c.0.to_string()))
        .bind(n.vehicle_id.map(str::to_string))
        .bind(channel.as_str())
        .bind(category.as_str())
        .bind(priority.as_str())
        .bind(subject)
        .bind(n.symptoms.map(str::to_string))
        .bind(n.contact.map(str::to_string))
        .bind(if route.is_some() { None } else { n.actor.map(str::to_string) })
        .bind(escalation.as_ref().map(|_| micros(now)))
        .bind(escalation.as_ref().map(|(r, _)| r.as_str().to_string()))
        .bind(fr)
        .bind(res)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        fact(
            &mut tx,
            &id,
            "created",
            Some(Status::New),
            &[("channel", channel.as_str())],
            Some(subject.to_string()),
            n.actor,
            now,
        )
        .await?;
        if let Some(r) = &route {
            sqlx::query(
                "INSERT INTO case_handoffs (id, case_id, from_organisation_id, to_organisation_id, rule_id, note, actor_user_id, at) \
                 VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6)",
            )
            .bind(new_id())
            .bind(&id)
            .bind(intake_org)
            .bind(&r.target)
            .bind(&r.rule_id)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
            fact(
                &mut tx,
                &id,
                "handoff",
                None,
                &[("to", &r.target_name), ("category", category.as_str())],
                None,
                None,
                now,
            )
            .await?;
        }
        if let Some((reason, why)) = &escalation {
            let mut params = vec![("reason", reason.as_str())];
            if !why.is_empty() {
                params.push(("words", why.as_str()));
            }
            fact(&mut tx, &id, "escalated", None, &params, None, None, now).await?;
        }
        if let Some((customer_id, customer_org)) = n.customer {
            add_entry(
                &mut tx,
                NewEntry {
                    organisation_id: customer_org,
                    customer_id: Some(customer_id),
                    vehicle_id: n.vehicle_id,
                    kind: "case",
                    summary: String::new(),
                    params: vec![("case", number.clone()), ("event", "opened".to_string())],
                    body: Some(subject.to_string()),
                    actor: n.actor,
                },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }
    /// A visible customer of the market whose phone or e-mail is `contact`.
    pub(crate) async fn find_customer_by_contact(
        self,
        scope: &Scope,
        org: &str,
        contact: &str,
    ) -> Result<Option<crate::crm::Customer>, StoreError> {
        let country: Option<String> =
            sqlx::query_scalar("SELECT m.code FROM organisations o JOIN markets m ON m.id = o.market_id WHERE o.id = $1")
                .bind(org)
                .fetch_optional(&self.store.pool)
                .await?;
        let handle = if contact.contains('@') {
            contact.trim().to_lowercase()
        } else {
            match Phone::parse(
                "contact",
                contact,
                country
                    .as_deref()
                    .and_then(crate::crm::calling_code)
                    .unwrap_or(""),
            ) {
                Ok(p) => p.as_str().to_string(),
                Err(_) => return Ok(None),
            }
        };
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM customers WHERE (LOWER(email) = $1 OR phone = $1) AND erased_at IS NULL ORDER BY created_at")
            .bind(&handle)
            .fetch_all(&self.store.pool)
            .await?;
        for id in ids {
            if let Ok(c) = self.store.crm().get_customer(scope, &id).await {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }
}
