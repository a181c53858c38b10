//! The submit socket, `GET /api/orders/execute` upgraded: many orders on one
//! connection, pipelined.
//!
//! [`SubmitSocket::send`] (or [`SubmitSocket::send_all`]) writes orders
//! without waiting for answers; each gets a `clientRef` (0, 1, 2, … in sending
//! order) that its reply echoes. The engine answers every message, in the
//! order sent, with `accepted` or `rejected`, then streams every event of each
//! accepted order, tagged by `orderId`, interleaved across orders. Keep calling
//! [`SubmitSocket::next`]: the engine drops a client that stops reading (1013).

use crate::error::{Error, ErrorBody};
use crate::event::Event;
use crate::follow::Socket;
use crate::frame::{Frame, ReplyKind};
use crate::order::OrderRequest;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// How long [`SubmitSocket::close`] waits for the server's close.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// An open submit socket. Made by [`crate::Client::submit_socket`].
#[derive(Debug)]
pub struct SubmitSocket {
    socket: Socket,
    next_ref: u64,
}

/// Something the engine said on the submit socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketMessage {
    /// The order sent with `client_ref` is stored and queued as `order_id`.
    Accepted {
        /// The `clientRef` [`SubmitSocket::send`] returned for the order.
        client_ref: u64,
        /// The order's id; its events follow.
        order_id: Uuid,
    },
    /// The order sent with `client_ref` was refused; the socket stays open.
    Rejected {
        /// The `clientRef` [`SubmitSocket::send`] returned for the order.
        client_ref: u64,
        /// Why, with the contract's code.
        error: ErrorBody,
        /// When rate limited: how long to wait before sending more.
        retry_after: Option<Duration>,
    },
    /// A status event of an accepted order (boxed: far larger than a reply).
    Event(Box<Event>),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RejectedReply {
    error: ErrorBody,
    client_ref: u64,
    #[serde(default)]
    retry_after_ms: Option<u64>,
}

impl SubmitSocket {
    pub(crate) const fn new(socket: Socket) -> Self {
        Self { socket, next_ref: 0 }
    }

    /// Sends one order; its `clientRef`. Does not wait for the reply.
    pub async fn send(&mut self, order: &OrderRequest) -> Result<u64, Error> {
        let client_ref = self.feed(order).await?;
        self.socket.flush().await?;
        Ok(client_ref)
    }

    /// Sends several orders in one write; their `clientRef`s, in order.
    pub async fn send_all<'o>(
        &mut self,
        orders: impl IntoIterator<Item = &'o OrderRequest>,
    ) -> Result<Vec<u64>, Error> {
        let mut refs = Vec::new();
        for order in orders {
            refs.push(self.feed(order).await?);
        }
        self.socket.flush().await?;
        Ok(refs)
    }

    async fn feed(&mut self, order: &OrderRequest) -> Result<u64, Error> {
        let client_ref = self.next_ref;
        self.socket.feed(Message::text(order.socket_message(client_ref))).await?;
        self.next_ref += 1;
        Ok(client_ref)
    }

    /// The next reply or event; `None` once the connection has ended.
    pub async fn next(&mut self) -> Option<Result<SocketMessage, Error>> {
        loop {
            match self.socket.next().await? {
                Ok(Message::Text(text)) => return Some(decode(text.as_str())),
                Ok(_) => {}
                Err(e) => return Some(Err(e.into())),
            }
        }
    }

    /// Closes the connection (1000) and waits briefly for the server's close.
    /// Orders already accepted run to their end regardless.
    pub async fn close(mut self) -> Result<(), Error> {
        self.socket.close(None).await?;
        let drain = async { while let Some(Ok(_)) = self.socket.next().await {} };
        let _ = tokio::time::timeout(CLOSE_GRACE, drain).await;
        Ok(())
    }
}

/// One message: a reply by its `type`, else a status event.
fn decode(text: &str) -> Result<SocketMessage, Error> {
    let frame = Frame::parse(text).ok_or_else(|| Error::unexpected(0, "not a JSON object", text.as_bytes()))?;
    match frame.reply {
        Some(ReplyKind::Accepted) => match (frame.client_ref, frame.order_id) {
            (Some(client_ref), Some(order_id)) => Ok(SocketMessage::Accepted { client_ref, order_id }),
            _ => Err(Error::unexpected(0, "an accepted reply without clientRef and orderId", text.as_bytes())),
        },
        Some(ReplyKind::Rejected) => {
            let reply: RejectedReply =
                serde_json::from_str(text).map_err(|e| Error::unexpected(0, e, text.as_bytes()))?;
            Ok(SocketMessage::Rejected {
                client_ref: reply.client_ref,
                error: reply.error,
                retry_after: reply.retry_after_ms.map(Duration::from_millis),
            })
        }
        None => Event::parse(text.to_owned()).map(|event| SocketMessage::Event(Box::new(event))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oee_domain::{ErrorCode, OrderStatus};

    /// Replies and events decode into their typed messages.
    #[test]
    fn messages_decode() {
        let id = "0193b0c4-0000-7000-8000-000000000001";
        let accepted = decode(&format!(r#"{{"type":"accepted","orderId":"{id}","clientRef":4}}"#)).expect("decodes");
        assert_eq!(accepted, SocketMessage::Accepted { client_ref: 4, order_id: Uuid::parse_str(id).expect("uuid") });
        let rejected = decode(
            r#"{"type":"rejected","error":{"code":"RATE_LIMITED","message":"slow down"},"clientRef":5,"retryAfterMs":250}"#,
        )
        .expect("decodes");
        let SocketMessage::Rejected { client_ref, error, retry_after } = rejected else { panic!("{rejected:?}") };
        assert_eq!(
            (client_ref, error.code, retry_after),
            (5, ErrorCode::RateLimited, Some(Duration::from_millis(250)))
        );
        let event =
            decode(&format!(r#"{{"orderId":"{id}","seq":1,"status":"pending","at":"2026-11-21T10:00:00.000Z"}}"#))
                .expect("decodes");
        let SocketMessage::Event(event) = event else { panic!("{event:?}") };
        assert_eq!((event.seq, event.status), (1, OrderStatus::Pending));
        assert!(decode("[]").is_err());
    }
}
