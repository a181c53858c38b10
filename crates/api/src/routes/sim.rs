//! Simulator control (scope `admin`; the venues are simulated): one outside
//! trade on a pool, so tests and demos move prices deterministically; a token
//! launch, a new token listed with one pool (what sniper orders wait for);
//! and the launches so far (scope `read`).
//!
//! The trade lands on the simulated chain like any swap (the same ledger, its
//! own slot), is published on the pool-change stream, and is visible to the
//! next quote and the next order, as another trader's swap would be.

use crate::body::read_json;
use crate::error::ApiError;
use crate::openapi::schemas::ErrorBody;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use oee_domain::{
    AmountError, Channel, Dex, ErrorCode, NATIVE_SYMBOL, Scope, Token, WSOL_MINT, format_units, parse_order,
    parse_units, valid_mint, valid_symbol,
};
use oee_router::{Ledger, SwapLeg, VenueError, outside, price};
use serde::Serialize;

/// The JSON object body of a simulator request, once the caller is known to
/// be an admin; a field outside `allowed` is refused.
async fn admin_body(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    allowed: &[&str],
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    state.auth.require(req, Scope::Admin).await?;
    let body = read_json(req, payload).await?;
    let fields: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("body is not a JSON object: {e}")))?;
    if let Some(name) = fields.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::new(ErrorCode::UnknownField, format!("unknown field {name:?}")));
    }
    Ok(fields)
}

/// The body of `POST /api/admin/sim/trades`.
#[derive(Debug, utoipa::ToSchema)]
#[schema(as = SimTradeRequest, rename_all = "camelCase", example = json!({"tokenIn": "SOL", "tokenOut": "USDC", "venue": "raydium", "amountIn": "500"}))]
#[allow(dead_code, reason = "read field by field; this names it for the document")]
pub struct SimTradeRequest {
    /// A token symbol or mint.
    token_in: String,
    token_out: String,
    venue: Dex,
    /// In token units.
    #[schema(value_type = crate::openapi::schemas::Amount)]
    amount_in: String,
}

/// What the outside trade did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SimTrade)]
pub struct SimTradeView {
    /// The slot it landed in.
    slot: u64,
    /// In tokenOut units.
    amount_out: String,
    /// tokenOut per tokenIn.
    price: String,
}

/// Make one outside trade on a venue's pool (simulated venues only).
#[utoipa::path(
    post,
    path = "/api/admin/sim/trades",
    operation_id = "simTrade",
    tag = "simulator",
    request_body(content = SimTradeRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The trade landed.", body = SimTradeView),
        (status = 400, description = "INVALID_JSON, UNKNOWN_FIELD, MISSING_FIELD, INVALID_PARAMETER (`venue`), \\
INVALID_AMOUNT, TOO_MANY_DECIMALS, AMOUNT_TOO_LARGE, UNKNOWN_TOKEN, SAME_TOKEN", body = ErrorBody),
        (status = 401, description = "UNAUTHENTICATED", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "FORBIDDEN: needs `admin`.", body = ErrorBody),
        (status = 413, description = "PAYLOAD_TOO_LARGE", body = ErrorBody),
        (status = 415, description = "UNSUPPORTED_MEDIA_TYPE", body = ErrorBody),
        (status = 422, description = "NO_ROUTE (the venue has no pool for the pair), INSUFFICIENT_LIQUIDITY", body = ErrorBody),
        (status = 503, description = "UNAVAILABLE", body = ErrorBody, headers(("Retry-After" = u32))),
    )
)]
pub async fn trade(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut fields = admin_body(&req, payload, &state, &["tokenIn", "tokenOut", "venue", "amountIn"]).await?;
    let venue = match fields.remove("venue") {
        None | Some(serde_json::Value::Null) => {
            return Err(ApiError::field(ErrorCode::MissingField, "venue", "venue is required"));
        }
        Some(v) => Dex::ALL.into_iter().find(|d| v.as_str() == Some(d.as_str())).ok_or_else(|| {
            ApiError::field(ErrorCode::InvalidParameter, "venue", "venue must be \"raydium\" or \"meteora\"")
        })?,
    };
    let order = serde_json::Value::Object(fields).to_string();
    let spec = parse_order(order.as_bytes(), &state.tokens(), Channel::Http)?.spec;
    let (mint_in, mint_out) = (spec.token_in.mint.as_str(), spec.token_out.mint.as_str());
    let now = chrono::Utc::now().timestamp();
    let snapshot = state.pools.fresh()?;
    let pool = snapshot.markets(mint_in, mint_out, now).into_iter().flatten().find(|m| m.pool.dex == venue);
    let pool = pool.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NoRoute,
            format!("{venue} has no pool for {}/{}", spec.token_in.symbol, spec.token_out.symbol),
        )
    })?;
    let leg = SwapLeg { pool_id: pool.pool.id.clone(), mint_in: mint_in.to_owned(), amount_in: spec.amount_in };
    let tx = outside::transaction(format!("{}{}", outside::ID_PREFIX, uuid::Uuid::now_v7()), leg, i64::MAX);
    let landed = state.ledger.commit(&tx, now).await.map_err(|e| match e {
        VenueError::InsufficientLiquidity { pool } => {
            ApiError::new(ErrorCode::InsufficientLiquidity, format!("{pool} cannot absorb this trade"))
        }
        other => ApiError::Store(oee_store::StoreError::Unavailable {
            backend: oee_store::Backend::Postgres,
            reason: other.to_string(),
        }),
    })?;
    let out = landed.receipt.amount_out();
    Ok(HttpResponse::Ok().json(SimTradeView {
        slot: landed.receipt.slot,
        amount_out: format_units(u128::from(out), spec.token_out.decimals),
        price: price(&spec, spec.amount_in, out),
    }))
}

/// The body of `POST /api/admin/sim/launches`.
#[derive(Debug, utoipa::ToSchema)]
#[schema(as = LaunchRequest, rename_all = "camelCase", example = json!({
    "symbol": "PEPE", "decimals": 6, "quoteToken": "SOL", "venue": "raydium",
    "baseAmount": "1000000000", "quoteAmount": "500", "openAt": "2026-12-01T12:00:00Z"}))]
#[allow(dead_code, reason = "read field by field; this names it for the document")]
pub struct LaunchRequest {
    /// The new token's symbol: 1–16 letters or digits, not listed yet.
    symbol: String,
    /// Its mint (base58, 32–44 characters); a fresh one when absent.
    mint: Option<String>,
    /// 0–18.
    decimals: u8,
    /// The listed token the pool pairs it with (symbol or mint).
    quote_token: String,
    venue: Dex,
    /// The new token the pool starts with, in its units.
    #[schema(value_type = crate::openapi::schemas::Amount)]
    base_amount: String,
    /// The quote token the pool starts with, in its units.
    #[schema(value_type = crate::openapi::schemas::Amount)]
    quote_amount: String,
    /// When the pool starts trading (RFC 3339, at most 30 days ahead; at once
    /// when absent or past),
    /// like Raydium's `open_time`: until then it quotes and fills nothing.
    open_at: Option<String>,
}

/// What a launch made.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Launched)]
pub struct LaunchedView {
    symbol: String,
    mint: String,
    /// The pool's id.
    pool: String,
    /// The slot the pool was created in.
    slot: u64,
}

const LAUNCH_FIELDS: [&str; 8] =
    ["symbol", "mint", "decimals", "quoteToken", "venue", "baseAmount", "quoteAmount", "openAt"];

/// List a new token with one pool (simulated venues only).
#[utoipa::path(
    post,
    path = "/api/admin/sim/launches",
    operation_id = "simLaunch",
    tag = "simulator",
    request_body(content = LaunchRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The token is listed and its pool exists, in its own slot.", body = LaunchedView),
        (status = 400, description = "INVALID_JSON, UNKNOWN_FIELD, MISSING_FIELD, INVALID_PARAMETER (`symbol`, \\
`mint`, `decimals`, `venue`, `openAt`), INVALID_AMOUNT, TOO_MANY_DECIMALS, AMOUNT_TOO_LARGE, UNKNOWN_TOKEN \\
(`quoteToken`)", body = ErrorBody),
        (status = 401, description = "UNAUTHENTICATED", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "FORBIDDEN: needs `admin`.", body = ErrorBody),
        (status = 409, description = "TOKEN_EXISTS: the symbol or the mint is listed.", body = ErrorBody),
        (status = 413, description = "PAYLOAD_TOO_LARGE", body = ErrorBody),
        (status = 415, description = "UNSUPPORTED_MEDIA_TYPE", body = ErrorBody),
        (status = 503, description = "UNAVAILABLE", body = ErrorBody, headers(("Retry-After" = u32))),
    )
)]
pub async fn launch(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let fields = admin_body(&req, payload, &state, &LAUNCH_FIELDS).await?;
    let get = |name: &'static str| fields.get(name).filter(|v| !v.is_null());
    let require = |name: &'static str| {
        get(name).ok_or_else(|| ApiError::field(ErrorCode::MissingField, name, format!("{name} is required")))
    };
    let text = |name: &'static str, what: &str| -> Result<Option<String>, ApiError> {
        get(name)
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::field(ErrorCode::InvalidParameter, name, format!("{name} must be {what}")))
            })
            .transpose()
    };
    require("symbol")?;
    let symbol = text("symbol", "1–16 letters or digits")?
        .filter(|s| valid_symbol(s))
        .map(|s| s.to_ascii_uppercase())
        .ok_or_else(|| {
            ApiError::field(ErrorCode::InvalidParameter, "symbol", "symbol must be 1–16 letters or digits")
        })?;
    let mint = match text("mint", "a base58 address")? {
        Some(mint) if valid_mint(&mint) => mint,
        Some(_) => {
            return Err(ApiError::field(ErrorCode::InvalidParameter, "mint", "mint must be a base58 address"));
        }
        None => fresh_mint(),
    };
    let decimals = require("decimals")?
        .as_u64()
        .and_then(|d| u8::try_from(d).ok())
        .filter(|d| *d <= 18)
        .ok_or_else(|| ApiError::field(ErrorCode::InvalidParameter, "decimals", "decimals must be 0 to 18"))?;
    require("quoteToken")?;
    let tokens = state.tokens();
    let quote = text("quoteToken", "a token symbol or mint")?
        .and_then(|name| tokens.resolve(&name).cloned())
        .ok_or_else(|| ApiError::field(ErrorCode::UnknownToken, "quoteToken", "quoteToken must be a listed token"))?;
    let venue = match require("venue")?.as_str() {
        Some(name) => Dex::ALL.into_iter().find(|d| d.as_str() == name),
        None => None,
    }
    .ok_or_else(|| ApiError::field(ErrorCode::InvalidParameter, "venue", "venue must be \"raydium\" or \"meteora\""))?;
    let token = Token::stored(symbol, mint, decimals);
    let base_amount = units(require("baseAmount")?, "baseAmount", &token)?;
    let quote_amount = units(require("quoteAmount")?, "quoteAmount", &quote)?;
    let latest = chrono::Utc::now() + oee_domain::request::MAX_EXPIRY;
    let open_at = text("openAt", "an RFC 3339 time")?
        .map(|at| {
            chrono::DateTime::parse_from_rfc3339(&at)
                .map(|at| at.with_timezone(&chrono::Utc))
                .ok()
                .filter(|at| *at <= latest)
                .ok_or_else(|| {
                    ApiError::field(
                        ErrorCode::InvalidParameter,
                        "openAt",
                        "openAt must be an RFC 3339 time at most 30 days ahead",
                    )
                })
        })
        .transpose()?;
    if tokens.resolve(&token.symbol).is_some() || tokens.resolve(&token.mint).is_some() {
        return Err(ApiError::new(ErrorCode::TokenExists, format!("{} or its mint is listed already", token.symbol)));
    }
    let now = chrono::Utc::now().timestamp();
    // The chain's clock counts whole seconds: the first second at or after openAt.
    let open_secs = open_at.map(|at| at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0));
    let pool = oee_router::market::launch_pool(venue, &token, &quote, base_amount, quote_amount, open_secs, now)
        .ok_or_else(|| {
            ApiError::field(ErrorCode::InvalidAmount, "quoteAmount", "the pool's price is out of the venue's range")
        })?;
    // The trigger engine also re-reads the pools every second: a lost append delays a sniper, no more.
    let (launched, pool) = state.ledger.launch(&token, pool, open_at).await?.ok_or_else(|| {
        ApiError::new(ErrorCode::TokenExists, format!("{} or its mint is listed already", token.symbol))
    })?;
    tracing::info!(symbol = %token.symbol, mint = %token.mint, pool = %pool.id, slot = launched.slot, "token launched");
    Ok(HttpResponse::Created().json(LaunchedView {
        symbol: token.symbol,
        mint: token.mint,
        pool: pool.id,
        slot: launched.slot,
    }))
}

/// A fresh mint address: 32 random bytes in base58, as Solana's are.
fn fresh_mint() -> String {
    let bytes: [u8; 32] = rand::random();
    bs58::encode(bytes).into_string()
}

/// An amount field of the launch in `token`'s units, as an order's are read.
fn units(value: &serde_json::Value, field: &'static str, token: &Token) -> Result<u64, ApiError> {
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    parse_units(&text, token.decimals).map_err(|e| {
        let code = match e {
            AmountError::TooManyDecimals => ErrorCode::TooManyDecimals,
            AmountError::TooLarge => ErrorCode::AmountTooLarge,
            _ => ErrorCode::InvalidAmount,
        };
        ApiError::field(code, field, format!("{field} must be a positive amount of {} ({e})", token.symbol))
    })
}

/// The tokens launched so far.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Launches)]
pub struct LaunchesView {
    launches: Vec<LaunchView>,
}

/// A launched token and its pool.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Launch)]
pub struct LaunchView {
    symbol: String,
    mint: String,
    decimals: u8,
    /// The symbol of the token it is paired with.
    quote_token: String,
    venue: Option<Dex>,
    pool: String,
    slot: u64,
    /// When its pool starts trading, if not at once.
    #[schema(value_type = Option<String>, format = DateTime)]
    open_at: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    launched_at: String,
}

/// The tokens launched on the simulated chain, oldest first.
#[utoipa::path(
    get,
    path = "/api/launches",
    operation_id = "launches",
    tag = "simulator",
    responses(
        (status = 200, description = "Every launch, as of the pools' latest refresh.", body = LaunchesView),
        (status = 401, description = "UNAUTHENTICATED", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "FORBIDDEN", body = ErrorBody),
    )
)]
pub async fn launches(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.auth.require(&req, Scope::Read).await?;
    let tokens = state.tokens();
    let launches = state
        .pools
        .launches()
        .into_iter()
        .map(|l| LaunchView {
            // SOL's mint names wrapped SOL; a launch against it trades with SOL.
            quote_token: if l.quote_mint == WSOL_MINT {
                NATIVE_SYMBOL.to_owned()
            } else {
                tokens.resolve(&l.quote_mint).map_or_else(|| l.quote_mint.clone(), |t| t.symbol.clone())
            },
            venue: l.venue(),
            open_at: l.open_at.map(oee_domain::format_time),
            launched_at: oee_domain::format_time(l.launched_at),
            symbol: l.token.symbol,
            mint: l.token.mint,
            decimals: l.token.decimals,
            pool: l.pool_id,
            slot: l.slot,
        })
        .collect();
    Ok(HttpResponse::Ok().json(LaunchesView { launches }))
}
