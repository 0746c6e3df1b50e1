//! Follow-up tasks on cases.

use super::*;
use crate::db::Write;

impl Cases<'_> {
    /// A follow-up ("call the customer back on Tuesday") for the caller or a colleague.
    pub async fn add_task(
        self,
        scope: &Scope,
        case_id: &str,
        title: &str,
        due_at: OffsetDateTime,
        assignee: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Task, StoreError> {
        let row = self.writable_case(scope, case_id).await?;
        let mut errs = ValidationErrors::default();
        let title = errs.take(text("title", title, 3, 200));
        // A follow-up is due from today on, and within two years.
        let today = now.date();
        errs.take(aftersales_domain::validation::date_between(
            "due_at",
            due_at.date(),
            today - time::Duration::days(1),
            today + time::Duration::days(731),
        ));
        errs.clone().into_result()?;
        let title = title.unwrap_or_default();
        let assignee = assignee
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .unwrap_or(scope.user_id())
            .to_string();
        if assignee != scope.user_id() {
            let visible = self.store.users().get_user(scope, &assignee).await.is_ok();
            if !visible {
                return Err(ValidationErrors::single(
                    "assignee_user_id",
                    Rule::Unknown,
                    "assignee_user_id names no colleague you can see",
                )
                .into());
            }
        }
        let id = new_id();
        let mut tx = self.store.begin().await?;
        sqlx::query("INSERT INTO case_tasks (id, case_id, title, due_at, assignee_user_id, done_at, created_by, created_at) VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)")
            .bind(&id)
            .bind(case_id)
            .bind(&title)
            .bind(micros(due_at))
            .bind(&assignee)
            .bind(scope.user_id())
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        event(
            &mut tx,
            case_id,
            "task",
            None,
            Some(title.to_string()),
            Some(scope.user_id()),
            now,
        )
        .await?;
        on_customer_timeline(
            &mut tx,
            &row,
            ("task", title.clone()),
            Some(scope.user_id()),
            now,
        )
        .await?;
        tx.commit().await?;
        self.task(&id).await
    }
    pub(crate) async fn task(self, id: &str) -> Result<Task, StoreError> {
        type Row = (
            String,
            String,
            String,
            String,
            i64,
            String,
            String,
            Option<i64>,
        );
        let r: Row = sqlx::query_as(
            "SELECT t.id, t.case_id, c.number, t.title, t.due_at, t.assignee_user_id, u.display_name, t.done_at FROM case_tasks t \
             JOIN cases c ON c.id = t.case_id JOIN users u ON u.id = t.assignee_user_id WHERE t.id = $1",
        )
        .bind(id)
        .fetch_one(&self.store.pool)
        .await?;
        Ok(Task {
            id: r.0,
            case_id: r.1,
            case_number: r.2,
            title: r.3,
            due_at: from_micros(r.4),
            assignee: Ref {
                id: r.5,
                label: r.6,
            },
            done_at: r.7.map(from_micros),
        })
    }
    /// The caller's open follow-ups, soonest first.
    pub async fn my_tasks(self, scope: &Scope) -> Result<Vec<Task>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM case_tasks WHERE assignee_user_id = $1 AND done_at IS NULL ORDER BY due_at")
            .bind(scope.user_id())
            .fetch_all(&self.store.pool)
            .await?;
        let mut out = Vec::new();
        for id in ids {
            let task = self.task(&id).await?;
            // A case handed out of the caller's reach takes its tasks with it.
            if self.case_row(scope, &task.case_id).await.is_ok() {
                out.push(task);
            }
        }
        Ok(out)
    }
    /// Tasks of a case.
    pub async fn case_tasks(self, scope: &Scope, case_id: &str) -> Result<Vec<Task>, StoreError> {
        self.case_row(scope, case_id).await?;
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM case_tasks WHERE case_id = $1 ORDER BY due_at")
                .bind(case_id)
                .fetch_all(&self.store.pool)
                .await?;
        let mut out = Vec::new();
        for id in ids {
            out.push(self.task(&id).await?);
        }
        Ok(out)
    }
    pub async fn complete_task(
        self,
        scope: &Scope,
        task_id: &str,
        now: OffsetDateTime,
    ) -> Result<Task, StoreError> {
        let case_id: Option<String> =
            sqlx::query_scalar("SELECT case_id FROM case_tasks WHERE id = $1")
                .bind(task_id)
                .fetch_optional(&self.store.pool)
                .await?;
        let case_id = case_id.ok_or(StoreError::NotFound)?;
        self.writable_case(scope, &case_id).await?;
        sqlx::query("UPDATE case_tasks SET done_at = $1 WHERE id = $2 AND done_at IS NULL")
            .bind(micros(now))
            .bind(task_id)
            .write(self.store)
            .await?;
        self.task(task_id).await
    }
}
