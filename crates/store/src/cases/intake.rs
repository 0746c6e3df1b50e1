//! Intake channels besides the phone: inbound e-mail (from a mail gateway, threaded into the
//! case it answers) and the public web form. The web form is the one entry that works without
//! a signed-in caller; it can only create a case in an organisation that takes web inquiries,
//! answers nothing but the new case number, and is rate limited per client address.

use crate::db::Write;
use aftersales_domain::cases::{Category, Channel, Priority, Status};
use aftersales_domain::crm::Phone;
use aftersales_domain::org::Permission;
use aftersales_domain::user::Email;
use aftersales_domain::validation::{text, text_block, FieldError, Rule};
use aftersales_domain::ValidationErrors;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::Cases;
use crate::cases::NewCase;
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{micros, new_id};
pub use aftersales_api_types::cases::{InboundEmail, IntakeResult};

/// An organisation that takes web inquiries, as the public form lists it.
#[derive(Debug, Clone, Serialize)]
pub struct PublicServicePoint {
    pub id: String,
    pub name: String,
    pub city: Option<String>,
    pub brand: String,
}

/// What a customer types into the public form.
#[derive(Debug, Clone, Default)]
pub struct WebInquiry {
    pub service_point: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub vehicle: String,
    pub subject: String,
    pub message: String,
}

/// How many web inquiries one client address may send in an hour.
pub const WEB_LIMIT_PER_HOUR: i64 = 5;

fn case_number_in(subject: &str) -> Option<String> {
    let i = subject.find("CASE-")?;
    let candidate: String = subject[i..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    (candidate.len() >= 15).then_some(candidate)
}

/// The address of a mailbox as mail headers write it: `Kari Nordmann <kari@example.no>` gives
/// `kari@example.no`; a bare address is returned as it is.
fn bare_address(s: &str) -> &str {
    let s = s.trim();
    match (s.rfind('<'), s.ends_with('>')) {
        (Some(open), true) => s[open + 1..s.len() - 1].trim(),
        _ => s,
    }
}

/// A message id as headers write it (`<id@host>`) and as mail libraries hand it over (`id@host`)
/// is one id: stored and compared without the angle brackets.
fn bare_id(s: &str) -> &str {
    s.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
}

/// A mail checked at the edge: the addresses parsed, the ids and text within their limits.
struct Mail<'a> {
    from: Email,
    to: Email,
    message_id: String,
    body: String,
    subject: &'a str,
    in_reply_to: Option<&'a str>,
}

impl<'a> Mail<'a> {
    fn parse(mail: &'a InboundEmail) -> Result<Mail<'a>, StoreError> {
        let mut errs = ValidationErrors::default();
        let from = errs.take(Email::parse("from", bare_address(&mail.from)));
        let to = errs.take(Email::parse("to", bare_address(&mail.to)));
        let message_id = errs.take(text("message_id", bare_id(&mail.message_id), 3, 500));
        let body = errs.take(text_block("text", &mail.text, 1, 100_000));
        errs.clone().into_result()?;
        let (Some(from), Some(to), Some(message_id), Some(body)) = (from, to, message_id, body)
        else {
            return Err(errs.into());
        };
        Ok(Mail {
            from,
            to,
            message_id,
            body,
            subject: mail.subject.trim(),
            in_reply_to: mail
                .in_reply_to
                .as_deref()
                .map(bare_id)
                .filter(|p| !p.is_empty()),
        })
    }
}

impl crate::cli::Cli<'_> {
    /// The organisation whose inbox has this address: the poller checks its mailbox's address
    /// once per poll, so a mistyped address fails the poll instead of every mail.
    pub async fn inbox_of_address(&self, address: &str) -> Result<String, StoreError> {
        let to = Email::parse("to", bare_address(address)).map_err(ValidationErrors::from)?;
        self.store().cases().inbox_of(&to).await
    }

    /// Takes in a mail the server's poller fetched from an inbox's own mailbox (IMAP): the
    /// mailbox's address decides the inbox, so no signed-in account stands behind it. The same
    /// threading and once-only rule as `Cases::receive_email`.
    pub async fn receive_mailbox_email(
        &self,
        mail: &InboundEmail,
        now: OffsetDateTime,
    ) -> Result<IntakeResult, StoreError> {
        let cases = self.store().cases();
        let mail = Mail::parse(mail)?;
        let org = cases.inbox_of(&mail.to).await?;
        cases.take_in(&org, &mail, now).await
    }
}

impl Cases<'_> {
    /// Registers the mail address of an organisation's inbox (administrators).
    pub async fn add_inbound_address(
        self,
        scope: &Scope,
        org_id: &str,
        address: &str,
    ) -> Result<(), StoreError> {
        scope.require(org_id, Permission::OrgManage)?;
        let address = Email::parse("address", address).map_err(ValidationErrors::from)?;
        let inserted =
            sqlx::query("INSERT INTO inbound_addresses (address, organisation_id) VALUES ($1, $2)")
                .bind(address.as_str().to_lowercase())
                .bind(org_id)
                .write(self.store)
                .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if StoreError::is_unique_violation(&e) => Err(ValidationErrors::single(
                "address",
                Rule::Unique,
                "the address belongs to an inbox already",
            )
            .into()),
            Err(e) => Err(e.into()),
        }
    }

    /// Takes in a mail from a mail gateway acting as a signed-in account: a reply (by
    /// `In-Reply-To` or a case number in the subject) joins its case and reopens it; anything else
    /// opens a new case linked to the sender when known.
    pub async fn receive_email(
        self,
        scope: &Scope,
        mail: &InboundEmail,
        now: OffsetDateTime,
    ) -> Result<IntakeResult, StoreError> {
        let mail = Mail::parse(mail)?;
        let org = self.inbox_of(&mail.to).await?;
        if !scope.permits(&org, Permission::OrgRead) {
            return Err(
                ValidationErrors::single("to", Rule::Unknown, "no inbox has this address").into(),
            );
        }
        scope.require(&org, Permission::CrmWrite)?;
        self.take_in(&org, &mail, now).await
    }

    /// The organisation whose inbox has this address.
    async fn inbox_of(self, to: &Email) -> Result<String, StoreError> {
        let org: Option<String> =
            sqlx::query_scalar("SELECT organisation_id FROM inbound_addresses WHERE address = $1")
                .bind(to.as_str().to_lowercase())
                .fetch_optional(&self.store.pool)
                .await?;
        org.ok_or_else(|| {
            StoreError::from(ValidationErrors::single(
                "to",
                Rule::Unknown,
                "no inbox has this address",
            ))
        })
    }

    /// The one way a mail becomes part of an inbox, whichever road it came by.
    async fn take_in(
        self,
        org: &str,
        mail: &Mail<'_>,
        now: OffsetDateTime,
    ) -> Result<IntakeResult, StoreError> {
        let Mail {
            from,
            message_id,
            body,
            subject,
            in_reply_to,
            ..
        } = mail;
        let org = org.to_string();
        // The same mail twice (a gateway retry) is taken once.
        let seen: Option<(String, String)> = sqlx::query_as(
            "SELECT m.case_id, c.number FROM case_mail m JOIN cases c ON c.id = m.case_id WHERE m.message_id = $1 AND m.organisation_id = $2",
        )
        .bind(message_id)
        .bind(&org)
            .fetch_optional(&self.store.pool)
            .await?;
        if let Some((case_id, case_number)) = seen {
            return Ok(IntakeResult {
                case_id,
                case_number,
                outcome: "duplicate".into(),
            });
        }
        let mut thread: Option<(String, String, String)> = None;
        if let Some(parent) = in_reply_to {
            // A reply to a mail of this inbox joins its case, also when the case was handed on.
            thread = sqlx::query_as("SELECT c.id, c.number, c.status FROM case_mail m JOIN cases c ON c.id = m.case_id WHERE m.message_id = $1 AND m.organisation_id = $2")
                .bind(parent)
                .bind(&org)
                .fetch_optional(&self.store.pool)
                .await?;
        }
        if let (None, Some(parent)) = (&thread, in_reply_to) {
            // A reply to a message the product sent (its Message-ID is the outbox id) joins the
            // case that message was about, when the reply comes from the address it went to.
            let outbox_id = parent.split('@').next().unwrap_or_default();
            thread = sqlx::query_as(
                "SELECT c.id, c.number, c.status FROM outbox o JOIN cases c ON c.id = o.case_id \
                 WHERE o.id = $1 AND o.channel = 'email' AND LOWER(o.recipient) = LOWER($2) \
                 AND (c.organisation_id = $3 OR c.id IN (SELECT case_id FROM case_handoffs WHERE from_organisation_id = $3))",
            )
            .bind(outbox_id)
            .bind(from.as_str())
            .bind(&org)
            .fetch_optional(&self.store.pool)
            .await?;
        }
        if thread.is_none() {
            if let Some(number) = case_number_in(subject) {
                // A case number alone is guessable: the sender must be the case's customer or contact.
                thread = sqlx::query_as(
                    "SELECT c.id, c.number, c.status FROM cases c LEFT JOIN customers cu ON cu.id = c.customer_id \
                     WHERE c.number = $1 AND (LOWER(c.contact) = LOWER($3) OR LOWER(cu.email) = LOWER($3)) \
                     AND (c.organisation_id = $2 OR c.id IN (SELECT case_id FROM case_handoffs WHERE from_organisation_id = $2))",
                )
                .bind(number)
                .bind(&org)
                .bind(from.as_str())
                .fetch_optional(&self.store.pool)
                .await?;
            }
        }
        if let Some((case_id, number, status)) = thread.filter(|t| t.2 != "closed") {
            let mut tx = self.store.begin().await?;
            crate::cases::event(
                &mut tx,
                &case_id,
                "inbound",
                None,
                Some(format!("{subject}\n\n{body}")),
                None,
                now,
            )
            .await?;
            let status = crate::decode("cases", "status", &status, Status::parse)?;
            if matches!(status, Status::WaitingForCustomer | Status::Resolved) {
                sqlx::query("UPDATE cases SET status = 'open', resolved_at = NULL, updated_at = $1, version = version + 1 WHERE id = $2")
                    .bind(micros(now))
                    .bind(&case_id)
                    .execute(&mut *tx)
                    .await?;
                crate::cases::fact(
                    &mut tx,
                    &case_id,
                    "status",
                    Some(Status::Open),
                    &[("by", "customer")],
                    None,
                    None,
                    now,
                )
                .await?;
            }
            sqlx::query("INSERT INTO case_mail (message_id, organisation_id, case_id, direction, at) VALUES ($1, $4, $2, 'in', $3)")
                .bind(message_id)
                .bind(&case_id)
                .bind(micros(now))
                .bind(&org)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(IntakeResult {
                case_id,
                case_number: number,
                outcome: "threaded".into(),
            });
        }
        let customer = self.customer_for_intake(&org, from.as_str()).await?;
        // Without a subject the customer's first line names the case: their words, in their language.
        let subject: String = if subject.chars().count() < 3 {
            body.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or(body.as_str())
                .chars()
                .take(80)
                .collect()
        } else {
            subject.chars().take(200).collect()
        };
        let case_id = self
            .insert_case(
                &NewCase {
                    org: &org,
                    customer: customer.as_ref().map(|(id, o)| (id.as_str(), o.as_str())),
                    vehicle_id: None,
                    channel: Channel::Email,
                    category: Category::Other,
                    priority: Priority::Normal,
                    subject: &subject,
                    symptoms: Some(body.as_str()),
                    contact: Some(from.as_str()),
                    actor: None,
                },
                now,
            )
            .await?;
        sqlx::query(
            "INSERT INTO case_mail (message_id, organisation_id, case_id, direction, at) VALUES ($1, $4, $2, 'in', $3)",
        )
        .bind(message_id)
        .bind(&case_id)
        .bind(micros(now))
        .bind(&org)
        .write(self.store)
        .await?;
        let number: String = sqlx::query_scalar("SELECT number FROM cases WHERE id = $1")
            .bind(&case_id)
            .fetch_one(&self.store.pool)
            .await?;
        Ok(IntakeResult {
            case_id,
            case_number: number,
            outcome: "created".into(),
        })
    }

    /// A customer of the organisation's market (owned at or above it) with this phone or e-mail.
    pub(crate) async fn customer_for_intake(
        self,
        org: &str,
        handle: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "WITH RECURSIVE up(id, parent_id) AS ( \
                SELECT id, parent_id FROM organisations WHERE id = $1 \
                UNION ALL SELECT p.id, p.parent_id FROM organisations p JOIN up ON p.id = up.parent_id \
             ) SELECT c.id, c.organisation_id FROM customers c JOIN up ON up.id = c.organisation_id \
             WHERE (LOWER(c.email) = LOWER($2) OR c.phone = $2) AND c.erased_at IS NULL ORDER BY c.created_at LIMIT 1",
        )
        .bind(org)
        .bind(handle)
        .fetch_optional(&self.store.pool)
        .await?)
    }

    /// Service points that take inquiries from the public web form, for its picker.
    pub async fn public_service_points(self) -> Result<Vec<PublicServicePoint>, StoreError> {
        let rows: Vec<(String, String, Option<String>, String)> = sqlx::query_as(
            "SELECT o.id, o.name, o.city, b.name FROM organisations o JOIN brands b ON b.id = o.brand_id WHERE o.web_intake = 1 ORDER BY b.name, o.name",
        )
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, city, brand)| PublicServicePoint {
                id,
                name,
                city,
                brand,
            })
            .collect())
    }

    /// Lets (or stops) an organisation take inquiries from the public web form (administrators).
    pub async fn set_web_intake(
        self,
        scope: &Scope,
        org_id: &str,
        on: bool,
    ) -> Result<(), StoreError> {
        scope.require(org_id, Permission::OrgManage)?;
        sqlx::query("UPDATE organisations SET web_intake = $1 WHERE id = $2")
            .bind(i64::from(on))
            .bind(org_id)
            .write(self.store)
            .await?;
        Ok(())
    }

    /// The public web form: validates, rate limits by client address, and opens a case at the
    /// chosen service point. Answers only with the case number.
    pub async fn submit_web_inquiry(
        self,
        w: &WebInquiry,
        ip: &str,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        let recent: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM public_submissions WHERE ip = $1 AND at > $2")
                .bind(ip)
                .bind(micros(now - Duration::hours(1)))
                .fetch_one(&self.store.pool)
                .await?;
        if recent >= WEB_LIMIT_PER_HOUR {
            return Err(StoreError::Forbidden(
                "too many inquiries from this address; please try again in an hour or call us"
                    .into(),
            ));
        }
        let mut errs = ValidationErrors::default();
        let org: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT o.id, m.code FROM organisations o LEFT JOIN markets m ON m.id = o.market_id WHERE o.id = $1 AND o.web_intake = 1",
        )
        .bind(w.service_point.trim())
        .fetch_optional(&self.store.pool)
        .await?;
        if org.is_none() {
            errs.push(FieldError::new(
                "service_point",
                Rule::OneOf,
                "choose one of the listed service points",
            ));
        }
        let name = errs.take(text("name", &w.name, 2, 200));
        let email = Some(w.email.trim())
            .filter(|e| !e.is_empty())
            .and_then(|e| errs.take(Email::parse("email", e)));
        let country = org.as_ref().and_then(|o| o.1.clone()).unwrap_or_default();
        let phone = Some(w.phone.trim())
            .filter(|p| !p.is_empty())
            .and_then(|p| {
                errs.take(Phone::parse(
                    "phone",
                    p,
                    crate::crm::calling_code(&country).unwrap_or(""),
                ))
            });
        if w.email.trim().is_empty() && w.phone.trim().is_empty() {
            errs.push(FieldError::new(
                "email",
                Rule::Required,
                "give an e-mail address or a phone number so that we can answer",
            ));
        }
        let subject = errs.take(text("subject", &w.subject, 3, 200));
        let message = errs.take(text_block("message", &w.message, 10, 5000));
        let vehicle = Some(w.vehicle.trim())
            .filter(|v| !v.is_empty())
            .and_then(|v| errs.take(text("vehicle", v, 2, 40)));
        errs.clone().into_result()?;
        let (Some((org, _)), Some(name), Some(subject), Some(message)) =
            (org, name, subject, message)
        else {
            return Err(errs.into());
        };
        let contact = email
            .as_ref()
            .map(|e| e.as_str().to_string())
            .or(phone.as_ref().map(|p| p.as_str().to_string()))
            .unwrap_or_default();
        // Unverified: link a customer only when every handle given belongs to the same one.
        let mut matches = Vec::new();
        for handle in [
            email.as_ref().map(|e| e.as_str().to_string()),
            phone.as_ref().map(|p| p.as_str().to_string()),
        ]
        .into_iter()
        .flatten()
        {
            matches.push(self.customer_for_intake(&org, &handle).await?);
        }
        let customer = match matches.first() {
            Some(Some(first))
                if matches
                    .iter()
                    .all(|m| m.as_ref().map(|c| &c.0) == Some(&first.0)) =>
            {
                Some(first.clone())
            }
            _ => None,
        };
        let symptoms = format!(
            "{message}\n\n— {name}{}",
            vehicle.map(|v| format!(", {v}")).unwrap_or_default()
        );
        let case_id = self
            .insert_case(
                &NewCase {
                    org: &org,
                    customer: customer.as_ref().map(|(id, o)| (id.as_str(), o.as_str())),
                    vehicle_id: None,
                    channel: Channel::Web,
                    category: Category::Other,
                    priority: Priority::Normal,
                    subject: &subject,
                    symptoms: Some(&symptoms),
                    contact: Some(&contact),
                    actor: None,
                },
                now,
            )
            .await?;
        sqlx::query("INSERT INTO public_submissions (id, ip, at, case_id) VALUES ($1, $2, $3, $4)")
            .bind(new_id())
            .bind(ip)
            .bind(micros(now))
            .bind(&case_id)
            .write(self.store)
            .await?;
        Ok(sqlx::query_scalar("SELECT number FROM cases WHERE id = $1")
            .bind(&case_id)
            .fetch_one(&self.store.pool)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    pub(crate) fn case_numbers_in_subjects() {
        assert_eq!(
            super::case_number_in("Re: [CASE-2026-00042] Rattle").as_deref(),
            Some("CASE-2026-00042")
        );
        assert_eq!(super::case_number_in("Rattle"), None);
    }

    #[test]
    pub(crate) fn display_names_around_addresses() {
        assert_eq!(
            super::bare_address("Kari Nordmann <kari@example.no>"),
            "kari@example.no"
        );
        assert_eq!(
            super::bare_address("\"Nordmann, Kari\" < kari@example.no >"),
            "kari@example.no"
        );
        assert_eq!(super::bare_address(" kari@example.no "), "kari@example.no");
        assert_eq!(super::bare_address("<broken"), "<broken");
    }

    #[test]
    pub(crate) fn message_ids_with_or_without_brackets() {
        assert_eq!(super::bare_id(" <a.1@mail.example> "), "a.1@mail.example");
        assert_eq!(super::bare_id("a.1@mail.example"), "a.1@mail.example");
    }
}
