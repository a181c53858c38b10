//! Parsing and validation of an order submission, exactly as the contract says.
//!
//! The body is read as a JSON object whose values are kept as raw JSON text, so
//! that a number's literal digits reach [`crate::amount::parse_units`] untouched
//! (never through `f64`), duplicate keys are caught, and unknown fields are named.
//! Validation is pure: it needs only the token registry.
//!
//! Accepted names, canonical first and the earlier implementations' alias second:
//! `type`/`orderType`, `amountIn`/`amount`, `slippageBps`/`slippage` (a fraction:
//! `0.005` = 50 bps). Giving a name and its alias together is refused.

use crate::amount::{AmountError, format_units, parse_units, parse_wide};
use crate::error::{ErrorCode, Rejection};
use crate::token::{Token, TokenRegistry};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// Default slippage tolerance when the request names none.
pub const DEFAULT_SLIPPAGE_BPS: u16 = 50;
/// Largest slippage tolerance accepted (50%).
pub const MAX_SLIPPAGE_BPS: u16 = 5_000;
/// Default user when the request names none.
pub const DEFAULT_USER_ID: &str = "anonymous";
/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// Decimals a `limitPrice` may carry.
pub const PRICE_DECIMALS: u8 = 18;
/// How long a resting order waits when it names no `expiresAt`.
pub const DEFAULT_EXPIRY: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// The furthest ahead an `expiresAt` may be.
pub const MAX_EXPIRY: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// Kinds of order. Sniper orders are recognised so a client gets
/// `UNSUPPORTED_ORDER_TYPE` rather than a generic error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderType {
    /// Routed and executed at once.
    Market,
    /// Rests `open` until the market returns at least its minimum.
    Limit,
}

impl OrderType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Market => "market",
            Self::Limit => "limit",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Market, Self::Limit].into_iter().find(|t| s.eq_ignore_ascii_case(t.as_str()))
    }
}

/// Encodes the wire name (for clients passing an order on).
impl serde::Serialize for OrderType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Decodes the wire name as [`OrderType::parse`] does (for clients reading an order).
impl<'de> serde::Deserialize<'de> for OrderType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        Self::parse(&name).ok_or_else(|| serde::de::Error::custom(format_args!("unknown order type {name:?}")))
    }
}

/// Where a submission came from: the WebSocket submit path also carries
/// `idempotencyKey` and `clientRef` inside the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Http,
    WebSocket,
}

impl Channel {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::WebSocket => "websocket",
        }
    }
}

/// A validated order, amounts in atoms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSpec {
    pub order_type: OrderType,
    pub token_in: Token,
    pub token_out: Token,
    pub amount_in: u64,
    /// The slippage bound of a market order; 0 for a limit order, whose
    /// minimum is its bound.
    pub slippage_bps: u16,
    pub user_id: String,
    /// A limit order's terms (`None` for a market order).
    pub limit: Option<LimitTerms>,
}

/// What a limit order asks: at least `min_amount_out` atoms of tokenOut for
/// its whole `amountIn`, until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitTerms {
    /// In tokenOut atoms: given as `minAmountOut`, or `⌈amountIn × limitPrice⌉`.
    pub min_amount_out: u64,
    /// The price as given (canonical decimal text), when it was.
    pub limit_price: Option<String>,
    /// When it expires: as requested until accepted, then as stored (the
    /// default filled in by [`LimitTerms::resolve_expiry`]).
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl LimitTerms {
    /// The expiry an order accepted at `now` gets: the requested one, which
    /// must lie after `now` and at most [`MAX_EXPIRY`] ahead, or [`DEFAULT_EXPIRY`]
    /// from now.
    pub fn resolve_expiry(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<chrono::DateTime<chrono::Utc>, Rejection> {
        match self.expires_at {
            None => Ok(crate::event::truncate_to_millis(now + DEFAULT_EXPIRY)),
            Some(at) if at <= now => {
                Err(Rejection::field(ErrorCode::InvalidExpiry, "expiresAt", "expiresAt must be in the future"))
            }
            Some(at) if at > now + MAX_EXPIRY => {
                Err(Rejection::field(ErrorCode::InvalidExpiry, "expiresAt", "expiresAt must be at most 30 days ahead"))
            }
            Some(at) => Ok(at),
        }
    }
}

/// The least tokenOut atoms `amount_in` atoms of tokenIn must return at
/// `price` (tokenOut per one tokenIn, with [`PRICE_DECIMALS`] decimals):
/// `⌈amount_in × price⌉`, exact, rounded up so the order never fills below its
/// price. `None` when it does not fit in a `u64`.
pub fn min_out_at_price(amount_in: u64, price: u128, decimals_in: u8, decimals_out: u8) -> Option<u64> {
    // atoms_out = amount_in × price × 10^(out − in − PRICE_DECIMALS)
    let exponent = i32::from(decimals_out) - i32::from(decimals_in) - i32::from(PRICE_DECIMALS);
    let mut num = u128::from(amount_in).checked_mul(price)?;
    let mut den: u128 = 1;
    if exponent >= 0 {
        num = num.checked_mul(10u128.checked_pow(exponent.unsigned_abs())?)?;
    } else {
        den = 10u128.checked_pow(exponent.unsigned_abs())?;
    }
    u64::try_from(num.div_ceil(den)).ok()
}

impl OrderSpec {
    /// A canonical text of everything that defines the order, so two bodies that
    /// mean the same order (aliases, number vs string, `"1.50"` vs `"1.5"`) compare
    /// equal for idempotency.
    pub fn fingerprint(&self) -> String {
        let mut text = format!(
            "{}|{}|{}|{}|{}|{}",
            self.order_type.as_str(),
            self.token_in.symbol,
            self.token_out.symbol,
            self.amount_in,
            self.slippage_bps,
            self.user_id
        );
        if let Some(limit) = &self.limit {
            // The expiry as requested: a repeat without one means the same order.
            let expiry = limit.expires_at.map(|at| at.timestamp_millis().to_string()).unwrap_or_default();
            text.push_str(&format!("|{}|{expiry}", limit.min_amount_out));
        }
        text
    }
}

/// A submission: the order plus the envelope fields of the WebSocket channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub spec: OrderSpec,
    pub idempotency_key: Option<String>,
    pub channel: Channel,
}

/// The top-level fields of a body, in document order, values as raw JSON.
#[derive(Debug)]
pub struct RawOrder<'a> {
    fields: Vec<(String, &'a RawValue)>,
}

impl<'a> RawOrder<'a> {
    /// Reads a body as a JSON object. Fails with `INVALID_JSON` on malformed JSON
    /// or a non-object, and `DUPLICATE_FIELD` on a key given twice.
    pub fn parse(body: &'a [u8]) -> Result<Self, Rejection> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let fields = de.deserialize_map(FieldsVisitor).map_err(|e| {
            if let Some(dup) = e.to_string().strip_prefix(DUPLICATE_MARKER) {
                let dup = dup.split(" at line").next().unwrap_or(dup);
                Rejection::new(ErrorCode::DuplicateField, format!("field {dup:?} is given more than once"))
            } else {
                Rejection::new(ErrorCode::InvalidJson, format!("body is not a JSON object: {e}"))
            }
        })?;
        de.end()
            .map_err(|e| Rejection::new(ErrorCode::InvalidJson, format!("trailing data after the JSON object: {e}")))?;
        Ok(Self { fields })
    }

    fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| *v).filter(|v| v.get() != "null")
    }

    /// The raw `clientRef` of a WebSocket message, echoed back in the reply whether
    /// the order is accepted or not.
    pub fn client_ref(&self) -> Option<&'a RawValue> {
        self.get("clientRef")
    }

    /// Validates every field against the contract.
    pub fn validate(&self, registry: &TokenRegistry, channel: Channel) -> Result<Submission, Rejection> {
        for (name, _) in &self.fields {
            let known = FIELDS.contains(&name.as_str())
                || (channel == Channel::WebSocket && WS_FIELDS.contains(&name.as_str()));
            if !known {
                return Err(Rejection::new(ErrorCode::UnknownField, format!("unknown field {name:?}")));
            }
        }
        let order_type = match self.pick("type", "orderType")? {
            None => OrderType::Market,
            Some((field, raw)) => {
                let text = as_string(raw).ok_or_else(|| {
                    Rejection::field(
                        ErrorCode::InvalidOrderType,
                        field,
                        format!("{field} must be a string such as \"market\""),
                    )
                })?;
                OrderType::parse(&text).ok_or_else(|| {
                    Rejection::field(
                        ErrorCode::UnsupportedOrderType,
                        field,
                        format!("order type {text:?} is not supported; \"market\" and \"limit\" orders run"),
                    )
                })?
            }
        };

        let token_in = token(registry, self.require("tokenIn")?, "tokenIn")?;
        let token_out = token(registry, self.require("tokenOut")?, "tokenOut")?;
        if token_in.mint == token_out.mint {
            return Err(Rejection::field(
                ErrorCode::SameToken,
                "tokenOut",
                format!("tokenIn and tokenOut are the same token ({} / {})", token_in.symbol, token_out.symbol),
            ));
        }

        let (amount_field, amount_raw) = self
            .pick("amountIn", "amount")?
            .ok_or_else(|| Rejection::field(ErrorCode::MissingField, "amountIn", "amountIn is required"))?;
        let amount_in = amount(amount_raw, amount_field, token_in)?;

        let slippage = self.pick("slippageBps", "slippage")?;
        let (slippage_bps, limit) = match order_type {
            OrderType::Market => {
                if let Some(field) = LIMIT_FIELDS.iter().find(|f| self.get(f).is_some()) {
                    return Err(not_allowed(field, "market"));
                }
                (slippage.map_or(Ok(DEFAULT_SLIPPAGE_BPS), |(field, raw)| self::slippage(raw, field))?, None)
            }
            OrderType::Limit => {
                if let Some((field, _)) = slippage {
                    return Err(not_allowed(field, "limit"));
                }
                (0, Some(self.limit_terms(token_in, token_out, amount_in)?))
            }
        };

        let user_id = match self.get("userId") {
            None => DEFAULT_USER_ID.to_owned(),
            Some(raw) => as_string(raw).filter(|s| valid_user_id(s)).ok_or_else(|| {
                Rejection::field(
                    ErrorCode::InvalidUserId,
                    "userId",
                    "userId must be 1–64 characters of A-Z a-z 0-9 _ . : -",
                )
            })?,
        };

        let idempotency_key = match self.get("idempotencyKey") {
            None => None,
            Some(raw) => {
                Some(as_string(raw).ok_or_else(|| bad_idempotency_key(Some("idempotencyKey"))).and_then(|k| {
                    validate_idempotency_key(&k).map(|()| k).map_err(|mut r| {
                        r.field = Some("idempotencyKey");
                        r
                    })
                })?)
            }
        };

        Ok(Submission {
            spec: OrderSpec {
                order_type,
                token_in: token_in.clone(),
                token_out: token_out.clone(),
                amount_in,
                slippage_bps,
                user_id,
                limit,
            },
            idempotency_key,
            channel,
        })
    }

    /// The value of `name` or of its `alias`, refusing both at once.
    fn pick(&self, name: &'static str, alias: &'static str) -> Result<Option<(&'static str, &'a RawValue)>, Rejection> {
        match (self.get(name), self.get(alias)) {
            (Some(_), Some(_)) => Err(Rejection::field(
                ErrorCode::DuplicateField,
                alias,
                format!("give either {name} or its alias {alias}, not both"),
            )),
            (Some(v), None) => Ok(Some((name, v))),
            (None, Some(v)) => Ok(Some((alias, v))),
            (None, None) => Ok(None),
        }
    }

    /// A limit order's minimum (from exactly one of `limitPrice` and
    /// `minAmountOut`) and requested expiry.
    fn limit_terms(&self, token_in: &Token, token_out: &Token, amount_in: u64) -> Result<LimitTerms, Rejection> {
        let (min_amount_out, limit_price) = match (self.get("limitPrice"), self.get("minAmountOut")) {
            (Some(_), Some(_)) => {
                return Err(Rejection::field(
                    ErrorCode::FieldNotAllowed,
                    "minAmountOut",
                    "give either limitPrice or minAmountOut, not both",
                ));
            }
            (None, None) => {
                return Err(Rejection::field(
                    ErrorCode::MissingField,
                    "limitPrice",
                    "a limit order needs limitPrice or minAmountOut",
                ));
            }
            (Some(raw), None) => {
                let bad = |why: &str| Rejection::field(ErrorCode::InvalidPrice, "limitPrice", why.to_owned());
                let text =
                    numeric_text(raw).ok_or_else(|| bad("limitPrice must be a decimal string, e.g. \"150.5\""))?;
                let price = parse_wide(&text, PRICE_DECIMALS).map_err(|e| match e {
                    AmountError::TooManyDecimals => bad("limitPrice has more than 18 decimals"),
                    AmountError::NotPositive => bad("limitPrice must be greater than 0"),
                    _ => bad("limitPrice must be a decimal number, e.g. \"150.5\""),
                })?;
                let min = min_out_at_price(amount_in, price, token_in.decimals, token_out.decimals)
                    .ok_or_else(|| bad("amountIn × limitPrice is too large"))?;
                (min, Some(format_units(price, PRICE_DECIMALS)))
            }
            (None, Some(raw)) => (
                amount(raw, "minAmountOut", token_out).map_err(|mut r| {
                    if r.code == ErrorCode::InvalidAmount {
                        r.code = ErrorCode::InvalidPrice;
                    }
                    r
                })?,
                None,
            ),
        };
        let expires_at = match self.get("expiresAt") {
            None => None,
            Some(raw) => Some(
                as_string(raw)
                    .and_then(|text| chrono::DateTime::parse_from_rfc3339(&text).ok())
                    .map(|at| crate::event::truncate_to_millis(at.with_timezone(&chrono::Utc)))
                    .ok_or_else(|| {
                        Rejection::field(
                            ErrorCode::InvalidExpiry,
                            "expiresAt",
                            "expiresAt must be an RFC 3339 time, e.g. \"2026-12-01T12:00:00Z\"",
                        )
                    })?,
            ),
        };
        Ok(LimitTerms { min_amount_out, limit_price, expires_at })
    }

    fn require(&self, name: &'static str) -> Result<&'a RawValue, Rejection> {
        self.get(name).ok_or_else(|| Rejection::field(ErrorCode::MissingField, name, format!("{name} is required")))
    }
}

/// Parses and validates a body in one step.
pub fn parse_order(body: &[u8], registry: &TokenRegistry, channel: Channel) -> Result<Submission, Rejection> {
    RawOrder::parse(body)?.validate(registry, channel)
}

/// Checks an `Idempotency-Key`: 1–255 printable ASCII characters.
pub fn validate_idempotency_key(key: &str) -> Result<(), Rejection> {
    let ok = !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY_LEN && key.bytes().all(|b| (0x20..0x7f).contains(&b));
    if ok { Ok(()) } else { Err(bad_idempotency_key(None)) }
}

fn bad_idempotency_key(field: Option<&'static str>) -> Rejection {
    Rejection {
        code: ErrorCode::InvalidIdempotencyKey,
        message: "the idempotency key must be 1–255 printable ASCII characters".to_owned(),
        field,
    }
}

/// Every field an order body may carry (canonical names and aliases).
const FIELDS: &[&str] = &[
    "type",
    "orderType",
    "tokenIn",
    "tokenOut",
    "amountIn",
    "amount",
    "slippageBps",
    "slippage",
    "userId",
    "limitPrice",
    "minAmountOut",
    "expiresAt",
];

/// The fields only a limit order takes.
const LIMIT_FIELDS: &[&str] = &["limitPrice", "minAmountOut", "expiresAt"];

fn not_allowed(field: &str, order_type: &str) -> Rejection {
    let field: &'static str = FIELDS.iter().copied().find(|f| *f == field).unwrap_or("type");
    Rejection::field(ErrorCode::FieldNotAllowed, field, format!("{field} is not allowed on a {order_type} order"))
}

const WS_FIELDS: &[&str] = &["idempotencyKey", "clientRef"];

/// Whether `s` is a well-formed `userId`: 1–64 of `[A-Za-z0-9_.:-]` (in an order
/// body, and as the history filter).
pub fn valid_user_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// A JSON string's value, or `None` for any other JSON type.
fn as_string(raw: &RawValue) -> Option<String> {
    if raw.get().starts_with('"') { serde_json::from_str(raw.get()).ok() } else { None }
}

/// The literal text of a JSON number, or the value of a JSON string.
fn numeric_text(raw: &RawValue) -> Option<String> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => as_string(raw),
        Some(b'-' | b'0'..=b'9') => Some(text.to_owned()),
        _ => None,
    }
}

fn token<'r>(registry: &'r TokenRegistry, raw: &RawValue, field: &'static str) -> Result<&'r Token, Rejection> {
    let name = as_string(raw).ok_or_else(|| {
        Rejection::field(ErrorCode::UnknownToken, field, format!("{field} must be a token symbol or mint"))
    })?;
    registry
        .resolve(&name)
        .ok_or_else(|| Rejection::field(ErrorCode::UnknownToken, field, format!("unknown token {name:?} in {field}")))
}

fn amount(raw: &RawValue, field: &'static str, token: &Token) -> Result<u64, Rejection> {
    let text = numeric_text(raw).ok_or_else(|| {
        Rejection::field(
            ErrorCode::InvalidAmount,
            field,
            format!("{field} must be a decimal string or number, e.g. \"1.5\""),
        )
    })?;
    parse_units(&text, token.decimals).map_err(|e| match e {
        AmountError::Malformed => {
            Rejection::field(ErrorCode::InvalidAmount, field, format!("{field} must be a decimal number, e.g. \"1.5\""))
        }
        AmountError::NotPositive => {
            Rejection::field(ErrorCode::InvalidAmount, field, format!("{field} must be greater than 0"))
        }
        AmountError::TooManyDecimals => Rejection::field(
            ErrorCode::TooManyDecimals,
            field,
            format!("{} has {} decimals; {field} has more", token.symbol, token.decimals),
        ),
        AmountError::TooLarge => Rejection::field(ErrorCode::AmountTooLarge, field, format!("{field} is too large")),
    })
}

fn slippage(raw: &RawValue, field: &'static str) -> Result<u16, Rejection> {
    // `slippage` is a fraction: four decimals of it are exactly basis points.
    let decimals = if field == "slippage" { 4 } else { 0 };
    let invalid = || {
        let range = if decimals == 4 { "a fraction from 0.0001 to 0.5" } else { "an integer from 1 to 5000" };
        Rejection::field(ErrorCode::InvalidSlippage, field, format!("{field} must be {range}"))
    };
    let text = numeric_text(raw).ok_or_else(invalid)?;
    let bps = parse_units(&text, decimals).map_err(|_| invalid())?;
    u16::try_from(bps).ok().filter(|b| (1..=MAX_SLIPPAGE_BPS).contains(b)).ok_or_else(invalid)
}

const DUPLICATE_MARKER: &str = "duplicate field ";

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Vec<(String, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields: Vec<(String, &'de RawValue)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if fields.iter().any(|(k, _)| *k == key) {
                return Err(serde::de::Error::custom(format_args!("{DUPLICATE_MARKER}{key}")));
            }
            let value = map.next_value::<&'de RawValue>()?;
            fields.push((key, value));
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Submission, Rejection> {
        parse_order(body.as_bytes(), &TokenRegistry::default(), Channel::Http)
    }

    fn code(body: &str) -> (ErrorCode, Option<&'static str>) {
        let r = parse(body).expect_err(body);
        (r.code, r.field)
    }

    #[test]
    fn accepts_the_contract_example() {
        let s = parse(
            r#"{"type":"market","tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5","slippageBps":50,"userId":"alice"}"#,
        )
        .expect("valid");
        assert_eq!(s.spec.token_in.symbol, "SOL");
        assert_eq!(s.spec.token_out.symbol, "USDC");
        assert_eq!(s.spec.amount_in, 1_500_000_000);
        assert_eq!(s.spec.slippage_bps, 50);
        assert_eq!(s.spec.user_id, "alice");
        assert_eq!(s.idempotency_key, None);
    }

    #[test]
    fn applies_defaults() {
        let s = parse(r#"{"tokenIn":"sol","tokenOut":"usdc","amountIn":1.5}"#).expect("valid");
        assert_eq!(s.spec.order_type, OrderType::Market);
        assert_eq!(s.spec.slippage_bps, DEFAULT_SLIPPAGE_BPS);
        assert_eq!(s.spec.user_id, DEFAULT_USER_ID);
    }

    #[test]
    fn accepts_the_earlier_implementations_shapes() {
        // Seeds 000/002: number amounts; 001: `amount`; 003: `orderType` + `slippage` fraction.
        let a = parse(r#"{"type":"market","tokenIn":"SOL","tokenOut":"USDC","amountIn":100,"userId":"user123"}"#)
            .expect("000");
        assert_eq!(a.spec.amount_in, 100_000_000_000);
        let b = parse(r#"{"type":"market","tokenIn":"SOL","tokenOut":"USDC","amount":10}"#).expect("001");
        assert_eq!(b.spec.amount_in, 10_000_000_000);
        let c = parse(r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1.5,"slippageBps":50}"#).expect("002");
        assert_eq!(c.spec.slippage_bps, 50);
        let d = parse(r#"{"orderType":"market","tokenIn":"SOL","tokenOut":"USDC","amount":100,"slippage":0.05}"#)
            .expect("003");
        assert_eq!(d.spec.slippage_bps, 500);
        assert_eq!(
            parse(r#"{"tokenIn":"SOL","tokenOut":"USDC","amount":1,"slippage":"0.005"}"#)
                .expect("str")
                .spec
                .slippage_bps,
            50
        );
    }

    #[test]
    fn number_literals_are_parsed_exactly() {
        // 0.1 + 0.2 style float noise never enters: the literal digits are used.
        let s = parse(r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":0.300000001}"#).expect("valid");
        assert_eq!(s.spec.amount_in, 300_000_001);
        let s = parse(r#"{"tokenIn":"USDC","tokenOut":"SOL","amountIn":1e3}"#).expect("valid");
        assert_eq!(s.spec.amount_in, 1_000_000_000);
    }

    #[test]
    fn every_rejection_has_its_code_and_field() {
        use ErrorCode::*;
        let cases: &[(&str, ErrorCode, Option<&str>)] = &[
            ("", InvalidJson, None),
            ("{", InvalidJson, None),
            ("[1,2]", InvalidJson, None),
            ("\"SOL\"", InvalidJson, None),
            (r#"{"tokenIn":"SOL"} x"#, InvalidJson, None),
            (r#"{"tokenIn":"SOL","tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#, DuplicateField, None),
            (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","price":3}"#, UnknownField, None),
            (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","clientRef":3}"#, UnknownField, None),
            (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","amount":"1"}"#, DuplicateField, Some("amount")),
            (
                r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","type":"market","orderType":"market"}"#,
                DuplicateField,
                Some("orderType"),
            ),
            (
                r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","slippageBps":5,"slippage":0.1}"#,
                DuplicateField,
                Some("slippage"),
            ),
            (
                r#"{"type":"sniper","tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#,
                UnsupportedOrderType,
                Some("type"),
            ),
            (
                r#"{"orderType":"sniper","tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#,
                UnsupportedOrderType,
                Some("orderType"),
            ),
            (r#"{"type":7,"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#, InvalidOrderType, Some("type")),
            (r#"{"tokenOut":"USDC","amountIn":"1"}"#, MissingField, Some("tokenIn")),
            (r#"{"tokenIn":"SOL","amountIn":"1"}"#, MissingField, Some("tokenOut")),
            (r#"{"tokenIn":"SOL","tokenOut":"USDC"}"#, MissingField, Some("amountIn")),
            (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":null}"#, MissingField, Some("amountIn")),
            (r#"{"tokenIn":"DOGE","tokenOut":"USDC","amountIn":"1"}"#, UnknownToken, Some("tokenIn")),
            (r#"{"tokenIn":"SOL","tokenOut":42,"amountIn":"1"}"#, UnknownToken, Some("tokenOut")),
            (r#"{"tokenIn":"SOL","tokenOut":"sol","amountIn":"1"}"#, SameToken, Some("tokenOut")),
            (r#"{"tokenIn":"SOL","tokenOut":"WSOL","amountIn":"1"}"#, SameToken, Some("tokenOut")),
            (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"abc"}"#, InvalidAmount, Some("amountIn")),
            (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":true}"#, InvalidAmount, Some("amountIn")),
            (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"0"}"#, InvalidAmount, Some("amountIn")),
            (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":-1.5}"#, InvalidAmount, Some("amountIn")),
            (r#"{"tokenIn":"SOL","tokenOut":"USDC","amount":""}"#, InvalidAmount, Some("amount")),
            (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"0.0000000001"}"#, TooManyDecimals, Some("amountIn")),
            (r#"{"tokenIn":"USDC","tokenOut":"SOL","amountIn":1.0000001}"#, TooManyDecimals, Some("amountIn")),
            (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"18446744074"}"#, AmountTooLarge, Some("amountIn")),
            (
                r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","slippageBps":0}"#,
                InvalidSlippage,
                Some("slippageBps"),
            ),
            (
                r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","slippageBps":5001}"#,
                InvalidSlippage,
                Some("slippageBps"),
            ),
            (
                r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","slippageBps":12.5}"#,
                InvalidSlippage,
                Some("slippageBps"),
            ),
            (
                r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","slippageBps":"x"}"#,
                InvalidSlippage,
                Some("slippageBps"),
            ),
            (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","slippage":0.6}"#, InvalidSlippage, Some("slippage")),
            (
                r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","slippage":0.00005}"#,
                InvalidSlippage,
                Some("slippage"),
            ),
            (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","userId":""}"#, InvalidUserId, Some("userId")),
            (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","userId":"a b"}"#, InvalidUserId, Some("userId")),
            (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","userId":5}"#, InvalidUserId, Some("userId")),
        ];
        for (body, expected, field) in cases {
            assert_eq!(code(body), (*expected, *field), "{body}");
        }
        let long_user =
            format!(r#"{{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","userId":"{}"}}"#, "u".repeat(65));
        assert_eq!(code(&long_user).0, ErrorCode::InvalidUserId);
    }

    fn limit(extra: &str) -> Result<Submission, Rejection> {
        parse(&format!(r#"{{"type":"limit","tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5"{extra}}}"#))
    }

    #[test]
    fn a_limit_price_becomes_an_exact_minimum_rounded_up() {
        let s = limit(r#","limitPrice":"150.5""#).expect("valid");
        assert_eq!(s.spec.order_type, OrderType::Limit);
        assert_eq!(s.spec.slippage_bps, 0);
        let terms = s.spec.limit.expect("terms");
        // 1.5 SOL × 150.5 = 225.75 USDC exactly.
        assert_eq!((terms.min_amount_out, terms.limit_price.as_deref()), (225_750_000, Some("150.5")));
        assert_eq!(terms.expires_at, None);
        // 1.5 × 0.0000001 USDC = 0.00000015: below one atom, rounded up to it.
        let tiny = limit(r#","limitPrice":"0.0000001""#).expect("valid").spec.limit.expect("terms");
        assert_eq!(tiny.min_amount_out, 1);
        // USDC → SOL: 100 USDC at 0.006666666666666667 SOL each = 0.6666666666666667 SOL → 666666667 atoms.
        let back = parse(
            r#"{"type":"limit","tokenIn":"USDC","tokenOut":"SOL","amountIn":100,"limitPrice":"0.006666666666666667"}"#,
        )
        .expect("valid");
        assert_eq!(back.spec.limit.expect("terms").min_amount_out, 666_666_667);
        let given = limit(r#","minAmountOut":"225.75","expiresAt":"2026-12-01T12:00:00.5+01:00""#).expect("valid");
        let terms = given.spec.limit.expect("terms");
        assert_eq!((terms.min_amount_out, terms.limit_price), (225_750_000, None));
        assert_eq!(terms.expires_at.map(|at| at.to_rfc3339()), Some("2026-12-01T11:00:00.500+00:00".to_owned()));
    }

    #[test]
    fn min_out_at_price_is_exact_on_integers() {
        let p = |text: &str| parse_wide(text, PRICE_DECIMALS).expect("price");
        assert_eq!(min_out_at_price(1_500_000_000, p("150.5"), 9, 6), Some(225_750_000));
        assert_eq!(min_out_at_price(1, p("1"), 9, 6), Some(1), "a thousandth of an atom rounds up to one");
        assert_eq!(min_out_at_price(1, p("1"), 6, 9), Some(1_000));
        assert_eq!(min_out_at_price(u64::MAX, p("2"), 6, 6), None);
    }

    #[test]
    fn limit_orders_refuse_what_they_do_not_take() {
        use ErrorCode::*;
        let cases: &[(&str, ErrorCode, Option<&str>)] = &[
            ("", MissingField, Some("limitPrice")),
            (r#","limitPrice":"150","slippageBps":50"#, FieldNotAllowed, Some("slippageBps")),
            (r#","limitPrice":"150","slippage":0.01"#, FieldNotAllowed, Some("slippage")),
            (r#","limitPrice":"150","minAmountOut":"1""#, FieldNotAllowed, Some("minAmountOut")),
            (r#","limitPrice":"0""#, InvalidPrice, Some("limitPrice")),
            (r#","limitPrice":"-3""#, InvalidPrice, Some("limitPrice")),
            (r#","limitPrice":"abc""#, InvalidPrice, Some("limitPrice")),
            (r#","limitPrice":true"#, InvalidPrice, Some("limitPrice")),
            (r#","limitPrice":"1.0000000000000000001""#, InvalidPrice, Some("limitPrice")),
            (r#","limitPrice":"1e40""#, InvalidPrice, Some("limitPrice")),
            (r#","minAmountOut":"0""#, InvalidPrice, Some("minAmountOut")),
            (r#","minAmountOut":"1.0000001""#, TooManyDecimals, Some("minAmountOut")),
            (r#","limitPrice":"150","expiresAt":"tomorrow""#, InvalidExpiry, Some("expiresAt")),
            (r#","limitPrice":"150","expiresAt":1764590400"#, InvalidExpiry, Some("expiresAt")),
        ];
        for (extra, expected, field) in cases {
            let r = limit(extra).expect_err(extra);
            assert_eq!((r.code, r.field), (*expected, *field), "{extra}");
        }
        for field in [r#""limitPrice":"1""#, r#""minAmountOut":"1""#, r#""expiresAt":"2026-12-01T00:00:00Z""#] {
            let r =
                parse(&format!(r#"{{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1",{field}}}"#)).expect_err(field);
            assert_eq!(r.code, FieldNotAllowed, "{field} on a market order");
        }
    }

    #[test]
    fn an_expiry_lies_ahead_within_thirty_days() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z").expect("time").to_utc();
        let terms = |expires_at| LimitTerms { min_amount_out: 1, limit_price: None, expires_at };
        assert_eq!(terms(None).resolve_expiry(now), Ok(now + DEFAULT_EXPIRY));
        assert_eq!(terms(Some(now + MAX_EXPIRY)).resolve_expiry(now), Ok(now + MAX_EXPIRY));
        for bad in [now, now - chrono::TimeDelta::seconds(1), now + MAX_EXPIRY + chrono::TimeDelta::milliseconds(1)] {
            assert_eq!(terms(Some(bad)).resolve_expiry(now).map_err(|r| r.code), Err(ErrorCode::InvalidExpiry));
        }
    }

    #[test]
    fn a_limit_order_repeated_without_an_expiry_is_the_same_order() {
        let a = limit(r#","limitPrice":"150.50""#).expect("a").spec;
        let b = limit(r#","minAmountOut":"225.75""#).expect("b").spec;
        assert_eq!(a.fingerprint(), b.fingerprint(), "the same minimum");
        let c = limit(r#","limitPrice":"150.5","expiresAt":"2026-12-01T00:00:00Z""#).expect("c").spec;
        assert_ne!(a.fingerprint(), c.fingerprint());
    }

    #[test]
    fn websocket_messages_carry_an_envelope() {
        let reg = TokenRegistry::default();
        let body = br#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","idempotencyKey":"k-1","clientRef":{"n":1}}"#;
        let raw = RawOrder::parse(body).expect("json");
        assert_eq!(raw.client_ref().map(RawValue::get), Some(r#"{"n":1}"#));
        let s = raw.validate(&reg, Channel::WebSocket).expect("valid");
        assert_eq!(s.idempotency_key.as_deref(), Some("k-1"));
        let bad = br#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","idempotencyKey":""}"#;
        let r = parse_order(bad, &reg, Channel::WebSocket).expect_err("empty key");
        assert_eq!((r.code, r.field), (ErrorCode::InvalidIdempotencyKey, Some("idempotencyKey")));
    }

    #[test]
    fn idempotency_keys_are_bounded_printable_ascii() {
        assert!(validate_idempotency_key("order-2026-11-21#1").is_ok());
        assert!(validate_idempotency_key(&"k".repeat(255)).is_ok());
        assert!(validate_idempotency_key("").is_err());
        assert!(validate_idempotency_key(&"k".repeat(256)).is_err());
        assert!(validate_idempotency_key("tab\there").is_err());
    }

    #[test]
    fn equivalent_bodies_share_a_fingerprint() {
        let a = parse(r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.50","slippage":0.005}"#).expect("a");
        let b =
            parse(r#"{"type":"market","tokenIn":"sol","tokenOut":"USDC","amount":1.5,"slippageBps":50}"#).expect("b");
        assert_eq!(a.spec.fingerprint(), b.spec.fingerprint());
        let c = parse(r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5","slippageBps":51}"#).expect("c");
        assert_ne!(a.spec.fingerprint(), c.spec.fingerprint());
    }
}
