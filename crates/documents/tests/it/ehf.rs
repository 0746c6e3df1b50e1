//! Every EHF document the product writes passes the official CEN and Peppol schematron with zero fatal findings.

use aftersales_domain::billing::{DocKind, TaxCode, TaxRegion};
use documents::{ehf, Credited};
use time::macros::date;

use crate::support::{line, norwegian_invoice, schematron, with_totals};

#[test]
fn invoice_passes_the_official_rules() {
    let doc = norwegian_invoice();
    let xml = ehf::write(&doc).unwrap();
    assert!(xml.contains("<cbc:CompanyID>NO988077917MVA</cbc:CompanyID>"));
    assert!(xml.contains("<cbc:CompanyID>Foretaksregisteret</cbc:CompanyID>"));
    assert!(xml.contains("<cbc:PaymentID>100010012</cbc:PaymentID>"));
    assert!(xml.contains("&lt;fault&gt;"));
    if let Some(findings) = schematron(&xml) {
        // Not even a warning.
        assert!(!findings.contains("warning\t"), "{findings}");
    }
}

#[test]
fn credit_note_passes_the_official_rules() {
    let mut doc = norwegian_invoice();
    doc.kind = DocKind::CreditNote;
    doc.number = "K-17".into();
    doc.credited = Some(Credited {
        number: "F-1001".into(),
        issue_date: date!(2026 - 11 - 20),
    });
    doc.reason = Some("Wrong labour time charged".into());
    doc.payment_reference = None;
    doc.lines.truncate(2);
    let doc = with_totals(doc);
    let xml = ehf::write(&doc).unwrap();
    assert!(xml.starts_with("<?xml"));
    assert!(xml.contains("<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>"));
    assert!(xml.contains("<cbc:CreditedQuantity"));
    schematron(&xml);
}

#[test]
fn documents_outside_the_scope_and_without_foretaksregisteret() {
    let r = TaxRegion::Norway;
    let mut doc = norwegian_invoice();
    doc.seller.foretaksregisteret = false;
    doc.lines = vec![line("Parking fee", 100, 25_000, TaxCode::OutsideScope, r)];
    let doc = with_totals(doc);
    let xml = ehf::write(&doc).unwrap();
    assert!(!xml.contains("MVA</cbc:CompanyID>"));
    if let Some(findings) = schematron(&xml) {
        // NO-R-002 is a warning, not fatal: a sole proprietorship need not print Foretaksregisteret.
        assert!(findings.contains("NO-R-002"), "{findings}");
    }
    // Mixed outside-scope and taxed lines are refused with the rule named.
    let mut mixed = norwegian_invoice();
    mixed
        .lines
        .push(line("Parking", 100, 100, TaxCode::OutsideScope, r));
    let err = ehf::write(&with_totals(mixed)).unwrap_err();
    assert!(err.to_string().contains("BR-O-11"));
}

#[test]
fn consumer_and_missing_account_are_refused_with_a_reason() {
    let mut doc = norwegian_invoice();
    doc.buyer.org_number = None;
    assert!(ehf::write(&doc).unwrap_err().to_string().contains("buyer"));
    let mut doc = norwegian_invoice();
    doc.seller.bank_account = None;
    assert!(ehf::write(&doc).unwrap_err().to_string().contains("BR-61"));
}

#[test]
fn a_broken_document_is_caught_by_the_validator() {
    // The validator set-up is real: a wrong VAT number fails NO-R-001.
    let xml = ehf::write(&norwegian_invoice())
        .unwrap()
        .replace("NO988077917MVA", "NO988077918MVA");
    if crate::support::python_has("saxonche") {
        let path = std::env::temp_dir().join(format!("ehf-broken-{}.xml", std::process::id()));
        std::fs::write(&path, xml).unwrap();
        let out = std::process::Command::new("python3")
            .arg(crate::support::shared().join("validation/schematron.py"))
            .arg(crate::support::shared().join("validation/peppol/sch/PEPPOL-EN16931-UBL.sch"))
            .arg(&path)
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("NO-R-001"));
    } else {
        crate::support::require("python3 with saxonche", false);
    }
}
