//! The consumer loop: read jobs from the stream as concurrency frees up, run each
//! on its own task, acknowledge after the terminal event is committed.
//!
//! Concurrency is a semaphore: the loop only asks Redis for as many jobs as it has
//! free permits, so at most `concurrency` orders are ever in flight here and the
//! rest wait in the stream for whichever worker is free.
//!
//! A job this worker was handed but could not see through because a store failed
//! (its order could not be loaded, a step's write failed, or the read's reply was
//! lost with the connection) stays pending under this consumer. Rather than wait
//! for another worker to reclaim it after `reclaim_idle`, the loop re-reads its
//! own pending jobs once the stores answer again, skipping those still running,
//! so orders in flight through a store blip finish seconds after it ends.

use crate::executor::{Executor, Outcome};
use crate::metrics::{InFlight, METRICS, ReasonLabel};
use crate::pacing;
use crate::trigger::TriggerEngine;
use oee_store::{Bus, Job, JobRef, StoreError, StreamReader};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use tracing::{error, info, warn};
use uuid::Uuid;

/// The worker: a consumer in the group, with bounded concurrency.
#[derive(Debug, Clone)]
pub struct Consumer {
    pub(crate) executor: Executor,
    pub(crate) bus: Bus,
    pub(crate) reader: StreamReader,
    pub(crate) concurrency: usize,
    /// How long one read waits for new jobs; also bounds how quickly a stop is noticed.
    pub(crate) block: Duration,
    pub(crate) grace: Duration,
    /// Jobs idle this long in another consumer's hands are taken over.
    pub(crate) reclaim_idle: Duration,
    /// Unfinished orders unchanged this long, and not in the active set, are re-queued.
    pub(crate) sweep_age: Duration,
    /// A job delivered more often than this is dead-lettered.
    pub(crate) max_deliveries: u64,
    /// Jobs this process is running now, and whether some were left pending by
    /// a store failure.
    pub(crate) own: OwnJobs,
    /// The trigger engine this process runs beside its consumer, if any.
    pub(crate) trigger: Option<Arc<TriggerEngine>>,
    /// The market simulator, run beside the loop (`None`: `OEE_SIM_TICK_MS=0`).
    pub(crate) simulator: Option<crate::MarketSimulator>,
}

/// This consumer's jobs: those running now, and whether any were left pending
/// by a store failure and should be taken up again.
#[derive(Debug, Clone, Default)]
pub(crate) struct OwnJobs {
    running: Arc<Mutex<HashSet<JobRef>>>,
    left_pending: Arc<AtomicBool>,
}

impl OwnJobs {
    fn running(&self) -> std::sync::MutexGuard<'_, HashSet<JobRef>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes that a job stays pending because a store failed.
    fn leave_pending(&self) {
        self.left_pending.store(true, Ordering::Relaxed);
    }

    /// Whether jobs were left pending since the last call.
    fn take_left_pending(&self) -> bool {
        self.left_pending.swap(false, Ordering::Relaxed)
    }
}

/// While a job is in here, it is running in this process.
struct Running {
    own: OwnJobs,
    job: JobRef,
}

impl Running {
    /// Marks `job` running, unless it already is.
    fn start(own: &OwnJobs, job: &JobRef) -> Option<Self> {
        own.running().insert(job.clone()).then(|| Self { own: own.clone(), job: job.clone() })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.own.running().remove(&self.job);
    }
}

/// When the loop's chores are next due, and where reclaiming goes on from in
/// each partition.
struct Schedule {
    next_sweep: Instant,
    sweep_every: Duration,
    next_reclaim: Instant,
    reclaim_every: Duration,
    reclaim_cursors: Vec<String>,
    next_resume: Instant,
    read_backoff: Duration,
}

impl Schedule {
    fn new(consumer: &Consumer) -> Self {
        let now = Instant::now();
        let sweep_every = pacing::sweep_every(consumer.sweep_age);
        Self {
            next_sweep: now + sweep_every,
            sweep_every,
            next_reclaim: now,
            reclaim_every: pacing::reclaim_every(consumer.reclaim_idle),
            reclaim_cursors: vec!["0-0".to_owned(); usize::from(consumer.bus.keys().partitions())],
            next_resume: now,
            read_backoff: pacing::READ_RETRY_FIRST,
        }
    }

    /// Whether a chore is due (and, if so, schedules its next run).
    fn due(next: &mut Instant, every: Duration) -> bool {
        let now = Instant::now();
        if now < *next {
            return false;
        }
        *next = now + every;
        true
    }
}

impl Consumer {
    /// The job bus this worker consumes.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// The executor (and through it the venues), for inspection.
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// The market simulator [`Consumer::run`] runs beside the loop, if on
    /// (tests may step it instead).
    pub fn simulator(&self) -> Option<&crate::MarketSimulator> {
        self.simulator.as_ref()
    }

    /// Runs until `shutdown`, then stops reading, gives in-flight orders up to the
    /// grace period to finish, and returns. Unfinished jobs stay pending in the
    /// group for another worker to reclaim.
    ///
    /// Each turn waits for free permits, then does whichever chore is due —
    /// sweeping for lost orders, reclaiming jobs idle elsewhere, taking up its
    /// own jobs left pending by a store failure — and reads new jobs. The
    /// market simulator, if on, runs beside it until the same `shutdown`.
    pub async fn run(&self, shutdown: CancellationToken) -> Result<(), StoreError> {
        self.bus.jobs.ensure_group().await?;
        // Aborted with this future (a killed worker's lease expires by itself).
        let market = self.simulator.clone().map(|sim| AbortOnDropHandle::new(tokio::spawn(sim.run(shutdown.clone()))));
        info!(consumer = self.reader.consumer(), concurrency = self.concurrency, "worker consuming");
        let trigger = self.trigger.clone().map(|engine| tokio::spawn(engine.run(shutdown.clone())));
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let mut tasks = JoinSet::new();
        let mut schedule = Schedule::new(self);
        while !shutdown.is_cancelled() {
            while tasks.try_join_next().is_some() {}
            let Some(mut held) = free_permits(&permits, &shutdown).await else { break };
            if Schedule::due(&mut schedule.next_sweep, schedule.sweep_every) {
                self.sweep_logged().await;
            }
            if Schedule::due(&mut schedule.next_reclaim, schedule.reclaim_every)
                && self.reclaim(&mut schedule.reclaim_cursors, &mut tasks, &mut held).await
            {
                continue;
            }
            if self.own.take_left_pending() {
                if Schedule::due(&mut schedule.next_resume, pacing::RESUME_EVERY) && self.stores_answer().await {
                    self.resume_own_pending(&mut tasks, &mut held).await;
                } else {
                    self.own.leave_pending(); // not yet: keep the mark for a later turn
                }
            }
            self.read_new(&mut schedule, &mut tasks, &mut held, &shutdown).await;
        }
        self.drain(tasks).await;
        if let Some(market) = market {
            // It finishes the tick in progress (so its trades are published)
            // and releases its lease; past the grace period it is aborted.
            if tokio::time::timeout(self.grace, market).await.is_err() {
                warn!("the market simulator did not stop in time; its lease expires by itself");
            }
        }
        if let Some(trigger) = trigger {
            let _ = trigger.await;
        }
        Ok(())
    }

    /// Sweeps for lost orders, logging a failure (the next sweep tries again).
    async fn sweep_logged(&self) {
        if let Err(e) = self.sweep().await {
            warn!(error = %e, "sweeping for lost orders failed");
        }
    }

    /// Takes over jobs a stopped or stalled worker left pending, in each
    /// partition from its cursor on, as many as `held` permits; those delivered
    /// too often are given up. Returns whether it took any (the turn is then
    /// used up).
    async fn reclaim(&self, cursors: &mut [String], tasks: &mut JoinSet<()>, held: &mut Held) -> bool {
        let mut jobs = Vec::new();
        for (p, cursor) in (0u16..).zip(cursors.iter_mut()) {
            let wanted = (held.len() - jobs.len().min(held.len())) as u64;
            if wanted == 0 {
                break;
            }
            match self.bus.jobs.reclaim(p, self.reader.consumer(), self.reclaim_idle, cursor, wanted).await {
                Ok((taken, next)) => {
                    *cursor = next;
                    jobs.extend(taken);
                }
                Err(e) => warn!(partition = p, error = %e, "reclaiming idle jobs failed"),
            }
        }
        if jobs.is_empty() {
            return false;
        }
        info!(jobs = jobs.len(), "reclaimed jobs from an idle consumer");
        METRICS.reclaims.inc_by(jobs.len() as u64);
        self.spawn_counted(tasks, held, jobs).await;
        true
    }

    /// Whether both stores answer a ping now.
    async fn stores_answer(&self) -> bool {
        oee_store::Readiness::check(self.executor.orders.pool(), &self.bus, pacing::STORE_PROBE_TIMEOUT).await.ready()
    }

    /// Takes up again this consumer's own jobs that a store failure left
    /// pending, skipping those still running. Each is delivered once more
    /// (re-reading counts as a delivery), so this runs only once the stores
    /// answer, not on every turn of an outage; and a job is not given up here
    /// for its count: its deliveries were this worker's, not crashes.
    async fn resume_own_pending(&self, tasks: &mut JoinSet<()>, held: &mut Held) {
        let jobs = match self.reader.read_own_pending(held.len() as u64 + self.concurrency as u64).await {
            Ok(jobs) => jobs,
            Err(e) => {
                warn!(error = %e, "could not read this worker's pending jobs");
                self.own.leave_pending();
                return;
            }
        };
        let waiting: Vec<Job> = {
            let running = self.own.running();
            jobs.into_iter().filter(|job| !running.contains(&job.at)).take(held.len()).collect()
        };
        if !waiting.is_empty() {
            info!(jobs = waiting.len(), "taking up jobs left pending by a store failure");
            self.spawn_jobs(tasks, held, waiting, false).await;
        }
    }

    /// Reads new jobs, as many as `held` permits, waiting up to the read block;
    /// after a failed read, pauses with back-off (the reply may have been lost
    /// with the connection: the jobs it handed out are taken up later).
    async fn read_new(
        &self,
        schedule: &mut Schedule,
        tasks: &mut JoinSet<()>,
        held: &mut Held,
        shutdown: &CancellationToken,
    ) {
        match self.reader.read(held.len() as u64, self.block).await {
            Ok(jobs) => {
                schedule.read_backoff = pacing::READ_RETRY_FIRST;
                if self.reader.take_partly_failed() {
                    self.own.leave_pending(); // a partition's reply may be lost
                }
                self.spawn_jobs(tasks, held, jobs, false).await;
            }
            Err(e) => {
                self.own.leave_pending();
                // Redis lost its data (a restart without persistence): the group is
                // gone with the stream. Recreate it; the sweeper re-queues lost orders.
                if e.is_missing_group() {
                    warn!("the consumer group is gone; recreating it");
                    if let Err(e) = self.bus.jobs.ensure_group().await {
                        warn!(error = %e, "could not recreate the consumer group");
                    }
                }
                let pause = schedule.read_backoff;
                warn!(error = %e, retry_in_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX), "reading the job stream failed");
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = shutdown.cancelled() => {}
                }
                schedule.read_backoff = (pause * 2).min(pacing::READ_RETRY_MAX);
            }
        }
    }

    /// Waits up to the grace period for the jobs in flight; what is left stays
    /// pending for another worker to reclaim.
    async fn drain(&self, mut tasks: JoinSet<()>) {
        info!(
            in_flight = tasks.len(),
            grace_ms = u64::try_from(self.grace.as_millis()).unwrap_or(u64::MAX),
            "worker stopping"
        );
        let drained = tokio::time::timeout(self.grace, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            warn!(left = tasks.len(), "grace period over; unfinished orders are left to be reclaimed");
            tasks.abort_all();
        }
    }

    /// Runs jobs delivered before, giving up those delivered more than
    /// `max_deliveries` times.
    async fn spawn_counted(&self, tasks: &mut JoinSet<()>, held: &mut Held, jobs: Vec<Job>) {
        let counts = self.bus.jobs.deliveries(&jobs).await.unwrap_or_else(|e| {
            warn!(error = %e, "could not read delivery counts");
            vec![0; jobs.len()]
        });
        let (mut retry, mut exhausted) = (Vec::new(), Vec::new());
        for (job, count) in jobs.into_iter().zip(counts) {
            if count > self.max_deliveries { exhausted.push(job) } else { retry.push(job) }
        }
        self.spawn_jobs(tasks, held, exhausted, true).await;
        self.spawn_jobs(tasks, held, retry, false).await;
    }

    /// Processes whatever is in the stream now and returns when nothing is left:
    /// a deterministic way for tests to drive the worker. Returns the jobs handled.
    pub async fn run_until_idle(&self) -> Result<usize, StoreError> {
        self.bus.jobs.ensure_group().await?;
        let mut handled = 0;
        loop {
            let jobs = self.reader.read(self.concurrency as u64, pacing::IDLE_READ_BLOCK).await?;
            if jobs.is_empty() {
                return Ok(handled);
            }
            handled += jobs.len();
            let mut tasks = JoinSet::new();
            for (job, order) in self.load(jobs).await {
                let this = self.clone();
                tasks.spawn(async move { this.process(job, order).await });
            }
            while tasks.join_next().await.is_some() {}
        }
    }

    /// Loads the jobs' orders and runs each job on its own task, holding one of
    /// `held`'s permits until it is done (or gives it up, with `dead_letter`).
    async fn spawn_jobs(&self, tasks: &mut JoinSet<()>, held: &mut Held, jobs: Vec<Job>, dead_letter: bool) {
        for (job, order) in self.load(jobs).await {
            let Some(running) = Running::start(&self.own, &job.at) else { continue };
            let permit = held.permits.pop();
            let semaphore = held.semaphore.clone();
            let this = self.clone();
            tasks.spawn(async move {
                // A read over several partitions may return a job or two more
                // than the permits held: those wait here for one.
                let permit = match permit {
                    Some(permit) => Some(permit),
                    None => semaphore.acquire_owned().await.ok(),
                };
                let _counted = InFlight::start();
                let _running = running;
                if dead_letter {
                    this.dead_letter(job, order).await;
                } else {
                    this.process(job, order).await;
                }
                drop(permit);
            });
        }
    }

    /// Loads the orders of a batch of jobs: those a first delivery carries
    /// as they were queued, the others in one query.
    async fn load(&self, jobs: Vec<Job>) -> Vec<(Job, Option<oee_store::OrderRecord>)> {
        let mut found: HashMap<Uuid, oee_store::OrderRecord> = HashMap::with_capacity(jobs.len());
        let mut ids = Vec::new();
        for job in &jobs {
            let Some(id) = job.order_id else { continue };
            match job.queued.as_deref().map(|text| oee_store::orders::queued::decode(id, text)) {
                Some(Ok(order)) => {
                    found.insert(id, order);
                }
                Some(Err(e)) => {
                    warn!(order_id = %id, error = %e, "a job's queued order is unreadable; reading the order");
                    ids.push(id);
                }
                None => ids.push(id),
            }
        }
        if !ids.is_empty() {
            match self.executor.orders.get_many(&ids).await {
                Ok(orders) => found.extend(orders.into_iter().map(|o| (o.id, o))),
                Err(e) => {
                    // Leave the jobs pending: taken up again once the store answers.
                    error!(error = %e, jobs = jobs.len(), "could not load orders; leaving their jobs pending");
                    self.own.leave_pending();
                    return Vec::new();
                }
            }
        }
        jobs.into_iter()
            .map(|job| {
                let order = job.order_id.and_then(|id| found.remove(&id));
                (job, order)
            })
            .collect()
    }

    /// Dead-letters a job with no order behind it: nothing can ever execute it.
    async fn no_order(&self, job: &Job) {
        warn!(entry = %job.at, order_id = ?job.order_id, "job names no stored order; dead-lettering it");
        match self.bus.jobs.dead_letter(job, "the job names no stored order").await {
            Ok(()) => {
                METRICS.dead_letters.get_or_create(&ReasonLabel { reason: "no_order" }).inc();
            }
            Err(e) => warn!(entry = %job.at, error = %e, "could not dead-letter a job; it stays pending"),
        }
    }

    async fn process(&self, job: Job, order: Option<oee_store::OrderRecord>) {
        let Some(order) = order else {
            return self.no_order(&job).await;
        };
        let id = order.id;
        // A finished order's job is acknowledged by the executor, with the
        // order's last event.
        let mut outcome = self.executor.run_job(order, &job.at).await;
        if job.queued.is_some() && matches!(outcome, Ok(Outcome::Stale)) {
            // The order as queued was out of date (its job was queued twice,
            // say): go on from the order as stored.
            outcome = match self.executor.orders.get(id).await {
                Ok(Some(order)) => self.executor.run_job(order, &job.at).await,
                Ok(None) => return self.no_order(&job).await,
                Err(e) => Err(e),
            };
        }
        match outcome {
            Ok(Outcome::Terminal(_) | Outcome::Superseded | Outcome::Stale | Outcome::Resting) => {}
            Err(e) if e.is_unavailable() => {
                warn!(order_id = %id, error = %e, "a store failed mid-order; the job is taken up again once it answers");
                self.own.leave_pending();
            }
            Err(e) => {
                error!(order_id = %id, error = %e, "order processing stopped; the job stays pending")
            }
        }
    }

    /// Gives up on a job delivered too many times: its order ends `failed` with
    /// `DEAD_LETTERED` (unless a sent attempt landed), and the job moves to the
    /// dead-letter stream.
    async fn dead_letter(&self, job: Job, order: Option<oee_store::OrderRecord>) {
        let reason = format!("delivered more than {} times without finishing", self.max_deliveries);
        if let Some(order) = order {
            let error = oee_domain::ErrorInfo::new(oee_domain::FailureCode::DeadLettered, reason.clone());
            if let Err(e) = self.executor.give_up(order, error).await {
                warn!(entry = %job.at, error = %e, "could not give the order up; the job stays pending");
                return;
            }
        }
        if let Err(e) = self.bus.jobs.dead_letter(&job, &reason).await {
            warn!(job = %job.at, error = %e, "could not dead-letter a job; it stays pending");
            return;
        }
        METRICS.dead_letters.get_or_create(&ReasonLabel { reason: "max_deliveries" }).inc();
        if let Some(id) = job.order_id
            && let Err(e) = self.bus.active.remove(job.at.partition, id).await
        {
            warn!(order_id = %id, error = %e, "could not remove the order from the active set");
        }
    }

    /// Re-queues orders whose job was lost: stored but never queued (the API died
    /// between the two writes) or queued in a Redis that lost its data. An order
    /// is in the active set from submit to terminal, so one that is unfinished,
    /// unchanged for `sweep_age`, and not in the set has no job anywhere. One
    /// worker sweeps at a time; a duplicate job would be harmless anyway (every
    /// write is guarded), only wasteful.
    pub async fn sweep(&self) -> Result<usize, StoreError> {
        if !self.bus.locks.try_acquire(pacing::SWEEPER_LOCK, self.reader.consumer(), self.sweep_age).await? {
            return Ok(0);
        }
        // Acknowledged jobs are of no further use: keep the stream short.
        match self.bus.jobs.trim_acknowledged().await {
            Ok(0) => {}
            Ok(removed) => tracing::debug!(removed, "trimmed acknowledged jobs from the stream"),
            Err(e) => warn!(error = %e, "could not trim the job stream"),
        }
        let before = chrono::Utc::now() - self.sweep_age;
        let stale = self.executor.orders.stale_unfinished(before, pacing::SWEEP_BATCH).await?;
        let lost = self.bus.active.absent(&stale).await?;
        for id in &lost {
            warn!(order_id = %id, "re-queueing an order whose job was lost");
            self.bus.enqueue(*id).await?;
            METRICS.requeued.inc();
        }
        Ok(lost.len())
    }
}

/// The permits the loop holds for this turn, and the semaphore they are from.
struct Held {
    semaphore: Arc<Semaphore>,
    permits: Vec<OwnedSemaphorePermit>,
}

impl Held {
    fn len(&self) -> usize {
        self.permits.len()
    }
}

/// Waits for one free permit and takes every other free one, or `None` once
/// `shutdown` is cancelled.
async fn free_permits(permits: &Arc<Semaphore>, shutdown: &CancellationToken) -> Option<Held> {
    // The semaphore is never closed, so acquiring only waits.
    let first = tokio::select! {
        p = permits.clone().acquire_owned() => p.ok()?,
        () = shutdown.cancelled() => return None,
    };
    let mut held = vec![first];
    while let Ok(p) = permits.clone().try_acquire_owned() {
        held.push(p);
    }
    Some(Held { semaphore: permits.clone(), permits: held })
}
