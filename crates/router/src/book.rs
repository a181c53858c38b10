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
//! Measured with `cargo run --release -p oee-router --example book` (a million
//! orders): 193 bytes of heap per order for a book filled by [`Book::insert`]
//! (B-tree nodes about two-thirds full), 153 for one built by
//! [`Book::from_orders`] (full nodes). The id index's share is 38 to 75 bytes
//! as its hash map fills and doubles; at a million it is near the top (69).
//! The target is 300 (docs/ORDER_TYPES.md, "The trigger engine").
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

use crate::pool::Pool;
use crate::rate::Rate;
use crate::record;
use crate::router::{RoutePlan, plan_at_least};
use crate::venue::{Market, VenueError};
use oee_domain::{OrderSpec, OrderType, Token};
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
        limit: None,
        sniper: None,
    };
    book.within(best)
        .filter_map(|order| {
            spec.amount_in = order.amount_in;
            let plan = plan_at_least(&spec, markets, order.min_amount_out).ok().flatten()?;
            let price = record::price(&spec, order.amount_in, plan.expected_out);
            Some(Fired { order: *order, plan, slot, price })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpmm::swap_exact_in;
    use crate::dlmm::{Bin, DlmmPool, FeeParams};
    use crate::pool::{CpmmPool, Curve};
    use oee_domain::{Dex, TokenRegistry};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const NOW: i64 = 1_800_000_000;
    /// 1,000 SOL.
    const SOL_DEPTH: u64 = 1_000_000_000_000;
    /// 150,000 USDC.
    const USDC_DEPTH: u64 = 150_000_000_000;

    fn tokens() -> (Token, Token) {
        let registry = TokenRegistry::default();
        let token = |symbol| registry.by_symbol(symbol).expect("token").clone();
        (token("SOL"), token("USDC"))
    }

    fn order(id: u128, amount_in: u64, min_amount_out: u64) -> Resting {
        Resting { id, amount_in, min_amount_out, expires_at_ms: i64::MAX }
    }

    fn ids<'a>(orders: impl IntoIterator<Item = &'a Resting>) -> Vec<u128> {
        orders.into_iter().map(|o| o.id).collect()
    }

    fn pool(dex: Dex, curve: Curve, slot: u64) -> Pool {
        let (sol, usdc) = tokens();
        Pool {
            id: format!("{dex}:SOL-USDC"),
            dex,
            mint_base: sol.mint,
            mint_quote: usdc.mint,
            curve,
            slot,
            open_at: None,
        }
    }

    /// A SOL/USDC constant-product market at 150 USDC per SOL, 25 bps fee.
    fn cpmm(dex: Dex, reserve_base: u64, reserve_quote: u64) -> Result<Market, VenueError> {
        let curve = Curve::Cpmm(CpmmPool { reserve_base, reserve_quote, fee_bps: 25 });
        Ok(Market { pool: pool(dex, curve, 7), now: NOW })
    }

    fn sol_usdc() -> Book {
        let (sol, usdc) = tokens();
        Book::new(sol, usdc)
    }

    fn usdc_sol() -> Book {
        let (sol, usdc) = tokens();
        Book::new(usdc, sol)
    }

    /// What selling `amount` SOL on one default pool returns.
    fn out(amount: u64) -> u64 {
        swap_exact_in(SOL_DEPTH, USDC_DEPTH, amount, 25).expect("quote").amount_out
    }

    fn fired(book: &Book, markets: &[Result<Market, VenueError>]) -> Vec<u128> {
        ids(triggered(book, markets).iter().map(|f| &f.order))
    }

    /// The book orders by exact required rate — telling apart rates that differ
    /// far below what a float sees — then equal rates by id.
    #[test]
    fn orders_are_ranked_by_exact_rate_then_id() {
        let m = u64::MAX;
        let mut book = sol_usdc();
        // (M-1)/M > (M-2)/(M-1) by 1/(M(M-1)); both are 1.0 as floats.
        assert!(book.insert(order(1, m, m - 1)));
        assert!(book.insert(order(2, m - 1, m - 2)));
        assert!(book.insert(order(9, 4, 2)));
        assert!(book.insert(order(3, 2, 1)), "the same rate as order 9 with other parts");
        assert!(book.insert(order(4, 1_000_000, 500_001)));
        assert_eq!(ids(book.iter()), [3, 9, 4, 2, 1]);
    }

    /// Inserting an id again changes nothing, whatever the values: the first stays.
    #[test]
    fn insert_is_idempotent_and_keeps_the_first() {
        let mut book = sol_usdc();
        assert!(book.insert(order(1, 100, 50)));
        assert!(!book.insert(order(1, 100, 50)));
        assert!(!book.insert(Resting { id: 1, amount_in: 7, min_amount_out: 1, expires_at_ms: 5 }));
        assert!(!book.insert(order(2, 0, 0)), "an order selling nothing is refused");
        assert_eq!(book.len(), 1);
        assert_eq!(book.get(1), Some(&order(1, 100, 50)));
        assert_eq!(book.next_expiry(), Some(i64::MAX));
    }

    /// Removing an order takes it out of every index.
    #[test]
    fn remove_takes_an_order_out_of_every_index() {
        let mut book = sol_usdc();
        let early = Resting { id: 1, amount_in: 10, min_amount_out: 1, expires_at_ms: 1_000 };
        book.insert(early);
        book.insert(Resting { id: 2, amount_in: 10, min_amount_out: 2, expires_at_ms: 2_000 });
        assert_eq!(book.remove(1), Some(early));
        assert_eq!(book.remove(1), None);
        assert_eq!(book.get(1), None);
        assert_eq!((book.len(), book.next_expiry()), (1, Some(2_000)));
        assert_eq!(ids(book.within(Rate::of(1, 1).expect("rate"))), [2]);
        assert!(book.take_expired(1_500).is_empty());
        assert_eq!(book.remove(2).map(|o| o.id), Some(2));
        assert!(book.is_empty());
        assert_eq!(book.next_expiry(), None);
    }

    /// Expired orders leave earliest first (equal times by id), an order
    /// expiring exactly now included, later ones kept.
    #[test]
    fn expired_orders_leave_earliest_first() {
        let mut book = sol_usdc();
        for (id, at) in [(5, 3_000), (4, 1_000), (3, 2_000), (2, 1_000), (1, 9_000)] {
            book.insert(Resting { id, amount_in: 10, min_amount_out: 1, expires_at_ms: at });
        }
        assert_eq!(book.next_expiry(), Some(1_000));
        assert_eq!(ids(&book.take_expired(999)), [] as [u128; 0]);
        assert_eq!(ids(&book.take_expired(3_000)), [2, 4, 3, 5]);
        assert_eq!((ids(book.iter()), book.next_expiry()), (vec![1], Some(9_000)));
    }

    /// `within` includes an order requiring exactly the rate and excludes one
    /// requiring one atom more.
    #[test]
    fn within_includes_the_equal_rate_only() {
        let mut book = sol_usdc();
        book.insert(order(1, 1_000, 1_500));
        book.insert(order(2, 1_000, 1_501));
        book.insert(order(3, 2_000, 3_000));
        book.insert(order(4, 1, 1));
        assert_eq!(ids(book.within(Rate::of(3, 2).expect("rate"))), [4, 1, 3]);
        assert_eq!(ids(book.within(Rate::of(1_501, 1_000).expect("rate"))), [4, 1, 3, 2]);
        assert_eq!(ids(book.within(Rate::of(0, 1).expect("rate"))), [] as [u128; 0]);
    }

    /// Building from an unsorted list gives the book inserting one by one gives.
    #[test]
    fn from_orders_equals_inserting_one_by_one() {
        let mut orders: Vec<Resting> = (0..500u64)
            .map(|i| Resting {
                id: u128::from((i * 7_919) % 500),
                amount_in: i % 13,
                min_amount_out: (i * 31) % 101,
                expires_at_ms: i64::try_from(i % 17).expect("small"),
            })
            .collect();
        orders.push(order(3, 1, 1)); // a repeated id: the first is kept
        let (sol, usdc) = tokens();
        let built = Book::from_orders(sol, usdc, orders.clone());
        let mut inserted = sol_usdc();
        for o in orders {
            inserted.insert(o);
        }
        assert_eq!(built.iter().collect::<Vec<_>>(), inserted.iter().collect::<Vec<_>>());
        assert_eq!(built.len(), inserted.len());
        let (mut built, mut inserted) = (built, inserted);
        assert_eq!(built.take_expired(8), inserted.take_expired(8));
    }

    /// An order fires when the route for its own amount returns its minimum: to
    /// the atom. A large order within the marginal rate stays when its own
    /// impact keeps it below its minimum, while a smaller, more demanding one
    /// behind it fires; an order above the marginal rate is not even quoted.
    #[test]
    fn fires_exactly_the_orders_whose_own_route_meets_the_minimum() {
        let markets = [cpmm(Dex::Raydium, SOL_DEPTH, USDC_DEPTH)];
        let (small, large) = (1_000_000_000, 100_000_000_000);
        let mut book = sol_usdc();
        book.insert(order(1, small, out(small)));
        book.insert(order(2, small, out(small) + 1));
        book.insert(order(3, large, out(large) + 1_000));
        book.insert(order(4, small, 150_000_000));
        let best = markets[0].as_ref().expect("market").marginal_rate(&tokens().0.mint).expect("rate");
        assert_eq!(best, Rate::of(150 * 9_975, 1_000 * 10_000).expect("rate"), "150 USDC per SOL less 25 bps");
        assert_eq!(ids(book.within(best)), [3, 1, 2], "order 4 asks more than the margin");

        let fired = triggered(&book, &markets);
        assert_eq!(ids(fired.iter().map(|f| &f.order)), [1]);
        let one = &fired[0];
        assert_eq!((one.plan.expected_out, one.plan.min_amount_out), (out(small), out(small)));
        assert_eq!(one.plan.record.min_amount_out, one.plan.record.legs[0].amount_out, "bound by its own minimum");
        assert_eq!(one.slot, 7);
        assert_eq!(one.price, record::price(&one_spec(small), small, out(small)));
    }

    fn one_spec(amount_in: u64) -> OrderSpec {
        let (sol, usdc) = tokens();
        OrderSpec {
            order_type: OrderType::Market,
            token_in: sol,
            token_out: usdc,
            amount_in,
            slippage_bps: 0,
            user_id: String::new(),
            limit: None,
            sniper: None,
        }
    }

    /// A split across both venues counts: an order no single venue fills at its
    /// minimum fires when dividing it does.
    #[test]
    fn a_split_across_both_venues_counts() {
        let markets = [cpmm(Dex::Raydium, SOL_DEPTH, USDC_DEPTH), cpmm(Dex::Meteora, SOL_DEPTH, USDC_DEPTH)];
        let amount = 100_000_000_000;
        let mut book = sol_usdc();
        book.insert(order(1, amount, out(amount) + 1));
        book.insert(order(2, amount, 2 * out(amount / 2) + 1));
        let fired = triggered(&book, &markets);
        assert_eq!(ids(fired.iter().map(|f| &f.order)), [1]);
        assert_eq!(fired[0].plan.legs.len(), 2);
        assert!(fired[0].plan.expected_out > out(amount));
    }

    /// Nothing fires on a pool with nothing to give in the order's direction,
    /// even an order asking for nothing; the other direction still trades.
    #[test]
    fn nothing_fires_on_an_empty_side() {
        // DLMM: the active bin and those below hold SOL only, so selling SOL gets nothing.
        let fees = FeeParams {
            base_fee_ppb: 1_000_000,
            variable_fee_control: 0,
            max_volatility_accumulator: 0,
            filter_period: 10,
            decay_period: 120,
            reduction_factor: 0,
        };
        let active = DlmmPool::bin_for_price(15, 100, 10).expect("bin");
        let bins: BTreeMap<i32, Bin> = (active..active + 5).map(|id| (id, Bin { x: SOL_DEPTH, y: 0 })).collect();
        let dlmm = DlmmPool {
            bin_step: 10,
            fees,
            active_id: active,
            bins,
            volatility_accumulator: 0,
            volatility_reference: 0,
            index_reference: active,
            last_update: NOW,
        };
        let markets =
            [cpmm(Dex::Raydium, SOL_DEPTH, 0), Ok(Market { pool: pool(Dex::Meteora, Curve::Dlmm(dlmm), 3), now: NOW })];
        let mut sell_sol = sol_usdc();
        sell_sol.insert(order(1, 1_000_000_000, 0));
        assert!(triggered(&sell_sol, &markets).is_empty());
        let mut buy_sol = usdc_sol();
        buy_sol.insert(order(1, 1_000_000, 0));
        let fired = triggered(&buy_sol, &markets);
        assert_eq!(ids(fired.iter().map(|f| &f.order)), [1]);
        assert_eq!(fired[0].plan.legs[0].dex, Dex::Meteora);
        assert!(triggered(&buy_sol, &[]).is_empty(), "no market at all");
    }

    /// The two books of a pair read the same pools each in its own direction.
    #[test]
    fn both_directions_of_a_pair() {
        let markets = [cpmm(Dex::Raydium, SOL_DEPTH, USDC_DEPTH)];
        let usdc_in = 150_000_000;
        let sol_out = swap_exact_in(USDC_DEPTH, SOL_DEPTH, usdc_in, 25).expect("quote").amount_out;
        let mut sell = sol_usdc();
        sell.insert(order(1, 1_000_000_000, out(1_000_000_000)));
        sell.insert(order(2, 1_000_000_000, sol_out));
        let mut buy = usdc_sol();
        buy.insert(order(3, usdc_in, sol_out));
        buy.insert(order(4, usdc_in, sol_out + 1));
        assert_eq!(fired(&sell, &markets), [1], "order 2 asks 997 USDC for one SOL");
        assert_eq!(fired(&buy, &markets), [3]);
    }

    fn seeded(registry: &TokenRegistry, now: i64) -> Vec<Result<Market, VenueError>> {
        let (sol, usdc) =
            (&registry.by_symbol("SOL").expect("sol").mint, &registry.by_symbol("USDC").expect("usdc").mint);
        crate::seed_pools(registry, NOW - 3_600)
            .into_iter()
            .filter(|p| p.pairs(sol, usdc))
            .map(|pool| Ok(Market { pool, now }))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// On the seeded venues (a CPMM and a DLMM), `triggered` fires
        /// exactly the orders that routing each one would fill: the marginal
        /// rate leaves none out.
        #[test]
        fn triggered_fires_what_routing_every_order_would(
            sell_sol: bool,
            orders in prop::collection::vec((1u64..1_000_000, 0u32..7, 9_700u64..10_500), 1..12),
            later in 0i64..600,
        ) {
            let registry = TokenRegistry::default();
            let markets = seeded(&registry, NOW + later);
            let (sol, usdc) = tokens();
            let (book, unit_out) = if sell_sol { (Book::new(sol, usdc), 150u64) } else { (Book::new(usdc, sol), 6_667) };
            let mut book = book;
            for (i, (mantissa, exp, bps)) in orders.into_iter().enumerate() {
                let amount_in = mantissa * 10u64.pow(exp + 2);
                // Around the pools' price: from 3% below to 5% above.
                let min = u128::from(amount_in) * u128::from(unit_out) * u128::from(bps) / 10_000_000;
                book.insert(order(u128::try_from(i).expect("small"), amount_in, u64::try_from(min).expect("fits")));
            }
            let mut spec = one_spec(0);
            spec.token_in = book.token_in().clone();
            spec.token_out = book.token_out().clone();
            let expected: Vec<u128> = book.iter().filter(|o| {
                spec.amount_in = o.amount_in;
                matches!(plan_at_least(&spec, &markets, o.min_amount_out), Ok(Some(_)))
            }).map(|o| o.id).collect();
            prop_assert_eq!(fired(&book, &markets), expected);
        }

        /// No quote on any pool, one venue or split, of any size, returns more
        /// per input atom than the best marginal rate.
        #[test]
        fn no_route_beats_the_marginal_rate(sell_sol: bool, mantissa in 1u64..1_000, exp in 0u32..16, later in 0i64..600) {
            let registry = TokenRegistry::default();
            let markets = seeded(&registry, NOW + later);
            let (sol, usdc) = tokens();
            let (token_in, token_out) = if sell_sol { (sol, usdc) } else { (usdc, sol) };
            let pools: Vec<Pool> = markets.iter().flatten().map(|m| m.pool.clone()).collect();
            let best = marginal_rate(&pools, &token_in.mint, &token_out.mint, NOW + later).expect("both venues trade");
            let amount = mantissa * 10u64.pow(exp);
            for market in markets.iter().flatten() {
                if let Ok(q) = market.quote(&token_in.mint, amount) {
                    prop_assert!(Rate::of(q.amount_out, amount).expect("rate") <= best);
                }
            }
            let mut spec = one_spec(amount);
            (spec.token_in, spec.token_out) = (token_in, token_out);
            if let Ok(route) = crate::plan(&spec, markets) {
                prop_assert!(Rate::of(route.expected_out, amount).expect("rate") <= best);
            }
        }
    }
}
