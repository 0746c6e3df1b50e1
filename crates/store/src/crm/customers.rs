//! Customers (persons and companies) with their contacts; the organisation that owns new records.

use super::*;
use crate::db::Write;

impl Crm<'_> {
    /// Where the caller's new customers and vehicles are kept: the market entity above (or at)
    /// their first membership that may write CRM records, else that organisation itself.
    pub async fn crm_home(self, scope: &Scope) -> Result<String, StoreError> {
        let ms: Vec<(String, String)> = sqlx::query_as("SELECT organisation_id, role FROM memberships WHERE user_id = $1 ORDER BY granted_at, organisation_id")
            .bind(scope.user_id())
            .fetch_all(&self.store.pool)
            .await?;
        let start = ms
            .into_iter()
            .find(|(_, r)| {
                aftersales_domain::org::Role::parse("role", r)
                    .is_ok_and(|r| r.grants(Permission::CrmWrite))
            })
            .map(|(o, _)| o)
            .ok_or_else(|| {
                StoreError::Forbidden(format!(
                    "your roles do not allow {}",
                    Permission::CrmWrite.describe()
                ))
            })?;
        let market: Option<String> = sqlx::query_scalar(
            "WITH RECURSIVE up(id, parent_id, kind, depth) AS ( \
                SELECT id, parent_id, kind, 0 FROM organisations WHERE id = $1 \
                UNION ALL \
                SELECT p.id, p.parent_id, p.kind, up.depth + 1 FROM organisations p JOIN up ON p.id = up.parent_id \
             ) SELECT id FROM up WHERE kind = $2 ORDER BY depth LIMIT 1",
        )
        .bind(&start)
        .bind(OrgKind::MarketEntity.as_str())
        .fetch_optional(&self.store.pool)
        .await?;
        Ok(market.unwrap_or(start))
    }
    pub(crate) async fn owner_for_new(
        self,
        scope: &Scope,
        owner: Option<&str>,
    ) -> Result<String, StoreError> {
        let owner = match owner.map(str::trim).filter(|o| !o.is_empty()) {
            Some(o) => o.to_string(),
            None => self.crm_home(scope).await?,
        };
        if !scope.permits_record(&owner, Permission::CrmRead) {
            return Err(ValidationErrors::single(
                "organisation_id",
                Rule::Unknown,
                "organisation_id names no organisation you can see",
            )
            .into());
        }
        scope.require_record(&owner, Permission::CrmWrite)?;
        Ok(owner)
    }
    pub(crate) async fn contacts_of(self, customer_id: &str) -> Result<Vec<Contact>, StoreError> {
        type Row = (
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> =
            sqlx::query_as("SELECT id, name, role, email, phone FROM customer_contacts WHERE customer_id = $1 ORDER BY name")
                .bind(customer_id)
                .fetch_all(&self.store.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, role, email, phone)| Contact {
                id,
                name,
                role,
                email,
                phone,
            })
            .collect())
    }
    pub async fn create_customer(
        self,
        scope: &Scope,
        owner: Option<&str>,
        new: &NewCustomer,
        now: OffsetDateTime,
    ) -> Result<Customer, StoreError> {
        let owner = self.owner_for_new(scope, owner).await?;
        let mut tx = self.store.begin().await?;
        let id = insert_customer(&mut tx, self.store.engine(), &owner, new, now).await?;
        add_entry(
            &mut tx,
            NewEntry {
                organisation_id: &owner,
                customer_id: Some(&id),
                vehicle_id: None,
                kind: "customer-created",
                summary: String::new(),
                params: vec![("kind", new.kind.as_str().to_string())],
                body: None,
                actor: Some(scope.user_id()),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.get_customer(scope, &id).await
    }
    pub async fn get_customer(self, scope: &Scope, id: &str) -> Result<Customer, StoreError> {
        let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1");
        let row = sqlx::query_as::<_, CustomerRow>(&sql)
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        if !scope.permits_record(&row.organisation_id, Permission::CrmRead) {
            return Err(StoreError::NotFound);
        }
        let contacts = self.contacts_of(&row.id).await?;
        row.into_customer(contacts)
    }
    /// Customers the caller may see, by name.
    pub async fn list_customers(
        self,
        scope: &Scope,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<Page<Customer>, StoreError> {
        scope.require_somewhere(Permission::CrmRead)?;
        let owners = scope.record_owners_with(Permission::CrmRead);
        let n = owners.len();
        let after: Option<(String, String)> = match cursor {
            Some(c) => {
                sqlx::query_as("SELECT name, id FROM customers WHERE id = $1")
                    .bind(c)
                    .fetch_optional(&self.store.pool)
                    .await?
            }
            None => None,
        };
        let (after_name, after_id) = after.unwrap_or_default();
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE organisation_id IN ({}) \
             AND (name > ${a} OR (name = ${a} AND id > ${b})) ORDER BY name, id LIMIT ${l}",
            placeholders(1, n),
            a = n + 1,
            b = n + 2,
            l = n + 3
        );
        let mut q = sqlx::query_as::<_, CustomerRow>(&sql);
        for o in &owners {
            q = q.bind(o);
        }
        let rows = q
            .bind(after_name)
            .bind(after_id)
            .bind(limit + 1)
            .fetch_all(&self.store.pool)
            .await?;
        let items: Vec<Customer> = rows
            .into_iter()
            .map(|r| r.into_customer(Vec::new()))
            .collect::<Result<_, StoreError>>()?;
        Ok(Page::from_rows(items, limit, |c| c.id.clone()))
    }
    pub async fn update_customer(
        self,
        scope: &Scope,
        id: &str,
        new: &NewCustomer,
        expected_version: i64,
        now: OffsetDateTime,
    ) -> Result<Customer, StoreError> {
        let current = self.get_customer(scope, id).await?;
        scope.require_record(&current.organisation_id, Permission::CrmWrite)?;
        if current.erased_at.is_some() {
            return Err(ValidationErrors::single(
                "id",
                Rule::NotAllowed,
                "this customer was erased on request and cannot be changed",
            )
            .into());
        }
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "UPDATE customers SET kind = $1, name = $2, org_number = $3, nif = $4, email = $5, phone = $6, language = $7, \
             preferred_channel = $8, street = $9, postal_code = $10, city = $11, country = $12, latitude_e6 = $13, longitude_e6 = $14, \
             version = version + 1 WHERE id = $15 AND version = $16",
        )
        .bind(new.kind.as_str())
        .bind(&new.name)
        .bind(new.org_number.as_ref().map(|o| o.as_str().to_string()))
        .bind(new.nif.as_ref().map(|o| o.as_str().to_string()))
        .bind(new.email.as_ref().map(|o| o.as_str().to_string()))
        .bind(new.phone.as_ref().map(|o| o.as_str().to_string()))
        .bind(new.language.code())
        .bind(new.preferred_channel.as_str())
        .bind(new.street.clone())
        .bind(new.postal_code.clone())
        .bind(new.city.clone())
        .bind(&new.country)
        .bind(new.position.map(|p| to_e6(p.0)))
        .bind(new.position.map(|p| to_e6(p.1)))
        .bind(id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                current: current.version,
            });
        }
        index(
            &mut tx,
            self.store.engine(),
            "customer",
            id,
            &current.organisation_id,
            &new.search_terms(),
        )
        .await?;
        add_entry(
            &mut tx,
            NewEntry {
                organisation_id: &current.organisation_id,
                customer_id: Some(id),
                vehicle_id: None,
                kind: "customer-updated",
                summary: String::new(),
                params: Vec::new(),
                body: None,
                actor: Some(scope.user_id()),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.get_customer(scope, id).await
    }
    pub async fn add_contact(
        self,
        scope: &Scope,
        customer_id: &str,
        name: &str,
        role: Option<&str>,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<Customer, StoreError> {
        let c = self.get_customer(scope, customer_id).await?;
        scope.require_record(&c.organisation_id, Permission::CrmWrite)?;
        let mut errs = ValidationErrors::default();
        let name = errs.take(text("name", name, 1, 200));
        let role = role
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .and_then(|r| errs.take(text("role", r, 1, 100)));
        let email = email
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .and_then(|r| errs.take(Email::parse("email", r)));
        let phone = phone
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .and_then(|r| {
                errs.take(Phone::parse(
                    "phone",
                    r,
                    calling_code(&c.country).unwrap_or(""),
                ))
            });
        errs.clone().into_result()?;
        sqlx::query("INSERT INTO customer_contacts (id, customer_id, name, role, email, phone) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(new_id())
            .bind(customer_id)
            .bind(name.unwrap_or_default())
            .bind(role)
            .bind(email.map(|e| e.as_str().to_string()))
            .bind(phone.map(|p| p.as_str().to_string()))
            .write(self.store)
            .await?;
        self.get_customer(scope, customer_id).await
    }
}

pub(crate) async fn insert_customer(
    conn: &mut sqlx::AnyConnection,
    engine: Engine,
    owner: &str,
    new: &NewCustomer,
    now: OffsetDateTime,
) -> Result<String, StoreError> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO customers (id, organisation_id, kind, name, org_number, nif, email, phone, language, preferred_channel, \
         street, postal_code, city, country, latitude_e6, longitude_e6, erased_at, created_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, NULL, $17, 1)",
    )
    .bind(&id)
    .bind(owner)
    .bind(new.kind.as_str())
    .bind(&new.name)
    .bind(new.org_number.as_ref().map(|o| o.as_str().to_string()))
    .bind(new.nif.as_ref().map(|o| o.as_str().to_string()))
    .bind(new.email.as_ref().map(|o| o.as_str().to_string()))
    .bind(new.phone.as_ref().map(|o| o.as_str().to_string()))
    .bind(new.language.code())
    .bind(new.preferred_channel.as_str())
    .bind(new.street.clone())
    .bind(new.postal_code.clone())
    .bind(new.city.clone())
    .bind(&new.country)
    .bind(new.position.map(|p| to_e6(p.0)))
    .bind(new.position.map(|p| to_e6(p.1)))
    .bind(micros(now))
    .execute(&mut *conn)
    .await?;
    index(conn, engine, "customer", &id, owner, &new.search_terms()).await?;
    Ok(id)
}
