//! The engine's vocabulary: tokens, exact amounts, order requests, statuses,
//! events, routes and error codes. Pure: no I/O, no async, no clocks except
//! the timestamps callers pass in.

/// The JSON Schema of a type sent as one of a fixed set of names: a string
/// enum listing `$type::ALL` by `as_str`, so the API's description cannot lag
/// behind the names the code can send.
#[cfg(feature = "openapi")]
macro_rules! wire_names_schema {
    ($type:ty, $description:expr) => {
        impl utoipa::PartialSchema for $type {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some($description))
                    .enum_values(Some(<$type>::ALL.map(<$type>::as_str)))
                    .into()
            }
        }

        impl utoipa::ToSchema for $type {}
    };
}

pub mod amount;
pub mod apikey;
pub mod error;
pub mod event;
pub mod request;
pub mod route;
pub mod status;
pub mod token;

pub use amount::{AmountError, Units, format_ratio, format_units, parse_units, parse_wide};
pub use apikey::{ApiKey, KEY_RANDOM_LEN, KeyFormatError, Scope, Scopes};
pub use error::{ErrorCode, ErrorInfo, FailureCode, Rejection};
pub use event::{EventDetail, EventHead, RecordedEvent, StatusEvent, Trigger, format_time};
pub use request::{
    Channel, LimitTerms, OrderSpec, OrderType, RawOrder, SniperTerms, Submission, min_out_at_max_price,
    min_out_at_price, parse_order, resolve_expiry, valid_user_id, validate_idempotency_key,
};
pub use route::{Dex, Instruction, LegRecord, QuoteRecord, RouteRecord};
pub use status::OrderStatus;
pub use token::{NATIVE_SYMBOL, Token, TokenRegistry, WSOL_MINT, valid_mint, valid_symbol};
