//! Simulator control (scope `admin`; the venues are simulated): one outside
//! trade on a pool, so tests and demos move prices deterministically.
//!
//! The trade lands on the simulated chain like any swap (the same ledger, its
//! own slot), is published on the pool-change stream, and is visible to the
//! next quote and the next order, as another trader's swap would be.

use crate::body::read_json;
use crate::error::ApiError;
use crate::openapi::schemas::ErrorBody;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use oee_domain::{Channel, Dex, ErrorCode, Scope, format_units, parse_order};
use oee_router::{Ledger, SwapLeg, VenueError, outside, price};
use serde::Serialize;

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
    state.auth.require(&req, Scope::Admin).await?;
    let body = read_json(&req, payload).await?;
    let mut fields: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("body is not a JSON object: {e}")))?;
    if let Some(name) = fields.keys().find(|k| !["tokenIn", "tokenOut", "venue", "amountIn"].contains(&k.as_str())) {
        return Err(ApiError::new(ErrorCode::UnknownField, format!("unknown field {name:?}")));
    }
    let venue = match fields.remove("venue") {
        None | Some(serde_json::Value::Null) => {
            return Err(ApiError::field(ErrorCode::MissingField, "venue", "venue is required"));
        }
        Some(v) => Dex::ALL.into_iter().find(|d| v.as_str() == Some(d.as_str())).ok_or_else(|| {
            ApiError::field(ErrorCode::InvalidParameter, "venue", "venue must be \"raydium\" or \"meteora\"")
        })?,
    };
    let order = serde_json::Value::Object(fields).to_string();
    let spec = parse_order(order.as_bytes(), &state.registry, Channel::Http)?.spec;
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
