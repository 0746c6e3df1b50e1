//! Escalation into the service manager's queue, and taking a case.

use super::*;

impl Cases<'_> {
    /// Escalates a case to the service manager in one action.
    pub async fn escalate_case(
        self,
        scope: &Scope,
        id: &str,
        note: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Case, StoreError> {
        let row = self.writable_case(scope, id).await?;
        if row.escalated_at.is_some() {
            return Err(ValidationErrors::single(
                "id",
                Rule::NotAllowed,
                "the case is escalated already",
            )
            .into());
        }
        let note = note
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| text_block("note", n, 1, 2000))
            .transpose()
            .map_err(ValidationErrors::from)?;
        let mut tx = self.store.begin().await?;
        sqlx::query("UPDATE cases SET escalated_at = $1, escalation_reason = 'manual', updated_at = $1, version = version + 1 WHERE id = $2")
            .bind(micros(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        fact(
            &mut tx,
            id,
            "escalated",
            None,
            &[("reason", "manual")],
            note.map(|n| n.to_string()),
            Some(scope.user_id()),
            now,
        )
        .await?;
        on_customer_timeline(
            &mut tx,
            &row,
            ("event", "escalated".to_string()),
            Some(scope.user_id()),
            now,
        )
        .await?;
        tx.commit().await?;
        self.get_case(scope, id, now).await
    }
    /// Makes the caller the case's owner.
    pub async fn take_case(
        self,
        scope: &Scope,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Case, StoreError> {
        self.writable_case(scope, id).await?;
        let mut tx = self.store.begin().await?;
        sqlx::query("UPDATE cases SET owner_user_id = $1, updated_at = $2, version = version + 1 WHERE id = $3")
            .bind(scope.user_id())
            .bind(micros(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        event(
            &mut tx,
            id,
            "assigned",
            None,
            None,
            Some(scope.user_id()),
            now,
        )
        .await?;
        tx.commit().await?;
        self.get_case(scope, id, now).await
    }
}
