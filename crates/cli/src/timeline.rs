//! An order's status events as lines for people: one per event, with the
//! attempt, the time the step took and what it produced.
//!
//! ```text
//! pending
//! routing    attempt 1    +7ms
//! building   attempt 1  +227ms  meteora: 1.5 SOL → 231.402117 USDC, min out 230.245106 USDC
//! submitted  attempt 1    +1ms  tx 45ZBRH…
//! confirmed  attempt 1  +2.96s  231.402117 USDC at 154.268078 on meteora
//! ```
//!
//! A step's time is the gap between its event's `at` and the previous
//! event's: the time the engine spent getting from one status to the next.

use crate::style::{Ink, Style};
use chrono::{DateTime, TimeDelta, Utc};
use oee_domain::event::ReceivedEvent;
use oee_domain::{OrderStatus, RouteRecord};

/// The names amounts are labelled with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tokens {
    pub token_in: Option<String>,
    pub token_out: Option<String>,
}

impl Tokens {
    /// Labels from the names a user typed: symbols (any case) in capitals,
    /// mints as they are.
    pub fn typed(token_in: &str, token_out: &str) -> Self {
        Self { token_in: Some(symbol_case(token_in)), token_out: Some(symbol_case(token_out)) }
    }
}

/// A symbol in capitals; anything longer than a symbol (a mint) unchanged,
/// since mints are case-sensitive.
pub fn symbol_case(name: &str) -> String {
    if name.len() <= 16 && name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        name.to_ascii_uppercase()
    } else {
        name.to_owned()
    }
}

/// Renders one order's events in order, remembering the previous one's time.
#[derive(Debug)]
pub struct Timeline {
    style: Style,
    tokens: Tokens,
    previous: Option<DateTime<Utc>>,
}

impl Timeline {
    pub const fn new(style: Style, tokens: Tokens) -> Self {
        Self { style, tokens, previous: None }
    }

    /// The line for the next event.
    pub fn line(&mut self, event: &ReceivedEvent) -> String {
        let elapsed = self.previous.map(|previous| elapsed(event.at - previous)).unwrap_or_default();
        self.previous = Some(event.at);
        let attempt = event.attempt.or(event.attempts).map(|n| format!("attempt {n}")).unwrap_or_default();
        let status = self.style.paint(ink(event.status), format!("{:<9}", event.status.as_str()));
        let timing = self.style.paint(Ink::Faint, format!("{elapsed:>7}"));
        let line = format!("{status}  {attempt:<9}  {timing}  {}", self.detail(event));
        line.trim_end().to_owned()
    }

    fn detail(&self, event: &ReceivedEvent) -> String {
        let style = self.style;
        let out = self.tokens.token_out.as_deref();
        match event.status {
            OrderStatus::Pending | OrderStatus::Cancelled => String::new(),
            OrderStatus::Routing => match (&event.last_error, &event.trigger) {
                (Some(error), _) => format!("retrying after {}: {}", style.paint(Ink::Bad, error.code), error.message),
                (None, Some(trigger)) => {
                    format!("fired at {} (slot {})", self.per(&trigger.price, false), trigger.slot)
                }
                (None, None) => String::new(),
            },
            OrderStatus::Open => {
                let min = event.min_amount_out.as_deref().map(|m| format!("min out {}", amount(m, out)));
                let cap = event.max_price.as_deref().map(|p| format!("max price {}", self.per(p, true)));
                let until = event.expires_at.map(|at| format!("until {}", oee_domain::format_time(at)));
                let again = event
                    .last_error
                    .as_ref()
                    .map(|e| format!("again after {}: {}", style.paint(Ink::Bad, e.code), e.message));
                [min, cap, until, again].into_iter().flatten().collect::<Vec<_>>().join(", ")
            }
            OrderStatus::Expired => {
                event.expires_at.map(|at| format!("at {}", oee_domain::format_time(at))).unwrap_or_default()
            }
            OrderStatus::Building => event.route.as_ref().map(|route| self.route(route)).unwrap_or_default(),
            OrderStatus::Submitted => event.tx_hash.as_ref().map(|tx| format!("tx {tx}")).unwrap_or_default(),
            OrderStatus::Confirmed => {
                let received = event.amount_out.as_deref().map(|a| style.paint(Ink::Good, amount(a, out)));
                let mut words = vec![received.unwrap_or_default()];
                if let Some(price) = &event.executed_price {
                    words.push(format!("at {price}"));
                }
                if let Some(dex) = &event.dex {
                    words.push(format!("on {dex}"));
                }
                words.join(" ").trim().to_owned()
            }
            OrderStatus::Failed => match &event.error {
                Some(error) => format!("{}: {}", style.paint(Ink::Bad, error.code), error.message),
                None => String::new(),
            },
        }
    }

    /// A price with its unit where both tokens are named: `154.27 USDC per
    /// SOL` (tokenOut per tokenIn, as triggers are), or with `inverse` `0.0065
    /// SOL per USDC` (tokenIn per tokenOut, as a sniper's cap is).
    fn per(&self, price: &str, inverse: bool) -> String {
        match (self.tokens.token_in.as_deref(), self.tokens.token_out.as_deref()) {
            (Some(token_in), Some(token_out)) if inverse => format!("{price} {token_in} per {token_out}"),
            (Some(token_in), Some(token_out)) => format!("{price} {token_out} per {token_in}"),
            _ => price.to_owned(),
        }
    }

    /// `meteora: 1.5 SOL → 231.4 USDC, min out 230.2 USDC`, or for a split
    /// `split: meteora 60% 0.9 SOL → 138.8 USDC + raydium 40% …, min out …`.
    fn route(&self, route: &RouteRecord) -> String {
        let (token_in, token_out) = (self.tokens.token_in.as_deref(), self.tokens.token_out.as_deref());
        let legs: Vec<String> = route
            .legs
            .iter()
            .map(|leg| {
                let share = if route.legs.len() > 1 { format!(" {}", percent(leg.share_bps)) } else { String::new() };
                let dex = if route.legs.len() > 1 { format!("{}{share} ", leg.dex) } else { String::new() };
                format!("{dex}{} → {}", amount(&leg.amount_in, token_in), amount(&leg.amount_out, token_out))
            })
            .collect();
        format!("{}: {}, min out {}", route.dex, legs.join(" + "), amount(&route.min_amount_out, token_out))
    }
}

/// The colour of a status.
pub const fn ink(status: OrderStatus) -> Ink {
    match status {
        OrderStatus::Pending | OrderStatus::Cancelled | OrderStatus::Expired => Ink::Faint,
        OrderStatus::Routing | OrderStatus::Building => Ink::Busy,
        OrderStatus::Submitted | OrderStatus::Open => Ink::Waiting,
        OrderStatus::Confirmed => Ink::Good,
        OrderStatus::Failed => Ink::Bad,
    }
}

/// `231.402117 USDC`, or the bare figure without a label.
pub fn amount(value: &str, token: Option<&str>) -> String {
    match token {
        Some(token) => format!("{value} {token}"),
        None => value.to_owned(),
    }
}

/// Basis points as a percentage, exactly: 6000 → `60%`, 3333 → `33.33%`, 50 → `0.5%`.
pub fn percent(bps: u32) -> String {
    let (whole, hundredths) = (bps / 100, bps % 100);
    match hundredths {
        0 => format!("{whole}%"),
        h if h % 10 == 0 => format!("{whole}.{}%", h / 10),
        h => format!("{whole}.{h:02}%"),
    }
}

/// `+7ms`, `+2.96s`, `+1m05s`; a negative gap (clocks of two replicas) as `+0ms`.
fn elapsed(gap: TimeDelta) -> String {
    let ms = gap.num_milliseconds().max(0);
    match ms {
        0..1_000 => format!("+{ms}ms"),
        1_000..60_000 => format!("+{}.{:02}s", ms / 1_000, ms % 1_000 / 10),
        _ => format!("+{}m{:02}s", ms / 60_000, ms % 60_000 / 1_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> ReceivedEvent {
        ReceivedEvent::parse(json).expect("an event")
    }

    const ID: &str = r#""orderId":"0193b0c4-0000-7000-8000-000000000001""#;

    /// A confirmed order reads one line per status, with step times and the
    /// detail of each step.
    #[test]
    fn a_confirmed_order() {
        let route = r#"{"dex":"meteora","legs":[{"dex":"meteora","amountIn":"1.5","amountOut":"231.402117","shareBps":10000}],
            "quotes":[],"minAmountOut":"230.245106","wrapSol":true,"unwrapSol":false,"reason":"best"}"#;
        let events = [
            format!(r#"{{{ID},"seq":1,"status":"pending","at":"2026-11-21T10:00:00.000Z"}}"#),
            format!(r#"{{{ID},"seq":2,"status":"routing","at":"2026-11-21T10:00:00.007Z","attempt":1}}"#),
            format!(
                r#"{{{ID},"seq":3,"status":"building","at":"2026-11-21T10:00:00.234Z","attempt":1,"route":{route}}}"#
            ),
            format!(
                r#"{{{ID},"seq":4,"status":"submitted","at":"2026-11-21T10:00:00.235Z","attempt":1,"txHash":"45ZB"}}"#
            ),
            format!(
                r#"{{{ID},"seq":5,"status":"confirmed","at":"2026-11-21T10:00:03.197Z","attempt":1,"txHash":"45ZB",
                "dex":"meteora","executedPrice":"154.268078","amountOut":"231.402117"}}"#
            ),
        ];
        let mut timeline = Timeline::new(Style::plain(), Tokens::typed("sol", "usdc"));
        let lines: Vec<String> = events.iter().map(|e| timeline.line(&event(e))).collect();
        assert_eq!(
            lines,
            [
                "pending",
                "routing    attempt 1     +7ms",
                "building   attempt 1   +227ms  meteora: 1.5 SOL → 231.402117 USDC, min out 230.245106 USDC",
                "submitted  attempt 1     +1ms  tx 45ZB",
                "confirmed  attempt 1   +2.96s  231.402117 USDC at 154.268078 on meteora",
            ]
        );
    }

    /// A retry says why; a split names each leg's share; a failure its code.
    #[test]
    fn retries_splits_and_failures() {
        let mut timeline = Timeline::new(Style::plain(), Tokens::default());
        let retry = event(&format!(
            r#"{{{ID},"seq":5,"status":"routing","at":"2026-11-21T10:00:00.000Z","attempt":2,
            "lastError":{{"code":"BLOCKHASH_EXPIRED","message":"expired"}}}}"#
        ));
        assert_eq!(timeline.line(&retry), "routing    attempt 2           retrying after BLOCKHASH_EXPIRED: expired");
        let split = event(&format!(
            r#"{{{ID},"seq":6,"status":"building","at":"2026-11-21T10:01:05.000Z","attempt":2,"route":{{"dex":"split",
            "legs":[{{"dex":"meteora","amountIn":"60","amountOut":"9.1","shareBps":6000}},
                    {{"dex":"raydium","amountIn":"40","amountOut":"6","shareBps":4000}}],
            "quotes":[],"minAmountOut":"15","wrapSol":false,"unwrapSol":true,"reason":"split"}}}}"#
        ));
        assert_eq!(
            timeline.line(&split),
            "building   attempt 2   +1m05s  split: meteora 60% 60 → 9.1 + raydium 40% 40 → 6, min out 15"
        );
        let failed = event(&format!(
            r#"{{{ID},"seq":7,"status":"failed","at":"2026-11-21T10:01:04.000Z","attempts":3,
            "error":{{"code":"RETRIES_EXHAUSTED","message":"gave up after 3 attempts"}}}}"#
        ));
        assert_eq!(
            timeline.line(&failed),
            "failed     attempt 3     +0ms  RETRIES_EXHAUSTED: gave up after 3 attempts"
        );
    }

    /// A sniper's `open` gives its cap (tokenIn per tokenOut) and expiry, and
    /// no minimum while its token is unknown; its trigger the price it found
    /// (tokenOut per tokenIn) and the slot.
    #[test]
    fn a_sniper_rests_then_fires() {
        let mut timeline = Timeline::new(Style::plain(), Tokens::typed("sol", "pepe"));
        let open = event(&format!(
            r#"{{{ID},"seq":2,"status":"open","at":"2026-11-21T10:00:00.000Z","expiresAt":"2026-11-22T10:00:00.000Z",
            "maxPrice":"0.000001"}}"#
        ));
        assert_eq!(
            timeline.line(&open),
            "open                           max price 0.000001 SOL per PEPE, until 2026-11-22T10:00:00.000Z"
        );
        let fired = event(&format!(
            r#"{{{ID},"seq":3,"status":"routing","at":"2026-11-21T10:00:05.250Z","attempt":1,
            "trigger":{{"slot":12,"price":"1990000"}}}}"#
        ));
        assert_eq!(timeline.line(&fired), "routing    attempt 1   +5.25s  fired at 1990000 PEPE per SOL (slot 12)");
    }

    /// Percentages are exact and short.
    #[test]
    fn percentages() {
        assert_eq!([6000, 3333, 50, 10_000, 1].map(percent), ["60%", "33.33%", "0.5%", "100%", "0.01%"]);
    }

    /// Symbols are capitalised, mints kept as they are.
    #[test]
    fn token_labels() {
        assert_eq!(symbol_case("usdc"), "USDC");
        let mint = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
        assert_eq!(symbol_case(mint), mint);
    }
}
