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

/// Kinds of order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderType {
    /// Routed and executed at once.
    Market,
    /// Rests `open` until the market returns at least its minimum.
    Limit,
    /// Rests `open` until a pool for its token exists, is open, is deep
    /// enough and prices at or under its `maxPrice`.
    Sniper,
}

impl OrderType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Market => "market",
            Self::Limit => "limit",
            Self::Sniper => "sniper",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Market, Self::Limit, Self::Sniper].into_iter().find(|t| s.eq_ignore_ascii_case(t.as_str()))
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
    /// A limit order's terms (`None` for other orders).
    pub limit: Option<LimitTerms>,
    /// A sniper order's terms (`None` for other orders).
    pub sniper: Option<SniperTerms>,
}

/// What a sniper order asks: its `tokenOut` bought with its whole `amountIn`
/// (the slippage bound applies) from the first pool that holds at least
/// `min_liquidity` of tokenIn, is open, and prices at or under `max_price`.
///
/// Its `tokenOut` may not be listed when it is accepted: the order's
/// `token_out` then knows only the symbol or only the mint it was given (the
/// other empty, decimals 0) until the trigger engine finds the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SniperTerms {
    /// Most tokenIn per one tokenOut (canonical decimal text), when given.
    pub max_price: Option<String>,
    /// Least tokenIn atoms the pool must hold (0: any pool).
    pub min_liquidity: u64,
    /// As for [`LimitTerms::expires_at`].
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
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
    /// default filled in by [`resolve_expiry`]).
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The expiry a resting order accepted at `now` gets: the requested one,
/// which must lie after `now` and at most [`MAX_EXPIRY`] ahead, or
/// [`DEFAULT_EXPIRY`] from now.
pub fn resolve_expiry(
    requested: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>, Rejection> {
    match requested {
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

/// The least tokenOut atoms `amount_in` atoms of tokenIn must return when
/// paying at most `price` (tokenIn per one tokenOut, with [`PRICE_DECIMALS`]
/// decimals): `⌈amount_in ÷ price⌉`, exact, rounded up so the order never pays
/// more. `None` when it does not fit in a `u64` (or the price is 0).
pub fn min_out_at_max_price(amount_in: u64, price: u128, decimals_in: u8, decimals_out: u8) -> Option<u64> {
    // atoms_out = amount_in × 10^(out − in + PRICE_DECIMALS) ÷ price
    let exponent = i32::from(decimals_out) - i32::from(decimals_in) + i32::from(PRICE_DECIMALS);
    let mut num = u128::from(amount_in);
    let mut den = price;
    if exponent >= 0 {
        num = num.checked_mul(10u128.checked_pow(exponent.unsigned_abs())?)?;
    } else {
        den = den.checked_mul(10u128.checked_pow(exponent.unsigned_abs())?)?;
    }
    if den == 0 {
        return None;
    }
    u64::try_from(num.div_ceil(den)).ok()
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
        // The expiry as requested: a repeat without one means the same order.
        let expiry = |at: Option<chrono::DateTime<chrono::Utc>>| {
            at.map(|at| at.timestamp_millis().to_string()).unwrap_or_default()
        };
        if let Some(limit) = &self.limit {
            text.push_str(&format!("|{}|{}", limit.min_amount_out, expiry(limit.expires_at)));
        }
        if let Some(sniper) = &self.sniper {
            let price = sniper.max_price.as_deref().unwrap_or_default();
            text.push_str(&format!(
                "|{}|{price}|{}|{}",
                self.token_out.mint,
                sniper.min_liquidity,
                expiry(sniper.expires_at)
            ));
        }
        text
    }

    /// Whether the order rests `open` until a trigger (limit and sniper orders).
    pub fn rests(&self) -> bool {
        self.limit.is_some() || self.sniper.is_some()
    }

    /// A resting order's expiry (as requested until accepted, then as stored).
    pub fn expires_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        match (&self.limit, &self.sniper) {
            (Some(limit), _) => limit.expires_at,
            (None, Some(sniper)) => sniper.expires_at,
            (None, None) => None,
        }
    }

    /// Whether `token_out` is known in full (a sniper's token may not be yet).
    pub fn target_known(&self) -> bool {
        !self.token_out.mint.is_empty() && !self.token_out.symbol.is_empty()
    }

    /// The least tokenOut atoms the order accepts whatever the route: a limit
    /// order's minimum, a sniper's at its `maxPrice` (once its token is known).
    pub fn floor(&self) -> Option<u64> {
        if let Some(limit) = &self.limit {
            return Some(limit.min_amount_out);
        }
        let price = self.sniper.as_ref()?.max_price.as_deref()?;
        if !self.target_known() {
            return None;
        }
        let price = parse_wide(price, PRICE_DECIMALS).ok()?;
        min_out_at_max_price(self.amount_in, price, self.token_in.decimals, self.token_out.decimals)
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
                        format!(
                            "order type {text:?} is not supported; \"market\", \"limit\" and \"sniper\" orders run"
                        ),
                    )
                })?
            }
        };

        let token_in = token(registry, self.require("tokenIn")?, "tokenIn")?.clone();
        let token_out = match order_type {
            // A sniper's token may not be listed yet.
            OrderType::Sniper => target(registry, self.require("tokenOut")?)?,
            _ => token(registry, self.require("tokenOut")?, "tokenOut")?.clone(),
        };
        if token_in.mint == token_out.mint || token_in.symbol == token_out.symbol {
            return Err(Rejection::field(
                ErrorCode::SameToken,
                "tokenOut",
                format!("tokenIn and tokenOut are the same token ({} / {})", token_in.symbol, token_out.symbol),
            ));
        }

        let (amount_field, amount_raw) = self
            .pick("amountIn", "amount")?
            .ok_or_else(|| Rejection::field(ErrorCode::MissingField, "amountIn", "amountIn is required"))?;
        let amount_in = amount(amount_raw, amount_field, &token_in)?;

        let slippage = self.pick("slippageBps", "slippage")?;
        let tolerance = || slippage.map_or(Ok(DEFAULT_SLIPPAGE_BPS), |(field, raw)| self::slippage(raw, field));
        let only = |allowed: &[&str]| match TYPE_FIELDS.iter().find(|f| !allowed.contains(f) && self.get(f).is_some()) {
            Some(field) => Err(not_allowed(field, order_type.as_str())),
            None => Ok(()),
        };
        let (slippage_bps, limit, sniper) = match order_type {
            OrderType::Market => {
                only(&[])?;
                (tolerance()?, None, None)
            }
            OrderType::Limit => {
                if let Some((field, _)) = slippage {
                    return Err(not_allowed(field, "limit"));
                }
                only(LIMIT_FIELDS)?;
                (0, Some(self.limit_terms(&token_in, &token_out, amount_in)?), None)
            }
            OrderType::Sniper => {
                only(SNIPER_FIELDS)?;
                (tolerance()?, None, Some(self.sniper_terms(&token_in)?))
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
            spec: OrderSpec { order_type, token_in, token_out, amount_in, slippage_bps, user_id, limit, sniper },
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
                let price = price(raw, "limitPrice")?;
                let min =
                    min_out_at_price(amount_in, price, token_in.decimals, token_out.decimals).ok_or_else(|| {
                        Rejection::field(ErrorCode::InvalidPrice, "limitPrice", "amountIn × limitPrice is too large")
                    })?;
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
        Ok(LimitTerms { min_amount_out, limit_price, expires_at: self.expires_at()? })
    }

    /// The requested `expiresAt` of a resting order, if any.
    fn expires_at(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, Rejection> {
        let Some(raw) = self.get("expiresAt") else { return Ok(None) };
        let at = as_string(raw)
            .and_then(|text| chrono::DateTime::parse_from_rfc3339(&text).ok())
            .map(|at| crate::event::truncate_to_millis(at.with_timezone(&chrono::Utc)))
            .ok_or_else(|| {
                Rejection::field(
                    ErrorCode::InvalidExpiry,
                    "expiresAt",
                    "expiresAt must be an RFC 3339 time, e.g. \"2026-12-01T12:00:00Z\"",
                )
            })?;
        Ok(Some(at))
    }

    /// A sniper order's `maxPrice`, `minLiquidity` and requested expiry.
    fn sniper_terms(&self, token_in: &Token) -> Result<SniperTerms, Rejection> {
        let max_price = match self.get("maxPrice") {
            None => None,
            Some(raw) => Some(format_units(price(raw, "maxPrice")?, PRICE_DECIMALS)),
        };
        let min_liquidity = match self.get("minLiquidity") {
            None => 0,
            Some(raw) => amount(raw, "minLiquidity", token_in)?,
        };
        Ok(SniperTerms { max_price, min_liquidity, expires_at: self.expires_at()? })
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
    "maxPrice",
    "minLiquidity",
];

/// The fields only some order types take.
const TYPE_FIELDS: &[&str] = &["limitPrice", "minAmountOut", "expiresAt", "maxPrice", "minLiquidity"];
/// Those a limit order takes.
const LIMIT_FIELDS: &[&str] = &["limitPrice", "minAmountOut", "expiresAt"];
/// Those a sniper order takes.
const SNIPER_FIELDS: &[&str] = &["maxPrice", "minLiquidity", "expiresAt"];

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

/// A sniper's `tokenOut`: a token the registry knows, or else the symbol or
/// mint it names, the rest to be found when the token launches.
fn target(registry: &TokenRegistry, raw: &RawValue) -> Result<Token, Rejection> {
    let name = as_string(raw).ok_or_else(|| {
        Rejection::field(ErrorCode::UnknownToken, "tokenOut", "tokenOut must be a token symbol or mint")
    })?;
    if let Some(token) = registry.resolve(&name) {
        return Ok(token.clone());
    }
    let unknown = Token { symbol: String::new(), mint: String::new(), decimals: 0, native: false };
    if crate::token::valid_mint(&name) {
        Ok(Token { mint: name, ..unknown })
    } else if crate::token::valid_symbol(&name) {
        Ok(Token { symbol: name.to_ascii_uppercase(), ..unknown })
    } else {
        Err(Rejection::field(
            ErrorCode::UnknownToken,
            "tokenOut",
            format!("tokenOut {name:?} is neither a symbol (1–16 letters or digits) nor a mint address"),
        ))
    }
}

/// A price field (`limitPrice`, `maxPrice`): a positive decimal with at most
/// [`PRICE_DECIMALS`] decimals, scaled by them.
fn price(raw: &RawValue, field: &'static str) -> Result<u128, Rejection> {
    let bad = |why: String| Rejection::field(ErrorCode::InvalidPrice, field, why);
    let text = numeric_text(raw).ok_or_else(|| bad(format!("{field} must be a decimal string, e.g. \"150.5\"")))?;
    parse_wide(&text, PRICE_DECIMALS).map_err(|e| match e {
        AmountError::TooManyDecimals => bad(format!("{field} has more than 18 decimals")),
        AmountError::NotPositive => bad(format!("{field} must be greater than 0")),
        _ => bad(format!("{field} must be a decimal number, e.g. \"150.5\"")),
    })
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
            (r#"{"type":"stop","tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#, UnsupportedOrderType, Some("type")),
            (
                r#"{"orderType":"twap","tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#,
                UnsupportedOrderType,
                Some("orderType"),
            ),
            (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","maxPrice":"1"}"#, FieldNotAllowed, Some("maxPrice")),
            (
                r#"{"type":"limit","tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","limitPrice":"1","minLiquidity":"5"}"#,
                FieldNotAllowed,
                Some("minLiquidity"),
            ),
            (
                r#"{"type":"sniper","tokenIn":"SOL","tokenOut":"PEPE","amountIn":"1","limitPrice":"1"}"#,
                FieldNotAllowed,
                Some("limitPrice"),
            ),
            (
                r#"{"type":"sniper","tokenIn":"SOL","tokenOut":"PEPE","amountIn":"1","maxPrice":"0"}"#,
                InvalidPrice,
                Some("maxPrice"),
            ),
            (
                r#"{"type":"sniper","tokenIn":"SOL","tokenOut":"PEPE","amountIn":"1","maxPrice":"cheap"}"#,
                InvalidPrice,
                Some("maxPrice"),
            ),
            (
                r#"{"type":"sniper","tokenIn":"SOL","tokenOut":"PEPE","amountIn":"1","minLiquidity":"-3"}"#,
                InvalidAmount,
                Some("minLiquidity"),
            ),
            (
                r#"{"type":"sniper","tokenIn":"SOL","tokenOut":"PEPE","amountIn":"1","minLiquidity":"0.0000000001"}"#,
                TooManyDecimals,
                Some("minLiquidity"),
            ),
            (
                r#"{"type":"sniper","tokenIn":"SOL","tokenOut":"not a token!","amountIn":"1"}"#,
                UnknownToken,
                Some("tokenOut"),
            ),
            (r#"{"type":"sniper","tokenIn":"PEPE","tokenOut":"SOL","amountIn":"1"}"#, UnknownToken, Some("tokenIn")),
            (r#"{"type":"sniper","tokenIn":"SOL","tokenOut":"sol","amountIn":"1"}"#, SameToken, Some("tokenOut")),
            (
                r#"{"type":"sniper","tokenIn":"SOL","tokenOut":"PEPE","amountIn":"1","expiresAt":"soon"}"#,
                InvalidExpiry,
                Some("expiresAt"),
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
        assert_eq!(resolve_expiry(terms(None).expires_at, now), Ok(now + DEFAULT_EXPIRY));
        assert_eq!(resolve_expiry(terms(Some(now + MAX_EXPIRY)).expires_at, now), Ok(now + MAX_EXPIRY));
        for bad in [now, now - chrono::TimeDelta::seconds(1), now + MAX_EXPIRY + chrono::TimeDelta::milliseconds(1)] {
            assert_eq!(
                resolve_expiry(terms(Some(bad)).expires_at, now).map_err(|r| r.code),
                Err(ErrorCode::InvalidExpiry)
            );
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

    /// A sniper names a token that may not be listed: by symbol or by mint,
    /// the rest unknown until it launches; a listed one is known in full.
    #[test]
    fn sniper_orders_name_tokens_that_are_not_listed_yet() {
        let by_symbol = parse(
            r#"{"type":"sniper","tokenIn":"SOL","tokenOut":"pepe","amountIn":"2","maxPrice":"0.00005","minLiquidity":"100","slippageBps":300}"#,
        )
        .expect("valid");
        let spec = &by_symbol.spec;
        assert_eq!((spec.token_out.symbol.as_str(), spec.token_out.mint.as_str()), ("PEPE", ""));
        assert!(!spec.target_known() && spec.rests() && spec.limit.is_none());
        assert_eq!(spec.slippage_bps, 300);
        let terms = spec.sniper.as_ref().expect("terms");
        assert_eq!(terms.max_price.as_deref(), Some("0.00005"));
        assert_eq!(terms.min_liquidity, 100_000_000_000);
        assert_eq!(spec.floor(), None, "no minimum before the token's decimals are known");

        let mint = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr";
        let by_mint = parse(&format!(r#"{{"type":"sniper","tokenIn":"USDC","tokenOut":"{mint}","amountIn":"10"}}"#))
            .expect("valid");
        assert_eq!((by_mint.spec.token_out.symbol.as_str(), by_mint.spec.token_out.mint.as_str()), ("", mint));
        assert_eq!(by_mint.spec.slippage_bps, DEFAULT_SLIPPAGE_BPS);
        assert_ne!(by_mint.spec.fingerprint(), by_symbol.spec.fingerprint());

        // Known (listed, or launched since): its minimum follows from maxPrice.
        let mut known = by_symbol.spec.clone();
        known.token_out = Token { symbol: "PEPE".into(), mint: mint.into(), decimals: 6, native: false };
        // 2 SOL at no more than 0.00005 SOL per PEPE: at least 40,000 PEPE.
        assert_eq!(known.floor(), Some(40_000_000_000));
    }

    /// `⌈amountIn ÷ maxPrice⌉` in atoms, rounded so the order never pays more.
    #[test]
    fn the_minimum_at_a_max_price_rounds_up() {
        let p = |text: &str| parse_wide(text, PRICE_DECIMALS).expect("price");
        // 1 SOL (9 decimals) at 150 SOL per token (6 decimals): 1/150 token = 6,666.67 atoms → 6,667.
        assert_eq!(min_out_at_max_price(1_000_000_000, p("150"), 9, 6), Some(6_667));
        assert_eq!(min_out_at_max_price(3_000_000, p("1.5"), 6, 6), Some(2_000_000));
        assert_eq!(min_out_at_max_price(1, p("0.000000000000000001"), 18, 0), Some(1));
        assert_eq!(min_out_at_max_price(u64::MAX, p("0.000000000000000001"), 0, 18), None, "too large");
    }
}
