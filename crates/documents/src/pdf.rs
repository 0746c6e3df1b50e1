//! PDF for every document, in the reader's language, with the legal content of its market, rendered by Typst
//! embedded as a library from one template (`templates/document.typ`) fed with JSON. Portugal: the QR code with
//! ATCUD above it and the certificate line on every page. Norway: organisation number with MVA,
//! Foretaksregisteret, KID, account and due date.

use std::sync::LazyLock;

use aftersales_domain::billing::{format_rate, DocKind, PtDocType, TaxCode};
use aftersales_domain::i18n::Language;
use serde_json::{json, Value};
use time::Date;
use typst::diag::{FileError, FileResult, SourceDiagnostic, Warned};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

use crate::{Document, DocumentError, Party};

const TEMPLATE: &str = include_str!("../templates/document.typ");

static LIBRARY: LazyLock<LazyHash<Library>> = LazyLock::new(|| LazyHash::new(Library::default()));
static FONTS: LazyLock<(LazyHash<FontBook>, Vec<Font>)> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts()
        .flat_map(|d| Font::iter(Bytes::new(d)))
        .collect();
    (LazyHash::new(FontBook::from_fonts(&fonts)), fonts)
});

fn file_id(p: &str) -> Option<FileId> {
    Some(RootedPath::new(VirtualRoot::Project, VirtualPath::new(p).ok()?).intern())
}

struct DocWorld {
    main: Source,
    files: Vec<(FileId, Bytes)>,
    today: Datetime,
}

impl World for DocWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }
    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.0
    }
    fn main(&self) -> FileId {
        self.main.id()
    }
    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::NotFound(id.vpath().get_without_slash().into()))
        }
    }
    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.files
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, b)| b.clone())
            .ok_or_else(|| FileError::NotFound(id.vpath().get_without_slash().into()))
    }
    fn font(&self, index: usize) -> Option<Font> {
        FONTS.1.get(index).cloned()
    }
    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}

fn diagnostics(diags: &[SourceDiagnostic]) -> String {
    diags
        .iter()
        .map(|d| {
            let hints: String = d
                .hints
                .iter()
                .map(|h| format!(" (hint: {})", h.v))
                .collect();
            format!("{}{hints}", d.message)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `1234567` → `12 345,67` (nb, pt) or `12,345.67` (en).
pub fn money(minor: i64, lang: Language) -> String {
    let neg = minor < 0;
    let a = minor.unsigned_abs();
    let whole = (a / 100).to_string();
    let (sep, dec) = match lang {
        Language::En => (',', '.'),
        Language::Nb | Language::Pt => ('\u{a0}', ','),
    };
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(sep);
        }
        grouped.push(c);
    }
    format!("{}{grouped}{dec}{:02}", if neg { "-" } else { "" }, a % 100)
}

pub(crate) fn quantity(centi: i64, lang: Language) -> String {
    let s = money(centi, lang);
    let dec = if lang == Language::En { ".00" } else { ",00" };
    s.strip_suffix(dec).map(str::to_string).unwrap_or(s)
}

pub fn date(d: Date, lang: Language) -> String {
    let (y, m, day) = (d.year(), u8::from(d.month()), d.day());
    match lang {
        Language::Nb => format!("{day:02}.{m:02}.{y}"),
        Language::Pt => format!("{day:02}/{m:02}/{y}"),
        Language::En => format!("{y}-{m:02}-{day:02}"),
    }
}

struct Labels {
    invoice: &'static str,
    credit_note: &'static str,
    simplified: &'static str,
    receipt: &'static str,
    buyer: &'static str,
    date: &'static str,
    due: &'static str,
    delivery: &'static str,
    reference: &'static str,
    columns: [&'static str; 6],
    vat_columns: [&'static str; 3],
    net: &'static str,
    vat: &'static str,
    gross: &'static str,
    credit_gross: &'static str,
    account: &'static str,
    kid: &'static str,
    page: &'static str,
    reason: &'static str,
    credits: &'static str,
    hours: &'static str,
    pieces: &'static str,
    org_number: &'static str,
    exempt: &'static str,
    outside: &'static str,
    zero: &'static str,
    paid: &'static str,
}

fn labels(lang: Language) -> Labels {
    match lang {
        Language::Nb => Labels {
            invoice: "Faktura",
            credit_note: "Kreditnota",
            simplified: "Forenklet faktura",
            receipt: "Faktura-kvittering",
            buyer: "Kunde",
            date: "Fakturadato",
            due: "Forfallsdato",
            delivery: "Leveringsdato",
            reference: "Deres ref. / arbeidsordre",
            columns: ["Beskrivelse", "Antall", "Enhet", "Pris", "MVA", "Beløp"],
            vat_columns: ["MVA-sats", "Grunnlag", "MVA"],
            net: "Sum eks. MVA",
            vat: "MVA",
            gross: "Å betale",
            credit_gross: "Kreditert beløp",
            account: "Kontonummer",
            kid: "KID",
            page: "Side",
            reason: "Årsak",
            credits: "Krediterer faktura",
            hours: "t",
            pieces: "stk",
            org_number: "Org.nr.",
            exempt: "Fritatt",
            outside: "Utenfor MVA-loven",
            zero: "Nullsats",
            paid: "Betalt",
        },
        Language::Pt => Labels {
            invoice: "Fatura",
            credit_note: "Nota de crédito",
            simplified: "Fatura simplificada",
            receipt: "Fatura-recibo",
            buyer: "Cliente",
            date: "Data",
            due: "Vencimento",
            delivery: "Data de prestação",
            reference: "Referência / ordem de reparação",
            columns: ["Descrição", "Qtd.", "Unid.", "Preço", "IVA", "Valor"],
            vat_columns: ["Taxa de IVA", "Incidência", "IVA"],
            net: "Total sem IVA",
            vat: "IVA",
            gross: "Total a pagar",
            credit_gross: "Total creditado",
            account: "IBAN",
            kid: "Referência",
            page: "Página",
            reason: "Motivo",
            credits: "Retifica a fatura",
            hours: "h",
            pieces: "un",
            org_number: "NIF",
            exempt: "Isento",
            outside: "Não sujeito",
            zero: "Taxa zero",
            paid: "Pago",
        },
        Language::En => Labels {
            invoice: "Invoice",
            credit_note: "Credit note",
            simplified: "Simplified invoice",
            receipt: "Invoice-receipt",
            buyer: "Customer",
            date: "Invoice date",
            due: "Due date",
            delivery: "Delivery date",
            reference: "Your reference / repair order",
            columns: ["Description", "Qty", "Unit", "Price", "VAT", "Amount"],
            vat_columns: ["VAT rate", "Taxable", "VAT"],
            net: "Total excl. VAT",
            vat: "VAT",
            gross: "Amount due",
            credit_gross: "Amount credited",
            account: "Account",
            kid: "KID",
            page: "Page",
            reason: "Reason",
            credits: "Credits invoice",
            hours: "h",
            pieces: "pcs",
            org_number: "Org. no.",
            exempt: "Exempt",
            outside: "Outside the scope of VAT",
            zero: "Zero-rated",
            paid: "Paid",
        },
    }
}

fn address(p: &Party) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(s) = &p.street {
        out.push(s.clone());
    }
    let city = [p.postal_code.as_deref(), p.city.as_deref()]
        .iter()
        .flatten()
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    if !city.is_empty() {
        out.push(city);
    }
    out
}

/// Norwegian organisation numbers are printed in groups of three: `988 077 917`.
fn grouped_org(n: &str) -> String {
    n.as_bytes()
        .chunks(3)
        .map(|c| String::from_utf8_lossy(c).to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The data the template reads.
fn data(doc: &Document, lang: Language, paid: Option<i64>) -> Value {
    let l = labels(lang);
    let pt = doc.pt.as_ref();
    let credit = doc.kind == DocKind::CreditNote;
    let title = match (credit, pt.map(|p| p.doc_type)) {
        (true, _) => l.credit_note,
        (false, Some(PtDocType::Fs)) => l.simplified,
        (false, Some(PtDocType::Fr)) => l.receipt,
        _ => l.invoice,
    };
    let s = &doc.seller;
    let mut seller_ids = Vec::new();
    if let Some(o) = &s.party.org_number {
        let mva = if s.vat_registered { " MVA" } else { "" };
        seller_ids.push(format!("{} {}{mva}", l.org_number, grouped_org(o)));
    }
    if s.foretaksregisteret {
        seller_ids.push("Foretaksregisteret".to_string());
    }
    if let Some(n) = &s.party.nif {
        seller_ids.push(format!("NIF {n}"));
    }
    let b = &doc.buyer;
    let mut buyer_ids = Vec::new();
    if let Some(o) = &b.org_number {
        buyer_ids.push(format!("{} {}", l.org_number, grouped_org(o)));
    }
    if pt.is_some() {
        buyer_ids.push(format!(
            "NIF {}",
            b.nif
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or("999999990")
        ));
    } else if let Some(n) = &b.nif {
        buyer_ids.push(format!("NIF {n}"));
    }
    let mut facts = vec![json!([l.date, date(doc.issue_date, lang)])];
    if let Some(d) = doc.due_date {
        facts.push(json!([l.due, date(d, lang)]));
    }
    if let Some(d) = doc.delivery_date {
        facts.push(json!([l.delivery, date(d, lang)]));
    }
    if !doc.buyer_reference.is_empty() {
        facts.push(json!([l.reference, doc.buyer_reference]));
    }
    let rate_label = |code: TaxCode, bp: u32| match code {
        TaxCode::Exempt => l.exempt.to_string(),
        TaxCode::OutsideScope => l.outside.to_string(),
        TaxCode::Zero => l.zero.to_string(),
        _ => format!("{} %", format_rate(bp)),
    };
    let lines: Vec<Value> = doc
        .lines
        .iter()
        .map(|x| {
            json!({
                "description": x.description,
                "quantity": quantity(x.quantity_centi, lang),
                "unit": if x.unit == crate::Unit::Hour { l.hours } else { l.pieces },
                "price": money(x.unit_price_minor, lang),
                "rate": rate_label(x.tax_code, x.rate_bp),
                "amount": money(x.net_minor, lang),
            })
        })
        .collect();
    let vat: Vec<Value> = doc
        .subtotals
        .iter()
        .map(|g| {
            json!({
                "label": rate_label(g.code, g.rate_bp),
                "base": money(g.taxable_minor, lang),
                "tax": money(g.tax_minor, lang),
            })
        })
        .collect();
    let exemptions: Vec<String> = doc
        .subtotals
        .iter()
        .filter_map(|g| g.exemption.as_ref())
        .map(|e| {
            if e.code.is_empty() {
                e.reason.clone()
            } else {
                format!("{}: {}", e.code, e.reason)
            }
        })
        .collect();
    let payment = if credit {
        None
    } else {
        let mut p = Vec::new();
        if let Some(a) = &s.bank_account {
            p.push(json!([l.account, a]));
        }
        if let Some(k) = &doc.payment_reference {
            p.push(json!([l.kid, k]));
        }
        if let Some(d) = doc.due_date {
            p.push(json!([l.due, date(d, lang)]));
        }
        p.push(json!([
            l.gross,
            format!("{} {}", money(doc.totals.gross_minor, lang), doc.currency)
        ]));
        if let Some(paid) = paid.filter(|p| *p > 0) {
            p.push(json!([l.paid, money(paid, lang)]));
        }
        Some(p)
    };
    json!({
        "lang": lang.code(),
        "title": title,
        "number": doc.number,
        "seller": {
            "name": s.party.name,
            "address": address(&s.party),
            "ids": seller_ids,
            "email": s.party.email,
        },
        "buyer": {
            "name": if b.name.is_empty() { "—".to_string() } else { b.name.clone() },
            "address": address(b),
            "ids": buyer_ids,
        },
        "facts": facts,
        "credited": doc.credited.as_ref().map(|c| format!("{} {} ({})", l.credits, c.number, date(c.issue_date, lang))),
        "lines": lines,
        "vat": vat,
        "exemptions": exemptions,
        "totals": {
            "net": money(doc.totals.net_minor, lang),
            "tax": money(doc.totals.tax_minor, lang),
            "gross": format!("{} {}", money(doc.totals.gross_minor, lang), doc.currency),
        },
        "payment": payment,
        "reason": doc.reason,
        "note": doc.note,
        "pt": pt.map(|p| json!({
            "atcud": p.atcud,
            "certificate_line": crate::pt::certificate_line(&p.hash, &p.certificate),
        })),
        "labels": {
            "buyer": l.buyer,
            "columns": l.columns,
            "vat_columns": l.vat_columns,
            "net": l.net,
            "vat": l.vat,
            "gross": if credit { l.credit_gross } else { l.gross },
            "page": l.page,
            "reason": l.reason,
        },
    })
}

/// The QR code of a Portuguese document as SVG (error correction M, as the AT specification asks).
pub fn qr_svg(payload: &str) -> Result<String, DocumentError> {
    let code = qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| DocumentError::Missing(format!("a QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

/// Renders the PDF of an issued document in `lang`. `paid` is what has been paid on it (shown on invoices).
/// CPU-bound: call it from a blocking task in async code.
pub fn render(doc: &Document, lang: Language, paid: Option<i64>) -> Result<Vec<u8>, DocumentError> {
    let fail = |m: String| DocumentError::Missing(format!("a printable document: {m}"));
    let data = serde_json::to_vec(&data(doc, lang, paid)).map_err(|e| fail(e.to_string()))?;
    let mut files = vec![("data.json", Bytes::new(data))];
    if doc.pt.is_some() {
        let qr = crate::pt::qr_string(doc)?;
        files.push(("qr.svg", Bytes::from_string(qr_svg(&qr)?)));
    }
    compile(TEMPLATE, files, doc.issue_date).map_err(fail)
}

/// Typesets `template` with `files` beside it (read by name) on `day` and answers the PDF.
pub(crate) fn compile(
    template: &str,
    files: Vec<(&str, Bytes)>,
    day: Date,
) -> Result<Vec<u8>, String> {
    let main_id = file_id("main.typ").ok_or("file ids")?;
    let files = files
        .into_iter()
        .map(|(name, b)| file_id(name).map(|id| (id, b)).ok_or("file ids"))
        .collect::<Result<Vec<_>, _>>()?;
    let today =
        Datetime::from_ymd(day.year(), u8::from(day.month()), day.day()).ok_or("the date")?;
    let world = DocWorld {
        main: Source::new(main_id, template.to_string()),
        files,
        today,
    };
    let Warned {
        output,
        warnings: _,
    } = typst::compile::<PagedDocument>(&world);
    let paged = output.map_err(|e| diagnostics(&e))?;
    let pdf =
        typst_pdf::pdf(&paged, &typst_pdf::PdfOptions::default()).map_err(|e| diagnostics(&e))?;
    typst::comemo::evict(10);
    Ok(pdf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_dates_per_language() {
        assert_eq!(money(123_456_789, Language::Nb), "1\u{a0}234\u{a0}567,89");
        assert_eq!(money(-5, Language::En), "-0.05");
        assert_eq!(money(100_000, Language::En), "1,000.00");
        assert_eq!(quantity(150, Language::Pt), "1,50");
        assert_eq!(quantity(200, Language::Nb), "2");
        let d = time::macros::date!(2026 - 11 - 03);
        assert_eq!(date(d, Language::Nb), "03.11.2026");
        assert_eq!(date(d, Language::Pt), "03/11/2026");
        assert_eq!(date(d, Language::En), "2026-11-03");
        assert_eq!(grouped_org("988077917"), "988 077 917");
    }
}
