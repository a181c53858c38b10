//! Following one order's events, `GET /api/orders/{orderId}/ws?fromSeq=N`.
//!
//! The engine sends every event after `fromSeq`, in order, then closes with
//! 1000 after the terminal one. When a socket fails or closes before that, a
//! [`Follow`] reconnects — to the client's next base URL, from the last `seq`
//! it returned — so the caller sees every event once, in order, across
//! replicas going down. It gives up after [`Reconnect::attempts`] connections
//! in a row that brought nothing new.

use crate::client::{Client, refused_upgrade};
use crate::error::{Error, TransportError};
use crate::event::Event;
use futures::{Stream, StreamExt};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

/// An open WebSocket to the engine.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long to wait for the server's close after the terminal event.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// The longest pause between reconnections.
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// How a [`Follow`] reconnects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconnect {
    /// Connections in a row that may fail (or end without a new event)
    /// before following gives up with the last error.
    pub attempts: u32,
    /// The pause before the n-th reconnection in a row is `n - 1` times this
    /// (the first one is immediate, on the next URL), at most 2 s.
    pub backoff: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Self { attempts: 5, backoff: Duration::from_millis(100) }
    }
}

impl Reconnect {
    fn pause(&self, failures: u32) -> Duration {
        (self.backoff * failures.saturating_sub(1)).min(MAX_PAUSE)
    }
}

/// One order's event stream, across reconnections. Made by
/// [`Client::follow`]; read with [`Follow::next`] (or as a [`Stream`]).
#[derive(Debug)]
pub struct Follow {
    client: Client,
    order_id: Uuid,
    last_seq: u32,
    /// Index of the base URL to connect to next (modulo their number).
    base: usize,
    socket: Option<Socket>,
    /// Connections in a row that failed or brought no new event.
    failures: u32,
    /// The terminal event has been returned.
    finished: bool,
    /// Nothing more will come (finished and closed, or given up).
    done: bool,
}

impl Follow {
    pub(crate) fn new(client: Client, order_id: Uuid, from_seq: u32) -> Self {
        Self { client, order_id, last_seq: from_seq, base: 0, socket: None, failures: 0, finished: false, done: false }
    }

    /// The order followed.
    pub const fn order_id(&self) -> Uuid {
        self.order_id
    }

    /// The `seq` of the last event returned (or the starting `fromSeq`):
    /// where a reconnection resumes.
    pub const fn last_seq(&self) -> u32 {
        self.last_seq
    }

    /// Whether the terminal event has been returned.
    pub const fn is_finished(&self) -> bool {
        self.finished
    }

    /// The next event; `None` after the terminal event (once the server has
    /// closed) or after an error that ends following. An error is returned
    /// once: a refused follow (`404 ORDER_NOT_FOUND`), a message that is not
    /// an event, or the last failure when reconnecting gave up.
    pub async fn next(&mut self) -> Option<Result<Event, Error>> {
        loop {
            if self.done {
                return None;
            }
            let socket = match self.socket.as_mut() {
                Some(socket) => socket,
                None if self.finished => {
                    self.done = true;
                    return None;
                }
                None => match self.connect().await {
                    Ok(socket) => self.socket.insert(socket),
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                },
            };
            let message = if self.finished {
                tokio::time::timeout(CLOSE_GRACE, socket.next()).await.unwrap_or(None)
            } else {
                socket.next().await
            };
            match message {
                Some(Ok(Message::Text(text))) if !self.finished => {
                    let event = match Event::parse(text.as_str().to_owned()) {
                        Ok(event) => event,
                        Err(e) => return Some(Err(e)),
                    };
                    // A replay never repeats what was returned, whatever the server sends.
                    if event.seq <= self.last_seq {
                        continue;
                    }
                    self.last_seq = event.seq;
                    self.failures = 0;
                    self.finished = event.is_terminal();
                    return Some(Ok(event));
                }
                // After a close frame the stream ends once the server drops the connection.
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    self.socket = None;
                    if !self.finished {
                        self.failures += 1;
                        self.base += 1;
                    }
                }
            }
        }
    }

    /// The events as a [`Stream`].
    pub fn into_stream(self) -> impl Stream<Item = Result<Event, Error>> {
        futures::stream::unfold(self, |mut follow| async move { follow.next().await.map(|item| (item, follow)) })
    }

    /// Opens a socket from `last_seq`, moving on to the next base URL after
    /// each failure, until one opens or the policy gives up.
    async fn connect(&mut self) -> Result<Socket, Error> {
        let policy = self.client.reconnect_policy().clone();
        loop {
            tokio::time::sleep(policy.pause(self.failures)).await;
            let bases = self.client.bases();
            let base = &bases[self.base % bases.len()];
            let url = format!("{}/api/orders/{}/ws?fromSeq={}", base.ws, self.order_id, self.last_seq);
            match open(&url, self.client.connect_timeout(), self.client.authorization()).await {
                Ok(socket) => return Ok(socket),
                Err(e) if !e.is_retryable() => return Err(e),
                Err(e) => {
                    self.failures += 1;
                    self.base += 1;
                    if self.failures >= policy.attempts {
                        return Err(e);
                    }
                }
            }
        }
    }
}

/// Opens a WebSocket to `url` within `timeout`; a refused upgrade with the
/// contract's error body is that error.
pub(crate) async fn open(
    url: &str,
    timeout: Duration,
    authorization: Option<&reqwest::header::HeaderValue>,
) -> Result<Socket, Error> {
    use tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request()?;
    if let Some(value) = authorization {
        let value = tungstenite::http::HeaderValue::from_bytes(value.as_bytes()).map_err(|_| Error::InvalidApiKey)?;
        request.headers_mut().insert(tungstenite::http::header::AUTHORIZATION, value);
    }
    match tokio::time::timeout(timeout, tokio_tungstenite::connect_async(request)).await {
        Err(_) => Err(TransportError::timed_out(format!("{url}: no upgrade in time")).into()),
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(tungstenite::Error::Http(response))) => {
            let status = response.status().as_u16();
            Err(refused_upgrade(status, response.body().as_deref())
                .unwrap_or_else(|| tungstenite::Error::Http(response).into()))
        }
        Ok(Err(e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first reconnection is immediate; later ones wait longer, up to a bound.
    #[test]
    fn reconnections_back_off() {
        let policy = Reconnect::default();
        assert_eq!(policy.pause(0), Duration::ZERO);
        assert_eq!(policy.pause(1), Duration::ZERO);
        assert_eq!(policy.pause(3), Duration::from_millis(200));
        assert_eq!(policy.pause(1_000), MAX_PAUSE);
    }
}
