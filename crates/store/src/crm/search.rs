//! Search while typing over customers and vehicles (FTS5 / tsvector: the one dialect-specific query).

use super::*;

/// Runs of letters and of digits: `AA00AA` → `AA`, `00`, `AA`.
pub(crate) fn runs(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        if !cur.is_empty()
            && cur
                .chars()
                .last()
                .is_some_and(|l| l.is_ascii_digit() != c.is_ascii_digit())
        {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `+4791234567` is found by `4791234567`, `91234567` and their prefixes.
pub(crate) fn phone_terms(e164: &str) -> Vec<String> {
    let digits = e164.trim_start_matches('+').to_string();
    let national = ["47", "351", "46", "45", "34"]
        .iter()
        .find_map(|cc| digits.strip_prefix(cc).map(str::to_string));
    std::iter::once(digits).chain(national).collect()
}

/// Lower case, diacritics folded, split on anything but letters and digits: the same on both engines.
pub fn normalise_terms(s: &str) -> String {
    let folded: String = s
        .chars()
        .flat_map(|c| c.to_lowercase())
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            'æ' => 'e',
            c => c,
        })
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) async fn index(
    conn: &mut sqlx::AnyConnection,
    engine: Engine,
    kind: &str,
    id: &str,
    org: &str,
    terms: &str,
) -> Result<(), StoreError> {
    match engine {
        // FTS5 rows are found through crm_search_keys: a DELETE by an UNINDEXED column would scan.
        Engine::Sqlite => {
            let old: Option<i64> = sqlx::query_scalar(
                "SELECT fts_rowid FROM crm_search_keys WHERE entity_kind = $1 AND entity_id = $2",
            )
            .bind(kind)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(rowid) = old {
                sqlx::query("DELETE FROM crm_search WHERE rowid = $1")
                    .bind(rowid)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query(
                    "DELETE FROM crm_search_keys WHERE entity_kind = $1 AND entity_id = $2",
                )
                .bind(kind)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            }
            if terms.is_empty() {
                return Ok(());
            }
            sqlx::query("INSERT INTO crm_search (entity_kind, entity_id, organisation_id, terms) VALUES ($1, $2, $3, $4)")
                .bind(kind)
                .bind(id)
                .bind(org)
                .bind(terms)
                .execute(&mut *conn)
                .await?;
            let rowid: i64 = sqlx::query_scalar("SELECT last_insert_rowid()")
                .fetch_one(&mut *conn)
                .await?;
            sqlx::query("INSERT INTO crm_search_keys (entity_kind, entity_id, fts_rowid) VALUES ($1, $2, $3)")
                .bind(kind)
                .bind(id)
                .bind(rowid)
                .execute(&mut *conn)
                .await?;
        }
        Engine::Postgres => {
            sqlx::query("DELETE FROM crm_search WHERE entity_kind = $1 AND entity_id = $2")
                .bind(kind)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            if terms.is_empty() {
                return Ok(());
            }
            sqlx::query("INSERT INTO crm_search (entity_kind, entity_id, organisation_id, terms) VALUES ($1, $2, $3, $4)")
                .bind(kind)
                .bind(id)
                .bind(org)
                .bind(terms)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// The engine's own full-text query for "every word, as a prefix": FTS5 `"a"* AND "b"*`, or
/// PostgreSQL `a:* & b:*`. Words are normalised to letters and digits, so nothing can inject syntax.
fn match_expression(engine: Engine, q: &str) -> Option<String> {
    // Digits typed in groups ("912 34 567", "0047 91234567") are one number.
    let mut words: Vec<String> = Vec::new();
    for w in normalise_terms(q).split(' ').filter(|w| !w.is_empty()) {
        let numeric = w.chars().all(|c| c.is_ascii_digit());
        match words.last_mut() {
            Some(last) if numeric && last.chars().all(|c| c.is_ascii_digit()) => last.push_str(w),
            _ => words.push(w.to_string()),
        }
    }
    let words: Vec<String> = words
        .into_iter()
        .map(|w| {
            w.strip_prefix("00")
                .filter(|r| r.len() > 6 && w.chars().all(|c| c.is_ascii_digit()))
                .map(str::to_string)
                .unwrap_or(w)
        })
        .take(8)
        .collect();
    if words.is_empty() {
        return None;
    }
    Some(match engine {
        Engine::Sqlite => words
            .iter()
            .map(|w| format!("\"{w}\"*"))
            .collect::<Vec<_>>()
            .join(" AND "),
        Engine::Postgres => words
            .iter()
            .map(|w| format!("{w}:*"))
            .collect::<Vec<_>>()
            .join(" & "),
    })
}

impl Crm<'_> {
    /// Customers and vehicles matching every word of `q` as a prefix: names, phone numbers (with or
    /// without country code), e-mail, VIN (whole or last six), plate, organisation number, NIF.
    pub async fn search_crm(
        self,
        scope: &Scope,
        q: &str,
        limit: i64,
    ) -> Result<Vec<SearchHit>, StoreError> {
        scope.require_somewhere(Permission::CrmRead)?;
        let Some(expr) = match_expression(self.store.engine(), q) else {
            return Ok(Vec::new());
        };
        let owners = scope.record_owners_with(Permission::CrmRead);
        let n = owners.len();
        let matcher = match self.store.engine() {
            Engine::Sqlite => "crm_search MATCH $1".to_string(),
            Engine::Postgres => "tsv @@ to_tsquery('simple', $1)".to_string(),
        };
        let sql = format!(
            "SELECT entity_kind, entity_id FROM crm_search WHERE {matcher} AND organisation_id IN ({}) LIMIT ${}",
            placeholders(2, n),
            n + 2
        );
        let mut query = sqlx::query_as::<_, (String, String)>(&sql).bind(&expr);
        for o in &owners {
            query = query.bind(o);
        }
        let rows = query
            .bind(limit.clamp(1, 50))
            .fetch_all(&self.store.pool)
            .await?;
        let mut hits = Vec::new();
        for (kind, id) in rows {
            if kind == "customer" {
                if let Ok(c) = self.get_customer(scope, &id).await {
                    let detail = [c.phone.clone(), c.email.clone(), c.city.clone()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" · ");
                    hits.push(SearchHit {
                        kind,
                        id,
                        label: c.name,
                        detail,
                    });
                }
            } else if let Ok(v) = self.get_vehicle(scope, &id).await {
                let label = [v.registration.clone(), v.model.clone(), Some(v.vin.clone())]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · ");
                let detail = v
                    .owners
                    .iter()
                    .find(|o| o.to_date.is_none())
                    .map(|o| o.name.clone())
                    .unwrap_or_default();
                hits.push(SearchHit {
                    kind,
                    id,
                    label,
                    detail,
                });
            }
        }
        hits.sort_by(|a, b| a.kind.cmp(&b.kind).then(a.label.cmp(&b.label)));
        Ok(hits)
    }
}
