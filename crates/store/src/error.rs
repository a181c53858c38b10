//! Store errors, classified so callers can tell an outage (retry later, answer
//! 503) from a bug or bad data (log it, answer 500).

use std::fmt;

/// Which backing store failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Redis,
}

impl Backend {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Redis => "redis",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or did not answer in time.
    #[error("{backend} is unavailable: {reason}")]
    Unavailable { backend: Backend, reason: String },
    /// A query the store rejected: a bug, not an outage.
    #[error("postgres query failed")]
    Postgres(#[source] tokio_postgres::Error),
    /// A command Redis rejected: a bug, not an outage.
    #[error("redis command failed")]
    Redis(#[source] fred::error::Error),
    /// Stored data that does not decode.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub const fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    /// Redis answered that the stream's consumer group does not exist (the stream
    /// was lost, e.g. a restart without persistence).
    pub fn is_missing_group(&self) -> bool {
        matches!(self, Self::Redis(e) if e.details().starts_with("NOGROUP"))
    }

    pub fn corrupt(what: impl fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }
}

/// SQLSTATE classes and codes that mean "the server cannot serve now".
fn is_outage_state(code: &str) -> bool {
    code.starts_with("08") // connection exception
        || code.starts_with("53") // insufficient resources
        || code.starts_with("57P") // admin / crash shutdown, cannot connect now
        || code == "57014" // query canceled (statement timeout)
        || code == "40001" // serialization failure
        || code == "40P01" // deadlock: safe to retry
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.code() {
            Some(state) if !is_outage_state(state.code()) => Self::Postgres(e),
            _ => Self::Unavailable { backend: Backend::Postgres, reason: cause_chain(&e) },
        }
    }
}

/// An error's text followed by its sources': `error connecting to server: Connection refused`.
pub fn cause_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => Self::Unavailable { backend: Backend::Postgres, reason: cause_chain(&other) },
        }
    }
}

impl From<fred::error::Error> for StoreError {
    fn from(e: fred::error::Error) -> Self {
        use fred::error::ErrorKind;
        match e.kind() {
            ErrorKind::IO | ErrorKind::Timeout | ErrorKind::Canceled | ErrorKind::Backpressure => {
                Self::Unavailable { backend: Backend::Redis, reason: cause_chain(&e) }
            }
            _ => Self::Redis(e),
        }
    }
}
