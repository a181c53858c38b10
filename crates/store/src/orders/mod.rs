//! The order repository: order rows and their event log.
//!
//! Every status change is one statement that updates the order row *and* appends
//! the event, guarded by the expected `last_seq` and the legal predecessor
//! statuses. A stale or duplicate writer matches no row and changes nothing, so
//! `seq` has no gaps and nothing follows a terminal event.

mod activity;
pub mod queued;
mod record;
mod runs;
mod writers;

pub use activity::ActivityBucket;
pub use record::{OpenOrder, OrderRecord};
pub use writers::{EventWriter, NewOrder, OrderWriter, Run};

use crate::error::StoreError;
use crate::standby::StandbyGate;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use oee_domain::{EventDetail, OrderStatus, RecordedEvent, StatusEvent, Token};
use record::COLUMNS;
use runs::{EventColumns, RunColumns, is_consecutive};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

/// What inserting a new order did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// A new order was stored with its `pending` event.
    Created,
    /// The idempotency key already names an order.
    Existing { id: Uuid, status: OrderStatus, same_request: bool },
}

/// Filters for a page of order history.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// The account whose orders to list.
    pub account: String,
    pub user_id: Option<String>,
    pub status: Option<OrderStatus>,
    /// Only orders older than this one (the previous page's cursor).
    pub before: Option<Uuid>,
    pub limit: u32,
}

/// One page of order history, newest first.
#[derive(Debug, Clone)]
pub struct Page {
    pub orders: Vec<OrderRecord>,
    /// The cursor of the next page, when there is one.
    pub next: Option<Uuid>,
}

/// Orders and events in Postgres.
#[derive(Debug, Clone)]
pub struct OrderStore {
    pool: Pool,
    standbys: Option<StandbyGate>,
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl OrderStore {
    pub fn new(pool: Pool) -> Self {
        Self { pool, standbys: None }
    }

    /// Holds back every acceptance, event and read of an order until the
    /// gate's standbys have it (see [`crate::standby`]); `None` holds nothing.
    pub fn with_standby_gate(mut self, gate: Option<StandbyGate>) -> Self {
        self.standbys = gate;
        self
    }

    /// Waits until what this store has written or read may be told.
    async fn replicated(&self) -> Result<(), StoreError> {
        match &self.standbys {
            Some(gate) => gate.wait().await,
            None => Ok(()),
        }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Stores a new order and its `pending` event (seq 1) in one statement.
    /// With an idempotency key that is already taken, stores nothing and reports
    /// the existing order and whether it was made from the same request.
    pub async fn insert(&self, order: &NewOrder, idempotency_key: Option<&str>) -> Result<Inserted, StoreError> {
        let (id, spec, at) = (order.id, &order.spec, order.at);
        const SQL: &str = "WITH o AS (
                INSERT INTO orders (id, user_id, order_type, token_in, token_in_mint, token_in_decimals,
                    token_out, token_out_mint, token_out_decimals, amount_in, slippage_bps, status, last_seq,
                    idempotency_key, request_fingerprint, created_at, updated_at, account,
                    min_amount_out, limit_price, expires_at, max_price, min_liquidity)
                VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, ''), NULLIF($8, ''),
                    CASE WHEN $7 = '' OR $8 = '' THEN NULL ELSE $9::int2 END, $10::text::numeric, $11, 'pending', 1,
                    $12, $13, $14, $14, $16, $17::text::numeric, $18, $19, $20, $21::text::numeric)
                ON CONFLICT (account, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                RETURNING id)
            INSERT INTO order_events (order_id, seq, status, at, payload)
            SELECT id, 1, 'pending', $14, $15::text::json FROM o";
        let event = StatusEvent::new(id, 1, at, EventDetail::Pending);
        let fingerprint = spec.fingerprint();
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(SQL).await?;
        let inserted = client
            .execute(
                &stmt,
                &[
                    &id,
                    &spec.user_id,
                    &spec.order_type.as_str(),
                    &spec.token_in.symbol,
                    &spec.token_in.mint,
                    &i16::from(spec.token_in.decimals),
                    &spec.token_out.symbol,
                    &spec.token_out.mint,
                    &i16::from(spec.token_out.decimals),
                    &spec.amount_in.to_string(),
                    &i32::from(spec.slippage_bps),
                    &idempotency_key,
                    &fingerprint,
                    &event.at,
                    &event.to_json(),
                    &order.account,
                    &spec.limit.as_ref().map(|l| l.min_amount_out.to_string()),
                    &spec.limit.as_ref().and_then(|l| l.limit_price.as_deref()),
                    &order.expires_at,
                    &spec.sniper.as_ref().and_then(|t| t.max_price.as_deref()),
                    &spec.sniper.as_ref().map(|t| t.min_liquidity.to_string()),
                ],
            )
            .await?;
        if inserted == 1 {
            drop(client);
            self.replicated().await?;
            return Ok(Inserted::Created);
        }
        let key = idempotency_key.ok_or_else(|| StoreError::corrupt("insert without a key stored nothing"))?;
        let row = client
            .query_one(
                "SELECT id, status, request_fingerprint FROM orders WHERE account = $1 AND idempotency_key = $2",
                &[&order.account, &key],
            )
            .await?;
        drop(client);
        self.replicated().await?;
        let status: &str = row.get(1);
        let existing: Option<&str> = row.get(2);
        Ok(Inserted::Existing {
            id: row.get(0),
            status: OrderStatus::parse(status).ok_or_else(|| StoreError::corrupt(format!("status {status:?}")))?,
            same_request: existing == Some(fingerprint.as_str()),
        })
    }

    /// Stores new orders without idempotency keys, each with its `pending` event,
    /// in one statement (one commit).
    pub async fn insert_new_many(&self, orders: &[&NewOrder]) -> Result<(), StoreError> {
        const SQL: &str = "WITH v AS (
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int2[],
                    $7::text[], $8::text[], $9::int2[], $10::text[], $11::int4[], $12::text[], $13::timestamptz[],
                    $14::text[], $15::text[], $16::text[], $17::text[], $18::timestamptz[], $19::text[], $20::text[])
                AS v(id, user_id, order_type, token_in, token_in_mint, token_in_decimals, token_out, token_out_mint,
                    token_out_decimals, amount_in, slippage_bps, fingerprint, at, payload, account, min_amount_out,
                    limit_price, expires_at, max_price, min_liquidity)
            ), o AS (
                INSERT INTO orders (id, user_id, order_type, token_in, token_in_mint, token_in_decimals,
                    token_out, token_out_mint, token_out_decimals, amount_in, slippage_bps, status, last_seq,
                    request_fingerprint, created_at, updated_at, account, min_amount_out, limit_price, expires_at,
                    max_price, min_liquidity)
                SELECT id, user_id, order_type, token_in, token_in_mint, token_in_decimals, NULLIF(token_out, ''),
                    NULLIF(token_out_mint, ''),
                    CASE WHEN token_out = '' OR token_out_mint = '' THEN NULL ELSE token_out_decimals END,
                    amount_in::numeric, slippage_bps, 'pending', 1, fingerprint, at, at, account,
                    min_amount_out::numeric, limit_price, expires_at, max_price, min_liquidity::numeric
                FROM v
                RETURNING id)
            INSERT INTO order_events (order_id, seq, status, at, payload)
            SELECT v.id, 1, 'pending', v.at, v.payload::json FROM v JOIN o ON o.id = v.id";
        let n = orders.len();
        let (mut ids, mut users, mut types) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut ins, mut in_mints, mut in_decimals) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut outs, mut out_mints, mut out_decimals) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut amounts, mut slippages, mut fingerprints) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut ats, mut payloads, mut accounts) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut mins, mut prices, mut expiries) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut max_prices, mut liquidities) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for order in orders {
            let spec = &order.spec;
            let event = StatusEvent::new(order.id, 1, order.at, EventDetail::Pending);
            ids.push(order.id);
            users.push(spec.user_id.as_str());
            types.push(spec.order_type.as_str());
            ins.push(spec.token_in.symbol.as_str());
            in_mints.push(spec.token_in.mint.as_str());
            in_decimals.push(i16::from(spec.token_in.decimals));
            outs.push(spec.token_out.symbol.as_str());
            out_mints.push(spec.token_out.mint.as_str());
            out_decimals.push(i16::from(spec.token_out.decimals));
            amounts.push(spec.amount_in.to_string());
            slippages.push(i32::from(spec.slippage_bps));
            fingerprints.push(spec.fingerprint());
            ats.push(event.at);
            payloads.push(event.to_json());
            accounts.push(order.account.as_str());
            mins.push(spec.limit.as_ref().map(|l| l.min_amount_out.to_string()));
            prices.push(spec.limit.as_ref().and_then(|l| l.limit_price.as_deref()));
            expiries.push(order.expires_at);
            max_prices.push(spec.sniper.as_ref().and_then(|t| t.max_price.as_deref()));
            liquidities.push(spec.sniper.as_ref().map(|t| t.min_liquidity.to_string()));
        }
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(SQL).await?;
        client
            .execute(
                &stmt,
                &[
                    &ids,
                    &users,
                    &types,
                    &ins,
                    &in_mints,
                    &in_decimals,
                    &outs,
                    &out_mints,
                    &out_decimals,
                    &amounts,
                    &slippages,
                    &fingerprints,
                    &ats,
                    &payloads,
                    &accounts,
                    &mins,
                    &prices,
                    &expiries,
                    &max_prices,
                    &liquidities,
                ],
            )
            .await?;
        drop(client);
        self.replicated().await
    }

    /// Removes an order that was stored but could not be queued, provided nothing
    /// has happened to it yet. Returns whether it was removed.
    pub async fn remove_unqueued(&self, id: Uuid) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let n =
            client.execute("DELETE FROM orders WHERE id = $1 AND status = 'pending' AND last_seq = 1", &[&id]).await?;
        Ok(n == 1)
    }

    /// Orders in flight (not resting, not terminal) whose last change is older than `before`, oldest
    /// first, at most `limit`: candidates for re-queueing if their job was lost.
    pub async fn stale_unfinished(&self, before: DateTime<Utc>, limit: i64) -> Result<Vec<Uuid>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                // Matches the partial index `orders_unfinished`: open orders rest,
                // they are not lost.
                "SELECT id FROM orders
                 WHERE status NOT IN ('confirmed', 'failed', 'open', 'cancelled', 'expired') AND updated_at < $1
                 ORDER BY updated_at LIMIT $2",
            )
            .await?;
        Ok(client.query(&stmt, &[&before, &limit]).await?.iter().map(|r| r.get(0)).collect())
    }

    /// The open orders of the pairs `mint_in → mint_out` given, as the trigger
    /// engine holds them: read in one pass over the partial index of open orders.
    pub async fn open_orders(&self, pairs: &[(String, String)]) -> Result<Vec<OpenOrder>, StoreError> {
        let (ins, outs): (Vec<&str>, Vec<&str>) = pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())).unzip();
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT o.id, o.token_in_mint, o.token_out_mint, o.amount_in::text, o.min_amount_out::text,
                        o.expires_at, o.last_seq
                 FROM orders o JOIN unnest($1::text[], $2::text[]) AS p(mint_in, mint_out)
                     ON o.token_in_mint = p.mint_in AND o.token_out_mint = p.mint_out
                 WHERE o.status = 'open' AND o.order_type = 'limit'",
            )
            .await?;
        let rows = client.query(&stmt, &[&ins, &outs]).await?;
        rows.iter().map(OpenOrder::decode).collect()
    }

    /// Every open sniper order (they are one partition of the trigger engine).
    pub async fn open_snipers(&self) -> Result<Vec<OrderRecord>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM orders WHERE status = 'open' AND order_type = 'sniper' ORDER BY created_at"
            ))
            .await?;
        client.query(&stmt, &[]).await?.iter().map(OrderRecord::decode).collect()
    }

    /// Fills in an open sniper order's token, found at its launch: only while
    /// the order is `open` (a cancel or expiry first leaves it as it is) and
    /// unresolved or resolved the same way. Returns whether the order now
    /// names `token`.
    pub async fn resolve_target(&self, id: Uuid, token: &Token) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "UPDATE orders SET token_out = $2, token_out_mint = $3, token_out_decimals = $4
                 WHERE id = $1 AND status = 'open' AND order_type = 'sniper'
                   AND (token_out IS NULL OR token_out = $2) AND (token_out_mint IS NULL OR token_out_mint = $3)",
            )
            .await?;
        let n = client.execute(&stmt, &[&id, &token.symbol, &token.mint, &i16::from(token.decimals)]).await?;
        Ok(n == 1)
    }

    /// One order, without its events.
    pub async fn get(&self, id: Uuid) -> Result<Option<OrderRecord>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(&format!("SELECT {COLUMNS} FROM orders WHERE id = $1")).await?;
        let row = client.query_opt(&stmt, &[&id]).await?;
        drop(client);
        self.replicated().await?;
        row.map(|r| OrderRecord::decode(&r)).transpose()
    }

    /// Several orders by id, in no particular order; missing ids are skipped.
    pub async fn get_many(&self, ids: &[Uuid]) -> Result<Vec<OrderRecord>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(&format!("SELECT {COLUMNS} FROM orders WHERE id = ANY($1)")).await?;
        let rows = client.query(&stmt, &[&ids]).await?;
        drop(client);
        self.replicated().await?;
        rows.iter().map(OrderRecord::decode).collect()
    }

    /// Of `ids`, those that belong to `account`.
    pub async fn owned_by(&self, ids: &[Uuid], account: &str) -> Result<Vec<Uuid>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached("SELECT id FROM orders WHERE id = ANY($1) AND account = $2").await?;
        Ok(client.query(&stmt, &[&ids, &account]).await?.iter().map(|r| r.get(0)).collect())
    }

    /// The order's events with `seq > after`, in order, as their stored JSON text.
    pub async fn events_after(&self, id: Uuid, after: u32) -> Result<Vec<String>, StoreError> {
        Ok(self.log_after(id, after).await?.unwrap_or_default())
    }

    /// Like [`Self::events_after`], but `None` when the order does not exist:
    /// for a follower, whose order can vanish only if a promoted standby
    /// lacked it (asynchronous replication).
    pub async fn log_after(&self, id: Uuid, after: u32) -> Result<Option<Vec<String>>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT e.payload::text FROM orders o
                 LEFT JOIN order_events e ON e.order_id = o.id AND e.seq > $2
                 WHERE o.id = $1 ORDER BY e.seq",
            )
            .await?;
        let rows = client.query(&stmt, &[&id, &to_i32(after)]).await?;
        drop(client);
        self.replicated().await?;
        if rows.is_empty() {
            return Ok(None);
        }
        // An order with no event after `after` comes back as one row of NULL.
        Ok(Some(rows.iter().filter_map(|r| r.get::<_, Option<String>>(0)).collect()))
    }

    /// A page of history, newest first.
    pub async fn list(&self, filter: &ListFilter) -> Result<Page, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM orders WHERE true");
        let status = filter.status.map(OrderStatus::as_str);
        let limit = i64::from(filter.limit) + 1;
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&filter.account];
        sql.push_str(" AND account = $1");
        if let Some(user) = &filter.user_id {
            params.push(user);
            sql.push_str(&format!(" AND user_id = ${}", params.len()));
        }
        if let Some(status) = &status {
            params.push(status);
            sql.push_str(&format!(" AND status = ${}", params.len()));
        }
        if let Some(before) = &filter.before {
            params.push(before);
            let n = params.len();
            sql.push_str(&format!(" AND (created_at, id) < (SELECT created_at, id FROM orders WHERE id = ${n})"));
        }
        params.push(&limit);
        sql.push_str(&format!(" ORDER BY created_at DESC, id DESC LIMIT ${}", params.len()));

        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(&sql).await?;
        let rows = client.query(&stmt, &params).await?;
        drop(client);
        self.replicated().await?;
        let mut orders = rows.iter().map(OrderRecord::decode).collect::<Result<Vec<_>, _>>()?;
        let next = if orders.len() > filter.limit as usize {
            orders.truncate(filter.limit as usize);
            orders.last().map(|o| o.id)
        } else {
            None
        };
        Ok(Page { orders, next })
    }

    /// Records `event` as the order's next status change: updates the row from
    /// the event's fields and appends the event, provided the order's latest seq
    /// is `event.seq - 1` and its status may move to the event's. Returns `false`
    /// (and changes nothing) when it may not — another writer got there first.
    pub async fn record(&self, event: &RecordedEvent) -> Result<bool, StoreError> {
        let run = [event.clone()];
        Ok(self.record_many(&[&run]).await?.first().copied().unwrap_or(false))
    }

    /// Records several *runs* in one statement — one transaction, one commit.
    /// A run is one order's next events, consecutive (seq +1 each, every status
    /// change legal): all of them are recorded, or none. Each run is guarded as
    /// [`OrderStore::record`] guards one event, by its first event; the row ends
    /// up as its last event leaves it. Returns, per run, whether it was recorded.
    /// At most one run per order: an order's next run is only known once its
    /// previous one is recorded.
    pub async fn record_many(&self, runs: &[&[RecordedEvent]]) -> Result<Vec<bool>, StoreError> {
        const SQL: &str = "WITH v AS (
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::int4[], $4::int4[], $5::timestamptz[],
                    $6::int4[], $7::jsonb[], $8::text[], $9::text[], $10::text[], $11::jsonb[], $12::text[])
                AS v(id, status, first_seq, last_seq, at, attempts, route, tx_hash, price, amount_out, error, preds)
            ), o AS (
                UPDATE orders SET
                    status = v.status, last_seq = v.last_seq, updated_at = v.at,
                    attempts = COALESCE(v.attempts, orders.attempts),
                    route = COALESCE(v.route, orders.route),
                    tx_hash = COALESCE(v.tx_hash, orders.tx_hash),
                    executed_price = COALESCE(v.price, orders.executed_price),
                    amount_out = COALESCE(v.amount_out::numeric, orders.amount_out),
                    error = COALESCE(v.error, orders.error)
                FROM v
                WHERE orders.id = v.id AND orders.last_seq = v.first_seq - 1
                    AND orders.status = ANY(string_to_array(v.preds, ','))
                RETURNING orders.id, orders.last_seq AS seq),
            e AS (
                INSERT INTO order_events (order_id, seq, status, at, payload)
                SELECT ev.id, ev.seq, ev.status, ev.at, ev.payload::json
                FROM unnest($13::uuid[], $14::int4[], $15::int4[], $16::text[], $17::timestamptz[], $18::text[])
                    AS ev(id, run_last, seq, status, at, payload)
                JOIN o ON o.id = ev.id AND o.seq = ev.run_last)
            SELECT id, seq FROM o";
        let mut rows = RunColumns::with_capacity(runs.len());
        let mut events = EventColumns::with_capacity(runs.len());
        let mut legal = Vec::with_capacity(runs.len());
        for run in runs {
            let ok = is_consecutive(run);
            legal.push(ok);
            if ok {
                rows.push(run);
                events.push(run);
            }
        }
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(SQL).await?;
        let rows = client
            .query(
                &stmt,
                &[
                    &rows.ids,
                    &rows.statuses,
                    &rows.first_seqs,
                    &rows.last_seqs,
                    &rows.ats,
                    &rows.attempts,
                    &rows.routes,
                    &rows.tx_hashes,
                    &rows.prices,
                    &rows.amounts_out,
                    &rows.errors,
                    &rows.predecessors,
                    &events.ids,
                    &events.run_lasts,
                    &events.seqs,
                    &events.statuses,
                    &events.ats,
                    &events.payloads,
                ],
            )
            .await?;
        drop(client);
        self.replicated().await?;
        // Two runs for one order in a batch (which callers avoid) ending at the
        // same seq would both match here and fail the event log's primary key,
        // failing the batch.
        let recorded: std::collections::HashSet<(Uuid, i32)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        Ok(runs
            .iter()
            .zip(legal)
            .map(|(run, legal)| {
                legal
                    && run.last().is_some_and(|last| recorded.contains(&(last.event.order_id, to_i32(last.event.seq))))
            })
            .collect())
    }
}
