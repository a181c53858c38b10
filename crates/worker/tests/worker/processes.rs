//! Worker processes for the tests that kill them: started over a test's
//! stores with its settings, and killed even when the test fails half-way.

use oee_runtime::settings::latency_name;
use oee_testkit::TestEnv;
use std::process::{Child, Command, Stdio};

/// Starts `oee-worker` as a child process over this test's stores.
pub fn spawn_worker(env: &TestEnv) -> Child {
    let s = &env.settings;
    Command::new(env!("CARGO_BIN_EXE_oee-worker"))
        .env("DATABASE_URL", &s.database_url)
        .env("REDIS_URL", &s.redis_url)
        .env("OEE_NAMESPACE", &s.namespace)
        .env("OEE_JOB_PARTITIONS", s.job_partitions.to_string())
        // Several workers run at once across tests: each takes a free port.
        .env("OEE_METRICS_ADDR", "127.0.0.1:0")
        .env("OEE_VENUE_LATENCY", latency_name(s.venue_latency))
        .env("OEE_VENUE_FAILURE_RATE", "0")
        .env("OEE_WORKER_CONCURRENCY", s.worker_concurrency.to_string())
        .env("OEE_TX_VALIDITY_SECS", s.tx_validity.as_secs().to_string())
        .env("OEE_RECLAIM_IDLE_MS", s.reclaim_idle.as_millis().to_string())
        .env("OEE_TRIGGER_LEASE_MS", s.trigger_lease.as_millis().to_string())
        // No outside trades: the chain holds the orders' swaps alone.
        .env("OEE_SIM_TICK_MS", s.sim_tick.as_millis().to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("oee-worker starts")
}

/// Kills the child even if the test fails half-way.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn count(db: &tokio_postgres::Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).await.expect("count").get(0)
}

/// A worker running in the test's own process until [`InProcess::stop`].
pub struct InProcess {
    stop: tokio_util::sync::CancellationToken,
    run: tokio::task::JoinHandle<Result<(), oee_store::StoreError>>,
}

impl InProcess {
    /// Builds a worker over the test's stores and runs it.
    pub async fn start(env: &TestEnv) -> Self {
        let worker = oee_worker::build(&env.settings).await.expect("worker");
        let stop = tokio_util::sync::CancellationToken::new();
        let run = tokio::spawn({
            let stop = stop.clone();
            async move { worker.run(stop).await }
        });
        Self { stop, run }
    }

    /// Stops it and waits until it has.
    pub async fn stop(self) {
        self.stop.cancel();
        self.run.await.expect("join").expect("worker ran");
    }
}
