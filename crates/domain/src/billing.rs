//! Billing rules of the two markets: document kinds, VAT codes and rates per region, the VAT breakdown of a
//! document with its one rounding rule, KID payment references (NO) and the Portuguese document types, series
//! and numbers. Sources: `../shared/reference/domain-rules.md` §1 and §2.

use serde::{Deserialize, Serialize};

use crate::validation::{FieldError, Rule};

vocabulary!(
    /// What a billing document is.
    DocKind {
        Invoice => "invoice",
        CreditNote => "credit-note",
    }
);

vocabulary!(
    /// The market whose law a legal entity invoices under.
    #[schema(as = InvoicingMarket)]
    Market {
        Norway => "NO",
        Portugal => "PT",
    }
);

vocabulary!(
    /// The fiscal region of a document (SAF-T `TaxCountryRegion`): decides the rates.
    TaxRegion {
        Norway => "NO",
        Mainland => "PT",
        Azores => "PT-AC",
        Madeira => "PT-MA",
    }
);

impl TaxRegion {
    pub fn market(self) -> Market {
        match self {
            TaxRegion::Norway => Market::Norway,
            _ => Market::Portugal,
        }
    }
}

vocabulary!(
    /// The VAT treatment of a line.
    TaxCode {
        Standard => "standard",
        Intermediate => "intermediate",
        Reduced => "reduced",
        Zero => "zero",
        Exempt => "exempt",
        OutsideScope => "outside-scope",
    }
);

impl TaxCode {
    /// The EN 16931 VAT category code (UNCL5305) used in UBL.
    pub fn category(self) -> &'static str {
        match self {
            TaxCode::Standard | TaxCode::Intermediate | TaxCode::Reduced => "S",
            TaxCode::Zero => "Z",
            TaxCode::Exempt => "E",
            TaxCode::OutsideScope => "O",
        }
    }

    /// The SAF-T (PT) `TaxCode`.
    pub fn saft_pt(self) -> &'static str {
        match self {
            TaxCode::Standard => "NOR",
            TaxCode::Intermediate => "INT",
            TaxCode::Reduced => "RED",
            TaxCode::Zero | TaxCode::Exempt => "ISE",
            TaxCode::OutsideScope => "OUT",
        }
    }

    /// The Norwegian SAF-T standard tax code (output VAT).
    pub fn saft_no(self) -> &'static str {
        match self {
            TaxCode::Standard => "3",
            TaxCode::Intermediate => "31",
            TaxCode::Reduced => "33",
            TaxCode::Zero | TaxCode::Exempt => "5",
            TaxCode::OutsideScope => "6",
        }
    }

    /// Whether the line carries a zero amount of tax and so needs an exemption reason.
    pub fn is_zero(self) -> bool {
        matches!(
            self,
            TaxCode::Zero | TaxCode::Exempt | TaxCode::OutsideScope
        )
    }
}

/// The rate of a code in a region, in basis points (2500 = 25 %). Rates in force in 2026:
/// NO 25/15/12; PT mainland 23/13/6, Madeira 22/12/4 (4 % since 1 Oct 2024), Azores 16/9/4.
pub fn rate_bp(region: TaxRegion, code: TaxCode) -> u32 {
    use TaxCode::*;
    use TaxRegion::*;
    match (region, code) {
        (_, Zero | Exempt | OutsideScope) => 0,
        (Norway, Standard) => 2500,
        (Norway, Intermediate) => 1500,
        (Norway, Reduced) => 1200,
        (Mainland, Standard) => 2300,
        (Mainland, Intermediate) => 1300,
        (Mainland, Reduced) => 600,
        (Madeira, Standard) => 2200,
        (Madeira, Intermediate) => 1200,
        (Madeira, Reduced) => 400,
        (Azores, Standard) => 1600,
        (Azores, Intermediate) => 900,
        (Azores, Reduced) => 400,
    }
}

/// `2500` → `"25"`, `1111` → `"11.11"`: a rate as a percentage, shortest exact form.
pub fn format_rate(bp: u32) -> String {
    if bp.is_multiple_of(100) {
        format!("{}", bp / 100)
    } else if bp.is_multiple_of(10) {
        format!("{}.{}", bp / 100, (bp % 100) / 10)
    } else {
        format!("{}.{:02}", bp / 100, bp % 100)
    }
}

/// Why a line carries no VAT: the Portuguese exemption code (M01…M99) and the text printed on the document,
/// or for Norway the text alone (code empty).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
pub struct Exemption {
    pub code: String,
    pub reason: String,
}

/// Exemption codes of the AT table most used by a workshop, with the law text the AT table gives
/// (✱ texts to confirm against the current table before certification).
pub const PT_EXEMPTIONS: &[(&str, &str)] = &[
    ("M07", "Isento artigo 9.º do CIVA"),
    ("M10", "IVA - regime de isenção"),
    ("M16", "Isento artigo 14.º do RITI"),
    ("M40", "IVA - autoliquidação"),
    ("M99", "Não sujeito ou não tributado"),
];

impl Exemption {
    /// Checks an exemption for a line in `market` with `code`. `field` names the input.
    pub fn parse(
        field: &str,
        market: Market,
        tax: TaxCode,
        code: &str,
        reason: &str,
    ) -> Result<Option<Exemption>, FieldError> {
        let code = code.trim();
        let reason = reason.trim();
        if !tax.is_zero() {
            if !code.is_empty() {
                return Err(FieldError::new(
                    format!("{field}.exemption_code"),
                    Rule::NotAllowed,
                    "an exemption code is only allowed on a zero-rated, exempt or out-of-scope line",
                ));
            }
            return Ok(None);
        }
        match market {
            Market::Portugal => {
                let known = PT_EXEMPTIONS.iter().find(|(c, _)| *c == code);
                let valid_code = code.len() == 3
                    && code.starts_with('M')
                    && code[1..].chars().all(|c| c.is_ascii_digit());
                if !valid_code {
                    return Err(FieldError::new(
                        format!("{field}.exemption_code"),
                        Rule::Format,
                        "a Portuguese line without VAT needs the AT exemption code M01…M99 (for example M07)",
                    )
                    .hint("err-exemption-code-pt"));
                }
                let reason = if reason.is_empty() {
                    match known {
                        Some((_, text)) => (*text).to_string(),
                        None => {
                            return Err(FieldError::new(
                                format!("{field}.exemption_reason"),
                                Rule::Required,
                                "give the exemption reason's text for this code",
                            ))
                        }
                    }
                } else {
                    reason.to_string()
                };
                let len = reason.chars().count();
                if !(6..=60).contains(&len) {
                    return Err(FieldError::new(
                        format!("{field}.exemption_reason"),
                        Rule::TooLong,
                        "the exemption reason has 6 to 60 characters (SAF-T TaxExemptionReason)",
                    ));
                }
                Ok(Some(Exemption {
                    code: code.to_string(),
                    reason,
                }))
            }
            Market::Norway => {
                if !code.is_empty() {
                    return Err(FieldError::new(
                        format!("{field}.exemption_code"),
                        Rule::NotAllowed,
                        "Norwegian lines take no exemption code, only a reason",
                    ));
                }
                let reason = if reason.is_empty() {
                    match tax {
                        TaxCode::OutsideScope => "Utenfor merverdiavgiftsloven".to_string(),
                        TaxCode::Exempt => "Unntatt merverdiavgift".to_string(),
                        _ => "Nullsats".to_string(),
                    }
                } else {
                    reason.to_string()
                };
                if reason.chars().count() > 200 {
                    return Err(FieldError::new(
                        format!("{field}.exemption_reason"),
                        Rule::TooLong,
                        "the exemption reason has at most 200 characters",
                    ));
                }
                Ok(Some(Exemption {
                    code: String::new(),
                    reason,
                }))
            }
        }
    }
}

/// A line as the tax computation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxedLine {
    pub net_minor: i64,
    pub code: TaxCode,
    pub rate_bp: u32,
    pub exemption: Option<Exemption>,
}

/// One VAT group of a document: all lines with the same code, rate and exemption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TaxSubtotal {
    pub code: TaxCode,
    pub rate_bp: u32,
    pub exemption: Option<Exemption>,
    pub taxable_minor: i64,
    pub tax_minor: i64,
}

/// The totals of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Totals {
    pub net_minor: i64,
    pub tax_minor: i64,
    pub gross_minor: i64,
}

/// The one rounding rule for VAT: taxable × rate, half away from zero, to the minor unit.
pub fn vat(taxable_minor: i64, rate_bp: u32) -> i64 {
    let p = i128::from(taxable_minor) * i128::from(rate_bp);
    let r = if p >= 0 {
        (p + 5_000) / 10_000
    } else {
        (p - 5_000) / 10_000
    };
    i64::try_from(r).unwrap_or(if r > 0 { i64::MAX } else { i64::MIN })
}

/// VAT per code, rate and exemption, computed on each group's total (EN 16931 BR-S-09/BR-CO-17), never per line.
/// Groups come in a fixed order (standard, intermediate, reduced, zero, exempt, outside; then rate, exemption).
pub fn breakdown(lines: &[TaxedLine]) -> (Vec<TaxSubtotal>, Totals) {
    let mut groups: Vec<TaxSubtotal> = Vec::new();
    for l in lines {
        match groups
            .iter_mut()
            .find(|g| g.code == l.code && g.rate_bp == l.rate_bp && g.exemption == l.exemption)
        {
            Some(g) => g.taxable_minor += l.net_minor,
            None => groups.push(TaxSubtotal {
                code: l.code,
                rate_bp: l.rate_bp,
                exemption: l.exemption.clone(),
                taxable_minor: l.net_minor,
                tax_minor: 0,
            }),
        }
    }
    groups.sort_by(|a, b| {
        (a.code, std::cmp::Reverse(a.rate_bp), &a.exemption).cmp(&(
            b.code,
            std::cmp::Reverse(b.rate_bp),
            &b.exemption,
        ))
    });
    for g in &mut groups {
        g.tax_minor = vat(g.taxable_minor, g.rate_bp);
    }
    let net_minor = groups.iter().map(|g| g.taxable_minor).sum();
    let tax_minor = groups.iter().map(|g| g.tax_minor).sum();
    (
        groups,
        Totals {
            net_minor,
            tax_minor,
            gross_minor: net_minor + tax_minor,
        },
    )
}

vocabulary!(
    /// How a KID's check digit is computed; agreed with the bank.
    KidScheme {
        Mod10 => "mod10",
        Mod11 => "mod11",
    }
);

/// Luhn (MOD10) check digit of a KID body.
pub fn kid_mod10(body: &str) -> char {
    let mut sum = 0u32;
    for (i, c) in body.chars().rev().enumerate() {
        let d = c.to_digit(10).unwrap_or(0);
        let p = if i % 2 == 0 { d * 2 } else { d };
        sum += p / 10 + p % 10;
    }
    char::from(b'0' + u8::try_from((10 - sum % 10) % 10).unwrap_or(0))
}

/// MOD11 check digit of a KID body (weights 2…7 from the right); `-` when the remainder gives 10.
pub fn kid_mod11(body: &str) -> char {
    let mut sum = 0u32;
    for (i, c) in body.chars().rev().enumerate() {
        let d = c.to_digit(10).unwrap_or(0);
        let w = u32::try_from(i % 6).unwrap_or(0) + 2;
        sum += d * w;
    }
    match sum % 11 {
        0 => '0',
        1 => '-',
        r => char::from(b'0' + u8::try_from(11 - r).unwrap_or(0)),
    }
}

/// A KID payment reference: 2 to 25 characters, digits with a check digit (MOD11 may end in `-`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kid(String);

impl Kid {
    /// Appends the check digit of `scheme` to a digit body.
    pub fn generate(field: &str, scheme: KidScheme, body: &str) -> Result<Kid, FieldError> {
        if body.is_empty() || !body.chars().all(|c| c.is_ascii_digit()) {
            return Err(FieldError::new(
                field,
                Rule::Format,
                format!("{field} must be digits"),
            ));
        }
        if body.len() > 24 {
            return Err(FieldError::new(
                field,
                Rule::TooLong,
                format!("{field} has at most 25 characters with the check digit"),
            ));
        }
        let check = match scheme {
            KidScheme::Mod10 => kid_mod10(body),
            KidScheme::Mod11 => kid_mod11(body),
        };
        Ok(Kid(format!("{body}{check}")))
    }

    /// The KID of a payment reference `body`. MOD10 appends the check digit. MOD11 appends one filler digit
    /// (the first of 0…9) that keeps the check digit from being `-`, which some bank channels refuse
    /// (domain-rules §1.3); the length stays fixed per series and the reference stays unique.
    pub fn for_reference(field: &str, scheme: KidScheme, body: &str) -> Result<Kid, FieldError> {
        match scheme {
            KidScheme::Mod10 => Kid::generate(field, scheme, body),
            KidScheme::Mod11 => {
                for filler in '0'..='9' {
                    let kid = Kid::generate(field, scheme, &format!("{body}{filler}"))?;
                    if !kid.0.ends_with('-') {
                        return Ok(kid);
                    }
                }
                Err(FieldError::new(
                    field,
                    Rule::CheckDigit,
                    format!("{field}: no MOD11 check digit without '-'"),
                ))
            }
        }
    }

    /// Validates a complete KID under `scheme`.
    pub fn parse(field: &str, scheme: KidScheme, s: &str) -> Result<Kid, FieldError> {
        let s = s.trim();
        if s.len() < 2 || s.len() > 25 {
            return Err(FieldError::new(
                field,
                Rule::Format,
                format!("{field} has 2 to 25 characters"),
            ));
        }
        if !s.is_ascii() {
            return Err(FieldError::new(
                field,
                Rule::Format,
                format!("{field} must be digits"),
            ));
        }
        let (body, last) = s.split_at(s.len() - 1);
        let kid = Kid::generate(field, scheme, body)?;
        if kid.0.ends_with(last) {
            Ok(kid)
        } else {
            Err(FieldError::new(
                field,
                Rule::CheckDigit,
                format!("{field}'s check digit does not match ({})", scheme.as_str()),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

vocabulary!(
    /// Portuguese SAF-T invoice types this product issues.
    PtDocType {
        Ft => "FT",
        Fs => "FS",
        Fr => "FR",
        Nc => "NC",
    }
);

impl PtDocType {
    pub fn kind(self) -> DocKind {
        match self {
            PtDocType::Nc => DocKind::CreditNote,
            _ => DocKind::Invoice,
        }
    }

    /// The largest simplified invoice in cents (CIVA art. 40(1)): €1 000 for retail sales of goods to
    /// consumers, €100 otherwise, so €100 as soon as the document holds a service (labour, sublet) or the buyer
    /// is a business.
    pub fn fs_limit_minor(buyer_is_business: bool, has_services: bool) -> i64 {
        if buyer_is_business || has_services {
            10_000
        } else {
            100_000
        }
    }
}

/// A series code: 1 to 20 characters without spaces, `/` or `^` (SAF-T InvoiceNo `[^ ]+ [^/^ ]+/[0-9]+`).
pub fn parse_series_code(field: &str, s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::new(
            field,
            Rule::Required,
            format!("{field} is required"),
        ));
    }
    if s.chars().count() > 20 {
        return Err(FieldError::new(
            field,
            Rule::TooLong,
            format!("{field} has at most 20 characters"),
        ));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(FieldError::new(
            field,
            Rule::Format,
            format!("{field} may hold letters, digits, '-', '_' and '.' only"),
        ));
    }
    Ok(s.to_string())
}

/// The AT validation code of a series: at least 8 characters, letters and digits.
pub fn parse_validation_code(field: &str, s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.len() < 8 || s.len() > 60 || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(FieldError::new(
            field,
            Rule::Format,
            format!("{field} is the code AT gave the series: 8 or more letters and digits"),
        ));
    }
    Ok(s.to_ascii_uppercase())
}

/// The document number: `FT A/12` in Portugal (SAF-T InvoiceNo), `A-12` in Norway.
pub fn document_number(market: Market, type_code: &str, series: &str, n: i64) -> String {
    match market {
        Market::Portugal => format!("{type_code} {series}/{n}"),
        Market::Norway => format!("{series}-{n}"),
    }
}

/// ATCUD value (SAF-T element and QR field H): `<validation code>-<sequence number>`.
pub fn atcud(validation_code: &str, n: i64) -> String {
    format!("{validation_code}-{n}")
}

/// Payment methods a payment (or an invoice-receipt paid at issue) may name.
pub const PAYMENT_METHODS: &[&str] = &["bank-transfer", "card", "cash", "mb", "other"];

/// What the decision to issue a draft depends on, read before the transaction.
#[derive(Debug, Clone)]
pub struct IssueFacts<'a> {
    pub market: Market,
    pub kind: DocKind,
    /// The draft's stored document type (PT: FT, FS, FR, NC).
    pub doc_type: &'a str,
    pub is_draft: bool,
    pub line_count: usize,
    /// The document's gross total in minor units, from its VAT breakdown.
    pub gross_minor: i64,
    pub buyer_is_business: bool,
    /// Whether a line is labour or sublet (a service), which lowers the PT simplified-invoice limit.
    pub has_services: bool,
    pub payment_method: Option<&'a str>,
    pub signer_configured: bool,
    pub bank_account_set: bool,
    /// The buyer gets the document as EHF (a Norwegian business with an organisation number).
    pub ehf_buyer: bool,
    /// A line outside the VAT scope stands beside lines with another VAT code.
    pub mixes_outside_scope: bool,
}

/// What issuing will write, decided from [`IssueFacts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuePlan {
    pub pt_type: Option<PtDocType>,
    /// The payment recorded at issue (an invoice-receipt is paid when it is issued).
    pub payment_method: Option<String>,
}

/// The first part of [`check_issue`], decided from the draft alone: it is still a draft, and it has lines.
pub fn check_draft(is_draft: bool, line_count: usize) -> Result<(), FieldError> {
    if !is_draft {
        return Err(FieldError::new(
            "status",
            Rule::NotAllowed,
            "the document is issued already",
        ));
    }
    if line_count == 0 {
        return Err(FieldError::new(
            "lines",
            Rule::Required,
            "a document has at least one line",
        ));
    }
    Ok(())
}

/// Decides whether a draft may be issued, before anything is written: a draft with lines and a
/// total that is not negative; Portugal: a known type, a simplified invoice (FS) within its limit
/// (CIVA art. 40), an invoice-receipt (FR) with its payment method, the producer's signing key;
/// Norway: an invoice states the account to pay to. Each refusal names the field.
pub fn check_issue(f: &IssueFacts) -> Result<IssuePlan, FieldError> {
    if !f.is_draft {
        return Err(FieldError::new(
            "status",
            Rule::NotAllowed,
            "the document is issued already",
        ));
    }
    if f.line_count == 0 {
        return Err(FieldError::new(
            "lines",
            Rule::Required,
            "a document has at least one line",
        ));
    }
    if f.gross_minor < 0 {
        return Err(FieldError::new(
            "lines",
            Rule::NotAllowed,
            "the total is negative: issue a credit note instead",
        ));
    }
    let pt_type = match f.market {
        Market::Portugal => Some(PtDocType::parse("doc_type", f.doc_type)?),
        Market::Norway => None,
    };
    let limit = PtDocType::fs_limit_minor(f.buyer_is_business, f.has_services);
    if pt_type == Some(PtDocType::Fs) && f.gross_minor > limit {
        return Err(FieldError::new(
            "doc_type",
            Rule::NotAllowed,
            format!(
                "a simplified invoice (FS) may not exceed {} EUR for this buyer: issue an FT",
                crate::money::format_centi(limit)
            ),
        ));
    }
    let method = f.payment_method.map(str::trim).filter(|m| !m.is_empty());
    let payment_method = match (pt_type, method) {
        (Some(PtDocType::Fr), None) => {
            return Err(FieldError::new(
                "payment_method",
                Rule::Required,
                "an invoice-receipt (FR) is paid at issue: give the payment method",
            ))
        }
        (_, Some(m)) if !PAYMENT_METHODS.contains(&m) => {
            return Err(FieldError::new(
                "payment_method",
                Rule::OneOf,
                format!(
                    "payment_method must be one of {}",
                    PAYMENT_METHODS.join(", ")
                ),
            ))
        }
        (Some(PtDocType::Fr), Some(m)) => Some(m.to_string()),
        _ => None,
    };
    if f.market == Market::Portugal && !f.signer_configured {
        return Err(FieldError::new(
            "signing_key",
            Rule::Required,
            "Portuguese documents are signed: configure the producer's private key (billing.pt_key_file)",
        ));
    }
    if f.market == Market::Norway && f.ehf_buyer && f.mixes_outside_scope {
        return Err(FieldError::new(
            "lines",
            Rule::NotAllowed,
            "an EHF invoice may not put lines outside the VAT scope beside taxed lines (Peppol rule BR-O-11): invoice them on a document of their own",
        ));
    }
    if f.market == Market::Norway && f.kind == DocKind::Invoice && !f.bank_account_set {
        return Err(FieldError::new(
            "bank_account",
            Rule::Required,
            "a Norwegian invoice states the account to pay to: set it in the billing settings",
        ));
    }
    Ok(IssuePlan {
        pt_type,
        payment_method,
    })
}

/// The due date of an issued document: invoices (and Portuguese FT) fall due after the entity's
/// payment days; credit notes, simplified invoices and invoice-receipts have none.
pub fn due_date(
    kind: DocKind,
    pt_type: Option<PtDocType>,
    issue_date: time::Date,
    payment_days: i64,
) -> Option<time::Date> {
    match (kind, pt_type) {
        (DocKind::Invoice, None | Some(PtDocType::Ft)) => {
            Some(issue_date + time::Duration::days(payment_days))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(market: Market) -> IssueFacts<'static> {
        IssueFacts {
            market,
            kind: DocKind::Invoice,
            doc_type: if market == Market::Portugal {
                "FT"
            } else {
                "invoice"
            },
            is_draft: true,
            line_count: 1,
            gross_minor: 10_000,
            buyer_is_business: false,
            has_services: true,
            payment_method: None,
            signer_configured: true,
            bank_account_set: true,
            ehf_buyer: false,
            mixes_outside_scope: false,
        }
    }

    #[test]
    fn ehf_buyers_get_no_outside_scope_lines_beside_taxed_ones() {
        // BR-O-11: an EHF buyer does not get outside-scope lines beside taxed ones; a consumer's PDF may.
        let mixed = IssueFacts {
            ehf_buyer: true,
            mixes_outside_scope: true,
            ..facts(Market::Norway)
        };
        assert_eq!(check_issue(&mixed).unwrap_err().field, "lines");
        assert!(check_issue(&IssueFacts {
            ehf_buyer: false,
            ..mixed
        })
        .is_ok());
    }

    #[test]
    fn issuing_is_decided_before_anything_is_written() {
        let ok = check_issue(&facts(Market::Norway)).unwrap();
        assert_eq!(
            ok,
            IssuePlan {
                pt_type: None,
                payment_method: None
            }
        );
        let field = |f: IssueFacts| check_issue(&f).unwrap_err().field;
        assert_eq!(
            field(IssueFacts {
                is_draft: false,
                ..facts(Market::Norway)
            }),
            "status"
        );
        assert_eq!(
            field(IssueFacts {
                line_count: 0,
                ..facts(Market::Norway)
            }),
            "lines"
        );
        assert_eq!(
            field(IssueFacts {
                gross_minor: -1,
                ..facts(Market::Norway)
            }),
            "lines"
        );
        assert_eq!(
            field(IssueFacts {
                bank_account_set: false,
                ..facts(Market::Norway)
            }),
            "bank_account"
        );
        // A Norwegian credit note needs no account to pay to.
        assert!(check_issue(&IssueFacts {
            bank_account_set: false,
            kind: DocKind::CreditNote,
            ..facts(Market::Norway)
        })
        .is_ok());
        assert_eq!(
            field(IssueFacts {
                signer_configured: false,
                ..facts(Market::Portugal)
            }),
            "signing_key"
        );
        assert_eq!(
            field(IssueFacts {
                doc_type: "XX",
                ..facts(Market::Portugal)
            }),
            "doc_type"
        );
    }

    #[test]
    fn portuguese_simplified_invoices_and_receipts() {
        let pt = facts(Market::Portugal);
        // FS: 100 EUR with a service, 1 000 EUR for goods to a consumer.
        assert!(check_issue(&IssueFacts {
            doc_type: "FS",
            gross_minor: 10_000,
            ..pt.clone()
        })
        .is_ok());
        let over = check_issue(&IssueFacts {
            doc_type: "FS",
            gross_minor: 10_001,
            ..pt.clone()
        })
        .unwrap_err();
        assert_eq!(
            (over.field.as_str(), over.rule),
            ("doc_type", Rule::NotAllowed)
        );
        assert!(check_issue(&IssueFacts {
            doc_type: "FS",
            gross_minor: 99_000,
            has_services: false,
            ..pt.clone()
        })
        .is_ok());
        assert!(check_issue(&IssueFacts {
            doc_type: "FS",
            gross_minor: 99_000,
            has_services: false,
            buyer_is_business: true,
            ..pt.clone()
        })
        .is_err());
        // FR: paid at issue, with a known method.
        assert_eq!(
            check_issue(&IssueFacts {
                doc_type: "FR",
                ..pt.clone()
            })
            .unwrap_err()
            .field,
            "payment_method"
        );
        assert_eq!(
            check_issue(&IssueFacts {
                doc_type: "FR",
                payment_method: Some("bitcoin"),
                ..pt.clone()
            })
            .unwrap_err()
            .rule,
            Rule::OneOf
        );
        let fr = check_issue(&IssueFacts {
            doc_type: "FR",
            payment_method: Some(" card "),
            ..pt.clone()
        })
        .unwrap();
        assert_eq!(
            fr,
            IssuePlan {
                pt_type: Some(PtDocType::Fr),
                payment_method: Some("card".into())
            }
        );
        // A method given for an FT is not recorded as a payment.
        assert_eq!(
            check_issue(&IssueFacts {
                payment_method: Some("card"),
                ..pt
            })
            .unwrap()
            .payment_method,
            None
        );
    }

    #[test]
    fn due_dates() {
        let d = time::macros::date!(2026 - 12 - 06);
        assert_eq!(
            due_date(DocKind::Invoice, None, d, 14),
            Some(time::macros::date!(2026 - 12 - 20))
        );
        assert_eq!(
            due_date(DocKind::Invoice, Some(PtDocType::Ft), d, 30),
            Some(time::macros::date!(2027 - 01 - 05))
        );
        assert_eq!(due_date(DocKind::Invoice, Some(PtDocType::Fr), d, 30), None);
        assert_eq!(due_date(DocKind::CreditNote, None, d, 14), None);
    }

    #[test]
    fn rates_per_region() {
        assert_eq!(rate_bp(TaxRegion::Norway, TaxCode::Standard), 2500);
        assert_eq!(rate_bp(TaxRegion::Mainland, TaxCode::Standard), 2300);
        assert_eq!(rate_bp(TaxRegion::Madeira, TaxCode::Reduced), 400);
        assert_eq!(rate_bp(TaxRegion::Azores, TaxCode::Intermediate), 900);
        assert_eq!(rate_bp(TaxRegion::Azores, TaxCode::Exempt), 0);
        assert_eq!(format_rate(2500), "25");
        assert_eq!(format_rate(1111), "11.11");
        assert_eq!(format_rate(1250), "12.5");
    }

    #[test]
    fn vat_rounds_half_away_from_zero_on_the_group() {
        assert_eq!(vat(2, 2500), 1); // 0.005 → 0.01
        assert_eq!(vat(-2, 2500), -1);
        assert_eq!(vat(146_050, 2500), 36_513); // the Norwegian EHF example: 1460.50 → 365.13
        let line = |net| TaxedLine {
            net_minor: net,
            code: TaxCode::Standard,
            rate_bp: 2500,
            exemption: None,
        };
        // Three lines of 0.02: per line 0.005 would round to 0.01 each (0.03); on the group 0.06 × 25 % = 0.02.
        let (groups, totals) = breakdown(&[line(2), line(2), line(2)]);
        assert_eq!(groups.len(), 1);
        assert_eq!(totals.tax_minor, 2);
        assert_eq!(totals.gross_minor, 8);
    }

    #[test]
    fn exemptions_follow_the_market() {
        let e = Exemption::parse("lines.0", Market::Portugal, TaxCode::Exempt, "M07", "")
            .unwrap()
            .unwrap();
        assert_eq!(e.reason, "Isento artigo 9.º do CIVA");
        let err =
            Exemption::parse("lines.0", Market::Portugal, TaxCode::Exempt, "", "").unwrap_err();
        assert_eq!(err.field, "lines.0.exemption_code");
        let err = Exemption::parse("lines.0", Market::Portugal, TaxCode::Standard, "M07", "")
            .unwrap_err();
        assert_eq!(err.rule, Rule::NotAllowed);
        assert!(
            Exemption::parse("l", Market::Norway, TaxCode::Standard, "", "")
                .unwrap()
                .is_none()
        );
        assert_eq!(
            Exemption::parse("l", Market::Norway, TaxCode::OutsideScope, "", "")
                .unwrap()
                .unwrap()
                .reason,
            "Utenfor merverdiavgiftsloven"
        );
    }

    const VECTORS: &str = include_str!("../../../../shared/reference/test-vectors.json");

    #[test]
    fn official_kid_values() {
        let v: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
        let kid = &v["kid"];
        let mut n = 0;
        for (scheme, key) in [(KidScheme::Mod10, "mod10"), (KidScheme::Mod11, "mod11")] {
            for case in kid[key].as_array().unwrap() {
                let body = case["body"].as_str().unwrap();
                let want = case["kid"].as_str().unwrap();
                assert_eq!(Kid::generate("kid", scheme, body).unwrap().as_str(), want);
                assert!(Kid::parse("kid", scheme, want).is_ok());
                n += 1;
            }
        }
        for k in kid["valid_mod11_not_mod10"].as_array().unwrap() {
            let k = k.as_str().unwrap();
            assert!(Kid::parse("kid", KidScheme::Mod11, k).is_ok(), "{k}");
            assert_eq!(
                Kid::parse("kid", KidScheme::Mod10, k).unwrap_err().rule,
                Rule::CheckDigit
            );
            n += 1;
        }
        assert_eq!(n, 3);
        assert_eq!(
            Kid::generate("kid", KidScheme::Mod10, "12a")
                .unwrap_err()
                .rule,
            Rule::Format
        );
        assert_eq!(
            Kid::parse("kid", KidScheme::Mod10, "12345")
                .unwrap_err()
                .rule,
            Rule::CheckDigit
        );
    }

    #[test]
    fn mod11_references_never_end_in_a_dash() {
        // 10000013 alone gives remainder 1 under MOD11, i.e. a "-" check digit.
        assert_eq!(kid_mod11("10000013"), '-');
        for n in 0..2_000u32 {
            let body = format!("1{n:07}");
            let kid = Kid::for_reference("kid", KidScheme::Mod11, &body).unwrap();
            assert!(!kid.as_str().ends_with('-'), "{}", kid.as_str());
            assert_eq!(kid.as_str().len(), body.len() + 2);
            assert!(Kid::parse("kid", KidScheme::Mod11, kid.as_str()).is_ok());
            assert_eq!(
                Kid::for_reference("kid", KidScheme::Mod10, &body)
                    .unwrap()
                    .as_str()
                    .len(),
                body.len() + 1
            );
        }
    }

    proptest::proptest! {
        /// The breakdown keeps every line's amount, and each group's VAT is within half a minor unit of the
        /// exact product; gross = net + VAT.
        #[test]
        fn breakdown_is_exact_up_to_one_rounding_per_group(
            lines in proptest::collection::vec((-1_000_000_000i64..1_000_000_000, 0usize..6, 0usize..4), 1..40)
        ) {
            let codes = [TaxCode::Standard, TaxCode::Intermediate, TaxCode::Reduced, TaxCode::Zero, TaxCode::Exempt, TaxCode::OutsideScope];
            let regions = [TaxRegion::Norway, TaxRegion::Mainland, TaxRegion::Madeira, TaxRegion::Azores];
            let taxed: Vec<TaxedLine> = lines.iter().map(|&(net, c, r)| TaxedLine {
                net_minor: net,
                code: codes[c],
                rate_bp: rate_bp(regions[r], codes[c]),
                exemption: None,
            }).collect();
            let (groups, totals) = breakdown(&taxed);
            let net: i64 = lines.iter().map(|l| l.0).sum();
            proptest::prop_assert_eq!(totals.net_minor, net);
            proptest::prop_assert_eq!(totals.gross_minor, totals.net_minor + totals.tax_minor);
            proptest::prop_assert_eq!(groups.iter().map(|g| g.tax_minor).sum::<i64>(), totals.tax_minor);
            for g in &groups {
                let exact = i128::from(g.taxable_minor) * i128::from(g.rate_bp);
                let diff = (i128::from(g.tax_minor) * 10_000 - exact).abs();
                proptest::prop_assert!(diff <= 5_000, "group {:?}", g);
                let members: i64 = taxed.iter().filter(|l| l.code == g.code && l.rate_bp == g.rate_bp).map(|l| l.net_minor).sum();
                proptest::prop_assert_eq!(members, g.taxable_minor);
            }
            // Order does not change the result.
            let mut rev = taxed.clone();
            rev.reverse();
            proptest::prop_assert_eq!(breakdown(&rev), (groups, totals));
        }
    }

    #[test]
    fn numbers_and_series() {
        assert_eq!(document_number(Market::Portugal, "FT", "A", 12), "FT A/12");
        assert_eq!(document_number(Market::Norway, "", "F2026", 7), "F2026-7");
        assert!(parse_series_code("s", "A 1").is_err());
        assert!(parse_series_code("s", "A/1").is_err());
        assert_eq!(parse_series_code("s", " 2026 ").unwrap(), "2026");
        assert!(parse_validation_code("v", "ABC").is_err());
        assert_eq!(parse_validation_code("v", "csdf7t37").unwrap(), "CSDF7T37");
        assert_eq!(atcud("CSDF7T37", 5), "CSDF7T37-5");
    }
}
