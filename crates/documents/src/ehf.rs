//! EHF = Peppol BIS Billing 3.0: UBL 2.1 Invoice (380) and CreditNote (381) for Norwegian documents.
//! Elements follow the UBL schema order; no empty elements (PEPPOL-EN16931-R008). Validated in the tests against
//! the official CEN and Peppol schematron (`../shared/validation/peppol/`).

use aftersales_domain::billing::{format_rate, DocKind, TaxCode, TaxSubtotal};
use time::macros::format_description;
use time::Date;

use crate::xml::Xml;
use crate::{amount, Document, DocumentError, Party};

const CUSTOMIZATION: &str =
    "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0";
const PROFILE: &str = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0";
const CAC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2";
const CBC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2";

fn date(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// Why a document cannot be sent as EHF, if it cannot: the message names what is missing.
pub fn check(doc: &Document) -> Result<(), DocumentError> {
    let missing = |m: &str| Err(DocumentError::Missing(m.to_string()));
    if doc.seller.party.org_number.is_none() {
        return missing("EHF needs the seller's Norwegian organisation number");
    }
    if doc.buyer.org_number.is_none() {
        return missing("EHF needs the buyer's Norwegian organisation number (its Peppol address); send a consumer the PDF");
    }
    if doc.lines.is_empty() {
        return missing("an EHF document has at least one line");
    }
    let has_out = doc
        .subtotals
        .iter()
        .any(|g| g.code == TaxCode::OutsideScope);
    if has_out && doc.subtotals.len() > 1 {
        return missing("EN 16931 (BR-O-11) does not allow lines outside the scope of VAT beside taxed lines: issue them on a separate document");
    }
    if doc.subtotals.iter().any(|g| g.code.category() == "S") && !doc.seller.vat_registered {
        return missing("the seller charges VAT but is not marked as VAT-registered");
    }
    if doc.kind == DocKind::Invoice && doc.seller.bank_account.is_none() {
        return missing("the seller's bank account (BR-61: credit transfer needs the account)");
    }
    Ok(())
}

fn tax_category(x: &mut Xml, tag: &'static str, code: TaxCode, rate_bp: u32, reason: Option<&str>) {
    x.open(tag);
    x.leaf("cbc:ID", code.category());
    if code != TaxCode::OutsideScope {
        x.leaf("cbc:Percent", &format_rate(rate_bp));
    }
    if matches!(code, TaxCode::Exempt | TaxCode::OutsideScope) {
        x.opt("cbc:TaxExemptionReason", reason);
    }
    x.open("cac:TaxScheme").leaf("cbc:ID", "VAT").close();
    x.close();
}

fn address(x: &mut Xml, p: &Party) {
    x.open("cac:PostalAddress");
    x.opt("cbc:StreetName", p.street.as_deref());
    x.opt("cbc:CityName", p.city.as_deref());
    x.opt("cbc:PostalZone", p.postal_code.as_deref());
    x.open("cac:Country")
        .leaf("cbc:IdentificationCode", &p.country)
        .close();
    x.close();
}

fn subtotal(x: &mut Xml, g: &TaxSubtotal, cur: &[(&str, &str)]) {
    x.open("cac:TaxSubtotal");
    x.leaf_with("cbc:TaxableAmount", cur, &amount(g.taxable_minor));
    x.leaf_with("cbc:TaxAmount", cur, &amount(g.tax_minor));
    let reason = g.exemption.as_ref().map(|e| e.reason.as_str());
    tax_category(x, "cac:TaxCategory", g.code, g.rate_bp, reason);
    x.close();
}

/// The UBL XML of a Norwegian invoice or credit note.
pub fn write(doc: &Document) -> Result<String, DocumentError> {
    check(doc)?;
    let credit = doc.kind == DocKind::CreditNote;
    let (root, ns) = if credit {
        (
            "CreditNote",
            "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
        )
    } else {
        (
            "Invoice",
            "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
        )
    };
    let cur_s = doc.currency.clone();
    let cur: &[(&str, &str)] = &[("currencyID", cur_s.as_str())];
    let mut x = Xml::new(
        root,
        &[("xmlns", ns), ("xmlns:cac", CAC), ("xmlns:cbc", CBC)],
    );
    x.leaf("cbc:CustomizationID", CUSTOMIZATION);
    x.leaf("cbc:ProfileID", PROFILE);
    x.leaf("cbc:ID", &doc.number);
    x.leaf("cbc:IssueDate", &date(doc.issue_date));
    if credit {
        x.leaf("cbc:CreditNoteTypeCode", "381");
    } else {
        if let Some(d) = doc.due_date {
            x.leaf("cbc:DueDate", &date(d));
        }
        x.leaf("cbc:InvoiceTypeCode", "380");
    }
    // At most one document note (PEPPOL-EN16931-R002): the credit reason and the note together.
    let note = [doc.reason.as_deref(), doc.note.as_deref()]
        .into_iter()
        .flatten()
        .filter(|n| !n.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" — ");
    x.leaf("cbc:Note", &note);
    x.leaf("cbc:DocumentCurrencyCode", &doc.currency);
    x.leaf("cbc:BuyerReference", &doc.buyer_reference);
    if let Some(c) = &doc.credited {
        x.open("cac:BillingReference")
            .open("cac:InvoiceDocumentReference");
        x.leaf("cbc:ID", &c.number);
        x.leaf("cbc:IssueDate", &date(c.issue_date));
        x.close().close();
    }

    // Seller.
    let s = &doc.seller;
    let org = s.party.org_number.clone().unwrap_or_default();
    x.open("cac:AccountingSupplierParty").open("cac:Party");
    x.leaf_with("cbc:EndpointID", &[("schemeID", "0192")], &org);
    x.open("cac:PartyName")
        .leaf("cbc:Name", &s.party.name)
        .close();
    address(&mut x, &s.party);
    let outside_only = doc
        .subtotals
        .iter()
        .all(|g| g.code == TaxCode::OutsideScope);
    if s.vat_registered && !outside_only {
        x.open("cac:PartyTaxScheme");
        x.leaf("cbc:CompanyID", &format!("NO{org}MVA"));
        x.open("cac:TaxScheme").leaf("cbc:ID", "VAT").close();
        x.close();
    }
    if s.foretaksregisteret {
        x.open("cac:PartyTaxScheme");
        x.leaf("cbc:CompanyID", "Foretaksregisteret");
        x.open("cac:TaxScheme").leaf("cbc:ID", "TAX").close();
        x.close();
    }
    x.open("cac:PartyLegalEntity");
    x.leaf("cbc:RegistrationName", &s.party.name);
    x.leaf_with("cbc:CompanyID", &[("schemeID", "0192")], &org);
    x.close();
    if let Some(e) = &s.party.email {
        x.open("cac:Contact").leaf("cbc:ElectronicMail", e).close();
    }
    x.close().close();

    // Buyer.
    let b = &doc.buyer;
    let borg = b.org_number.clone().unwrap_or_default();
    x.open("cac:AccountingCustomerParty").open("cac:Party");
    x.leaf_with("cbc:EndpointID", &[("schemeID", "0192")], &borg);
    x.open("cac:PartyName").leaf("cbc:Name", &b.name).close();
    address(&mut x, b);
    x.open("cac:PartyLegalEntity");
    x.leaf("cbc:RegistrationName", &b.name);
    x.leaf_with("cbc:CompanyID", &[("schemeID", "0192")], &borg);
    x.close();
    if let Some(e) = &b.email {
        x.open("cac:Contact").leaf("cbc:ElectronicMail", e).close();
    }
    x.close().close();

    if let Some(d) = doc.delivery_date {
        x.open("cac:Delivery")
            .leaf("cbc:ActualDeliveryDate", &date(d))
            .close();
    }
    if !credit {
        x.open("cac:PaymentMeans");
        x.leaf_with("cbc:PaymentMeansCode", &[("name", "Credit transfer")], "30");
        x.opt("cbc:PaymentID", doc.payment_reference.as_deref());
        x.open("cac:PayeeFinancialAccount");
        x.opt("cbc:ID", s.bank_account.as_deref());
        if let Some(bic) = &s.bic {
            x.open("cac:FinancialInstitutionBranch")
                .leaf("cbc:ID", bic)
                .close();
        }
        x.close();
        x.close();
        if let Some(d) = doc.due_date {
            x.open("cac:PaymentTerms")
                .leaf("cbc:Note", &format!("Forfall {}", date(d)))
                .close();
        }
    }

    x.open("cac:TaxTotal");
    x.leaf_with("cbc:TaxAmount", cur, &amount(doc.totals.tax_minor));
    for g in &doc.subtotals {
        subtotal(&mut x, g, cur);
    }
    x.close();
    x.open("cac:LegalMonetaryTotal");
    x.leaf_with(
        "cbc:LineExtensionAmount",
        cur,
        &amount(doc.totals.net_minor),
    );
    x.leaf_with("cbc:TaxExclusiveAmount", cur, &amount(doc.totals.net_minor));
    x.leaf_with(
        "cbc:TaxInclusiveAmount",
        cur,
        &amount(doc.totals.gross_minor),
    );
    x.leaf_with("cbc:PayableAmount", cur, &amount(doc.totals.gross_minor));
    x.close();

    let (line_tag, qty_tag) = if credit {
        ("cac:CreditNoteLine", "cbc:CreditedQuantity")
    } else {
        ("cac:InvoiceLine", "cbc:InvoicedQuantity")
    };
    for (i, l) in doc.lines.iter().enumerate() {
        // Prices are never negative (BR-27): a negative line carries a negative quantity.
        let (qty, price) = if l.unit_price_minor < 0 {
            (-l.quantity_centi, -l.unit_price_minor)
        } else {
            (l.quantity_centi, l.unit_price_minor)
        };
        x.open(line_tag);
        x.leaf("cbc:ID", &(i + 1).to_string());
        x.leaf_with(qty_tag, &[("unitCode", l.unit.uncefact())], &amount(qty));
        x.leaf_with("cbc:LineExtensionAmount", cur, &amount(l.net_minor));
        x.open("cac:Item");
        x.leaf("cbc:Name", &l.description);
        if let Some(code) = l.code.as_deref().filter(|c| !c.trim().is_empty()) {
            x.open("cac:SellersItemIdentification")
                .leaf("cbc:ID", code)
                .close();
        }
        tax_category(
            &mut x,
            "cac:ClassifiedTaxCategory",
            l.tax_code,
            l.rate_bp,
            None,
        );
        x.close();
        x.open("cac:Price");
        x.leaf_with("cbc:PriceAmount", cur, &amount(price));
        x.close();
        x.close();
    }
    Ok(x.finish())
}
