//! Stable, machine-readable error codes.
//!
//! [`ErrorCode`] names why a *request* was refused; the HTTP layer maps each one to
//! exactly one status. [`FailureCode`] names why an accepted *order* ended `failed`.
//! The strings are part of the public contract: never rename one.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidJson,
    UnknownField,
    DuplicateField,
    MissingField,
    InvalidOrderType,
    UnsupportedOrderType,
    InvalidAmount,
    TooManyDecimals,
    AmountTooLarge,
    UnknownToken,
    SameToken,
    InvalidSlippage,
    /// A field the order's type does not take (e.g. `slippageBps` on a limit order).
    FieldNotAllowed,
    /// A malformed `limitPrice` or `minAmountOut`, or one with no minimum at all.
    InvalidPrice,
    /// A malformed `expiresAt`, or one not between now and 30 days ahead.
    InvalidExpiry,
    InvalidUserId,
    InvalidIdempotencyKey,
    IdempotencyConflict,
    NoRoute,
    /// No venue, nor a split between them, can fill the amount (a quote).
    InsufficientLiquidity,
    PayloadTooLarge,
    UnsupportedMediaType,
    InvalidOrderId,
    InvalidParameter,
    OrderNotFound,
    /// A cancel of an order that is not `open` (already triggered or finished).
    NotCancellable,
    /// A launch of a token whose symbol or mint is already listed.
    TokenExists,
    NotFound,
    MethodNotAllowed,
    /// No API key, or one that is malformed, unknown or revoked.
    Unauthenticated,
    /// A valid key without the scope the route needs.
    Forbidden,
    RateLimited,
    /// The job queue is further behind than the deployment allows: new orders
    /// are shed (nothing stored) until the workers catch up.
    Overloaded,
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// Every code, for lookups by wire name.
    pub const ALL: [Self; 35] = [
        Self::InvalidJson,
        Self::UnknownField,
        Self::DuplicateField,
        Self::MissingField,
        Self::InvalidOrderType,
        Self::UnsupportedOrderType,
        Self::InvalidAmount,
        Self::TooManyDecimals,
        Self::AmountTooLarge,
        Self::UnknownToken,
        Self::SameToken,
        Self::InvalidSlippage,
        Self::FieldNotAllowed,
        Self::InvalidPrice,
        Self::InvalidExpiry,
        Self::InvalidUserId,
        Self::InvalidIdempotencyKey,
        Self::IdempotencyConflict,
        Self::NoRoute,
        Self::InsufficientLiquidity,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::InvalidOrderId,
        Self::InvalidParameter,
        Self::OrderNotFound,
        Self::NotCancellable,
        Self::TokenExists,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Unauthenticated,
        Self::Forbidden,
        Self::RateLimited,
        Self::Overloaded,
        Self::Unavailable,
        Self::Internal,
    ];

    /// Parses the wire name (exact, upper case), e.g. `INVALID_AMOUNT`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == s)
    }

    /// The stable wire name, e.g. `INVALID_AMOUNT`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "INVALID_JSON",
            Self::UnknownField => "UNKNOWN_FIELD",
            Self::DuplicateField => "DUPLICATE_FIELD",
            Self::MissingField => "MISSING_FIELD",
            Self::InvalidOrderType => "INVALID_ORDER_TYPE",
            Self::UnsupportedOrderType => "UNSUPPORTED_ORDER_TYPE",
            Self::InvalidAmount => "INVALID_AMOUNT",
            Self::TooManyDecimals => "TOO_MANY_DECIMALS",
            Self::AmountTooLarge => "AMOUNT_TOO_LARGE",
            Self::UnknownToken => "UNKNOWN_TOKEN",
            Self::SameToken => "SAME_TOKEN",
            Self::InvalidSlippage => "INVALID_SLIPPAGE",
            Self::FieldNotAllowed => "FIELD_NOT_ALLOWED",
            Self::InvalidPrice => "INVALID_PRICE",
            Self::InvalidExpiry => "INVALID_EXPIRY",
            Self::InvalidUserId => "INVALID_USER_ID",
            Self::InvalidIdempotencyKey => "INVALID_IDEMPOTENCY_KEY",
            Self::IdempotencyConflict => "IDEMPOTENCY_CONFLICT",
            Self::NoRoute => "NO_ROUTE",
            Self::InsufficientLiquidity => "INSUFFICIENT_LIQUIDITY",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::InvalidOrderId => "INVALID_ORDER_ID",
            Self::InvalidParameter => "INVALID_PARAMETER",
            Self::OrderNotFound => "ORDER_NOT_FOUND",
            Self::NotCancellable => "NOT_CANCELLABLE",
            Self::TokenExists => "TOKEN_EXISTS",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::RateLimited => "RATE_LIMITED",
            Self::Overloaded => "OVERLOADED",
            Self::Unavailable => "UNAVAILABLE",
            Self::Internal => "INTERNAL",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&name).ok_or_else(|| serde::de::Error::custom(format_args!("unknown error code {name:?}")))
    }
}

#[cfg(feature = "openapi")]
wire_names_schema!(ErrorCode, "Why the request was refused: a stable, machine-readable code.");

/// A refused request: the body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

impl Rejection {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: None }
    }

    pub fn field(code: ErrorCode, field: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: Some(field) }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Rejection {}

/// Why an accepted order ended `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FailureCode {
    /// The pool moved so far that the output fell below `minAmountOut`.
    SlippageExceeded,
    /// No venue lists the pair.
    NoRoute,
    /// The pools cannot absorb the order.
    InsufficientLiquidity,
    /// The transaction's blockhash expired before it landed.
    BlockhashExpired,
    /// The venue's RPC node did not answer in time.
    VenueTimeout,
    /// Every allowed attempt failed transiently.
    RetriesExhausted,
    /// The job was delivered too many times without finishing.
    DeadLettered,
    /// The stored order cannot be executed (e.g. a token removed from the registry).
    InvalidOrder,
}

impl FailureCode {
    /// Every code, for lookups by wire name.
    pub const ALL: [Self; 8] = [
        Self::SlippageExceeded,
        Self::NoRoute,
        Self::InsufficientLiquidity,
        Self::BlockhashExpired,
        Self::VenueTimeout,
        Self::RetriesExhausted,
        Self::DeadLettered,
        Self::InvalidOrder,
    ];

    /// Parses the wire name (exact, upper case), e.g. `SLIPPAGE_EXCEEDED`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == s)
    }

    /// The stable wire name, e.g. `SLIPPAGE_EXCEEDED`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SlippageExceeded => "SLIPPAGE_EXCEEDED",
            Self::NoRoute => "NO_ROUTE",
            Self::InsufficientLiquidity => "INSUFFICIENT_LIQUIDITY",
            Self::BlockhashExpired => "BLOCKHASH_EXPIRED",
            Self::VenueTimeout => "VENUE_TIMEOUT",
            Self::RetriesExhausted => "RETRIES_EXHAUSTED",
            Self::DeadLettered => "DEAD_LETTERED",
            Self::InvalidOrder => "INVALID_ORDER",
        }
    }
}

impl fmt::Display for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error carried by a status event or an order: `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorInfo {
    pub code: FailureCode,
    pub message: String,
}

impl ErrorInfo {
    pub fn new(code: FailureCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code's wire name parses back to it, through `parse` and through serde.
    #[test]
    fn codes_round_trip_by_wire_name() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            let json = serde_json::to_string(&code).expect("json");
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).expect("decodes"), code);
        }
        for code in FailureCode::ALL {
            assert_eq!(FailureCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::parse("invalid_amount"), None);
        assert!(serde_json::from_str::<ErrorCode>(r#""NO_SUCH_CODE""#).is_err());
    }
}
