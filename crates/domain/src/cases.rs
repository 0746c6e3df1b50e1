//! Cases (capability cases): the vocabulary of the advisor's inbox, the status machine, and the
//! rules that escalate a case to the service manager without anyone having to remember them.

use serde::{Deserialize, Serialize};

use crate::validation::{FieldError, Rule};

vocabulary!(
    /// What the customer's inquiry is about; SLA policies and routing rules key on it.
    Category {
        Technical => "technical",
        Maintenance => "maintenance",
        Delivery => "delivery",
        Warranty => "warranty",
        Invoice => "invoice",
        Other => "other",
    }
);

vocabulary!(
    Priority {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

vocabulary!(
    /// How the inquiry arrived.
    #[schema(as = CaseChannel)]
    Channel {
        Phone => "phone",
        Email => "email",
        Web => "web",
    }
);

vocabulary!(
    /// Where a case stands. While `WaitingForCustomer` the SLA clock is paused.
    Status {
        New => "new",
        Open => "open",
        WaitingForCustomer => "waiting-for-customer",
        Resolved => "resolved",
        Closed => "closed",
    }
);

impl Status {
    /// The transitions a person may make. A resolved case reopens when the customer writes again.
    pub fn may_become(self, next: Status) -> bool {
        use Status::*;
        matches!(
            (self, next),
            (New, Open | WaitingForCustomer | Resolved)
                | (Open, WaitingForCustomer | Resolved)
                | (WaitingForCustomer, Open | Resolved)
                | (Resolved, Open | Closed)
        )
    }

    /// Counts towards the inbox (not resolved or closed).
    pub fn is_active(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed)
    }
}

/// Words that signal a safety risk in the customer's own description, in the three languages.
/// A case with any of them is escalated to the service manager at once.
pub const SAFETY_WORDS: &[&str] = &[
    // English
    "smoke",
    "fire",
    "burning",
    "brake",
    "brakes",
    "steering",
    "airbag",
    "high voltage",
    "battery swelling",
    "sparks",
    "crash",
    // Norwegian
    "røyk",
    "brann",
    "brenner",
    "brent lukt",
    "bremser",
    "bremsene",
    "styring",
    "styringen",
    "kollisjonspute",
    "høyspenning",
    "gnister",
    "kollisjon",
    // Portuguese
    "fumo",
    "fogo",
    "incêndio",
    "cheiro a queimado",
    "travões",
    "travão",
    "direção",
    "direcção",
    "airbag",
    "alta tensão",
    "faíscas",
    "colisão",
];

/// The safety words found in a text (case-insensitive, on word boundaries).
pub fn safety_signals(text: &str) -> Vec<&'static str> {
    let lower = text.to_lowercase();
    let is_word_char = |c: char| c.is_alphanumeric();
    SAFETY_WORDS
        .iter()
        .copied()
        .filter(|w| {
            lower.match_indices(w).any(|(i, _)| {
                let before = lower[..i]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !is_word_char(c));
                let after = lower[i + w.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !is_word_char(c));
                before && after
            })
        })
        .collect()
}

/// Why a case was escalated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EscalationReason {
    /// An advisor escalated it by hand.
    Manual,
    /// The customer described a safety risk.
    Safety,
    /// The SLA is close to breaching.
    SlaAtRisk,
    /// The customer contacted us again about an open concern.
    RepeatContact,
}

/// A case escalated as a safety risk gets no remote fix: the car is inspected, never "fixed" over
/// the air. Returns the reason remote fixes are withheld, if they are.
pub fn remote_fix_withheld(escalation: Option<EscalationReason>) -> Option<EscalationReason> {
    escalation.filter(|e| *e == EscalationReason::Safety)
}

impl EscalationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationReason::Manual => "manual",
            EscalationReason::Safety => "safety",
            EscalationReason::SlaAtRisk => "sla-at-risk",
            EscalationReason::RepeatContact => "repeat-contact",
        }
    }
    pub fn parse(s: &str) -> Option<EscalationReason> {
        [
            EscalationReason::Manual,
            EscalationReason::Safety,
            EscalationReason::SlaAtRisk,
            EscalationReason::RepeatContact,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// An SLA timer's state for the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Timer {
    /// Met before its deadline.
    Met,
    /// Running, with more than the warning share of its time left.
    Running,
    /// Running, close to the deadline: highlighted, and escalated.
    AtRisk,
    Breached,
    /// Stopped while waiting for the customer.
    Paused,
}

/// The state of a timer with `total` business minutes, `used` of which have passed.
/// At risk when 80 % or more of the time is used.
pub fn timer_state(
    done: bool,
    met_in_time: bool,
    paused: bool,
    total_minutes: i64,
    used_minutes: i64,
) -> Timer {
    if done {
        return if met_in_time {
            Timer::Met
        } else {
            Timer::Breached
        };
    }
    if used_minutes >= total_minutes {
        Timer::Breached
    } else if paused {
        Timer::Paused
    } else if used_minutes * 5 >= total_minutes * 4 {
        Timer::AtRisk
    } else {
        Timer::Running
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_machine() {
        assert!(Status::New.may_become(Status::Open));
        assert!(Status::Open.may_become(Status::WaitingForCustomer));
        assert!(Status::Resolved.may_become(Status::Open));
        assert!(!Status::Closed.may_become(Status::Open));
        assert!(!Status::New.may_become(Status::Closed));
        assert!(!Status::Open.may_become(Status::Open));
    }

    #[test]
    fn safety_words_in_three_languages() {
        assert_eq!(
            safety_signals("The brakes feel soft and there is a burning smell"),
            vec!["burning", "brakes"]
        );
        assert_eq!(safety_signals("Det kommer røyk fra panseret"), vec!["røyk"]);
        assert_eq!(safety_signals("Os travões fazem barulho"), vec!["travões"]);
        assert!(
            safety_signals("Bremsevæske sjekket, alt ok. Firewall update.").is_empty(),
            "only whole words"
        );
        assert!(safety_signals("The wiper squeaks").is_empty());
    }

    #[test]
    fn timers() {
        assert_eq!(timer_state(false, false, false, 100, 50), Timer::Running);
        assert_eq!(timer_state(false, false, false, 100, 80), Timer::AtRisk);
        assert_eq!(timer_state(false, false, true, 100, 90), Timer::Paused);
        assert_eq!(timer_state(false, false, false, 100, 100), Timer::Breached);
        assert_eq!(timer_state(true, true, false, 100, 120), Timer::Met);
        assert_eq!(timer_state(true, false, false, 100, 120), Timer::Breached);
    }
}
