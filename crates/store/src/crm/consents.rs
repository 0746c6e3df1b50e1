//! Consents per purpose and channel, with proof; whether a customer may be contacted.

use super::*;

impl Crm<'_> {
    pub async fn record_consent(
        self,
        scope: &Scope,
        customer_id: &str,
        input: &ConsentInput,
        now: OffsetDateTime,
    ) -> Result<Consent, StoreError> {
        let c = self.get_customer(scope, customer_id).await?;
        scope.require_record(&c.organisation_id, Permission::CrmWrite)?;
        let mut errs = ValidationErrors::default();
        let purpose = errs.take(Purpose::parse("purpose", &input.purpose));
        let channel = errs.take(Channel::parse("channel", &input.channel));
        let source = errs.take(text("source", &input.source, 2, 200));
        let wording = errs.take(text_block("wording", &input.wording, 5, 2000));
        errs.clone().into_result()?;
        let (Some(purpose), Some(channel), Some(source), Some(wording)) =
            (purpose, channel, source, wording)
        else {
            return Err(errs.into());
        };
        let id = new_id();
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "INSERT INTO consents (id, customer_id, purpose, channel, granted, at, source, wording, recorded_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(customer_id)
        .bind(purpose.as_str())
        .bind(channel.as_str())
        .bind(i64::from(input.granted))
        .bind(micros(now))
        .bind(&source)
        .bind(&wording)
        .bind(scope.user_id())
        .execute(&mut *tx)
        .await?;
        add_entry(
            &mut tx,
            NewEntry {
                organisation_id: &c.organisation_id,
                customer_id: Some(customer_id),
                vehicle_id: None,
                kind: "consent",
                summary: String::new(),
                params: vec![
                    ("purpose", purpose.as_str().to_string()),
                    ("channel", channel.as_str().to_string()),
                    ("source", source.to_string()),
                    (
                        "granted",
                        if input.granted { "yes" } else { "no" }.to_string(),
                    ),
                ],
                body: None,
                actor: Some(scope.user_id()),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Consent {
            id,
            purpose,
            channel,
            granted: input.granted,
            at: now,
            source,
            wording,
            recorded_by: Some(scope.user_id().to_string()),
        })
    }
    /// The whole consent history of a customer, newest first: proof of what was given, when and how.
    pub async fn consents(
        self,
        scope: &Scope,
        customer_id: &str,
    ) -> Result<Vec<Consent>, StoreError> {
        self.get_customer(scope, customer_id).await?;
        self.consent_rows(customer_id).await
    }
    pub(crate) async fn consent_rows(self, customer_id: &str) -> Result<Vec<Consent>, StoreError> {
        type Row = (
            String,
            String,
            String,
            i64,
            i64,
            String,
            String,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, purpose, channel, granted, at, source, wording, recorded_by FROM consents WHERE customer_id = $1 ORDER BY at DESC, id DESC",
        )
        .bind(customer_id)
        .fetch_all(&self.store.pool)
        .await?;
        rows.into_iter()
            .map(|(id, p, c, g, at, source, wording, by)| {
                Ok(Consent {
                    id,
                    purpose: crate::decode("consents", "purpose", &p, Purpose::parse)?,
                    channel: crate::decode("consents", "channel", &c, Channel::parse)?,
                    granted: g != 0,
                    at: from_micros(at),
                    source,
                    wording,
                    recorded_by: by,
                })
            })
            .collect()
    }
    /// Whether a message of `purpose` may go to the customer through `channel`. Service messages
    /// need no consent unless the customer refused that channel; marketing needs a consent given
    /// for that channel and not withdrawn since. Erased customers get nothing.
    pub async fn may_contact(
        self,
        scope: &Scope,
        customer_id: &str,
        purpose: Purpose,
        channel: Channel,
    ) -> Result<bool, StoreError> {
        let c = self.get_customer(scope, customer_id).await?;
        if c.erased_at.is_some() {
            return Ok(false);
        }
        let has_address = match channel {
            Channel::Email => c.email.is_some(),
            Channel::Sms | Channel::Phone => c.phone.is_some(),
        };
        let latest = self
            .consent_rows(customer_id)
            .await?
            .into_iter()
            .find(|x| x.purpose == purpose && x.channel == channel)
            .map(|x| x.granted);
        Ok(has_address
            && match purpose {
                Purpose::Service => latest != Some(false),
                Purpose::Marketing => latest == Some(true),
            })
    }
}
