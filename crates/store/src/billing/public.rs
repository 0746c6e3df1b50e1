//! PDFs, and the customer's own view of a document by its token (no login).

use super::*;

impl Billing<'_> {
    /// The PDF of an issued document, in its customer's language: (file name, bytes). Rendering is CPU-bound
    /// and runs on a blocking thread.
    pub(crate) async fn pdf_of(self, doc_id: &str) -> Result<(String, Vec<u8>), StoreError> {
        let row = self.doc_row(doc_id).await?;
        if row.status != "issued" {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                "a draft has no PDF yet: issue it first",
            )
            .into());
        }
        let entity = self.entity_by_id(&row.legal_entity_id).await?;
        let lines = self.lines_of(&row.id).await?;
        let model = self.model_of(&row, &entity, &lines).await?;
        let paid: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM billing_payments WHERE document_id = $1",
        )
        .bind(&row.id)
        .fetch_one(&self.store.pool)
        .await?;
        let lang = aftersales_domain::i18n::Language::from_tag(&row.language)
            .unwrap_or(aftersales_domain::i18n::Language::En);
        let name = format!(
            "{}.pdf",
            model
                .number
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                })
                .collect::<String>()
        );
        let bytes =
            tokio::task::spawn_blocking(move || documents::pdf::render(&model, lang, Some(paid)))
                .await
                .map_err(|e| StoreError::Internal(e.to_string()))?
                .map_err(|e| StoreError::Internal(e.to_string()))?;
        Ok((name, bytes))
    }
    /// The PDF of a document the caller may read.
    pub async fn document_pdf(
        self,
        scope: &Scope,
        id: &str,
    ) -> Result<(String, Vec<u8>), StoreError> {
        let row = self.readable_doc(scope, id).await?;
        self.pdf_of(&row.id).await
    }
    pub(crate) async fn doc_by_token(self, token: &str) -> Result<DocRow, StoreError> {
        if token.len() < 20 || token.len() > 64 {
            return Err(StoreError::NotFound);
        }
        let row: Option<DocRow> = sqlx::query_as(&format!(
            "SELECT {DOC_COLS} FROM billing_documents d LEFT JOIN users u ON u.id = d.issued_by WHERE d.public_token = $1 AND d.status = 'issued'"
        ))
        .bind(token)
        .fetch_optional(&self.store.pool)
        .await?;
        row.ok_or(StoreError::NotFound)
    }
    /// A document through the customer's link (the unguessable token is the only key).
    pub async fn public_document(
        self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<PublicDocument, StoreError> {
        let row = self.doc_by_token(token).await?;
        let entity = self.entity_by_id(&row.legal_entity_id).await?;
        let d = self.assemble_doc(row.clone(), now, false).await?;
        Ok(PublicDocument {
            kind: d.kind,
            title_number: d.number.clone().unwrap_or_default(),
            seller: entity.name.clone(),
            issue_date: d.issue_date.clone().unwrap_or_default(),
            due_date: d.due_date.clone(),
            gross: d.gross.clone(),
            open: d.open.clone(),
            payment_status: d.payment_status,
            kid: d.kid.clone(),
            bank_account: entity.bank_account.clone(),
            language: row.language.clone(),
            token: row.public_token,
        })
    }
    pub async fn public_document_pdf(self, token: &str) -> Result<(String, Vec<u8>), StoreError> {
        let row = self.doc_by_token(token).await?;
        self.pdf_of(&row.id).await
    }
    /// Issued documents of a repair order, for its status page: (number, path, gross).
    pub(crate) async fn ro_documents(
        self,
        ro_id: &str,
    ) -> Result<Vec<(String, String, Money)>, StoreError> {
        let rows: Vec<(Option<String>, String, i64, String)> = sqlx::query_as(
            "SELECT number, public_token, gross_minor, currency FROM billing_documents \
             WHERE repair_order_id = $1 AND status = 'issued' AND pay_type = 'customer' ORDER BY issued_at",
        )
        .bind(ro_id)
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(n, t, g, c)| (n.unwrap_or_default(), format!("/d/{t}"), Money::new(g, &c)))
            .collect())
    }
}
