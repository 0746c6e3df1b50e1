//! Customer updates (capability notify): which events can notify, through which channel, the
//! default wording per language, placeholder rendering, quiet hours and the retry schedule.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, Time};

use crate::calendar::Zone;
use crate::i18n::Language;
use crate::validation::{FieldError, Rule};
use crate::workshop::RoStatus;

vocabulary!(
    /// Something that happened which the customer may hear about.
    Event {
        AppointmentBooked => "appointment-booked",
        AppointmentMoved => "appointment-moved",
        RoCheckedIn => "ro-checked-in",
        RoDiagnosing => "ro-diagnosing",
        RoWaitingApproval => "ro-waiting-approval",
        RoWaitingParts => "ro-waiting-parts",
        RoInRepair => "ro-in-repair",
        RoQualityCheck => "ro-quality-check",
        RoCleaning => "ro-cleaning",
        RoReady => "ro-ready",
        RoDelivered => "ro-delivered",
        RoCancelled => "ro-cancelled",
        EtaChanged => "eta-changed",
        Survey => "survey",
        CaseMessage => "case-message",
        InvoiceIssued => "invoice-issued",
        CreditNoteIssued => "credit-note-issued",
        ServiceDue => "service-due",
        Campaign => "campaign",
        PickupConfirmed => "pickup-confirmed",
        DeliveryScheduled => "delivery-scheduled",
        DriverOnTheWay => "driver-on-the-way",
        CarDelivered => "car-delivered",
        LoanerAgreement => "loaner-agreement",
        Recall => "recall",
    }
);

vocabulary!(
    /// Why a message was not sent (stored as its code, shown in the reader's language).
    SkipReason {
        Erased => "erased",
        NoEmail => "no-email",
        NoPhone => "no-phone",
        DeclinedService => "declined-service",
        NoOfferConsent => "no-offer-consent",
    }
);

vocabulary!(
    MessageChannel {
        Email => "email",
        Sms => "sms",
    }
);

impl Event {
    /// The event of a repair order entering `status`; booking and closing have none of their own.
    pub fn for_status(status: RoStatus) -> Option<Event> {
        use RoStatus::*;
        Some(match status {
            CheckedIn => Event::RoCheckedIn,
            Diagnosing => Event::RoDiagnosing,
            WaitingApproval => Event::RoWaitingApproval,
            WaitingParts => Event::RoWaitingParts,
            InRepair => Event::RoInRepair,
            QualityCheck => Event::RoQualityCheck,
            Cleaning => Event::RoCleaning,
            Ready => Event::RoReady,
            Delivered => Event::RoDelivered,
            Cancelled => Event::RoCancelled,
            Booked | Closed => return None,
        })
    }

    /// Whether the event notifies through `channel` when the market has set nothing: the
    /// moments a customer must act or wants to know at once go by SMS too.
    pub fn default_enabled(self, channel: MessageChannel) -> bool {
        use Event::*;
        match channel {
            MessageChannel::Email => matches!(
                self,
                AppointmentBooked
                    | AppointmentMoved
                    | RoCheckedIn
                    | RoWaitingApproval
                    | RoWaitingParts
                    | RoReady
                    | RoDelivered
                    | RoCancelled
                    | EtaChanged
                    | Survey
                    | CaseMessage
                    | InvoiceIssued
                    | CreditNoteIssued
                    | ServiceDue
                    | Campaign
                    | PickupConfirmed
                    | DeliveryScheduled
                    | CarDelivered
                    | LoanerAgreement
                    | Recall
            ),
            MessageChannel::Sms => matches!(
                self,
                AppointmentBooked
                    | AppointmentMoved
                    | RoWaitingApproval
                    | RoReady
                    | EtaChanged
                    | ServiceDue
                    | PickupConfirmed
                    | DeliveryScheduled
                    | DriverOnTheWay
                    | Recall
            ),
        }
    }
}

/// The placeholders a template may use.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("name", "the customer's name"),
    ("number", "the repair order or case number"),
    ("vehicle", "the vehicle: model and registration"),
    ("status", "the new status, in the customer's language"),
    ("link", "the customer's status page"),
    ("when", "the appointment's date and time"),
    (
        "place",
        "the service point, or the address of a mobile visit",
    ),
    ("eta", "the expected ready time, when set"),
    ("message", "the advisor's message (case messages)"),
    ("survey_link", "the satisfaction survey"),
    (
        "item",
        "what is due: the service item or inspection (service reminders); the loaner (loaner agreement)",
    ),
    ("due", "the day it is due (service reminders)"),
    ("book_link", "online booking (service reminders, campaigns)"),
    (
        "window",
        "when the driver is at the customer: day and time from–to (pickup and delivery)",
    ),
];

/// Replaces `{name}`-style placeholders; unknown ones stay as written.
pub fn render(template: &str, vars: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find('}') {
            Some(j) if vars.contains_key(&after[..j]) => {
                out.push_str(vars.get(&after[..j]).map(String::as_str).unwrap_or(""));
                rest = &after[j + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A template's text must only use known placeholders.
pub fn check_placeholders(field: &str, text: &str) -> Result<(), FieldError> {
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        let Some(j) = after.find('}') else { break };
        let key = &after[..j];
        if !PLACEHOLDERS.iter().any(|(k, _)| *k == key) {
            return Err(FieldError::new(
                field,
                Rule::Unknown,
                format!(
                    "{field} uses the unknown placeholder {{{key}}}; known are {}",
                    PLACEHOLDERS
                        .iter()
                        .map(|(k, _)| format!("{{{k}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        rest = &after[j + 1..];
    }
    Ok(())
}

/// A repair-order status as the customer reads it.
pub fn status_label(status: RoStatus, lang: Language) -> &'static str {
    use Language::*;
    use RoStatus::*;
    match (status, lang) {
        (Booked, Nb) => "Bestilt",
        (Booked, En) => "Booked",
        (Booked, Pt) => "Marcado",
        (CheckedIn, Nb) => "Mottatt på verkstedet",
        (CheckedIn, En) => "Received at the workshop",
        (CheckedIn, Pt) => "Recebido na oficina",
        (Diagnosing, Nb) => "Feilsøking",
        (Diagnosing, En) => "Diagnosing",
        (Diagnosing, Pt) => "Em diagnóstico",
        (WaitingApproval, Nb) => "Venter på din godkjenning",
        (WaitingApproval, En) => "Waiting for your approval",
        (WaitingApproval, Pt) => "A aguardar a sua aprovação",
        (WaitingParts, Nb) => "Venter på deler",
        (WaitingParts, En) => "Waiting for parts",
        (WaitingParts, Pt) => "A aguardar peças",
        (InRepair, Nb) => "Under reparasjon",
        (InRepair, En) => "In repair",
        (InRepair, Pt) => "Em reparação",
        (QualityCheck, Nb) => "Kvalitetskontroll",
        (QualityCheck, En) => "Quality check",
        (QualityCheck, Pt) => "Controlo de qualidade",
        (Cleaning, Nb) => "Vask",
        (Cleaning, En) => "Cleaning",
        (Cleaning, Pt) => "Limpeza",
        (Ready, Nb) => "Klar til henting",
        (Ready, En) => "Ready",
        (Ready, Pt) => "Pronto",
        (Delivered, Nb) => "Levert",
        (Delivered, En) => "Delivered",
        (Delivered, Pt) => "Entregue",
        (Closed, Nb) => "Avsluttet",
        (Closed, En) => "Closed",
        (Closed, Pt) => "Encerrado",
        (Cancelled, Nb) => "Avbestilt",
        (Cancelled, En) => "Cancelled",
        (Cancelled, Pt) => "Cancelado",
    }
}

/// Subject and body of one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Template {
    pub subject: String,
    pub body: String,
}

fn tpl(subject: &str, body: &str) -> Template {
    Template {
        subject: subject.to_string(),
        body: body.to_string(),
    }
}

vocabulary!(
    /// A notice to a member of staff (not a customer) through the outbox: what it is about.
    StaffNotice {
        ActionOverdue => "action-overdue",
        TrainingExpiring => "training-expiring",
    }
);

/// The wording of a staff notice in the person's language. Placeholders: `{name}` (the person),
/// `{title}`, `{point}` (the service point), `{due}` (a day), `{owner}`, `{link}`.
pub fn staff_template(notice: StaffNotice, lang: Language) -> Template {
    match (notice, lang) {
        (StaffNotice::ActionOverdue, Language::Nb) => tpl(
            "Korrigerende tiltak forfalt: {title}",
            "Hei {name},\n\ntiltaket «{title}» ved {point} skulle vært lukket {due} og er fortsatt åpent (ansvarlig: {owner}).\n\nSe tiltaket: {link}",
        ),
        (StaffNotice::ActionOverdue, Language::En) => tpl(
            "Corrective action overdue: {title}",
            "Hello {name},\n\nthe action \"{title}\" at {point} was due on {due} and is still open (owner: {owner}).\n\nSee the action: {link}",
        ),
        (StaffNotice::ActionOverdue, Language::Pt) => tpl(
            "Ação corretiva em atraso: {title}",
            "Olá {name},\n\na ação «{title}» em {point} devia estar concluída a {due} e continua em aberto (responsável: {owner}).\n\nVer a ação: {link}",
        ),
        (StaffNotice::TrainingExpiring, Language::Nb) => tpl(
            "Kurs går ut: {title}",
            "Hei {name},\n\nkurset «{title}» til {owner} går ut {due}. Meld på et nytt kurs i tide, ellers kan ikke arbeid som krever det, tildeles.\n\nSe opplæringen: {link}",
        ),
        (StaffNotice::TrainingExpiring, Language::En) => tpl(
            "Training running out: {title}",
            "Hello {name},\n\nthe training \"{title}\" of {owner} runs out on {due}. Book a new session in time, or work that needs it can no longer be assigned.\n\nSee the training: {link}",
        ),
        (StaffNotice::TrainingExpiring, Language::Pt) => tpl(
            "Formação a expirar: {title}",
            "Olá {name},\n\na formação «{title}» de {owner} expira a {due}. Inscreva-se numa nova sessão a tempo; caso contrário, o trabalho que a exige deixa de poder ser atribuído.\n\nVer a formação: {link}",
        ),
    }
}

/// The built-in wording, used until a market's administrator writes its own.
pub fn default_template(event: Event, channel: MessageChannel, lang: Language) -> Template {
    use Event::*;
    use Language::*;
    use MessageChannel::*;
    match (event, channel, lang) {
        (AppointmentBooked, Email, Nb) => tpl(
            "Timen din er bestilt: {when}",
            "Hei {name},\n\nvi har satt av tid til {vehicle} {when} hos {place}.\nArbeidsordre: {number}\n\nFølg bilen din her: {link}\n\nKalenderinvitasjon ligger ved.",
        ),
        (AppointmentBooked, Email, En) => tpl(
            "Your appointment is booked: {when}",
            "Hello {name},\n\nwe have booked {vehicle} for {when} at {place}.\nRepair order: {number}\n\nFollow your car here: {link}\n\nA calendar invitation is attached.",
        ),
        (AppointmentBooked, Email, Pt) => tpl(
            "A sua marcação está confirmada: {when}",
            "Olá {name},\n\nmarcámos {vehicle} para {when} em {place}.\nOrdem de reparação: {number}\n\nAcompanhe o seu carro aqui: {link}\n\nSegue em anexo o convite para o calendário.",
        ),
        (AppointmentBooked, Sms, Nb) => tpl("", "Time bestilt for {vehicle}: {when}, {place}. {link}"),
        (AppointmentBooked, Sms, En) => tpl("", "Booked for {vehicle}: {when}, {place}. {link}"),
        (AppointmentBooked, Sms, Pt) => tpl("", "Marcação para {vehicle}: {when}, {place}. {link}"),
        (AppointmentMoved, Email, Nb) => tpl(
            "Timen din er flyttet: {when}",
            "Hei {name},\n\ntimen for {vehicle} er flyttet til {when} hos {place}.\nArbeidsordre: {number}\n\nFølg bilen din her: {link}\n\nOppdatert kalenderinvitasjon ligger ved.",
        ),
        (AppointmentMoved, Email, En) => tpl(
            "Your appointment has moved: {when}",
            "Hello {name},\n\nthe appointment for {vehicle} has moved to {when} at {place}.\nRepair order: {number}\n\nFollow your car here: {link}\n\nAn updated calendar invitation is attached.",
        ),
        (AppointmentMoved, Email, Pt) => tpl(
            "A sua marcação mudou: {when}",
            "Olá {name},\n\na marcação de {vehicle} passou para {when} em {place}.\nOrdem de reparação: {number}\n\nAcompanhe o seu carro aqui: {link}\n\nSegue em anexo o convite atualizado para o calendário.",
        ),
        (AppointmentMoved, Sms, Nb) => tpl("", "Timen for {vehicle} er flyttet til {when}, {place}. {link}"),
        (AppointmentMoved, Sms, En) => tpl("", "The appointment for {vehicle} has moved to {when}, {place}. {link}"),
        (AppointmentMoved, Sms, Pt) => tpl("", "A marcação de {vehicle} passou para {when}, {place}. {link}"),
        (RoWaitingApproval, Email, Nb) => tpl(
            "Vi trenger din godkjenning – {number}",
            "Hei {name},\n\nvi har funnet mer arbeid på {vehicle}. Se overslaget og godkjenn eller avslå her: {link}",
        ),
        (RoWaitingApproval, Email, En) => tpl(
            "We need your approval – {number}",
            "Hello {name},\n\nwe found more work on {vehicle}. See the estimate and approve or decline it here: {link}",
        ),
        (RoWaitingApproval, Email, Pt) => tpl(
            "Precisamos da sua aprovação – {number}",
            "Olá {name},\n\nencontrámos mais trabalho em {vehicle}. Veja o orçamento e aprove ou recuse aqui: {link}",
        ),
        (RoWaitingApproval, Sms, Nb) => tpl("", "{vehicle}: vi trenger din godkjenning for mer arbeid. {link}"),
        (RoWaitingApproval, Sms, En) => tpl("", "{vehicle}: we need your approval for more work. {link}"),
        (RoWaitingApproval, Sms, Pt) => tpl("", "{vehicle}: precisamos da sua aprovação para mais trabalho. {link}"),
        (RoReady, Email, Nb) => tpl(
            "Bilen din er klar – {number}",
            "Hei {name},\n\n{vehicle} er klar til henting hos {place}.\n\nDetaljer: {link}",
        ),
        (RoReady, Email, En) => tpl(
            "Your car is ready – {number}",
            "Hello {name},\n\n{vehicle} is ready for collection at {place}.\n\nDetails: {link}",
        ),
        (RoReady, Email, Pt) => tpl(
            "O seu carro está pronto – {number}",
            "Olá {name},\n\n{vehicle} está pronto para levantamento em {place}.\n\nDetalhes: {link}",
        ),
        (RoReady, Sms, Nb) => tpl("", "{vehicle} er klar til henting hos {place}. {link}"),
        (RoReady, Sms, En) => tpl("", "{vehicle} is ready for collection at {place}. {link}"),
        (RoReady, Sms, Pt) => tpl("", "{vehicle} está pronto para levantamento em {place}. {link}"),
        (Survey, _, Nb) => tpl(
            "Hvordan var besøket? – {number}",
            "Hei {name},\n\ntakk for at du valgte oss. Har du ett minutt til å fortelle hvordan det gikk?\n{survey_link}",
        ),
        (Survey, _, En) => tpl(
            "How was your visit? – {number}",
            "Hello {name},\n\nthank you for choosing us. Do you have a minute to tell us how it went?\n{survey_link}",
        ),
        (Survey, _, Pt) => tpl(
            "Como correu a sua visita? – {number}",
            "Olá {name},\n\nobrigado pela sua preferência. Tem um minuto para nos dizer como correu?\n{survey_link}",
        ),
        (CaseMessage, Email, Nb) => tpl("Sak {number}", "Hei {name},\n\n{message}"),
        (CaseMessage, Email, En) => tpl("Case {number}", "Hello {name},\n\n{message}"),
        (CaseMessage, Email, Pt) => tpl("Processo {number}", "Olá {name},\n\n{message}"),
        (CaseMessage, Sms, _) => tpl("", "{message}"),
        (InvoiceIssued, Email, Nb) => tpl(
            "Faktura {number} fra {place}",
            "Hei {name},\n\nher er faktura {number} fra {place}.\n\nSe og last ned fakturaen: {link}",
        ),
        (InvoiceIssued, Email, En) => tpl(
            "Invoice {number} from {place}",
            "Hello {name},\n\nhere is invoice {number} from {place}.\n\nView and download it: {link}",
        ),
        (InvoiceIssued, Email, Pt) => tpl(
            "Fatura {number} de {place}",
            "Olá {name},\n\naqui está a fatura {number} de {place}.\n\nVer e descarregar: {link}",
        ),
        (InvoiceIssued, Sms, Nb) => tpl("", "Faktura {number} fra {place}: {link}"),
        (InvoiceIssued, Sms, En) => tpl("", "Invoice {number} from {place}: {link}"),
        (InvoiceIssued, Sms, Pt) => tpl("", "Fatura {number} de {place}: {link}"),
        (CreditNoteIssued, Email, Nb) => tpl(
            "Kreditnota {number} fra {place}",
            "Hei {name},\n\nher er kreditnota {number} fra {place}.\n\nSe og last ned kreditnotaen: {link}",
        ),
        (CreditNoteIssued, Email, En) => tpl(
            "Credit note {number} from {place}",
            "Hello {name},\n\nhere is credit note {number} from {place}.\n\nView and download it: {link}",
        ),
        (CreditNoteIssued, Email, Pt) => tpl(
            "Nota de crédito {number} de {place}",
            "Olá {name},\n\naqui está a nota de crédito {number} de {place}.\n\nVer e descarregar: {link}",
        ),
        (CreditNoteIssued, Sms, Nb) => tpl("", "Kreditnota {number} fra {place}: {link}"),
        (CreditNoteIssued, Sms, En) => tpl("", "Credit note {number} from {place}: {link}"),
        (CreditNoteIssued, Sms, Pt) => tpl("", "Nota de crédito {number} de {place}: {link}"),
        (ServiceDue, Email, Nb) => tpl(
            "{vehicle}: {item} innen {due}",
            "Hei {name},\n\n{vehicle} skal ha {item} innen {due}.\n\nBestill time hos {place}: {book_link}\n\nHar du allerede gjort dette et annet sted, kan du svare på denne e-posten, så oppdaterer vi bilens historikk.",
        ),
        (ServiceDue, Email, En) => tpl(
            "{vehicle}: {item} due by {due}",
            "Hello {name},\n\n{vehicle} is due for {item} by {due}.\n\nBook a time at {place}: {book_link}\n\nIf it has already been done elsewhere, just reply to this e-mail and we will update the car's history.",
        ),
        (ServiceDue, Email, Pt) => tpl(
            "{vehicle}: {item} até {due}",
            "Olá {name},\n\no {vehicle} deve fazer {item} até {due}.\n\nMarque em {place}: {book_link}\n\nSe já o fez noutro lado, responda a este e-mail e atualizamos o histórico do carro.",
        ),
        (ServiceDue, Sms, Nb) => tpl("", "{vehicle} skal ha {item} innen {due}. Bestill time hos {place}: {book_link}"),
        (ServiceDue, Sms, En) => tpl("", "{vehicle} is due for {item} by {due}. Book at {place}: {book_link}"),
        (ServiceDue, Sms, Pt) => tpl("", "O {vehicle} deve fazer {item} até {due}. Marque em {place}: {book_link}"),
        (PickupConfirmed, Email, Nb) => tpl(
            "Vi henter {vehicle} {window}",
            "Hei {name},\n\nvår sjåfør henter {vehicle} på {place} {window}. Vi sier fra når sjåføren er på vei.\n\nFølg bilen: {link}",
        ),
        (PickupConfirmed, Email, En) => tpl(
            "We pick up {vehicle} {window}",
            "Hello {name},\n\nour driver picks up {vehicle} at {place} {window}. We will tell you when the driver is on the way.\n\nFollow the car: {link}",
        ),
        (PickupConfirmed, Email, Pt) => tpl(
            "Recolhemos o {vehicle} {window}",
            "Olá {name},\n\no nosso motorista recolhe o {vehicle} em {place} {window}. Avisamos quando estiver a caminho.\n\nAcompanhe o carro: {link}",
        ),
        (PickupConfirmed, Sms, Nb) => tpl("", "Vi henter {vehicle} på {place} {window}. Følg bilen: {link}"),
        (PickupConfirmed, Sms, En) => tpl("", "We pick up {vehicle} at {place} {window}. Follow the car: {link}"),
        (PickupConfirmed, Sms, Pt) => tpl("", "Recolhemos o {vehicle} em {place} {window}. Acompanhe: {link}"),
        (DeliveryScheduled, Email, Nb) => tpl(
            "Vi leverer {vehicle} {window}",
            "Hei {name},\n\nvår sjåfør leverer {vehicle} til {place} {window}.\n\nFølg bilen: {link}",
        ),
        (DeliveryScheduled, Email, En) => tpl(
            "We deliver {vehicle} {window}",
            "Hello {name},\n\nour driver delivers {vehicle} to {place} {window}.\n\nFollow the car: {link}",
        ),
        (DeliveryScheduled, Email, Pt) => tpl(
            "Entregamos o {vehicle} {window}",
            "Olá {name},\n\no nosso motorista entrega o {vehicle} em {place} {window}.\n\nAcompanhe o carro: {link}",
        ),
        (DeliveryScheduled, Sms, Nb) => tpl("", "Vi leverer {vehicle} til {place} {window}. Følg bilen: {link}"),
        (DeliveryScheduled, Sms, En) => tpl("", "We deliver {vehicle} to {place} {window}. Follow the car: {link}"),
        (DeliveryScheduled, Sms, Pt) => tpl("", "Entregamos o {vehicle} em {place} {window}. Acompanhe: {link}"),
        (DriverOnTheWay, Email, Nb) => tpl(
            "Sjåføren er på vei",
            "Hei {name},\n\nsjåføren vår er på vei og er hos deg {window}.\n\nFølg bilen: {link}",
        ),
        (DriverOnTheWay, Email, En) => tpl(
            "The driver is on the way",
            "Hello {name},\n\nour driver is on the way and will be with you {window}.\n\nFollow the car: {link}",
        ),
        (DriverOnTheWay, Email, Pt) => tpl(
            "O motorista está a caminho",
            "Olá {name},\n\no nosso motorista está a caminho e chega {window}.\n\nAcompanhe o carro: {link}",
        ),
        (DriverOnTheWay, Sms, Nb) => tpl("", "Sjåføren vår er på vei og er hos deg {window}."),
        (DriverOnTheWay, Sms, En) => tpl("", "Our driver is on the way and will be with you {window}."),
        (DriverOnTheWay, Sms, Pt) => tpl("", "O nosso motorista está a caminho e chega {window}."),
        (CarDelivered, Email, Nb) => tpl(
            "{vehicle} er levert",
            "Hei {name},\n\n{vehicle} er levert til deg. Takk for at du valgte {place}.\n\nArbeidsordren: {link}",
        ),
        (CarDelivered, Email, En) => tpl(
            "{vehicle} is delivered",
            "Hello {name},\n\n{vehicle} has been delivered to you. Thank you for choosing {place}.\n\nThe repair order: {link}",
        ),
        (CarDelivered, Email, Pt) => tpl(
            "O {vehicle} foi entregue",
            "Olá {name},\n\no {vehicle} foi-lhe entregue. Obrigado por escolher {place}.\n\nA ordem de reparação: {link}",
        ),
        (LoanerAgreement, Email, Nb) => tpl(
            "Låneavtalen din for {item}",
            "Hei {name},\n\nvedlagt er låneavtalen du signerte for lånebilen {item} mens vi har {vehicle}. Ta vare på den.\n\nFølg bilen din: {link}",
        ),
        (LoanerAgreement, Email, En) => tpl(
            "Your loaner agreement for {item}",
            "Hello {name},\n\nattached is the agreement you signed for the loaner {item} while we have {vehicle}. Please keep it.\n\nFollow your car: {link}",
        ),
        (LoanerAgreement, Email, Pt) => tpl(
            "O seu contrato da viatura de cortesia {item}",
            "Olá {name},\n\nem anexo está o contrato que assinou para a viatura de cortesia {item} enquanto temos o {vehicle}. Guarde-o.\n\nAcompanhe o seu carro: {link}",
        ),
        (Recall, Email, Nb) => tpl(
            "Tilbakekalling for {vehicle}: {item}",
            "Hei {name},\n\n{vehicle} er omfattet av {item}. Arbeidet er gratis for deg. Bestill en time hos {place} når det passer, eller svar på denne e-posten.",
        ),
        (Recall, Email, En) => tpl(
            "Recall for {vehicle}: {item}",
            "Hello {name},\n\n{vehicle} is affected by {item}. The work is free of charge for you. Please book a time at {place} when it suits you, or reply to this e-mail.",
        ),
        (Recall, Email, Pt) => tpl(
            "Chamada para o {vehicle}: {item}",
            "Olá {name},\n\no {vehicle} está abrangido por {item}. O trabalho é gratuito para si. Marque uma hora em {place} quando lhe for conveniente, ou responda a este e-mail.",
        ),
        (Recall, Sms, Nb) => tpl("", "{vehicle}: {item}. Gratis utbedring hos {place}, bestill en time."),
        (Recall, Sms, En) => tpl("", "{vehicle}: {item}. Free remedy at {place}, please book a time."),
        (Recall, Sms, Pt) => tpl("", "{vehicle}: {item}. Reparação gratuita em {place}, marque uma hora."),
        (CarDelivered, Sms, Nb) => tpl("", "{vehicle} er levert. Takk for at du valgte {place}."),
        (CarDelivered, Sms, En) => tpl("", "{vehicle} has been delivered. Thank you for choosing {place}."),
        (CarDelivered, Sms, Pt) => tpl("", "O {vehicle} foi entregue. Obrigado por escolher {place}."),
        (Campaign, Email, Nb) => tpl(
            "{item} – {place}",
            "Hei {name},\n\n{message}\n\nBestill time: {book_link}",
        ),
        (Campaign, Email, En) => tpl(
            "{item} – {place}",
            "Hello {name},\n\n{message}\n\nBook a time: {book_link}",
        ),
        (Campaign, Email, Pt) => tpl(
            "{item} – {place}",
            "Olá {name},\n\n{message}\n\nMarque aqui: {book_link}",
        ),
        (Campaign, Sms, Nb) => tpl("", "{item}: {message} {book_link}"),
        (Campaign, Sms, En) => tpl("", "{item}: {message} {book_link}"),
        (Campaign, Sms, Pt) => tpl("", "{item}: {message} {book_link}"),
        (EtaChanged, Email, Nb) => tpl(
            "Ny ferdigtid for {vehicle} – {number}",
            "Hei {name},\n\n{vehicle} blir etter planen ferdig {eta}.\n\nFølg bilen din her: {link}",
        ),
        (EtaChanged, Email, En) => tpl(
            "New ready time for {vehicle} – {number}",
            "Hello {name},\n\n{vehicle} is now expected to be ready {eta}.\n\nFollow your car here: {link}",
        ),
        (EtaChanged, Email, Pt) => tpl(
            "Nova hora prevista para {vehicle} – {number}",
            "Olá {name},\n\n{vehicle} deverá agora ficar pronto {eta}.\n\nAcompanhe o seu carro aqui: {link}",
        ),
        (EtaChanged, Sms, Nb) => tpl("", "{vehicle} blir etter planen ferdig {eta}. {link}"),
        (EtaChanged, Sms, En) => tpl("", "{vehicle} is now expected to be ready {eta}. {link}"),
        (EtaChanged, Sms, Pt) => tpl("", "{vehicle} deverá ficar pronto {eta}. {link}"),
        (_, Email, Nb) => tpl(
            "{number}: {status}",
            "Hei {name},\n\nny status for {vehicle}: {status}.\n\nFølg bilen din her: {link}",
        ),
        (_, Email, En) => tpl(
            "{number}: {status}",
            "Hello {name},\n\nnew status for {vehicle}: {status}.\n\nFollow your car here: {link}",
        ),
        (_, Email, Pt) => tpl(
            "{number}: {status}",
            "Olá {name},\n\nnovo estado de {vehicle}: {status}.\n\nAcompanhe o seu carro aqui: {link}",
        ),
        (_, Sms, Nb) => tpl("", "{vehicle}: {status}. {link}"),
        (_, Sms, En) => tpl("", "{vehicle}: {status}. {link}"),
        (_, Sms, Pt) => tpl("", "{vehicle}: {status}. {link}"),
    }
}

/// A local date and time as a customer reads it: "mandag 23. november 2026 kl. 09:00".
pub fn format_when(local: time::PrimitiveDateTime, lang: Language) -> String {
    let d = local.date();
    let wd = d.weekday().number_days_from_monday() as usize;
    let (h, min) = (local.hour(), local.minute());
    let day = format_day(d, lang);
    match lang {
        Language::Nb => {
            const W: [&str; 7] = [
                "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag",
            ];
            format!("{} {day} kl. {h:02}:{min:02}", W[wd])
        }
        Language::En => {
            const W: [&str; 7] = [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            ];
            format!("{} {day} at {h:02}:{min:02}", W[wd])
        }
        Language::Pt => {
            const W: [&str; 7] = [
                "segunda-feira",
                "terça-feira",
                "quarta-feira",
                "quinta-feira",
                "sexta-feira",
                "sábado",
                "domingo",
            ];
            format!("{}, {day} às {h:02}:{min:02}", W[wd])
        }
    }
}

/// A day as a customer reads it: "7. januar 2027", "7 January 2027", "7 de janeiro de 2027".
pub fn format_day(d: time::Date, lang: Language) -> String {
    let m = u8::from(d.month()) as usize - 1;
    match lang {
        Language::Nb => {
            const M: [&str; 12] = [
                "januar",
                "februar",
                "mars",
                "april",
                "mai",
                "juni",
                "juli",
                "august",
                "september",
                "oktober",
                "november",
                "desember",
            ];
            format!("{}. {} {}", d.day(), M[m], d.year())
        }
        Language::En => {
            const M: [&str; 12] = [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ];
            format!("{} {} {}", d.day(), M[m], d.year())
        }
        Language::Pt => {
            const M: [&str; 12] = [
                "janeiro",
                "fevereiro",
                "março",
                "abril",
                "maio",
                "junho",
                "julho",
                "agosto",
                "setembro",
                "outubro",
                "novembro",
                "dezembro",
            ];
            format!("{} de {} de {}", d.day(), M[m], d.year())
        }
    }
}

/// SMS are not sent between 21:00 and 08:00 local time; one written then waits until morning.
pub const QUIET_FROM: (u8, u8) = (21, 0);
pub const QUIET_UNTIL: (u8, u8) = (8, 0);

/// When a message written at `at` may go out through `channel` in `zone`.
pub fn send_after(channel: MessageChannel, zone: Zone, at: OffsetDateTime) -> OffsetDateTime {
    if channel != MessageChannel::Sms {
        return at;
    }
    let local = zone.local(at);
    let (Ok(from), Ok(until)) = (
        Time::from_hms(QUIET_FROM.0, QUIET_FROM.1, 0),
        Time::from_hms(QUIET_UNTIL.0, QUIET_UNTIL.1, 0),
    ) else {
        return at;
    };
    let t = local.time();
    let morning = if t >= from {
        local.date() + Duration::days(1)
    } else if t < until {
        local.date()
    } else {
        return at;
    };
    zone.instant(morning.with_time(until))
}

/// How long to wait after the `attempt`-th failed delivery (1-based); `None`: give up (dead letter).
pub fn retry_delay(attempt: i64) -> Option<Duration> {
    match attempt {
        1 => Some(Duration::minutes(1)),
        2 => Some(Duration::minutes(5)),
        3 => Some(Duration::minutes(30)),
        4 => Some(Duration::hours(2)),
        5 => Some(Duration::hours(8)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn renders_known_placeholders_only() {
        let mut v = BTreeMap::new();
        v.insert("name", "Kari".to_string());
        v.insert("number", "RO-1".to_string());
        assert_eq!(
            render("Hei {name}, {number} {x} {", &v),
            "Hei Kari, RO-1 {x} {"
        );
        assert!(check_placeholders("body", "Hei {name} {link}").is_ok());
        let e = check_placeholders("body", "Hei {navn}").unwrap_err();
        assert_eq!((e.field.as_str(), e.rule), ("body", Rule::Unknown));
    }

    #[test]
    fn every_default_template_uses_known_placeholders() {
        for e in Event::ALL {
            for c in MessageChannel::ALL {
                for l in Language::ALL {
                    let t = default_template(*e, *c, l);
                    assert!(check_placeholders("subject", &t.subject).is_ok());
                    assert!(
                        check_placeholders("body", &t.body).is_ok(),
                        "{e:?} {c:?} {l:?}"
                    );
                    assert!(!t.body.is_empty());
                }
            }
        }
    }

    #[test]
    fn dates_read_naturally() {
        let t = time::macros::datetime!(2026-11-23 09:00);
        assert_eq!(
            format_when(t, Language::Nb),
            "mandag 23. november 2026 kl. 09:00"
        );
        assert_eq!(
            format_when(t, Language::En),
            "Monday 23 November 2026 at 09:00"
        );
        assert_eq!(
            format_when(t, Language::Pt),
            "segunda-feira, 23 de novembro de 2026 às 09:00"
        );
    }

    #[test]
    fn sms_waits_for_the_morning() {
        let oslo = Zone::OSLO;
        // 22:30 in Oslo (winter, UTC+1) → 08:00 next day = 07:00 UTC
        let late = datetime!(2026-11-23 21:30 UTC);
        assert_eq!(
            send_after(MessageChannel::Sms, oslo, late),
            datetime!(2026-11-24 07:00 UTC)
        );
        let early = datetime!(2026-11-24 05:00 UTC);
        assert_eq!(
            send_after(MessageChannel::Sms, oslo, early),
            datetime!(2026-11-24 07:00 UTC)
        );
        let day = datetime!(2026-11-24 12:00 UTC);
        assert_eq!(send_after(MessageChannel::Sms, oslo, day), day);
        assert_eq!(send_after(MessageChannel::Email, oslo, late), late);
    }

    #[test]
    fn retries_back_off_then_stop() {
        assert_eq!(retry_delay(1), Some(Duration::minutes(1)));
        assert!(retry_delay(5) > retry_delay(4));
        assert_eq!(retry_delay(6), None);
    }
}
