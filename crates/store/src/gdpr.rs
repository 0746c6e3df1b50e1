//! GDPR (capability gdpr): the export of everything stored about a customer, and erasure. It
//! reads across capabilities (CRM, cases, ...), so it sits above them and none of them calls it.

use aftersales_domain::org::Permission;
use time::OffsetDateTime;

use crate::crm::{add_entry, index, Customer, NewEntry, MANUAL_KINDS};
use crate::db::placeholders;
use crate::error::StoreError;
use crate::micros;
use crate::scope::Scope;

crate::capability!(
    /// Privacy requests about a customer: `store.gdpr().export_customer(..)`.
    Gdpr, gdpr
);

impl Gdpr<'_> {
    /// Everything stored about a customer, machine-readable (GDPR art. 15 and 20).
    pub async fn export_customer(
        self,
        scope: &Scope,
        customer_id: &str,
        now: OffsetDateTime,
    ) -> Result<serde_json::Value, StoreError> {
        let customer = self.store.crm().get_customer(scope, customer_id).await?;
        let consents = self.store.crm().consent_rows(customer_id).await?;
        let vehicles = self.store.crm().vehicles_of(scope, customer_id).await?;
        let timeline = self
            .store
            .crm()
            .timeline_where("customer_id", customer_id)
            .await?;
        // Their cases, with every message, note and follow-up, as far as the caller may read them.
        let mut cases = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .store
                .cases()
                .cases_of_customer(scope, customer_id, (cursor.as_deref(), 200), now)
                .await?;
            for case in page.items {
                let events = self.store.cases().case_events(scope, &case.id).await?;
                let tasks = self.store.cases().case_tasks(scope, &case.id).await?;
                cases.push(serde_json::json!({"case": case, "events": events, "tasks": tasks}));
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        // What lives in other capabilities: repair orders in full (jobs, the three Cs, lines),
        // appointments, messages sent and survey answers, and the legally kept invoices and credit
        // notes as references (number, amount), as far as the caller may read them.
        let mut history = self
            .store
            .crm()
            .customer_history(scope, customer_id)
            .await?;
        history.retain(|e| {
            matches!(
                e.kind.as_str(),
                "repair-order"
                    | "appointment"
                    | "invoice"
                    | "credit-note"
                    | "message-sent"
                    | "survey"
            )
        });
        let mut repair_orders = Vec::new();
        // Pickups and deliveries of those orders: where the car was fetched or brought, the hand-over readings.
        let mut transport = Vec::new();
        // The hand-overs at the door (readings, photo ids) and the loaner agreements signed.
        let mut handovers = Vec::new();
        for e in history.iter().filter(|e| e.kind == "repair-order") {
            if let Some(id) = e.params.get("id") {
                repair_orders.push(self.store.workshop().repair_order(scope, id).await?);
                match self.store.logistics().jobs_of_repair_order(scope, id).await {
                    Ok(jobs) => transport.extend(jobs),
                    Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e),
                }
                match self
                    .store
                    .logistics()
                    .handovers_of_repair_order(scope, id)
                    .await
                {
                    Ok(h) => handovers.push(h),
                    Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(serde_json::json!({
            "exported_at": now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "customer": customer,
            "consents": consents,
            "vehicles": vehicles,
            "timeline": timeline,
            "cases": cases,
            "repair_orders": repair_orders,
            "transport": transport,
            "handovers": handovers,
            "history": history,
        }))
    }
    /// Erasure on request (GDPR art. 17) that keeps what the law requires: the person's name,
    /// contact details, address, tax numbers, contacts and free-text notes are removed; the
    /// record stays as a pseudonym so vehicles keep their history and documents their payer
    /// reference (invoices keep their own copy of buyer data until the retention period ends).
    pub async fn erase_customer(
        self,
        scope: &Scope,
        customer_id: &str,
        now: OffsetDateTime,
    ) -> Result<Customer, StoreError> {
        let c = self.store.crm().get_customer(scope, customer_id).await?;
        scope.require_record(&c.organisation_id, Permission::CrmWrite)?;
        if c.erased_at.is_some() {
            return Ok(c);
        }
        // No words in any language are stored: the pages say "erased" in the reader's language.
        let pseudonym = format!("— {}", &c.id[c.id.len().saturating_sub(6)..]);
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "UPDATE customers SET name = $1, org_number = NULL, nif = NULL, email = NULL, phone = NULL, street = NULL, \
             postal_code = NULL, city = NULL, latitude_e6 = NULL, longitude_e6 = NULL, erased_at = $2, version = version + 1 WHERE id = $3",
        )
        .bind(&pseudonym)
        .bind(micros(now))
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM customer_contacts WHERE customer_id = $1")
            .bind(customer_id)
            .execute(&mut *tx)
            .await?;
        // Messages to the person: nothing more goes out, and what was written to them is blanked.
        sqlx::query(
            "UPDATE outbox SET recipient = NULL, subject = '', body = '', attachment = NULL,              status = CASE WHEN status = 'pending' THEN 'skipped' ELSE status END,              last_error = CASE WHEN status = 'pending' THEN 'erased' ELSE last_error END              WHERE customer_id = $1",
        )
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE timeline_events SET body = NULL WHERE customer_id = $1")
            .bind(customer_id)
            .execute(&mut *tx)
            .await?;
        // What people wrote by hand may name the person; what the system wrote does not.
        let manual = placeholders(2, MANUAL_KINDS.len());
        let sql = format!(
            "UPDATE timeline_events SET summary = '' WHERE customer_id = $1 AND kind IN ({manual})"
        );
        let mut q = sqlx::query(&sql).bind(customer_id);
        for k in MANUAL_KINDS {
            q = q.bind(*k);
        }
        q.execute(&mut *tx).await?;
        // Cases keep their numbers, dates and timers (needed for SLA and KPI history), not the
        // person's words or contact details.
        for sql in [
            "UPDATE cases SET subject = '', symptoms = NULL, contact = NULL WHERE customer_id = $1",
            "UPDATE case_events SET body = NULL WHERE case_id IN (SELECT id FROM cases WHERE customer_id = $1)",
            // The words that raised an escalation are the customer's.
            "UPDATE case_events SET params = NULL WHERE params LIKE '%\"words\"%' AND case_id IN (SELECT id FROM cases WHERE customer_id = $1)",
            "UPDATE timeline_events SET params = NULL WHERE customer_id = $1 AND (kind = 'consent' OR (kind = 'case' AND params LIKE '%\"task\"%'))",
            "UPDATE case_tasks SET title = '' WHERE case_id IN (SELECT id FROM cases WHERE customer_id = $1)",
            "UPDATE case_handoffs SET note = NULL WHERE case_id IN (SELECT id FROM cases WHERE customer_id = $1)",
            "DELETE FROM public_submissions WHERE case_id IN (SELECT id FROM cases WHERE customer_id = $1)",
            "UPDATE timeline_events SET summary = kind WHERE customer_id = $1 AND kind IN ('case', 'triage', 'consent', 'ownership')",
            "UPDATE consents SET source = '', wording = '' WHERE customer_id = $1",
            // The workshop keeps its orders (work done, times, lines: the invoices rest on them),
            // not the person's words or where they live: the three Cs, the answers to the survey,
            // the address of a mobile visit, and the order's event texts (job titles as typed).
            "UPDATE appointments SET address = NULL WHERE customer_id = $1",
            // Where the car was fetched or brought, and the hand-over notes: the address is kept as an empty
            // text (the column is required), the place and notes are cleared.
            "UPDATE transport_jobs SET address = '', latitude_e6 = NULL, longitude_e6 = NULL, handover_note = NULL WHERE repair_order_id IN (SELECT id FROM repair_orders WHERE customer_id = $1)",
            // The readings at each hand-over stay (the loaner's km are the fleet's record); the notes, the
            // photos and the signed agreements (name and signature) go.
            "UPDATE handovers SET note = NULL WHERE repair_order_id IN (SELECT id FROM repair_orders WHERE customer_id = $1)",
            "DELETE FROM handover_photos WHERE handover_id IN (SELECT h.id FROM handovers h JOIN repair_orders r ON r.id = h.repair_order_id WHERE r.customer_id = $1)",
            "DELETE FROM loaner_agreements WHERE repair_order_id IN (SELECT id FROM repair_orders WHERE customer_id = $1)",
            "UPDATE ro_jobs SET complaint = '', cause = NULL, correction = NULL WHERE repair_order_id IN (SELECT id FROM repair_orders WHERE customer_id = $1)",
            "UPDATE ro_events SET body = NULL WHERE kind <> 'assignment' AND repair_order_id IN (SELECT id FROM repair_orders WHERE customer_id = $1)",
            "UPDATE surveys SET comment = NULL WHERE repair_order_id IN (SELECT id FROM repair_orders WHERE customer_id = $1)",
        ] {
            sqlx::query(sql).bind(customer_id).execute(&mut *tx).await?;
        }
        index(
            &mut tx,
            self.store.engine(),
            "customer",
            customer_id,
            &c.organisation_id,
            "",
        )
        .await?;
        add_entry(
            &mut tx,
            NewEntry {
                organisation_id: &c.organisation_id,
                customer_id: Some(customer_id),
                vehicle_id: None,
                kind: "erased",
                summary: String::new(),
                params: Vec::new(),
                body: None,
                actor: Some(scope.user_id()),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        // Vehicles the person owned no longer find them by name.
        for v in self.store.crm().vehicles_of(scope, customer_id).await? {
            let current = v
                .owners
                .iter()
                .find(|o| o.to_date.is_none())
                .map(|o| o.name.clone());
            let mut conn = self.store.pool.acquire().await?;
            index(
                &mut conn,
                self.store.engine(),
                "vehicle",
                &v.id,
                &v.organisation_id,
                &crate::crm::Crm::vehicle_terms(
                    &v.vin,
                    v.registration.as_deref(),
                    v.model.as_deref(),
                    current.as_deref(),
                ),
            )
            .await?;
        }
        self.store.crm().get_customer(scope, customer_id).await
    }
}
