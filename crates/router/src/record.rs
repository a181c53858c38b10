//! *Rendering* a chosen route as the record the contract shows: amounts as
//! decimal text, each venue's quote, and the reason in words.

use crate::router::PlannedLeg;
use crate::search::BPS;
use crate::venue::{Quote, VenueError};
use oee_domain::{LegRecord, OrderSpec, QuoteRecord, RouteRecord, format_ratio, format_units};
use std::fmt;

/// The record of a route: its legs, every quote (best first), the bound, and
/// why it was chosen.
pub fn render(
    spec: &OrderSpec,
    legs: &[PlannedLeg],
    quotes: &[Quote],
    refusals: &[VenueError],
    split_gain: Option<u64>,
    min_out: u64,
) -> RouteRecord {
    let out = |atoms: u64| format_units(u128::from(atoms), spec.token_out.decimals);
    let inp = |atoms: u64| format_units(u128::from(atoms), spec.token_in.decimals);
    let symbol_out = &spec.token_out.symbol;
    let best = &quotes[0];
    let share = |amount: u64| u32::try_from(u128::from(amount) * BPS / u128::from(spec.amount_in.max(1))).unwrap_or(0);
    let reason = match (split_gain, quotes.get(1)) {
        (Some(gain), _) => {
            let parts: Vec<String> =
                legs.iter().map(|l| format!("{} {}", Percent(u128::from(share(l.amount_in))), l.dex)).collect();
            format!(
                "split {} returns {} more {symbol_out} than {} alone",
                parts.join(" / "),
                Percent(gain_bps(best.amount_out + gain, best.amount_out)),
                best.dex
            )
        }
        (None, Some(second)) if second.amount_out == best.amount_out => {
            format!("{} and {} quote the same {symbol_out}; {} has the lower fee", best.dex, second.dex, best.dex)
        }
        (None, Some(second)) => format!(
            "{} returns {} more {symbol_out} than {}",
            best.dex,
            Percent(gain_bps(best.amount_out, second.amount_out)),
            second.dex
        ),
        (None, None) => match refusals.first() {
            Some(e) => format!("only {} could quote: {e}", best.dex),
            None => format!("only {} lists {}/{symbol_out}", best.dex, spec.token_in.symbol),
        },
    };
    RouteRecord {
        dex: match legs {
            [one] => one.dex.as_str().to_owned(),
            _ => "split".to_owned(),
        },
        legs: legs
            .iter()
            .map(|l| LegRecord {
                dex: l.dex,
                amount_in: inp(l.amount_in),
                amount_out: out(l.expected_out),
                share_bps: share(l.amount_in),
            })
            .collect(),
        quotes: quotes
            .iter()
            .map(|q| QuoteRecord {
                dex: q.dex,
                amount_out: out(q.amount_out),
                fee: inp(q.fee),
                price_impact_bps: q.price_impact_bps,
                price: price(spec, q.amount_in, q.amount_out),
            })
            .collect(),
        min_amount_out: out(min_out),
        wrap_sol: spec.token_in.native,
        unwrap_sol: spec.token_out.native,
        reason,
    }
}

/// The price `amount_out / amount_in` in whole units of each token.
pub fn price(spec: &OrderSpec, amount_in: u64, amount_out: u64) -> String {
    let num = u128::from(amount_out) * 10u128.pow(u32::from(spec.token_in.decimals));
    let den = u128::from(amount_in) * 10u128.pow(u32::from(spec.token_out.decimals));
    format_ratio(num, den, 9)
}

/// Basis points as a percentage with two decimals: 100 → `1.00%`.
struct Percent(u128);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}%", self.0 / 100, self.0 % 100)
    }
}

fn gain_bps(better: u64, worse: u64) -> u128 {
    u128::from(better.saturating_sub(worse)) * BPS / u128::from(worse.max(1))
}
