//! How often the consumer loop does each of its chores, and how long it waits:
//! every interval, bound and clamp of the loop, named once.

use std::time::Duration;

/// How long one read waits for new jobs; it also bounds how quickly a stop is noticed.
pub const READ_BLOCK: Duration = Duration::from_millis(500);

/// How long a drain read (`run_until_idle`) waits before taking the stream as empty.
pub const IDLE_READ_BLOCK: Duration = Duration::from_millis(1);

/// The first wait after a failed read; it doubles per failure in a row…
pub const READ_RETRY_FIRST: Duration = Duration::from_millis(50);
/// …up to this.
pub const READ_RETRY_MAX: Duration = Duration::from_secs(5);

/// How often the loop checks whether the stores answer again, while jobs a
/// store failure left pending wait to be taken up.
pub const RESUME_EVERY: Duration = Duration::from_millis(500);
/// How long the stores may take to answer the ping that precedes a resume.
pub const STORE_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Reclaim is tried four times per idle window (so an orphaned job waits at most
/// a quarter of a window past it), within these bounds.
const RECLAIM_CHECKS_PER_IDLE: u32 = 4;
const RECLAIM_EVERY_MIN: Duration = Duration::from_millis(250);
const RECLAIM_EVERY_MAX: Duration = Duration::from_secs(10);

/// The sweep runs twice per sweep age (so a lost order waits at most half an
/// age past it), within these bounds.
const SWEEPS_PER_AGE: u32 = 2;
const SWEEP_EVERY_MIN: Duration = Duration::from_millis(250);
const SWEEP_EVERY_MAX: Duration = Duration::from_secs(30);

/// Most lost orders one sweep re-queues; the next sweep takes the rest.
pub const SWEEP_BATCH: i64 = 500;

/// The lease that lets one worker at a time sweep (see `Locks`).
pub const SWEEPER_LOCK: &str = "sweeper";

/// How often to look for jobs idle longer than `reclaim_idle` in other hands.
pub fn reclaim_every(reclaim_idle: Duration) -> Duration {
    (reclaim_idle / RECLAIM_CHECKS_PER_IDLE).clamp(RECLAIM_EVERY_MIN, RECLAIM_EVERY_MAX)
}

/// How often to sweep for orders unchanged for `sweep_age` whose job was lost.
pub fn sweep_every(sweep_age: Duration) -> Duration {
    (sweep_age / SWEEPS_PER_AGE).clamp(SWEEP_EVERY_MIN, SWEEP_EVERY_MAX)
}
