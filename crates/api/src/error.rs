//! How every failure becomes a response: one status and one stable code per
//! case, always the contract's error body, never a stack trace.

use crate::metrics::{CodeLabel, METRICS, StoreLabel};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use oee_domain::{ErrorCode, Rejection};
use oee_store::StoreError;
use serde::Serialize;
use std::fmt;

/// Seconds a client should wait before retrying after a 503.
const RETRY_AFTER_SECS: &str = "1";

#[derive(Debug)]
pub enum ApiError {
    /// The request is at fault.
    Rejected(Rejection),
    /// A store failed.
    Store(StoreError),
    /// Over a rate limit of `limit` `per` second: retry after `retry_after`.
    Limited { retry_after: std::time::Duration, limit: u32, per: &'static str },
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Rejected(Rejection::new(code, message))
    }

    pub fn field(code: ErrorCode, field: &'static str, message: impl Into<String>) -> Self {
        Self::Rejected(Rejection::field(code, field, message))
    }

    /// The error as a client sees it; store errors are logged and counted on the way.
    pub fn into_rejection(self) -> Rejection {
        self.observe();
        self.rejection()
    }

    fn observe(&self) {
        match self {
            Self::Store(e @ StoreError::Unavailable { backend, .. }) => {
                tracing::warn!(error = %e, "store unavailable");
                METRICS.store_unavailable.get_or_create(&StoreLabel { store: backend.as_str() }).inc();
            }
            Self::Store(e) => tracing::error!(error = %oee_store::error::cause_chain(e), "unexpected store error"),
            Self::Rejected(_) | Self::Limited { .. } => {}
        }
    }

    /// Counts a refused submission by its code (store outages are counted apart).
    pub fn count_rejected_submission(&self) {
        let code = match self {
            Self::Rejected(r) => r.code,
            Self::Limited { .. } => ErrorCode::RateLimited,
            Self::Store(_) => return,
        };
        METRICS.rejected.get_or_create(&CodeLabel { code: code.as_str() }).inc();
    }

    fn rejection(&self) -> Rejection {
        match self {
            Self::Rejected(r) => r.clone(),
            Self::Store(e) if e.is_unavailable() => Rejection::new(
                ErrorCode::Unavailable,
                match e {
                    StoreError::Unavailable { backend, .. } => {
                        format!("{backend} is unavailable; retry shortly")
                    }
                    _ => "a backing store is unavailable; retry shortly".to_owned(),
                },
            ),
            Self::Store(_) => Rejection::new(ErrorCode::Internal, "internal error"),
            Self::Limited { retry_after, limit, per } => Rejection::new(
                ErrorCode::RateLimited,
                format!("over the limit of {limit} {per} a second; retry in {} ms", retry_after.as_millis()),
            ),
        }
    }

    /// How long to wait before retrying, for a rate-limited request.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::Limited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        Self::Rejected(r)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(r) => write!(f, "{r}"),
            Self::Store(e) => write!(f, "{e}"),
            Self::Limited { .. } => write!(f, "{}", self.rejection()),
        }
    }
}

/// The HTTP status of each code. Exhaustive: a new code must choose one.
pub const fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        InvalidJson
        | UnknownField
        | DuplicateField
        | MissingField
        | InvalidOrderType
        | InvalidAmount
        | TooManyDecimals
        | AmountTooLarge
        | UnknownToken
        | SameToken
        | InvalidSlippage
        | FieldNotAllowed
        | InvalidPrice
        | InvalidExpiry
        | InvalidUserId
        | InvalidIdempotencyKey
        | InvalidOrderId
        | InvalidParameter => StatusCode::BAD_REQUEST,
        UnsupportedOrderType | NoRoute | InsufficientLiquidity => StatusCode::UNPROCESSABLE_ENTITY,
        IdempotencyConflict | NotCancellable | TokenExists => StatusCode::CONFLICT,
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        OrderNotFound | NotFound => StatusCode::NOT_FOUND,
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Unauthenticated => StatusCode::UNAUTHORIZED,
        Forbidden => StatusCode::FORBIDDEN,
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Overloaded | Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a Rejection,
}

/// The contract's error body for a rejection.
pub fn error_response(rejection: &Rejection) -> HttpResponse {
    let mut response = HttpResponse::build(status_of(rejection.code)).json(Body { error: rejection });
    if matches!(rejection.code, ErrorCode::Unavailable | ErrorCode::Overloaded | ErrorCode::RateLimited) {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
    }
    if rejection.code == ErrorCode::Unauthenticated {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        status_of(self.rejection().code)
    }

    fn error_response(&self) -> HttpResponse {
        self.observe();
        let mut response = error_response(&self.rejection());
        if let Self::Limited { retry_after, limit, .. } = self {
            let secs = u64::try_from(retry_after.as_micros().div_ceil(1_000_000).max(1)).unwrap_or(u64::MAX);
            let headers = response.headers_mut();
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
            headers.insert(HeaderName::from_static("ratelimit-limit"), HeaderValue::from(*limit));
            headers.insert(HeaderName::from_static("ratelimit-remaining"), HeaderValue::from(0u32));
            headers.insert(HeaderName::from_static("ratelimit-reset"), HeaderValue::from(secs));
        }
        response
    }
}
