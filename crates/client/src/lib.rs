//! A typed Rust client for the order execution engine (`oee`).
//!
//! Submit orders over HTTP (with idempotency keys): market, limit, and sniper
//! orders that wait for a token's launch ([`OrderRequest::sniper`]). Ask what
//! an order would get ([`Client::quote`]) and what can be traded
//! ([`Client::tokens`], [`Client::launches`]), read an order and its history
//! page by page, follow an order's status events over a WebSocket that
//! reconnects by itself — from the last `seq` seen, to the next API replica
//! when one is down — and pipeline many orders on one submit socket. Statuses,
//! error codes, routes and events are the engine's own types from
//! [`oee_domain`], so a `match` on them is checked by the compiler.
//!
//! ```no_run
//! use oee_client::{Client, OrderRequest};
//! use oee_domain::OrderStatus;
//!
//! # async fn run() -> Result<(), oee_client::Error> {
//! // Two replicas of one engine: following moves to the second if the first is down.
//! let client = Client::builder().url("http://127.0.0.1:8080").url("http://127.0.0.1:8081").build()?;
//!
//! let order = OrderRequest::market("SOL", "USDC", "1.5").slippage_bps(50).idempotency_key("trade-42");
//! let accepted = client.submit(&order).await?;
//!
//! let mut events = client.follow(accepted.order_id);
//! while let Some(event) = events.next().await {
//!     let event = event?;
//!     match event.status {
//!         OrderStatus::Confirmed => println!("done at {}", event.executed_price.as_deref().unwrap_or("?")),
//!         OrderStatus::Failed => println!("failed: {:?}", event.error),
//!         other => println!("{other}"),
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Errors are typed too: a refused request is [`Error::Api`] with its HTTP
//! status and an [`oee_domain::ErrorCode`]; a request that got no answer is
//! [`Error::Transport`] with a [`TransportKind`].
//!
//! ```
//! use oee_client::Error;
//! use oee_domain::ErrorCode;
//!
//! fn explain(error: &Error) -> &'static str {
//!     match error.code() {
//!         Some(ErrorCode::UnknownToken) => "no such token",
//!         Some(ErrorCode::RateLimited) => "slow down",
//!         Some(_) => "refused",
//!         None if error.is_retryable() => "try again",
//!         None => "unexpected",
//!     }
//! }
//! # let _ = explain;
//! ```
//!
//! Plain `http://` and `ws://` only: this crate enables no TLS backend.
//!
//! # Layout
//!
//! - `client` — [`Client`] and [`ClientBuilder`]: base URLs, the HTTP calls.
//! - `order` — request and response bodies: [`OrderRequest`], [`Accepted`],
//!   [`Order`], [`HistoryQuery`], [`HistoryPage`].
//! - `quote` — [`QuoteRequest`] and [`Quote`]: the route an order would take.
//! - `tokens` — [`TokenList`]: the tokens and pairs the engine trades.
//! - `operations` — for admin keys: [`QueueStats`] (with each [`Partition`]), [`Activity`], and the
//!   simulator's [`SimTrade`].
//! - `launches` — the simulator's token launches: [`LaunchRequest`], [`Launched`], [`Launch`].
//! - `follow` — [`Follow`]: one order's events across reconnections ([`Reconnect`]).
//! - `submit_socket` — [`SubmitSocket`]: pipelined submissions and their events.
//! - `event` — [`Event`]: a decoded status event with its JSON text.
//! - [`frame`] — [`frame::Frame`]: the head of any message, read without
//!   allocating (for load generators).
//! - `error` — [`Error`], [`ErrorBody`], [`TransportError`], [`TransportKind`].

mod client;
mod error;
mod event;
mod follow;
pub mod frame;
mod launches;
mod operations;
mod order;
mod quote;
mod submit_socket;
mod tokens;

pub use client::{Client, ClientBuilder};
pub use error::{Error, ErrorBody, TransportError, TransportKind};
pub use event::Event;
pub use follow::{Follow, Reconnect};
pub use launches::{Launch, LaunchRequest, Launched};
pub use oee_domain;
pub use operations::{Activity, ActivityBucket, Consumer, Partition, QueueStats, SimTrade, SimTradeRequest};
pub use order::{Accepted, HistoryPage, HistoryQuery, Order, OrderRequest};
pub use quote::{Quote, QuoteRequest};
pub use submit_socket::{SocketMessage, SubmitSocket};
pub use tokens::{ListedToken, Pair, TokenList};
