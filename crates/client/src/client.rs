//! The [`Client`]: its base URLs, HTTP calls, and the sockets it opens.
//!
//! A client knows one or more base URLs of the same engine (its API replicas).
//! An HTTP request goes to the first one that accepts a connection: a request
//! that could not connect was never sent, so trying the next URL is safe even
//! for a submission without an idempotency key. Nothing else is retried.

use crate::error::{Error, ErrorEnvelope};
use crate::follow::{Follow, Reconnect};
use crate::launches::{Launch, LaunchList, LaunchRequest, Launched};
use crate::operations::{Activity, QueueStats, SimTrade, SimTradeRequest};
use crate::order::{Accepted, HistoryPage, HistoryQuery, Order, OrderRequest};
use crate::quote::{Quote, QuoteRequest};
use crate::submit_socket::SubmitSocket;
use crate::tokens::TokenList;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The header that makes a submission idempotent.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A handle on one engine; cheap to clone, safe to share between tasks.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    bases: Vec<Base>,
    reconnect: Reconnect,
    connect_timeout: Duration,
    /// `Bearer <key>`, sent on every request and upgrade.
    authorization: Option<HeaderValue>,
}

/// One API replica's address, for HTTP and for WebSockets.
#[derive(Debug, Clone)]
pub(crate) struct Base {
    pub http: String,
    pub ws: String,
}

impl Base {
    fn parse(url: &str) -> Result<Self, Error> {
        let http = url.trim_end_matches('/').to_owned();
        let ws = if let Some(rest) = http.strip_prefix("http://") {
            format!("ws://{rest}")
        } else if let Some(rest) = http.strip_prefix("https://") {
            format!("wss://{rest}")
        } else {
            return Err(Error::InvalidUrl(url.to_owned()));
        };
        Ok(Self { http, ws })
    }
}

/// Builds a [`Client`] with more than the defaults.
#[derive(Clone)]
pub struct ClientBuilder {
    urls: Vec<String>,
    request_timeout: Duration,
    connect_timeout: Duration,
    reconnect: Reconnect,
    api_key: Option<String>,
}

/// Never prints the API key.
impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("urls", &self.urls)
            .field("api_key", &self.api_key.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The API key every request and socket presents (`Authorization: Bearer`);
    /// an engine with `OEE_AUTH=required` answers 401 without one.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Adds a base URL (`http://host:port`); URLs are tried in the order added.
    #[must_use]
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.urls.push(url.into());
        self
    }

    /// Adds several base URLs, in order.
    #[must_use]
    pub fn urls<I: IntoIterator<Item = S>, S: Into<String>>(mut self, urls: I) -> Self {
        self.urls.extend(urls.into_iter().map(Into::into));
        self
    }

    /// Bounds each HTTP request, from connecting to the end of the reply (default 30 s).
    #[must_use]
    pub const fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Bounds each connection attempt, HTTP or WebSocket (default 10 s).
    #[must_use]
    pub const fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How [`Client::follow`] reconnects when a socket breaks.
    #[must_use]
    pub const fn reconnect(mut self, reconnect: Reconnect) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// The client; fails on a URL that is not `http://` or `https://`, or none.
    pub fn build(self) -> Result<Client, Error> {
        if self.urls.is_empty() {
            return Err(Error::InvalidUrl(String::new()));
        }
        let bases = self.urls.iter().map(|url| Base::parse(url)).collect::<Result<Vec<_>, _>>()?;
        let authorization = match &self.api_key {
            None => None,
            Some(key) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| Error::InvalidApiKey)?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(value) = &authorization {
            headers.insert(reqwest::header::AUTHORIZATION, value.clone());
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .tcp_nodelay(true)
            .build()?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                bases,
                reconnect: self.reconnect,
                connect_timeout: self.connect_timeout,
                authorization,
            }),
        })
    }
}

impl Client {
    /// A client of the engine at `base_url` (`http://host:port`), with defaults.
    pub fn new(base_url: &str) -> Result<Self, Error> {
        Self::builder().url(base_url).build()
    }

    /// A builder: several base URLs, the API key, timeouts, the reconnect policy.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            urls: Vec::new(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            reconnect: Reconnect::default(),
            api_key: None,
        }
    }

    /// Submits an order (`POST /api/orders/execute`), with its idempotency
    /// key as the `Idempotency-Key` header if it has one.
    pub async fn submit(&self, order: &OrderRequest) -> Result<Accepted, Error> {
        self.submit_json(&order.http_body(), order.idempotency_key.as_deref()).await
    }

    /// Submits an order body given as JSON text, as is (e.g. one a user typed).
    pub async fn submit_json(&self, body: &str, idempotency_key: Option<&str>) -> Result<Accepted, Error> {
        let response = self
            .send(|http, base| {
                let request = http
                    .post(format!("{base}/api/orders/execute"))
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(body.to_owned());
                match idempotency_key {
                    Some(key) => request.header(IDEMPOTENCY_KEY, key),
                    None => request,
                }
            })
            .await?;
        let replayed = response.status() == reqwest::StatusCode::OK;
        let accepted: Accepted = decode(response).await?;
        Ok(Accepted { replayed, ..accepted })
    }

    /// The whole order with its status history (`GET /api/orders/{orderId}`).
    pub async fn order(&self, order_id: Uuid) -> Result<Order, Error> {
        decode(self.send(|http, base| http.get(format!("{base}/api/orders/{order_id}"))).await?).await
    }

    /// Cancels an open order (`DELETE /api/orders/{orderId}`): the order, now
    /// `cancelled`. An order that is not open (it fired, or it is finished)
    /// is refused with `NOT_CANCELLABLE` (409).
    pub async fn cancel(&self, order_id: Uuid) -> Result<Order, Error> {
        decode(self.send(|http, base| http.delete(format!("{base}/api/orders/{order_id}"))).await?).await
    }

    /// One page of order history, newest first (`GET /api/orders`); pass
    /// [`HistoryQuery::next_page`] for the next one.
    pub async fn history(&self, query: &HistoryQuery) -> Result<HistoryPage, Error> {
        self.get("/api/orders", &query.pairs()).await
    }

    /// The route the engine would take for an order now, with every venue's
    /// quote (`GET /api/quote`). Nothing is stored; a request a submit would
    /// refuse is refused the same way (`UNKNOWN_TOKEN`, `NO_ROUTE`, …).
    pub async fn quote(&self, request: &QuoteRequest) -> Result<Quote, Error> {
        self.get("/api/quote", &request.pairs()).await
    }

    /// The tokens the engine knows and the pairs each venue lists (`GET /api/tokens`).
    pub async fn tokens(&self) -> Result<TokenList, Error> {
        self.get("/api/tokens", &[]).await
    }

    /// The job queue's state (`GET /api/queue/stats`; an admin key).
    pub async fn queue_stats(&self) -> Result<QueueStats, Error> {
        self.get("/api/queue/stats", &[]).await
    }

    /// Throughput and latency over the last `minutes` (1–60), in 60 buckets
    /// (`GET /api/activity`; an admin key).
    pub async fn activity(&self, minutes: u32) -> Result<Activity, Error> {
        self.get("/api/activity", &[("minutes", minutes.to_string())]).await
    }

    /// Makes one outside trade on the simulated market
    /// (`POST /api/admin/sim/trades`; an admin key).
    pub async fn sim_trade(&self, trade: &SimTradeRequest) -> Result<SimTrade, Error> {
        self.post("/api/admin/sim/trades", trade).await
    }

    /// Lists a new token with one pool on the simulated chain
    /// (`POST /api/admin/sim/launches`; an admin key). A symbol or mint that
    /// is listed already is refused with `TOKEN_EXISTS` (409). The token
    /// quotes and trades once the API's pools next refresh (within a second).
    pub async fn launch(&self, launch: &LaunchRequest) -> Result<Launched, Error> {
        self.post("/api/admin/sim/launches", launch).await
    }

    /// The tokens launched so far, oldest first (`GET /api/launches`), as of
    /// the API's latest pool refresh: a launch just made may take a moment
    /// (within a second) to be listed.
    pub async fn launches(&self) -> Result<Vec<Launch>, Error> {
        self.get::<LaunchList>("/api/launches", &[]).await.map(|list| list.launches)
    }

    /// Follows an order's events from the first one, reconnecting as the
    /// [`Reconnect`] policy says; nothing is sent until [`Follow::next`].
    pub fn follow(&self, order_id: Uuid) -> Follow {
        self.follow_from(order_id, 0)
    }

    /// Follows an order's events after `seq` (`fromSeq`).
    pub fn follow_from(&self, order_id: Uuid, seq: u32) -> Follow {
        Follow::new(self.clone(), order_id, seq)
    }

    /// Opens the submit socket on the first base URL that accepts it.
    pub async fn submit_socket(&self) -> Result<SubmitSocket, Error> {
        let mut last = None;
        for base in &self.inner.bases {
            match crate::follow::open(
                &format!("{}/api/orders/execute", base.ws),
                self.inner.connect_timeout,
                self.authorization(),
            )
            .await
            {
                Ok(socket) => return Ok(SubmitSocket::new(socket)),
                Err(e @ Error::Transport(_)) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("a client has at least one base URL"))
    }

    pub(crate) fn bases(&self) -> &[Base] {
        &self.inner.bases
    }

    pub(crate) fn reconnect_policy(&self) -> &Reconnect {
        &self.inner.reconnect
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        self.inner.connect_timeout
    }

    /// The `Authorization` value sockets present, if the client has a key.
    pub(crate) fn authorization(&self) -> Option<&HeaderValue> {
        self.inner.authorization.as_ref()
    }

    /// `GET path?pairs` (pairs percent-encoded), decoded as `T`.
    async fn get<T: DeserializeOwned>(&self, path: &str, pairs: &[(&str, String)]) -> Result<T, Error> {
        let response = self
            .send(|http, base| {
                let mut url = reqwest::Url::parse(&format!("{base}{path}")).expect("a checked base URL");
                if !pairs.is_empty() {
                    url.query_pairs_mut().extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())));
                }
                http.get(url)
            })
            .await?;
        decode(response).await
    }

    /// `POST path` with `body` as JSON, decoded as `T`.
    async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl serde::Serialize) -> Result<T, Error> {
        let body = serde_json::to_string(body).expect("a request body always serializes");
        let response = self
            .send(|http, base| {
                http.post(format!("{base}{path}"))
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(body.clone())
            })
            .await?;
        decode(response).await
    }

    /// Sends the request `build` makes for a base URL, to the first base URL
    /// that accepts the connection.
    async fn send(
        &self,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        let mut last = None;
        for base in &self.inner.bases {
            match build(&self.inner.http, &base.http).send().await {
                Ok(response) => return Ok(response),
                Err(e) if e.is_connect() => last = Some(e),
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.expect("a client has at least one base URL").into())
    }
}

/// A success body as `T`, or the contract's error.
async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, Error> {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let bytes = response.bytes().await?;
    if (200..300).contains(&status) {
        return serde_json::from_slice(&bytes).map_err(|e| Error::unexpected(status, e, &bytes));
    }
    match serde_json::from_slice::<ErrorEnvelope>(&bytes) {
        Ok(envelope) => Err(Error::Api { status, body: envelope.error, retry_after }),
        Err(e) => Err(Error::unexpected(status, e, &bytes)),
    }
}

/// The error a refused WebSocket upgrade carried, as the contract's error if
/// its body is one.
pub(crate) fn refused_upgrade(status: u16, body: Option<&[u8]>) -> Option<Error> {
    let envelope = serde_json::from_slice::<ErrorEnvelope>(body?).ok()?;
    Some(Error::Api { status, body: envelope.error, retry_after: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Base URLs map to their WebSocket twins; anything else is refused.
    #[test]
    fn base_urls() {
        let base = Base::parse("http://127.0.0.1:8080/").expect("valid");
        assert_eq!((base.http.as_str(), base.ws.as_str()), ("http://127.0.0.1:8080", "ws://127.0.0.1:8080"));
        assert_eq!(Base::parse("https://engine.example").expect("valid").ws, "wss://engine.example");
        assert!(matches!(Base::parse("127.0.0.1:8080"), Err(Error::InvalidUrl(_))));
        assert!(matches!(Client::builder().build(), Err(Error::InvalidUrl(_))));
    }
}
