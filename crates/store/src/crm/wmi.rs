//! The VIN table: manufacturer codes (WMI) with their brand, whether the check digit is required,
//! and the models their descriptor section names. Everyone with customer files reads it; an
//! administrator of a brand's headquarters keeps the brand's codes.

use super::*;

impl Crm<'_> {
    /// The whole table, by code.
    pub async fn wmi_table(self, scope: &Scope) -> Result<Vec<WmiEntry>, StoreError> {
        scope.require_somewhere(Permission::OrgRead)?;
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT wmi, brand_code, manufacturer, check_digit_required FROM vin_wmis ORDER BY brand_code, wmi",
        )
        .fetch_all(&self.store.pool)
        .await?;
        let models: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT wmi, vds_prefix, model FROM vin_models ORDER BY wmi, vds_prefix",
        )
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(wmi, brand_code, manufacturer, check)| WmiEntry {
                models: models
                    .iter()
                    .filter(|m| m.0 == wmi)
                    .map(|m| WmiModel {
                        vds_prefix: m.1.clone(),
                        model: m.2.clone(),
                    })
                    .collect(),
                wmi,
                brand_code,
                manufacturer,
                check_digit_required: check != 0,
            })
            .collect())
    }

    /// Whether the caller keeps the VIN codes of `brand_code`: an administrator at that brand's
    /// headquarters.
    pub async fn keeps_wmis_of(self, scope: &Scope, brand_code: &str) -> Result<bool, StoreError> {
        let hqs: Vec<String> = sqlx::query_scalar(
            "SELECT o.id FROM organisations o JOIN brands b ON b.id = o.brand_id WHERE o.kind = 'brand-hq' AND b.code = $1",
        )
        .bind(brand_code)
        .fetch_all(&self.store.pool)
        .await?;
        Ok(hqs.iter().any(|o| scope.permits(o, Permission::OrgManage)))
    }

    /// Sets a manufacturer code and its models in one transaction; an existing code keeps its brand.
    pub async fn set_wmi(
        self,
        scope: &Scope,
        wmi: &str,
        input: &WmiInput,
    ) -> Result<WmiEntry, StoreError> {
        let mut errs = ValidationErrors::default();
        let wmi = wmi.trim().to_ascii_uppercase();
        if wmi.len() != 3
            || !wmi
                .chars()
                .all(|c| c.is_ascii_alphanumeric() && !matches!(c, 'I' | 'O' | 'Q'))
        {
            errs.push(FieldError::new(
                "wmi",
                Rule::Format,
                "wmi must be three letters or digits (not I, O or Q)",
            ));
        }
        let brand = input.brand_code.trim().to_ascii_uppercase();
        let manufacturer = errs.take(text("manufacturer", &input.manufacturer, 2, 200));
        for (i, m) in input.models.iter().enumerate() {
            let p = m.vds_prefix.trim();
            if p.is_empty() || p.len() > 5 || !p.chars().all(|c| c.is_ascii_alphanumeric()) {
                errs.push(FieldError::new(
                    format!("models.{i}.vds_prefix"),
                    Rule::Format,
                    "vds_prefix must be one to five letters or digits",
                ));
            }
            errs.take(text(&format!("models.{i}.model"), &m.model, 1, 100));
        }
        let existing: Option<String> =
            sqlx::query_scalar("SELECT brand_code FROM vin_wmis WHERE wmi = $1")
                .bind(&wmi)
                .fetch_optional(&self.store.pool)
                .await?;
        if existing.as_ref().is_some_and(|b| *b != brand) {
            errs.push(FieldError::new(
                "brand_code",
                Rule::NotAllowed,
                "the code belongs to another brand",
            ));
        }
        let known: Option<String> = sqlx::query_scalar("SELECT id FROM brands WHERE code = $1")
            .bind(&brand)
            .fetch_optional(&self.store.pool)
            .await?;
        if known.is_none() {
            errs.push(FieldError::new(
                "brand_code",
                Rule::Unknown,
                "brand_code names no brand",
            ));
        }
        errs.clone().into_result()?;
        if !self.keeps_wmis_of(scope, &brand).await? {
            return Err(StoreError::Forbidden(
                "only an administrator of the brand's headquarters keeps its VIN codes".into(),
            ));
        }
        let Some(manufacturer) = manufacturer else {
            return Err(errs.into());
        };
        let mut tx = self.store.begin().await?;
        sqlx::query("DELETE FROM vin_models WHERE wmi = $1")
            .bind(&wmi)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM vin_wmis WHERE wmi = $1")
            .bind(&wmi)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO vin_wmis (wmi, brand_code, manufacturer, check_digit_required) VALUES ($1, $2, $3, $4)")
            .bind(&wmi)
            .bind(&brand)
            .bind(&manufacturer)
            .bind(i64::from(input.check_digit_required))
            .execute(&mut *tx)
            .await?;
        for m in &input.models {
            sqlx::query("INSERT INTO vin_models (wmi, vds_prefix, model) VALUES ($1, $2, $3)")
                .bind(&wmi)
                .bind(m.vds_prefix.trim().to_ascii_uppercase())
                .bind(m.model.trim())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.wmi_table(scope)
            .await?
            .into_iter()
            .find(|e| e.wmi == wmi)
            .ok_or(StoreError::NotFound)
    }
}
