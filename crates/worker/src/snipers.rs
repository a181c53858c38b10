//! The trigger engine's sniper orders: one book for all of them, by the token
//! each waits for and by expiry, so a pool move costs a lookup per distinct
//! token rather than a look at every order, and the expiry pass looks only at
//! what is due.
//!
//! A sniper waits for its token by the name it was given — its mint, or its
//! symbol while only that is known — which the launched tokens resolve.

use chrono::{DateTime, Utc};
use oee_domain::{Dex, Token, TokenRegistry, Trigger};
use oee_router::{Market, Pool, VenueError, plan_at_least};
use oee_store::OrderRecord;
use std::collections::{BTreeSet, HashMap, HashSet};
use uuid::Uuid;

/// Every open sniper order a worker holds.
#[derive(Debug, Default)]
pub struct SniperBook {
    orders: HashMap<Uuid, OrderRecord>,
    /// By the name of the token each waits for.
    by_target: HashMap<String, HashSet<Uuid>>,
    /// By expiry (unix ms).
    by_expiry: BTreeSet<(i64, Uuid)>,
}

/// The name a sniper waits for its token by.
fn target(order: &OrderRecord) -> &str {
    let wanted = &order.spec.token_out;
    if wanted.mint.is_empty() { &wanted.symbol } else { &wanted.mint }
}

fn expiry(order: &OrderRecord) -> i64 {
    order.spec.expires_at().map_or(i64::MAX, |at| at.timestamp_millis())
}

impl SniperBook {
    pub fn from_orders(orders: impl IntoIterator<Item = OrderRecord>) -> Self {
        let mut book = Self::default();
        for order in orders {
            book.insert(order);
        }
        book
    }

    pub fn len(&self) -> usize {
        self.orders.len()
    }

    /// Adds (or replaces) an order.
    pub fn insert(&mut self, order: OrderRecord) {
        self.remove(&order.id);
        self.by_target.entry(target(&order).to_owned()).or_default().insert(order.id);
        self.by_expiry.insert((expiry(&order), order.id));
        self.orders.insert(order.id, order);
    }

    pub fn remove(&mut self, id: &Uuid) -> Option<OrderRecord> {
        let order = self.orders.remove(id)?;
        let name = target(&order);
        if let Some(ids) = self.by_target.get_mut(name) {
            ids.remove(id);
            if ids.is_empty() {
                self.by_target.remove(name);
            }
        }
        self.by_expiry.remove(&(expiry(&order), *id));
        Some(order)
    }

    /// Takes out the orders whose expiry is at or before `now`.
    pub fn take_expired(&mut self, now: DateTime<Utc>) -> Vec<OrderRecord> {
        let due: Vec<Uuid> =
            self.by_expiry.iter().take_while(|(at, _)| *at <= now.timestamp_millis()).map(|(_, id)| *id).collect();
        due.iter().filter_map(|id| self.remove(id)).collect()
    }

    /// The mints of the tokens waited for that `tokens` knows.
    pub fn known_targets(&self, tokens: &TokenRegistry) -> HashSet<String> {
        self.by_target.keys().filter_map(|name| tokens.resolve(name)).map(|t| t.mint.clone()).collect()
    }

    /// Takes out the orders that fire on `pools` at `now` (unix seconds), each
    /// with its token and trigger: the highest slot among the pools it can
    /// use, and the price its amount gets there.
    pub fn take_sniped<'p>(
        &mut self,
        pools: impl Iterator<Item = &'p Pool> + Clone,
        tokens: &TokenRegistry,
        now: i64,
    ) -> Vec<(OrderRecord, Token, Trigger)> {
        let mut found = Vec::new();
        for (name, ids) in &self.by_target {
            let Some(token) = tokens.resolve(name) else { continue };
            // The open pools of the token, in the venues' order, as `plan` takes them.
            let mut of_token: Vec<&Pool> = pools
                .clone()
                .filter(|p| p.is_open(now) && (p.mint_base == token.mint || p.mint_quote == token.mint))
                .collect();
            if of_token.is_empty() {
                continue;
            }
            of_token.sort_by_key(|p| Dex::ALL.iter().position(|d| *d == p.dex));
            for id in ids {
                if let Some(trigger) = self.orders.get(id).and_then(|o| snipe(o, token, &of_token, now)) {
                    found.push((*id, token.clone(), trigger));
                }
            }
        }
        found
            .into_iter()
            .filter_map(|(id, token, trigger)| self.remove(&id).map(|order| (order, token, trigger)))
            .collect()
    }
}

/// Whether `order` fires on its token's open pools `of_token` at `now`.
fn snipe(order: &OrderRecord, token: &Token, of_token: &[&Pool], now: i64) -> Option<Trigger> {
    let terms = order.spec.sniper.as_ref()?;
    let mint_in = order.spec.token_in.mint.as_str();
    let usable: Vec<&&Pool> = of_token
        .iter()
        .filter(|p| p.pairs(mint_in, &token.mint) && p.holding(mint_in) >= terms.min_liquidity)
        .collect();
    let slot = usable.iter().map(|p| p.slot).max()?;
    let markets: Vec<Result<Market, VenueError>> =
        usable.into_iter().map(|p| Ok(Market { pool: (*p).clone(), now })).collect();
    let mut spec = order.spec.clone();
    spec.token_out = token.clone();
    let floor = spec.floor().unwrap_or(1);
    let plan = plan_at_least(&spec, &markets, floor).ok().flatten()?;
    Some(Trigger { slot, price: oee_router::price(&spec, spec.amount_in, plan.expected_out) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oee_domain::{Channel, OrderStatus, parse_order};

    const T0: i64 = 1_800_000_000;

    fn sniper(token_out: &str, extra: &str, expires_ms: i64) -> OrderRecord {
        let body = format!(r#"{{"type":"sniper","tokenIn":"SOL","tokenOut":"{token_out}","amountIn":"1"{extra}}}"#);
        let mut spec = parse_order(body.as_bytes(), &TokenRegistry::default(), Channel::Http).expect("valid").spec;
        if let Some(terms) = spec.sniper.as_mut() {
            terms.expires_at = DateTime::from_timestamp_millis(expires_ms);
        }
        let at = DateTime::from_timestamp(T0, 0).expect("time");
        OrderRecord {
            status: OrderStatus::Open,
            last_seq: 2,
            ..OrderRecord::stored(Uuid::now_v7(), "a".into(), spec, at)
        }
    }

    fn pepe() -> Token {
        Token::stored("PEPE".into(), "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr".into(), 6)
    }

    /// A billion PEPE against 500 SOL (0.0000005 SOL each), opening at `open_at`.
    fn launched(open_at: Option<i64>, slot: u64) -> Pool {
        let registry = TokenRegistry::default();
        let sol = registry.by_symbol("SOL").expect("SOL");
        let mut pool =
            oee_router::market::launch_pool(Dex::Raydium, &pepe(), sol, 10u64.pow(15), 500 * 10u64.pow(9), open_at, T0)
                .expect("a pool");
        pool.slot = slot;
        pool
    }

    /// Orders wait by the name they were given; a pool of an unknown token,
    /// or one not open, fires nothing; one open, deep and cheap enough fires
    /// exactly the orders it satisfies, on its slot.
    #[test]
    fn snipers_fire_on_the_first_pool_that_satisfies_them() {
        let far = (T0 + 3_600) * 1_000;
        let cheap_enough = sniper("PEPE", r#","maxPrice":"0.000001","minLiquidity":"100""#, far);
        let by_mint = sniper(&pepe().mint, "", far);
        let too_cheap = sniper("PEPE", r#","maxPrice":"0.0000004""#, far);
        let too_shallow = sniper("pepe", r#","minLiquidity":"501""#, far);
        let other = sniper("DOGE", "", far);
        let mut book =
            SniperBook::from_orders([&cheap_enough, &by_mint, &too_cheap, &too_shallow, &other].into_iter().cloned());
        assert_eq!(book.len(), 5);
        let before = TokenRegistry::default();
        assert!(book.known_targets(&before).is_empty(), "nothing launched yet");
        let after = before.with_launched([pepe()]);
        assert_eq!(book.known_targets(&after), HashSet::from([pepe().mint]));

        let closed = [launched(Some(T0 + 10), 7)];
        assert!(book.take_sniped(closed.iter(), &after, T0).is_empty(), "not open yet");
        assert!(book.take_sniped([launched(None, 7)].iter(), &before, T0).is_empty(), "an unknown token");

        let open = [launched(Some(T0 + 10), 7)];
        let mut fired: Vec<Uuid> =
            book.take_sniped(open.iter(), &after, T0 + 10).iter().map(|(o, _, _)| o.id).collect();
        fired.sort_unstable();
        let mut expected = vec![cheap_enough.id, by_mint.id];
        expected.sort_unstable();
        assert_eq!(fired, expected);
        assert_eq!(book.len(), 3, "the others wait");
        let again = book.take_sniped(open.iter(), &after, T0 + 11);
        assert!(again.is_empty(), "{again:?}");
    }

    #[test]
    fn the_expiry_pass_takes_what_is_due_and_nothing_else() {
        let soon = sniper("PEPE", "", T0 * 1_000 + 500);
        let later = sniper("PEPE", "", T0 * 1_000 + 5_000);
        let mut book = SniperBook::from_orders([soon.clone(), later.clone()]);
        let at = |ms: i64| DateTime::from_timestamp_millis(T0 * 1_000 + ms).expect("time");
        assert!(book.take_expired(at(499)).is_empty());
        assert_eq!(book.take_expired(at(500)).iter().map(|o| o.id).collect::<Vec<_>>(), [soon.id]);
        assert_eq!(book.remove(&later.id).map(|o| o.id), Some(later.id));
        assert!(book.take_expired(at(10_000)).is_empty() && book.len() == 0);
        assert!(book.known_targets(&TokenRegistry::default().with_launched([pepe()])).is_empty());
    }
}
