//! Hand-overs at the customer's door: the readings and photos of each car that changes hands when a
//! driver finishes a job, and the loaner agreement the customer signs on the driver's phone (the
//! terms in the customer's language, the PDF rendered once and kept with the repair order).

use aftersales_domain::i18n::Language;
use aftersales_domain::logistics::handover::{self, Car, Direction};
use aftersales_domain::logistics::JobKind;
use aftersales_domain::org::Permission;
use aftersales_domain::validation::{text, text_block, FieldError, Rule};
use aftersales_domain::ValidationErrors;
use base64::Engine;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::*;
use crate::crm::opt;
use crate::{micros, new_id};
pub use aftersales_api_types::logistics::{
    Handover, Handovers, LoanerAgreement, LoanerTerms, LoanerTermsInput,
};

/// What a driver's hand-over will write, once checked (and the agreement rendered).
pub(crate) struct Prepared {
    readings: Vec<(Car, i64, Option<i64>, Option<String>)>,
    /// The loaner's range as its display showed it.
    loaner_range: Option<i64>,
    photos: Vec<(Car, &'static str, Vec<u8>)>,
    agreement: Option<Signed>,
}

struct Signed {
    loaner_id: String,
    language: Language,
    terms: String,
    signer: String,
    signature: Vec<u8>,
    pdf: Vec<u8>,
    sha256: String,
}

fn b64(field: &str, data: &str) -> Result<Vec<u8>, FieldError> {
    let data = data.trim();
    let data = data.split_once(";base64,").map(|(_, d)| d).unwrap_or(data);
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| FieldError::new(field, Rule::NotAllowed, format!("{field} must be base64")))
}

impl Logistics<'_> {
    /// The market code of a service point (`NO`, `PT`), when it has a market.
    async fn market_of(self, org: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT m.code FROM organisations o JOIN markets m ON m.id = o.market_id WHERE o.id = $1",
        )
        .bind(org)
        .fetch_optional(&self.store.pool)
        .await?)
    }

    async fn terms_of(self, org: &str, lang: Language) -> Result<LoanerTerms, StoreError> {
        let own: Option<String> = sqlx::query_scalar(
            "SELECT body FROM loaner_terms WHERE organisation_id = $1 AND language = $2",
        )
        .bind(org)
        .bind(lang.code())
        .fetch_optional(&self.store.pool)
        .await?;
        let (body, standard) = match own {
            Some(body) => (body, false),
            None => (
                handover::standard_terms(self.market_of(org).await?.as_deref(), lang).to_string(),
                true,
            ),
        };
        Ok(LoanerTerms {
            language: lang.code().into(),
            sha256: hex(&Sha256::digest(body.as_bytes())),
            body,
            standard,
        })
    }

    /// The loaner terms a service point's customers sign, in every language.
    pub async fn loaner_terms(
        self,
        scope: &Scope,
        org: &str,
    ) -> Result<Vec<LoanerTerms>, StoreError> {
        scope.require(org, Permission::LogisticsRead)?;
        let mut out = Vec::new();
        for lang in Language::ALL {
            out.push(self.terms_of(org, lang).await?);
        }
        Ok(out)
    }

    /// Writes a service point's own terms in one language; an empty body goes back to the
    /// market's standard terms. Agreements already signed keep the terms they were signed with.
    pub async fn set_loaner_terms(
        self,
        scope: &Scope,
        org: &str,
        input: &LoanerTermsInput,
        now: OffsetDateTime,
    ) -> Result<LoanerTerms, StoreError> {
        scope.require(org, Permission::LogisticsManage)?;
        let mut errs = ValidationErrors::default();
        let lang = errs.take(Language::parse("language", &input.language));
        let body = if input.body.trim().is_empty() {
            None
        } else {
            errs.take(text_block("body", &input.body, 40, 10_000))
        };
        errs.into_result()?;
        let Some(lang) = lang else {
            return Err(StoreError::Internal("the language was checked".into()));
        };
        match body {
            None => {
                sqlx::query(
                    "DELETE FROM loaner_terms WHERE organisation_id = $1 AND language = $2",
                )
                .bind(org)
                .bind(lang.code())
                .execute(&self.store.pool)
                .await?;
            }
            Some(body) => {
                sqlx::query(
                    "INSERT INTO loaner_terms (organisation_id, language, body, updated_at, updated_by) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (organisation_id, language) \
                     DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                )
                .bind(org)
                .bind(lang.code())
                .bind(&body)
                .bind(micros(now))
                .bind(scope.user_id())
                .execute(&self.store.pool)
                .await?;
            }
        }
        self.terms_of(org, lang).await
    }

    /// The terms a job's customer reads before signing, in the customer's language.
    pub async fn terms_for_job(
        self,
        scope: &Scope,
        job: &TransportJob,
    ) -> Result<LoanerTerms, StoreError> {
        scope.require(&job.organisation_id, Permission::LogisticsRead)?;
        let lang = self.customer_language(&job.customer.id).await?;
        self.terms_of(&job.organisation_id, lang).await
    }

    async fn customer_language(self, customer: &str) -> Result<Language, StoreError> {
        let lang: Option<String> =
            sqlx::query_scalar("SELECT language FROM customers WHERE id = $1")
                .bind(customer)
                .fetch_optional(&self.store.pool)
                .await?;
        Ok(lang
            .as_deref()
            .and_then(Language::from_tag)
            .unwrap_or(Language::En))
    }

    /// Checks what the driver recorded at the door (readings of each car that changes hands,
    /// photos, the signature when a loaner goes out) and renders the agreement; errors go to
    /// `errs` and nothing is written yet.
    pub(crate) async fn prepare_handover(
        self,
        job: &TransportJob,
        input: &JobStatusInput,
        errs: &mut ValidationErrors,
        now: OffsetDateTime,
    ) -> Result<Prepared, StoreError> {
        let mut readings = Vec::new();
        let note = |field: &str, n: &Option<String>, errs: &mut ValidationErrors| {
            opt(n).and_then(|n| errs.take(text_block(field, n, 1, 1000)))
        };
        let found = handover::readings("", input.odometer_km, input.charge_pct);
        let ok = found.is_empty();
        errs.0.extend(found);
        let customer_note = note("note", &input.note, errs);
        if let (true, Some(km)) = (ok, input.odometer_km) {
            readings.push((Car::Customer, km, input.charge_pct, customer_note));
        }
        if let Some(loaner) = &job.loaner {
            let found =
                handover::readings("loaner_", input.loaner_odometer_km, input.loaner_charge_pct);
            let ok = found.is_empty();
            errs.0.extend(found);
            let loaner_note = note("loaner_note", &input.loaner_note, errs);
            if input
                .loaner_range_km
                .is_some_and(|k| !(0..=1500).contains(&k))
            {
                errs.push(FieldError::new(
                    "loaner_range_km",
                    Rule::NotAllowed,
                    "loaner_range_km must lie between 0 and 1500",
                ));
            }
            if let (true, Some(km)) = (ok, input.loaner_odometer_km) {
                if job.kind == JobKind::Delivery {
                    // The loaner comes back: not with fewer km than it went out with.
                    let out: Option<i64> = sqlx::query_scalar(
                        "SELECT h.odometer_km FROM handovers h WHERE h.repair_order_id = $1 AND h.car = 'loaner' \
                         AND h.direction = 'out' AND h.loaner_id = $2 ORDER BY h.at DESC",
                    )
                    .bind(&job.repair_order.id)
                    .bind(&loaner.id)
                    .fetch_optional(&self.store.pool)
                    .await?;
                    if let Some(out) = out {
                        errs.take(handover::loaner_back(out, km));
                    }
                }
                readings.push((Car::Loaner, km, input.loaner_charge_pct, loaner_note));
            }
        }
        if input.photos.len() > handover::MAX_PHOTOS * 2 {
            errs.push(FieldError::new(
                "photos",
                Rule::TooLong,
                format!("at most {} photos per car", handover::MAX_PHOTOS),
            ));
        }
        let mut photos = Vec::new();
        for (i, p) in input.photos.iter().enumerate() {
            let field = format!("photos.{i}");
            let Some(car) = errs.take(Car::parse(&format!("{field}.car"), &p.car)) else {
                continue;
            };
            if car == Car::Loaner && job.loaner.is_none() {
                errs.push(FieldError::new(
                    format!("{field}.car"),
                    Rule::NotAllowed,
                    "no loaner changes hands on this job",
                ));
                continue;
            }
            let Some(bytes) = errs.take(b64(&format!("{field}.data"), &p.data)) else {
                continue;
            };
            if let Some(kind) = errs.take(handover::photo_type(&format!("{field}.data"), &bytes)) {
                photos.push((car, kind, bytes));
            }
        }
        for car in [Car::Customer, Car::Loaner] {
            if photos.iter().filter(|p| p.0 == car).count() > handover::MAX_PHOTOS {
                errs.push(FieldError::new(
                    "photos",
                    Rule::TooLong,
                    format!("at most {} photos per car", handover::MAX_PHOTOS),
                ));
            }
        }
        let agreement = match (&job.loaner, job.kind) {
            (Some(loaner), JobKind::Pickup) => {
                self.sign(
                    job,
                    &loaner.id,
                    input,
                    errs,
                    readings.iter().find(|r| r.0 == Car::Loaner),
                    now,
                )
                .await?
            }
            _ => None,
        };
        Ok(Prepared {
            readings,
            loaner_range: input.loaner_range_km.filter(|_| job.loaner.is_some()),
            photos,
            agreement,
        })
    }

    /// The customer's signature on the loaner agreement, checked, and the PDF rendered off the
    /// async runtime.
    async fn sign(
        self,
        job: &TransportJob,
        loaner_id: &str,
        input: &JobStatusInput,
        errs: &mut ValidationErrors,
        loaner_out: Option<&(Car, i64, Option<i64>, Option<String>)>,
        now: OffsetDateTime,
    ) -> Result<Option<Signed>, StoreError> {
        let signer = match opt(&input.signer_name) {
            Some(s) => errs.take(text("signer_name", s, 2, 200)),
            None => {
                errs.push(FieldError::new(
                    "signer_name",
                    Rule::Required,
                    "the customer's name is written under the signature",
                ));
                None
            }
        };
        let signature = match opt(&input.signature_png) {
            Some(s) => errs.take(b64("signature_png", s)).and_then(|b| {
                errs.take(handover::signature("signature_png", &b))
                    .map(|_| b)
            }),
            None => {
                errs.push(
                    FieldError::new(
                        "signature_png",
                        Rule::Required,
                        "the customer signs the loaner agreement on the driver's phone",
                    )
                    .hint("err-signature-required"),
                );
                None
            }
        };
        let (Some(signer), Some(signature), Some(&(_, km, charge, _)), true) =
            (signer, signature, loaner_out, errs.is_empty())
        else {
            return Ok(None);
        };
        type Facts = (
            String,
            Option<String>,
            Option<String>,
            String,
            String,
            Option<String>,
        );
        let (point, registration, vin, plate, model, loaner_vin): Facts = sqlx::query_as(
            "SELECT o.name, v.registration, v.vin, l.plate, l.model, l.vin FROM transport_jobs j \
             JOIN organisations o ON o.id = j.organisation_id JOIN repair_orders r ON r.id = j.repair_order_id \
             LEFT JOIN vehicles v ON v.id = r.vehicle_id JOIN loaners l ON l.id = $2 WHERE j.id = $1",
        )
        .bind(&job.id)
        .bind(loaner_id)
        .fetch_one(&self.store.pool)
        .await?;
        let lang = self.customer_language(&job.customer.id).await?;
        let shown = self.terms_of(&job.organisation_id, lang).await?;
        // The customer signs what they read: terms changed while the form was open are read again.
        if opt(&input.terms_sha256).is_some_and(|h| h != shown.sha256) {
            errs.push(
                FieldError::new(
                    "terms_sha256",
                    Rule::NotAllowed,
                    "the loaner terms changed since they were shown; show them again",
                )
                .hint("err-terms-changed"),
            );
            return Ok(None);
        }
        let terms = shown.body;
        let zone = self.store.org().zone_of(&job.organisation_id).await?;
        let local = zone.local(now);
        let stamp = format!(
            "{} {:02}:{:02}",
            documents::pdf::date(local.date(), lang),
            local.hour(),
            local.minute()
        );
        let (ro, customer) = (job.repair_order.label.clone(), job.customer.label.clone());
        let (sig, t, s) = (signature.clone(), terms.clone(), signer.clone());
        let car = registration.or(vin);
        let pdf = tokio::task::spawn_blocking(move || {
            documents::agreement::render(&documents::agreement::Agreement {
                lang,
                service_point: &point,
                repair_order: &ro,
                customer: &customer,
                customer_car: car.as_deref(),
                loaner: &plate,
                loaner_model: &model,
                loaner_vin: loaner_vin.as_deref(),
                out_at: &stamp,
                odometer_km: km,
                charge_pct: charge,
                terms: &t,
                signer: &s,
                signed_at: &stamp,
                signature_png: &sig,
                day: local.date(),
            })
        })
        .await
        .map_err(|e| StoreError::Internal(format!("the agreement stopped: {e}")))?;
        // A PNG whose header reads well but whose picture does not is the signature's fault.
        let pdf = match pdf {
            Ok(pdf) => pdf,
            Err(e) => {
                tracing::info!(error = %e, "a signature image could not be typeset");
                errs.push(FieldError::new(
                    "signature_png",
                    Rule::NotAllowed,
                    "the signature image could not be read; sign again",
                ));
                return Ok(None);
            }
        };
        let sha256 = hex(&Sha256::digest(&pdf));
        Ok(Some(Signed {
            loaner_id: loaner_id.to_string(),
            language: lang,
            terms,
            signer,
            signature,
            pdf,
            sha256,
        }))
    }

    /// Writes the hand-over inside the transaction that marks the job done.
    pub(crate) async fn write_handover(
        self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        job: &TransportJob,
        p: Prepared,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut ids = Vec::new();
        for (car, km, charge, note) in &p.readings {
            let id = new_id();
            sqlx::query(
                "INSERT INTO handovers (id, organisation_id, job_id, repair_order_id, car, direction, loaner_id, at, \
                 odometer_km, charge_pct, note, recorded_by, range_km) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&id)
            .bind(&job.organisation_id)
            .bind(&job.id)
            .bind(&job.repair_order.id)
            .bind(car.as_str())
            .bind(handover::direction(job.kind, *car).as_str())
            .bind(job.loaner.as_ref().filter(|_| *car == Car::Loaner).map(|l| l.id.clone()))
            .bind(micros(now))
            .bind(km)
            .bind(charge)
            .bind(note.as_deref())
            .bind(actor)
            .bind(p.loaner_range.filter(|_| *car == Car::Loaner))
            .execute(&mut **tx)
            .await?;
            ids.push((*car, id));
        }
        // The loaner is planned with the range its display showed at the door.
        if let (Some(range), Some(loaner)) = (p.loaner_range, &job.loaner) {
            sqlx::query("UPDATE loaners SET range_km = $1 WHERE id = $2")
                .bind(range)
                .bind(&loaner.id)
                .execute(&mut **tx)
                .await?;
        }
        for (car, kind, bytes) in &p.photos {
            let Some((_, handover)) = ids.iter().find(|(c, _)| c == car) else {
                continue;
            };
            sqlx::query(
                "INSERT INTO handover_photos (id, handover_id, organisation_id, content_type, bytes, size, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(new_id())
            .bind(handover)
            .bind(&job.organisation_id)
            .bind(*kind)
            .bind(bytes.as_slice())
            .bind(bytes.len() as i64)
            .bind(micros(now))
            .execute(&mut **tx)
            .await?;
        }
        if let Some(a) = p.agreement {
            let agreement = new_id();
            sqlx::query(
                "INSERT INTO loaner_agreements (id, organisation_id, job_id, repair_order_id, loaner_id, language, terms, \
                 signer_name, signature, signed_at, pdf, sha256, recorded_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&agreement)
            .bind(&job.organisation_id)
            .bind(&job.id)
            .bind(&job.repair_order.id)
            .bind(&a.loaner_id)
            .bind(a.language.code())
            .bind(&a.terms)
            .bind(&a.signer)
            .bind(a.signature.as_slice())
            .bind(micros(now))
            .bind(a.pdf.as_slice())
            .bind(&a.sha256)
            .bind(actor)
            .execute(&mut **tx)
            .await?;
            // The customer gets the signed agreement by mail (where they have an address).
            let ro = job.repair_order.id.as_str();
            let ctx = self.store.workshop().addressee_of(tx, ro).await?;
            crate::notify::enqueue(
                tx,
                self.store.public_url(),
                &crate::notify::Notice {
                    event: aftersales_domain::notify::Event::LoanerAgreement,
                    ro: Some(ro),
                    case_id: None,
                    dedupe: format!("agreement:{agreement}"),
                    extra: Vec::new(),
                    place: None,
                    message: None,
                    calendar: None,
                    delay: time::Duration::ZERO,
                    item: job.loaner.as_ref().map(|l| l.label.clone()),
                    due: None,
                },
                &ctx,
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// Checks the caller may see the logistics of `org` (its logistics, or the workshop there).
    fn may_see(scope: &Scope, org: &str) -> Result<(), StoreError> {
        if scope.permits(org, Permission::LogisticsRead)
            || scope.permits(org, Permission::WorkshopWrite)
        {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    /// Whether the caller may read a signed agreement (the customer's name and signature): those
    /// who plan or drive the logistics, and advisors; not every technician on the order.
    fn may_read_agreements(scope: &Scope, org: &str) -> bool {
        scope.permits(org, Permission::LogisticsRead)
            || scope.permits(org, Permission::WorkshopPlan)
    }

    /// A repair order's hand-overs (each car in and out, with readings and photos) and the loaner
    /// agreements signed for it (for those who may read them).
    pub async fn handovers_of_repair_order(
        self,
        scope: &Scope,
        repair_order_id: &str,
    ) -> Result<Handovers, StoreError> {
        let org: String =
            sqlx::query_scalar("SELECT organisation_id FROM repair_orders WHERE id = $1")
                .bind(repair_order_id)
                .fetch_optional(&self.store.pool)
                .await?
                .ok_or(StoreError::NotFound)?;
        Self::may_see(scope, &org)?;
        type Row = (
            String,
            String,
            String,
            String,
            String,
            Option<String>,
            i64,
            i64,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT h.id, h.job_id, j.kind, h.car, h.direction, l.plate, h.at, h.odometer_km, h.charge_pct, h.note, \
             h.recorded_by, u.display_name, h.range_km FROM handovers h JOIN transport_jobs j ON j.id = h.job_id \
             LEFT JOIN loaners l ON l.id = h.loaner_id LEFT JOIN users u ON u.id = h.recorded_by \
             WHERE h.repair_order_id = $1 AND h.organisation_id = $2 ORDER BY h.at, h.car",
        )
        .bind(repair_order_id)
        .bind(&org)
        .fetch_all(&self.store.pool)
        .await?;
        let photos: Vec<(String, String)> = sqlx::query_as(
            "SELECT p.handover_id, p.id FROM handover_photos p JOIN handovers h ON h.id = p.handover_id \
             WHERE h.repair_order_id = $1 ORDER BY p.created_at, p.id",
        )
        .bind(repair_order_id)
        .fetch_all(&self.store.pool)
        .await?;
        let mut handovers = Vec::new();
        for (id, job, kind, car, direction, plate, at, km, charge, note, by, by_name, range) in rows
        {
            handovers.push(Handover {
                photos: photos
                    .iter()
                    .filter(|(h, _)| *h == id)
                    .map(|(_, p)| p.clone())
                    .collect(),
                id,
                job_id: job,
                repair_order_id: repair_order_id.to_string(),
                kind: crate::decode("transport_jobs", "kind", &kind, JobKind::parse)?,
                car: crate::decode("handovers", "car", &car, Car::parse)?,
                direction: crate::decode("handovers", "direction", &direction, Direction::parse)?,
                loaner: plate,
                at: from_micros(at),
                odometer_km: km,
                charge_pct: charge,
                range_km: range,
                note,
                recorded_by: by.map(|id| Ref {
                    id,
                    label: by_name.unwrap_or_default(),
                }),
            });
        }
        type ARow = (String, String, String, String, String, i64, String);
        let agreements: Vec<ARow> = if !Self::may_read_agreements(scope, &org) {
            Vec::new()
        } else {
            sqlx::query_as(
            "SELECT a.id, a.job_id, l.plate, a.language, a.signer_name, a.signed_at, a.sha256 FROM loaner_agreements a \
             JOIN loaners l ON l.id = a.loaner_id WHERE a.repair_order_id = $1 AND a.organisation_id = $2 ORDER BY a.signed_at",
        )
        .bind(repair_order_id)
        .bind(&org)
        .fetch_all(&self.store.pool)
        .await?
        };
        Ok(Handovers {
            handovers,
            agreements: agreements
                .into_iter()
                .map(
                    |(id, job, plate, language, signer, at, sha256)| LoanerAgreement {
                        id,
                        job_id: job,
                        repair_order_id: repair_order_id.to_string(),
                        loaner: plate,
                        language,
                        signer_name: signer,
                        signed_at: from_micros(at),
                        sha256,
                    },
                )
                .collect(),
        })
    }

    /// A hand-over photo: its type and bytes.
    pub async fn handover_photo(
        self,
        scope: &Scope,
        id: &str,
    ) -> Result<(String, Vec<u8>), StoreError> {
        let row: Option<(String, String, Vec<u8>)> = sqlx::query_as(
            "SELECT organisation_id, content_type, bytes FROM handover_photos WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await?;
        let (org, kind, bytes) = row.ok_or(StoreError::NotFound)?;
        Self::may_see(scope, &org)?;
        Ok((kind, bytes))
    }

    /// A signed loaner agreement as kept: a file name and the PDF.
    pub async fn agreement_pdf(
        self,
        scope: &Scope,
        id: &str,
    ) -> Result<(String, Vec<u8>), StoreError> {
        let row: Option<(String, String, Vec<u8>)> = sqlx::query_as(
            "SELECT a.organisation_id, r.number, a.pdf FROM loaner_agreements a \
             JOIN repair_orders r ON r.id = a.repair_order_id WHERE a.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await?;
        let (org, number, pdf) = row.ok_or(StoreError::NotFound)?;
        if !Self::may_read_agreements(scope, &org) {
            return Err(StoreError::NotFound);
        }
        Ok((format!("loaner-agreement-{number}.pdf"), pdf))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
