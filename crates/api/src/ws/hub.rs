//! One Redis subscriber per API process, shared by every socket.
//!
//! A socket that follows an order *joins* the order's sharded channel
//! (`SSUBSCRIBE`; in a Redis Cluster, on the node that owns its slot): the
//! first local follower subscribes it, the last one to leave unsubscribes it. Subscribe and
//! unsubscribe commands go through one task in the order they were decided, so an
//! unsubscribe can never overtake a later subscribe for the same channel. Joining
//! returns only once Redis has processed the subscription (see [`subscribe`]): a
//! socket that joins, then replays the log, then forwards live events misses
//! nothing.
//!
//! Delivery to a socket never blocks: each follower has a bounded queue, and a
//! follower whose queue is full — or any follower after the subscriber lost
//! messages (broadcast lag, Redis reconnect) — is flagged to re-read the log from
//! Postgres, which is the source of truth. Pub/sub only makes things fast.

use fred::clients::SubscriberClient;
use fred::interfaces::{ClientLike, EventInterface};
use oee_domain::EventHead;
use oee_store::Keys;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use uuid::Uuid;

/// Events queued per follower before it is told to re-read the log instead.
const FOLLOWER_QUEUE: usize = 64;

/// A live event for a follower.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub seq: u32,
    pub json: Arc<str>,
}

struct Listener {
    id: u64,
    tx: mpsc::Sender<Delivery>,
    resync: Arc<Resync>,
}

/// "You may have missed events": set by the hub, cleared by the follower.
#[derive(Debug, Default)]
pub struct Resync {
    flag: AtomicBool,
    wake: tokio::sync::Notify,
}

impl Resync {
    fn raise(&self) {
        self.flag.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Clears the flag and reports whether it was set.
    pub fn take(&self) -> bool {
        self.flag.swap(false, Ordering::AcqRel)
    }

    /// Waits until the flag is raised.
    pub async fn raised(&self) {
        self.wake.notified().await;
    }
}

/// Subscription state of one channel: `None` while pending, then whether it took.
type Ready = watch::Receiver<Option<bool>>;

/// One order's channel as this process holds it: who listens, and whether the
/// subscription is in force.
struct Subscription {
    listeners: Vec<Listener>,
    ready: Ready,
}

enum Command {
    Subscribe { order: Uuid, ready: watch::Sender<Option<bool>> },
    Unsubscribe { order: Uuid },
}

struct Shared {
    channels: Mutex<HashMap<Uuid, Subscription>>,
    commands: mpsc::UnboundedSender<Command>,
    next_id: AtomicU64,
}

impl Shared {
    fn channels(&self) -> MutexGuard<'_, HashMap<Uuid, Subscription>> {
        // Critical sections only push, remove and try_send: poison leaves the map consistent.
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn resync_all(&self) {
        for channel in self.channels().values() {
            for l in &channel.listeners {
                l.resync.raise();
            }
        }
    }
}

/// The process-wide subscription hub. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
    timeout: Duration,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("channels", &self.shared.channels().len()).finish()
    }
}

/// A follower of one order's events. Leaving is dropping it.
pub struct Follower {
    pub events: mpsc::Receiver<Delivery>,
    pub resync: Arc<Resync>,
    /// Whether Redis confirmed the subscription; without it the follower must poll.
    pub live: bool,
    order: Uuid,
    id: u64,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower").field("order", &self.order).field("live", &self.live).finish()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let mut channels = self.shared.channels();
        if let Some(channel) = channels.get_mut(&self.order) {
            channel.listeners.retain(|l| l.id != self.id);
            if channel.listeners.is_empty() {
                channels.remove(&self.order);
                // Sent under the lock, so it is ordered before any later subscribe.
                let _ = self.shared.commands.send(Command::Unsubscribe { order: self.order });
            }
        }
    }
}

impl Hub {
    /// Starts the hub's tasks on the current runtime.
    pub fn start(client: SubscriberClient, keys: Keys, timeout: Duration) -> Self {
        let (commands, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared { channels: Mutex::new(HashMap::new()), commands, next_id: AtomicU64::new(1) });
        tokio::spawn(run_commands(client.clone(), keys.clone(), rx));
        tokio::spawn(dispatch(client.message_rx(), keys, shared.clone()));
        let reconnects = client.reconnect_rx();
        // A client still connecting for the first time reports that as a reconnect.
        tokio::spawn(watch_reconnects(reconnects, !client.is_connected(), shared.clone()));
        Self { shared, timeout }
    }

    /// Joins `order`'s channel; returns once the subscription is confirmed (or
    /// failed: then `live` is false and the follower must poll the log).
    pub async fn follow(&self, order: Uuid) -> Follower {
        let (tx, events) = mpsc::channel(FOLLOWER_QUEUE);
        let resync = Arc::new(Resync::default());
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let mut ready = {
            let mut channels = self.shared.channels();
            let channel = channels.entry(order).or_insert_with(|| {
                let (ready_tx, ready) = watch::channel(None);
                let _ = self.shared.commands.send(Command::Subscribe { order, ready: ready_tx });
                Subscription { listeners: Vec::new(), ready }
            });
            channel.listeners.push(Listener { id, tx, resync: resync.clone() });
            channel.ready.clone()
        };
        let live = matches!(
            tokio::time::timeout(self.timeout, ready.wait_for(Option::is_some)).await,
            Ok(Ok(state)) if *state == Some(true)
        );
        Follower { events, resync, live, order, id, shared: self.shared.clone() }
    }

    /// How many orders have local followers.
    pub fn channels(&self) -> usize {
        self.shared.channels().len()
    }
}

/// Most channels named by one SUBSCRIBE or UNSUBSCRIBE.
const COMMAND_BATCH: usize = 256;

/// Sends the hub's commands in the order they were decided. Whatever is waiting
/// goes out together: each run of consecutive subscribes as one SSUBSCRIBE per
/// slot (a partition of the job stream is one slot), each run of unsubscribes
/// likewise, so under load a round trip to Redis serves hundreds of sockets,
/// and the order between runs is kept.
async fn run_commands(client: SubscriberClient, keys: Keys, mut rx: mpsc::UnboundedReceiver<Command>) {
    let mut waiting = Vec::with_capacity(COMMAND_BATCH);
    while rx.recv_many(&mut waiting, COMMAND_BATCH).await > 0 {
        let mut commands = waiting.drain(..).peekable();
        while let Some(first) = commands.next() {
            match first {
                Command::Subscribe { order, ready } => {
                    let mut run = vec![(order, ready)];
                    while let Some(Command::Subscribe { order, ready }) =
                        commands.next_if(|c| matches!(c, Command::Subscribe { .. }))
                    {
                        run.push((order, ready));
                    }
                    let channels: Vec<String> = run.iter().map(|(order, _)| keys.channel(*order)).collect();
                    let result = oee_store::redis::ssubscribe_confirmed(&client, channels).await;
                    if let Err(e) = &result {
                        tracing::warn!(channels = run.len(), error = %e, "subscribing failed; those sockets fall back to polling");
                    }
                    for (_, ready) in run {
                        let _ = ready.send(Some(result.is_ok()));
                    }
                }
                Command::Unsubscribe { order } => {
                    let mut channels = vec![keys.channel(order)];
                    while let Some(Command::Unsubscribe { order }) =
                        commands.next_if(|c| matches!(c, Command::Unsubscribe { .. }))
                    {
                        channels.push(keys.channel(order));
                    }
                    if let Err(e) = oee_store::redis::sunsubscribe(&client, channels).await {
                        tracing::debug!(error = %e, "unsubscribing failed");
                    }
                }
            }
        }
    }
}

async fn dispatch(mut messages: broadcast::Receiver<fred::types::Message>, keys: Keys, shared: Arc<Shared>) {
    loop {
        match messages.recv().await {
            Ok(message) => {
                let Some(order) = keys.order_of_channel(&message.channel) else {
                    continue;
                };
                let Some(json) = message.value.as_str() else {
                    continue;
                };
                let Some(head) = EventHead::parse(&json) else {
                    tracing::warn!(order_id = %order, "ignoring a message that is not a status event");
                    continue;
                };
                crate::metrics::METRICS.pubsub_delay.observe(oee_runtime::metrics::seconds_since(head.at));
                let delivery = Delivery { seq: head.seq, json: Arc::from(json.as_ref()) };
                let channels = shared.channels();
                for l in channels.get(&order).map(|c| c.listeners.as_slice()).unwrap_or_default() {
                    if let Err(mpsc::error::TrySendError::Full(_)) = l.tx.try_send(delivery.clone()) {
                        l.resync.raise();
                    }
                }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "the subscriber fell behind; followers re-read the log");
                shared.resync_all();
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

async fn watch_reconnects(
    mut reconnects: broadcast::Receiver<fred::types::config::Server>,
    mut first_connect: bool,
    shared: Arc<Shared>,
) {
    loop {
        match reconnects.recv().await {
            Ok(_) if std::mem::take(&mut first_connect) => {}
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                tracing::info!("redis subscriber reconnected; followers re-read the log");
                shared.resync_all();
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
