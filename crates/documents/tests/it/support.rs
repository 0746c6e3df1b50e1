//! Sample documents and the official validators (Python, from ../shared/validation).

use aftersales_domain::billing::{
    breakdown, rate_bp, DocKind, Exemption, TaxCode, TaxRegion, TaxedLine,
};
use aftersales_domain::money::line_total;
use documents::{Document, Line, Party, Seller, Unit};
use std::path::PathBuf;
use std::process::Command;
use time::macros::date;

pub fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// Skips (prints why) where a tool is missing, and fails under CI=true.
pub fn require(tool: &str, ok: bool) -> bool {
    if ok {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{tool} is required under CI=true");
    }
    eprintln!("skipped: {tool} is not installed");
    false
}

pub fn python_has(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs both official schematron files on the document; returns the findings (fatal ones fail the test).
pub fn schematron(xml: &str) -> Option<String> {
    if !require("python3 with saxonche", python_has("saxonche")) {
        return None;
    }
    let dir = std::env::temp_dir().join(format!("ehf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let path = dir.join(format!("doc-{n}.xml"));
    std::fs::write(&path, xml).unwrap();
    let mut all = String::new();
    for sch in ["CEN-EN16931-UBL.sch", "PEPPOL-EN16931-UBL.sch"] {
        let out = Command::new("python3")
            .arg(shared().join("validation/schematron.py"))
            .arg(shared().join("validation/peppol/sch").join(sch))
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{sch} found fatal errors:\n{text}\n--- document ---\n{xml}"
        );
        all.push_str(&text);
    }
    Some(all)
}

pub fn line(desc: &str, qty: i64, price: i64, code: TaxCode, region: TaxRegion) -> Line {
    let exemption = if code.is_zero() {
        let market = region.market();
        let c = if market == aftersales_domain::billing::Market::Portugal {
            "M07"
        } else {
            ""
        };
        Exemption::parse("l", market, code, c, "").unwrap()
    } else {
        None
    };
    Line {
        code: Some("LAB-1".into()),
        description: desc.into(),
        quantity_centi: qty,
        unit: if qty % 100 == 0 {
            Unit::Piece
        } else {
            Unit::Hour
        },
        unit_price_minor: price,
        net_minor: line_total(price, qty),
        tax_code: code,
        rate_bp: rate_bp(region, code),
        exemption,
        service: qty % 100 != 0,
    }
}

pub fn with_totals(mut d: Document) -> Document {
    let taxed: Vec<TaxedLine> = d
        .lines
        .iter()
        .map(|l| TaxedLine {
            net_minor: l.net_minor,
            code: l.tax_code,
            rate_bp: l.rate_bp,
            exemption: l.exemption.clone(),
        })
        .collect();
    let (subtotals, totals) = breakdown(&taxed);
    d.subtotals = subtotals;
    d.totals = totals;
    d
}

pub fn norwegian_invoice() -> Document {
    let r = TaxRegion::Norway;
    with_totals(Document {
        kind: DocKind::Invoice,
        number: "F-1001".into(),
        issue_date: date!(2026 - 11 - 20),
        due_date: Some(date!(2026 - 12 - 04)),
        delivery_date: Some(date!(2026 - 11 - 19)),
        currency: "NOK".into(),
        region: r,
        seller: Seller {
            party: Party {
                name: "Tesla Norway AS".into(),
                street: Some("Ingeniør Rybergs gate 1".into()),
                postal_code: Some("7044".into()),
                city: Some("Trondheim".into()),
                country: "NO".into(),
                org_number: Some("988077917".into()),
                nif: None,
                email: Some("service.trondheim@example.no".into()),
            },
            vat_registered: true,
            foretaksregisteret: true,
            bank_account: Some("86011117947".into()),
            bic: Some("DNBANOKK".into()),
            certificate: None,
        },
        buyer: Party {
            name: "Fjord & Fjell Transport AS".into(),
            street: Some("Kjøpmannsgata 12".into()),
            postal_code: Some("7013".into()),
            city: Some("Trondheim".into()),
            country: "NO".into(),
            org_number: Some("123456785".into()),
            nif: None,
            email: None,
        },
        customer_id: "C1".into(),
        issued_by: "advisor".into(),
        buyer_is_consumer: false,
        buyer_reference: "RO-2026-0042".into(),
        lines: vec![
            line(
                "Diagnosis, heat pump <fault>",
                150,
                129_000,
                TaxCode::Standard,
                r,
            ),
            line("Cabin air filter", 100, 64_950, TaxCode::Standard, r),
            line("Wiper blades", 200, 33_333, TaxCode::Standard, r),
            line(
                "Toll fee paid on the customer's behalf",
                100,
                4_700,
                TaxCode::Zero,
                r,
            ),
        ],
        subtotals: vec![],
        totals: aftersales_domain::billing::Totals {
            net_minor: 0,
            tax_minor: 0,
            gross_minor: 0,
        },
        payment_reference: Some("100010012".into()),
        credited: None,
        reason: None,
        note: None,
        pt: None,
        settled: vec![],
    })
}
