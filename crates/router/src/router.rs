//! Route choice: quote every venue that lists the pair, at the same time, and take
//! the one that returns the most output net of fees.

use crate::venue::{Execution, Quote, QuoteRequest, SwapRequest, Venue, VenueError};
use futures::future::join_all;
use oee_domain::{Dex, FailureCode, LegRecord, OrderSpec, QuoteRecord, RouteRecord, format_ratio, format_units};
use sha2::{Digest, Sha512};
use std::fmt;
use std::sync::Arc;
use uuid::Uuid;

const BPS: u128 = 10_000;

/// Routes orders across a set of venues.
#[derive(Debug, Clone)]
pub struct Router {
    venues: Arc<[Arc<dyn Venue>]>,
}

/// A chosen route with the integer amounts it executes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePlan {
    pub dex: Dex,
    pub amount_in: u64,
    /// The chosen quote's output.
    pub expected_out: u64,
    /// The least output the swap may return: `expected_out` less the slippage tolerance.
    pub min_amount_out: u64,
    pub quotes: Vec<Quote>,
    /// The record stored on the order and sent in the `building` event.
    pub record: RouteRecord,
}

/// Why no route could be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("no venue lists {0}")]
    NoRoute(String),
    /// Every venue that lists the pair refused; the most actionable error is kept.
    #[error(transparent)]
    Venue(#[from] VenueError),
}

impl RouteError {
    pub const fn is_transient(&self) -> bool {
        matches!(self, Self::Venue(e) if e.is_transient())
    }

    pub const fn failure_code(&self) -> FailureCode {
        match self {
            Self::NoRoute(_) => FailureCode::NoRoute,
            Self::Venue(e) => e.failure_code(),
        }
    }
}

impl Router {
    pub fn new(venues: Vec<Arc<dyn Venue>>) -> Self {
        Self { venues: venues.into() }
    }

    /// Whether any venue lists the pair (in either direction).
    pub fn has_route(&self, mint_in: &str, mint_out: &str) -> bool {
        self.venues.iter().any(|v| v.lists(mint_in, mint_out))
    }

    fn venue(&self, dex: Dex) -> Option<&Arc<dyn Venue>> {
        self.venues.iter().find(|v| v.dex() == dex)
    }

    /// Quotes every listing venue concurrently and picks the best output.
    pub async fn route(&self, spec: &OrderSpec) -> Result<RoutePlan, RouteError> {
        let (mint_in, mint_out) = (spec.token_in.mint.as_str(), spec.token_out.mint.as_str());
        let listing: Vec<_> = self.venues.iter().filter(|v| v.lists(mint_in, mint_out)).collect();
        if listing.is_empty() {
            return Err(RouteError::NoRoute(format!("{}/{}", spec.token_in.symbol, spec.token_out.symbol)));
        }
        let request = QuoteRequest { mint_in, mint_out, amount_in: spec.amount_in };
        let answers = join_all(listing.iter().map(|v| v.quote(&request))).await;

        let mut quotes = Vec::new();
        let mut refusals = Vec::new();
        for answer in answers {
            match answer {
                Ok(q) => quotes.push(q),
                Err(e) => refusals.push(e),
            }
        }
        // Best output first; ties go to the lower fee, then to a fixed venue order.
        quotes.sort_by(|a, b| b.amount_out.cmp(&a.amount_out).then(a.fee.cmp(&b.fee)).then(a.dex.cmp(&b.dex)));
        let Some(best) = quotes.first().copied() else {
            // Prefer a permanent reason (e.g. liquidity) over a transient one: retrying
            // cannot fix the former, and the client should learn it at once.
            refusals.sort_by_key(VenueError::is_transient);
            return Err(refusals
                .into_iter()
                .next()
                .map_or_else(|| RouteError::NoRoute(String::new()), RouteError::Venue));
        };
        let min_amount_out =
            u64::try_from(u128::from(best.amount_out) * (BPS - u128::from(spec.slippage_bps)) / BPS).unwrap_or(0);
        let record = render(spec, &quotes, &refusals, best, min_amount_out);
        Ok(RoutePlan {
            dex: best.dex,
            amount_in: spec.amount_in,
            expected_out: best.amount_out,
            min_amount_out,
            quotes,
            record,
        })
    }

    /// Sends the planned swap as transaction `tx_id`.
    pub async fn execute(&self, spec: &OrderSpec, plan: &RoutePlan, tx_id: &str) -> Result<Execution, VenueError> {
        let venue = self.venue(plan.dex).ok_or(VenueError::NoPool { dex: plan.dex })?;
        venue
            .execute(&SwapRequest {
                tx_id,
                mint_in: &spec.token_in.mint,
                mint_out: &spec.token_out.mint,
                amount_in: plan.amount_in,
                min_amount_out: plan.min_amount_out,
            })
            .await
    }

    /// Whether transaction `tx_id` landed on any venue.
    pub async fn landed(&self, tx_id: &str) -> Result<Option<Execution>, VenueError> {
        for venue in self.venues.iter() {
            if let Some(done) = venue.landed(tx_id).await? {
                return Ok(Some(done));
            }
        }
        Ok(None)
    }
}

/// The transaction id of an order's attempt: deterministic, so the same attempt
/// sent twice is the same transaction, and shaped like a Solana signature
/// (64 bytes, base58).
pub fn transaction_id(order_id: Uuid, attempt: u32) -> String {
    let mut hasher = Sha512::new();
    hasher.update(b"oee/tx/v1");
    hasher.update(order_id.as_bytes());
    hasher.update(attempt.to_be_bytes());
    bs58::encode(hasher.finalize()).into_string()
}

/// The price `amount_out / amount_in` in whole units of each token.
pub fn price(spec: &OrderSpec, amount_in: u64, amount_out: u64) -> String {
    let num = u128::from(amount_out) * 10u128.pow(u32::from(spec.token_in.decimals));
    let den = u128::from(amount_in) * 10u128.pow(u32::from(spec.token_out.decimals));
    format_ratio(num, den, 9)
}

struct Percent(u128);

impl fmt::Display for Percent {
    /// Basis points as a percentage with two decimals: 100 → `1.00%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}%", self.0 / 100, self.0 % 100)
    }
}

fn render(spec: &OrderSpec, quotes: &[Quote], refusals: &[VenueError], best: Quote, min_out: u64) -> RouteRecord {
    let out = |atoms: u64| format_units(u128::from(atoms), spec.token_out.decimals);
    let inp = |atoms: u64| format_units(u128::from(atoms), spec.token_in.decimals);
    let symbol_out = &spec.token_out.symbol;
    let reason = match quotes.get(1) {
        Some(second) if second.amount_out == best.amount_out => {
            format!("{} and {} quote the same {symbol_out}; {} has the lower fee", best.dex, second.dex, best.dex)
        }
        Some(second) => {
            let gain_bps =
                (u128::from(best.amount_out - second.amount_out)) * BPS / u128::from(second.amount_out.max(1));
            format!("{} returns {} more {symbol_out} than {}", best.dex, Percent(gain_bps), second.dex)
        }
        None => match refusals.first() {
            Some(e) => format!("only {} quoted: {e}", best.dex),
            None => format!("only {} lists {}/{symbol_out}", best.dex, spec.token_in.symbol),
        },
    };
    RouteRecord {
        dex: best.dex.as_str().to_owned(),
        legs: vec![LegRecord { dex: best.dex, amount_in: inp(best.amount_in), amount_out: out(best.amount_out) }],
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
