//! Isolated test environments against the real Postgres and Redis.
//!
//! Every [`TestEnv`] gets a database of its own (created and migrated on the
//! spot, dropped afterwards) and a Redis namespace of its own (purged
//! afterwards), so tests run in parallel without seeing each other. Where the
//! stores live comes from `OEE_TEST_DATABASE_URL` (a URL of any database on the
//! server, used to create and drop the test databases) and `OEE_TEST_REDIS_URL`
//! (any form the engine takes, a Redis Cluster's included), with
//! `OEE_TEST_JOB_PARTITIONS` partitions of the job stream (default 1).
//!
//! [`Engine`] runs API replicas and a worker in process over such an
//! environment, with the HTTP and WebSocket helpers the integration tests share.

mod engine;
pub mod load;
pub mod stores;

pub use engine::{
    Engine, EngineBuilder, Followed, PATIENCE, RunningApi, RunningWorker, Socket, follow_socket, follow_url, start_api,
    start_worker,
};

use oee_domain::{Channel, OrderStatus, parse_order};
use oee_router::Latency;
use oee_runtime::Settings;
use oee_store::{Bus, NewOrder, OrderStore, RedisSettings};
use rand::Rng;
use std::time::Duration;
use tokio_postgres::NoTls;
use uuid::Uuid;

/// Asserts that `events` are one order's stream from seq `first`: every seq
/// once, in order, exactly one terminal event, and it last.
pub fn assert_gapless_from(events: &[serde_json::Value], first: u64) {
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().expect("seq")).collect();
    let expected: Vec<u64> = (first..first + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "gap or duplicate: {events:?}");
    let statuses: Vec<OrderStatus> = events.iter().map(|e| status_of(e).expect("a known status")).collect();
    let terminal = statuses.iter().filter(|s| s.is_terminal()).count();
    assert_eq!(terminal, 1, "exactly one terminal event: {statuses:?}");
    assert!(statuses.last().is_some_and(|s| s.is_terminal()), "terminal is last: {statuses:?}");
}

/// The `status` of an order or event as JSON, if it names one.
pub fn status_of(json: &serde_json::Value) -> Option<OrderStatus> {
    json["status"].as_str().and_then(OrderStatus::parse)
}

/// The statuses of an order's events (an order read with its events), in order.
pub fn statuses(order: &serde_json::Value) -> Vec<String> {
    let events = order["events"].as_array().map(Vec::as_slice).unwrap_or_default();
    events.iter().map(|e| e["status"].as_str().unwrap_or_default().to_owned()).collect()
}

/// Prefix of every database a test creates; `scripts/test` drops leftovers.
pub const DB_PREFIX: &str = "oee_test_";

/// One test's own database and namespace, with settings pointing at them.
#[derive(Debug)]
pub struct TestEnv {
    /// Settings for services under test: instant venues, no injected failures,
    /// no API keys (`OEE_AUTH=off`), no market simulator (prices move only
    /// with the test's own transactions).
    pub settings: Settings,
    admin_url: String,
    db_name: String,
    cleaned: bool,
}

fn admin_url() -> String {
    std::env::var("OEE_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn redis_url() -> String {
    std::env::var("OEE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Partitions of the job stream in tests: `OEE_TEST_JOB_PARTITIONS`, else 1.
fn job_partitions() -> u16 {
    std::env::var("OEE_TEST_JOB_PARTITIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(1)
}

/// `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

async fn admin() -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(&admin_url(), NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

impl TestEnv {
    /// A fresh, migrated database and an empty namespace.
    pub async fn new() -> anyhow::Result<Self> {
        init_logging();
        let tag: u64 = rand::rng().random();
        let db_name = format!("{DB_PREFIX}{tag:016x}");
        admin().await?.batch_execute(&format!("CREATE DATABASE {db_name}")).await?;
        let database_url = with_database(&admin_url(), &db_name);
        oee_store::migrate(&database_url).await?;
        let settings = Settings {
            database_url,
            redis_url: redis_url(),
            job_partitions: job_partitions(),
            namespace: format!("test-{tag:016x}"),
            http_addr: "127.0.0.1:0".to_owned(),
            http_workers: 1,
            // Authentication has tests of its own; the others test as `anonymous`.
            auth: oee_runtime::AuthMode::Off,
            venue_latency: Latency::Instant,
            venue_failure_rate: 0.0,
            pg_pool_size: 8,
            retry_base: Duration::from_millis(10),
            shutdown_grace: Duration::from_secs(2),
            sim_tick: Duration::ZERO,
            ..Settings::default()
        };
        settings.validate()?;
        Ok(Self { settings, admin_url: admin_url(), db_name, cleaned: false })
    }

    /// A Redis client on this test's namespace, for assertions.
    pub async fn bus(&self) -> anyhow::Result<Bus> {
        let redis: RedisSettings = self.settings.redis();
        Ok(Bus::new(oee_store::redis::client(&redis).await?, &redis))
    }

    /// A direct connection to this test's database, for assertions.
    pub async fn db(&self) -> anyhow::Result<tokio_postgres::Client> {
        let (client, connection) = tokio_postgres::connect(&self.settings.database_url, NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    /// Stores an order given as a submit body and queues it, as the API does;
    /// returns its id.
    pub async fn queue_order(&self, body: &str) -> anyhow::Result<Uuid> {
        let order = self.new_order(body, oee_api::auth::ANONYMOUS)?;
        let orders = OrderStore::new(oee_store::pg::pool(&self.settings.pg())?);
        orders.insert(&order, None).await?;
        self.bus().await?.enqueue_new(&order).await?;
        Ok(order.id)
    }

    /// A new order of `account` from a submit body, accepted now as the API
    /// accepts it (a resting order's default expiry filled in); not stored.
    pub fn new_order(&self, body: &str, account: &str) -> anyhow::Result<NewOrder> {
        let invalid = |message: String| anyhow::anyhow!("invalid order {body}: {message}");
        let spec = parse_order(body.as_bytes(), &self.settings.registry()?, Channel::Http)
            .map_err(|r| invalid(r.message))?
            .spec;
        let at = chrono::Utc::now();
        let expires_at = spec
            .rests()
            .then(|| oee_domain::resolve_expiry(spec.expires_at(), at))
            .transpose()
            .map_err(|r| invalid(r.message))?;
        Ok(NewOrder { id: Uuid::now_v7(), account: account.to_owned(), spec, at, expires_at })
    }

    /// The order's event log, in seq order, each event as JSON.
    pub async fn events(&self, id: Uuid) -> anyhow::Result<Vec<serde_json::Value>> {
        order_log(&self.db().await?, id).await
    }

    /// Drops the database and purges the namespace. Also attempted on drop.
    pub async fn cleanup(mut self) -> anyhow::Result<()> {
        self.cleaned = true;
        cleanup(&self.admin_url, &self.db_name, &self.settings.redis()).await
    }
}

async fn cleanup(admin_url: &str, db_name: &str, redis: &RedisSettings) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(admin_url, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")).await?;
    let bus = Bus::new(oee_store::redis::client(redis).await?, redis);
    bus.purge_namespace().await?;
    Ok(())
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if self.cleaned {
            return;
        }
        // A test that panicked still cleans up, on a runtime of its own.
        let (admin_url, db_name, redis) = (self.admin_url.clone(), self.db_name.clone(), self.settings.redis());
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            if let Ok(rt) = runtime {
                let _ = rt.block_on(cleanup(&admin_url, &db_name, &redis));
            }
        })
        .join();
    }
}

/// An order's event log in the database at `db`, in seq order, each event as
/// JSON: what a follower should have received.
pub async fn order_log(db: &tokio_postgres::Client, id: Uuid) -> anyhow::Result<Vec<serde_json::Value>> {
    let rows = db.query("SELECT payload::text FROM order_events WHERE order_id = $1 ORDER BY seq", &[&id]).await?;
    rows.iter().map(|r| Ok(serde_json::from_str(r.get::<_, &str>(0))?)).collect()
}

/// Checks the invariants every fault test ends with, on the database at `db`:
/// every order has exactly one terminal event (`confirmed`, `failed`,
/// `cancelled` or `expired`) and it is the last (an order resting `open` has
/// none, and `open` last), its `seq` runs
/// 1..=n with no gap, and the simulated chain holds at most one landed swap per
/// order — exactly one for a confirmed order. Returns what is wrong, if anything.
pub async fn ledger_violations(db: &tokio_postgres::Client) -> anyhow::Result<Vec<String>> {
    let mut wrong = Vec::new();
    let logs = db
        .query(
            "SELECT o.id, o.status, o.last_seq,
                    (SELECT count(*) FROM order_events e WHERE e.order_id = o.id) AS events,
                    (SELECT max(seq) FROM order_events e WHERE e.order_id = o.id) AS top,
                    (SELECT count(*) FROM order_events e WHERE e.order_id = o.id
                        AND e.status IN ('confirmed', 'failed', 'cancelled', 'expired')) AS terminals,
                    (SELECT status FROM order_events e WHERE e.order_id = o.id ORDER BY seq DESC LIMIT 1) AS last,
                    o.attempts
             FROM orders o",
            &[],
        )
        .await?;
    let landed: std::collections::HashSet<String> =
        db.query("SELECT id FROM chain.transactions", &[]).await?.iter().map(|r| r.get(0)).collect();
    for row in logs {
        let id: uuid::Uuid = row.get(0);
        let status: String = row.get(1);
        let (last_seq, events, top, terminals): (i32, i64, Option<i32>, i64) =
            (row.get(2), row.get(3), row.get(4), row.get(5));
        let last: Option<String> = row.get(6);
        if i64::from(last_seq) != events || top != Some(last_seq) {
            wrong.push(format!("{id}: seq gap (last_seq {last_seq}, {events} events, max {top:?})"));
        }
        if status == "open" {
            // Resting: no terminal event yet, and `open` last.
            if terminals != 0 || last.as_deref() != Some("open") {
                wrong.push(format!("{id}: open with {terminals} terminal events, last {last:?}"));
            }
        } else if terminals != 1 || !last.as_deref().and_then(OrderStatus::parse).is_some_and(OrderStatus::is_terminal)
        {
            wrong.push(format!("{id}: {terminals} terminal events, last {last:?}"));
        }
        // A limit order re-opened after a refused fill makes more attempts.
        let attempts = u32::try_from(row.get::<_, i32>(7)).unwrap_or(0).max(oee_runtime::retry::MAX_ATTEMPTS);
        let swaps = (1..=attempts).filter(|n| landed.contains(&oee_router::transaction_id(id, *n))).count();
        let expected = usize::from(status == "confirmed");
        if swaps != expected {
            wrong.push(format!("{id}: {status} with {swaps} landed swaps"));
        }
    }
    Ok(wrong)
}

/// Test logs go to the test harness's captured output; `RUST_LOG` filters them.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
}

/// Where `oee-api` and `oee-worker` are for tests that run them as processes:
/// `OEE_BIN_DIR`, or the profile directory the calling test binary sits in
/// (`<target>/<profile>/deps/<test>-…`), which follows `CARGO_TARGET_DIR` and the
/// profile without asking either. Fails the test, saying what to run, when a
/// binary is missing.
pub fn engine_bin_dir() -> std::path::PathBuf {
    let dir = match std::env::var_os("OEE_BIN_DIR") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => {
            let exe = std::env::current_exe().expect("test binary path");
            exe.parent().and_then(std::path::Path::parent).expect("target/<profile>").to_path_buf()
        }
    };
    for bin in ["oee-api", "oee-worker"] {
        assert!(
            dir.join(bin).is_file(),
            "{bin} is missing from {}: run `cargo build --workspace --bins` first (scripts/test does)",
            dir.display()
        );
    }
    dir
}

/// The value of one series in a Prometheus/OpenMetrics exposition, written as it
/// is printed (`oee_orders_accepted_total{channel="http"}`); `None` if absent.
pub fn metric(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::{metric, with_database};

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://h:5432", "x"), "postgres://h:5432/x");
    }

    #[test]
    fn reads_a_series_by_its_exact_name() {
        let text = "# TYPE a counter\na_total{x=\"1\"} 3\na_total{x=\"12\"} 4\nb_count 2.5\n# EOF\n";
        assert_eq!(metric(text, r#"a_total{x="1"}"#), Some(3.0));
        assert_eq!(metric(text, r#"a_total{x="12"}"#), Some(4.0));
        assert_eq!(metric(text, "b_count"), Some(2.5));
        assert_eq!(metric(text, "b"), None);
    }
}
