//! Configuration in layers: built-in defaults, then an optional TOML file
//! (`OEE_CONFIG=path`, or `oee.toml` in the working directory when present), then
//! environment variables. Validated once at start: a bad value stops the process
//! with a message naming it.

use crate::retry::{MAX_ATTEMPTS, RetryPolicy};
use crate::telemetry::LogFormat;
use anyhow::{Context, bail};
use config::{Config, ConfigError, Environment, File, FileFormat};
use oee_domain::{Token, TokenRegistry};
use oee_router::{Latency, VenueProfile};
use oee_store::{Batching, PgSettings, RedisSettings};
use serde::{Deserialize, Deserializer, de};
use std::net::{SocketAddr, TcpListener};
use std::ops::RangeInclusive;
use std::time::Duration;

/// Every setting of both binaries. Field names are the environment variables
/// without their `OEE_` prefix, lower-cased (`OEE_WORKER_CONCURRENCY` →
/// `worker_concurrency`); a duration drops its unit from the name
/// (`OEE_RETRY_BASE_MS` → `retry_base`). `DATABASE_URL`, `REDIS_URL` and
/// `LOG_FORMAT` are read without a prefix, as the contract names them.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub database_url: String,
    pub redis_url: String,
    pub http_addr: String,
    /// Where `oee-worker` serves `/metrics`, `/health` and `/ready` (the API
    /// serves them on its HTTP address).
    pub metrics_addr: String,
    /// This process's name in logs, metrics, consumer names and the
    /// `X-Oee-Instance` header; `<hostname>-<pid>` when empty.
    pub instance: String,
    /// actix-web worker threads.
    pub http_workers: usize,
    pub namespace: String,
    pub worker_concurrency: usize,
    /// Whether `/api` routes need an API key (`required`) or not (`off`: every
    /// request acts as the account `anonymous` with every scope).
    pub auth: AuthMode,
    /// An admin key `oee-api` stores (if it is not stored yet) when it applies
    /// migrations: how a deployment gets its first key from a Secret.
    pub bootstrap_admin_key: SecretText,
    /// Proxies in front of the API that append to `X-Forwarded-For` (nginx, an
    /// Ingress): the client's address is the one the outermost of them saw.
    /// 0: the TCP peer is the client. Failed authentication is limited per address.
    pub trusted_proxy_hops: u8,
    /// Failed authentications one client address may make a second…
    pub auth_failure_rate: u32,
    /// …and at once on top of that; past them, 429 before any key lookup.
    pub auth_failure_burst: u32,
    /// `realistic` or `instant`.
    #[serde(deserialize_with = "venue_latency")]
    pub venue_latency: Latency,
    pub venue_failure_rate: f64,
    /// `pretty` or `json`.
    pub log_format: LogFormat,
    pub pg_pool_size: usize,
    /// Streaming standbys that must have flushed an order's acceptance, events
    /// and reads before anyone is told of them (0: do not wait). For
    /// asynchronously replicated PostgreSQL; see docs/RELIABILITY.md.
    pub pg_standby_acks: usize,
    /// Partitions of the Redis job stream (1–256): more spread the queue over
    /// a Redis Cluster's primaries. The same on every API and worker of a
    /// namespace; see docs/RELIABILITY.md before changing it.
    pub job_partitions: u16,
    /// Bound on any one store call (connect, statement, Redis command).
    #[serde(rename = "store_timeout_ms", deserialize_with = "millis")]
    pub store_timeout: Duration,
    /// Attempts per order, at most [`MAX_ATTEMPTS`].
    pub max_attempts: u32,
    /// First retry back-off; doubles per attempt, with jitter (see [`RetryPolicy`]).
    #[serde(rename = "retry_base_ms", deserialize_with = "millis")]
    pub retry_base: Duration,
    /// How long a stopping process may take to finish in-flight work.
    #[serde(rename = "shutdown_grace_ms", deserialize_with = "millis")]
    pub shutdown_grace: Duration,
    /// How long a stopping API keeps serving after failing readiness, so load
    /// balancers stop sending to it first (a Kubernetes preStop delay).
    #[serde(rename = "shutdown_delay_ms", deserialize_with = "millis")]
    pub shutdown_delay: Duration,
    /// How long a sent transaction can still land (Solana: ~150 blocks, about a
    /// minute); whole seconds.
    #[serde(rename = "tx_validity_secs", deserialize_with = "secs")]
    pub tx_validity: Duration,
    /// A job unacknowledged this long is taken over by another worker.
    #[serde(rename = "reclaim_idle_ms", deserialize_with = "millis")]
    pub reclaim_idle: Duration,
    /// An unfinished order unchanged this long and absent from the active set is re-queued.
    #[serde(rename = "sweep_age_ms", deserialize_with = "millis")]
    pub sweep_age: Duration,
    /// A job delivered more often than this goes to the dead-letter stream.
    pub max_deliveries: u64,
    /// New orders are shed (503 `OVERLOADED`, nothing stored) while the job
    /// stream's lag — jobs no worker has taken yet — is above this (0: never).
    pub max_queue_lag: u64,
    /// Orders per second one API key may submit, unless the key says otherwise.
    pub rate_per_sec: u32,
    /// Orders one key may submit at once on top of its rate, unless it says otherwise.
    pub rate_burst: u32,
    /// WebSockets one API process holds at most; more are closed with 1013.
    pub max_sockets: usize,
    /// A socket whose send cannot complete this long is closed with 1013.
    #[serde(rename = "ws_send_timeout_ms", deserialize_with = "millis")]
    pub ws_send_timeout: Duration,
    /// The kernel send buffer of each API connection, in bytes (0: the
    /// kernel's own, auto-tuned up to `net.ipv4.tcp_wmem`'s maximum). It bounds
    /// what a client that stops reading holds in the kernel before its sends
    /// start to wait and the send timeout can see it.
    pub socket_send_buffer: usize,
    /// How old a pool state a worker may quote from (zero: read it for every quote).
    #[serde(rename = "pool_cache_ms", deserialize_with = "millis")]
    pub pool_cache: Duration,
    /// How often the API re-reads the simulated chain's pools, which its quotes
    /// are computed from (one query for every pool). A quote from pool states
    /// older than [`Settings::quote_max_age`] is refused with 503 instead.
    #[serde(rename = "quote_refresh_ms", deserialize_with = "millis")]
    pub quote_refresh: Duration,
    /// How long a worker waits for the quotes before recording `routing` on its
    /// own; quotes back sooner are recorded with the route (zero: never wait).
    #[serde(rename = "event_coalesce_ms", deserialize_with = "millis")]
    pub event_coalesce: Duration,
    /// How long a busy group-commit lane (new orders, status events, the
    /// simulated chain's swaps) waits for more writes before sending a batch.
    #[serde(rename = "commit_linger_ms", deserialize_with = "millis")]
    pub commit_linger: Duration,
    /// How long a worker's lease on a pair's limit-order books lasts unless
    /// renewed (renewed at a third of it): after a worker dies, its pairs are
    /// taken over within this.
    #[serde(rename = "trigger_lease_ms", deserialize_with = "millis")]
    pub trigger_lease: Duration,
    /// The longest the trigger engine's read of the pool-change stream waits:
    /// how often, at least, it looks at new resting orders and expiries (pool
    /// moves wake it at once).
    #[serde(rename = "trigger_poll_ms", deserialize_with = "millis")]
    pub trigger_poll: Duration,
    /// How often the market simulator makes one outside trade on every pool
    /// (zero: no simulator). Whichever worker holds the `market-simulator`
    /// lease drives it.
    #[serde(rename = "sim_tick_ms", deserialize_with = "millis")]
    pub sim_tick: Duration,
    /// The largest outside trade, in bps of the pool's input-side depth; each
    /// trade's size is drawn at random up to it.
    pub sim_volatility_bps: u32,
    /// Seeds the simulator's draws, so a run's outside trades repeat (random
    /// when unset).
    pub sim_seed: Option<u64>,
    /// The market simulator launches a token every this many ticks, for
    /// demos of sniper orders (0: never).
    pub sim_launch_every: u32,
    /// Entries the pool-change stream `{ns}:pools` keeps (trimmed approximately).
    pub pool_stream_max_len: u64,
    /// Tokens added to the built-in registry (config file only).
    pub tokens: Vec<Token>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: "postgres://postgres@127.0.0.1:5432/oee".into(),
            redis_url: "redis://127.0.0.1:6379".into(),
            http_addr: "127.0.0.1:8080".into(),
            metrics_addr: "127.0.0.1:9091".into(),
            instance: String::new(),
            http_workers: 1,
            namespace: "oee".into(),
            worker_concurrency: 10,
            auth: AuthMode::Required,
            bootstrap_admin_key: SecretText::default(),
            trusted_proxy_hops: 0,
            auth_failure_rate: 5,
            auth_failure_burst: 20,
            venue_latency: Latency::Realistic,
            venue_failure_rate: 0.05,
            log_format: LogFormat::Pretty,
            pg_pool_size: 16,
            pg_standby_acks: 0,
            job_partitions: 1,
            store_timeout: Duration::from_millis(2_000),
            max_attempts: 3,
            retry_base: Duration::from_millis(250),
            shutdown_grace: Duration::from_millis(10_000),
            shutdown_delay: Duration::ZERO,
            tx_validity: Duration::from_secs(60),
            reclaim_idle: Duration::from_millis(120_000),
            sweep_age: Duration::from_millis(60_000),
            max_deliveries: 5,
            max_queue_lag: 10_000,
            rate_per_sec: 100,
            rate_burst: 100,
            max_sockets: 20_000,
            ws_send_timeout: Duration::from_millis(10_000),
            socket_send_buffer: 262_144,
            pool_cache: Duration::from_millis(100),
            quote_refresh: Duration::from_millis(250),
            event_coalesce: Duration::from_millis(5),
            commit_linger: Duration::from_millis(1),
            trigger_lease: Duration::from_millis(3_000),
            trigger_poll: Duration::from_millis(20),
            sim_tick: Duration::from_millis(5_000),
            sim_volatility_bps: 15,
            sim_seed: None,
            sim_launch_every: 0,
            pool_stream_max_len: oee_store::redis::pool_changes::DEFAULT_MAX_LEN,
            tokens: Vec::new(),
        }
    }
}

/// Environment variables the contract names without the `OEE_` prefix.
const UNPREFIXED: &[(&str, &str)] =
    &[("DATABASE_URL", "database_url"), ("REDIS_URL", "redis_url"), ("LOG_FORMAT", "log_format")];

/// The name `OEE_VENUE_LATENCY` gives `latency`.
pub const fn latency_name(latency: Latency) -> &'static str {
    match latency {
        Latency::Realistic => "realistic",
        Latency::Instant => "instant",
    }
}

/// The share of the connection pool one event lane may count on.
const POOL_SHARE_PER_EVENT_LANE: usize = 4;
/// Most concurrent event batches in a worker.
const MAX_EVENT_LANES: usize = 4;
/// Concurrent order batches in an API process: its pool also serves every read.
const ORDER_LANES: usize = 2;
/// Refreshes of the API's pool states that may fail in a row before its quotes
/// are refused: one failure is a blip, four are an outage.
const QUOTE_REFRESHES_KEPT: u32 = 4;

impl Settings {
    /// Loads defaults, the optional file and the process environment.
    pub fn load() -> anyhow::Result<Self> {
        Self::load_from(|name| std::env::var(name).ok())
    }

    /// Loads with `env` standing in for the process environment (for tests).
    pub fn load_from(env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut builder = Config::builder();
        match env("OEE_CONFIG") {
            Some(path) => builder = builder.add_source(File::new(&path, FileFormat::Toml).required(true)),
            None => builder = builder.add_source(File::new("oee.toml", FileFormat::Toml).required(false)),
        }
        let prefixed: config::Map<String, String> = std::env::vars()
            .filter_map(|(k, _)| k.strip_prefix("OEE_").map(|_| k.clone()))
            .chain(KNOWN.iter().map(|k| format!("OEE_{}", k.to_ascii_uppercase())))
            .filter_map(|k| env(&k).map(|v| (k, v)))
            .collect();
        builder = builder.add_source(
            Environment::with_prefix("OEE")
                .prefix_separator("_")
                .ignore_empty(true)
                .try_parsing(true)
                .source(Some(prefixed)),
        );
        for (var, key) in UNPREFIXED {
            builder = builder.set_override_option(*key, env(var).filter(|v| !v.is_empty()))?;
        }
        let settings: Self = builder.build().context("reading configuration")?.try_deserialize().map_err(explain)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Fails on a value that cannot work; warns on a risky one.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.http_socket_addr()?;
        self.metrics_socket_addr()?;
        if !self.instance.bytes().all(|b| b.is_ascii_graphic()) || self.instance.len() > 64 {
            bail!("OEE_INSTANCE must be at most 64 printable characters without spaces; got {:?}", self.instance);
        }
        if self.namespace.is_empty()
            || !self.namespace.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            bail!("OEE_NAMESPACE must be non-empty letters, digits, '-', '_' or '.'; got {:?}", self.namespace);
        }
        within("OEE_WORKER_CONCURRENCY", self.worker_concurrency, 1..=10_000)?;
        within("OEE_VENUE_FAILURE_RATE", self.venue_failure_rate, 0.0..=1.0)?;
        within("OEE_MAX_ATTEMPTS", self.max_attempts, 1..=MAX_ATTEMPTS)?;
        within("OEE_PG_POOL_SIZE", self.pg_pool_size, 1..=1_000)?;
        within("OEE_PG_STANDBY_ACKS", self.pg_standby_acks, 0..=16)?;
        within("OEE_JOB_PARTITIONS", self.job_partitions, 1..=oee_store::keys::MAX_PARTITIONS)?;
        within("OEE_HTTP_WORKERS", self.http_workers, 1..=256)?;
        within("OEE_STORE_TIMEOUT_MS", self.store_timeout.as_millis(), 50..=60_000)?;
        within("OEE_TX_VALIDITY_SECS", self.tx_validity.as_secs(), 1..=600)?;
        within("OEE_RECLAIM_IDLE_MS", self.reclaim_idle.as_millis(), 1_000..=3_600_000)?;
        within("OEE_SWEEP_AGE_MS", self.sweep_age.as_millis(), 500..=86_400_000)?;
        within("OEE_MAX_DELIVERIES", self.max_deliveries, 1..=1_000)?;
        within("OEE_MAX_QUEUE_LAG", self.max_queue_lag, 0..=100_000_000)?;
        within("OEE_RATE_PER_SEC", self.rate_per_sec, 1..=1_000_000)?;
        within("OEE_RATE_BURST", self.rate_burst, 0..=1_000_000)?;
        within("OEE_TRUSTED_PROXY_HOPS", self.trusted_proxy_hops, 0..=8)?;
        within("OEE_AUTH_FAILURE_RATE", self.auth_failure_rate, 1..=1_000_000)?;
        within("OEE_AUTH_FAILURE_BURST", self.auth_failure_burst, 0..=1_000_000)?;
        within("OEE_MAX_SOCKETS", self.max_sockets, 1..=1_000_000)?;
        within("OEE_WS_SEND_TIMEOUT_MS", self.ws_send_timeout.as_millis(), 100..=600_000)?;
        if self.socket_send_buffer != 0 {
            within("OEE_SOCKET_SEND_BUFFER", self.socket_send_buffer, 4_096..=67_108_864)?;
        }
        within("OEE_SHUTDOWN_DELAY_MS", self.shutdown_delay.as_millis(), 0..=600_000)?;
        within("OEE_POOL_CACHE_MS", self.pool_cache.as_millis(), 0..=10_000)?;
        within("OEE_QUOTE_REFRESH_MS", self.quote_refresh.as_millis(), 10..=5_000)?;
        within("OEE_EVENT_COALESCE_MS", self.event_coalesce.as_millis(), 0..=1_000)?;
        within("OEE_COMMIT_LINGER_MS", self.commit_linger.as_millis(), 0..=50)?;
        within("OEE_TRIGGER_LEASE_MS", self.trigger_lease.as_millis(), 300..=60_000)?;
        within("OEE_TRIGGER_POLL_MS", self.trigger_poll.as_millis(), 1..=10_000)?;
        if !self.sim_tick.is_zero() {
            within("OEE_SIM_TICK_MS", self.sim_tick.as_millis(), 50..=3_600_000)?;
        }
        within("OEE_SIM_VOLATILITY_BPS", self.sim_volatility_bps, 1..=1_000)?;
        within("OEE_POOL_STREAM_MAX_LEN", self.pool_stream_max_len, 1_000..=100_000_000)?;
        self.registry()?;
        if self.venue_failure_rate > 0.5 {
            tracing::warn!(rate = self.venue_failure_rate, "more than half of all swaps will fail transiently");
        }
        let realistic = self.venue_latency == Latency::Realistic;
        // A job in flight for longer than the reclaim idle time is taken over while its
        // worker still runs it: safe (writes are guarded, attempts wait out the
        // validity window), but wasted work. The longest job: a resumed order waits
        // out one sent transaction's validity, then runs every attempt with its
        // longest back-off.
        let longest_job = self.tx_validity
            + self.venue_latency.longest_attempt() * self.max_attempts
            + self.retry().longest_total_delay();
        if realistic && self.reclaim_idle < longest_job {
            tracing::warn!(
                reclaim_idle_ms = millis_of(self.reclaim_idle),
                longest_job_ms = millis_of(longest_job),
                "OEE_RECLAIM_IDLE_MS is shorter than the longest job: live workers' orders may be taken over"
            );
        }
        if realistic && self.shutdown_grace < self.venue_latency.longest_swap() {
            tracing::warn!(
                grace_ms = millis_of(self.shutdown_grace),
                longest_swap_ms = millis_of(self.venue_latency.longest_swap()),
                "the shutdown grace period is shorter than a realistic swap: in-flight orders will be left to recovery"
            );
        }
        Ok(())
    }

    pub fn http_socket_addr(&self) -> anyhow::Result<SocketAddr> {
        self.http_addr.parse().with_context(|| format!("OEE_HTTP_ADDR {:?} is not host:port", self.http_addr))
    }

    pub fn metrics_socket_addr(&self) -> anyhow::Result<SocketAddr> {
        self.metrics_addr.parse().with_context(|| format!("OEE_METRICS_ADDR {:?} is not host:port", self.metrics_addr))
    }

    /// Listens on `OEE_HTTP_ADDR`, or fails saying which variable to change.
    pub fn bind_http(&self) -> anyhow::Result<TcpListener> {
        bind(self.http_socket_addr()?, "OEE_HTTP_ADDR", "the address oee-api serves HTTP and WebSockets on", "API")
    }

    /// Listens on `OEE_METRICS_ADDR`, or fails saying which variable to change.
    pub fn bind_metrics(&self) -> anyhow::Result<TcpListener> {
        bind(
            self.metrics_socket_addr()?,
            "OEE_METRICS_ADDR",
            "the address oee-worker serves /metrics, /health and /ready on",
            "worker",
        )
    }

    /// `OEE_INSTANCE`, or `<hostname>-<pid>`.
    pub fn instance_name(&self) -> String {
        if !self.instance.is_empty() {
            return self.instance.clone();
        }
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "oee".to_owned());
        format!("{host}-{}", std::process::id())
    }

    pub fn venue_profile(&self) -> VenueProfile {
        VenueProfile { latency: self.venue_latency, failure_rate: self.venue_failure_rate }
    }

    /// How often and how patiently an order is retried.
    pub fn retry(&self) -> RetryPolicy {
        RetryPolicy { max_attempts: self.max_attempts, base_delay: self.retry_base }
    }

    /// Concurrent event batches in a worker: enough to keep commits overlapping,
    /// well inside the connection pool (the chain and order loads need
    /// connections too).
    pub fn event_lanes(&self) -> usize {
        (self.pg_pool_size / POOL_SHARE_PER_EVENT_LANE).clamp(1, MAX_EVENT_LANES)
    }

    /// The oldest pool states the API quotes from: four refreshes
    /// (`OEE_QUOTE_REFRESH_MS`), 1 s by default. Older means the refreshes have
    /// been failing (PostgreSQL down or slow), and a quote is refused with 503
    /// rather than priced on states that old.
    pub fn quote_max_age(&self) -> Duration {
        self.quote_refresh * QUOTE_REFRESHES_KEPT
    }

    /// Concurrent order batches in an API process.
    pub fn order_lanes(&self) -> usize {
        ORDER_LANES
    }

    /// How a worker's status events share commits.
    pub fn event_batching(&self) -> Batching {
        Batching { lanes: self.event_lanes(), linger: self.commit_linger }
    }

    /// How an API's new orders share commits.
    pub fn order_batching(&self) -> Batching {
        Batching { lanes: self.order_lanes(), linger: self.commit_linger }
    }

    pub fn registry(&self) -> anyhow::Result<TokenRegistry> {
        TokenRegistry::with_extra(self.tokens.clone()).context("tokens in the configuration")
    }

    pub fn pg(&self) -> PgSettings {
        PgSettings { url: self.database_url.clone(), pool_size: self.pg_pool_size, timeout: self.store_timeout }
    }

    /// The order store over `pool`, holding back what it tells until
    /// `OEE_PG_STANDBY_ACKS` standbys have it.
    pub fn order_store(&self, pool: oee_store::PgPool) -> oee_store::OrderStore {
        let gate = oee_store::standby::StandbyGate::start(pool.clone(), self.pg_standby_acks, self.store_timeout);
        oee_store::OrderStore::new(pool).with_standby_gate(gate)
    }

    /// The engine's Redis on this namespace, refusing to start when the
    /// namespace is laid out for another `OEE_JOB_PARTITIONS` than ours.
    pub async fn bus(&self) -> anyhow::Result<oee_store::Bus> {
        let redis = self.redis();
        let bus = oee_store::Bus::new(oee_store::redis::client(&redis).await?, &redis);
        if let Some(theirs) = bus.check_partitions().await? {
            bail!(
                "OEE_JOB_PARTITIONS is {ours}, but namespace {ns:?} is laid out for {theirs} partitions (Redis key {key}): \
                 every API and worker of a namespace must use the same count. To change it, set the key to the new \
                 count (redis-cli SET {key} {ours}) and restart every process with it; orders queued under the old \
                 count are re-queued by the sweeper (docs/OPERATIONS.md, \"Changing OEE_JOB_PARTITIONS\")",
                ours = self.job_partitions,
                ns = self.namespace,
                key = bus.keys().layout(),
            );
        }
        Ok(bus)
    }

    pub fn redis(&self) -> RedisSettings {
        RedisSettings {
            url: self.redis_url.clone(),
            namespace: self.namespace.clone(),
            partitions: self.job_partitions,
            timeout: self.store_timeout,
        }
    }
}

/// A duration as whole milliseconds, for log fields.
fn millis_of(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Reads a `*_ms` value: whole milliseconds.
fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_millis)
}

/// Reads a `*_secs` value: whole seconds.
fn secs<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_secs)
}

/// Reads `OEE_VENUE_LATENCY` by a [`latency_name`].
/// A setting that is a secret: read like any other, never printed.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretText(Option<String>);

impl SecretText {
    /// The value, if set and not empty.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.is_empty())
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.get().is_some() { "SecretText(set)" } else { "SecretText(unset)" })
    }
}

/// Whether requests need an API key (`OEE_AUTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// Every `/api` route needs `Authorization: Bearer <key>`.
    #[default]
    Required,
    /// Nothing is checked: local experiments only.
    Off,
}

impl AuthMode {
    /// The name `OEE_AUTH` gives this mode.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Off => "off",
        }
    }
}

impl<'de> Deserialize<'de> for AuthMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        [Self::Required, Self::Off]
            .into_iter()
            .find(|m| m.as_str() == name)
            .ok_or_else(|| de::Error::custom(format!("OEE_AUTH must be required or off; got {name:?}")))
    }
}

fn venue_latency<'de, D: Deserializer<'de>>(d: D) -> Result<Latency, D::Error> {
    let name = String::deserialize(d)?;
    [Latency::Realistic, Latency::Instant]
        .into_iter()
        .find(|l| latency_name(*l) == name)
        .ok_or_else(|| de::Error::custom(format!("OEE_VENUE_LATENCY must be realistic or instant; got {name:?}")))
}

/// A configuration error as one line: a value refused by its own check
/// already names its variable and is shown alone; any other is a value of the
/// wrong type.
fn explain(e: ConfigError) -> anyhow::Error {
    if let ConfigError::At { error, key: Some(key), .. } = &e
        && let ConfigError::Message(message) = error.as_ref()
        && message.starts_with(&variable(key))
    {
        return anyhow::anyhow!("{message}");
    }
    anyhow::Error::new(e).context("configuration has a value of the wrong type")
}

/// The environment variable that sets `key`.
fn variable(key: &str) -> String {
    UNPREFIXED
        .iter()
        .find(|(_, k)| *k == key)
        .map_or_else(|| format!("OEE_{}", key.to_ascii_uppercase()), |(var, _)| (*var).to_owned())
}

/// Fails unless `value` lies in `range`, naming the variable.
fn within<T: PartialOrd + std::fmt::Display>(name: &str, value: T, range: RangeInclusive<T>) -> anyhow::Result<()> {
    if range.contains(&value) {
        Ok(())
    } else {
        bail!("{name} must be within {}..={}; got {value}", range.start(), range.end())
    }
}

/// Settings read from `OEE_*` variables even when the process environment is
/// replaced by a test's map.
const KNOWN: &[&str] = &[
    "auth",
    "bootstrap_admin_key",
    "trusted_proxy_hops",
    "auth_failure_rate",
    "auth_failure_burst",
    "http_addr",
    "metrics_addr",
    "instance",
    "http_workers",
    "namespace",
    "worker_concurrency",
    "venue_latency",
    "venue_failure_rate",
    "pg_pool_size",
    "pg_standby_acks",
    "job_partitions",
    "store_timeout_ms",
    "max_attempts",
    "retry_base_ms",
    "shutdown_grace_ms",
    "shutdown_delay_ms",
    "tx_validity_secs",
    "reclaim_idle_ms",
    "sweep_age_ms",
    "max_deliveries",
    "max_queue_lag",
    "rate_per_sec",
    "rate_burst",
    "max_sockets",
    "ws_send_timeout_ms",
    "socket_send_buffer",
    "pool_cache_ms",
    "quote_refresh_ms",
    "event_coalesce_ms",
    "commit_linger_ms",
    "trigger_lease_ms",
    "trigger_poll_ms",
    "sim_tick_ms",
    "sim_volatility_bps",
    "sim_seed",
    "pool_stream_max_len",
];

/// Listens on `addr`, the value of `var`. A failure names the variable and what
/// it is for: a second process started with the defaults on one host otherwise
/// only learns that an address is in use.
fn bind(addr: SocketAddr, var: &str, purpose: &str, process: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).map_err(|e| {
        let advice = match addr.port().checked_add(1) {
            Some(next) if e.kind() == std::io::ErrorKind::AddrInUse && addr.port() != 0 => format!(
                "another process listens there (another {process} on this host?): give this one its own, \
                 e.g. {var}={}",
                SocketAddr::new(addr.ip(), next)
            ),
            _ => format!("set {var} to a host:port this host can listen on"),
        };
        anyhow::anyhow!("binding {addr}: {e}. {var} is {purpose}; {advice}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::load_from(|k| map.get(k).cloned())
    }

    /// With nothing set, every value is the documented default.
    #[test]
    fn defaults_match_the_contract() {
        let s = load(&[]).expect("defaults");
        assert_eq!(s.database_url, "postgres://postgres@127.0.0.1:5432/oee");
        assert_eq!(s.redis_url, "redis://127.0.0.1:6379");
        assert_eq!(s.http_addr, "127.0.0.1:8080");
        assert_eq!(s.namespace, "oee");
        assert_eq!(s.worker_concurrency, 10);
        assert_eq!(s.venue_latency, Latency::Realistic);
        assert_eq!(s.auth, AuthMode::Required, "secure by default");
        assert!((s.venue_failure_rate - 0.05).abs() < f64::EPSILON);
        assert_eq!(s.log_format, LogFormat::Pretty);
        assert_eq!(s.store_timeout, Duration::from_millis(2_000));
        assert_eq!(s.retry(), RetryPolicy { max_attempts: 3, base_delay: Duration::from_millis(250) });
        assert_eq!(s.shutdown_grace, Duration::from_secs(10));
        assert_eq!(s.shutdown_delay, Duration::ZERO);
        assert_eq!(s.tx_validity, Duration::from_secs(60));
        assert_eq!(s.reclaim_idle, Duration::from_secs(120));
        assert_eq!(s.sweep_age, Duration::from_secs(60));
        assert_eq!(s.ws_send_timeout, Duration::from_secs(10));
        assert_eq!(s.pool_cache, Duration::from_millis(100));
        assert_eq!((s.quote_refresh, s.quote_max_age()), (Duration::from_millis(250), Duration::from_secs(1)));
        assert_eq!(s.event_coalesce, Duration::from_millis(5));
        assert_eq!(s.order_batching(), Batching { lanes: 2, linger: Duration::from_millis(1) });
        assert_eq!((s.event_lanes(), s.order_lanes()), (4, 2));
        assert_eq!((s.sim_tick, s.sim_volatility_bps, s.sim_seed), (Duration::from_secs(5), 15, None));
        assert_eq!(s.pool_stream_max_len, 10_000);
    }

    /// The market simulator's settings: a tick of zero turns it off, a seed is optional.
    #[test]
    fn the_market_simulator_is_configured_by_its_variables() {
        let s = load(&[
            ("OEE_SIM_TICK_MS", "250"),
            ("OEE_SIM_VOLATILITY_BPS", "40"),
            ("OEE_SIM_SEED", "7"),
            ("OEE_POOL_STREAM_MAX_LEN", "5000"),
        ])
        .expect("valid");
        assert_eq!((s.sim_tick, s.sim_volatility_bps, s.sim_seed), (Duration::from_millis(250), 40, Some(7)));
        assert_eq!(s.pool_stream_max_len, 5_000);
        assert_eq!(load(&[("OEE_SIM_TICK_MS", "0")]).expect("off").sim_tick, Duration::ZERO);
    }

    /// Each variable overrides its default.
    #[test]
    fn environment_overrides_defaults() {
        let s = load(&[
            ("DATABASE_URL", "postgres://x@db/oee2"),
            ("REDIS_URL", "redis://cache:6380"),
            ("OEE_HTTP_ADDR", "0.0.0.0:9000"),
            ("OEE_NAMESPACE", "blue"),
            ("OEE_WORKER_CONCURRENCY", "64"),
            ("OEE_VENUE_LATENCY", "instant"),
            ("OEE_VENUE_FAILURE_RATE", "0"),
            ("LOG_FORMAT", "json"),
        ])
        .expect("valid");
        assert_eq!(s.database_url, "postgres://x@db/oee2");
        assert_eq!(s.redis_url, "redis://cache:6380");
        assert_eq!(s.http_addr, "0.0.0.0:9000");
        assert_eq!(s.namespace, "blue");
        assert_eq!(s.worker_concurrency, 64);
        assert_eq!(s.venue_latency, Latency::Instant);
        assert_eq!(s.venue_failure_rate, 0.0);
        assert_eq!(s.log_format, LogFormat::Json);
    }

    /// Every duration is read from its variable, in the unit the variable names.
    #[test]
    fn durations_are_read_in_their_variables_units() {
        let s = load(&[
            ("OEE_STORE_TIMEOUT_MS", "1500"),
            ("OEE_RETRY_BASE_MS", "40"),
            ("OEE_SHUTDOWN_GRACE_MS", "4000"),
            ("OEE_SHUTDOWN_DELAY_MS", "700"),
            ("OEE_TX_VALIDITY_SECS", "7"),
            ("OEE_RECLAIM_IDLE_MS", "90000"),
            ("OEE_SWEEP_AGE_MS", "2500"),
            ("OEE_WS_SEND_TIMEOUT_MS", "300"),
            ("OEE_POOL_CACHE_MS", "0"),
            ("OEE_QUOTE_REFRESH_MS", "100"),
            ("OEE_EVENT_COALESCE_MS", "12"),
        ])
        .expect("valid");
        assert_eq!(s.store_timeout, Duration::from_millis(1_500));
        assert_eq!(s.retry_base, Duration::from_millis(40));
        assert_eq!(s.shutdown_grace, Duration::from_millis(4_000));
        assert_eq!(s.shutdown_delay, Duration::from_millis(700));
        assert_eq!(s.tx_validity, Duration::from_secs(7));
        assert_eq!(s.reclaim_idle, Duration::from_millis(90_000));
        assert_eq!(s.sweep_age, Duration::from_millis(2_500));
        assert_eq!(s.ws_send_timeout, Duration::from_millis(300));
        assert_eq!(s.pool_cache, Duration::ZERO);
        assert_eq!(s.quote_refresh, Duration::from_millis(100));
        assert_eq!(s.event_coalesce, Duration::from_millis(12));
        assert_eq!(s.pg().timeout, Duration::from_millis(1_500));
        assert_eq!(s.redis().timeout, Duration::from_millis(1_500));
    }

    /// A file names durations by the same keys as the variables, with their units.
    #[test]
    fn a_file_names_durations_with_their_units() {
        let path = std::env::temp_dir().join(format!("oee-settings-units-{}.toml", std::process::id()));
        std::fs::write(&path, "retry_base_ms = 30\ntx_validity_secs = 5\nvenue_latency = \"instant\"\n")
            .expect("write");
        let path_str = path.to_string_lossy().into_owned();
        let s = load(&[("OEE_CONFIG", &path_str)]).expect("valid");
        std::fs::remove_file(&path).ok();
        assert_eq!(s.retry_base, Duration::from_millis(30));
        assert_eq!(s.tx_validity, Duration::from_secs(5));
        assert_eq!(s.venue_latency, Latency::Instant);
    }

    /// The event lanes grow with the pool, a lane per four connections, from one to four.
    #[test]
    fn event_lanes_follow_the_pool() {
        for (pool, lanes) in [(1, 1), (8, 2), (16, 4), (1_000, 4)] {
            let s = Settings { pg_pool_size: pool, ..Settings::default() };
            assert_eq!(s.event_lanes(), lanes, "pool of {pool}");
        }
    }

    /// Each latency's name reads back as that latency.
    #[test]
    fn latency_names_round_trip() {
        for latency in [Latency::Realistic, Latency::Instant] {
            let s = load(&[("OEE_VENUE_LATENCY", latency_name(latency))]).expect("valid");
            assert_eq!(s.venue_latency, latency);
        }
    }

    /// The file overrides defaults; the environment overrides the file.
    #[test]
    fn a_file_sits_between_defaults_and_environment() {
        let path = std::env::temp_dir().join(format!("oee-settings-{}.toml", std::process::id()));
        std::fs::write(
            &path,
            "namespace = \"from-file\"\nworker_concurrency = 7\n[[tokens]]\nsymbol = \"WIF\"\nmint = \"EKpQGSJtjMFqKZ9KQanSqYXRcF8fBopzLHYxdM65zcjm\"\ndecimals = 6\n",
        )
        .expect("write");
        let path_str = path.to_string_lossy().into_owned();
        let s = load(&[("OEE_CONFIG", &path_str), ("OEE_WORKER_CONCURRENCY", "9")]).expect("valid");
        std::fs::remove_file(&path).ok();
        assert_eq!(s.namespace, "from-file");
        assert_eq!(s.worker_concurrency, 9);
        assert_eq!(s.registry().expect("registry").resolve("wif").map(|t| t.decimals), Some(6));
    }

    /// A value that cannot work stops the start, with a message naming its variable.
    #[test]
    fn bad_values_are_refused_with_their_name() {
        for (var, value) in [
            ("OEE_WORKER_CONCURRENCY", "0"),
            ("OEE_VENUE_LATENCY", "slow"),
            ("OEE_VENUE_FAILURE_RATE", "1.5"),
            ("OEE_HTTP_ADDR", "nowhere"),
            ("OEE_NAMESPACE", "a b"),
            ("LOG_FORMAT", "xml"),
            ("OEE_MAX_ATTEMPTS", "4"),
            ("OEE_STORE_TIMEOUT_MS", "10"),
            ("OEE_STORE_TIMEOUT_MS", "soon"),
            ("OEE_TX_VALIDITY_SECS", "0"),
            ("OEE_RECLAIM_IDLE_MS", "999"),
            ("OEE_SWEEP_AGE_MS", "499"),
            ("OEE_WS_SEND_TIMEOUT_MS", "99"),
            ("OEE_SHUTDOWN_DELAY_MS", "600001"),
            ("OEE_POOL_CACHE_MS", "10001"),
            ("OEE_QUOTE_REFRESH_MS", "9"),
            ("OEE_EVENT_COALESCE_MS", "1001"),
            ("OEE_SIM_TICK_MS", "49"),
            ("OEE_SIM_VOLATILITY_BPS", "0"),
            ("OEE_SIM_SEED", "-1"),
            ("OEE_POOL_STREAM_MAX_LEN", "999"),
            ("OEE_RETRY_BASE_MS", "-1"),
        ] {
            let err = load(&[(var, value)]).expect_err(var);
            let text = format!("{err:#}");
            assert!(text.contains(var) || text.contains("wrong type"), "{var}: {text}");
        }
        assert!(load(&[("OEE_CONFIG", "/nonexistent/oee.toml")]).is_err());
    }

    /// A refused choice reads exactly as before the settings were typed.
    #[test]
    fn refused_choices_keep_their_messages() {
        let message = |var, value| format!("{:#}", load(&[(var, value)]).expect_err(var));
        assert_eq!(
            message("OEE_VENUE_LATENCY", "slow"),
            "OEE_VENUE_LATENCY must be realistic or instant; got \"slow\""
        );
        assert_eq!(message("LOG_FORMAT", "xml"), "LOG_FORMAT must be pretty or json; got \"xml\"");
        assert_eq!(message("OEE_STORE_TIMEOUT_MS", "10"), "OEE_STORE_TIMEOUT_MS must be within 50..=60000; got 10");
        assert_eq!(message("OEE_TX_VALIDITY_SECS", "601"), "OEE_TX_VALIDITY_SECS must be within 1..=600; got 601");
    }

    #[test]
    fn a_taken_address_is_refused_naming_the_variable_to_set() {
        let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = taken.local_addr().expect("addr").to_string();
        let next = format!("127.0.0.1:{}", taken.local_addr().expect("addr").port() + 1);
        let s = load(&[("OEE_METRICS_ADDR", &addr), ("OEE_HTTP_ADDR", &addr)]).expect("valid");
        let text = format!("{:#}", s.bind_metrics().expect_err("the port is taken"));
        assert!(text.starts_with(&format!("binding {addr}: ")), "{text}");
        assert!(text.contains("OEE_METRICS_ADDR is the address oee-worker serves /metrics"), "{text}");
        assert!(
            text.contains(&format!(
                "another worker on this host?): give this one its own, e.g. OEE_METRICS_ADDR={next}"
            )),
            "{text}"
        );
        let text = format!("{:#}", s.bind_http().expect_err("the port is taken"));
        assert!(text.contains("OEE_HTTP_ADDR is the address oee-api serves HTTP"), "{text}");
        assert!(text.contains(&format!("e.g. OEE_HTTP_ADDR={next}")), "{text}");
        drop(taken);
        let free = load(&[("OEE_METRICS_ADDR", "127.0.0.1:0")]).expect("valid");
        assert!(free.bind_metrics().is_ok());
    }
}
