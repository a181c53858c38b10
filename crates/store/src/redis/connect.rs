//! Redis clients, built so an outage is survivable.
//!
//! Clients are built with a reconnect policy (fred never reconnects without one)
//! and a command timeout (without one, commands queue forever while Redis is
//! down). The blocking stream reader gets a client of its own, so a `BLOCK`ed
//! `XREADGROUP` never stalls commands pipelined behind it.

use crate::error::StoreError;
use crate::keys::{Keys, slot};
use fred::clients::SubscriberClient;
use fred::prelude::*;
use fred::types::{ClusterHash, CustomCommand};
use std::collections::BTreeMap;
use std::time::Duration;

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `redis://`, `redis-sentinel://` or `redis-cluster://` (fred's forms).
    pub url: String,
    pub namespace: String,
    /// Partitions of the job stream (see [`Keys`]); the same on every process.
    pub partitions: u16,
    /// Bound on each command (and on connecting).
    pub timeout: Duration,
}

impl RedisSettings {
    /// The namespace's keys.
    pub fn keys(&self) -> Keys {
        Keys::new(&self.namespace, self.partitions)
    }
}

/// Reconnect back-off: the first retry after this many milliseconds, doubling…
const RECONNECT_FIRST_MS: u32 = 50;
/// …up to this many; retried for ever (a process without Redis waits for it).
const RECONNECT_MAX_MS: u32 = 2_000;

fn builder(settings: &RedisSettings) -> Result<Builder, StoreError> {
    let config = Config::from_url(&settings.url)?;
    let mut builder = Builder::from_config(config);
    builder
        .set_policy(ReconnectPolicy::new_exponential(0, RECONNECT_FIRST_MS, RECONNECT_MAX_MS, 2))
        .with_connection_config(|c| {
            c.connection_timeout = settings.timeout;
            c.internal_command_timeout = settings.timeout;
            c.max_command_attempts = 2;
            c.tcp = TcpConfig { nodelay: Some(true), ..Default::default() };
        })
        .with_performance_config(|p| {
            p.default_command_timeout = settings.timeout;
            p.broadcast_channel_capacity = 4_096;
        });
    Ok(builder)
}

/// Waits (bounded) for a client whose connection task has started to connect
/// the first time. Starting while Redis is down is allowed: the task keeps
/// reconnecting by the policy, and commands fail after their timeout until it
/// is back.
async fn connected<C: ClientLike>(client: &C, timeout: Duration) {
    match tokio::time::timeout(timeout, client.wait_for_connect()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "redis is not reachable yet; reconnecting in the background")
        }
        Err(_) => tracing::warn!("redis did not answer in time; reconnecting in the background"),
    }
}

/// A command client, once connected (or once its connection timed out).
pub async fn client(settings: &RedisSettings) -> Result<Client, StoreError> {
    let client = client_connecting(settings)?;
    connected(&client, settings.timeout).await;
    Ok(client)
}

/// A command client whose connection task starts on the current runtime
/// without being waited for: its first commands wait in fred's queue for the
/// connection (bounded by their timeout). For building state where awaiting is
/// not possible (an HTTP thread's, as actix initialises it).
pub fn client_connecting(settings: &RedisSettings) -> Result<Client, StoreError> {
    let client = builder(settings)?.build()?;
    let _task = client.connect();
    Ok(client)
}

/// A subscriber client that re-subscribes its (sharded) channels after a
/// reconnect, once connected (or once its connection timed out).
pub async fn subscriber(settings: &RedisSettings) -> Result<SubscriberClient, StoreError> {
    let client = subscriber_connecting(settings)?;
    connected(&client, settings.timeout).await;
    Ok(client)
}

/// As [`subscriber`], connecting in the background as [`client_connecting`] does.
pub fn subscriber_connecting(settings: &RedisSettings) -> Result<SubscriberClient, StoreError> {
    let client = builder(settings)?.build_subscriber_client()?;
    let _task = client.connect();
    let _resubscriber = resubscribe_on_reconnect(&client);
    Ok(client)
}

/// Subscribes `client` to its tracked sharded channels again after every reconnect.
///
/// Not fred's `manage_subscriptions`: that sends `SUBSCRIBE` and `PSUBSCRIBE`
/// even when there is nothing to subscribe, which Redis refuses ("wrong number
/// of arguments"). After Redis failovers in the chaos soak, such a refusal
/// surfaced as the failure of the API's own concurrent subscription, and those
/// sockets fell back to polling the log. It also sends one `SSUBSCRIBE` per
/// channel, where one per slot does.
fn resubscribe_on_reconnect(client: &SubscriberClient) -> tokio::task::JoinHandle<()> {
    let client = client.clone();
    let mut reconnects = client.reconnect_rx();
    tokio::spawn(async move {
        loop {
            match reconnects.recv().await {
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
            let channels: Vec<String> = client.tracked_shard_channels().into_iter().map(|c| c.to_string()).collect();
            if let Err(e) = ssubscribe_confirmed(&client, channels).await {
                tracing::warn!(error = %e, "could not subscribe again after a reconnect; sockets fall back to polling");
            }
        }
    })
}

/// Subscribes to sharded `channels` and returns once Redis has *processed*
/// every subscription: one `SSUBSCRIBE` per slot (a cluster refuses one that
/// spans slots), each followed by a `PING` routed to the same slot, so on the
/// same connection. fred answers a subscription as soon as it is queued for
/// writing (the confirmations arrive out of band and are dropped); Redis
/// answers one connection's commands in order, so the pong means the
/// subscription is in force and no later publish can miss it. The slots go
/// concurrently.
pub async fn ssubscribe_confirmed(client: &SubscriberClient, channels: Vec<String>) -> Result<(), fred::error::Error> {
    let confirmed = by_slot(channels).into_iter().map(|(slot, channels)| async move {
        client.ssubscribe(channels).await?;
        let ping = CustomCommand::new_static("PING", ClusterHash::Custom(slot), false);
        let _: Value = client.custom(ping, Vec::<String>::new()).await?;
        Ok::<(), fred::error::Error>(())
    });
    futures::future::try_join_all(confirmed).await.map(|_| ())
}

/// Unsubscribes from sharded `channels`, one `SUNSUBSCRIBE` per slot.
pub async fn sunsubscribe(client: &SubscriberClient, channels: Vec<String>) -> Result<(), fred::error::Error> {
    let each = by_slot(channels).into_values().map(|channels| client.sunsubscribe(channels));
    futures::future::try_join_all(each).await.map(|_| ())
}

/// `channels` grouped by cluster slot: a sharded (un)subscription may name
/// only one slot's channels.
fn by_slot(channels: Vec<String>) -> BTreeMap<u16, Vec<String>> {
    let mut grouped: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    for channel in channels {
        grouped.entry(slot(&channel)).or_default().push(channel);
    }
    grouped
}

/// A reader of the job stream for `consumer`: one blocking client per
/// partition, connected together, beside the command client `client`.
pub async fn stream_reader(
    settings: &RedisSettings,
    client: Client,
    consumer: String,
) -> Result<super::StreamReader, StoreError> {
    let keys = settings.keys();
    let clients = futures::future::try_join_all(keys.all_partitions().map(|_| blocking_client(settings))).await?;
    Ok(super::StreamReader::new(client, clients, keys, consumer))
}

/// A client for blocking reads: no command timeout (the `BLOCK` bounds each read).
pub async fn blocking_client(settings: &RedisSettings) -> Result<Client, StoreError> {
    let mut b = builder(settings)?;
    b.with_performance_config(|p| p.default_command_timeout = Duration::ZERO);
    let client = b.build()?;
    let _task = client.connect();
    connected(&client, settings.timeout).await;
    Ok(client)
}
