//! Rate limits shared by every API replica: GCRA (the generic cell rate
//! algorithm) in one Lua script, on Redis's own clock, so replicas with skewed
//! clocks agree and a check is one round trip.
//!
//! A subject allowed `per_sec` with `burst` on top keeps one number, its
//! *theoretical arrival time* (TAT). A request at `now` is allowed when
//! `TAT - burst·T <= now` (with `T = 1/per_sec`), and moves the TAT to
//! `max(TAT, now) + T`. From idle, `burst + 1` requests pass at once, then one
//! every `T`: over `t` seconds, `per_sec·t + burst` (and one).

use super::script::Script;
use crate::error::StoreError;
use crate::keys::Keys;
use fred::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Mutex as AsyncMutex;

/// KEYS[1]: the subject's TAT; ARGV: T and burst·T in microseconds, `count`
/// or `peek` (decide without counting), how many requests to count at once
/// (those that pass now, up to it) and how many counted earlier to give back
/// first (a lease's unspent tokens: see [`Leases`]; never with `peek`). Times are written with
/// `%d`: Lua would print a 16-digit number in exponent form.
/// Returns {requests counted (0: none passes now), then remaining or µs until
/// one passes, µs until fully idle}.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local want = tonumber(ARGV[4])
local back = tonumber(ARGV[5])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) - back * interval
if tat < now then tat = now end
local function store(at)
  redis.call('SET', KEYS[1], string.format('%d', at), 'PX', string.format('%d', math.floor((at - now) / 1000) + 1))
end
if tat - tolerance > now then
  if back > 0 then store(tat) end
  return {0, tat - tolerance - now, tat - now}
end
if ARGV[3] == 'peek' then
  return {1, math.floor((tolerance - (tat - now)) / interval) + 1, tat - now}
end
local counted = math.min(want, math.floor((tolerance - (tat - now)) / interval) + 1)
local new_tat = tat + counted * interval
store(new_tat)
return {counted, math.floor((tolerance - (new_tat - now) + interval) / interval), new_tat - now}
";

/// How much a subject may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests per second, at least 1.
    pub per_sec: u32,
    /// Requests allowed at once on top of the rate.
    pub burst: u32,
}

/// What a check decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead; `remaining` more would pass right now; the subject is back to
    /// a full burst after `reset`.
    Allowed { remaining: u64, reset: Duration },
    /// Not now: the next request passes after `retry_after`.
    Limited { retry_after: Duration, reset: Duration },
}

/// GCRA limits in Redis, one per subject.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    client: Client,
    keys: Keys,
    script: Script,
}

impl RateLimiter {
    pub fn new(client: Client, keys: Keys) -> Self {
        Self { client, keys, script: Script::new(GCRA) }
    }

    /// Counts one request of `subject` against `limit`.
    pub async fn check(&self, subject: &str, limit: Limit) -> Result<Decision, StoreError> {
        Ok(self.take(subject, limit, 1, 0).await?.decision())
    }

    /// Whether a request of `subject` would pass now, without counting it.
    pub async fn peek(&self, subject: &str, limit: Limit) -> Result<Decision, StoreError> {
        let reply = self.run(subject, limit, "peek", 1, 0).await?;
        Ok(Grant::from_reply(&reply).decision())
    }

    /// Counts up to `want` requests of `subject` at once, as many as pass now,
    /// after giving back `give_back` requests counted earlier and not made.
    pub async fn take(&self, subject: &str, limit: Limit, want: u32, give_back: u32) -> Result<Grant, StoreError> {
        let reply = self.run(subject, limit, "count", want.max(1), give_back).await?;
        Ok(Grant::from_reply(&reply))
    }

    async fn run(&self, subject: &str, limit: Limit, mode: &str, want: u32, back: u32) -> Result<Vec<i64>, StoreError> {
        let interval = 1_000_000 / u64::from(limit.per_sec.max(1));
        let args = vec![
            interval.to_string(),
            (interval * u64::from(limit.burst)).to_string(),
            mode.to_owned(),
            want.to_string(),
            back.to_string(),
        ];
        self.script.run(&self.client, vec![self.keys.rate(subject)], args).await
    }
}

/// What counting several requests at once got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// `counted` requests (at least one) may go ahead; `remaining` more would
    /// pass right now; the subject is back to a full burst after `reset`.
    Counted { counted: u32, remaining: u64, reset: Duration },
    /// Not one: the next passes after `retry_after`.
    Limited { retry_after: Duration, reset: Duration },
}

impl Grant {
    fn from_reply(reply: &[i64]) -> Self {
        let at = |i: usize| reply.get(i).copied().unwrap_or(0).max(0).unsigned_abs();
        match u32::try_from(at(0)) {
            Ok(counted) if counted > 0 => {
                Self::Counted { counted, remaining: at(1), reset: Duration::from_micros(at(2)) }
            }
            _ => Self::Limited { retry_after: Duration::from_micros(at(1)), reset: Duration::from_micros(at(2)) },
        }
    }

    /// The decision for the first of the requests counted.
    fn decision(self) -> Decision {
        match self {
            Self::Counted { counted, remaining, reset } => {
                Decision::Allowed { remaining: remaining + u64::from(counted) - 1, reset }
            }
            Self::Limited { retry_after, reset } => Decision::Limited { retry_after, reset },
        }
    }
}

/// Most requests one lease holds.
pub const MAX_LEASE: u32 = 64;
/// How long a lease's tokens are spent from before they go back.
pub const LEASE_WINDOW: Duration = Duration::from_millis(100);
/// Subjects whose leases a process keeps before it forgets the stale ones.
const MAX_HELD: usize = 10_000;

/// A shared limit leased to one process a few requests at a time, so that a
/// busy subject costs a round trip to Redis per lease instead of per request.
///
/// A lease is counted in Redis when it is taken: what every replica admits
/// together never exceeds the limit. Its size follows the subject's recent
/// demand on this process (one request at first; what the last lease's rate
/// would spend in [`LEASE_WINDOW`] after that), up to a sixteenth of the
/// burst and [`MAX_LEASE`]: a subject with a burst under 32 is counted one
/// request at a time, exactly as [`RateLimiter::check`] does. What a lease
/// has not spent after [`LEASE_WINDOW`] is given back with the next one, so
/// a subject held near its limit does not lose requests to its leases. The
/// price is precision at the limit: with several replicas, a request can be
/// refused while another replica holds a lease's last few tokens, and
/// `remaining` is as of the lease.
#[derive(Debug, Clone)]
pub struct Leases {
    limiter: RateLimiter,
    held: Arc<Mutex<HashMap<String, Slot>>>,
    taken: Arc<AtomicU64>,
}

/// One subject's lease, if it has one; locked while it is renewed, so that
/// concurrent requests wait for the new lease rather than each take one.
type Slot = Arc<AsyncMutex<Option<Lease>>>;

/// Requests counted in Redis and not yet made, for one subject.
#[derive(Debug)]
struct Lease {
    limit: Limit,
    left: u32,
    used: u32,
    taken_at: Instant,
    /// Others that passed in Redis when it was taken.
    remaining: u64,
    reset_at: Instant,
}

impl Leases {
    pub fn new(limiter: RateLimiter) -> Self {
        Self { limiter, held: Arc::default(), taken: Arc::default() }
    }

    /// Counts one request of `subject` against `limit`, from this process's
    /// lease when it has one.
    pub async fn check(&self, subject: &str, limit: Limit) -> Result<Decision, StoreError> {
        let slot = self.slot(subject);
        let mut lease = slot.lock().await;
        let now = Instant::now();
        if let Some(l) = lease.as_mut().filter(|l| l.limit == limit && l.left > 0 && now < l.taken_at + LEASE_WINDOW) {
            l.left -= 1;
            l.used += 1;
            let reset = l.reset_at.saturating_duration_since(now);
            return Ok(Decision::Allowed { remaining: l.remaining + u64::from(l.left), reset });
        }
        let (give_back, want) = match lease.take() {
            Some(l) if l.limit == limit => (l.left, demand(l.used, now.saturating_duration_since(l.taken_at))),
            // A limit changed since (a key edited): the old lease is dropped.
            _ => (0, 1),
        };
        let want = want.clamp(1, lease_cap(limit));
        self.taken.fetch_add(1, Ordering::Relaxed);
        match self.limiter.take(subject, limit, want, give_back).await? {
            Grant::Counted { counted, remaining, reset } => {
                let left = counted - 1;
                *lease = Some(Lease { limit, left, used: 1, taken_at: now, remaining, reset_at: now + reset });
                Ok(Decision::Allowed { remaining: remaining + u64::from(left), reset })
            }
            Grant::Limited { retry_after, reset } => Ok(Decision::Limited { retry_after, reset }),
        }
    }

    /// Leases taken from Redis so far (each one round trip).
    pub fn taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }

    fn slot(&self, subject: &str) -> Slot {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = held.get(subject) {
            return slot.clone();
        }
        if held.len() >= MAX_HELD {
            // Forget leases nobody is using and whose window is over (their
            // unspent tokens come back to their subject as its limit refills).
            let now = Instant::now();
            held.retain(|_, slot| {
                Arc::strong_count(slot) > 1
                    || slot.try_lock().is_ok_and(|l| l.as_ref().is_some_and(|l| now < l.taken_at + LEASE_WINDOW))
            });
        }
        held.entry(subject.to_owned()).or_default().clone()
    }
}

/// The most one lease of `limit` holds: a sixteenth of its burst, at least
/// one, at most [`MAX_LEASE`].
fn lease_cap(limit: Limit) -> u32 {
    (limit.burst / 16).clamp(1, MAX_LEASE)
}

/// The requests to lease next: what `used` requests in `elapsed` come to over
/// [`LEASE_WINDOW`], rounded up.
fn demand(used: u32, elapsed: Duration) -> u32 {
    let elapsed = elapsed.max(Duration::from_millis(1)).as_micros();
    let wanted = (u128::from(used) * LEASE_WINDOW.as_micros()).div_ceil(elapsed);
    u32::try_from(wanted).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_holds_what_the_last_one_spent_per_window_within_a_sixteenth_of_the_burst() {
        let limit = |burst| Limit { per_sec: 1_000, burst };
        assert_eq!(lease_cap(limit(0)), 1);
        assert_eq!(lease_cap(limit(31)), 1);
        assert_eq!(lease_cap(limit(100)), 6);
        assert_eq!(lease_cap(limit(1_000_000)), MAX_LEASE);
        // 10 requests in 10 ms: 100 in the next window.
        assert_eq!(demand(10, Duration::from_millis(10)), 100);
        // One a second: one at a time.
        assert_eq!(demand(1, Duration::from_secs(1)), 1);
        assert_eq!(demand(3, Duration::from_millis(250)), 2);
        // Back to back (no time measured): as if over a millisecond.
        assert_eq!(demand(2, Duration::ZERO), 200);
    }
}
