//! Drives one order from wherever it stands to a terminal status.
//!
//! Each status change is persisted (order row + event, `seq` exactly +1, guarded
//! in SQL) *before* it is published. An attempt's transaction id is recorded in
//! the `submitted` event before the swap is sent, and before any new attempt the
//! venues are asked whether an earlier attempt's transaction landed — so a retry,
//! or an order picked up again after a crash, never executes twice.
//!
//! Events that nothing happens between are recorded together, as one run (one
//! guarded write, all or nothing), then published in order: `building` and
//! `submitted` always (building the transaction is pure computation), and
//! `routing` with them when the quotes come back within the coalescing window
//! (`OEE_EVENT_COALESCE_MS`; with slow venues `routing` is recorded and
//! published while the quotes are still on their way). Every event is still
//! written, with the time it happened; what is saved is commits.

use crate::metrics::{CodeLabel, METRICS};
use chrono::Utc;
use oee_domain::{
    ErrorInfo, EventDetail, FailureCode, OrderSpec, OrderStatus, RecordedEvent, StatusEvent, Units, format_units,
};
use oee_router::{Receipt, RouteError, Router, VenueError, price, transaction_id};
use oee_runtime::RetryPolicy;
use oee_runtime::metrics::seconds_since;
use oee_store::{Bus, EventWriter, JobRef, OrderRecord, OrderStore, Run, StoreError};
use oee_store::{Notice, OpenOrder};
use std::time::{Duration, Instant};
use tracing::{Instrument, info, info_span, warn};
use uuid::Uuid;

/// How driving an order ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The order is terminal (now or already), and its job is completed.
    Terminal(OrderStatus),
    /// Another writer moved the order first; leave the job to whoever holds it.
    Superseded,
    /// The order was not as given: another writer had moved it before this
    /// run recorded anything. Nothing was done; the job is untouched.
    Stale,
    /// The order rests `open` (armed, or re-opened); its job is completed and
    /// the trigger engine told.
    Resting,
}

/// Executes orders against the router, recording every step.
#[derive(Debug, Clone)]
pub struct Executor {
    pub(crate) orders: OrderStore,
    /// Records events through shared commits.
    pub(crate) events: EventWriter,
    pub(crate) bus: Bus,
    pub(crate) router: Router,
    pub(crate) retry: RetryPolicy,
    /// How long a sent transaction can still land.
    pub(crate) tx_validity: Duration,
    /// How long `routing` waits for the quotes, to be recorded with the route.
    pub(crate) coalesce: Duration,
}

/// An order in progress: the last recorded seq and status, and events made but
/// not yet recorded (they follow that seq).
struct Progress {
    id: Uuid,
    seq: u32,
    status: OrderStatus,
    created_at: chrono::DateTime<Utc>,
    staged: Run,
    /// The job to complete with the terminal event (none when giving an order
    /// up: the dead-letter path moves its job itself).
    job: Option<JobRef>,
    /// Set when an `open` event is staged: what the trigger engine is told
    /// once it is recorded.
    resting: Option<OpenOrder>,
}

impl Progress {
    fn new(order: &OrderRecord) -> Self {
        Self {
            id: order.id,
            seq: order.last_seq,
            status: order.status,
            created_at: order.created_at,
            staged: Vec::new(),
            job: None,
            resting: None,
        }
    }

    /// Makes the next event, stamped now, to be recorded by the next commit.
    fn stage(&mut self, detail: EventDetail) {
        let (seq, from) = match self.staged.last() {
            Some(last) => (last.event.seq + 1, last.event.status()),
            None => (self.seq + 1, self.status),
        };
        debug_assert!(from.can_transition_to(detail.status()), "{from} -> {}", detail.status());
        self.staged.push(RecordedEvent::new(StatusEvent::new(self.id, seq, Utc::now(), detail)));
    }
}

impl Executor {
    /// The router this executor sends swaps through.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Drives the order of `job` to a terminal status and, once it is
    /// there, completes the job (off the active set, acknowledged) in the same
    /// round trip to Redis as the terminal event's publish. A job whose
    /// completion fails stays pending, is delivered again, and finds its order
    /// terminal.
    pub async fn run_job(&self, order: OrderRecord, job: &JobRef) -> Result<Outcome, StoreError> {
        let span = info_span!("order", order_id = %order.id);
        self.run_inner(order, job).instrument(span).await
    }

    async fn run_inner(&self, order: OrderRecord, job: &JobRef) -> Result<Outcome, StoreError> {
        let mut p = Progress::new(&order);
        p.job = Some(job.clone());
        match self.drive(&mut p, &order, job).await {
            Ok(Outcome::Superseded) if p.seq == order.last_seq => Ok(Outcome::Stale),
            outcome => outcome,
        }
    }

    async fn drive(&self, p: &mut Progress, order: &OrderRecord, job: &JobRef) -> Result<Outcome, StoreError> {
        if p.status.is_terminal() {
            if let Err(e) = self.bus.complete_job(p.id, job).await {
                warn!(%job, error = %e, "could not acknowledge the job of a terminal order");
            }
            return Ok(Outcome::Terminal(p.status));
        }
        if p.status == OrderStatus::Pending && order.attempts == 0 {
            METRICS.queue_wait.observe(seconds_since(order.created_at));
        }
        let spec = &order.spec;
        if spec.rests() {
            match p.status {
                // Stored: arm it.
                OrderStatus::Pending => return self.open(p, spec, None).await,
                // Armed, but the job came back: the trigger engine may not have been told.
                OrderStatus::Open => {
                    let expires_at = spec.expires_at().unwrap_or(order.updated_at);
                    let notice = Notice::Open(resting(order.id, spec, expires_at, order.last_seq));
                    self.bus.publish_and_rest(p.id, std::iter::empty(), &notice, Some(job)).await?;
                    return Ok(Outcome::Resting);
                }
                _ => {}
            }
        }
        // Picked up with an attempt already sent — by a worker that died or stalled.
        // That transaction can land until its validity runs out; only after that
        // does "has it landed?" have a final answer.
        self.wait_out_sent_attempt(order).await;
        let mut last_error: Option<ErrorInfo> = None;
        let mut attempt = order.attempts;
        // A resting order's retries are counted from its latest trigger; a
        // trigger records `routing` for its first attempt, which then goes on
        // from there.
        let (first, mut routing_recorded) = if spec.rests() {
            (order.attempts.saturating_sub(1), p.status == OrderStatus::Routing && attempt > 0)
        } else {
            (0, false)
        };
        // A triggered order is routed on the pool states that fired it, or
        // newer ones: a state cached from before the move would miss its
        // minimum and send it back to `open` for nothing.
        let since = if routing_recorded { self.trigger_slot(order).await } else { 0 };
        loop {
            // Whatever an earlier attempt sent may have landed after all.
            if attempt > 0
                && let Some(done) = self.find_landed(order.id, attempt).await
            {
                return self.confirm(p, spec, attempt, &done).await;
            }
            if attempt - first >= self.retry.max_attempts {
                let error = ErrorInfo::new(
                    FailureCode::RetriesExhausted,
                    match &last_error {
                        Some(e) => format!("gave up after {attempt} attempts; last error: {}", e.message),
                        None => format!("gave up after {attempt} attempts"),
                    },
                );
                return self.end(p, EventDetail::Failed { error, attempts: attempt }).await;
            }
            if attempt > 0 && last_error.is_some() {
                tokio::time::sleep(self.retry.delay_before(attempt - first + 1)).await;
            }
            if !std::mem::take(&mut routing_recorded) {
                attempt += 1;
                p.stage(EventDetail::Routing { attempt, last_error: last_error.take(), trigger: None });
            }
            match self.attempt(p, spec, attempt, since).await? {
                Attempt::Over(outcome) => return Ok(outcome),
                Attempt::Transient(error) => {
                    METRICS.retries.get_or_create(&CodeLabel { code: error.code.as_str() }).inc();
                    warn!(attempt, code = %error.code, error = %error.message, "attempt failed transiently");
                    last_error = Some(error);
                }
            }
        }
    }

    /// Ends an order that cannot be processed (e.g. its job was delivered too many
    /// times) with `error` — unless a sent attempt landed, which confirms it
    /// instead. A sent attempt is waited out first, so the answer is final.
    pub async fn give_up(&self, order: OrderRecord, error: ErrorInfo) -> Result<Outcome, StoreError> {
        let span = info_span!("order", order_id = %order.id);
        async move {
            let mut p = Progress::new(&order);
            if p.status.is_terminal() {
                return Ok(Outcome::Terminal(p.status));
            }
            self.wait_out_sent_attempt(&order).await;
            if order.attempts > 0
                && let Some(done) = self.find_landed(order.id, order.attempts).await
            {
                return self.confirm(&mut p, &order.spec, order.attempts, &done).await;
            }
            warn!(code = %error.code, error = %error.message, "giving the order up");
            self.end(&mut p, EventDetail::Failed { error, attempts: order.attempts }).await
        }
        .instrument(span)
        .await
    }

    /// If an attempt was sent (status `submitted`), waits until it can no longer land.
    async fn wait_out_sent_attempt(&self, order: &OrderRecord) {
        if order.status == OrderStatus::Submitted {
            let expiry = order.updated_at + self.tx_validity + Duration::from_secs(1);
            if let Ok(wait) = (expiry - Utc::now()).to_std() {
                info!(wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "waiting out a sent attempt");
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// The slot of the trigger that recorded the order's latest event (0 when
    /// it cannot be read: the route then takes whatever states it has).
    async fn trigger_slot(&self, order: &OrderRecord) -> u64 {
        let latest = self.orders.events_after(order.id, order.last_seq.saturating_sub(1)).await;
        let latest =
            latest.unwrap_or_default().pop().and_then(|json| oee_domain::event::ReceivedEvent::parse(&json).ok());
        latest.and_then(|event| event.trigger).map_or(0, |trigger| trigger.slot)
    }

    /// One attempt, its `routing` event staged or recorded: building →
    /// submitted → confirmed, or why not. The route reads pool states as of
    /// `since` or later.
    async fn attempt(
        &self,
        p: &mut Progress,
        spec: &OrderSpec,
        attempt: u32,
        since: u64,
    ) -> Result<Attempt, StoreError> {
        let routing = Instant::now();
        let route = self.router.route_since(spec, since);
        tokio::pin!(route);
        // Quotes back within the window: `routing` is recorded with the route.
        // Otherwise it is recorded (and published) while they are on their way.
        let routed = tokio::select! {
            biased;
            routed = &mut route => routed,
            () = tokio::time::sleep(self.coalesce) => {
                let (recorded, routed) = tokio::join!(self.commit(p), &mut route);
                if !recorded? {
                    return Ok(Attempt::Over(Outcome::Superseded));
                }
                routed
            }
        };
        METRICS.routing.observe(routing.elapsed().as_secs_f64());
        let plan = match routed {
            Ok(plan) => plan,
            Err(e) if e.is_transient() => {
                // The attempt is on record before the retry.
                if !self.commit(p).await? {
                    return Ok(Attempt::Over(Outcome::Superseded));
                }
                return Ok(Attempt::Transient(route_error(&e)));
            }
            Err(e) => {
                let detail = EventDetail::Failed { error: route_error(&e), attempts: attempt };
                return Ok(Attempt::Over(self.end(p, detail).await?));
            }
        };
        if let Some(floor) = spec.floor()
            && plan.expected_out < floor
        {
            // The price moved away between the trigger and now: rest again.
            let units = |atoms: u64| format_units(u128::from(atoms), spec.token_out.decimals);
            let error = ErrorInfo::new(
                FailureCode::SlippageExceeded,
                format!(
                    "the price moved away: the route returns {} {symbol}, below the minimum {} {symbol}",
                    units(plan.expected_out),
                    units(floor),
                    symbol = spec.token_out.symbol
                ),
            );
            return Ok(Attempt::Over(self.open(p, spec, Some(error)).await?));
        }
        info!(
            attempt,
            dex = plan.label(),
            amount_in = plan.amount_in,
            expected_out = plan.expected_out,
            min_amount_out = plan.min_amount_out,
            legs = %serde_json::to_string(&plan.record.legs).unwrap_or_default(),
            quotes = %serde_json::to_string(&plan.record.quotes).unwrap_or_default(),
            reason = %plan.record.reason,
            "route chosen"
        );
        p.stage(EventDetail::Building { attempt, route: Box::new(plan.record.clone()) });
        let tx = self.router.build(spec, &plan, &transaction_id(p.id, attempt));
        p.stage(EventDetail::Submitted { attempt, tx_hash: tx.id.clone(), instructions: tx.instructions.clone() });
        // The transaction id is durable before the transaction is sent.
        if !self.commit(p).await? {
            return Ok(Attempt::Over(Outcome::Superseded));
        }
        let sending = Instant::now();
        let sent = self.router.send(&tx).await;
        METRICS.execution.observe(sending.elapsed().as_secs_f64());
        match sent {
            Ok(done) => Ok(Attempt::Over(self.confirm(p, spec, attempt, &done).await?)),
            Err(e) if e.is_transient() => Ok(Attempt::Transient(ErrorInfo::new(e.failure_code(), e.to_string()))),
            // The chain refused to fill a resting order below its bound: it rests again.
            Err(e @ VenueError::SlippageExceeded { .. }) if spec.rests() => {
                Ok(Attempt::Over(self.open(p, spec, Some(send_failure(&e, spec))).await?))
            }
            Err(e) => {
                let detail = EventDetail::Failed { error: send_failure(&e, spec), attempts: attempt };
                Ok(Attempt::Over(self.end(p, detail).await?))
            }
        }
    }

    /// The landed execution of any attempt up to `attempt`, newest first.
    async fn find_landed(&self, order_id: Uuid, attempt: u32) -> Option<Receipt> {
        for n in (1..=attempt).rev() {
            match self.router.landed(&transaction_id(order_id, n)).await {
                Ok(Some(done)) => return Some(done),
                Ok(None) => {}
                Err(e) => {
                    warn!(attempt = n, error = %e, "could not ask whether the transaction landed")
                }
            }
        }
        None
    }

    /// Ends the order `confirmed` with the receipt of `attempt`'s transaction.
    async fn confirm(
        &self,
        p: &mut Progress,
        spec: &OrderSpec,
        attempt: u32,
        done: &Receipt,
    ) -> Result<Outcome, StoreError> {
        let detail = EventDetail::Confirmed {
            attempt,
            tx_hash: done.tx_id.clone(),
            dex: done.dex_label().to_owned(),
            executed_price: price(spec, done.amount_in(), done.amount_out()),
            amount_out: Units { atoms: done.amount_out(), decimals: spec.token_out.decimals },
        };
        self.end(p, detail).await
    }

    /// Opens a limit or sniper order (or re-opens it, saying why in `last_error`), unless
    /// it has expired by now, which ends it `expired`. The job is completed and
    /// the trigger engine told in the same round trip as the publish.
    async fn open(
        &self,
        p: &mut Progress,
        spec: &OrderSpec,
        last_error: Option<ErrorInfo>,
    ) -> Result<Outcome, StoreError> {
        if !spec.rests() {
            return Err(StoreError::corrupt("a market order cannot rest"));
        }
        let expires_at =
            spec.expires_at().ok_or_else(|| StoreError::corrupt("a stored resting order has an expiry"))?;
        if Utc::now() >= expires_at {
            return self.end(p, EventDetail::Expired { expires_at }).await;
        }
        p.stage(EventDetail::Open {
            expires_at,
            min_amount_out: spec.floor().map(|atoms| Units { atoms, decimals: spec.token_out.decimals }),
            limit_price: spec.limit.as_ref().and_then(|l| l.limit_price.clone()),
            max_price: spec.sniper.as_ref().and_then(|t| t.max_price.clone()),
            last_error,
        });
        p.resting = Some(resting(p.id, spec, expires_at, 0));
        Ok(if self.commit(p).await? { Outcome::Resting } else { Outcome::Superseded })
    }

    /// Records a terminal event (with whatever is staged before it); the job is
    /// completed with its publish.
    async fn end(&self, p: &mut Progress, detail: EventDetail) -> Result<Outcome, StoreError> {
        let code = match &detail {
            EventDetail::Failed { error, .. } => error.code.as_str(),
            _ => "",
        };
        p.stage(detail);
        if !self.commit(p).await? {
            return Ok(Outcome::Superseded);
        }
        METRICS.order_ended(p.status.as_str(), code, seconds_since(p.created_at));
        info!(status = %p.status, "order ended");
        Ok(Outcome::Terminal(p.status))
    }

    /// Records the staged events as one run, then publishes them in order (with
    /// the job's completion, when the run ends the order). Returns `false` when
    /// another writer moved the order first: nothing was recorded, and this
    /// worker must stop touching it.
    async fn commit(&self, p: &mut Progress) -> Result<bool, StoreError> {
        let run = std::mem::take(&mut p.staged);
        let Some(last) = run.last().map(|r| &r.event) else {
            return Ok(true);
        };
        let (seq, status) = (last.seq, last.status());
        let (recorded, run) = self.events.record_run(run).await;
        if !recorded? {
            warn!(seq, status = %status, "the order moved on elsewhere; stopping");
            return Ok(false);
        }
        p.seq = seq;
        p.status = status;
        // Pub/sub is at-most-once; the events are already durable, and followers
        // catch up from the log, so a failed publish is only logged.
        let events = run.iter().map(|r| r.json.as_str());
        if status == OrderStatus::Open
            && let Some(mut resting) = p.resting.take()
        {
            // Unlike a publish, telling the trigger engine must not be lost: on
            // failure the job stays unacknowledged and comes back.
            resting.last_seq = seq;
            let job = p.job.take();
            self.bus.publish_and_rest(p.id, events, &Notice::Open(resting), job.as_ref()).await?;
            return Ok(true);
        }
        let job = if status.is_terminal() { p.job.take() } else { None };
        if let Err(e) = self.bus.publish_and_complete(p.id, events, job.as_ref()).await {
            warn!(seq, error = %e, "could not publish status events");
        }
        Ok(true)
    }
}

/// How one attempt ended.
enum Attempt {
    /// The order is terminal, or another writer has it: no more attempts here.
    Over(Outcome),
    /// A transient failure: another attempt may succeed.
    Transient(ErrorInfo),
}

/// A resting order as the trigger engine is told of it.
fn resting(id: Uuid, spec: &OrderSpec, expires_at: chrono::DateTime<Utc>, last_seq: u32) -> OpenOrder {
    OpenOrder {
        id,
        mint_in: spec.token_in.mint.clone(),
        mint_out: spec.token_out.mint.clone(),
        amount_in: spec.amount_in,
        min_amount_out: spec.limit.as_ref().map_or(0, |l| l.min_amount_out),
        expires_at,
        last_seq,
        sniper: spec.sniper.is_some(),
    }
}

/// A permanent send failure in words, amounts in the output token's units.
fn send_failure(e: &VenueError, spec: &OrderSpec) -> ErrorInfo {
    match e {
        VenueError::SlippageExceeded { amount_out, min_amount_out } => {
            let units = |atoms: u64| format_units(u128::from(atoms), spec.token_out.decimals);
            let symbol = &spec.token_out.symbol;
            ErrorInfo::new(
                e.failure_code(),
                format!(
                    "the pool moved: the swap would return {} {symbol}, below the minimum {} {symbol}",
                    units(*amount_out),
                    units(*min_amount_out)
                ),
            )
        }
        _ => ErrorInfo::new(e.failure_code(), e.to_string()),
    }
}

fn route_error(e: &RouteError) -> ErrorInfo {
    ErrorInfo::new(e.failure_code(), e.to_string())
}
