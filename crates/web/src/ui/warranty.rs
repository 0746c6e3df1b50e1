//! Warranty as people read it, shared by the vehicle page and the repair order: a coverage's name
//! and where it stands, the battery's capacity verdict, the statutory period beside the warranty.

use aftersales_store::warranty::{Capacity, Coverage, Statutory, VehicleCoverage};

use crate::i18n::Tr;

pub fn kind(t: &Tr<'_>, c: &Coverage) -> String {
    t.t(&format!("wr-kind-{}", c.kind.as_str()))
}

/// Where a coverage stands: days and km left, or when and why it ended.
pub fn state(t: &Tr<'_>, c: &Coverage) -> String {
    match c.standing.as_str() {
        "covered" => {
            let days = c.days_left.unwrap_or(0).to_string();
            match c.km_left {
                Some(km) => t.with(
                    "wr-covered-km",
                    &[("days", days.as_str()), ("km", &t.int(km))],
                ),
                None => t.t1("wr-covered", "days", &days),
            }
        }
        "over-km" => t.t1("wr-over-km", "km", &t.int(c.km_limit.unwrap_or(0))),
        _ => t.t1(
            "wr-expired",
            "day",
            &super::logistics::day_label(&c.last_day, t.lang),
        ),
    }
}

pub fn capacity(t: &Tr<'_>, k: &Capacity) -> String {
    let key = if k.below {
        "wr-capacity-below"
    } else {
        "wr-capacity-ok"
    };
    t.with(
        key,
        &[
            ("soh", &k.soh_pct.to_string()),
            ("threshold", &k.threshold_pct.to_string()),
        ],
    )
}

pub fn statutory(t: &Tr<'_>, st: &Statutory) -> String {
    let key = if st.applies {
        "wr-statutory-runs"
    } else {
        "wr-statutory-over"
    };
    t.with(
        key,
        &[
            ("years", &(st.months / 12).to_string()),
            ("day", &super::logistics::day_label(&st.last_day, t.lang)),
        ],
    )
}

/// One line for a repair order: the coverages that run today, or that none does.
pub fn summary(t: &Tr<'_>, c: &VehicleCoverage) -> String {
    if let Some(u) = &c.undecided {
        return t.t(&format!("wr-undecided-{u}"));
    }
    let mut running: Vec<String> = c
        .coverages
        .iter()
        .filter(|x| x.standing == "covered")
        .map(|x| format!("{}: {}", kind(t, x), state(t, x)))
        .collect();
    let parts = c
        .parts
        .iter()
        .filter(|p| p.coverage.standing == "covered")
        .count();
    if parts > 0 {
        running.push(t.n("wr-parts-running", parts));
    }
    if running.is_empty() {
        t.t("wr-none-running")
    } else {
        running.join(" · ")
    }
}
