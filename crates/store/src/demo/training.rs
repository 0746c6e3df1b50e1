//! Demo competence and training, written through the store's own operations: Polestar's courses
//! and profiles (the high-voltage technician profile grants `hv-work`, so Polestar's workshops
//! assign high-voltage jobs by it), Polestar Portugal's data-protection course for advisors,
//! Tesla's courses and technician profile; records for the people of both markets (Pedro's
//! level-2 high-voltage training runs out within three weeks, João lacks a course), a session in
//! Lisboa with places, an e-learning activity mapped for xAPI completions.

use aftersales_domain::training::RecordSource;
use time::{Duration, OffsetDateTime};

use crate::error::StoreError;
use crate::training::{
    CompetenceProfileInput, Training, TrainingCourseInput, TrainingSessionInput, XapiMappingInput,
};
use crate::Store;

async fn user(store: &Store, username: &str) -> Result<String, StoreError> {
    let id: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&store.pool)
        .await?;
    id.ok_or(StoreError::NotFound)
}

fn course(
    code: &str,
    (nb, en, pt): (&str, &str, &str),
    provider: &str,
    hours: i64,
    validity: Option<i64>,
    high_voltage: bool,
) -> TrainingCourseInput {
    TrainingCourseInput {
        code: code.into(),
        name_nb: nb.into(),
        name_en: en.into(),
        name_pt: pt.into(),
        provider: provider.into(),
        duration_hours: hours,
        validity_months: validity,
        high_voltage,
    }
}

fn profile(
    code: &str,
    (nb, en, pt): (&str, &str, &str),
    role: &str,
    grants: Option<&str>,
    courses: Vec<String>,
) -> CompetenceProfileInput {
    CompetenceProfileInput {
        code: code.into(),
        name_nb: nb.into(),
        name_en: en.into(),
        name_pt: pt.into(),
        role: role.into(),
        grants: grants.map(str::to_string),
        course_ids: courses,
    }
}

pub(crate) async fn seed_training(
    store: &Store,
    org: &impl Fn(&str) -> String,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let t = store.training();
    let johan = store.scope_of(&user(store, "johan").await?).await?;
    let ana = store.scope_of(&user(store, "ana").await?).await?;
    let emily = store.scope_of(&user(store, "emily").await?).await?;
    let at = now - Duration::days(1200);
    let hq = org("polestar-hq");
    let hv1 = t
        .add_course(
            &johan,
            &hq,
            &course(
                "hv-1",
                (
                    "Elsikkerhet: høyvoltsbevissthet",
                    "Electrical safety: high-voltage awareness",
                    "Segurança elétrica: sensibilização para alta tensão",
                ),
                "Polestar Academy",
                8,
                Some(36),
                true,
            ),
            at,
        )
        .await?;
    let hv2 = t
        .add_course(
            &johan,
            &hq,
            &course(
                "hv-2",
                (
                    "Høyvoltstekniker (nivå 2)",
                    "High-voltage technician (level 2)",
                    "Técnico de alta tensão (nível 2)",
                ),
                "Polestar Academy",
                24,
                Some(24),
                true,
            ),
            at,
        )
        .await?;
    let ps3 = t
        .add_course(
            &johan,
            &hq,
            &course(
                "ps3-product",
                (
                    "Produktopplæring Polestar 3",
                    "Polestar 3 product training",
                    "Formação de produto Polestar 3",
                ),
                "Polestar Academy",
                16,
                None,
                false,
            ),
            at,
        )
        .await?;
    let advisor = t
        .add_course(
            &johan,
            &hq,
            &course(
                "ps-advisor",
                (
                    "Servicerådgiver: Polestars måte",
                    "Service advisor: the Polestar way",
                    "Rececionista: a forma Polestar",
                ),
                "Polestar Academy",
                8,
                Some(36),
                false,
            ),
            at,
        )
        .await?;
    t.add_profile(
        &johan,
        &hq,
        &profile(
            "hv-technician",
            (
                "Høyvoltstekniker",
                "High-voltage technician",
                "Técnico de alta tensão",
            ),
            "technician",
            Some("hv-work"),
            vec![hv1.id.clone(), hv2.id.clone()],
        ),
        at,
    )
    .await?;
    t.add_profile(
        &johan,
        &hq,
        &profile(
            "ps-technician",
            (
                "Polestar-tekniker",
                "Polestar technician",
                "Técnico Polestar",
            ),
            "technician",
            None,
            vec![ps3.id.clone()],
        ),
        at,
    )
    .await?;
    t.add_profile(
        &johan,
        &hq,
        &profile(
            "ps-advisor",
            (
                "Polestar servicerådgiver",
                "Polestar service advisor",
                "Rececionista Polestar",
            ),
            "service-advisor",
            None,
            vec![advisor.id.clone(), ps3.id.clone()],
        ),
        at,
    )
    .await?;
    let pt = org("polestar-pt");
    let rgpd = t
        .add_course(
            &ana,
            &pt,
            &course(
                "pt-rgpd",
                (
                    "Personvern (GDPR) i kundekontakt",
                    "Data protection (GDPR) in customer contact",
                    "Proteção de dados (RGPD) no contacto com clientes",
                ),
                "Polestar Portugal",
                4,
                Some(24),
                false,
            ),
            at,
        )
        .await?;
    t.add_profile(
        &ana,
        &pt,
        &profile(
            "pt-advisor",
            (
                "Rådgiver i Portugal",
                "Advisor in Portugal",
                "Rececionista em Portugal",
            ),
            "service-advisor",
            None,
            vec![rgpd.id.clone()],
        ),
        at,
    )
    .await?;
    let tesla = org("tesla-hq");
    let t_hv = t
        .add_course(
            &emily,
            &tesla,
            &course(
                "t-hv",
                (
                    "Tesla høyvoltssikkerhet",
                    "Tesla high-voltage safety",
                    "Segurança de alta tensão Tesla",
                ),
                "Tesla Service Academy",
                8,
                Some(36),
                true,
            ),
            at,
        )
        .await?;
    let t_my = t
        .add_course(
            &emily,
            &tesla,
            &course(
                "t-model-y",
                (
                    "Service på Model Y",
                    "Model Y service",
                    "Manutenção do Model Y",
                ),
                "Tesla Service Academy",
                16,
                None,
                false,
            ),
            at,
        )
        .await?;
    // Tesla's technicians: their high-voltage work is still assigned by certificate in the
    // workshop; the profile is for the gap analysis.
    t.add_profile(
        &emily,
        &tesla,
        &profile(
            "tesla-technician",
            ("Tesla-tekniker", "Tesla technician", "Técnico Tesla"),
            "technician",
            None,
            vec![t_hv.id.clone(), t_my.id.clone()],
        ),
        at,
    )
    .await?;

    // Records: (person, course, days ago completed).
    let today = now.date();
    let records: Vec<(&str, &str, i64)> = vec![
        ("bruno", &hv1.id, 200),
        ("bruno", &hv2.id, 200),
        ("bruno", &ps3.id, 300),
        ("catarina", &hv1.id, 150),
        ("catarina", &hv2.id, 150),
        ("catarina", &ps3.id, 150),
        ("pedro", &hv1.id, 700),
        // 24 months ago less 20 days: runs out within three weeks.
        ("pedro", &hv2.id, 710),
        ("joao", &advisor.id, 400),
        ("joao", &rgpd.id, 120),
        ("marta", &ps3.id, 90),
        ("ole", &t_hv.id, 300),
        ("ole", &t_my.id, 500),
        ("sindre", &t_hv.id, 1110),
        ("sindre", &t_my.id, 900),
    ];
    let mut tx = store.pool.begin().await?;
    for (who, course, days) in records {
        Training::insert_record(
            &mut tx,
            (&user(store, who).await?, course),
            today - Duration::days(days),
            true,
            RecordSource::Manual,
            None,
            None,
            now - Duration::days(days),
        )
        .await?;
    }
    tx.commit().await?;
    // A session of the level-2 course in Lisboa next month, Pedro registered.
    let s = t
        .add_session(
            &ana,
            &TrainingSessionInput {
                course_id: hv2.id.clone(),
                organisation_id: org("ws-lisboa"),
                starts_at: (now + Duration::days(10))
                    .replace_time(time::macros::time!(09:00))
                    .format(&time::format_description::well_known::Rfc3339)
                    .map_err(|e| StoreError::Internal(e.to_string()))?,
                location: "Polestar Service Point Lisboa, sala de formação".into(),
                places: 8,
            },
            now,
        )
        .await?;
    t.attendance(
        &ana,
        &s.id,
        &crate::training::AttendanceInput {
            user_id: user(store, "pedro").await?,
            status: "registered".into(),
        },
        now,
    )
    .await?;
    // Completions of the e-learning course count through xAPI.
    t.add_mapping(
        &ana,
        &pt,
        &XapiMappingInput {
            activity_id: "https://academy.polestar.example/courses/ps3-product".into(),
            course_id: ps3.id,
        },
        now,
    )
    .await?;
    Ok(())
}
