//! The orders a run placed, and what became of each, as their events arrive.
//!
//! One task owns the submit socket: it sends the orders it is handed and reads
//! every reply and event, stamping each with the moment it arrived, into a
//! shared [`Ledger`]. The run waits on the ledger for conditions ("every order
//! of this level has ended") without touching the socket.

use anyhow::Context;
use oee_client::{Client, OrderRequest, SocketMessage};
use oee_domain::{OrderStatus, parse_wide};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc, oneshot};
use uuid::Uuid;

/// Decimals amounts are compared at (any token's fit).
const COMPARE_DECIMALS: u8 = 18;

/// What one order went through, as seen on the socket.
#[derive(Debug, Clone, Default)]
pub struct Tracked {
    pub id: Option<Uuid>,
    /// Its `open` event arrived (the first time).
    pub opened: bool,
    /// Its first `routing` event with a trigger: when it arrived, and the slot.
    pub triggered: Option<(Instant, u64)>,
    /// When its first `confirmed` event arrived.
    pub confirmed_at: Option<Instant>,
    /// `confirmed` events received (more than one is a duplicate).
    pub confirmations: u32,
    /// Its minimum, from the `open` event (tokenOut units).
    pub min_amount_out: Option<String>,
    /// Filled for less than its minimum.
    pub below_min: bool,
    /// Rested again after a trigger (an execution that could not fill).
    pub reopened: u32,
    /// Its terminal status, if it has one.
    pub ended: Option<OrderStatus>,
}

/// Every order placed, by the order of placing.
#[derive(Debug, Default)]
pub struct Ledger {
    pub orders: Vec<Tracked>,
    by_id: HashMap<Uuid, usize>,
    /// `clientRef` → index in `orders`.
    by_ref: HashMap<u64, usize>,
    pub rejected: Vec<String>,
    /// The socket ended, and why.
    pub closed: Option<String>,
}

impl Ledger {
    fn apply(&mut self, message: SocketMessage, at: Instant) {
        match message {
            SocketMessage::Accepted { client_ref, order_id } => {
                if let Some(&i) = self.by_ref.get(&client_ref) {
                    self.orders[i].id = Some(order_id);
                    self.by_id.insert(order_id, i);
                }
            }
            SocketMessage::Rejected { error, .. } => self.rejected.push(format!("{}: {}", error.code, error.message)),
            SocketMessage::Event(event) => {
                let Some(&i) = self.by_id.get(&event.order_id) else { return };
                let order = &mut self.orders[i];
                match event.status {
                    OrderStatus::Open if !order.opened => {
                        order.opened = true;
                        order.min_amount_out.clone_from(&event.min_amount_out);
                    }
                    OrderStatus::Open => order.reopened += 1,
                    OrderStatus::Routing => {
                        if let (None, Some(trigger)) = (&order.triggered, &event.trigger) {
                            order.triggered = Some((at, trigger.slot));
                        }
                    }
                    OrderStatus::Confirmed => {
                        order.confirmations += 1;
                        order.confirmed_at.get_or_insert(at);
                        let wide = |text: Option<&String>| text.and_then(|t| parse_wide(t, COMPARE_DECIMALS).ok());
                        let (got, min) = (wide(event.amount_out.as_ref()), wide(order.min_amount_out.as_ref()));
                        order.below_min |= matches!((got, min), (Some(got), Some(min)) if got < min);
                    }
                    _ => {}
                }
                if event.status.is_terminal() {
                    order.ended = Some(event.status);
                }
            }
        }
    }
}

/// Orders for the socket task to send, and where it says whether it did.
type Batch = (Vec<OrderRequest>, oneshot::Sender<Result<(), oee_client::Error>>);

/// The run's handle on the socket task and the ledger it fills.
#[derive(Debug)]
pub struct Tracker {
    ledger: Arc<Mutex<Ledger>>,
    changed: Arc<Notify>,
    send: mpsc::Sender<Batch>,
}

impl Tracker {
    /// Opens a submit socket and starts reading it.
    pub async fn connect(client: &Client) -> anyhow::Result<Self> {
        let mut socket = client.submit_socket().await.context("opening the submit socket")?;
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let changed = Arc::new(Notify::new());
        let (send, mut orders) = mpsc::channel::<Batch>(4);
        let (task_ledger, task_changed) = (ledger.clone(), changed.clone());
        tokio::spawn(async move {
            let reason = loop {
                tokio::select! {
                    message = socket.next() => match message {
                        Some(Ok(message)) => {
                            let at = Instant::now();
                            lock(&task_ledger).apply(message, at);
                            task_changed.notify_waiters();
                        }
                        Some(Err(e)) => break e.to_string(),
                        None => break "the engine closed the socket".to_owned(),
                    },
                    batch = orders.recv() => match batch {
                        Some((batch, done)) => {
                            let _ = done.send(socket.send_all(&batch).await.map(|_| ()));
                        }
                        None => break "done".to_owned(),
                    },
                }
            };
            lock(&task_ledger).closed = Some(reason);
            task_changed.notify_waiters();
        });
        Ok(Self { ledger, changed, send })
    }

    pub fn ledger(&self) -> MutexGuard<'_, Ledger> {
        lock(&self.ledger)
    }

    /// Places `orders` and waits until each is resting `open`; their indexes.
    pub async fn place(&self, orders: Vec<OrderRequest>) -> anyhow::Result<Vec<usize>> {
        let indexes = {
            let mut ledger = self.ledger();
            let first = ledger.orders.len();
            for i in 0..orders.len() {
                ledger.by_ref.insert((first + i) as u64, first + i);
                ledger.orders.push(Tracked::default());
            }
            (first..first + orders.len()).collect::<Vec<_>>()
        };
        let (done, sent) = oneshot::channel();
        self.send.send((orders, done)).await.map_err(|_| anyhow::anyhow!("the socket task has ended"))?;
        sent.await.map_err(|_| anyhow::anyhow!("the socket task has ended"))??;
        let opened = self
            .wait_until(Duration::from_secs(60), |l| {
                indexes.iter().all(|&i| l.orders[i].opened || l.orders[i].ended.is_some())
            })
            .await;
        let ledger = self.ledger();
        if let Some(reason) = &ledger.closed {
            anyhow::bail!("the submit socket ended: {reason}");
        }
        if !ledger.rejected.is_empty() {
            anyhow::bail!("{} orders were rejected, e.g. {}", ledger.rejected.len(), ledger.rejected[0]);
        }
        if !opened {
            anyhow::bail!("the orders placed did not all rest open within 60 s");
        }
        Ok(indexes)
    }

    /// Waits until `done` holds for the ledger, or `timeout` passes, or the
    /// socket ends; whether it held.
    pub async fn wait_until(&self, timeout: Duration, done: impl Fn(&Ledger) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before the check, so no change in between is missed.
            let changed = self.changed.notified();
            {
                let ledger = self.ledger();
                if done(&ledger) {
                    return true;
                }
                if ledger.closed.is_some() {
                    return false;
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return false;
            }
        }
    }
}

fn lock(ledger: &Mutex<Ledger>) -> MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: Uuid, seq: u32, tail: &str) -> SocketMessage {
        let json = format!(r#"{{"orderId":"{id}","seq":{seq},"at":"2026-11-29T10:00:00.000Z",{tail}}}"#);
        SocketMessage::Event(Box::new(oee_client::Event::parse(json).expect("an event")))
    }

    /// An order's events become what the report counts: its first trigger, a
    /// second rest, one confirmation, and a fill below its minimum.
    #[test]
    fn events_fill_the_ledger() {
        let id = Uuid::now_v7();
        let mut ledger = Ledger::default();
        ledger.by_ref.insert(0, 0);
        ledger.orders.push(Tracked::default());
        let at = Instant::now();
        ledger.apply(SocketMessage::Accepted { client_ref: 0, order_id: id }, at);
        let open =
            r#""status":"open","expiresAt":"2026-11-30T10:00:00.000Z","minAmountOut":"0.0675","limitPrice":"0.00675""#;
        let routing = |slot| format!(r#""status":"routing","attempt":1,"trigger":{{"slot":{slot},"price":"0.00676"}}"#);
        ledger.apply(event(id, 2, open), at);
        ledger.apply(event(id, 3, &routing(8)), at);
        ledger.apply(event(id, 4, open), at);
        ledger.apply(event(id, 5, &routing(9)), at);
        let confirmed = r#""status":"confirmed","attempt":2,"txHash":"t","dex":"raydium","executedPrice":"0.00674","amountOut":"0.0674""#;
        ledger.apply(event(id, 6, confirmed), at);
        let order = &ledger.orders[0];
        assert_eq!((order.id, order.opened, order.reopened), (Some(id), true, 1));
        assert_eq!(order.triggered.map(|(_, slot)| slot), Some(8), "the first trigger counts");
        assert_eq!((order.confirmations, order.ended), (1, Some(OrderStatus::Confirmed)));
        assert!(order.below_min, "0.0674 is below the minimum 0.0675");
    }
}
