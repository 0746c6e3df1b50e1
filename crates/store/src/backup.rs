//! Consistent online snapshots. SQLite: the online backup API (pages copied while the product keeps
//! serving). PostgreSQL: the right `pg_dump` invocation, since a dump is the server's own job.

use std::path::Path;

use crate::db::{sqlite_path, Engine};
use crate::error::StoreError;

/// Copies the live SQLite database at `url` to `dest` (which must not exist yet).
pub fn sqlite_backup(url: &str, dest: &Path) -> Result<(), StoreError> {
    let src = sqlite_path(url)
        .ok_or_else(|| StoreError::Backup(format!("{url} names no SQLite file")))?;
    if !Path::new(&src).exists() {
        return Err(StoreError::Backup(format!("{src} does not exist")));
    }
    if dest.exists() {
        return Err(StoreError::Backup(format!(
            "{} exists already; choose a new file",
            dest.display()
        )));
    }
    let from =
        rusqlite::Connection::open_with_flags(&src, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| StoreError::Backup(format!("opening {src}: {e}")))?;
    from.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| StoreError::Backup(e.to_string()))?;
    let mut to = rusqlite::Connection::open(dest)
        .map_err(|e| StoreError::Backup(format!("creating {}: {e}", dest.display())))?;
    let backup = rusqlite::backup::Backup::new(&from, &mut to)
        .map_err(|e| StoreError::Backup(e.to_string()))?;
    // 256 pages a step, a short pause between steps so writers are not starved.
    backup
        .run_to_completion(256, std::time::Duration::from_millis(5), None)
        .map_err(|e| StoreError::Backup(e.to_string()))?;
    drop(backup);
    let ok: String = to
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| StoreError::Backup(e.to_string()))?;
    if ok != "ok" {
        return Err(StoreError::Backup(format!(
            "the copy failed its integrity check: {ok}"
        )));
    }
    Ok(())
}

/// What to run for a PostgreSQL backup and restore of `url`. A password in the URL is left out
/// of the printed command (it would land in shell history); `PGPASSWORD` or `~/.pgpass` supplies it.
pub fn postgres_instructions(url: &str, dest: &Path) -> String {
    let (shown, had_password) = match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(None);
            (u.to_string(), true)
        }
        _ => (url.to_string(), false),
    };
    let quoted = format!("'{}'", shown.replace('\'', "'\\''"));
    let dest = format!("'{}'", dest.display().to_string().replace('\'', "'\\''"));
    let mut out = format!(
        "PostgreSQL backups are taken by the server's own tool, consistent while the product runs:\n\n  \
         pg_dump --format=custom --no-owner --file={dest} {quoted}\n\n\
         Restore into an empty database with:\n\n  \
         pg_restore --no-owner --dbname='<new database url>' {dest}\n"
    );
    if had_password {
        out.push_str("\nThe password was left out: set PGPASSWORD or use ~/.pgpass.\n");
    }
    out
}

pub fn engine_of(url: &str) -> Result<Engine, StoreError> {
    Engine::from_url(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_instructions_hide_the_password() {
        let text = postgres_instructions(
            "postgres://app:s3cret@db.example/aftersales",
            Path::new("/backups/a.dump"),
        );
        assert!(text.contains("pg_dump --format=custom --no-owner --file='/backups/a.dump' 'postgres://app@db.example/aftersales'"), "{text}");
        assert!(!text.contains("s3cret"));
        assert!(text.contains("PGPASSWORD"));
    }
}
