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

use crate::amount::{AmountError, parse_units};
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

/// Kinds of order. Only market orders run today; the others are recognised so a
/// client gets `UNSUPPORTED_ORDER_TYPE` rather than a generic error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderType {
    Market,
}

impl OrderType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Market => "market",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.eq_ignore_ascii_case("market").then_some(Self::Market)
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

/// A validated market order, amounts in atoms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSpec {
    pub order_type: OrderType,
    pub token_in: Token,
    pub token_out: Token,
    pub amount_in: u64,
    pub slippage_bps: u16,
    pub user_id: String,
}

impl OrderSpec {
    /// A canonical text of everything that defines the order, so two bodies that
    /// mean the same order (aliases, number vs string, `"1.50"` vs `"1.5"`) compare
    /// equal for idempotency.
    pub fn fingerprint(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}",
            self.order_type.as_str(),
            self.token_in.symbol,
            self.token_out.symbol,
            self.amount_in,
            self.slippage_bps,
            self.user_id
        )
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
                        format!("order type {text:?} is not supported; only \"market\" orders run"),
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

        let slippage_bps = match self.pick("slippageBps", "slippage")? {
            None => DEFAULT_SLIPPAGE_BPS,
            Some((field, raw)) => slippage(raw, field)?,
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
const FIELDS: &[&str] =
    &["type", "orderType", "tokenIn", "tokenOut", "amountIn", "amount", "slippageBps", "slippage", "userId"];

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
                r#"{"type":"limit","tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#,
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
