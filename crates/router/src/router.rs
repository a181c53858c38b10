//! The router: fetch every listing venue's pool at once, quote the whole order on
//! each, [search](crate::search) for the best venue or split, and
//! [render](crate::record) the decision; then [build](crate::transaction) each
//! attempt's transaction and send it through the [`Network`]. A split is taken
//! only when it returns strictly more than the best single venue, so the chosen
//! route is never worse than any single venue.
//!
//! Choosing a route over pools already in hand is [`plan`], a pure function:
//! the worker calls it (through [`Router::route`]) on the pools it just fetched,
//! and the API's quotes call it on its snapshot of the same pools, so a quote is
//! exactly the route an order submitted then would take.

use crate::chain::{Receipt, Transaction};
use crate::network::Network;
use crate::venue::{Market, Quote, Venue, VenueError};
use crate::{record, search};
use futures::future::join_all;
use oee_domain::{Dex, FailureCode, OrderSpec, RouteRecord};
use std::sync::Arc;

/// Routes orders across a set of venues and executes them on the network.
#[derive(Debug, Clone)]
pub struct Router {
    venues: Arc<[Arc<dyn Venue>]>,
    network: Arc<dyn Network>,
}

/// One leg of a planned route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedLeg {
    pub dex: Dex,
    pub pool_id: String,
    pub amount_in: u64,
    pub expected_out: u64,
    /// How far this leg's execution price is below its pool's spot price.
    pub price_impact_bps: u32,
}

/// A chosen route with the integer amounts it executes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePlan {
    pub legs: Vec<PlannedLeg>,
    pub amount_in: u64,
    pub expected_out: u64,
    /// The least total output: `expected_out` less the slippage tolerance.
    pub min_amount_out: u64,
    /// Each venue's quote for the whole order.
    pub quotes: Vec<Quote>,
    /// The record stored on the order and sent in the `building` event.
    pub record: RouteRecord,
}

impl RoutePlan {
    /// `raydium`, `meteora` or `split`.
    pub fn label(&self) -> &'static str {
        match self.legs.as_slice() {
            [one] => one.dex.as_str(),
            _ => "split",
        }
    }

    /// The price impact of the whole route: the one venue's, or for a split the
    /// mean of its legs' impacts weighted by the input each leg takes, rounded
    /// up (a quote never understates how far the route moves the price).
    pub fn price_impact_bps(&self) -> u32 {
        let weighted: u128 = self.legs.iter().map(|l| u128::from(l.price_impact_bps) * u128::from(l.amount_in)).sum();
        let input: u128 = self.legs.iter().map(|l| u128::from(l.amount_in)).sum();
        u32::try_from(weighted.div_ceil(input.max(1))).unwrap_or(u32::MAX)
    }
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
    pub fn new(venues: Vec<Arc<dyn Venue>>, network: Arc<dyn Network>) -> Self {
        Self { venues: venues.into(), network }
    }

    /// The network this router quotes on and sends through.
    pub fn network(&self) -> &Arc<dyn Network> {
        &self.network
    }

    /// Fetches every listing venue's pool concurrently and [`plan`]s the best route.
    pub async fn route(&self, spec: &OrderSpec) -> Result<RoutePlan, RouteError> {
        self.route_since(spec, 0).await
    }

    /// As [`Router::route`], on pool states as of `slot` or later: a
    /// triggered order's route, on the state that fired it or a newer one.
    pub async fn route_since(&self, spec: &OrderSpec, slot: u64) -> Result<RoutePlan, RouteError> {
        let (mint_in, mint_out) = (spec.token_in.mint.as_str(), spec.token_out.mint.as_str());
        let listing: Vec<_> = self.venues.iter().filter(|v| v.lists(mint_in, mint_out)).collect();
        if listing.is_empty() {
            return Err(no_route(spec));
        }
        let fetched = join_all(listing.iter().map(|v| v.market_since(mint_in, mint_out, slot))).await;
        // A venue may list any pair (a launch may have made a pool for it); none had one.
        if fetched.iter().all(|f| matches!(f, Err(VenueError::NoPool { .. }))) {
            return Err(no_route(spec));
        }
        plan(spec, fetched)
    }

    /// The transaction for `plan` as attempt `tx_id`, valid for the network's
    /// validity window from now (see [`crate::transaction::build`]).
    pub fn build(&self, spec: &OrderSpec, plan: &RoutePlan, tx_id: &str) -> Transaction {
        crate::transaction::build(spec, plan, tx_id, self.network.now() + self.network.validity_secs())
    }

    /// Sends a built transaction.
    pub async fn send(&self, tx: &Transaction) -> Result<Receipt, VenueError> {
        self.network.send(tx).await
    }

    /// Whether transaction `tx_id` landed.
    pub async fn landed(&self, tx_id: &str) -> Result<Option<Receipt>, VenueError> {
        self.network.landed(tx_id).await
    }
}

fn no_route(spec: &OrderSpec) -> RouteError {
    RouteError::NoRoute(format!("{}/{}", spec.token_in.symbol, spec.token_out.symbol))
}

/// The best route for `spec` over what each listing venue answered — its pool
/// as it stands now, or why it could not give it — in the venues' order. Pure:
/// the same markets always give the same plan, record and reason included.
///
/// Quotes the whole order on every market and ranks them; a market that cannot
/// fill the whole order may still take part of it in a split. With no quote, the
/// most actionable refusal is the error (liquidity before a transient one); with
/// no market at all, [`RouteError::NoRoute`].
pub fn plan(spec: &OrderSpec, fetched: Vec<Result<Market, VenueError>>) -> Result<RoutePlan, RouteError> {
    let choice = choose(spec, &fetched)?;
    // A limit order's bound is its own minimum, whatever the route expects; a
    // sniper's is its slippage bound, but never below what its maxPrice allows.
    let min_amount_out = match &spec.limit {
        Some(limit) => limit.min_amount_out,
        None => search::min_amount_out(choice.expected_out, spec.slippage_bps).max(spec.floor().unwrap_or(0)),
    };
    Ok(choice.into_plan(spec, min_amount_out))
}

/// The route [`plan`] chooses for `spec`, if its expected output is at least
/// `min_amount_out`, with that as its bound instead of a slippage tolerance
/// (`spec.slippage_bps` is not read): a limit order's route, which the chain
/// must not fill below the order's own minimum. `Ok(None)` when the route
/// returns less; the record is rendered only for a route that qualifies.
pub fn plan_at_least(
    spec: &OrderSpec,
    fetched: &[Result<Market, VenueError>],
    min_amount_out: u64,
) -> Result<Option<RoutePlan>, RouteError> {
    let choice = choose(spec, fetched)?;
    Ok((choice.expected_out >= min_amount_out).then(|| choice.into_plan(spec, min_amount_out)))
}

/// The route [`plan`] chose, before it is bounded and rendered.
struct Choice {
    legs: Vec<PlannedLeg>,
    expected_out: u64,
    quotes: Vec<Quote>,
    refusals: Vec<VenueError>,
    split_gain: Option<u64>,
}

fn choose(spec: &OrderSpec, fetched: &[Result<Market, VenueError>]) -> Result<Choice, RouteError> {
    if fetched.is_empty() {
        return Err(no_route(spec));
    }
    let mint_in = spec.token_in.mint.as_str();
    let mut markets = Vec::new();
    let mut quotes = Vec::new();
    let mut refusals = Vec::new();
    for answer in fetched {
        match answer {
            Ok(market) => {
                match market.quote(mint_in, spec.amount_in) {
                    Ok(q) => quotes.push(q),
                    Err(e) => refusals.push(e),
                }
                // A venue that cannot fill the whole order may still take part of it.
                markets.push(market);
            }
            Err(e) => refusals.push(e.clone()),
        }
    }
    search::rank(&mut quotes);
    let Some(best) = quotes.first() else {
        // A permanent reason (liquidity) beats a transient one: retrying cannot fix it.
        refusals.sort_by_key(VenueError::is_transient);
        return Err(refusals.into_iter().next().map_or_else(|| RouteError::NoRoute(String::new()), RouteError::Venue));
    };
    let (legs, split_gain) = search::choose_legs(&markets, best, mint_in, spec.amount_in)?;
    let expected_out = legs.iter().map(|l| l.expected_out).sum();
    Ok(Choice { legs, expected_out, quotes, refusals, split_gain })
}

impl Choice {
    fn into_plan(self, spec: &OrderSpec, min_amount_out: u64) -> RoutePlan {
        let Self { legs, expected_out, quotes, refusals, split_gain } = self;
        let record = record::render(spec, &legs, &quotes, &refusals, split_gain, min_amount_out);
        RoutePlan { legs, amount_in: spec.amount_in, expected_out, min_amount_out, quotes, record }
    }
}
