//! Checking one order's event stream against the contract.
//!
//! The engine promises every event of an order, `seq` 1, 2, 3 … in order, no
//! gap, no duplicate, with exactly one terminal event (`confirmed` or `failed`)
//! and nothing after it. The check remembers which `seq`s arrived in a 128-bit
//! set (an order has about five events, a dozen with every retry), so it costs
//! no allocation, and classifies every arrival as it comes:
//!
//! - **duplicate**: a `seq` already seen;
//! - **out of order**: a `seq` below the highest one seen so far;
//! - **after terminal**: an event that arrived after the terminal one, or that
//!   carries a higher `seq` than it;
//! - **invalid**: `seq` 0, or beyond what the set holds.
//!
//! When the stream ends, **lost** events are the holes below the highest `seq`
//! (a later event proves they exist), and a stream with no terminal event is a
//! **missing terminal**: the order's end was lost, or never came before the
//! drain timed out.

/// The largest `seq` the check tracks.
pub const MAX_SEQ: u32 = 128;

/// One order's stream so far.
#[derive(Debug, Default, Clone)]
pub struct SeqCheck {
    seen: u128,
    highest: u32,
    terminal: Option<u32>,
    findings: Findings,
}

/// What was wrong with one or many streams (they add up).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Findings {
    /// Events received.
    #[serde(rename = "received")]
    pub events: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub out_of_order: u64,
    pub after_terminal: u64,
    pub invalid: u64,
    pub missing_terminal: u64,
}

impl Findings {
    pub fn add(&mut self, other: &Self) {
        self.events += other.events;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.out_of_order += other.out_of_order;
        self.after_terminal += other.after_terminal;
        self.invalid += other.invalid;
        self.missing_terminal += other.missing_terminal;
    }

    /// Whether anything broke the contract.
    pub fn any_loss(&self) -> bool {
        self.lost + self.duplicated + self.out_of_order + self.after_terminal + self.invalid + self.missing_terminal > 0
    }
}

/// How one arrival was classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// A `seq` not seen before (possibly out of order or after the terminal).
    New,
    /// The first terminal event.
    Terminal,
    Duplicate,
    Invalid,
}

impl SeqCheck {
    /// Records one event.
    pub fn observe(&mut self, seq: u32, terminal: bool) -> Arrival {
        self.findings.events += 1;
        if seq == 0 || seq > MAX_SEQ {
            self.findings.invalid += 1;
            return Arrival::Invalid;
        }
        let bit = 1u128 << (seq - 1);
        if self.seen & bit != 0 {
            self.findings.duplicated += 1;
            return Arrival::Duplicate;
        }
        if seq < self.highest {
            self.findings.out_of_order += 1;
        }
        if self.terminal.is_some() {
            self.findings.after_terminal += 1;
        }
        self.seen |= bit;
        self.highest = self.highest.max(seq);
        if terminal && self.terminal.is_none() {
            // Events with a higher seq that came before it should have come after.
            self.findings.after_terminal += u64::from(self.seen.checked_shr(seq).unwrap_or(0).count_ones());
            self.terminal = Some(seq);
            return Arrival::Terminal;
        }
        Arrival::New
    }

    /// The highest `seq` received: where a reconnect resumes (`fromSeq`).
    pub const fn highest(&self) -> u32 {
        self.highest
    }

    /// Whether the terminal event has arrived.
    pub const fn finished(&self) -> bool {
        self.terminal.is_some()
    }

    /// The findings once the stream is over: holes below the highest `seq`
    /// count as lost, and a stream without its terminal event as missing one.
    pub fn conclude(&self) -> Findings {
        let mut findings = self.findings;
        findings.lost = u64::from(self.highest - self.seen.count_ones());
        findings.missing_terminal = u64::from(self.terminal.is_none());
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(events: &[(u32, bool)]) -> Findings {
        let mut check = SeqCheck::default();
        for &(seq, terminal) in events {
            check.observe(seq, terminal);
        }
        check.conclude()
    }

    #[test]
    fn a_whole_stream_is_clean() {
        let f = run(&[(1, false), (2, false), (3, false), (4, false), (5, true)]);
        assert_eq!(f, Findings { events: 5, ..Findings::default() });
        assert!(!f.any_loss());
    }

    #[test]
    fn a_gap_is_lost_events() {
        let f = run(&[(1, false), (2, false), (5, true)]);
        assert_eq!(f.lost, 2);
        assert_eq!(f.out_of_order, 0);
        assert!(f.any_loss());
    }

    #[test]
    fn a_repeat_is_a_duplicate() {
        let f = run(&[(1, false), (2, false), (2, false), (3, true)]);
        assert_eq!((f.duplicated, f.lost, f.events), (1, 0, 4));
        let mut check = SeqCheck::default();
        check.observe(1, false);
        assert_eq!(check.observe(1, false), Arrival::Duplicate);
    }

    #[test]
    fn a_late_lower_seq_is_out_of_order_not_lost() {
        let f = run(&[(1, false), (3, false), (2, false), (4, true)]);
        assert_eq!((f.out_of_order, f.lost, f.duplicated), (1, 0, 0));
    }

    #[test]
    fn a_stream_without_its_terminal_event_is_missing_it() {
        let f = run(&[(1, false), (2, false), (3, false)]);
        assert_eq!((f.missing_terminal, f.lost), (1, 0));
        assert_eq!(run(&[]).missing_terminal, 1);
    }

    #[test]
    fn the_terminal_event_must_be_last() {
        // Something after the terminal event.
        let f = run(&[(1, false), (2, true), (3, false)]);
        assert_eq!(f.after_terminal, 1);
        // A terminal event with a lower seq than one already received.
        let f = run(&[(1, false), (3, false), (2, true)]);
        assert_eq!((f.after_terminal, f.out_of_order), (1, 1));
        // A second terminal event.
        let mut check = SeqCheck::default();
        assert_eq!(check.observe(1, false), Arrival::New);
        assert_eq!(check.observe(2, true), Arrival::Terminal);
        assert_eq!(check.observe(3, true), Arrival::New);
        assert_eq!(check.conclude().after_terminal, 1);
        assert!(check.finished());
    }

    #[test]
    fn seq_zero_and_beyond_the_set_are_invalid() {
        let f = run(&[(0, false), (1, false), (MAX_SEQ + 1, false), (2, true)]);
        assert_eq!((f.invalid, f.lost, f.events), (2, 0, 4));
        let f = run(&[(1, false), (MAX_SEQ, true)]);
        assert_eq!(f.lost, u64::from(MAX_SEQ - 2));
    }

    #[test]
    fn resuming_from_the_highest_seq() {
        let mut check = SeqCheck::default();
        check.observe(1, false);
        check.observe(2, false);
        assert_eq!(check.highest(), 2);
        // A reconnect with fromSeq=2 that replays 2 again is caught.
        assert_eq!(check.observe(2, false), Arrival::Duplicate);
    }

    #[test]
    fn findings_add_up() {
        let mut total = Findings::default();
        total.add(&run(&[(1, false), (3, true)]));
        total.add(&run(&[(1, false), (1, false)]));
        assert_eq!((total.events, total.lost, total.duplicated, total.missing_terminal), (4, 1, 1, 1));
    }
}
