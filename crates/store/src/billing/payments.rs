//! Payments against issued documents, never more than what is open.

use super::*;

impl Billing<'_> {
    /// Records a payment against an issued invoice.
    pub async fn record_payment(
        self,
        scope: &Scope,
        id: &str,
        input: &PaymentInput,
        now: OffsetDateTime,
    ) -> Result<BillingDocument, StoreError> {
        let row = self.readable_doc(scope, id).await?;
        scope.require(&row.organisation_id, Permission::BillingWrite)?;
        let mut errs = ValidationErrors::default();
        let amount = errs.take(parse_centi("amount", &input.amount, 1, 100_000_000_000));
        let method = input.method.trim();
        if !PAYMENT_METHODS.contains(&method) {
            errs.push(FieldError::new(
                "method",
                Rule::OneOf,
                format!("method must be one of {}", PAYMENT_METHODS.join(", ")),
            ));
        }
        let paid_on = errs.take(parse_date("paid_on", &input.paid_on));
        let reference = opt(&input.reference).map(|r| r.chars().take(100).collect::<String>());
        if row.status != "issued" || row.kind != "invoice" {
            errs.push(FieldError::new(
                "id",
                Rule::NotAllowed,
                "payments are recorded against issued invoices",
            ));
        }
        errs.into_result()?;
        let (Some(amount), Some(paid_on)) = (amount, paid_on) else {
            return Err(StoreError::Internal("validated input incomplete".into()));
        };
        // The first statement writes: it locks the invoice (PostgreSQL row lock, SQLite write lock), so two
        // payments recorded at once cannot both fit into what was open.
        let mut tx = self.store.begin().await?;
        sqlx::query("UPDATE billing_documents SET version = version + 1 WHERE id = $1 AND status = 'issued'")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let gross: i64 =
            sqlx::query_scalar("SELECT gross_minor FROM billing_documents WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        let paid: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM billing_payments WHERE document_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let credited: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(gross_minor), 0) AS BIGINT) FROM billing_documents WHERE credited_document_id = $1 AND status = 'issued'",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let open = gross - paid - credited;
        if amount > open {
            return Err(ValidationErrors::single(
                "amount",
                Rule::NotAllowed,
                format!(
                    "amount is more than what is open ({})",
                    format_centi(open.max(0))
                ),
            )
            .into());
        }
        sqlx::query(
            "INSERT INTO billing_payments (id, document_id, amount_minor, method, paid_on, reference, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(new_id())
        .bind(id)
        .bind(amount)
        .bind(method)
        .bind(format_date(paid_on))
        .bind(&reference)
        .bind(scope.user_id())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.document(scope, id, now).await
    }
}
