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
                    sql.push_str(&format!("${n}"));
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
