//! SAF-T (PT) exports validate against the AT schema (XSD 1.1) and agree with the documents.

use aftersales_domain::billing::{DocKind, PtDocType, TaxCode, TaxRegion};
use documents::pt::{signing_message, PtSigner};
use documents::saft::{write, Header};
use documents::{Credited, Document, Party, PtSeal, Seller};
use time::macros::{date, datetime};

use crate::support::{line, python_has, require, shared, with_totals};

fn seller() -> Seller {
    Seller {
        party: Party {
            name: "Oficina Lisboa, Lda.".into(),
            street: Some("Rua da Prata 25".into()),
            postal_code: Some("1100-420".into()),
            city: Some("Lisboa".into()),
            country: "PT".into(),
            nif: Some("503504564".into()),
            ..Party::default()
        },
        vat_registered: true,
        ..Seller::default()
    }
}

/// Three signed documents: an invoice with two rates, an exempt invoice to a consumer, a credit note.
pub fn documents() -> Vec<Document> {
    let pem = std::fs::read(shared().join("reference/pt-at-sample-private-key.pem")).unwrap();
    let signer = PtSigner::from_pem(&pem, 1).unwrap();
    let r = TaxRegion::Mainland;
    let company = Party {
        name: "Transportes Exemplo, Lda.".into(),
        street: Some("Avenida da Liberdade 100".into()),
        postal_code: Some("1250-146".into()),
        city: Some("Lisboa".into()),
        country: "PT".into(),
        nif: Some("501964843".into()),
        ..Party::default()
    };
    let base = |kind, number: &str, buyer: Party, customer: &str, lines| {
        with_totals(Document {
            kind,
            number: number.into(),
            issue_date: date!(2026 - 11 - 20),
            due_date: None,
            delivery_date: Some(date!(2026 - 11 - 19)),
            currency: "EUR".into(),
            region: r,
            seller: seller(),
            buyer,
            customer_id: customer.into(),
            issued_by: "advisor.lisboa".into(),
            buyer_is_consumer: customer == "CF",
            buyer_reference: "RO-7".into(),
            lines,
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
        })
    };
    let mut docs = vec![
        base(
            DocKind::Invoice,
            "FT A/1",
            company.clone(),
            "0193a1b2c3d4e5f60718293a4b5c6d7e",
            vec![
                line(
                    "Mão de obra — diagnóstico",
                    150,
                    6_000,
                    TaxCode::Standard,
                    r,
                ),
                line(
                    "Filtro de habitáculo “premium”",
                    100,
                    2_599,
                    TaxCode::Standard,
                    r,
                ),
                line("Manual", 100, 1_000, TaxCode::Reduced, r),
            ],
        ),
        base(
            DocKind::Invoice,
            "FT A/2",
            Party {
                name: String::new(),
                country: "PT".into(),
                ..Party::default()
            },
            "CF",
            vec![line("Formação", 100, 5_000, TaxCode::Exempt, r)],
        ),
        base(
            DocKind::CreditNote,
            "NC A/1",
            company,
            "0193a1b2c3d4e5f60718293a4b5c6d7e",
            vec![line(
                "Mão de obra — diagnóstico",
                50,
                6_000,
                TaxCode::Standard,
                r,
            )],
        ),
    ];
    docs[2].credited = Some(Credited {
        number: "FT A/1".into(),
        issue_date: date!(2026 - 11 - 20),
    });
    docs[2].reason = Some("Tempo de mão de obra cobrado a mais".into());
    let mut prev: std::collections::HashMap<&str, String> = Default::default();
    for (i, d) in docs.iter_mut().enumerate() {
        let (t, validation) = if d.kind == DocKind::Invoice {
            (PtDocType::Ft, "JFJ6H7KT")
        } else {
            (PtDocType::Nc, "KZ3P9QWX")
        };
        let seq: i64 = d.number.rsplit('/').next().unwrap().parse().unwrap();
        let entry = datetime!(2026-11-20 10:00:00) + time::Duration::minutes(i as i64);
        let p = prev.entry(t.as_str()).or_default();
        let hash = signer
            .sign(&signing_message(
                d.issue_date,
                entry,
                &d.number,
                d.totals.gross_minor,
                p,
            ))
            .unwrap();
        *p = hash.clone();
        d.pt = Some(PtSeal {
            doc_type: t,
            series: "A".into(),
            sequence: seq,
            atcud: format!("{validation}-{seq}"),
            hash,
            hash_control: "1".into(),
            system_entry: entry,
            certificate: "0".into(),
        });
    }
    docs
}

fn header() -> Header {
    Header {
        seller: seller(),
        start: date!(2026 - 11 - 01),
        end: date!(2026 - 11 - 30),
        created: date!(2026 - 12 - 02),
        producer_nif: "999999990".into(),
        certificate: "0".into(),
        product_version: "0.1.0".into(),
    }
}

/// Validates with xmlschema as XSD 1.1; returns the error text, or None when the tool is missing.
pub fn xsd_errors(bytes: &[u8]) -> Option<String> {
    if !require("python3 with xmlschema", python_has("xmlschema")) {
        return None;
    }
    let path = std::env::temp_dir().join(format!(
        "saft-{}-{}.xml",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, xmlschema\ns = xmlschema.XMLSchema11(sys.argv[1])\nerrs = [f'{e.path}: {e.reason}' for e in s.iter_errors(sys.argv[2])]\nprint('\\n'.join(errs))\nsys.exit(1 if errs else 0)",
        ])
        .arg(shared().join("validation/saft-pt/SAFTPT1.04_01.xsd"))
        .arg(&path)
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
        .filter(|_| !out.status.success())
        .or(Some(String::new()))
}

#[test]
fn export_validates_against_the_xsd_and_matches_the_documents() {
    let docs = documents();
    let bytes = write(&header(), &docs).unwrap();
    let text: String = bytes.iter().map(|&b| b as char).collect(); // Latin-1 view is enough for ASCII checks
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"Windows-1252\"?>"));
    // cp1252: "ã" is one byte, "—" is 0x97, "“" is 0x93.
    assert!(bytes.windows(3).any(|w| w == [b'M', 0xE3, b'o']));
    assert!(bytes.contains(&0x97));
    // Totals: invoices on the credit side (90.00 + 25.99 + 10.00 + 50.00), the credit note on the debit side (30.00).
    assert!(text.contains("<NumberOfEntries>3</NumberOfEntries>"));
    assert!(text.contains("<TotalCredit>175.99</TotalCredit>"));
    assert!(text.contains("<TotalDebit>30.00</TotalDebit>"));
    assert!(text.contains("<Reference>FT A/1</Reference>"));
    assert!(text.contains("<TaxExemptionCode>M07</TaxExemptionCode>"));
    assert!(text.contains("<CustomerTaxID>999999990</CustomerTaxID>"));
    assert!(text.contains("<CompanyName>Consumidor final</CompanyName>"));
    for d in &docs {
        assert!(text.contains(&format!("<Hash>{}</Hash>", d.pt.as_ref().unwrap().hash)));
        assert!(text.contains(&format!(
            "<GrossTotal>{}</GrossTotal>",
            documents::amount(d.totals.gross_minor)
        )));
    }
    if let Some(errors) = xsd_errors(&bytes) {
        assert!(errors.is_empty(), "{errors}");
    }
    // The validator is real: a wrong document number is refused.
    let broken = String::from_utf8_lossy(&bytes).replace(
        "<InvoiceNo>FT A/2</InvoiceNo>",
        "<InvoiceNo>FT A 2</InvoiceNo>",
    );
    if let Some(errors) = xsd_errors(broken.as_bytes()) {
        assert!(!errors.is_empty());
    }
}

#[test]
fn export_refuses_what_it_cannot_write() {
    let mut docs = documents();
    docs[0].pt = None;
    assert!(write(&header(), &docs)
        .unwrap_err()
        .to_string()
        .contains("FT A/1"));
    let mut h = header();
    h.seller.party.nif = None;
    assert!(write(&h, &documents()).is_err());
    // An empty period is a valid file.
    let bytes = write(&header(), &[]).unwrap();
    if let Some(errors) = xsd_errors(&bytes) {
        assert!(errors.is_empty(), "{errors}");
    }
}

#[test]
fn an_invoice_receipt_states_how_it_was_paid() {
    let mut docs = documents();
    let fr = &mut docs[1];
    fr.number = "FR A/1".into();
    if let Some(pt) = fr.pt.as_mut() {
        pt.doc_type = PtDocType::Fr;
        pt.sequence = 1;
    }
    fr.settled = vec![("MB".into(), fr.totals.gross_minor, date!(2026 - 11 - 20))];
    let bytes = write(&header(), &docs).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("<InvoiceType>FR</InvoiceType>"));
    assert!(text.contains("<Payment>\n            <PaymentMechanism>MB</PaymentMechanism>\n            <PaymentAmount>50.00</PaymentAmount>\n            <PaymentDate>2026-11-20</PaymentDate>"), "{text}");
    if let Some(errors) = xsd_errors(&bytes) {
        assert!(errors.is_empty(), "{errors}");
    }
}

#[test]
fn every_product_without_a_code_is_its_own_with_its_own_description() {
    let mut docs = documents();
    // Two sublet lines without codes: brake pads are not "wiper blades".
    let mut pads = docs[0].lines[0].clone();
    pads.code = None;
    pads.service = true;
    pads.description = "Brake pads, front axle".into();
    let mut wipers = pads.clone();
    wipers.description = "Wiper blades, pair".into();
    docs[0].lines = vec![wipers, pads];
    let bytes = write(&header(), &docs).unwrap();
    let text = String::from_utf8_lossy(&bytes).to_string();
    let products: Vec<&str> = text.split("<Product>").skip(1).collect();
    let described = |what: &str| {
        products
            .iter()
            .find(|p| p.contains(&format!("<ProductDescription>{what}</ProductDescription>")))
            .map(|p| {
                let code = p.split("<ProductCode>").nth(1).unwrap();
                code.split('<').next().unwrap().to_string()
            })
    };
    let pads = described("Brake pads, front axle").expect("brake pads in the product master");
    let wipers = described("Wiper blades, pair").expect("wiper blades in the product master");
    assert_ne!(pads, wipers);
    assert!(pads.starts_with("SERVICO-"), "{pads}");
    // The invoice lines name the same products.
    assert!(text.contains(&format!("<ProductCode>{pads}</ProductCode>")));
    assert!(!text.contains("<ProductCode>SERVICO</ProductCode>"));
}
