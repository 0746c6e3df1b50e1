//! Catalogues per service point: labour operations with flat-rate times, parts and their stock.

use super::*;
use crate::db::Write;

impl Workshop<'_> {
    /// The labour operations that apply at an organisation: its own and those of the
    /// organisations above it (a market's catalogue serves its service points).
    pub async fn labour_operations(
        self,
        scope: &Scope,
        org: &str,
    ) -> Result<Vec<LabourOperation>, StoreError> {
        scope.require(org, Permission::OrgRead)?;
        self.operations_at(org).await
    }
    pub(crate) async fn operations_at(self, org: &str) -> Result<Vec<LabourOperation>, StoreError> {
        let lineage = self.store.org().lineage(org).await?;
        let sql = format!(
            "SELECT id, organisation_id, code, description, hours_centi, certification, needs_lift, needs_hv_area, bookable, names \
             FROM labour_operations WHERE organisation_id IN ({}) ORDER BY code",
            placeholders(1, lineage.len())
        );
        let mut q = sqlx::query_as::<
            _,
            (
                String,
                String,
                String,
                String,
                i64,
                Option<String>,
                i64,
                i64,
                i64,
                Option<String>,
            ),
        >(&sql);
        for o in &lineage {
            q = q.bind(o);
        }
        let rows = q.fetch_all(&self.store.pool).await?;
        // The nearest organisation's operation wins when codes repeat.
        let mut by_code: BTreeMap<String, (usize, LabourOperation)> = BTreeMap::new();
        for (id, organisation_id, code, description, hours, cert, lift, hv, bookable, names) in rows
        {
            let depth = lineage
                .iter()
                .position(|o| *o == organisation_id)
                .unwrap_or(usize::MAX);
            let op = LabourOperation {
                id,
                organisation_id,
                code: code.clone(),
                description,
                names: decode_names("labour_operations", names)?,
                hours: format_centi(hours),
                certification: cert,
                needs_lift: lift == 1,
                needs_hv_area: hv == 1,
                bookable: bookable == 1,
            };
            match by_code.get(&code) {
                Some((d, _)) if *d <= depth => {}
                _ => {
                    by_code.insert(code, (depth, op));
                }
            }
        }
        Ok(by_code.into_values().map(|(_, op)| op).collect())
    }
    pub async fn add_labour_operation(
        self,
        scope: &Scope,
        input: &LabourOperationInput,
        now: OffsetDateTime,
    ) -> Result<LabourOperation, StoreError> {
        scope.require(&input.organisation_id, Permission::WorkshopManage)?;
        let mut errs = ValidationErrors::default();
        let code = errs.take(text("code", &input.code, 2, 30).and_then(|c| {
            if c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '.')
            {
                Ok(c.to_ascii_uppercase())
            } else {
                Err(FieldError::new(
                    "code",
                    Rule::Format,
                    "code must be letters, digits, dots or dashes",
                ))
            }
        }));
        let description = errs.take(text("description", &input.description, 2, 200));
        let names = take_names(&mut errs, &input.names);
        let hours = errs.take(parse_centi("hours", &input.hours, MIN_HOURS_CENTI, 10_000));
        let cert = opt(&input.certification)
            .and_then(|c| errs.take(certification_code("certification", c)));
        errs.into_result()?;
        let id = new_id();
        let r = sqlx::query("INSERT INTO labour_operations (id, organisation_id, code, description, hours_centi, certification, needs_lift, needs_hv_area, bookable, created_at, names) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(&id)
            .bind(&input.organisation_id)
            .bind(&code)
            .bind(&description)
            .bind(hours)
            .bind(&cert)
            .bind(flag(input.needs_lift))
            .bind(flag(input.needs_hv_area))
            .bind(flag(input.bookable))
            .bind(micros(now))
            .bind(names_json(&names))
            .write(self.store)
            .await;
        match r {
            Err(e) if StoreError::is_unique_violation(&e) => Err(ValidationErrors::single(
                "code",
                Rule::Unique,
                "this organisation already has an operation with that code",
            )
            .into()),
            Err(e) => Err(e.into()),
            Ok(_) => Ok(LabourOperation {
                id,
                organisation_id: input.organisation_id.clone(),
                code: code.unwrap_or_default(),
                description: description.unwrap_or_default(),
                names,
                hours: format_centi(hours.unwrap_or(MIN_HOURS_CENTI)),
                certification: cert,
                needs_lift: input.needs_lift,
                needs_hv_area: input.needs_hv_area,
                bookable: input.bookable,
            }),
        }
    }
    /// Parts that apply at an organisation (its own and its ancestors'), with stock at `org`.
    pub async fn parts(self, scope: &Scope, org: &str) -> Result<Vec<Part>, StoreError> {
        scope.require(org, Permission::OrgRead)?;
        let lineage = self.store.org().lineage(org).await?;
        let currency = self.currency_of(org).await?;
        let sql = format!(
            "SELECT p.id, p.organisation_id, p.part_number, p.description, p.price_minor, p.cost_minor, s.quantity_centi, p.names \
             FROM parts p LEFT JOIN part_stock s ON s.part_id = p.id AND s.organisation_id = $1 \
             WHERE p.organisation_id IN ({}) ORDER BY p.part_number",
            placeholders(2, lineage.len())
        );
        type Row = (
            String,
            String,
            String,
            String,
            i64,
            i64,
            Option<i64>,
            Option<String>,
        );
        let mut q = sqlx::query_as::<_, Row>(&sql).bind(org);
        for o in &lineage {
            q = q.bind(o);
        }
        q.fetch_all(&self.store.pool)
            .await?
            .into_iter()
            .map(
                |(id, organisation_id, part_number, description, price, cost, qty, names)| {
                    Ok(Part {
                        id,
                        organisation_id,
                        part_number,
                        description,
                        names: decode_names("parts", names)?,
                        price: Money::new(price, &currency),
                        cost: Money::new(cost, &currency),
                        stock: vec![Stock {
                            organisation_id: org.to_string(),
                            quantity: format_centi(qty.unwrap_or(0)),
                        }],
                    })
                },
            )
            .collect()
    }
    pub async fn add_part(
        self,
        scope: &Scope,
        input: &PartInput,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        scope.require(&input.organisation_id, Permission::WorkshopManage)?;
        let mut errs = ValidationErrors::default();
        let number = errs
            .take(text("part_number", &input.part_number, 2, 40))
            .map(|n| n.to_ascii_uppercase());
        let description = errs.take(text("description", &input.description, 2, 200));
        let names = take_names(&mut errs, &input.names);
        let price = errs.take(parse_centi("price", &input.price, 0, 10_000_000_000));
        let cost = errs.take(parse_centi("cost", &input.cost, 0, 10_000_000_000));
        errs.into_result()?;
        let id = new_id();
        let r = sqlx::query("INSERT INTO parts (id, organisation_id, part_number, description, price_minor, cost_minor, created_at, names) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&id)
            .bind(&input.organisation_id)
            .bind(number)
            .bind(description)
            .bind(price)
            .bind(cost)
            .bind(micros(now))
            .bind(names_json(&names))
            .write(self.store)
            .await;
        match r {
            Err(e) if StoreError::is_unique_violation(&e) => Err(ValidationErrors::single(
                "part_number",
                Rule::Unique,
                "this organisation already has a part with that number",
            )
            .into()),
            Err(e) => Err(e.into()),
            Ok(_) => Ok(id),
        }
    }
    /// Sets the stock of a part at a service point (a count, not a movement).
    pub async fn set_stock(
        self,
        scope: &Scope,
        part_id: &str,
        input: &StockInput,
    ) -> Result<(), StoreError> {
        self.require_service_point(scope, &input.organisation_id, Permission::WorkshopManage)
            .await?;
        let owner: Option<String> =
            sqlx::query_scalar("SELECT organisation_id FROM parts WHERE id = $1")
                .bind(part_id)
                .fetch_optional(&self.store.pool)
                .await?;
        let owner = owner.ok_or(StoreError::NotFound)?;
        if !self
            .store
            .org()
            .lineage(&input.organisation_id)
            .await?
            .contains(&owner)
        {
            return Err(StoreError::NotFound);
        }
        let qty = parse_centi("quantity", &input.quantity, 0, 100_000_000)
            .map_err(ValidationErrors::from)?;
        let mut tx = self.store.begin().await?;
        sqlx::query("DELETE FROM part_stock WHERE part_id = $1 AND organisation_id = $2")
            .bind(part_id)
            .bind(&input.organisation_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO part_stock (part_id, organisation_id, quantity_centi) VALUES ($1, $2, $3)",
        )
        .bind(part_id)
        .bind(&input.organisation_id)
        .bind(qty)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Names per language from an input, their errors added to `errs`.
fn take_names(errs: &mut ValidationErrors, names: &LocalNames) -> LocalNames {
    match aftersales_domain::i18n::parse_names("names", names) {
        Ok(n) => n,
        Err(e) => {
            for f in e {
                errs.push(f);
            }
            LocalNames::new()
        }
    }
}

pub(crate) fn names_json(names: &LocalNames) -> Option<String> {
    (!names.is_empty()).then(|| serde_json::to_string(names).unwrap_or_default())
}

/// Reads stored names back; a value that is not a JSON object of strings fails loudly.
pub(crate) fn decode_names(
    table: &'static str,
    value: Option<String>,
) -> Result<LocalNames, StoreError> {
    match value {
        None => Ok(LocalNames::new()),
        Some(v) => serde_json::from_str(&v).map_err(|_| StoreError::Corrupt {
            table,
            column: "names",
            value: v,
        }),
    }
}
