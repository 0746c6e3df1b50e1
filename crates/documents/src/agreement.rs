//! The loaner agreement as a PDF: the car that goes out with its readings, the terms the customer
//! read in their language, and the signature they drew on the driver's phone; rendered by Typst
//! from `templates/agreement.typ` like every other document.

use aftersales_domain::i18n::Language;
use serde_json::json;
use time::Date;
use typst::foundations::Bytes;

use crate::DocumentError;

const TEMPLATE: &str = include_str!("../templates/agreement.typ");

/// What the agreement says, already formatted for the customer's language.
pub struct Agreement<'a> {
    pub lang: Language,
    pub service_point: &'a str,
    pub repair_order: &'a str,
    pub customer: &'a str,
    /// The customer's car (registration or VIN), when known.
    pub customer_car: Option<&'a str>,
    pub loaner: &'a str,
    pub loaner_model: &'a str,
    pub loaner_vin: Option<&'a str>,
    /// When the loaner went out, in the service point's time.
    pub out_at: &'a str,
    pub odometer_km: i64,
    pub charge_pct: Option<i64>,
    pub terms: &'a str,
    pub signer: &'a str,
    pub signed_at: &'a str,
    pub signature_png: &'a [u8],
    pub day: Date,
}

struct Labels {
    title: &'static str,
    repair_order: &'static str,
    customer: &'static str,
    customer_car: &'static str,
    loaner: &'static str,
    vin: &'static str,
    out_at: &'static str,
    odometer: &'static str,
    charge: &'static str,
    terms: &'static str,
    signature: &'static str,
    page: &'static str,
}

fn labels(lang: Language) -> Labels {
    match lang {
        Language::Nb => Labels {
            title: "Avtale om lån av bil",
            repair_order: "Arbeidsordre",
            customer: "Låntaker",
            customer_car: "Kundens bil",
            loaner: "Lånebil",
            vin: "Understellsnummer",
            out_at: "Utlevert",
            odometer: "Kilometerstand ved utlevering",
            charge: "Ladenivå ved utlevering",
            terms: "Vilkår",
            signature: "Signatur",
            page: "Side",
        },
        Language::Pt => Labels {
            title: "Contrato de cedência de viatura de substituição",
            repair_order: "Ordem de reparação",
            customer: "Utilizador",
            customer_car: "Viatura do cliente",
            loaner: "Viatura de substituição",
            vin: "VIN",
            out_at: "Entregue em",
            odometer: "Quilómetros na entrega",
            charge: "Nível de carga na entrega",
            terms: "Condições",
            signature: "Assinatura",
            page: "Página",
        },
        Language::En => Labels {
            title: "Loaner car agreement",
            repair_order: "Repair order",
            customer: "Borrower",
            customer_car: "Customer's car",
            loaner: "Loaner car",
            vin: "VIN",
            out_at: "Handed over",
            odometer: "Odometer at hand-over",
            charge: "Charge at hand-over",
            terms: "Terms",
            signature: "Signature",
            page: "Page",
        },
    }
}

/// Renders the signed agreement. CPU-bound: call it from a blocking task in async code.
pub fn render(a: &Agreement) -> Result<Vec<u8>, DocumentError> {
    let fail = |m: String| DocumentError::Missing(format!("a printable agreement: {m}"));
    let l = labels(a.lang);
    let km = |k: i64| format!("{} km", crate::pdf::quantity(k * 100, a.lang));
    let mut facts = vec![
        (l.repair_order, a.repair_order.to_string()),
        (l.customer, a.customer.to_string()),
    ];
    if let Some(c) = a.customer_car {
        facts.push((l.customer_car, c.to_string()));
    }
    facts.push((l.loaner, format!("{} · {}", a.loaner, a.loaner_model)));
    if let Some(v) = a.loaner_vin {
        facts.push((l.vin, v.to_string()));
    }
    facts.push((l.out_at, a.out_at.to_string()));
    facts.push((l.odometer, km(a.odometer_km)));
    if let Some(c) = a.charge_pct {
        facts.push((l.charge, format!("{c} %")));
    }
    let data = json!({
        "lang": a.lang.code(),
        "title": l.title,
        "service_point": a.service_point,
        "repair_order": a.repair_order,
        "facts": facts.iter().map(|(k, v)| [k.to_string(), v.clone()]).collect::<Vec<_>>(),
        "terms": a.terms.lines().map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>(),
        "signer": a.signer,
        "signed_at": a.signed_at,
        "labels": {
            "repair_order": l.repair_order,
            "terms": l.terms,
            "signature": l.signature,
            "page": l.page,
        },
    });
    let data = serde_json::to_vec(&data).map_err(|e| fail(e.to_string()))?;
    crate::pdf::compile(
        TEMPLATE,
        vec![
            ("data.json", Bytes::new(data)),
            ("signature.png", Bytes::new(a.signature_png.to_vec())),
        ],
        a.day,
    )
    .map_err(fail)
}
