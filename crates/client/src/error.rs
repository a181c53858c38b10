//! What can go wrong talking to the engine, typed.
//!
//! A refused request is [`Error::Api`]: the HTTP status and the contract's error
//! body, whose `code` is the domain's [`ErrorCode`]. A request that never got an
//! answer is [`Error::Transport`], named by a [`TransportKind`] (connection
//! refused, reset, timed out, …) rather than an OS error number.

use oee_domain::ErrorCode;
use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// Any failure of a client call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine refused the request: `status` with the contract's error body.
    #[error("HTTP {status}: {body}")]
    Api {
        /// The HTTP status (400, 404, 409, 429, 503, …).
        status: u16,
        /// The body's `error` object.
        body: ErrorBody,
        /// The `Retry-After` header, where the engine sent one (429, 503).
        retry_after: Option<Duration>,
    },
    /// No answer: the connection could not be made, broke, or timed out.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// An answer that is not what the contract describes.
    #[error("unexpected response (HTTP {status}): {detail}")]
    UnexpectedResponse {
        /// The HTTP status, or 0 for a WebSocket message.
        status: u16,
        /// What was wrong, with the start of the text received.
        detail: String,
    },
    /// A base URL that is not `http://…` or `https://…`, or no URL at all.
    #[error("invalid base URL {0:?}: expected http://host:port")]
    InvalidUrl(String),
    /// An API key that cannot be sent in a header (it is never printed).
    #[error("the API key holds characters a header cannot carry")]
    InvalidApiKey,
}

impl Error {
    /// The contract's error code, when the engine refused the request.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api { body, .. } => Some(body.code),
            _ => None,
        }
    }

    /// The HTTP status, when an answer came with one: a refusal with the
    /// contract's body, or an answer the contract does not describe (say, a
    /// proxy's `502` page). `None` for no answer, or a WebSocket message.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            Self::UnexpectedResponse { status, .. } if *status != 0 => Some(*status),
            _ => None,
        }
    }

    /// How long the engine asked to wait before trying again (`Retry-After`
    /// on a 429 or 503), where it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether trying again later (or elsewhere) may succeed: transport
    /// failures, `429 RATE_LIMITED`, and `5xx` answers (the contract's
    /// `503 UNAVAILABLE` and `OVERLOADED`, or a proxy's error page).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Api { status, .. } => *status == 429 || *status >= 500,
            Self::UnexpectedResponse { status, .. } => *status >= 500,
            _ => false,
        }
    }

    pub(crate) fn unexpected(status: u16, detail: impl fmt::Display, text: &[u8]) -> Self {
        let sample: String = String::from_utf8_lossy(text).chars().take(300).collect();
        Self::UnexpectedResponse { status, detail: format!("{detail}: {sample}") }
    }
}

/// The `error` object of every error response (and of a `rejected` reply on
/// the submit socket).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorBody {
    /// Why, machine-readable and stable.
    pub code: ErrorCode,
    /// Why, for people.
    pub message: String,
    /// The request field at fault, where one is.
    #[serde(default)]
    pub field: Option<String>,
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(field) = &self.field {
            write!(f, " ({field})")?;
        }
        Ok(())
    }
}

/// An error response's body: `{"error": {...}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorEnvelope {
    pub error: ErrorBody,
}

/// A request that got no answer: its [`TransportKind`] and the underlying error.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {source}")]
pub struct TransportError {
    /// What kind of failure, for deciding and grouping.
    pub kind: TransportKind,
    /// The error as the HTTP or WebSocket library reported it.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl TransportError {
    /// Wraps a library error, naming its kind.
    pub fn new(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self { kind: TransportKind::of(&source), source: Box::new(source) }
    }

    pub(crate) fn timed_out(what: String) -> Self {
        Self { kind: TransportKind::TimedOut, source: what.into() }
    }
}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        Self::Transport(TransportError::new(e))
    }
}

impl From<tokio_tungstenite::tungstenite::Error> for Error {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        Self::Transport(TransportError::new(e))
    }
}

/// Why a connection or request failed, in a few stable kinds. Its `Display`
/// is short and holds no address or id, so failures group into a few keys.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// Nothing listens there (`ECONNREFUSED`).
    ConnectionRefused,
    /// The peer reset the connection (`ECONNRESET`).
    ConnectionReset,
    /// The connection (or the WebSocket upgrade) did not complete in time.
    TimedOut,
    /// This process is out of file descriptors (`EMFILE`): raise `ulimit -n`.
    TooManyOpenFiles,
    /// No local port is free for a new connection (`EADDRNOTAVAIL`).
    NoLocalPort,
    /// Another I/O failure, by its kind.
    Io(std::io::ErrorKind),
    /// The server answered the WebSocket upgrade with this HTTP status.
    UpgradeRefused(u16),
    /// The WebSocket connection is closed.
    ConnectionClosed,
    /// The WebSocket peer broke the protocol.
    Protocol(String),
    /// Another WebSocket failure.
    WebSocket(String),
    /// The HTTP request did not complete in time.
    RequestTimedOut,
    /// The HTTP connection could not be made.
    ConnectFailed,
    /// The HTTP request failed otherwise.
    RequestFailed,
    /// Anything else.
    Other,
}

/// Linux error numbers the kinds above name.
mod errno {
    pub const EMFILE: i32 = 24;
    pub const EADDRNOTAVAIL: i32 = 99;
    pub const ECONNRESET: i32 = 104;
    pub const ETIMEDOUT: i32 = 110;
    pub const ECONNREFUSED: i32 = 111;
}

impl TransportKind {
    /// Names a failure by the first cause in its chain that says what
    /// happened: an OS error (so `connection refused` and `too many open
    /// files` are told apart), a WebSocket error, or an HTTP client error.
    pub fn of(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut fallback = Self::Other;
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = cause {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                return match io.raw_os_error() {
                    Some(errno::EMFILE) => Self::TooManyOpenFiles,
                    Some(errno::EADDRNOTAVAIL) => Self::NoLocalPort,
                    Some(errno::ECONNRESET) => Self::ConnectionReset,
                    Some(errno::ETIMEDOUT) => Self::TimedOut,
                    Some(errno::ECONNREFUSED) => Self::ConnectionRefused,
                    _ => Self::Io(io.kind()),
                };
            }
            if let Some(ws) = e.downcast_ref::<tokio_tungstenite::tungstenite::Error>() {
                use tokio_tungstenite::tungstenite::Error as Ws;
                match ws {
                    Ws::Io(_) => {}
                    Ws::Http(response) => return Self::UpgradeRefused(response.status().as_u16()),
                    Ws::ConnectionClosed | Ws::AlreadyClosed => return Self::ConnectionClosed,
                    Ws::Protocol(p) => return Self::Protocol(p.to_string()),
                    other => return Self::WebSocket(other.to_string()),
                }
            }
            if let Some(http) = e.downcast_ref::<reqwest::Error>() {
                if http.is_timeout() {
                    return Self::RequestTimedOut;
                }
                fallback = if http.is_connect() { Self::ConnectFailed } else { Self::RequestFailed };
            }
            cause = e.source();
        }
        fallback
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ConnectionRefused => f.write_str("connection refused"),
            Self::ConnectionReset => f.write_str("connection reset"),
            Self::TimedOut => f.write_str("connection timed out"),
            Self::TooManyOpenFiles => f.write_str("too many open files (raise ulimit -n)"),
            Self::NoLocalPort => f.write_str("no free local port (ephemeral ports exhausted)"),
            Self::Io(kind) => write!(f, "{kind}"),
            Self::UpgradeRefused(status) => write!(f, "upgrade refused with HTTP {status}"),
            Self::ConnectionClosed => f.write_str("connection closed"),
            Self::Protocol(p) => write!(f, "protocol: {p}"),
            Self::WebSocket(other) => write!(f, "websocket: {other}"),
            Self::RequestTimedOut => f.write_str("request timed out"),
            Self::ConnectFailed => f.write_str("connect failed"),
            Self::RequestFailed => f.write_str("request failed"),
            Self::Other => f.write_str("transport error"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OS errors become named kinds, whatever library wraps them.
    #[test]
    fn failures_are_named_by_their_os_error() {
        let refused = std::io::Error::from_raw_os_error(errno::ECONNREFUSED);
        assert_eq!(TransportKind::of(&refused), TransportKind::ConnectionRefused);
        assert_eq!(TransportKind::of(&refused).to_string(), "connection refused");
        let files = tokio_tungstenite::tungstenite::Error::Io(std::io::Error::from_raw_os_error(errno::EMFILE));
        assert!(TransportKind::of(&files).to_string().starts_with("too many open files"));
        let closed = tokio_tungstenite::tungstenite::Error::ConnectionClosed;
        assert_eq!(TransportKind::of(&closed), TransportKind::ConnectionClosed);
        let other = std::io::Error::other("odd");
        assert_eq!(TransportKind::of(&other), TransportKind::Io(std::io::ErrorKind::Other));
    }

    /// An error body decodes into the domain's code, with its field.
    #[test]
    fn error_bodies_decode_into_codes() {
        let text =
            r#"{"error":{"code":"INVALID_AMOUNT","message":"amountIn must be greater than 0","field":"amountIn"}}"#;
        let body = serde_json::from_str::<ErrorEnvelope>(text).expect("decodes").error;
        assert_eq!(body.code, ErrorCode::InvalidAmount);
        assert_eq!(body.field.as_deref(), Some("amountIn"));
        assert_eq!(body.to_string(), "INVALID_AMOUNT: amountIn must be greater than 0 (amountIn)");
        let error = Error::Api { status: 400, body, retry_after: None };
        assert_eq!(
            (error.status(), error.code(), error.is_retryable()),
            (Some(400), Some(ErrorCode::InvalidAmount), false)
        );
    }

    /// An answer outside the contract still has its status: a proxy's 502
    /// page is worth retrying, a garbled 200 is not.
    #[test]
    fn unexpected_answers_keep_their_status() {
        let proxy = Error::unexpected(502, "not an error body", b"<html>Bad Gateway</html>");
        assert_eq!((proxy.status(), proxy.code(), proxy.is_retryable()), (Some(502), None, true));
        let garbled = Error::unexpected(200, "not an order", b"{");
        assert_eq!((garbled.status(), garbled.is_retryable()), (Some(200), false));
        let message = Error::unexpected(0, "not a status event", b"{}");
        assert_eq!(message.status(), None);
    }
}
