//! The orders a run sends: which pairs, how much, serialized once.
//!
//! The default mix trades every pair both venues list (crates/router's market),
//! in both directions, for a dollar or two each, so that orders spread over all
//! the pools instead of queueing on one pool's lock, and so that a swap moves a
//! pool too little for slippage to fail. Bodies are built once, up front: an
//! HTTP submit clones a reference-counted buffer, and a submit-socket message
//! only prepends its `clientRef`.

use super::UsageError;
use bytes::Bytes;

/// The pairs both simulated venues list, as `(base, quote)`.
pub(crate) const LISTED_PAIRS: &[(&str, &str)] =
    &[("SOL", "USDC"), ("SOL", "USDT"), ("USDC", "USDT"), ("BONK", "SOL"), ("JUP", "USDC"), ("RAY", "SOL")];

/// A small amount of each listed token, worth one to two dollars.
const SMALL_AMOUNTS: &[(&str, &str)] =
    &[("SOL", "0.01"), ("USDC", "1"), ("USDT", "1"), ("BONK", "100000"), ("JUP", "2"), ("RAY", "1")];

/// One `--pairs` entry: `IN/OUT[:AMOUNT]`, or `mix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairSpec {
    Mix,
    Pair { token_in: String, token_out: String, amount: Option<String> },
}

impl PairSpec {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("mix") {
            return Ok(Self::Mix);
        }
        let (pair, amount) = match text.split_once(':') {
            Some((pair, amount)) => (pair, Some(amount.trim().to_owned())),
            None => (text, None),
        };
        let (token_in, token_out) = pair
            .split_once('/')
            .map(|(a, b)| (a.trim(), b.trim()))
            .filter(|(a, b)| !a.is_empty() && !b.is_empty())
            .ok_or_else(|| format!("{text:?} is not IN/OUT[:AMOUNT], e.g. SOL/USDC:0.01, or mix"))?;
        if amount.as_deref().is_some_and(str::is_empty) {
            return Err(format!("{text:?} has an empty amount"));
        }
        Ok(Self::Pair { token_in: token_in.to_owned(), token_out: token_out.to_owned(), amount })
    }
}

/// One order body, ready to send.
#[derive(Debug, Clone)]
pub struct OrderBody {
    /// `IN/OUT:AMOUNT`, for the report.
    pub name: String,
    /// The JSON body of a POST.
    pub json: Bytes,
    /// The body without its opening brace, so a socket message is
    /// `{"clientRef":N,` followed by this.
    tail: String,
}

impl OrderBody {
    fn new(token_in: &str, token_out: &str, amount: &str, slippage_bps: u32, user_id: &str) -> Self {
        let json = serde_json::json!({
            "tokenIn": token_in,
            "tokenOut": token_out,
            "amountIn": amount,
            "slippageBps": slippage_bps,
            "userId": user_id,
        })
        .to_string();
        let tail = json.strip_prefix('{').unwrap_or(&json).to_owned();
        Self { name: format!("{token_in}/{token_out}:{amount}"), json: Bytes::from(json), tail }
    }

    /// The submit-socket message for order `client_ref`.
    pub fn message(&self, client_ref: u64) -> String {
        format!("{{\"clientRef\":{client_ref},{}", self.tail)
    }
}

/// The bodies orders rotate through.
#[derive(Debug)]
pub struct OrderMix {
    bodies: Vec<OrderBody>,
}

impl OrderMix {
    pub fn new(specs: &[PairSpec], slippage_bps: u32, user_id: &str) -> Result<Self, UsageError> {
        let mut bodies = Vec::new();
        for spec in specs {
            match spec {
                PairSpec::Mix => {
                    for &(base, quote) in LISTED_PAIRS {
                        for (token_in, token_out) in [(base, quote), (quote, base)] {
                            let amount = small_amount(token_in).unwrap_or("1");
                            bodies.push(OrderBody::new(token_in, token_out, amount, slippage_bps, user_id));
                        }
                    }
                }
                PairSpec::Pair { token_in, token_out, amount } => {
                    let amount = match amount.as_deref() {
                        Some(amount) => amount,
                        None => small_amount(token_in).ok_or_else(|| {
                            UsageError(format!(
                                "--pairs: no default amount for {token_in}; give one, e.g. {token_in}/{token_out}:1"
                            ))
                        })?,
                    };
                    bodies.push(OrderBody::new(token_in, token_out, amount, slippage_bps, user_id));
                }
            }
        }
        if bodies.is_empty() {
            return Err(UsageError("--pairs names no pair".into()));
        }
        Ok(Self { bodies })
    }

    /// The body of order `index`.
    pub fn body(&self, index: u64) -> &OrderBody {
        let i = usize::try_from(index % self.bodies.len() as u64).unwrap_or(0);
        &self.bodies[i]
    }

    pub fn names(&self) -> Vec<String> {
        self.bodies.iter().map(|b| b.name.clone()).collect()
    }
}

pub(crate) fn small_amount(symbol: &str) -> Option<&'static str> {
    SMALL_AMOUNTS.iter().find(|(s, _)| s.eq_ignore_ascii_case(symbol)).map(|&(_, amount)| amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_mix_trades_every_listed_pair_both_ways() {
        let mix = OrderMix::new(&[PairSpec::Mix], 100, "bench").expect("mix");
        let names = mix.names();
        assert_eq!(names.len(), 12);
        assert!(names.contains(&"SOL/USDC:0.01".to_owned()));
        assert!(names.contains(&"USDC/SOL:1".to_owned()));
        assert!(names.contains(&"SOL/BONK:0.01".to_owned()));
        assert_eq!(mix.body(0).name, mix.body(12).name);
    }

    #[test]
    fn pairs_take_an_amount_or_the_default() {
        assert_eq!(
            PairSpec::parse("sol/usdc:0.5"),
            Ok(PairSpec::Pair { token_in: "sol".into(), token_out: "usdc".into(), amount: Some("0.5".into()) })
        );
        assert!(PairSpec::parse("SOL").is_err());
        assert!(PairSpec::parse("SOL/").is_err());
        assert!(PairSpec::parse("SOL/USDC:").is_err());
        let spec = PairSpec::parse("WIF/USDC").expect("parses");
        assert!(OrderMix::new(&[spec], 50, "u").is_err(), "no default amount for an unknown token");
        let mix = OrderMix::new(&[PairSpec::parse("sol/usdc").expect("parses")], 50, "u").expect("mix");
        assert_eq!(mix.body(7).name, "sol/usdc:0.01");
    }

    #[test]
    fn bodies_are_the_post_json_and_messages_add_a_client_ref() {
        let mix = OrderMix::new(&[PairSpec::parse("SOL/USDC:1.5").expect("parses")], 75, "alice").expect("mix");
        let body = mix.body(0);
        let post: serde_json::Value = serde_json::from_slice(&body.json).expect("json");
        assert_eq!(
            post,
            serde_json::json!({"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5","slippageBps":75,"userId":"alice"})
        );
        let message: serde_json::Value = serde_json::from_str(&body.message(42)).expect("json");
        assert_eq!(message["clientRef"], 42);
        assert_eq!(message["amountIn"], "1.5");
    }
}
