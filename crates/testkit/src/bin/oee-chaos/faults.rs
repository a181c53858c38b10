//! The faults a soak injects, and the seeded schedule it injects them on.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::time::Duration;

/// One fault. Process indices count the APIs first, then the workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL an API replica; started again 2 s later.
    KillApi(usize),
    /// SIGTERM an API replica (it drains and exits); started again.
    StopApi(usize),
    /// SIGKILL a worker; started again 3 s later.
    KillWorker(usize),
    /// SIGTERM a worker (it finishes its orders and exits); started again.
    StopWorker(usize),
    /// SIGKILL the Redis primary; the Sentinels promote the replica, and the
    /// old primary comes back as a replica.
    KillRedisPrimary,
    /// SIGKILL the PostgreSQL primary; the standby is promoted a second
    /// later and the old one rebuilt as its standby.
    KillPostgresPrimary,
    /// SIGSTOP a process (API or worker) for a few seconds, then SIGCONT.
    Pause(usize, Duration),
    /// Close every engine connection to Redis and to PostgreSQL.
    DropConnections,
    /// Queue a job naming no stored order (a bug or a hand-made entry).
    PoisonJob,
    /// SIGKILL a worker and leave it down for [`OUTAGE`] (long soaks only).
    WorkerOutage(usize),
    /// SIGKILL an API replica and leave it down for [`OUTAGE`] (long soaks only).
    ApiOutage(usize),
}

/// How long an outage fault keeps its process down: past the `for:` of the
/// alerts for a process that is down (1 minute).
pub const OUTAGE: Duration = Duration::from_secs(75);
/// Soaks shorter than this draw no outage faults.
const OUTAGES_FROM: Duration = Duration::from_secs(300);

impl Fault {
    pub fn describe(&self, names: &[String]) -> String {
        match *self {
            Self::KillApi(i) | Self::KillWorker(i) => format!("kill -9 {}", names[i]),
            Self::StopApi(i) | Self::StopWorker(i) => format!("SIGTERM {}", names[i]),
            Self::KillRedisPrimary => "kill -9 the Redis primary".to_owned(),
            Self::KillPostgresPrimary => "kill -9 the PostgreSQL primary, promote the standby".to_owned(),
            Self::Pause(i, d) => format!("SIGSTOP {} for {:.1} s", names[i], d.as_secs_f64()),
            Self::DropConnections => "drop every Redis and PostgreSQL connection".to_owned(),
            Self::PoisonJob => "queue a job naming no order".to_owned(),
            Self::WorkerOutage(i) | Self::ApiOutage(i) => {
                format!("kill -9 {}, down for {} s", names[i], OUTAGE.as_secs())
            }
        }
    }

    /// Alerts that must fire for this fault before the next one: only those
    /// the shipped rules raise within seconds (the rest have `for:` periods
    /// of minutes, longer than a soak's gaps; they are reported when they fire).
    pub fn expected_alerts(&self) -> &'static [&'static str] {
        match self {
            Self::KillRedisPrimary | Self::KillPostgresPrimary => &["OeeStoreErrors"],
            Self::PoisonJob => &["OeeDeadLetters"],
            Self::WorkerOutage(_) => &["OeeWorkerDown"],
            Self::ApiOutage(_) => &["OeeApiDown"],
            _ => &[],
        }
    }
}

/// When each fault happens, as offsets from the start of the soak.
#[derive(Debug)]
pub struct Schedule {
    pub faults: Vec<(Duration, Fault)>,
}

impl Schedule {
    /// Every kind of fault once (outages only in soaks of 5 minutes or
    /// more), in an order drawn from `seed`, then random
    /// ones, each `gap` apart (drawn between its bounds), the last at least
    /// `settle` before `duration` ends.
    pub fn draw(
        seed: u64,
        duration: Duration,
        gap: (Duration, Duration),
        settle: Duration,
        apis: usize,
        workers: usize,
    ) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let processes = apis + workers;
        let one = |rng: &mut StdRng, kind: usize| -> Fault {
            let api = rng.random_range(0..apis);
            let worker = apis + rng.random_range(0..workers);
            match kind {
                0 => Fault::KillApi(api),
                1 => Fault::StopApi(api),
                2 => Fault::KillWorker(worker),
                3 => Fault::StopWorker(worker),
                4 => Fault::KillRedisPrimary,
                5 => Fault::KillPostgresPrimary,
                6 => {
                    Fault::Pause(rng.random_range(0..processes), Duration::from_millis(rng.random_range(2_000..6_000)))
                }
                7 => Fault::DropConnections,
                8 => Fault::PoisonJob,
                9 => Fault::WorkerOutage(worker),
                _ => Fault::ApiOutage(api),
            }
        };
        let kinds_drawn = if duration >= OUTAGES_FROM { 11 } else { 9 };
        let mut kinds: Vec<usize> = (0..kinds_drawn).collect();
        kinds.shuffle(&mut rng);
        let mut faults = Vec::new();
        let mut at = Duration::ZERO;
        let mut n = 0;
        loop {
            let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
            at += Duration::from_millis(rng.random_range(millis(gap.0)..=millis(gap.1)));
            if at + settle > duration {
                break;
            }
            let kind = kinds.get(n).copied().unwrap_or_else(|| rng.random_range(0..kinds_drawn));
            faults.push((at, one(&mut rng, kind)));
            n += 1;
        }
        Self { faults }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_draws_the_same_schedule_and_every_kind_comes_first() {
        let draw = |seed| {
            Schedule::draw(
                seed,
                Duration::from_secs(600),
                (Duration::from_secs(10), Duration::from_secs(20)),
                Duration::from_secs(20),
                2,
                3,
            )
        };
        let (a, b) = (draw(7), draw(7));
        assert_eq!(a.faults, b.faults);
        assert_ne!(a.faults, draw(8).faults);
        let first: std::collections::HashSet<_> =
            a.faults.iter().take(11).map(|(_, f)| std::mem::discriminant(f)).collect();
        assert_eq!(first.len(), 11, "{:?}", a.faults);
        let short = Schedule::draw(
            7,
            Duration::from_secs(120),
            (Duration::from_secs(8), Duration::from_secs(16)),
            Duration::from_secs(10),
            2,
            3,
        );
        assert!(short.faults.iter().all(|(_, f)| !matches!(f, Fault::WorkerOutage(_) | Fault::ApiOutage(_))));
        assert!(a.faults.windows(2).all(|w| w[1].0 - w[0].0 >= Duration::from_secs(10)));
        assert!(a.faults.last().is_some_and(|(at, _)| *at + Duration::from_secs(20) <= Duration::from_secs(600)));
    }
}
