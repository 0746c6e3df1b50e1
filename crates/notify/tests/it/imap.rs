//! Intake from a real IMAP mailbox (dovecot started by the test): mails become cases, replies
//! join theirs (by In-Reply-To, also to a message the product sent), each mail is taken once,
//! and over implicit TLS, STARTTLS and plain text alike.

#![allow(clippy::unwrap_used)]
use aftersales_domain::clock::{Clock, FixedClock};
use aftersales_domain::notify::MessageChannel;
use aftersales_notify::imap::{Mailbox, PollError, PollReport};
use aftersales_notify::testing::ImapServer;
use aftersales_store::auth::LoginPolicy;
use aftersales_store::cases::InboxFilter;
use aftersales_store::{demo, Store};
use time::macros::datetime;
use time::Duration;

async fn scope_of(store: &Store, user: &str, clock: &FixedClock) -> aftersales_store::Scope {
    let s = store
        .auth()
        .login(
            user,
            demo::DEMO_PASSWORD,
            Some("10.0.0.1"),
            clock.now(),
            &LoginPolicy::default(),
        )
        .await
        .unwrap();
    store
        .auth()
        .resolve_session(&s.raw_id, clock.now(), &LoginPolicy::default())
        .await
        .unwrap()
        .unwrap()
        .scope
}

#[tokio::test]
async fn mails_in_a_real_imap_mailbox_become_cases_and_replies_join_them() {
    let (trd_user, trd_pw) = ("trondheim", "pw-trd-1");
    let (lis_user, lis_pw) = ("lisboa", "pw-lis-1");
    let Some(imap) = ImapServer::start(&[(trd_user, trd_pw), (lis_user, lis_pw)]).await else {
        return;
    };
    let db = aftersales_store::testing::sqlite().await.unwrap();
    let store = &db.store;
    let clock = FixedClock::new(datetime!(2026-12-07 08:00 UTC));
    demo::seed(store, clock.now() - Duration::days(1))
        .await
        .unwrap();
    let trd = "service.trondheim@tesla.example";
    let over_tls = Mailbox::new(&imap.config(trd, trd_user, trd_pw, "tls")).unwrap();

    // A customer writes (to an alias of the inbox), and a mail without sender arrives too.
    imap.deliver(
        trd_user,
        trd_pw,
        "From: Siri Berg <siri.3@example.no>\nTo: verksted@tesla.example\nSubject: Lading stopper\n\
Message-ID: <m1@example.no>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\
Content-Transfer-Encoding: 8bit\n\nLadingen stopper på 80 prosent.\n",
    )
    .await;
    imap.deliver(trd_user, trd_pw, "Subject: tom\n\nUten avsender\n")
        .await;
    imap.deliver(
        trd_user,
        trd_pw,
        "From: siri.3@example.no\nAuto-Submitted: auto-replied\nSubject: Fravær\n\nJeg er på ferie.\n",
    )
    .await;
    let r = over_tls.poll(store, &clock).await.unwrap();
    assert_eq!(
        r,
        PollReport {
            created: 1,
            refused: 1,
            automatic: 1,
            ..Default::default()
        }
    );
    assert!(
        imap.unseen(trd_user, trd_pw).await.is_empty(),
        "taken and refused mails are marked seen"
    );
    let ingrid = scope_of(store, "ingrid", &clock).await;
    let inbox = store
        .cases()
        .inbox_page(&ingrid, InboxFilter::All, (None, 200), clock.now())
        .await
        .unwrap();
    let case = inbox
        .items
        .iter()
        .find(|c| c.subject == "Lading stopper")
        .expect("the mail opened a case in Trondheim's inbox");
    assert_eq!(
        case.customer.as_ref().map(|c| c.label.as_str()),
        Some("Siri Berg"),
        "the sender is recognised"
    );

    // Nothing new: the next poll takes nothing.
    assert_eq!(
        over_tls.poll(store, &clock).await.unwrap(),
        PollReport::default()
    );

    // The customer answers; the same mail is filed twice (a forwarding loop). Over STARTTLS.
    let reply = "From: siri.3@example.no\nTo: service.trondheim@tesla.example\nSubject: Re: Lading stopper\n\
Message-ID: <m2@example.no>\nIn-Reply-To: <m1@example.no>\n\nDet skjer hver natt.\n";
    imap.deliver(trd_user, trd_pw, reply).await;
    imap.deliver(trd_user, trd_pw, reply).await;
    let over_starttls = Mailbox::new(&imap.config(trd, trd_user, trd_pw, "starttls")).unwrap();
    clock.advance(Duration::hours(1));
    assert_eq!(
        over_starttls.poll(store, &clock).await.unwrap(),
        PollReport {
            threaded: 1,
            duplicate: 1,
            ..Default::default()
        }
    );
    let events = store.cases().case_events(&ingrid, &case.id).await.unwrap();
    let inbound: Vec<_> = events.iter().filter(|e| e.kind == "inbound").collect();
    assert_eq!(inbound.len(), 1, "{events:?}");
    assert!(inbound[0]
        .body
        .as_deref()
        .unwrap_or_default()
        .contains("Det skjer hver natt."));

    // A reply to a message the product sent about a case joins that case.
    store
        .cases()
        .add_case_message(
            &ingrid,
            &case.id,
            "Kan du sende et bilde av ladeskjermen?",
            true,
            clock.now(),
        )
        .await
        .unwrap();
    let sent = store
        .notify()
        .outbox(&ingrid, None, None, 200)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|m| {
            m.channel == MessageChannel::Email.as_str()
                && m.case_id.as_deref() == Some(case.id.as_str())
                && m.recipient.is_some()
        })
        .expect("the customer was written to by e-mail");
    imap.deliver(
        trd_user,
        trd_pw,
        &format!(
            // No case number in the subject: only the reference to the sent message threads it.
            "From: {}\nSubject: Svar\nMessage-ID: <m3@example.no>\nIn-Reply-To: <{}@aftersales.example>\n\nTakk!\n",
            sent.recipient.clone().unwrap_or_default(),
            sent.id
        ),
    )
    .await;
    let r = over_tls.poll(store, &clock).await.unwrap();
    assert_eq!(r.threaded, 1, "{r:?}");
    let events = store.cases().case_events(&ingrid, &case.id).await.unwrap();
    assert!(events
        .iter()
        .any(|e| e.kind == "inbound" && e.body.as_deref().unwrap_or_default().contains("Takk!")));

    // Lisboa's mailbox in plain text (a server on the same host): a case in Lisboa's inbox.
    imap.deliver(
        lis_user,
        lis_pw,
        "From: Ana Costa <ana.costa@example.pt>\nSubject: =?UTF-8?Q?Ru=C3=ADdo_na_suspens=C3=A3o?=\n\
Message-ID: <p1@example.pt>\n\nO carro faz um ruído.\n",
    )
    .await;
    let lisboa =
        Mailbox::new(&imap.config("lisboa@polestar-service.example", lis_user, lis_pw, "none"))
            .unwrap();
    assert_eq!(lisboa.poll(store, &clock).await.unwrap().created, 1);
    let joao = scope_of(store, "joao", &clock).await;
    let inbox = store
        .cases()
        .inbox_page(&joao, InboxFilter::All, (None, 200), clock.now())
        .await
        .unwrap();
    assert!(inbox
        .items
        .iter()
        .any(|c| c.subject == "Ruído na suspensão"));

    // A wrong password is the server's refusal, named; the mail waits for the next poll.
    imap.deliver(
        lis_user,
        lis_pw,
        "From: a@example.pt\nSubject: Ola\n\nOla\n",
    )
    .await;
    let wrong =
        Mailbox::new(&imap.config("lisboa@polestar-service.example", lis_user, "wrong", "tls"))
            .unwrap();
    let e = wrong.poll(store, &clock).await.unwrap_err();
    assert!(
        matches!(&e, PollError::Imap { message, .. } if message.contains("login")),
        "{e}"
    );
    assert_eq!(imap.unseen(lis_user, lis_pw).await.len(), 1);
    // A certificate nobody vouches for is refused (the system's authorities only).
    let mut untrusted = imap.config("lisboa@polestar-service.example", lis_user, lis_pw, "tls");
    untrusted.ca_file = None;
    let e = Mailbox::new(&untrusted)
        .unwrap()
        .poll(store, &clock)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PollError::Imap { message, .. } if message.contains("TLS")),
        "{e}"
    );
    // A mailbox whose address is no inbox's fails the poll, and its mail waits.
    let unknown =
        Mailbox::new(&imap.config("ukjent@tesla.example", lis_user, lis_pw, "tls")).unwrap();
    let e = unknown.poll(store, &clock).await.unwrap_err();
    assert!(matches!(&e, PollError::Store { .. }), "{e}");
    assert_eq!(imap.unseen(lis_user, lis_pw).await.len(), 1);
    // A configuration mistake is named at start-up.
    let mut bad = imap.config("lisboa@polestar-service.example", lis_user, lis_pw, "tls");
    bad.tls = "ssl".into();
    assert!(Mailbox::new(&bad).is_err());
}
