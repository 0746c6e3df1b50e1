//! Service reminders on both engines: the reminder run tells each due customer once, and a
//! campaign goes out on its day, only once.

use aftersales_store::{demo, Store};
use time::macros::datetime;
use time::Duration;

pub async fn reminders_are_sent_once_and_campaigns_on_their_day(store: &Store) {
    let t0 = datetime!(2026-12-07 07:00 UTC);
    demo::seed(store, t0 - Duration::hours(1)).await.unwrap();
    let first = store.cli().send_reminders(t0).await.unwrap();
    assert!(first.reminders > 0, "{first:?}");
    assert_eq!(
        first.campaigns, 0,
        "the demo campaigns are planned for next week"
    );
    let again = store
        .cli()
        .send_reminders(t0 + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!((again.reminders, again.campaigns), (0, 0));
    let week = store
        .cli()
        .send_reminders(t0 + Duration::days(8))
        .await
        .unwrap();
    assert_eq!(week.campaigns, 2, "{week:?}");
    let after = store
        .cli()
        .send_reminders(t0 + Duration::days(8))
        .await
        .unwrap();
    assert_eq!(after.campaigns, 0);
}
