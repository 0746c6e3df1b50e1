//! Conformance cases of billing: a Norwegian repair order invoiced to its payers, paid and credited; gapless
//! numbers and an unbroken signature chain under concurrent issuing; the Portuguese rules; SAF-T (PT) and EHF
//! from what the store issued, checked by the official validators.

use aftersales_store::billing::DocFilter;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use aftersales_domain::billing::{Kid, KidScheme};
use aftersales_store::billing::{
    DraftInput, DraftUpdate, LineInput, PaymentInput, PaymentStatus, SaftRequest,
};
use aftersales_store::workshop::{JobInput, LineInput as RoLineInput, RepairOrderInput};
use aftersales_store::{demo, testing, Store, StoreError};
use documents::pt::{signing_message, PtSigner};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

use crate::workshop::{caller, oslo};

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn signer() -> PtSigner {
    let pem = std::fs::read(shared().join("reference/pt-at-sample-private-key.pem")).unwrap();
    PtSigner::from_pem(&pem, 1).unwrap()
}

fn python_has(module: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !testing::in_ci(),
            "python3 with {module} is required under CI=true"
        );
        testing::say(&format!(
            "skipped: python3 module {module} is not installed"
        ));
    }
    ok
}

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("{}-{}-{name}", std::process::id(), uuid_like()));
    std::fs::write(&p, bytes).unwrap();
    p
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Both official schematron files, zero fatal findings.
fn assert_ehf_valid(xml: &str) {
    if !python_has("saxonche") {
        return;
    }
    let path = temp("ehf.xml", xml.as_bytes());
    for sch in ["CEN-EN16931-UBL.sch", "PEPPOL-EN16931-UBL.sch"] {
        let out = Command::new("python3")
            .arg(shared().join("validation/schematron.py"))
            .arg(shared().join("validation/peppol/sch").join(sch))
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{sch}: {}\n{xml}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

fn assert_saft_valid(bytes: &[u8]) {
    if !python_has("xmlschema") {
        return;
    }
    let path = temp("saft.xml", bytes);
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, xmlschema\ns = xmlschema.XMLSchema11(sys.argv[1])\nerrs = [f'{e.path}: {e.reason}' for e in s.iter_errors(sys.argv[2])]\nprint('\\n'.join(errs))\nsys.exit(1 if errs else 0)",
        ])
        .arg(shared().join("validation/saft-pt/SAFTPT1.04_01.xsd"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn sublet(desc: &str, qty: &str, price: &str) -> RoLineInput {
    RoLineInput {
        kind: "sublet".into(),
        description: Some(desc.into()),
        quantity: Some(qty.into()),
        unit_price: Some(price.into()),
        ..Default::default()
    }
}

fn line(desc: &str, qty: &str, price: &str) -> LineInput {
    LineInput {
        kind: Some("part".into()),
        description: desc.into(),
        quantity: qty.into(),
        unit_price: price.into(),
        ..Default::default()
    }
}

async fn seeded(store: &Store) -> (OffsetDateTime, HashMap<&'static str, String>) {
    let t0 = oslo(datetime!(2026-11-23 10:00));
    demo::seed(store, t0 - Duration::days(1)).await.unwrap();
    let mut orgs = HashMap::new();
    for (k, name) in [
        ("trd", "Tesla Service Centre Trondheim"),
        ("lisboa", "Polestar Service Point Lisboa"),
    ] {
        orgs.insert(k, store.cli().find_organisation(name).await.unwrap().0);
    }
    (t0, orgs)
}

async fn customer(store: &Store, scope: &aftersales_store::Scope, name: &str) -> String {
    store
        .crm()
        .search_crm(scope, name, 5)
        .await
        .unwrap()
        .into_iter()
        .find(|h| h.kind == "customer")
        .unwrap_or_else(|| panic!("no customer {name}"))
        .id
}

pub async fn norwegian_repair_order_invoiced_paid_and_credited(store: &Store) {
    let (t0, orgs) = seeded(store).await;
    let trd = &orgs["trd"];
    let ingrid = caller(store, "ingrid", t0).await;
    let s = &ingrid.scope;
    let kari = customer(store, s, "Kari Nordmann").await;
    let ro = store
        .workshop()
        .create_repair_order(
            s,
            &RepairOrderInput {
                organisation_id: trd.clone(),
                customer_id: kari.clone(),
                complaint: "Wipers smear and the drive unit whines".into(),
                ..Default::default()
            },
            t0,
        )
        .await
        .unwrap();
    let job1 = ro.jobs[0].id.clone();
    store
        .workshop()
        .add_line(
            s,
            &ro.id,
            &job1,
            &sublet("Wiper blades, pair", "2", "199.50"),
            t0,
        )
        .await
        .unwrap();
    let ro = store
        .workshop()
        .add_job(
            s,
            &ro.id,
            &JobInput {
                title: "Drive unit".into(),
                complaint: "Whine at 80 km/h".into(),
                pay_type: Some("warranty".into()),
            },
            t0,
        )
        .await
        .unwrap();
    let job2 = ro.jobs[1].id.clone();
    store
        .workshop()
        .add_line(
            s,
            &ro.id,
            &job2,
            &sublet("Rear drive unit replaced", "1", "12000"),
            t0,
        )
        .await
        .unwrap();
    let ro = store
        .workshop()
        .add_job(
            s,
            &ro.id,
            &JobInput {
                title: "Wash".into(),
                complaint: "Courtesy wash".into(),
                pay_type: Some("internal".into()),
            },
            t0,
        )
        .await
        .unwrap();
    store
        .workshop()
        .add_line(s, &ro.id, &ro.jobs[2].id, &sublet("Wash", "1", "300"), t0)
        .await
        .unwrap();

    // Two clicks: invoice the repair order (one draft per payer; internal work is not invoiced), then issue.
    let drafts = store
        .billing()
        .invoice_repair_order(s, &ro.id, t0)
        .await
        .unwrap();
    assert_eq!(drafts.len(), 2);
    assert!(drafts
        .iter()
        .all(|d| d.number.is_none() && d.status == "draft"));
    let cust = drafts
        .iter()
        .find(|d| d.pay_type.as_deref() == Some("customer"))
        .unwrap();
    let warr = drafts
        .iter()
        .find(|d| d.pay_type.as_deref() == Some("warranty"))
        .unwrap();
    assert_eq!(cust.customer.id, kari);
    assert_eq!(warr.customer.label, "Tesla Motors Norway Warranty AS");
    // 2 × 199.50 = 399.00 + 25 % = 498.75; 12 000.00 + 25 % = 15 000.00.
    assert_eq!(cust.gross.amount, "498.75");
    assert_eq!(warr.gross.amount, "15000.00");
    // Invoicing again refreshes the drafts instead of duplicating them.
    let again = store
        .billing()
        .invoice_repair_order(s, &ro.id, t0)
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|d| &d.id).collect::<Vec<_>>(),
        drafts.iter().map(|d| &d.id).collect::<Vec<_>>()
    );
    // A line on a draft (or an issued invoice) is not removed from the repair order: a clear refusal, not a
    // foreign-key failure.
    let invoiced_line = ro.jobs[1].lines[0].id.clone();
    match store
        .workshop()
        .remove_line(s, &ro.id, &invoiced_line, t0)
        .await
    {
        Err(StoreError::Invalid(e)) => {
            assert_eq!(e.0[0].field, "line_id");
            assert!(e.0[0].message.contains("invoice"), "{}", e.0[0].message);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let d = store.billing().document(s, &cust.id, t0).await.unwrap();
    // A stale version is refused; the right one issues.
    assert!(matches!(
        store
            .billing()
            .issue(s, &cust.id, d.version + 1, None, t0)
            .await,
        Err(StoreError::Conflict { .. })
    ));
    let inv = store
        .billing()
        .issue(s, &cust.id, d.version, None, t0)
        .await
        .unwrap();
    assert_eq!(inv.number.as_deref(), Some("F-1"));
    assert_eq!(inv.issue_date.as_deref(), Some("2026-11-23"));
    assert_eq!(inv.due_date.as_deref(), Some("2026-12-07"));
    let kid = inv.kid.clone().unwrap();
    assert_eq!(&kid[..8], "10000001");
    assert!(Kid::parse("kid", KidScheme::Mod10, &kid).is_ok());
    assert_eq!(inv.tax.amount, "99.75");
    assert_eq!(inv.payment_status, PaymentStatus::Open);
    // Issued means final: not again, not edited, not deleted, not even with SQL.
    assert!(store
        .billing()
        .issue(s, &cust.id, inv.version, None, t0)
        .await
        .is_err());
    assert!(store
        .billing()
        .update_draft(
            s,
            &cust.id,
            &DraftUpdate {
                lines: vec![line("x", "1", "1")],
                ..Default::default()
            },
            inv.version,
            t0
        )
        .await
        .is_err());
    assert!(store.billing().delete_draft(s, &cust.id).await.is_err());
    assert!(testing::execute_raw(
        store,
        &format!(
            "UPDATE billing_documents SET gross_minor = 1 WHERE id = '{}'",
            cust.id
        )
    )
    .await
    .is_err());
    assert!(testing::execute_raw(
        store,
        &format!(
            "UPDATE billing_lines SET net_minor = 1 WHERE document_id = '{}'",
            cust.id
        )
    )
    .await
    .is_err());
    assert!(testing::execute_raw(
        store,
        &format!(
            "UPDATE billing_documents SET buyer_reference = 'changed' WHERE id = '{}'",
            cust.id
        )
    )
    .await
    .is_err());
    assert!(testing::execute_raw(
        store,
        &format!("DELETE FROM billing_documents WHERE id = '{}'", cust.id)
    )
    .await
    .is_err());
    // The customer's message went into the outbox with the issue.
    let msgs = store.workshop().ro_messages(s, &ro.id).await.unwrap();
    let mail = msgs
        .iter()
        .find(|m| m.subject.contains("F-1"))
        .expect("invoice mail");
    assert!(
        mail.subject.starts_with("Faktura F-1 fra"),
        "{}",
        mail.subject
    );
    assert!(mail.body.contains(&inv.public_path), "{}", mail.body);
    // A consumer gets no EHF, with the reason.
    let e = store.billing().ehf(s, &cust.id).await.unwrap_err();
    assert!(e.to_string().contains("organisation number"), "{e}");

    // Only the warranty share is left to invoice; its EHF passes the official rules.
    let left = store
        .billing()
        .invoice_repair_order(s, &ro.id, t0)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    let w = store.billing().document(s, &warr.id, t0).await.unwrap();
    // An invoice from a repair order starts with the order's number as the buyer's reference.
    assert_eq!(w.buyer_reference.as_deref(), Some(ro.number.as_str()));
    let w = store
        .billing()
        .issue(s, &w.id, w.version, None, t0 + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(w.number.as_deref(), Some("F-2"));
    assert_ehf_valid(&store.billing().ehf(s, &w.id).await.unwrap());

    // Payments: part, too much, the rest.
    let pay = |amount: &str| PaymentInput {
        amount: amount.into(),
        method: "bank-transfer".into(),
        paid_on: "2026-11-25".into(),
        reference: Some(kid.clone()),
    };
    let p = store
        .billing()
        .record_payment(s, &inv.id, &pay("100.00"), t0)
        .await
        .unwrap();
    assert_eq!(p.payment_status, PaymentStatus::PartlyPaid);
    assert_eq!(p.open.amount, "398.75");
    let too_much = store
        .billing()
        .record_payment(s, &inv.id, &pay("400.00"), t0)
        .await
        .unwrap_err();
    assert!(too_much.to_string().contains("amount"));
    let bad = store
        .billing()
        .record_payment(
            s,
            &inv.id,
            &PaymentInput {
                amount: "x".into(),
                method: "barter".into(),
                paid_on: "25.11.2026".into(),
                reference: None,
            },
            t0,
        )
        .await
        .unwrap_err();
    let StoreError::Invalid(errs) = bad else {
        panic!()
    };
    assert_eq!(
        errs.0.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
        vec!["amount", "method", "paid_on"]
    );
    // Unpaid past the due date: overdue.
    let later = store
        .billing()
        .document(s, &inv.id, t0 + Duration::days(30))
        .await
        .unwrap();
    assert_eq!(later.payment_status, PaymentStatus::Overdue);
    let p = store
        .billing()
        .record_payment(s, &inv.id, &pay("398.75"), t0)
        .await
        .unwrap();
    assert_eq!(p.payment_status, PaymentStatus::Paid);

    // Credit the warranty invoice with a reason: a numbered credit note in its own series, EHF-valid.
    assert!(store
        .billing()
        .credit_draft(s, &w.id, "", t0)
        .await
        .is_err());
    let cn = store
        .billing()
        .credit_draft(s, &w.id, "Claim rejected by the manufacturer", t0)
        .await
        .unwrap();
    assert_eq!(cn.status, "draft");
    let cn = store
        .billing()
        .issue(s, &cn.id, cn.version, None, t0)
        .await
        .unwrap();
    assert_eq!(cn.number.as_deref(), Some("K-1"));
    assert!(cn.kid.is_none());
    assert_eq!(cn.credited.as_ref().unwrap().label, "F-2");
    let msgs = store.workshop().ro_messages(s, &ro.id).await.unwrap();
    assert!(
        msgs.iter().any(|m| m.subject.starts_with("Kreditnota K-1")),
        "{:?}",
        msgs.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    assert_ehf_valid(&store.billing().ehf(s, &cn.id).await.unwrap());
    let w = store.billing().document(s, &w.id, t0).await.unwrap();
    assert_eq!(w.open.amount, "0.00");
    assert_eq!(w.credit_notes.len(), 1);
    assert!(store
        .billing()
        .credit_draft(s, &w.id, "Again", t0)
        .await
        .unwrap_err()
        .to_string()
        .contains("in full"));
    // The credited warranty lines can be invoiced again.
    assert_eq!(
        store
            .billing()
            .invoice_repair_order(s, &ro.id, t0)
            .await
            .unwrap()
            .len(),
        1
    );

    // Lists: by customer, and open items only.
    let kari_docs = store
        .billing()
        .documents(
            s,
            &DocFilter {
                customer_id: Some(kari.as_str()),
                only_open: false,
                ..Default::default()
            },
            None,
            200,
            t0,
        )
        .await
        .unwrap()
        .items;
    assert_eq!(kari_docs.len(), 1);
    assert!(store
        .billing()
        .documents(
            s,
            &DocFilter {
                customer_id: Some(kari.as_str()),
                only_open: true,
                ..Default::default()
            },
            None,
            200,
            t0
        )
        .await
        .unwrap()
        .items
        .is_empty());
    // Someone from another market sees none of it.
    let joao = caller(store, "joao", t0).await;
    assert!(matches!(
        store.billing().document(&joao.scope, &inv.id, t0).await,
        Err(StoreError::NotFound)
    ));
    assert!(store
        .billing()
        .documents(
            &joao.scope,
            &DocFilter {
                only_open: false,
                ..Default::default()
            },
            None,
            200,
            t0
        )
        .await
        .unwrap()
        .items
        .is_empty());
    // A technician may not invoice.
    let ole = caller(store, "ole", t0).await;
    assert!(store
        .billing()
        .invoice_repair_order(&ole.scope, &ro.id, t0)
        .await
        .is_err());
}

pub async fn concurrent_issuing_is_gapless_with_an_unbroken_chain(store: &Store) {
    let (t0, orgs) = seeded(store).await;
    let store = store.clone().with_pt_signer(signer());
    const N: usize = 16;
    for (user, org, payer, prefix) in [
        ("ingrid", &orgs["trd"], "Fjord Taxi AS", "F-"),
        (
            "joao",
            &orgs["lisboa"],
            "Polestar Portugal Unipessoal",
            "FT A/",
        ),
    ] {
        let c = caller(&store, user, t0).await;
        let payer = customer(&store, &c.scope, payer).await;
        let mut drafts = Vec::new();
        for i in 0..N {
            let d = store
                .billing()
                .create_draft(
                    &c.scope,
                    &DraftInput {
                        organisation_id: org.clone(),
                        customer_id: payer.clone(),
                        lines: vec![line(
                            &format!("Part {i}"),
                            "1",
                            &format!("{}.{:02}", 10 + i, i),
                        )],
                        ..Default::default()
                    },
                    t0,
                )
                .await
                .unwrap();
            drafts.push((d.id, d.version));
        }
        let mut tasks = Vec::new();
        for (id, version) in drafts {
            let store = store.clone();
            let scope = c.scope.clone();
            tasks.push(tokio::spawn(async move {
                store.billing().issue(&scope, &id, version, None, t0).await
            }));
        }
        let mut issued = Vec::new();
        for t in tasks {
            issued.push(t.await.unwrap().unwrap());
        }
        let mut seqs: Vec<usize> = issued
            .iter()
            .map(|d| {
                d.number
                    .as_deref()
                    .unwrap()
                    .strip_prefix(prefix)
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        seqs.sort();
        assert_eq!(
            seqs,
            (1..=N).collect::<Vec<_>>(),
            "{user}: gapless and unique"
        );
        if prefix.starts_with("FT") {
            // Each document's signature covers its predecessor's: the chain is unbroken in number order.
            let signer = signer();
            let mut models = Vec::new();
            for d in &issued {
                models.push(
                    store
                        .billing()
                        .document_model(&c.scope, &d.id)
                        .await
                        .unwrap(),
                );
            }
            models.sort_by_key(|m| m.pt.as_ref().unwrap().sequence);
            let mut previous = String::new();
            for m in &models {
                let pt = m.pt.as_ref().unwrap();
                let msg = signing_message(
                    m.issue_date,
                    pt.system_entry,
                    &m.number,
                    m.totals.gross_minor,
                    &previous,
                );
                assert!(
                    signer.verify(&msg, &pt.hash),
                    "{} breaks the chain",
                    m.number
                );
                assert_eq!(pt.atcud, format!("JFJ6H7KT-{}", pt.sequence));
                previous = pt.hash.clone();
            }
            let entity = store
                .billing()
                .legal_entity(&c.scope, org)
                .await
                .unwrap()
                .unwrap();
            // The export covers every workshop of the legal entity: the importer's staff may run it, an
            // advisor of one workshop may not.
            let rui = caller(&store, "rui", t0).await;
            let req = SaftRequest {
                from: date!(2026 - 11 - 01),
                to: date!(2026 - 11 - 30),
                created: date!(2026 - 12 - 01),
                producer_nif: "999999990".into(),
                product_version: "test".into(),
            };
            assert!(matches!(
                store.billing().saft_pt(&c.scope, &entity.id, &req).await,
                Err(StoreError::NotFound)
            ));
            let saft = store
                .billing()
                .saft_pt(
                    &rui.scope,
                    &entity.id,
                    &SaftRequest {
                        from: date!(2026 - 11 - 01),
                        to: date!(2026 - 11 - 30),
                        created: date!(2026 - 12 - 01),
                        producer_nif: "999999990".into(),
                        product_version: "test".into(),
                    },
                )
                .await
                .unwrap();
            let text = String::from_utf8_lossy(&saft);
            assert!(text.contains(&format!("<NumberOfEntries>{N}</NumberOfEntries>")));
            assert!(text.contains(&format!("<Hash>{previous}</Hash>")));
            assert_saft_valid(&saft);
        }
    }
}

/// Two payments or two credit notes at the same moment cannot together exceed the invoice.
pub async fn concurrent_payments_and_credits_never_exceed_the_invoice(store: &Store) {
    let (t0, orgs) = seeded(store).await;
    let ingrid = caller(store, "ingrid", t0).await;
    let s = &ingrid.scope;
    let fleet = customer(store, s, "Fjord Taxi AS").await;
    let mk = || DraftInput {
        organisation_id: orgs["trd"].clone(),
        customer_id: fleet.clone(),
        lines: vec![line("Tyres", "4", "2500")],
        ..Default::default()
    };
    // A negative price is refused (−3 × −1 000 once became a positive charge); a discount is a negative
    // quantity at a positive price.
    let bad = DraftInput {
        lines: vec![line("Tyres", "4", "2500"), line("Rabatt", "-3", "-1000")],
        ..mk()
    };
    match store.billing().create_draft(s, &bad, t0).await {
        Err(StoreError::Invalid(e)) => {
            assert_eq!(e.0.len(), 1, "{e:?}");
            assert_eq!(e.0[0].field, "lines.1.unit_price");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let discounted = DraftInput {
        lines: vec![line("Tyres", "4", "2500"), line("Rabatt", "-1", "1000")],
        ..mk()
    };
    let d = store
        .billing()
        .create_draft(s, &discounted, t0)
        .await
        .unwrap();
    // (10 000.00 − 1 000.00) + 25 % = 11 250.00.
    assert_eq!(d.gross.amount, "11250.00");
    store.billing().delete_draft(s, &d.id).await.unwrap();
    // 4 × 2 500.00 + 25 % = 12 500.00; two payments of 7 000.00 at once: one fits.
    let d = store.billing().create_draft(s, &mk(), t0).await.unwrap();
    let inv = store
        .billing()
        .issue(s, &d.id, d.version, None, t0)
        .await
        .unwrap();
    let pay = PaymentInput {
        amount: "7000".into(),
        method: "card".into(),
        paid_on: "2026-11-23".into(),
        reference: None,
    };
    let (a, b) = tokio::join!(
        store.billing().record_payment(s, &inv.id, &pay, t0),
        store.billing().record_payment(s, &inv.id, &pay, t0)
    );
    assert_eq!(a.is_ok() as u8 + b.is_ok() as u8, 1, "{a:?} {b:?}");
    let after = store.billing().document(s, &inv.id, t0).await.unwrap();
    assert_eq!(after.paid.amount, "7000.00");
    assert_eq!(after.open.amount, "5500.00");
    // Two full credit notes drafted, issued at once: one is issued, the other refused.
    let d = store.billing().create_draft(s, &mk(), t0).await.unwrap();
    let inv = store
        .billing()
        .issue(s, &d.id, d.version, None, t0)
        .await
        .unwrap();
    let c1 = store
        .billing()
        .credit_draft(s, &inv.id, "Returned tyres", t0)
        .await
        .unwrap();
    let c2 = store
        .billing()
        .credit_draft(s, &inv.id, "Returned tyres", t0)
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        store.billing().issue(s, &c1.id, c1.version, None, t0),
        store.billing().issue(s, &c2.id, c2.version, None, t0)
    );
    assert_eq!(a.is_ok() as u8 + b.is_ok() as u8, 1, "{a:?} {b:?}");
    let refused = if a.is_ok() { b } else { a };
    assert!(refused.unwrap_err().to_string().contains("exceed"));
    // The refused one used no number: the next credit note continues the series.
    let numbers: Vec<String> = store
        .billing()
        .documents(
            s,
            &DocFilter {
                customer_id: Some(fleet.as_str()),
                only_open: false,
                ..Default::default()
            },
            None,
            200,
            t0,
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|d| d.number)
        .filter(|n| n.starts_with("K-"))
        .collect();
    assert_eq!(numbers, vec!["K-1".to_string()]);
}

pub async fn portuguese_rules_hold(store: &Store) {
    let (t0, orgs) = seeded(store).await;
    let lisboa = &orgs["lisboa"];
    let joao = caller(store, "joao", t0).await;
    let s = &joao.scope;
    let buyer = customer(store, s, "Beatriz Quaresma").await;
    let draft = |lines: Vec<LineInput>, doc_type: Option<&str>| DraftInput {
        organisation_id: lisboa.clone(),
        customer_id: buyer.clone(),
        doc_type: doc_type.map(str::to_string),
        lines,
        ..Default::default()
    };
    // An exempt line names its exemption; a wrong type names the field.
    let mut exempt = line("Formação", "1", "50");
    exempt.tax_code = Some("exempt".into());
    let e = store
        .billing()
        .create_draft(s, &draft(vec![exempt.clone()], None), t0)
        .await
        .unwrap_err();
    let StoreError::Invalid(errs) = e else {
        panic!()
    };
    assert_eq!(errs.0[0].field, "lines.0.exemption_code");
    let e = store
        .billing()
        .create_draft(s, &draft(vec![line("x", "1", "1")], Some("NC")), t0)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("doc_type"));

    // No signing key configured: refused, and no number is used up.
    let d = store
        .billing()
        .create_draft(s, &draft(vec![line("Escovas", "2", "19.99")], None), t0)
        .await
        .unwrap();
    let e = store
        .billing()
        .issue(s, &d.id, d.version, None, t0)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("signing_key"), "{e}");
    let store = store.clone().with_pt_signer(signer());
    let ft = store
        .billing()
        .issue(s, &d.id, d.version, None, t0)
        .await
        .unwrap();
    assert_eq!(ft.number.as_deref(), Some("FT A/1"));
    assert_eq!(ft.atcud.as_deref(), Some("JFJ6H7KT-1"));
    assert!(ft
        .certificate_line
        .as_deref()
        .unwrap()
        .ends_with("-Processado por programa certificado n.º 0000/AT"));
    let qr = ft.qr.clone().unwrap();
    assert!(qr.starts_with("A:"), "{qr}");
    assert!(
        qr.contains(
            "*D:FT*E:N*F:20261123*G:FT A/1*H:JFJ6H7KT-1*I1:PT*I7:39.98*I8:9.20*N:9.20*O:49.18*"
        ),
        "{qr}"
    );

    // Dates never go back within a series; the refused attempt leaves no gap.
    let d2 = store
        .billing()
        .create_draft(s, &draft(vec![exempt_line()], None), t0)
        .await
        .unwrap();
    let e = store
        .billing()
        .issue(s, &d2.id, d2.version, None, t0 - Duration::days(2))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("issue_date"), "{e}");
    let ft2 = store
        .billing()
        .issue(s, &d2.id, d2.version, None, t0)
        .await
        .unwrap();
    assert_eq!(ft2.number.as_deref(), Some("FT A/2"));

    // A simplified invoice has a ceiling; an invoice-receipt is paid at issue.
    let big = store
        .billing()
        .create_draft(
            s,
            &draft(vec![line("Bateria", "1", "2000")], Some("FS")),
            t0,
        )
        .await
        .unwrap();
    let e = store
        .billing()
        .issue(s, &big.id, big.version, None, t0)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("FS"), "{e}");
    // The type of a draft can change; an NC is made by crediting, not chosen.
    let fr = store
        .billing()
        .create_draft(s, &draft(vec![line("Lâmpada", "1", "12.30")], None), t0)
        .await
        .unwrap();
    assert!(store
        .billing()
        .set_draft_type(s, &fr.id, "NC", fr.version, t0)
        .await
        .is_err());
    let fr = store
        .billing()
        .set_draft_type(s, &fr.id, "FR", fr.version, t0)
        .await
        .unwrap();
    assert_eq!(fr.doc_type, "FR");
    // A simplified invoice with a service is capped at 100 EUR.
    let mut labour = line("Mão de obra", "2", "45");
    labour.kind = Some("labour".into());
    let fs = store
        .billing()
        .create_draft(s, &draft(vec![labour], Some("FS")), t0)
        .await
        .unwrap();
    let e = store
        .billing()
        .issue(s, &fs.id, fs.version, None, t0)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("100.00"), "{e}");
    assert!(store
        .billing()
        .issue(s, &fr.id, fr.version, None, t0)
        .await
        .unwrap_err()
        .to_string()
        .contains("payment_method"));
    let fr = store
        .billing()
        .issue(s, &fr.id, fr.version, Some("mb"), t0)
        .await
        .unwrap();
    assert_eq!(fr.number.as_deref(), Some("FR A/1"));
    assert_eq!(fr.payment_status, PaymentStatus::Paid);
    assert!(fr.due_date.is_none());

    // A credit note (NC) of the first invoice, in its own chain.
    let nc = store
        .billing()
        .credit_draft(s, &ft.id, "Preço errado", t0)
        .await
        .unwrap();
    let nc = store
        .billing()
        .issue(s, &nc.id, nc.version, None, t0)
        .await
        .unwrap();
    assert_eq!(nc.number.as_deref(), Some("NC A/1"));
    assert_eq!(nc.atcud.as_deref(), Some("KZ3P9QWX-1"));
    let entity = store
        .billing()
        .legal_entity(s, lisboa)
        .await
        .unwrap()
        .unwrap();
    let rui = caller(&store, "rui", t0).await;
    let saft = store
        .billing()
        .saft_pt(
            &rui.scope,
            &entity.id,
            &SaftRequest {
                from: date!(2026 - 11 - 01),
                to: date!(2026 - 11 - 30),
                created: date!(2026 - 12 - 01),
                producer_nif: "999999990".into(),
                product_version: "test".into(),
            },
        )
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&saft);
    assert!(
        text.contains("<NumberOfEntries>4</NumberOfEntries>"),
        "{text}"
    );
    assert!(text.contains("<Reference>FT A/1</Reference>"));
    assert!(text.contains("<TaxExemptionCode>M07</TaxExemptionCode>"));
    assert_saft_valid(&saft);
    // A period across years is refused, naming the field.
    let e = store
        .billing()
        .saft_pt(
            &rui.scope,
            &entity.id,
            &SaftRequest {
                from: date!(2026 - 12 - 01),
                to: date!(2027 - 01 - 31),
                created: date!(2027 - 02 - 01),
                producer_nif: "999999990".into(),
                product_version: "t".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("to"));
}

fn exempt_line() -> LineInput {
    LineInput {
        kind: Some("other".into()),
        description: "Formação de condução".into(),
        quantity: "1".into(),
        unit_price: "50".into(),
        tax_code: Some("exempt".into()),
        exemption_code: Some("M07".into()),
        exemption_reason: None,
        code: None,
    }
}

pub async fn legal_entities_are_validated_and_versioned(store: &Store) {
    let t0 = oslo(datetime!(2026-11-23 10:00));
    demo::seed(store, t0 - Duration::days(1)).await.unwrap();
    let ana = caller(store, "ana", t0).await;
    let pt = store
        .cli()
        .find_organisation("Polestar Portugal")
        .await
        .unwrap()
        .0;
    assert!(store
        .billing()
        .legal_entity(&ana.scope, &pt)
        .await
        .unwrap()
        .is_none());
    let mut input = aftersales_store::billing::LegalEntityInput {
        region: "PT-MA".into(),
        name: "Polestar Portugal Unipessoal, Lda.".into(),
        nif: Some("501964842".into()),
        payment_days: Some(500),
        kid_scheme: Some("mod12".into()),
        ..Default::default()
    };
    let StoreError::Invalid(errs) = store
        .billing()
        .set_legal_entity(&ana.scope, &pt, &input, None, t0)
        .await
        .unwrap_err()
    else {
        panic!()
    };
    let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        vec!["nif", "kid_scheme", "payment_days"],
        "{errs:?}"
    );
    input.nif = Some("501964843".into());
    input.payment_days = Some(30);
    input.kid_scheme = None;
    let e = store
        .billing()
        .set_legal_entity(&ana.scope, &pt, &input, None, t0)
        .await
        .unwrap();
    assert_eq!(e.region.as_str(), "PT-MA");
    assert_eq!(e.currency, "EUR");
    // Madeira's rates apply to what it invoices.
    assert_eq!(
        aftersales_domain::billing::rate_bp(
            e.region,
            aftersales_domain::billing::TaxCode::Standard
        ),
        2200
    );
    input.city = Some("Funchal".into());
    assert!(matches!(
        store
            .billing()
            .set_legal_entity(&ana.scope, &pt, &input, Some(e.version + 1), t0)
            .await,
        Err(StoreError::Conflict { .. })
    ));
    let e2 = store
        .billing()
        .set_legal_entity(&ana.scope, &pt, &input, Some(e.version), t0)
        .await
        .unwrap();
    assert_eq!(e2.city.as_deref(), Some("Funchal"));
    assert_eq!(e2.version, e.version + 1);
    // An advisor may read but not set it up.
    let joao = caller(store, "joao", t0).await;
    let lisboa = store
        .cli()
        .find_organisation("Polestar Service Point Lisboa")
        .await
        .unwrap()
        .0;
    assert!(store
        .billing()
        .set_legal_entity(&joao.scope, &lisboa, &input, None, t0)
        .await
        .is_err());
    // The entity below (Volvo Cars Portugal) still invoices for its workshops.
    assert_eq!(
        store
            .billing()
            .legal_entity(&joao.scope, &lisboa)
            .await
            .unwrap()
            .unwrap()
            .name,
        "Volvo Cars Portugal, S.A."
    );
}
