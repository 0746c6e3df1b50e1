//! SAF-T (PT) 1.04_01 for a period, billing only (TaxAccountingBasis F): Header, MasterFiles (customers,
//! products, tax table) and SourceDocuments/SalesInvoices. Written in Windows-1252 as AT's tools expect; characters
//! outside it become character references. Validated in the tests against the AT XSD as XSD 1.1.

use std::collections::BTreeMap;

use aftersales_domain::billing::{format_rate, rate_bp, DocKind, PtDocType, TaxCode, TaxRegion};
use time::macros::format_description;
use time::Date;

use crate::xml::Xml;
use crate::{amount, Document, DocumentError, Seller};

/// What the file says about itself and the period.
#[derive(Debug, Clone)]
pub struct Header {
    pub seller: Seller,
    pub start: Date,
    pub end: Date,
    pub created: Date,
    /// NIF of the software producer.
    pub producer_nif: String,
    /// AT's certificate number of this software ("0" until certified).
    pub certificate: String,
    pub product_version: String,
}

fn date(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

fn cut(s: &str, max: usize) -> String {
    let t: String = s.trim().chars().take(max).collect();
    if t.is_empty() {
        "Desconhecido".chars().take(max).collect()
    } else {
        t
    }
}

/// The SAF-T (PT) file for `docs` (issued Portuguese documents of one legal entity in the period).
pub fn write(h: &Header, docs: &[Document]) -> Result<Vec<u8>, DocumentError> {
    let nif = h
        .seller
        .party
        .nif
        .clone()
        .ok_or_else(|| DocumentError::Missing("the company's NIF".into()))?;
    if h.end < h.start {
        return Err(DocumentError::Missing(
            "a period whose end is not before its start".into(),
        ));
    }
    for d in docs {
        if d.pt.is_none() {
            return Err(DocumentError::Missing(format!(
                "{} is not a certified Portuguese document",
                d.number
            )));
        }
        if d.currency != "EUR" {
            return Err(DocumentError::Missing(format!(
                "{} is not in EUR",
                d.number
            )));
        }
    }
    let p = &h.seller.party;
    let mut x = Xml::new(
        "AuditFile",
        &[("xmlns", "urn:OECD:StandardAuditFile-Tax:PT_1.04_01")],
    );
    x.open("Header");
    x.leaf("AuditFileVersion", "1.04_01");
    x.leaf("CompanyID", &nif);
    x.leaf("TaxRegistrationNumber", &nif);
    x.leaf("TaxAccountingBasis", "F");
    x.leaf("CompanyName", &cut(&p.name, 100));
    x.open("CompanyAddress");
    x.leaf(
        "AddressDetail",
        &cut(p.street.as_deref().unwrap_or(""), 210),
    );
    x.leaf("City", &cut(p.city.as_deref().unwrap_or(""), 50));
    x.leaf(
        "PostalCode",
        &cut(p.postal_code.as_deref().unwrap_or(""), 20),
    );
    x.leaf("Country", "PT");
    x.close();
    x.leaf("FiscalYear", &h.start.year().to_string());
    x.leaf("StartDate", &date(h.start));
    x.leaf("EndDate", &date(h.end));
    x.leaf("CurrencyCode", "EUR");
    x.leaf("DateCreated", &date(h.created));
    x.leaf("TaxEntity", "Global");
    x.leaf("ProductCompanyTaxID", &h.producer_nif);
    x.leaf("SoftwareCertificateNumber", &h.certificate);
    x.leaf("ProductID", "Aftersales/Aftersales");
    x.leaf("ProductVersion", &cut(&h.product_version, 30));
    x.close();

    // Master files: every customer and product the documents use, once.
    x.open("MasterFiles");
    let mut customers: BTreeMap<&str, &Document> = BTreeMap::new();
    for d in docs {
        customers.entry(d.customer_id.as_str()).or_insert(d);
    }
    for (id, d) in &customers {
        let b = &d.buyer;
        let consumer_nif = b.nif.as_deref().filter(|n| !n.is_empty()).is_none();
        x.open("Customer");
        x.leaf("CustomerID", &cut(id, 30));
        x.leaf("AccountID", "Desconhecido");
        x.leaf(
            "CustomerTaxID",
            b.nif
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or("999999990"),
        );
        x.leaf(
            "CompanyName",
            &if consumer_nif && b.name.trim().is_empty() {
                "Consumidor final".to_string()
            } else {
                cut(&b.name, 100)
            },
        );
        x.open("BillingAddress");
        x.leaf(
            "AddressDetail",
            &cut(b.street.as_deref().unwrap_or(""), 210),
        );
        x.leaf("City", &cut(b.city.as_deref().unwrap_or(""), 50));
        x.leaf(
            "PostalCode",
            &cut(b.postal_code.as_deref().unwrap_or(""), 20),
        );
        x.leaf("Country", &cut(&b.country, 12));
        x.close();
        x.leaf("SelfBillingIndicator", "0");
        x.close();
    }
    let mut products: BTreeMap<String, (bool, String)> = BTreeMap::new();
    for d in docs {
        for l in &d.lines {
            products
                .entry(product_code(l))
                .or_insert((l.service, product_description(l)));
        }
    }
    for (code, (service, desc)) in &products {
        x.open("Product");
        x.leaf("ProductType", if *service { "S" } else { "P" });
        x.leaf("ProductCode", code);
        x.leaf("ProductDescription", desc);
        x.leaf("ProductNumberCode", code);
        x.close();
    }
    x.open("TaxTable");
    for region in [TaxRegion::Mainland, TaxRegion::Azores, TaxRegion::Madeira] {
        for (code, text) in [
            (TaxCode::Standard, "Taxa normal"),
            (TaxCode::Intermediate, "Taxa intermédia"),
            (TaxCode::Reduced, "Taxa reduzida"),
            (TaxCode::Exempt, "Isenta"),
        ] {
            x.open("TaxTableEntry");
            x.leaf("TaxType", "IVA");
            x.leaf("TaxCountryRegion", region.as_str());
            x.leaf("TaxCode", code.saft_pt());
            x.leaf("Description", text);
            x.leaf("TaxPercentage", &format_rate(rate_bp(region, code)));
            x.close();
        }
    }
    // Codes used by the documents beyond the table above (outside the scope of VAT), once per region.
    let mut extra: Vec<(TaxRegion, TaxCode)> = Vec::new();
    for d in docs {
        for l in &d.lines {
            if l.tax_code == TaxCode::OutsideScope && !extra.contains(&(d.region, l.tax_code)) {
                extra.push((d.region, l.tax_code));
            }
        }
    }
    for (region, code) in extra {
        x.open("TaxTableEntry");
        x.leaf("TaxType", "IVA");
        x.leaf("TaxCountryRegion", region.as_str());
        x.leaf("TaxCode", code.saft_pt());
        x.leaf("Description", "Não sujeito");
        x.leaf("TaxPercentage", "0");
        x.close();
    }
    x.close();
    x.close();

    // Sales invoices. Amounts are never negative: the side (debit/credit) carries the sign.
    let mut total_debit = 0i64;
    let mut total_credit = 0i64;
    for d in docs {
        for l in &d.lines {
            let credit_side = (d.kind == DocKind::Invoice) == (l.net_minor >= 0);
            if credit_side {
                total_credit += l.net_minor.abs();
            } else {
                total_debit += l.net_minor.abs();
            }
        }
    }
    x.open("SourceDocuments").open("SalesInvoices");
    x.leaf("NumberOfEntries", &docs.len().to_string());
    x.leaf("TotalDebit", &amount(total_debit));
    x.leaf("TotalCredit", &amount(total_credit));
    for d in docs {
        let Some(pt) = &d.pt else { continue };
        let entry = pt
            .system_entry
            .format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]"
            ))
            .unwrap_or_default();
        let source = cut(&d.issued_by, 30);
        x.open("Invoice");
        x.leaf("InvoiceNo", &d.number);
        x.leaf("ATCUD", &pt.atcud);
        x.open("DocumentStatus");
        x.leaf("InvoiceStatus", "N");
        x.leaf("InvoiceStatusDate", &entry);
        x.leaf("SourceID", &source);
        x.leaf("SourceBilling", "P");
        x.close();
        x.leaf("Hash", &pt.hash);
        x.leaf("HashControl", &pt.hash_control);
        x.leaf("Period", &u8::from(d.issue_date.month()).to_string());
        x.leaf("InvoiceDate", &date(d.issue_date));
        x.leaf("InvoiceType", pt.doc_type.as_str());
        x.open("SpecialRegimes");
        x.leaf("SelfBillingIndicator", "0");
        x.leaf("CashVATSchemeIndicator", "0");
        x.leaf("ThirdPartiesBillingIndicator", "0");
        x.close();
        x.leaf("SourceID", &source);
        x.leaf("SystemEntryDate", &entry);
        x.leaf("CustomerID", &cut(&d.customer_id, 30));
        let tax_point = date(d.delivery_date.unwrap_or(d.issue_date));
        for (i, l) in d.lines.iter().enumerate() {
            x.open("Line");
            x.leaf("LineNumber", &(i + 1).to_string());
            x.leaf("ProductCode", &product_code(l));
            x.leaf(
                "ProductDescription",
                products
                    .get(&product_code(l))
                    .map(|p| p.1.as_str())
                    .unwrap_or("Serviço"),
            );
            x.leaf("Quantity", &amount(l.quantity_centi.abs()));
            x.leaf("UnitOfMeasure", l.unit.saft());
            x.leaf("UnitPrice", &amount(l.unit_price_minor.abs()));
            x.leaf("TaxPointDate", &tax_point);
            if let Some(c) = &d.credited {
                x.open("References");
                x.leaf("Reference", &c.number);
                x.opt("Reason", d.reason.as_deref().map(|r| cut(r, 50)).as_deref());
                x.close();
            }
            x.leaf("Description", &cut(&l.description, 200));
            let credit_side = (d.kind == DocKind::Invoice) == (l.net_minor >= 0);
            x.leaf(
                if credit_side {
                    "CreditAmount"
                } else {
                    "DebitAmount"
                },
                &amount(l.net_minor.abs()),
            );
            x.open("Tax");
            x.leaf("TaxType", "IVA");
            x.leaf("TaxCountryRegion", d.region.as_str());
            x.leaf("TaxCode", l.tax_code.saft_pt());
            x.leaf("TaxPercentage", &format_rate(l.rate_bp));
            x.close();
            if l.rate_bp == 0 {
                let e = l.exemption.as_ref().ok_or_else(|| {
                    DocumentError::Missing(format!(
                        "{} line {}: the exemption reason of a line without VAT",
                        d.number,
                        i + 1
                    ))
                })?;
                x.leaf("TaxExemptionReason", &cut(&e.reason, 60));
                x.leaf("TaxExemptionCode", &e.code);
            }
            x.close();
        }
        x.open("DocumentTotals");
        x.leaf("TaxPayable", &amount(d.totals.tax_minor.abs()));
        x.leaf("NetTotal", &amount(d.totals.net_minor.abs()));
        x.leaf("GrossTotal", &amount(d.totals.gross_minor.abs()));
        // How an invoice-receipt (or a simplified invoice paid at once) was paid.
        if matches!(pt.doc_type, PtDocType::Fr | PtDocType::Fs) {
            for (mechanism, paid, on) in &d.settled {
                x.open("Payment");
                x.leaf("PaymentMechanism", mechanism);
                x.leaf("PaymentAmount", &amount(paid.abs()));
                x.leaf("PaymentDate", &date(*on));
                x.close();
            }
        }
        x.close();
        x.close();
    }
    Ok(to_cp1252(&x.finish().replacen("UTF-8", "Windows-1252", 1)))
}

/// A line's product: its code (part number, labour operation); a line without one (a sublet, a
/// free-standing line) is a product of its own, coded from its description, so the product master
/// never describes one thing with another's words.
fn product_code(l: &crate::Line) -> String {
    match l.code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => c.chars().take(60).collect(),
        None => {
            let kind = if l.service { "SERVICO" } else { "PECA" };
            let words = l.description.trim().to_lowercase();
            format!("{kind}-{:08X}", fnv1a(words.as_bytes()))
        }
    }
}

/// FNV-1a, 32 bits: a short, stable code for a description (not a security hash).
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

fn product_description(l: &crate::Line) -> String {
    let d: String = l.description.trim().chars().take(200).collect();
    if d.chars().count() >= 2 {
        d
    } else if l.service {
        "Serviço".into()
    } else {
        "Peça".into()
    }
}

/// Windows-1252 bytes; characters it lacks become `&#N;` (the text has been escaped already).
fn to_cp1252(s: &str) -> Vec<u8> {
    const HIGH: [(char, u8); 27] = [
        ('€', 0x80),
        ('‚', 0x82),
        ('ƒ', 0x83),
        ('„', 0x84),
        ('…', 0x85),
        ('†', 0x86),
        ('‡', 0x87),
        ('ˆ', 0x88),
        ('‰', 0x89),
        ('Š', 0x8A),
        ('‹', 0x8B),
        ('Œ', 0x8C),
        ('Ž', 0x8E),
        ('‘', 0x91),
        ('’', 0x92),
        ('“', 0x93),
        ('”', 0x94),
        ('•', 0x95),
        ('–', 0x96),
        ('—', 0x97),
        ('˜', 0x98),
        ('™', 0x99),
        ('š', 0x9A),
        ('›', 0x9B),
        ('œ', 0x9C),
        ('ž', 0x9E),
        ('Ÿ', 0x9F),
    ];
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        let u = c as u32;
        if u < 0x80 || (0xA0..=0xFF).contains(&u) {
            out.push(u8::try_from(u).unwrap_or(b'?'));
        } else if let Some((_, b)) = HIGH.iter().find(|(h, _)| *h == c) {
            out.push(*b);
        } else {
            out.extend_from_slice(format!("&#{u};").as_bytes());
        }
    }
    out
}
