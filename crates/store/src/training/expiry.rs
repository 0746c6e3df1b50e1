//! Expiry reminders: the daily run tells each person whose training runs out within 30 days,
//! and their service managers, once per record.

use super::*;

impl Cli<'_> {
    /// Tells each person whose training runs out within 30 days (the latest passed completion of
    /// a course a profile of theirs requires), and the service managers where they work, once per
    /// record, through the outbox in each one's language. Returns how many records were reminded.
    pub async fn remind_expiring_trainings(
        &self,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let pool = &self.store.pool;
        let today = now.date();
        let until = today + Duration::days(30);
        type Row = (String, String, String, String, String);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT r.id, r.user_id, r.course_id, r.expires_on, c.names FROM training_records r JOIN training_courses c ON c.id = r.course_id \
             WHERE r.passed = 1 AND r.reminded_at IS NULL AND r.expires_on IS NOT NULL AND r.expires_on >= $1 AND r.expires_on <= $2 ORDER BY r.expires_on, r.id",
        )
        .bind(today.to_string())
        .bind(until.to_string())
        .fetch_all(pool)
        .await?;
        let mut n = 0;
        for (id, user, course, expires, names) in rows {
            // A later completion of the same course makes this one moot.
            let later: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM training_records WHERE user_id = $1 AND course_id = $2 AND passed = 1 AND (expires_on IS NULL OR expires_on > $3)",
            )
            .bind(&user)
            .bind(&course)
            .bind(&expires)
            .fetch_one(pool)
            .await?;
            let memberships: Vec<(String, String)> =
                sqlx::query_as("SELECT organisation_id, role FROM memberships WHERE user_id = $1")
                    .bind(&user)
                    .fetch_all(pool)
                    .await?;
            // Only a course a profile of theirs requires is worth a reminder.
            let mut required = false;
            for (org, role) in &memberships {
                let Ok(role) = Role::parse("role", role) else {
                    continue;
                };
                if profiles_at(pool, org)
                    .await?
                    .iter()
                    .any(|p| p.role == role && p.courses.iter().any(|(c, _, _)| *c == course))
                {
                    required = true;
                }
            }
            let orgs: Vec<String> = memberships.into_iter().map(|(o, _)| o).collect();
            let mut managers: Vec<String> = Vec::new();
            for o in &orgs {
                let ms: Vec<String> = sqlx::query_scalar(
                    "SELECT user_id FROM memberships WHERE organisation_id = $1 AND role = 'service-manager' AND user_id <> $2",
                )
                .bind(o)
                .bind(&user)
                .fetch_all(pool)
                .await?;
                managers.extend(ms);
            }
            let names = names_of(&names)?;
            let person = user_ref(pool, &user).await?.label;
            let mut tx = self.store.begin().await?;
            let claimed = sqlx::query(
                "UPDATE training_records SET reminded_at = $1 WHERE id = $2 AND reminded_at IS NULL",
            )
            .bind(micros(now))
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() == 0 || later > 0 || !required {
                tx.commit().await?;
                continue;
            }
            let Some(org) = orgs.first() else {
                tx.commit().await?;
                continue;
            };
            let link = format!("{}/training", self.store.public_url());
            for to in std::iter::once(user.clone()).chain(managers) {
                let lang: String = sqlx::query_scalar("SELECT language FROM users WHERE id = $1")
                    .bind(&to)
                    .fetch_one(&mut *tx)
                    .await?;
                let lang = Language::from_tag(&lang).unwrap_or(Language::En);
                crate::notify::enqueue_staff(
                    &mut tx,
                    org,
                    &to,
                    StaffNotice::TrainingExpiring,
                    &[
                        ("title", local(&names, lang)),
                        ("owner", person.clone()),
                        ("due", expires.clone()),
                        ("point", String::new()),
                        ("link", link.clone()),
                    ],
                    &format!("training-expiring:{id}"),
                    now,
                )
                .await?;
            }
            tx.commit().await?;
            n += 1;
        }
        Ok(n)
    }
}
