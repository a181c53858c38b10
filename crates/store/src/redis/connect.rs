//! Redis clients, built so an outage is survivable.
//!
//! Clients are built with a reconnect policy (fred never reconnects without one)
//! and a command timeout (without one, commands queue forever while Redis is
//! down). The blocking stream reader gets a client of its own, so a `BLOCK`ed
//! `XREADGROUP` never stalls commands pipelined behind it.

use crate::error::StoreError;
use fred::clients::SubscriberClient;
use fred::prelude::*;
use std::time::Duration;

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub url: String,
    pub namespace: String,
    /// Bound on each command (and on connecting).
    pub timeout: Duration,
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

/// Starts a client's connection task and waits (bounded) for the first connection.
/// Starting while Redis is down is allowed: the task keeps reconnecting by the
/// policy, and commands fail after their timeout until it is back.
async fn start<C: ClientLike>(client: &C, timeout: Duration) {
    let _task = client.connect();
    match tokio::time::timeout(timeout, client.wait_for_connect()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "redis is not reachable yet; reconnecting in the background")
        }
        Err(_) => tracing::warn!("redis did not answer in time; reconnecting in the background"),
    }
}

/// A command client.
pub async fn client(settings: &RedisSettings) -> Result<Client, StoreError> {
    let client = builder(settings)?.build()?;
    start(&client, settings.timeout).await;
    Ok(client)
}

/// A subscriber client that re-subscribes its channels after a reconnect.
pub async fn subscriber(settings: &RedisSettings) -> Result<SubscriberClient, StoreError> {
    let client = builder(settings)?.build_subscriber_client()?;
    start(&client, settings.timeout).await;
    let _resubscriber = resubscribe_on_reconnect(&client);
    Ok(client)
}

/// Subscribes `client` to its tracked channels again after every reconnect.
///
/// Not fred's `manage_subscriptions`: that sends `SUBSCRIBE` and `PSUBSCRIBE`
/// even when there is nothing to subscribe, which Redis refuses ("wrong number
/// of arguments"). After Redis failovers in the chaos soak, such a refusal
/// surfaced as the failure of the API's own concurrent `SUBSCRIBE`, and those
/// sockets fell back to polling the log.
fn resubscribe_on_reconnect(client: &SubscriberClient) -> tokio::task::JoinHandle<()> {
    let client = client.clone();
    let mut reconnects = client.reconnect_rx();
    tokio::spawn(async move {
        loop {
            match reconnects.recv().await {
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
            let channels: Vec<String> = client.tracked_channels().into_iter().map(|c| c.to_string()).collect();
            if channels.is_empty() {
                continue;
            }
            if let Err(e) = client.subscribe(channels).await {
                tracing::warn!(error = %e, "could not subscribe again after a reconnect; sockets fall back to polling");
            }
        }
    })
}

/// A client for blocking reads: no command timeout (the `BLOCK` bounds each read).
pub async fn blocking_client(settings: &RedisSettings) -> Result<Client, StoreError> {
    let mut b = builder(settings)?;
    b.with_performance_config(|p| p.default_command_timeout = Duration::ZERO);
    let client = b.build()?;
    start(&client, settings.timeout).await;
    Ok(client)
}
