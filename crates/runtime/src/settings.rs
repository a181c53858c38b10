//! Configuration in layers: built-in defaults, then an optional TOML file
//! (`OEE_CONFIG=path`, or `oee.toml` in the working directory when present), then
//! environment variables. Validated once at start: a bad value stops the process
//! with a message naming it.

use anyhow::{Context, bail};
use config::{Config, Environment, File, FileFormat};
use oee_domain::{Token, TokenRegistry};
use oee_router::{Latency, VenueProfile};
use oee_store::{PgSettings, RedisSettings};
use serde::Deserialize;
use std::net::{SocketAddr, TcpListener};
use std::ops::RangeInclusive;
use std::time::Duration;

/// Every setting of both binaries. Field names are the environment variables
/// without their `OEE_` prefix, lower-cased (`OEE_WORKER_CONCURRENCY` →
/// `worker_concurrency`); `DATABASE_URL`, `REDIS_URL` and `LOG_FORMAT` are read
/// without a prefix, as the contract names them.
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
    /// `realistic` or `instant`.
    pub venue_latency: String,
    pub venue_failure_rate: f64,
    /// `pretty` or `json`.
    pub log_format: String,
    pub pg_pool_size: usize,
    /// Bound on any one store call (connect, statement, Redis command).
    pub store_timeout_ms: u64,
    /// Attempts per order, at most 3.
    pub max_attempts: u32,
    /// First retry back-off; doubles per attempt, with jitter.
    pub retry_base_ms: u64,
    /// How long a stopping process may take to finish in-flight work.
    pub shutdown_grace_ms: u64,
    /// How long a stopping API keeps serving after failing readiness, so load
    /// balancers stop sending to it first (a Kubernetes preStop delay).
    pub shutdown_delay_ms: u64,
    /// How long a sent transaction can still land (Solana: ~150 blocks, about a minute).
    pub tx_validity_secs: u64,
    /// A job unacknowledged this long is taken over by another worker.
    pub reclaim_idle_ms: u64,
    /// An unfinished order unchanged this long and absent from the active set is re-queued.
    pub sweep_age_ms: u64,
    /// A job delivered more often than this goes to the dead-letter stream.
    pub max_deliveries: u64,
    /// WebSockets one API process holds at most; more are closed with 1013.
    pub max_sockets: usize,
    /// A socket whose send cannot complete this long is closed with 1013.
    pub ws_send_timeout_ms: u64,
    /// The kernel send buffer of each API connection, in bytes (0: the
    /// kernel's own, auto-tuned up to `net.ipv4.tcp_wmem`'s maximum). It bounds
    /// what a client that stops reading holds in the kernel before its sends
    /// start to wait and the send timeout can see it.
    pub socket_send_buffer: usize,
    /// How old a pool state a worker may quote from (0: read it for every quote).
    pub pool_cache_ms: u64,
    /// How long a worker waits for the quotes before recording `routing` on its
    /// own; quotes back sooner are recorded with the route (0: never wait).
    pub event_coalesce_ms: u64,
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
            http_workers: 2,
            namespace: "oee".into(),
            worker_concurrency: 10,
            venue_latency: "realistic".into(),
            venue_failure_rate: 0.05,
            log_format: "pretty".into(),
            pg_pool_size: 16,
            store_timeout_ms: 2_000,
            max_attempts: 3,
            retry_base_ms: 250,
            shutdown_grace_ms: 10_000,
            shutdown_delay_ms: 0,
            tx_validity_secs: 60,
            reclaim_idle_ms: 120_000,
            sweep_age_ms: 60_000,
            max_deliveries: 5,
            max_sockets: 20_000,
            ws_send_timeout_ms: 10_000,
            socket_send_buffer: 262_144,
            pool_cache_ms: 100,
            event_coalesce_ms: 5,
            tokens: Vec::new(),
        }
    }
}

/// Environment variables the contract names without the `OEE_` prefix.
const UNPREFIXED: &[(&str, &str)] =
    &[("DATABASE_URL", "database_url"), ("REDIS_URL", "redis_url"), ("LOG_FORMAT", "log_format")];

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
        let settings: Self = builder
            .build()
            .context("reading configuration")?
            .try_deserialize()
            .context("configuration has a value of the wrong type")?;
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
        self.latency()?;
        if self.namespace.is_empty()
            || !self.namespace.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            bail!("OEE_NAMESPACE must be non-empty letters, digits, '-', '_' or '.'; got {:?}", self.namespace);
        }
        within("OEE_WORKER_CONCURRENCY", self.worker_concurrency, 1..=10_000)?;
        within("OEE_VENUE_FAILURE_RATE", self.venue_failure_rate, 0.0..=1.0)?;
        within("OEE_MAX_ATTEMPTS", self.max_attempts, 1..=3)?;
        within("OEE_PG_POOL_SIZE", self.pg_pool_size, 1..=1_000)?;
        within("OEE_HTTP_WORKERS", self.http_workers, 1..=256)?;
        within("OEE_STORE_TIMEOUT_MS", self.store_timeout_ms, 50..=60_000)?;
        within("OEE_TX_VALIDITY_SECS", self.tx_validity_secs, 1..=600)?;
        within("OEE_RECLAIM_IDLE_MS", self.reclaim_idle_ms, 1_000..=3_600_000)?;
        within("OEE_SWEEP_AGE_MS", self.sweep_age_ms, 500..=86_400_000)?;
        within("OEE_MAX_DELIVERIES", self.max_deliveries, 1..=1_000)?;
        within("OEE_MAX_SOCKETS", self.max_sockets, 1..=1_000_000)?;
        within("OEE_WS_SEND_TIMEOUT_MS", self.ws_send_timeout_ms, 100..=600_000)?;
        if self.socket_send_buffer != 0 {
            within("OEE_SOCKET_SEND_BUFFER", self.socket_send_buffer, 4_096..=67_108_864)?;
        }
        within("OEE_SHUTDOWN_DELAY_MS", self.shutdown_delay_ms, 0..=600_000)?;
        within("OEE_POOL_CACHE_MS", self.pool_cache_ms, 0..=10_000)?;
        within("OEE_EVENT_COALESCE_MS", self.event_coalesce_ms, 0..=1_000)?;
        if !matches!(self.log_format.as_str(), "pretty" | "json") {
            bail!("LOG_FORMAT must be pretty or json; got {:?}", self.log_format);
        }
        self.registry()?;
        if self.venue_failure_rate > 0.5 {
            tracing::warn!(rate = self.venue_failure_rate, "more than half of all swaps will fail transiently");
        }
        // A job in flight for longer than the reclaim idle time is taken over while its
        // worker still runs it: safe (writes are guarded, attempts wait out the
        // validity window), but wasted work. The longest job: a resumed order waits
        // out one sent transaction's validity, then runs every attempt (a quote and
        // a send of at most ~3.5 s when realistic) with its back-off (+50% jitter).
        let backoff_ms: u64 =
            (2..=self.max_attempts).map(|a| self.retry_base_ms.saturating_mul(3 << (a - 2)) / 2).sum();
        let longest_job_ms = self.tx_validity_secs * 1_000 + 3_500 * u64::from(self.max_attempts) + backoff_ms;
        if self.latency()? == Latency::Realistic && self.reclaim_idle_ms < longest_job_ms {
            tracing::warn!(
                reclaim_idle_ms = self.reclaim_idle_ms,
                longest_job_ms,
                "OEE_RECLAIM_IDLE_MS is shorter than the longest job: live workers' orders may be taken over"
            );
        }
        if self.latency()? == Latency::Realistic && self.shutdown_grace_ms < 3_000 {
            tracing::warn!(
                grace_ms = self.shutdown_grace_ms,
                "the shutdown grace period is shorter than a realistic swap (2–3 s): in-flight orders will be left to recovery"
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

    pub fn latency(&self) -> anyhow::Result<Latency> {
        match self.venue_latency.as_str() {
            "realistic" => Ok(Latency::Realistic),
            "instant" => Ok(Latency::Instant),
            other => bail!("OEE_VENUE_LATENCY must be realistic or instant; got {other:?}"),
        }
    }

    pub fn venue_profile(&self) -> anyhow::Result<VenueProfile> {
        Ok(VenueProfile { latency: self.latency()?, failure_rate: self.venue_failure_rate })
    }

    pub fn registry(&self) -> anyhow::Result<TokenRegistry> {
        TokenRegistry::with_extra(self.tokens.clone()).context("tokens in the configuration")
    }

    pub fn store_timeout(&self) -> Duration {
        Duration::from_millis(self.store_timeout_ms)
    }

    pub fn pg(&self) -> PgSettings {
        PgSettings { url: self.database_url.clone(), pool_size: self.pg_pool_size, timeout: self.store_timeout() }
    }

    pub fn redis(&self) -> RedisSettings {
        RedisSettings { url: self.redis_url.clone(), namespace: self.namespace.clone(), timeout: self.store_timeout() }
    }
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
    "http_addr",
    "metrics_addr",
    "instance",
    "http_workers",
    "namespace",
    "worker_concurrency",
    "venue_latency",
    "venue_failure_rate",
    "pg_pool_size",
    "store_timeout_ms",
    "max_attempts",
    "retry_base_ms",
    "shutdown_grace_ms",
    "shutdown_delay_ms",
    "tx_validity_secs",
    "reclaim_idle_ms",
    "sweep_age_ms",
    "max_deliveries",
    "max_sockets",
    "ws_send_timeout_ms",
    "socket_send_buffer",
    "pool_cache_ms",
    "event_coalesce_ms",
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

    #[test]
    fn defaults_match_the_contract() {
        let s = load(&[]).expect("defaults");
        assert_eq!(s.database_url, "postgres://postgres@127.0.0.1:5432/oee");
        assert_eq!(s.redis_url, "redis://127.0.0.1:6379");
        assert_eq!(s.http_addr, "127.0.0.1:8080");
        assert_eq!(s.namespace, "oee");
        assert_eq!(s.worker_concurrency, 10);
        assert_eq!(s.latency().expect("latency"), Latency::Realistic);
        assert!((s.venue_failure_rate - 0.05).abs() < f64::EPSILON);
        assert_eq!(s.log_format, "pretty");
    }

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
        assert_eq!(s.latency().expect("latency"), Latency::Instant);
        assert_eq!(s.venue_failure_rate, 0.0);
        assert_eq!(s.log_format, "json");
    }

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
        ] {
            let err = load(&[(var, value)]).expect_err(var);
            let text = format!("{err:#}");
            assert!(text.contains(var) || text.contains("wrong type"), "{var}: {text}");
        }
        assert!(load(&[("OEE_CONFIG", "/nonexistent/oee.toml")]).is_err());
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
