//! The consumer loop: read jobs from the stream as concurrency frees up, run each
//! on its own task, acknowledge after the terminal event is committed.
//!
//! Concurrency is a semaphore: the loop only asks Redis for as many jobs as it has
//! free permits, so at most `concurrency` orders are ever in flight here and the
//! rest wait in the stream for whichever worker is free.

use crate::executor::{Executor, Outcome};
use crate::metrics::{InFlight, METRICS, ReasonLabel};
use crate::pacing;
use oee_store::{Bus, Job, StoreError, StreamReader};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
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

    /// Runs until `shutdown`, then stops reading, gives in-flight orders up to the
    /// grace period to finish, and returns. Unfinished jobs stay pending in the
    /// group for another worker to reclaim.
    pub async fn run(&self, shutdown: CancellationToken) -> Result<(), StoreError> {
        self.bus.ensure_group().await?;
        info!(consumer = self.reader.consumer(), concurrency = self.concurrency, "worker consuming");
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let mut tasks = JoinSet::new();
        let mut backoff = pacing::READ_RETRY_FIRST;
        let reclaim_every = pacing::reclaim_every(self.reclaim_idle);
        let mut next_reclaim = tokio::time::Instant::now();
        let mut reclaim_cursor = "0-0".to_owned();
        let sweep_every = pacing::sweep_every(self.sweep_age);
        let mut next_sweep = tokio::time::Instant::now() + sweep_every;
        while !shutdown.is_cancelled() {
            while tasks.try_join_next().is_some() {}
            // The semaphore is never closed, so acquiring only waits.
            let Ok(first) = (tokio::select! {
                p = permits.clone().acquire_owned() => p,
                () = shutdown.cancelled() => break,
            }) else {
                break;
            };
            let mut held = vec![first];
            while let Ok(p) = permits.clone().try_acquire_owned() {
                held.push(p);
            }
            if tokio::time::Instant::now() >= next_sweep {
                next_sweep = tokio::time::Instant::now() + sweep_every;
                if let Err(e) = self.sweep().await {
                    warn!(error = %e, "sweeping for lost orders failed");
                }
            }
            // Now and then, take over jobs a stopped or stalled worker left pending.
            if tokio::time::Instant::now() >= next_reclaim {
                next_reclaim = tokio::time::Instant::now() + reclaim_every;
                match self
                    .bus
                    .reclaim(self.reader.consumer(), self.reclaim_idle, &reclaim_cursor, held.len() as u64)
                    .await
                {
                    Ok((jobs, cursor)) if !jobs.is_empty() => {
                        reclaim_cursor = cursor;
                        info!(jobs = jobs.len(), "reclaimed jobs from an idle consumer");
                        METRICS.reclaims.inc_by(jobs.len() as u64);
                        let counts = self.bus.deliveries(&jobs).await.unwrap_or_else(|e| {
                            warn!(error = %e, "could not read delivery counts");
                            vec![0; jobs.len()]
                        });
                        let (mut retry, mut exhausted) = (Vec::new(), Vec::new());
                        for (job, count) in jobs.into_iter().zip(counts) {
                            if count > self.max_deliveries { exhausted.push(job) } else { retry.push(job) }
                        }
                        self.spawn_jobs(&mut tasks, &mut held, exhausted, true).await;
                        self.spawn_jobs(&mut tasks, &mut held, retry, false).await;
                        continue;
                    }
                    Ok((_, cursor)) => reclaim_cursor = cursor,
                    Err(e) => warn!(error = %e, "reclaiming idle jobs failed"),
                }
            }
            let jobs = match self.reader.read(held.len() as u64, self.block).await {
                Ok(jobs) => {
                    backoff = pacing::READ_RETRY_FIRST;
                    jobs
                }
                Err(e) => {
                    // Redis lost its data (a restart without persistence): the group is
                    // gone with the stream. Recreate it; the sweeper re-queues lost orders.
                    if e.is_missing_group() {
                        warn!("the consumer group is gone; recreating it");
                        if let Err(e) = self.bus.ensure_group().await {
                            warn!(error = %e, "could not recreate the consumer group");
                        }
                    }
                    warn!(error = %e, retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX), "reading the job stream failed");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = shutdown.cancelled() => {}
                    }
                    backoff = (backoff * 2).min(pacing::READ_RETRY_MAX);
                    continue;
                }
            };
            self.spawn_jobs(&mut tasks, &mut held, jobs, false).await;
        }
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
        Ok(())
    }

    /// Processes whatever is in the stream now and returns when nothing is left:
    /// a deterministic way for tests to drive the worker. Returns the jobs handled.
    pub async fn run_until_idle(&self) -> Result<usize, StoreError> {
        self.bus.ensure_group().await?;
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
    async fn spawn_jobs(
        &self,
        tasks: &mut JoinSet<()>,
        held: &mut Vec<OwnedSemaphorePermit>,
        jobs: Vec<Job>,
        dead_letter: bool,
    ) {
        for (job, order) in self.load(jobs).await {
            let permit = held.pop();
            let this = self.clone();
            tasks.spawn(async move {
                let _counted = InFlight::start();
                if dead_letter {
                    this.dead_letter(job, order).await;
                } else {
                    this.process(job, order).await;
                }
                drop(permit);
            });
        }
    }

    /// Loads the orders of a batch of jobs in one query.
    async fn load(&self, jobs: Vec<Job>) -> Vec<(Job, Option<oee_store::OrderRecord>)> {
        let ids: Vec<Uuid> = jobs.iter().filter_map(|j| j.order_id).collect();
        let mut found: HashMap<Uuid, oee_store::OrderRecord> = match self.executor.orders.get_many(&ids).await {
            Ok(orders) => orders.into_iter().map(|o| (o.id, o)).collect(),
            Err(e) => {
                // Leave the jobs pending: they are retried once reclaimed.
                error!(error = %e, jobs = jobs.len(), "could not load orders; leaving their jobs pending");
                return Vec::new();
            }
        };
        jobs.into_iter()
            .map(|job| {
                let order = job.order_id.and_then(|id| found.remove(&id));
                (job, order)
            })
            .collect()
    }

    async fn process(&self, job: Job, order: Option<oee_store::OrderRecord>) {
        let Some(order) = order else {
            // No order behind the job: nothing can ever execute it.
            warn!(entry = %job.entry, order_id = ?job.order_id, "job names no stored order; dead-lettering it");
            match self.bus.dead_letter(&job, "the job names no stored order").await {
                Ok(()) => {
                    METRICS.dead_letters.get_or_create(&ReasonLabel { reason: "no_order" }).inc();
                }
                Err(e) => warn!(entry = %job.entry, error = %e, "could not dead-letter a job; it stays pending"),
            }
            return;
        };
        let id = order.id;
        // A finished order's job is acknowledged by the executor, with the
        // order's last event.
        match self.executor.run_job(order, &job.entry).await {
            Ok(Outcome::Finished(_) | Outcome::Superseded) => {}
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
            match self.executor.give_up(order, error).await {
                Ok(_) => {}
                Err(e) => {
                    warn!(entry = %job.entry, error = %e, "could not give the order up; the job stays pending");
                    return;
                }
            }
        }
        if let Err(e) = self.bus.dead_letter(&job, &reason).await {
            warn!(entry = %job.entry, error = %e, "could not dead-letter a job; it stays pending");
            return;
        }
        METRICS.dead_letters.get_or_create(&ReasonLabel { reason: "max_deliveries" }).inc();
        if let Some(id) = job.order_id
            && let Err(e) = self.bus.deactivate(id).await
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
        if !self.bus.try_lock(pacing::SWEEPER_LOCK, self.reader.consumer(), self.sweep_age).await? {
            return Ok(0);
        }
        // Acknowledged jobs are of no further use: keep the stream short.
        match self.bus.trim_acknowledged().await {
            Ok(0) => {}
            Ok(removed) => tracing::debug!(removed, "trimmed acknowledged jobs from the stream"),
            Err(e) => warn!(error = %e, "could not trim the job stream"),
        }
        let before = chrono::Utc::now() - self.sweep_age;
        let stale = self.executor.orders.stale_unfinished(before, pacing::SWEEP_BATCH).await?;
        let lost = self.bus.inactive(&stale).await?;
        for id in &lost {
            warn!(order_id = %id, "re-queueing an order whose job was lost");
            self.bus.enqueue(*id).await?;
            METRICS.requeued.inc();
        }
        Ok(lost.len())
    }
}
