//! `aftersales import customers|vehicles FILE`: reads the CSV, shows a progress bar, hands the
//! rows to the store's importer and prints the per-row error report.

use std::path::Path;

use aftersales_domain::validation::{FieldError, Rule};
use aftersales_store::crm::import::{ImportReport, VehicleRow};
use aftersales_store::crm::CustomerInput;
use aftersales_store::Store;
use anyhow::Context;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::ImportArgs;

/// Reads every row; a row that does not fit the columns becomes an error naming the column.
fn read_rows<T: DeserializeOwned>(
    file: &Path,
) -> anyhow::Result<Vec<(usize, Result<T, FieldError>)>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(file)
        .with_context(|| format!("opening {}", file.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("reading the header of {}", file.display()))?
        .clone();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let parsed = match record {
            Ok(r) => r.deserialize::<T>(Some(&headers)).map_err(|e| {
                let field = e
                    .position()
                    .and_then(|_| match e.kind() {
                        csv::ErrorKind::Deserialize { err, .. } => err
                            .field()
                            .and_then(|f| headers.get(f as usize))
                            .map(str::to_string),
                        _ => None,
                    })
                    .unwrap_or_else(|| "row".to_string());
                let msg = match e.kind() {
                    csv::ErrorKind::Deserialize { err, .. } => err.to_string(),
                    _ => e.to_string(),
                };
                FieldError::new(field, Rule::Type, msg)
            }),
            Err(e) => Err(FieldError::new("row", Rule::Format, e.to_string())),
        };
        rows.push((row, parsed));
    }
    Ok(rows)
}

pub async fn run(
    store: &Store,
    kind: &str,
    args: &ImportArgs,
    now: OffsetDateTime,
) -> anyhow::Result<ImportReport> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} rows ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("Importing {kind}"));
    let progress = |done: usize| bar.set_position(done as u64);
    let cli = store.cli();
    let report = if kind == "customers" {
        let rows = read_rows::<CustomerInput>(&args.file)?;
        bar.set_length(rows.len() as u64);
        cli.import_customers(&args.org, rows, args.dry_run, now, &progress)
            .await?
    } else {
        let rows = read_rows::<VehicleRow>(&args.file)?;
        bar.set_length(rows.len() as u64);
        cli.import_vehicles(&args.org, rows, args.dry_run, now, &progress)
            .await?
    };
    bar.finish_and_clear();
    Ok(report)
}

pub fn print(report: &ImportReport, errors_file: Option<&Path>) -> anyhow::Result<()> {
    let verb = if report.dry_run {
        "would be imported (dry run, nothing written)"
    } else {
        "imported"
    };
    println!(
        "{} rows read, {} {verb}, {} rejected.",
        report.rows,
        report.imported,
        report.rejected_rows()
    );
    if !report.errors.is_empty() {
        println!("\n{:>7}  {:<20} {:<12} message", "row", "field", "rule");
        for e in report.errors.iter().take(50) {
            println!(
                "{:>7}  {:<20} {:<12} {}",
                e.row,
                e.field,
                e.rule.as_str(),
                e.message
            );
        }
        if report.errors.len() > 50 {
            println!(
                "… and {} more (use --errors FILE for all of them)",
                report.errors.len() - 50
            );
        }
    }
    if let Some(path) = errors_file {
        let mut w =
            csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))?;
        w.write_record(["row", "field", "rule", "message"])?;
        for e in &report.errors {
            w.write_record([
                e.row.to_string(),
                e.field.clone(),
                e.rule.as_str().to_string(),
                e.message.clone(),
            ])?;
        }
        w.flush()?;
        println!("All errors written to {}", path.display());
    }
    Ok(())
}
