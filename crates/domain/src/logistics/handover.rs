//! Hand-overs at the customer's door: which cars change hands on a job and in which direction, the
//! readings and photos taken of each, and the loaner agreement the customer signs (the market's
//! standard terms in the customer's language, unless the service point wrote its own).

use serde::{Deserialize, Serialize};

use super::JobKind;
use crate::i18n::Language;
use crate::validation::{FieldError, Rule};

vocabulary!(
    /// The car a hand-over is about.
    Car {
        Customer => "customer",
        Loaner => "loaner",
    }
);

vocabulary!(
    /// Whether the car comes into the service point's keeping or goes out of it.
    Direction {
        In => "in",
        Out => "out",
    }
);

/// A pickup takes the customer's car in and lets the loaner out; a delivery is the mirror.
pub fn direction(kind: JobKind, car: Car) -> Direction {
    match (kind, car) {
        (JobKind::Pickup, Car::Customer) | (JobKind::Delivery, Car::Loaner) => Direction::In,
        (JobKind::Pickup, Car::Loaner) | (JobKind::Delivery, Car::Customer) => Direction::Out,
    }
}

/// Largest photo kept (a phone camera's full-size JPEG fits).
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;
/// Photos per hand-over at most.
pub const MAX_PHOTOS: usize = 12;
/// Largest signature image kept.
pub const MAX_SIGNATURE_BYTES: usize = 512 * 1024;

/// The image type of a photo, read from its first bytes (what the browser says is not trusted).
pub fn photo_type(field: &str, bytes: &[u8]) -> Result<&'static str, FieldError> {
    if bytes.is_empty() {
        return Err(FieldError::new(field, Rule::Required, "the photo is empty"));
    }
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(FieldError::new(
            field,
            Rule::TooLong,
            format!("a photo is at most {} MB", MAX_PHOTO_BYTES / 1024 / 1024),
        ));
    }
    let kind = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        "image/webp"
    } else if bytes.len() > 12
        && &bytes[4..8] == b"ftyp"
        && matches!(
            &bytes[8..12],
            b"heic" | b"heix" | b"mif1" | b"msf1" | b"avif"
        )
    {
        if &bytes[8..12] == b"avif" {
            "image/avif"
        } else {
            "image/heic"
        }
    } else {
        return Err(FieldError::new(
            field,
            Rule::OneOf,
            "a photo must be a JPEG, PNG, WebP, HEIC or AVIF image",
        ));
    };
    Ok(kind)
}

/// A signature drawn on the driver's phone: a PNG image of sensible size (the pad on the run sheet
/// sends nothing until something is drawn). Answers its width and height.
pub fn signature(field: &str, bytes: &[u8]) -> Result<(u32, u32), FieldError> {
    let not = |m: &str| FieldError::new(field, Rule::NotAllowed, m.to_string());
    if bytes.is_empty() {
        return Err(FieldError::new(
            field,
            Rule::Required,
            "the customer signs on the driver's phone",
        ));
    }
    if bytes.len() > MAX_SIGNATURE_BYTES {
        return Err(FieldError::new(
            field,
            Rule::TooLong,
            "a signature image is at most 512 kB",
        ));
    }
    if bytes.len() < 24 || !bytes.starts_with(b"\x89PNG\r\n\x1a\n") || &bytes[12..16] != b"IHDR" {
        return Err(not("a signature must be a PNG image"));
    }
    let w = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let h = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    if !(50..=4000).contains(&w) || !(20..=4000).contains(&h) {
        return Err(not(
            "a signature image is between 50 × 20 and 4000 × 4000 pixels",
        ));
    }
    Ok((w, h))
}

/// Odometer and charge as read at a hand-over; `prefix` names the car's fields (`` or `loaner_`).
pub fn readings(
    prefix: &str,
    odometer_km: Option<i64>,
    charge_pct: Option<i64>,
) -> Vec<FieldError> {
    let mut out = Vec::new();
    let odo = format!("{prefix}odometer_km");
    match odometer_km {
        None => out.push(FieldError::new(
            &odo,
            Rule::Required,
            "the odometer reading is taken at the hand-over",
        )),
        Some(k) if !(0..=2_000_000).contains(&k) => out.push(FieldError::new(
            &odo,
            Rule::NotAllowed,
            format!("{odo} must lie between 0 and 2000000"),
        )),
        Some(_) => {}
    }
    if charge_pct.is_some_and(|c| !(0..=100).contains(&c)) {
        let f = format!("{prefix}charge_pct");
        out.push(FieldError::new(
            &f,
            Rule::NotAllowed,
            format!("{f} must lie between 0 and 100"),
        ));
    }
    out
}

/// A loaner coming back has not run backwards since it went out.
pub fn loaner_back(out_km: i64, back_km: i64) -> Result<i64, FieldError> {
    if back_km < out_km {
        return Err(FieldError::new(
            "loaner_odometer_km",
            Rule::NotAllowed,
            format!("the loaner went out at {out_km} km; it cannot come back at less"),
        )
        .hint("err-loaner-odometer-back"));
    }
    Ok(back_km - out_km)
}

/// The market's standard loaner terms in `lang` (`market` is the market code: `NO`, `PT`; other
/// markets read the general terms). A service point may replace them with its own wording.
pub fn standard_terms(market: Option<&str>, lang: Language) -> &'static str {
    match (market, lang) {
        (Some("NO"), Language::Nb) => NO_NB,
        (Some("NO"), Language::En) => NO_EN,
        (Some("NO"), Language::Pt) => NO_PT,
        (Some("PT"), Language::Nb) => PT_NB,
        (Some("PT"), Language::En) => PT_EN,
        (Some("PT"), Language::Pt) => PT_PT,
        (_, Language::Nb) => GENERAL_NB,
        (_, Language::En) => GENERAL_EN,
        (_, Language::Pt) => GENERAL_PT,
    }
}

const NO_NB: &str = "1. Lånebilen stilles gratis til disposisjon mens din bil er på verksted, og leveres tilbake når din bil leveres til deg.
2. Føreren må ha gyldig førerkort for bilen og være minst 20 år. Bilen skal ikke lånes ut videre eller brukes til kommersiell transport.
3. Bompenger (AutoPASS), ferjebilletter, parkeringsavgifter og gebyrer som påløper i låneperioden belastes låntaker.
4. Bilen leveres med minst samme ladenivå som ved utlevering, ellers belastes lading etter verkstedets prisliste.
5. Skader og uhell meldes straks til verkstedet. Bilen er forsikret; låntaker dekker egenandelen ved skade låntaker er ansvarlig for.
6. Røyking og dyr uten bur er ikke tillatt i bilen. Ekstra rengjøring belastes etter prisliste.
7. Bilens stand, kilometerstand og ladenivå ved utlevering og innlevering registreres med bilder og inngår i denne avtalen.";

const NO_EN: &str = "1. The loaner car is provided free of charge while your car is in the workshop and is returned when your car is delivered back to you.
2. The driver must hold a valid driving licence for the car and be at least 20 years old. The car may not be lent on or used for commercial transport.
3. Road tolls (AutoPASS), ferry tickets, parking charges and fines incurred during the loan are charged to the borrower.
4. The car is returned with at least the charge level it was handed over with; otherwise charging is billed at the workshop's price list.
5. Damage and accidents are reported to the workshop at once. The car is insured; the borrower pays the excess for damage the borrower is liable for.
6. No smoking, and no animals outside a cage. Extra cleaning is billed at the price list.
7. The car's condition, odometer and charge level at hand-over and return are recorded with photos and form part of this agreement.";

const NO_PT: &str = "1. A viatura de cortesia é cedida gratuitamente enquanto o seu carro está na oficina e é devolvida quando o seu carro lhe for entregue.
2. O condutor deve ter carta de condução válida para a viatura e pelo menos 20 anos. A viatura não pode ser cedida a terceiros nem usada em transporte comercial.
3. Portagens (AutoPASS), bilhetes de ferry, estacionamento e coimas do período de cedência são da responsabilidade do utilizador.
4. A viatura é devolvida com pelo menos o nível de carga com que foi entregue; caso contrário, o carregamento é cobrado segundo a tabela da oficina.
5. Danos e acidentes são comunicados de imediato à oficina. A viatura tem seguro; o utilizador paga a franquia dos danos pelos quais seja responsável.
6. Não é permitido fumar nem transportar animais fora de caixa. Limpeza extra é cobrada segundo a tabela.
7. O estado, os quilómetros e o nível de carga na entrega e na devolução ficam registados com fotografias e fazem parte deste contrato.";

const PT_PT: &str = "1. A viatura de substituição é cedida gratuitamente durante a reparação do seu veículo e devolvida no momento em que o seu veículo lhe for entregue.
2. O condutor deve ser titular de carta de condução válida há pelo menos um ano. A viatura não pode ser cedida a terceiros nem usada para fins comerciais.
3. Portagens (incluindo Via Verde), estacionamento e coimas relativas ao período de cedência são da responsabilidade do utilizador, que é identificado perante as autoridades como condutor.
4. A viatura é devolvida com pelo menos o nível de carga com que foi entregue; caso contrário, o carregamento é faturado segundo o preçário da oficina.
5. Danos, furto ou acidentes são comunicados de imediato à oficina, com participação às autoridades quando aplicável. A viatura tem seguro; o utilizador suporta a franquia dos danos que lhe sejam imputáveis.
6. Não é permitido fumar nem transportar animais fora de caixa. Limpeza extraordinária é faturada segundo o preçário.
7. O estado da viatura, os quilómetros e o nível de carga na entrega e na devolução ficam registados com fotografias e fazem parte deste contrato. Os dados pessoais são tratados nos termos do RGPD apenas para a gestão desta cedência.";

const PT_EN: &str = "1. The replacement car is provided free of charge while your car is being repaired and is returned when your car is delivered back to you.
2. The driver must have held a valid driving licence for at least one year. The car may not be lent on or used for commercial purposes.
3. Tolls (including Via Verde), parking and fines incurred during the loan are the borrower's, who is identified to the authorities as the driver.
4. The car is returned with at least the charge level it was handed over with; otherwise charging is invoiced at the workshop's price list.
5. Damage, theft or accidents are reported to the workshop at once, and to the authorities where applicable. The car is insured; the borrower bears the excess for damage attributable to them.
6. No smoking, and no animals outside a carrier. Extraordinary cleaning is invoiced at the price list.
7. The car's condition, odometer and charge level at hand-over and return are recorded with photos and form part of this agreement. Personal data is processed under the GDPR only to manage this loan.";

const PT_NB: &str = "1. Erstatningsbilen stilles gratis til disposisjon mens din bil repareres, og leveres tilbake når din bil leveres til deg.
2. Føreren må ha hatt gyldig førerkort i minst ett år. Bilen skal ikke lånes ut videre eller brukes kommersielt.
3. Bompenger (også Via Verde), parkering og bøter i låneperioden betales av låntaker, som oppgis til myndighetene som fører.
4. Bilen leveres med minst samme ladenivå som ved utlevering, ellers faktureres lading etter verkstedets prisliste.
5. Skade, tyveri eller uhell meldes straks til verkstedet, og til myndighetene der det kreves. Bilen er forsikret; låntaker bærer egenandelen for skade låntaker er ansvarlig for.
6. Røyking og dyr utenfor bur er ikke tillatt. Ekstra rengjøring faktureres etter prisliste.
7. Bilens stand, kilometerstand og ladenivå ved utlevering og innlevering registreres med bilder og inngår i denne avtalen. Personopplysninger behandles etter GDPR bare for å håndtere dette lånet.";

const GENERAL_EN: &str = "1. The loaner car is provided free of charge while your car is in the workshop and is returned when your car is delivered back to you.
2. The driver holds a valid driving licence for the car; the car is not lent on.
3. Tolls, parking charges and fines incurred during the loan are the borrower's.
4. The car is returned with at least the charge level it was handed over with.
5. Damage and accidents are reported to the workshop at once; the borrower pays the insurance excess for damage they are liable for.
6. The car's condition, odometer and charge level at hand-over and return are recorded with photos and form part of this agreement.";

const GENERAL_NB: &str = "1. Lånebilen stilles gratis til disposisjon mens din bil er på verksted, og leveres tilbake når din bil leveres til deg.
2. Føreren har gyldig førerkort for bilen; bilen lånes ikke ut videre.
3. Bompenger, parkeringsavgifter og gebyrer i låneperioden betales av låntaker.
4. Bilen leveres med minst samme ladenivå som ved utlevering.
5. Skader og uhell meldes straks til verkstedet; låntaker betaler egenandelen for skade låntaker er ansvarlig for.
6. Bilens stand, kilometerstand og ladenivå ved utlevering og innlevering registreres med bilder og inngår i denne avtalen.";

const GENERAL_PT: &str = "1. A viatura de cortesia é cedida gratuitamente enquanto o seu carro está na oficina e é devolvida quando o seu carro lhe for entregue.
2. O condutor tem carta de condução válida para a viatura; a viatura não é cedida a terceiros.
3. Portagens, estacionamento e coimas do período de cedência são da responsabilidade do utilizador.
4. A viatura é devolvida com pelo menos o nível de carga com que foi entregue.
5. Danos e acidentes são comunicados de imediato à oficina; o utilizador paga a franquia dos danos pelos quais seja responsável.
6. O estado, os quilómetros e o nível de carga na entrega e na devolução ficam registados com fotografias e fazem parte deste contrato.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pickup_takes_the_car_in_and_lets_the_loaner_out() {
        assert_eq!(direction(JobKind::Pickup, Car::Customer), Direction::In);
        assert_eq!(direction(JobKind::Pickup, Car::Loaner), Direction::Out);
        assert_eq!(direction(JobKind::Delivery, Car::Customer), Direction::Out);
        assert_eq!(direction(JobKind::Delivery, Car::Loaner), Direction::In);
    }

    #[test]
    fn photos_are_known_by_their_bytes_not_their_name() {
        assert_eq!(
            photo_type("p", &[0xFF, 0xD8, 0xFF, 0xE0, 0]).ok(),
            Some("image/jpeg")
        );
        assert_eq!(
            photo_type("p", b"RIFF\0\0\0\0WEBPVP8 ").ok(),
            Some("image/webp")
        );
        assert_eq!(
            photo_type("p", b"\0\0\0\x18ftypheic\0\0").ok(),
            Some("image/heic")
        );
        let e = photo_type("photos", b"%PDF-1.7").err().map(|e| e.field);
        assert_eq!(e.as_deref(), Some("photos"));
        assert!(photo_type("p", &[]).is_err());
        assert!(photo_type("p", &vec![0xFF; MAX_PHOTO_BYTES + 1]).is_err());
    }

    #[test]
    fn a_signature_is_a_png_of_sensible_size() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend(600u32.to_be_bytes());
        png.extend(200u32.to_be_bytes());
        assert_eq!(signature("signature_png", &png).ok(), Some((600, 200)));
        let mut tiny = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        tiny.extend(1u32.to_be_bytes());
        tiny.extend(1u32.to_be_bytes());
        assert!(signature("signature_png", &tiny).is_err());
        assert!(signature("signature_png", b"GIF89a........................").is_err());
        assert!(signature("signature_png", &[]).is_err());
    }

    #[test]
    fn readings_name_the_car_and_a_loaner_never_comes_back_with_fewer_km() {
        assert!(readings("", Some(12_000), Some(80)).is_empty());
        let e = readings("loaner_", None, Some(101));
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["loaner_odometer_km", "loaner_charge_pct"]);
        assert_eq!(loaner_back(100, 160).ok(), Some(60));
        assert!(loaner_back(100, 99).is_err());
    }

    #[test]
    fn each_market_has_its_terms_in_every_language() {
        for m in [Some("NO"), Some("PT"), None] {
            for l in Language::ALL {
                assert!(standard_terms(m, l).lines().count() >= 6);
            }
        }
        assert!(standard_terms(Some("PT"), Language::Pt).contains("Via Verde"));
        assert!(standard_terms(Some("NO"), Language::Nb).contains("AutoPASS"));
    }
}
