//! SAF-T (PT) for a period, built from what was fixed at issue.

use super::*;

impl Billing<'_> {
    /// SAF-T (PT) of the documents a Portuguese legal entity issued in a period, ordered by type, series and number.
    pub async fn saft_pt(
        self,
        scope: &Scope,
        entity_id: &str,
        req: &SaftRequest,
    ) -> Result<Vec<u8>, StoreError> {
        let entity = self.entity_by_id(entity_id).await?;
        scope.require(&entity.organisation_id, Permission::BillingRead)?;
        self.saft_of(&entity, req).await
    }
    pub(crate) async fn saft_of(
        self,
        entity: &LegalEntity,
        req: &SaftRequest,
    ) -> Result<Vec<u8>, StoreError> {
        if entity.market != Market::Portugal {
            return Err(ValidationErrors::single(
                "legal_entity_id",
                Rule::NotAllowed,
                "SAF-T (PT) is for Portuguese legal entities",
            )
            .into());
        }
        if req.to < req.from {
            return Err(
                ValidationErrors::single("to", Rule::NotAllowed, "to is before from").into(),
            );
        }
        if req.from.year() != req.to.year() {
            return Err(ValidationErrors::single(
                "to",
                Rule::NotAllowed,
                "a SAF-T file covers one fiscal year: from and to must be in the same year",
            )
            .into());
        }
        let rows: Vec<DocRow> = sqlx::query_as(&format!(
            "SELECT {DOC_COLS} FROM billing_documents d LEFT JOIN users u ON u.id = d.issued_by \
             WHERE d.legal_entity_id = $1 AND d.status = 'issued' AND d.issue_date >= $2 AND d.issue_date <= $3 \
             ORDER BY d.doc_type, d.series_id, d.sequence"
        ))
        .bind(&entity.id)
        .bind(format_date(req.from))
        .bind(format_date(req.to))
        .fetch_all(&self.store.pool)
        .await?;
        let mut docs = Vec::new();
        for r in &rows {
            let lines = self.lines_of(&r.id).await?;
            docs.push(self.model_of(r, entity, &lines).await?);
        }
        let header = documents::saft::Header {
            seller: seller_of(entity),
            start: req.from,
            end: req.to,
            created: req.created,
            producer_nif: req.producer_nif.clone(),
            certificate: match entity.certificate.trim_start_matches('0') {
                "" => "0".to_string(),
                c => c.to_string(),
            },
            product_version: req.product_version.clone(),
        };
        documents::saft::write(&header, &docs).map_err(|e| {
            ValidationErrors::single("legal_entity_id", Rule::NotAllowed, e.to_string()).into()
        })
    }
}

impl crate::cli::Cli<'_> {
    /// SAF-T (PT) of the legal entity invoicing for `org` (id or exact name) over a period: the operator's
    /// export for the tax authority (`aftersales export saft-pt`).
    pub async fn saft_pt(
        &self,
        org: Option<&str>,
        req: &SaftRequest,
    ) -> Result<(String, Vec<u8>), StoreError> {
        let org_id = match org {
            Some(o) => self.find_organisation(o).await?.0,
            None => {
                let pt: Vec<(String, String)> = sqlx::query_as(
                    "SELECT organisation_id, name FROM legal_entities WHERE market = 'PT' ORDER BY name",
                )
                .fetch_all(&self.store.pool)
                .await?;
                match pt.as_slice() {
                    [(id, _)] => id.clone(),
                    [] => {
                        return Err(ValidationErrors::single(
                            "org",
                            Rule::NotAllowed,
                            "no Portuguese legal entity is set up",
                        )
                        .into())
                    }
                    many => {
                        return Err(ValidationErrors::single(
                            "org",
                            Rule::Required,
                            format!(
                                "several Portuguese legal entities invoice here; name one with --org: {}",
                                many.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", ")
                            ),
                        )
                        .into())
                    }
                }
            }
        };
        let entity = self
            .store
            .billing()
            .entity_for(&org_id)
            .await?
            .ok_or_else(|| {
                StoreError::from(ValidationErrors::single(
                    "org",
                    Rule::NotAllowed,
                    "no legal entity invoices for this organisation",
                ))
            })?;
        let bytes = self.store.billing().saft_of(&entity, req).await?;
        Ok((entity.name, bytes))
    }
}
