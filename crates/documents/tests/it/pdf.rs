//! PDFs carry the legal content of their market, in the reader's language (read back with pdftotext).

use aftersales_domain::billing::DocKind;
use aftersales_domain::i18n::Language;
use documents::pdf::render;
use documents::Credited;
use time::macros::date;

use crate::support::{norwegian_invoice, require, with_totals};

fn text_of(pdf: &[u8]) -> Option<String> {
    let ok = std::process::Command::new("pdftotext")
        .arg("-v")
        .output()
        .is_ok();
    if !require("pdftotext (poppler-utils)", ok) {
        return None;
    }
    let path = std::env::temp_dir().join(format!(
        "doc-{}-{}.pdf",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    Some(String::from_utf8_lossy(&out.stdout).to_string())
}

#[test]
fn norwegian_invoice_states_mva_foretaksregisteret_kid_and_due_date() {
    let doc = norwegian_invoice();
    let pdf = render(&doc, Language::Nb, None).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    if let Some(text) = text_of(&pdf) {
        for needle in [
            "Faktura",
            "F-1001",
            "Org.nr. 988 077 917 MVA",
            "Foretaksregisteret",
            "KID",
            "100010012",
            "Forfallsdato",
            "04.12.2026",
            "Fjord & Fjell Transport AS",
            "Diagnosis, heat pump <fault>",
            "Å betale",
            "86011117947",
        ] {
            assert!(text.contains(needle), "{needle:?} missing in:\n{text}");
        }
    }
    // The same document for an English reader.
    let en = text_of(&render(&doc, Language::En, None).unwrap());
    if let Some(text) = en {
        assert!(
            text.contains("Invoice") && text.contains("Amount due") && text.contains("2026-12-04"),
            "{text}"
        );
    }
}

#[test]
fn portuguese_documents_print_atcud_above_the_qr_and_the_certificate_line_on_every_page() {
    let mut docs = crate::saft::documents();
    // Enough lines for a second page.
    let extra = docs[0].lines[0].clone();
    for _ in 0..60 {
        docs[0].lines.push(extra.clone());
    }
    let doc = with_totals(docs.remove(0));
    let pdf = render(&doc, Language::Pt, Some(1_000)).unwrap();
    if let Some(text) = text_of(&pdf) {
        let pages: Vec<&str> = text
            .split('\u{c}')
            .filter(|p| !p.trim().is_empty())
            .collect();
        assert!(pages.len() >= 2, "{} pages", pages.len());
        let atcud = format!("ATCUD:{}", doc.pt.as_ref().unwrap().atcud);
        for (i, p) in pages.iter().enumerate() {
            assert!(p.contains(&atcud), "page {}: no {atcud}:\n{p}", i + 1);
            assert!(
                p.contains("Processado por programa certificado n.º 0/AT"),
                "page {}:\n{p}",
                i + 1
            );
        }
        for needle in [
            "Fatura",
            "FT A/1",
            "NIF 503504564",
            "NIF 501964843",
            "Total a pagar",
            "IVA",
        ] {
            assert!(text.contains(needle), "{needle:?} missing in:\n{text}");
        }
    }
    // A credit note names the invoice it corrects and the reason.
    let nc = crate::saft::documents().remove(2);
    assert_eq!(nc.kind, DocKind::CreditNote);
    if let Some(text) = text_of(&render(&nc, Language::Pt, None).unwrap()) {
        assert!(text.contains("Nota de crédito"), "{text}");
        assert!(text.contains("Retifica a fatura FT A/1"), "{text}");
        assert!(
            text.contains("Tempo de mão de obra cobrado a mais"),
            "{text}"
        );
    }
    // A consumer without NIF is printed as 999999990.
    let fs = crate::saft::documents().remove(1);
    if let Some(text) = text_of(&render(&fs, Language::En, None).unwrap()) {
        assert!(text.contains("NIF 999999990"), "{text}");
    }
    let _ = Credited {
        number: String::new(),
        issue_date: date!(2026 - 01 - 01),
    };
}

#[test]
fn a_loaner_agreement_carries_the_terms_in_the_customers_language_and_the_signature() {
    use documents::agreement::{render, Agreement};
    let terms = aftersales_domain::logistics::handover::standard_terms(Some("PT"), Language::Pt);
    let signature = include_bytes!("../fixtures/signature.png");
    let pdf = render(&Agreement {
        lang: Language::Pt,
        service_point: "Polestar Lisboa",
        repair_order: "RO-2026-0042",
        customer: "Inês Carvalho",
        customer_car: Some("AA-12-BB"),
        loaner: "AB-34-CD",
        loaner_model: "Polestar 2",
        loaner_vin: Some("YSMYKEAE1RB000001"),
        out_at: "21/11/2026 10:15",
        odometer_km: 12_345,
        charge_pct: Some(80),
        terms,
        signer: "Inês Carvalho",
        signed_at: "21/11/2026 10:16",
        signature_png: signature,
        day: date!(2026 - 11 - 21),
    })
    .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    // The signature is in it as an image.
    assert!(pdf.windows(6).any(|w| w == b"/Image"));
    if let Some(text) = text_of(&pdf) {
        for needle in [
            "Contrato de cedência de viatura de substituição",
            "RO-2026-0042",
            "Inês Carvalho",
            "AB-34-CD",
            "12 345 km",
            "80 %",
            "Via Verde",
            "Assinatura",
        ] {
            assert!(
                text.replace('\u{a0}', " ").contains(needle),
                "{needle:?} missing in:\n{text}"
            );
        }
    }
}
