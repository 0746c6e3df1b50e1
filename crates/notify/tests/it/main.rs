//! The delivery adapters against real peers: an SMTP server and a recording SMS endpoint.

mod imap;

use aftersales_domain::notify::MessageChannel;
use aftersales_notify::testing::{SmsReceiver, SmtpSink};
use aftersales_notify::{Mailer, SendError, SmsGateway};
use aftersales_store::notify::OutboxJob;

fn job(channel: MessageChannel, to: &str) -> OutboxJob {
    OutboxJob {
        id: "0193a1b2-test".into(),
        channel,
        recipient: to.into(),
        subject: "Bilen din er klar – RO-2026-00001".into(),
        body: "Hei Kåre,\n\nModel Y er klar til henting på Tiller. Ærlig talt: ø å æ.".into(),
        attachment_name: Some("appointment.ics".into()),
        attachment: Some(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n".to_vec()),
        attempts: 0,
    }
}

#[tokio::test]
async fn mail_with_calendar_arrives_decoded_at_a_real_smtp_server() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let mailer = Mailer::new(&sink.config()).unwrap();
    mailer
        .send(&job(MessageChannel::Email, "kare@example.no"))
        .await
        .unwrap();
    let got = sink.received();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.rcpt_tos, vec!["kare@example.no".to_string()]);
    assert_eq!(m.subject, "Bilen din er klar – RO-2026-00001");
    assert!(m.text.contains("Ærlig talt: ø å æ."), "{}", m.text);
    assert!(
        m.message_id.contains("0193a1b2-test@aftersales.test"),
        "{}",
        m.message_id
    );
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].content_type, "text/calendar");
    assert!(m.attachments[0].content.contains("BEGIN:VCALENDAR"));
    // A bad recipient is refused before anything is sent, and never retried.
    let bad = mailer
        .send(&job(MessageChannel::Email, "not an address"))
        .await;
    assert!(matches!(bad, Err(SendError::Permanent(_))), "{bad:?}");
}

#[tokio::test]
async fn sms_goes_to_the_provider_with_token_and_idempotency_key() {
    let rx = SmsReceiver::start().await;
    let gw = SmsGateway::new(&rx.config()).unwrap();
    gw.send(&job(MessageChannel::Sms, "+4791234567"))
        .await
        .unwrap();
    rx.answer_with(&[503, 400]);
    let busy = gw.send(&job(MessageChannel::Sms, "+4791234567")).await;
    assert!(matches!(busy, Err(SendError::Transient(_))), "{busy:?}");
    let refused = gw.send(&job(MessageChannel::Sms, "+4791234567")).await;
    assert!(
        matches!(refused, Err(SendError::Permanent(_))),
        "{refused:?}"
    );
    let got = rx.received();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].authorization.as_deref(), Some("Bearer test-token"));
    assert_eq!(got[0].idempotency_key.as_deref(), Some("0193a1b2-test"));
    assert_eq!(got[0].body["to"], "+4791234567");
    assert_eq!(got[0].body["from"], "Aftersales");
    assert!(got[0].body["text"].as_str().unwrap().contains("Kåre"));
    // Nobody listening: a transient failure, retried later.
    let gone = SmsGateway::new(&aftersales_notify::SmsConfig {
        endpoint: "http://127.0.0.1:9/messages".into(),
        token: None,
        sender: "x".into(),
    })
    .unwrap();
    assert!(matches!(
        gone.send(&job(MessageChannel::Sms, "+4791234567")).await,
        Err(SendError::Transient(_))
    ));
    assert!(SmsGateway::new(&aftersales_notify::SmsConfig {
        endpoint: "ftp://x".into(),
        token: None,
        sender: "x".into()
    })
    .is_err());
}
