//! The engine under test as real processes: `oee-api` and `oee-worker`
//! binaries, each started, killed, stopped, paused and restarted by the soak.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Partitions of the job stream: more than one, so every read, reclaim and
/// sweep works across partitions under the faults.
pub const PARTITIONS: u16 = 2;

/// What every process of the soak is given.
#[derive(Debug, Clone)]
pub struct Common {
    pub bin_dir: PathBuf,
    pub log_dir: PathBuf,
    pub database_url: String,
    pub redis_url: String,
    pub namespace: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Api,
    Worker,
}

/// One engine process on a fixed port (the API's HTTP port, or the worker's
/// metrics port), so Prometheus and the clients always find it.
#[derive(Debug)]
pub struct Process {
    pub kind: Kind,
    pub name: String,
    pub port: u16,
    child: Option<Child>,
    /// Starts so far (its log files are numbered by them).
    starts: u32,
}

impl Process {
    pub fn new(kind: Kind, name: String, port: u16) -> Self {
        Self { kind, name, port, child: None, starts: 0 }
    }

    pub fn start(&mut self, common: &Common) {
        let (bin, addr_var) = match self.kind {
            Kind::Api => ("oee-api", "OEE_HTTP_ADDR"),
            Kind::Worker => ("oee-worker", "OEE_METRICS_ADDR"),
        };
        self.starts += 1;
        let log =
            std::fs::File::create(common.log_dir.join(format!("{}.{}.log", self.name, self.starts))).expect("log file");
        let child = Command::new(common.bin_dir.join(bin))
            .env("DATABASE_URL", &common.database_url)
            .env("REDIS_URL", &common.redis_url)
            .env("OEE_NAMESPACE", &common.namespace)
            .env("OEE_JOB_PARTITIONS", PARTITIONS.to_string())
            .env(addr_var, format!("127.0.0.1:{}", self.port))
            .env("OEE_INSTANCE", &self.name)
            .env("OEE_AUTH", "off")
            .env("OEE_VENUE_LATENCY", "realistic")
            .env("OEE_VENUE_FAILURE_RATE", "0.05")
            .env("OEE_STORE_TIMEOUT_MS", "1000")
            .env("OEE_TX_VALIDITY_SECS", "3")
            .env("OEE_RECLAIM_IDLE_MS", "3000")
            .env("OEE_SWEEP_AGE_MS", "3000")
            .env("OEE_SHUTDOWN_GRACE_MS", "8000")
            .env("OEE_SHUTDOWN_DELAY_MS", "500")
            .env("OEE_WORKER_CONCURRENCY", "128")
            .env("OEE_PG_POOL_SIZE", "8")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{bin} starts from {}: {e}", common.bin_dir.display()));
        self.child = Some(child);
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// Sends `signal` (`KILL`, `TERM`, `STOP`, `CONT`).
    pub fn signal(&self, signal: &str) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status();
        }
    }

    /// SIGKILL, reaped.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits (bounded) for the process to exit by itself;
    /// returns its exit status code, or `None` if it had to be killed.
    pub fn terminate(&mut self, patience: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let deadline = Instant::now() + patience;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the process answers `/ready` with 200.
    pub async fn wait_ready(&self, http: &reqwest::Client, patience: Duration) -> bool {
        let deadline = Instant::now() + patience;
        let url = format!("http://127.0.0.1:{}/ready", self.port);
        while Instant::now() < deadline {
            if http.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Where the engine's binaries are: `--bin-dir`, or beside this binary.
pub fn bin_dir(given: Option<&Path>) -> PathBuf {
    let dir = given.map(Path::to_path_buf).unwrap_or_else(|| {
        let exe = std::env::current_exe().expect("own path");
        exe.parent().expect("a directory").to_path_buf()
    });
    for bin in ["oee-api", "oee-worker"] {
        assert!(dir.join(bin).is_file(), "{bin} is not in {}: build the workspace's binaries", dir.display());
    }
    dir
}
