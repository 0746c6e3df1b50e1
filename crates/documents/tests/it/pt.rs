//! The PT hash chain against every official value, the printed characters, the certificate line, the QR string.

use aftersales_domain::billing::{DocKind, PtDocType, TaxCode, TaxRegion};
use documents::pt::{certificate_line, printed, qr_string, signing_message, PtSigner};
use documents::{Party, PtSeal, Seller};
use time::macros::{date, datetime};
use time::{Date, PrimitiveDateTime};

use crate::support::{line, shared, with_totals};

fn signer() -> PtSigner {
    let pem = std::fs::read(shared().join("reference/pt-at-sample-private-key.pem")).unwrap();
    PtSigner::from_pem(&pem, 1).unwrap()
}

fn minor(s: &str) -> i64 {
    let (w, f) = s.split_once('.').unwrap();
    w.parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap()
}

#[test]
fn official_hash_chain_reproduces() {
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shared().join("reference/test-vectors.json")).unwrap(),
    )
    .unwrap();
    let docs = v["pt_document_hash_chain"]["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 9);
    let signer = signer();
    let mut previous: std::collections::HashMap<String, String> = Default::default();
    for d in docs {
        let no = d["invoice_no"].as_str().unwrap();
        let date = Date::parse(
            d["invoice_date"].as_str().unwrap(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .unwrap();
        let entry = PrimitiveDateTime::parse(
            d["system_entry_date"].as_str().unwrap(),
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        )
        .unwrap();
        // The chain is per document type and series: "1T 1/2" follows "1T 1/1".
        let series = no.rsplit_once('/').unwrap().0.to_string();
        let prev = previous.get(&series).cloned().unwrap_or_default();
        assert_eq!(prev, d["previous_hash"].as_str().unwrap(), "{no}");
        let msg = signing_message(
            date,
            entry,
            no,
            minor(d["gross_total"].as_str().unwrap()),
            &prev,
        );
        let hash = signer.sign(&msg).unwrap();
        assert_eq!(hash, d["hash"].as_str().unwrap(), "{no}");
        assert_eq!(hash.len(), 172);
        assert_eq!(printed(&hash), d["printed"].as_str().unwrap(), "{no}");
        assert!(signer.verify(&msg, &hash));
        assert!(!signer.verify(&msg.replace(';', ","), &hash));
        previous.insert(series, hash);
    }
}

#[test]
fn certificate_line_and_bad_keys() {
    let h = "vfinNfF+rToGp3dWF1LV6mEctQ76hAeZm+PlhBnV4wok";
    assert_eq!(
        certificate_line(h, "9999"),
        "vo6e-Processado por programa certificado n.º 9999/AT"
    );
    assert!(PtSigner::from_pem(b"not a key", 1).is_err());
    let pem = PtSigner::generate_pem().unwrap();
    let s = PtSigner::from_pem(&pem, 2).unwrap();
    assert_eq!(s.sign("x").unwrap().len(), 172);
}

#[test]
fn qr_string_follows_the_at_specification() {
    let r = TaxRegion::Mainland;
    let mut doc = with_totals(documents::Document {
        kind: DocKind::Invoice,
        number: "FT A/12".into(),
        issue_date: date!(2026 - 11 - 20),
        due_date: None,
        delivery_date: None,
        currency: "EUR".into(),
        region: r,
        seller: Seller {
            party: Party {
                name: "Oficina Lisboa Lda".into(),
                country: "PT".into(),
                nif: Some("503504564".into()),
                ..Party::default()
            },
            vat_registered: true,
            ..Seller::default()
        },
        buyer: Party {
            name: "Consumidor final".into(),
            country: "PT".into(),
            ..Party::default()
        },
        customer_id: "CF".into(),
        issued_by: "advisor".into(),
        buyer_is_consumer: true,
        buyer_reference: "RO-1".into(),
        lines: vec![
            line("Mão de obra", 150, 6_000, TaxCode::Standard, r),
            line("Filtro", 100, 2_599, TaxCode::Standard, r),
            line("Livro", 100, 1_000, TaxCode::Reduced, r),
            line("Isento", 100, 500, TaxCode::Exempt, r),
        ],
        subtotals: vec![],
        totals: aftersales_domain::billing::Totals {
            net_minor: 0,
            tax_minor: 0,
            gross_minor: 0,
        },
        payment_reference: None,
        credited: None,
        reason: None,
        note: None,
        pt: None,
        settled: vec![],
    });
    assert!(qr_string(&doc).is_err(), "no seal, no QR");
    doc.pt = Some(PtSeal {
        doc_type: PtDocType::Ft,
        series: "A".into(),
        sequence: 12,
        atcud: "CSDF7T37-12".into(),
        hash: "vfinNfF+rToGp3dWF1LV6mEctQ76hAeZm+PlhBnV4wok".into(),
        hash_control: "1".into(),
        system_entry: datetime!(2026-11-20 10:00:00),
        certificate: "9999".into(),
    });
    // 1.5 h × 60.00 = 90.00 and 25.99 at 23 % → 115.99, VAT 26.68; 10.00 at 6 % → 0.60; 5.00 exempt.
    assert_eq!(
        qr_string(&doc).unwrap(),
        "A:503504564*B:999999990*C:PT*D:FT*E:N*F:20261120*G:FT A/12*H:CSDF7T37-12*I1:PT*I2:5.00*I3:10.00*I4:0.60*I7:115.99*I8:26.68*N:27.28*O:158.27*Q:vo6e*R:9999"
    );
}
