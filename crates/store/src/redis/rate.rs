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
use std::time::Duration;

/// KEYS[1]: the subject's TAT; ARGV: T and burst·T in microseconds, and
/// `count` or `peek` (decide without counting). Times are
/// written with `%d`: Lua would print a 16-digit number in exponent form.
/// Returns {allowed (1/0), remaining or µs until allowed, µs until fully idle}.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - tolerance > now then
  return {0, tat - tolerance - now, tat - now}
end
if ARGV[3] == 'peek' then
  return {1, math.floor((tolerance - (tat - now)) / interval) + 1, tat - now}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', string.format('%d', math.floor((new_tat - now) / 1000) + 1))
return {1, math.floor((tolerance - (new_tat - now) + interval) / interval), new_tat - now}
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
        self.run(subject, limit, "count").await
    }

    /// Whether a request of `subject` would pass now, without counting it.
    pub async fn peek(&self, subject: &str, limit: Limit) -> Result<Decision, StoreError> {
        self.run(subject, limit, "peek").await
    }

    async fn run(&self, subject: &str, limit: Limit, mode: &str) -> Result<Decision, StoreError> {
        let interval = 1_000_000 / u64::from(limit.per_sec.max(1));
        let args = vec![interval.to_string(), (interval * u64::from(limit.burst)).to_string(), mode.to_owned()];
        let key = self.keys.rate(subject);
        let reply: Vec<i64> = self.script.run(&self.client, vec![key], args).await?;
        let micros = |i: usize| Duration::from_micros(reply.get(i).copied().unwrap_or(0).max(0).unsigned_abs());
        Ok(match reply.first() {
            Some(1) => Decision::Allowed {
                remaining: reply.get(1).copied().unwrap_or(0).max(0).unsigned_abs(),
                reset: micros(2),
            },
            _ => Decision::Limited { retry_after: micros(1), reset: micros(2) },
        })
    }
}
