//! The order status state machine.
//!
//! ```text
//! pending ──▶ routing ──▶ building ──▶ submitted ──▶ confirmed
//!    │           ▲ │          │ │           │ │
//!    │           └─┴──retry───┴─┼───────────┘ │
//!    └───────────┴──────────────┴─────────────┴──▶ failed
//! ```
//!
//! A retry re-enters `routing` from any non-terminal status after `pending`.
//!
//! Resting orders (limit) add `open`, entered from `pending` once armed, and
//! again from an execution that could not fill at the order's minimum:
//!
//! ```text
//! pending ──▶ open ──trigger──▶ routing ──▶ … ──▶ confirmed
//!              │ ▲                 │ … │
//!              │ └────re-open──────┴───┘
//!              ├──▶ cancelled
//!              └──▶ expired
//! ```
//!
//! `confirmed`, `failed`, `cancelled` and `expired` are terminal: nothing leaves
//! them, which is what makes "exactly one terminal event, always last"
//! enforceable by a conditional update. Every way out of `open` is one guarded
//! transition, so a cancel racing a trigger has exactly one winner.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OrderStatus {
    Pending,
    Routing,
    Building,
    Submitted,
    Confirmed,
    Failed,
    /// Armed: waiting for its trigger (limit orders).
    Open,
    /// Terminal: cancelled by its owner while open.
    Cancelled,
    /// Terminal: reached its `expiresAt` while open.
    Expired,
}

impl OrderStatus {
    pub const ALL: [Self; 9] = [
        Self::Pending,
        Self::Routing,
        Self::Building,
        Self::Submitted,
        Self::Confirmed,
        Self::Failed,
        Self::Open,
        Self::Cancelled,
        Self::Expired,
    ];

    /// The terminal statuses, for SQL that tells finished orders apart.
    pub const TERMINAL: [Self; 4] = [Self::Confirmed, Self::Failed, Self::Cancelled, Self::Expired];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Routing => "routing",
            Self::Building => "building",
            Self::Submitted => "submitted",
            Self::Confirmed => "confirmed",
            Self::Failed => "failed",
            Self::Open => "open",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    /// Parses the wire name (exact, lower case).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Confirmed | Self::Failed | Self::Cancelled | Self::Expired)
    }

    /// Whether an order in `self` may move to `next`.
    pub const fn can_transition_to(self, next: Self) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (Pending, Routing)
                | (Routing, Building)
                | (Building, Submitted)
                | (Submitted, Confirmed)
                | (Routing | Building | Submitted, Routing)
                | (Pending | Routing | Building | Submitted | Open, Failed)
                | (Pending | Routing | Building | Submitted, Open)
                | (Open, Routing | Cancelled | Expired)
        )
    }

    /// The statuses from which `next` may be entered, for conditional SQL updates.
    pub fn predecessors(next: Self) -> Vec<Self> {
        Self::ALL.into_iter().filter(|s| s.can_transition_to(next)).collect()
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::{self, *};

    #[test]
    fn the_happy_path_is_legal() {
        let path = [Pending, Routing, Building, Submitted, Confirmed];
        for pair in path.windows(2) {
            assert!(pair[0].can_transition_to(pair[1]), "{} -> {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn exactly_these_transitions_are_legal() {
        let legal = [
            (Pending, Routing),
            (Pending, Failed),
            (Routing, Routing),
            (Routing, Building),
            (Routing, Failed),
            (Building, Routing),
            (Building, Submitted),
            (Building, Failed),
            (Submitted, Routing),
            (Submitted, Confirmed),
            (Submitted, Failed),
            (Pending, Open),
            (Routing, Open),
            (Building, Open),
            (Submitted, Open),
            (Open, Routing),
            (Open, Failed),
            (Open, Cancelled),
            (Open, Expired),
        ];
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                assert_eq!(from.can_transition_to(to), legal.contains(&(from, to)), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn terminal_statuses_are_final() {
        for terminal in OrderStatus::TERMINAL {
            assert!(terminal.is_terminal());
            assert!(OrderStatus::ALL.iter().all(|&next| !terminal.can_transition_to(next)));
        }
        assert!(!Pending.is_terminal() && !Submitted.is_terminal() && !Open.is_terminal());
        assert_eq!(OrderStatus::ALL.iter().filter(|s| s.is_terminal()).count(), OrderStatus::TERMINAL.len());
    }

    #[test]
    fn nothing_returns_to_pending_or_skips_ahead() {
        assert!(OrderStatus::ALL.iter().all(|s| !s.can_transition_to(Pending)));
        assert!(!Pending.can_transition_to(Building));
        assert!(!Routing.can_transition_to(Submitted));
        assert!(!Building.can_transition_to(Confirmed));
        assert!(!Open.can_transition_to(Building) && !Open.can_transition_to(Confirmed));
    }

    #[test]
    fn only_an_open_order_can_be_cancelled_or_expire() {
        assert_eq!(OrderStatus::predecessors(Cancelled), vec![Open]);
        assert_eq!(OrderStatus::predecessors(Expired), vec![Open]);
    }

    #[test]
    fn names_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).expect("json"), format!("\"{s}\""));
        }
        assert_eq!(OrderStatus::parse("Pending"), None);
        assert_eq!(OrderStatus::predecessors(Confirmed), vec![Submitted]);
    }
}
