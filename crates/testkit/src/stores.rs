//! Stores owned by one test, as real processes on free loopback ports: a Redis
//! (alone, a primary with a replica under three Sentinels, or a Redis Cluster
//! of three primaries each with a replica) and a PostgreSQL cluster (alone, or
//! a primary with a streaming standby). Fault tests crash,
//! restart, fail over and promote them without touching the shared servers.
//!
//! Every process is stopped, and every directory removed, on drop.

use crate::Engine;
use crate::EngineBuilder;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on loopback (free when asked; the caller binds it soon).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port()
}

fn scratch_dir(kind: &str, port: u16) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oee-{kind}-{port}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start on port {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill_child(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// Runs `redis-cli -p port args…` and returns its output, trimmed.
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stderr(Stdio::null())
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// How a private Redis persists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Nothing on disk: a restart starts empty (a replica holds the data).
    None,
    /// Append-only file, fsynced on every write: a restart loses nothing.
    AppendAlways,
}

/// A `redis-server` owned by one test, on a free loopback port.
#[derive(Debug)]
pub struct PrivateRedis {
    pub port: u16,
    dir: PathBuf,
    persistence: Persistence,
    replica_of: Option<u16>,
    /// A node of a Redis Cluster (its state in `nodes.conf` in its directory).
    cluster: bool,
    child: Option<Child>,
}

impl PrivateRedis {
    /// A standalone server with append-only persistence (`appendfsync always`).
    pub fn start() -> Self {
        Self::with(Persistence::AppendAlways, None)
    }

    /// A server persisting as given, replicating from `replica_of` if set.
    pub fn with(persistence: Persistence, replica_of: Option<u16>) -> Self {
        let port = free_port();
        let dir = scratch_dir("redis", port);
        let mut redis = Self { port, dir, persistence, replica_of, cluster: false, child: None };
        redis.spawn();
        redis
    }

    /// A server with cluster mode on, not yet part of a cluster, keeping
    /// nothing on disk but its cluster state.
    fn cluster_node() -> Self {
        let port = free_port();
        let dir = scratch_dir("redis-cluster", port);
        let mut redis =
            Self { port, dir, persistence: Persistence::None, replica_of: None, cluster: true, child: None };
        redis.spawn();
        redis
    }

    /// Starts the server (again, after [`Self::kill`]).
    pub fn spawn(&mut self) {
        let mut command = Command::new("redis-server");
        command.args(["--bind", "127.0.0.1", "--port", &self.port.to_string(), "--save", ""]);
        match self.persistence {
            Persistence::None => command.args(["--appendonly", "no"]),
            Persistence::AppendAlways => command.args(["--appendonly", "yes", "--appendfsync", "always"]),
        };
        if let Some(primary) = self.replica_of {
            command.args(["--replicaof", "127.0.0.1", &primary.to_string()]);
        }
        if self.cluster {
            // A node silent for a second is failed; its replica takes over.
            command.args(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]);
            command.args(["--cluster-node-timeout", "1000"]);
        }
        let child = command
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        wait_for_port(self.port, "redis-server");
    }

    /// SIGKILL: a crash, not a clean shutdown.
    pub fn kill(&mut self) {
        kill_child(&mut self.child);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The service name the Sentinels of a [`SentinelRedis`] monitor.
pub const SENTINEL_SERVICE: &str = "oee";

/// A Redis primary and one replica, watched by three `redis-sentinel`s with a
/// quorum of two; the primary is declared down after one second of silence.
#[derive(Debug)]
pub struct SentinelRedis {
    /// The servers, the first started as the primary.
    pub servers: Vec<PrivateRedis>,
    pub sentinel_ports: Vec<u16>,
    sentinels: Vec<Child>,
    dir: PathBuf,
}

impl SentinelRedis {
    pub fn start() -> Self {
        let primary = PrivateRedis::with(Persistence::None, None);
        let replica = PrivateRedis::with(Persistence::None, Some(primary.port));
        let sentinel_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let dir = scratch_dir("sentinel", sentinel_ports[0]);
        let mut sentinels = Vec::new();
        for port in &sentinel_ports {
            let conf = dir.join(format!("sentinel-{port}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                     sentinel monitor {SENTINEL_SERVICE} 127.0.0.1 {primary} 2\n\
                     sentinel down-after-milliseconds {SENTINEL_SERVICE} 1000\n\
                     sentinel failover-timeout {SENTINEL_SERVICE} 5000\n\
                     sentinel parallel-syncs {SENTINEL_SERVICE} 1\n",
                    dir = dir.display(),
                    primary = primary.port
                ),
            )
            .expect("sentinel config");
            let child = Command::new("redis-server")
                .arg(&conf)
                .arg("--sentinel")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server --sentinel starts");
            sentinels.push(child);
            wait_for_port(*port, "redis-sentinel");
        }
        let group = Self { servers: vec![primary, replica], sentinel_ports, sentinels, dir };
        group.wait_until_ready();
        group
    }

    /// Waits until the replica is in sync and every Sentinel knows the replica
    /// and the other Sentinels (a failover before that could not happen).
    fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let synced = redis_cli(self.servers[1].port, &["INFO", "replication"]).contains("master_link_status:up");
            let known = self.sentinel_ports.iter().all(|p| {
                let info = redis_cli(*p, &["INFO", "sentinel"]);
                info.contains("slaves=1") && info.contains("sentinels=3")
            });
            if synced && known {
                return;
            }
            assert!(Instant::now() < deadline, "the sentinel group did not settle");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The URL the engine is given: every Sentinel and the service name.
    pub fn url(&self) -> String {
        let mut ports = self.sentinel_ports.iter();
        let first = ports.next().expect("a sentinel");
        let nodes: String = ports.map(|p| format!("&node=127.0.0.1:{p}")).collect();
        format!("redis-sentinel://127.0.0.1:{first}/0?sentinelServiceName={SENTINEL_SERVICE}{nodes}")
    }

    /// The port of the server the Sentinels name as primary now.
    pub fn primary_port(&self) -> Option<u16> {
        for port in &self.sentinel_ports {
            let answer = redis_cli(*port, &["SENTINEL", "get-master-addr-by-name", SENTINEL_SERVICE]);
            if let Some(p) = answer.lines().nth(1).and_then(|p| p.trim().parse().ok()) {
                return Some(p);
            }
        }
        None
    }

    /// SIGKILLs the current primary; returns its port.
    pub fn kill_primary(&mut self) -> u16 {
        let port = self.primary_port().expect("a primary");
        let server = self.servers.iter_mut().find(|s| s.port == port).expect("primary is ours");
        server.kill();
        port
    }

    /// Waits until the Sentinels name a primary other than `old` and it
    /// answers as a master; returns how long that took.
    pub fn wait_for_new_primary(&self, old: u16, patience: Duration) -> Duration {
        let started = Instant::now();
        loop {
            if let Some(port) = self.primary_port().filter(|p| *p != old)
                && redis_cli(port, &["ROLE"]).starts_with("master")
            {
                return started.elapsed();
            }
            assert!(started.elapsed() < patience, "no failover within {patience:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until every server but the primary replicates from it.
    pub fn wait_until_replicated(&self, patience: Duration) {
        let started = Instant::now();
        loop {
            let primary = self.primary_port();
            let synced = self
                .servers
                .iter()
                .filter(|s| Some(s.port) != primary)
                .all(|s| redis_cli(s.port, &["INFO", "replication"]).contains("master_link_status:up"));
            if synced {
                return;
            }
            assert!(started.elapsed() < patience, "the replicas did not catch up within {patience:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts a killed server again; the Sentinels turn it into a replica.
    pub fn restart(&mut self, port: u16) {
        let server = self.servers.iter_mut().find(|s| s.port == port).expect("ours");
        server.spawn();
    }
}

impl Drop for SentinelRedis {
    fn drop(&mut self) {
        for s in &mut self.sentinels {
            let _ = s.kill();
            let _ = s.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis Cluster on loopback: three primaries sharing the 16,384 slots in
/// equal ranges, each with one replica; a node silent for a second is failed
/// and its replica promoted.
#[derive(Debug)]
pub struct RedisCluster {
    pub nodes: Vec<PrivateRedis>,
}

impl RedisCluster {
    pub fn start() -> Self {
        let nodes: Vec<PrivateRedis> = (0..6).map(|_| PrivateRedis::cluster_node()).collect();
        let addresses: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli runs");
        assert!(created.success(), "redis-cli --cluster create failed");
        let cluster = Self { nodes };
        cluster.wait_until_healthy(Duration::from_secs(30));
        cluster
    }

    /// The URL the engine is given: every node (fred learns the slots from any).
    pub fn url(&self) -> String {
        let mut ports = self.nodes.iter().map(|n| n.port);
        let first = ports.next().expect("a node");
        let others: Vec<String> = ports.map(|p| format!("node=127.0.0.1:{p}")).collect();
        format!("redis-cluster://127.0.0.1:{first}?{}", others.join("&"))
    }

    /// The nodes that are running.
    fn live(&self) -> impl Iterator<Item = &PrivateRedis> {
        self.nodes.iter().filter(|n| n.child.is_some())
    }

    /// The port of the primary serving `slot`, as a live node sees it.
    pub fn primary_of(&self, slot: u16) -> Option<u16> {
        let node = self.live().next()?;
        // CLUSTER SHARDS would do on 7.0.? too; CLUSTER SLOTS is on every 7.x:
        // [start, end, [ip, port, id], replicas…] per range, one value per line.
        let lines: Vec<String> = redis_cli(node.port, &["CLUSTER", "SLOTS"]).lines().map(str::to_owned).collect();
        lines.windows(4).find_map(|w| {
            let (start, end): (u16, u16) = (w[0].parse().ok()?, w[1].parse().ok()?);
            (start <= slot && slot <= end && w[2] == "127.0.0.1").then(|| w[3].parse().ok()).flatten()
        })
    }

    /// SIGKILLs the primary serving `slot`; returns its port.
    pub fn kill_primary_of(&mut self, slot: u16) -> u16 {
        let port = self.primary_of(slot).expect("a primary for the slot");
        self.nodes.iter_mut().find(|n| n.port == port).expect("ours").kill();
        port
    }

    /// Waits until a node other than `old` serves `slot` and every live node
    /// reports the cluster healthy; returns how long that took.
    pub fn wait_for_failover(&self, slot: u16, old: u16, patience: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let moved = self.primary_of(slot).is_some_and(|p| p != old);
            if moved && self.healthy() {
                return started.elapsed();
            }
            assert!(started.elapsed() < patience, "no cluster failover within {patience:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts a killed node again; it rejoins as a replica of its successor.
    pub fn restart(&mut self, port: u16) {
        self.nodes.iter_mut().find(|n| n.port == port).expect("ours").spawn();
    }

    /// Every live node sees every slot served, and every live replica is in sync.
    fn healthy(&self) -> bool {
        self.live().all(|n| {
            let info = redis_cli(n.port, &["CLUSTER", "INFO"]);
            let replication = redis_cli(n.port, &["INFO", "replication"]);
            info.contains("cluster_state:ok")
                && (replication.contains("role:master") || replication.contains("master_link_status:up"))
        })
    }

    pub fn wait_until_healthy(&self, patience: Duration) {
        let started = Instant::now();
        while !self.healthy() {
            assert!(started.elapsed() < patience, "the cluster did not become healthy within {patience:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0"))
}

fn run(command: &mut Command) {
    let status = command.status().expect("command runs");
    assert!(status.success(), "{command:?} failed: {status}");
}

fn postgres_bin() -> PathBuf {
    std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries in /usr/lib/postgresql")
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .max()
        .expect("an initdb")
}

/// How a standby acknowledges the primary's commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replication {
    /// A commit returns once the standby has flushed it (`synchronous_standby_names`).
    Synchronous,
    /// A commit returns at once; the standby follows as fast as it can.
    Asynchronous,
}

/// A PostgreSQL cluster owned by one test (initdb'd on the spot, or a base
/// backup of another), on a free port. Runs as the `postgres` user when the
/// test runs as root (PostgreSQL refuses root).
#[derive(Debug)]
pub struct PrivatePostgres {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
}

impl PrivatePostgres {
    /// A new, empty cluster, started. `fsync` is off: the tests crash
    /// PostgreSQL, never the operating system, so nothing written is lost.
    pub fn start() -> Self {
        let pg = Self::empty();
        pg.as_owner(&format!(
            "{} -D {} -A trust -U postgres --no-sync >/dev/null",
            pg.bin.join("initdb").display(),
            pg.data().display()
        ));
        pg.as_owner(&format!("echo 'fsync = off' >> {}/postgresql.auto.conf", pg.data().display()));
        pg.start_server();
        pg
    }

    fn empty() -> Self {
        Self::empty_at(free_port())
    }

    fn empty_at(port: u16) -> Self {
        let pg = Self { port, dir: scratch_dir("pg", port), bin: postgres_bin() };
        if is_root() {
            run(Command::new("chown").arg("-R").arg("postgres:postgres").arg(&pg.dir));
        }
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn as_owner(&self, script: &str) {
        if is_root() {
            run(Command::new("su").args(["postgres", "-s", "/bin/sh", "-c", script]));
        } else {
            run(Command::new("sh").args(["-c", script]));
        }
    }

    fn pg_ctl(&self, args: &str) {
        self.as_owner(&format!("{} -D {} {args} >/dev/null", self.bin.join("pg_ctl").display(), self.data().display()));
    }

    pub fn start_server(&self) {
        self.pg_ctl(&format!(
            "-w -t 60 -l {}/log -o '-p {} -k {} -c listen_addresses=127.0.0.1' start",
            self.dir.display(),
            self.port,
            self.dir.display()
        ));
    }

    /// An immediate stop: what a crash looks like to clients.
    pub fn crash(&self) {
        if self.data().join("postmaster.pid").exists() {
            self.pg_ctl("-m immediate stop");
        }
    }

    /// SIGKILL to the postmaster and every backend: the machine is gone.
    pub fn kill9(&self) {
        let Ok(pid_file) = std::fs::read_to_string(self.data().join("postmaster.pid")) else { return };
        let Some(pid) = pid_file.lines().next().map(str::trim) else { return };
        let _ = Command::new("pkill").args(["-9", "-P", pid]).status();
        let _ = Command::new("kill").args(["-9", pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::fs::remove_file(self.data().join("postmaster.pid"));
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `oee` and applies the migrations.
    pub async fn create_engine_database(&self) -> String {
        self.connect("postgres").await.batch_execute("CREATE DATABASE oee").await.expect("create");
        let url = self.url("oee");
        oee_store::migrate(&url).await.expect("migrate");
        url
    }

    /// An engine whose database lives on this cluster (created and migrated).
    pub async fn engine(&self) -> EngineBuilder {
        let url = self.create_engine_database().await;
        Engine::builder().configure(move |s| s.database_url = url.clone())
    }

    pub async fn connect(&self, db: &str) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&self.url(db), tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        client
    }

    /// A streaming standby of this (running) cluster, from a base backup,
    /// started; with [`Replication::Synchronous`] this cluster then waits for
    /// it on every commit. The standby's own configuration names no
    /// synchronous standby, so once promoted it does not wait for one it lacks.
    pub async fn standby(&self, replication: Replication) -> Self {
        self.standby_at(free_port(), replication).await
    }

    /// [`Self::standby`] on a given port (say, a dead primary's, once it is
    /// dropped, so the engine's list of hosts stays right).
    pub async fn standby_at(&self, port: u16, replication: Replication) -> Self {
        let standby = Self::empty_at(port);
        self.as_owner(&format!(
            "{} -h 127.0.0.1 -p {} -U postgres -D {} -R -X stream -c fast --no-sync >/dev/null",
            self.bin.join("pg_basebackup").display(),
            self.port,
            standby.data().display()
        ));
        standby.start_server();
        if replication == Replication::Synchronous {
            let admin = self.connect("postgres").await;
            admin.batch_execute("ALTER SYSTEM SET synchronous_standby_names = '*'").await.expect("sync on");
            admin.batch_execute("SELECT pg_reload_conf()").await.expect("reload");
        }
        let wanted = match replication {
            Replication::Synchronous => "sync",
            Replication::Asynchronous => "async",
        };
        let admin = self.connect("postgres").await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let row = admin
                .query_opt("SELECT sync_state FROM pg_stat_replication WHERE state = 'streaming'", &[])
                .await
                .expect("pg_stat_replication");
            if row.is_some_and(|r| r.get::<_, String>(0) == wanted) {
                return standby;
            }
            assert!(Instant::now() < deadline, "the standby never streamed ({wanted})");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Promotes a standby to primary and waits until it accepts writes.
    pub fn promote(&self) {
        self.pg_ctl("-w -t 60 promote");
    }

    /// A URL naming `hosts` in order, of which the engine uses the one that
    /// accepts writes (`target_session_attrs=read-write`).
    pub fn failover_url(hosts: &[&Self], db: &str) -> String {
        let list: Vec<String> = hosts.iter().map(|h| format!("127.0.0.1:{}", h.port)).collect();
        format!("postgres://postgres@{}/{db}?target_session_attrs=read-write", list.join(","))
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.crash();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
