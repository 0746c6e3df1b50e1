//! Rows written in batches of multi-row inserts, for generated histories (the demo's and the
//! benchmarks'): a table, its columns, rows of values, flushed inside the caller's transaction.

use crate::error::StoreError;

/// One value of a generated row.
pub(crate) enum V {
    T(String),
    I(i64),
    NullText,
    NullInt,
}

/// Rows of one table waiting to be written.
pub(crate) struct Batch {
    table: &'static str,
    cols: &'static [&'static str],
    pub rows: Vec<Vec<V>>,
}

impl Batch {
    pub fn new(table: &'static str, cols: &'static [&'static str]) -> Batch {
        Batch {
            table,
            cols,
            rows: Vec::new(),
        }
    }

    pub async fn flush(
        &mut self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    ) -> Result<(), StoreError> {
        let per = (30_000 / self.cols.len()).clamp(1, 400);
        // SQLite looks a numbered parameter's name up in a list (sqlx binds `$N` by name), so a
        // statement of thousands of them binds in quadratic time: anonymous ones bind in order.
        let anonymous = tx.backend_name() == "SQLite";
        for chunk in self.rows.chunks(per) {
            let mut sql = format!(
                "INSERT INTO {} ({}) VALUES ",
                self.table,
                self.cols.join(", ")
            );
            let mut n = 0;
            for (i, _) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for c in 0..self.cols.len() {
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    n += 1;
                    if anonymous {
                        sql.push('?');
                    } else {
                        sql.push_str(&format!("${n}"));
                    }
                }
                sql.push(')');
            }
            let mut q = sqlx::query(&sql);
            for row in chunk {
                for v in row {
                    q = match v {
                        V::T(s) => q.bind(s.as_str()),
                        V::I(i) => q.bind(*i),
                        V::NullText => q.bind(None::<String>),
                        V::NullInt => q.bind(None::<i64>),
                    };
                }
            }
            q.execute(&mut **tx).await?;
        }
        self.rows.clear();
        Ok(())
    }
}

/// A generated customer with their car, as both generated histories write them.
pub(crate) struct NewCar<'a> {
    pub owner_org: &'a str,
    pub name: String,
    pub street: String,
    pub language: &'a str,
    pub country: &'a str,
    pub vin: String,
    pub brand_id: &'a str,
    pub model: &'a str,
    pub year: i64,
    /// Delivery day and warranty terms version, where the history has them.
    pub delivered: Option<time::Date>,
    pub warranty_version: Option<&'a str>,
    /// Owned since.
    pub from_date: time::Date,
    pub created: i64,
}

/// The customers, cars and ownerships of a generated history.
pub(crate) struct CarRows {
    customers: Batch,
    vehicles: Batch,
    owners: Batch,
}

impl CarRows {
    pub fn new() -> CarRows {
        CarRows {
            customers: Batch::new(
                "customers",
                &[
                    "id",
                    "organisation_id",
                    "kind",
                    "name",
                    "language",
                    "preferred_channel",
                    "street",
                    "postal_code",
                    "city",
                    "country",
                    "created_at",
                ],
            ),
            vehicles: Batch::new(
                "vehicles",
                &[
                    "id",
                    "organisation_id",
                    "vin",
                    "brand_id",
                    "model",
                    "model_year",
                    "check_digit",
                    "delivery_date",
                    "warranty_version",
                    "created_at",
                ],
            ),
            owners: Batch::new(
                "vehicle_ownerships",
                &["id", "vehicle_id", "customer_id", "from_date"],
            ),
        }
    }

    /// Adds a customer and their car (found by the search like any other): (customer, vehicle).
    pub async fn push(
        &mut self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        engine: crate::Engine,
        c: NewCar<'_>,
    ) -> Result<(String, String), StoreError> {
        let customer = crate::new_id();
        let vehicle = crate::new_id();
        crate::crm::index(
            tx,
            engine,
            "customer",
            &customer,
            c.owner_org,
            &crate::crm::normalise_terms(&format!("{} {}", c.name, c.street)),
        )
        .await?;
        crate::crm::index(
            tx,
            engine,
            "vehicle",
            &vehicle,
            c.owner_org,
            &crate::crm::normalise_terms(&format!(
                "{} {} {} {}",
                c.vin,
                &c.vin[11..],
                c.model,
                c.name
            )),
        )
        .await?;
        self.customers.rows.push(vec![
            V::T(customer.clone()),
            V::T(c.owner_org.into()),
            V::T("person".into()),
            V::T(c.name),
            V::T(c.language.into()),
            V::T("email".into()),
            V::T(c.street),
            V::NullText,
            V::NullText,
            V::T(c.country.into()),
            V::I(c.created),
        ]);
        self.vehicles.rows.push(vec![
            V::T(vehicle.clone()),
            V::T(c.owner_org.into()),
            V::T(c.vin),
            V::T(c.brand_id.into()),
            V::T(c.model.into()),
            V::I(c.year),
            V::T("valid".into()),
            c.delivered.map_or(V::NullText, |d| V::T(d.to_string())),
            c.warranty_version.map_or(V::NullText, |w| V::T(w.into())),
            V::I(c.created),
        ]);
        self.owners.rows.push(vec![
            V::T(crate::new_id()),
            V::T(vehicle.clone()),
            V::T(customer.clone()),
            V::T(c.from_date.to_string()),
        ]);
        Ok((customer, vehicle))
    }

    pub async fn flush(
        &mut self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    ) -> Result<(), StoreError> {
        self.customers.flush(tx).await?;
        self.vehicles.flush(tx).await?;
        self.owners.flush(tx).await
    }
}
