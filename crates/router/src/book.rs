//! The trigger engine's limit-order book for one pair and direction, and the
//! check of which of its orders fire on the pools as they stand.
//!
//! Pure: no I/O, no async, no clock (times are passed in), integers only.
//!
//! # Layout
//!
//! A [`Book`] holds each [`Resting`] order once, in a B-tree ordered by the
//! rate it requires (`minAmountOut / amountIn`, compared by cross-multiplying
//! in 128 bits: both parts are 64-bit, so the products cannot overflow), then
//! by id. Two small indexes point into it:
//! - by id, the two amounts (a hash map of 32-byte entries): enough to rebuild
//!   an order's rate key, so [`Book::remove`] finds it in `O(log n)`;
//! - by expiry, `(expires_at_ms, id)` (a B-tree of 32-byte keys), for
//!   [`Book::take_expired`] and [`Book::next_expiry`].
//!
//! Measured with `cargo run --release -p oee-router --example book`: about
//! 150 bytes of heap per order for a book built by [`Book::from_orders`] and
//! about 190 for one filled by [`Book::insert`] (B-tree nodes about
//! two-thirds full); the hash map adds up to 40 more just after it doubles.
//! The target is 300 ([ORDER_TYPES.md](../../../docs/ORDER_TYPES.md)).
//!
//! # Firing
//!
//! No swap of any size returns more per input atom than the pools' best
//! [`marginal_rate`] (price impact only lowers the average, and a split's
//! total is a weighted mean of its legs' rates), so only the orders
//! [`Book::within`] that rate can fire. [`triggered`] then quotes each of them
//! for its own amount with [`plan_at_least`], the route choice market orders
//! use, and fires those whose route returns their minimum. It cannot stop at the
//! first candidate that does not fire: a large order may miss its minimum
//! through its own impact while a smaller, more demanding one behind it fills.
//! So one move costs a route search per candidate: two whole-order quotes, and
//! up to about sixty more when a split may help (large orders). Candidates are
//! few after a small move, but a big move (or an owner's first evaluation of
//! a pair) quotes every order the new price reaches.

use crate::pool::{DRIFT_PERIOD_SECS, Pool};
use crate::rate::Rate;
use crate::record;
use crate::router::{RoutePlan, plan_at_least};
use crate::venue::{Market, VenueError};
use oee_domain::{OrderSpec, OrderType, Token};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

/// A resting limit order as the trigger engine holds it in memory: only what
/// deciding whether it fires, and when it expires, needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Resting {
    /// The order's UUID as an integer (`Uuid::as_u128`).
    pub id: u128,
    /// Atoms of the book's input token to sell; never zero in a book.
    pub amount_in: u64,
    /// The least output, in atoms of the book's output token, it fills for.
    pub min_amount_out: u64,
    /// When it expires (unix milliseconds); `i64::MAX` for never.
    pub expires_at_ms: i64,
}

impl Resting {
    /// The rate the order requires, `min_amount_out / amount_in`; `None` for
    /// an order that sells nothing.
    pub fn required_rate(&self) -> Option<Rate> {
        Rate::of(self.min_amount_out, self.amount_in)
    }
}

/// An order as the rate index orders it: by required rate, then id. Only the
/// amounts and the id take part in comparisons, so a probe with any expiry
/// finds the stored order.
#[derive(Debug, Clone, Copy)]
struct ByRate(Resting);

impl ByRate {
    /// A key that compares equal to the stored order `id` with these amounts.
    const fn probe(id: u128, amounts: Amounts) -> Self {
        Self(Resting { id, amount_in: amounts.amount_in, min_amount_out: amounts.min_amount_out, expires_at_ms: 0 })
    }
}

impl Ord for ByRate {
    fn cmp(&self, other: &Self) -> Ordering {
        // 64-bit parts: both products fit in 128 bits.
        let left = u128::from(self.0.min_amount_out) * u128::from(other.0.amount_in);
        let right = u128::from(other.0.min_amount_out) * u128::from(self.0.amount_in);
        left.cmp(&right).then(self.0.id.cmp(&other.0.id))
    }
}

impl PartialOrd for ByRate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ByRate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ByRate {}

/// What the id index keeps of an order: enough to rebuild its rate key.
#[derive(Debug, Clone, Copy)]
struct Amounts {
    amount_in: u64,
    min_amount_out: u64,
}

/// The resting limit orders selling one token for another, least demanding
/// first. Each order is in it at most once (by id).
#[derive(Debug, Clone)]
pub struct Book {
    token_in: Token,
    token_out: Token,
    by_rate: BTreeSet<ByRate>,
    by_id: HashMap<u128, Amounts>,
    by_expiry: BTreeSet<(i64, u128)>,
}

impl Book {
    /// An empty book of orders selling `token_in` for `token_out`. It keeps
    /// the tokens, not only their mints: the route record a fired order gets
    /// names them and formats amounts in their decimals.
    pub fn new(token_in: Token, token_out: Token) -> Self {
        Self { token_in, token_out, by_rate: BTreeSet::new(), by_id: HashMap::new(), by_expiry: BTreeSet::new() }
    }

    /// A book of `orders` (in any order), sorted once: the way to rebuild one
    /// from the store. The first of several orders with the same id is kept,
    /// as [`Book::insert`] would; orders that sell nothing are left out.
    pub fn from_orders(token_in: Token, token_out: Token, orders: Vec<Resting>) -> Self {
        let mut by_id = HashMap::with_capacity(orders.len());
        let kept: Vec<Resting> = orders.into_iter().filter(|o| o.amount_in > 0 && claim(&mut by_id, o)).collect();
        // Collecting into a B-tree sorts once and builds it bottom-up, with full nodes.
        let by_expiry = kept.iter().map(|o| (o.expires_at_ms, o.id)).collect();
        let by_rate = kept.into_iter().map(ByRate).collect();
        Self { token_in, token_out, by_rate, by_id, by_expiry }
    }

    /// The token the orders sell.
    pub const fn token_in(&self) -> &Token {
        &self.token_in
    }

    /// The token the orders buy.
    pub const fn token_out(&self) -> &Token {
        &self.token_out
    }

    /// Adds `order`; `false` (and the book unchanged) when an order with its id
    /// is already there — whatever its values: the first is kept — or when it
    /// sells nothing (`amount_in` of zero can never fire).
    pub fn insert(&mut self, order: Resting) -> bool {
        if order.amount_in == 0 || !claim(&mut self.by_id, &order) {
            return false;
        }
        self.by_rate.insert(ByRate(order));
        self.by_expiry.insert((order.expires_at_ms, order.id));
        true
    }

    /// Removes the order `id` (filled, cancelled), returning it; `None` if it is
    /// not in the book.
    pub fn remove(&mut self, id: u128) -> Option<Resting> {
        let amounts = self.by_id.remove(&id)?;
        let ByRate(order) = self.by_rate.take(&ByRate::probe(id, amounts))?;
        self.by_expiry.remove(&(order.expires_at_ms, id));
        Some(order)
    }

    /// The order `id`, if it is in the book.
    pub fn get(&self, id: u128) -> Option<&Resting> {
        let amounts = self.by_id.get(&id)?;
        self.by_rate.get(&ByRate::probe(id, *amounts)).map(|o| &o.0)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Every order, least demanding first (equal rates by id).
    pub fn iter(&self) -> impl Iterator<Item = &Resting> {
        self.by_rate.iter().map(|o| &o.0)
    }

    /// The orders whose required rate is at most `best` (equal included), least
    /// demanding first: the only ones a market whose best rate is `best` can
    /// fill. Each step is one exact comparison.
    pub fn within(&self, best: Rate) -> impl Iterator<Item = &Resting> {
        self.iter().take_while(move |o| o.required_rate().is_some_and(|rate| rate <= best))
    }

    /// Removes and returns the orders expired at `now_ms` (`expires_at_ms <=
    /// now_ms`), earliest first (equal times by id).
    pub fn take_expired(&mut self, now_ms: i64) -> Vec<Resting> {
        let due: Vec<u128> = self.by_expiry.range(..=(now_ms, u128::MAX)).map(|&(_, id)| id).collect();
        due.into_iter().filter_map(|id| self.remove(id)).collect()
    }

    /// When the next order expires, if any does.
    pub fn next_expiry(&self) -> Option<i64> {
        self.by_expiry.first().map(|&(at, _)| at)
    }
}

/// Enters `order` in the id index unless its id is taken; whether it did.
fn claim(by_id: &mut HashMap<u128, Amounts>, order: &Resting) -> bool {
    match by_id.entry(order.id) {
        Entry::Occupied(_) => false,
        Entry::Vacant(slot) => {
            slot.insert(Amounts { amount_in: order.amount_in, min_amount_out: order.min_amount_out });
            true
        }
    }
}

/// The best marginal rate `pools` offer for selling `mint_in` for `mint_out`
/// at `now` (unix seconds): the output per input atom of an infinitesimal
/// trade after fees, on the best pool. No trade of any size, on one pool or
/// split across several, returns more per atom. `None` if no pool trades
/// the pair in that direction.
pub fn marginal_rate<'a>(
    pools: impl IntoIterator<Item = &'a Pool>,
    mint_in: &str,
    mint_out: &str,
    now: i64,
) -> Option<Rate> {
    pools.into_iter().filter(|p| p.pairs(mint_in, mint_out)).filter_map(|p| p.marginal_rate(mint_in, now)).max()
}

/// An order that fires now, and the route it fires on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub order: Resting,
    /// The route for the order's own amount, bounded by its own minimum
    /// (`plan.min_amount_out == order.min_amount_out`; `plan.expected_out` at
    /// least that).
    pub plan: RoutePlan,
    /// The highest slot among the pools quoted: the route as of that slot.
    pub slot: u64,
    /// The route's price, tokenOut per tokenIn in whole units (as quotes show it).
    pub price: String,
}

/// The orders of `book` that fire on `markets` — what each listing venue
/// answered for the book's pair, in the venues' order, as [`plan`] takes them
/// (e.g. the API's `Snapshot::markets`) — least demanding first.
///
/// The candidates are the orders [`Book::within`] the markets' best
/// [`Market::marginal_rate`]; each is routed for its own amount by
/// [`plan_at_least`] with its own minimum, and fires when the route's expected
/// output reaches it. Every candidate is checked (see the module's doc for
/// the cost). The book is not changed: removing what fired is the caller's
/// step, once the trigger is recorded.
///
/// [`plan`]: crate::plan
pub fn triggered(book: &Book, markets: &[Result<Market, VenueError>]) -> Vec<Fired> {
    let markets = current(markets);
    let mint_in = book.token_in.mint.as_str();
    let Some(best) = markets.iter().flatten().filter_map(|m| m.marginal_rate(mint_in)).max() else {
        return Vec::new();
    };
    let slot = markets.iter().flatten().map(|m| m.pool.slot).max().unwrap_or(0);
    // One spec, its amount changed per candidate. `plan` reads neither the type
    // nor the owner; the slippage is replaced by the order's own minimum.
    let mut spec = OrderSpec {
        order_type: OrderType::Market,
        token_in: book.token_in.clone(),
        token_out: book.token_out.clone(),
        amount_in: 0,
        slippage_bps: 0,
        user_id: String::new(),
    };
    book.within(best)
        .filter_map(|order| {
            spec.amount_in = order.amount_in;
            let plan = plan_at_least(&spec, &markets, order.min_amount_out).ok().flatten()?;
            let price = record::price(&spec, order.amount_in, plan.expected_out);
            Some(Fired { order: *order, plan, slot, price })
        })
        .collect()
}

/// `markets` with each pool brought up to its market's time, once, rather than
/// in every quote (a stale pool is drifted on a copy at each quote).
fn current(markets: &[Result<Market, VenueError>]) -> Cow<'_, [Result<Market, VenueError>]> {
    let stale = |m: &Market| m.pool.drift_epoch < m.now.div_euclid(DRIFT_PERIOD_SECS);
    if !markets.iter().flatten().any(stale) {
        return Cow::Borrowed(markets);
    }
    Cow::Owned(
        markets
            .iter()
            .map(|answer| {
                answer.clone().map(|mut m| {
                    m.pool.drift_to(m.now);
                    m
                })
            })
            .collect(),
    )
}
