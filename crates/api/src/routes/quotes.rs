//! What can be traded and at what price: `GET /api/tokens` and `GET /api/quote`.
//!
//! A quote is the route the engine would take for that order right now: the
//! query is validated as a submitted order is (the domain's own validation, on
//! a body made from the parameters, so the same codes and fields come back),
//! then the router's [`plan`] — the worker's own route choice — runs on the
//! API's snapshot of the pools ([`crate::pools`]). Nothing is stored, and no
//! store is read: a quote costs the route search alone, cheap enough to ask on
//! every keystroke.

use crate::error::ApiError;
use crate::openapi::schemas::ErrorBody;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use oee_domain::{Channel, ErrorCode, OrderSpec, RouteRecord, Scope, format_time, format_units, parse_order};
use oee_router::{RouteError, VenueError, plan, price};
use serde::Serialize;

/// `GET /api/tokens`: every token of the registry, and every pair a client can
/// submit, in both directions, with the venues that list it. SOL and WSOL share
/// a mint, so each pair with one of them is listed with the other too. Tokens in
/// registry order; pairs by their input token, then their output token, in that
/// order.
#[utoipa::path(
    get,
    path = "/api/tokens",
    operation_id = "tokens",
    tag = "quotes",
    responses(
        (status = 200, description = "Every token, and every pair with its venues.", body = TokensView),
        (status = 401, description = "UNAUTHENTICATED", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "FORBIDDEN", body = ErrorBody),
    )
)]
pub async fn tokens(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.auth.require(&req, Scope::Read).await?;
    let registry = state.tokens();
    let tokens = registry.tokens();
    let launches = state.pools.launches();
    let mut pairs = Vec::new();
    for token_in in tokens {
        for token_out in tokens {
            if token_in.mint == token_out.mint {
                continue;
            }
            let mut venues: Vec<&str> = match state.listing.pair(&token_in.mint, &token_out.mint) {
                Some(listed) => listed.venues.iter().map(|d| d.as_str()).collect(),
                None => launches
                    .iter()
                    .filter(|l| {
                        (l.token.mint == token_in.mint && l.quote_mint == token_out.mint)
                            || (l.token.mint == token_out.mint && l.quote_mint == token_in.mint)
                    })
                    .filter_map(|l| l.venue().map(|d| d.as_str()))
                    .collect(),
            };
            if venues.is_empty() {
                continue;
            }
            venues.sort_unstable();
            pairs.push(PairView { token_in: &token_in.symbol, token_out: &token_out.symbol, venues });
        }
    }
    let tokens: Vec<TokenView<'_>> =
        tokens.iter().map(|t| TokenView { symbol: &t.symbol, mint: &t.mint, decimals: t.decimals }).collect();
    Ok(HttpResponse::Ok().json(TokensView { tokens, pairs }))
}

/// Every token, and every pair a client can submit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Tokens)]
pub struct TokensView<'a> {
    tokens: Vec<TokenView<'a>>,
    pairs: Vec<PairView<'a>>,
}

/// A token: its symbol (names it in requests, as does its mint) and decimals.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Token)]
struct TokenView<'a> {
    symbol: &'a str,
    mint: &'a str,
    decimals: u8,
}

/// A tradable direction and the venues listing it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Pair)]
struct PairView<'a> {
    token_in: &'a str,
    token_out: &'a str,
    #[schema(value_type = Vec<oee_domain::Dex>)]
    venues: Vec<&'a str>,
}

/// The parameters a quote takes: the order's own fields, as a submit names them
/// (with the submit's aliases `amount` and `slippage`, a fraction).
const PARAMETERS: &[&str] = &["tokenIn", "tokenOut", "amountIn", "amount", "slippageBps", "slippage"];

/// The route the engine would take right now.
///
/// Both venues' quotes, the split if any, the expected output, the minimum for
/// the slippage, the price impact and the slot the pools were read at. Nothing
/// is stored; the same validation and error codes as a submit.
#[utoipa::path(
    get,
    path = "/api/quote",
    operation_id = "quote",
    tag = "quotes",
    params(QuoteQuery),
    responses(
        (status = 200, description = "The route, as an order would take it now.", body = QuoteView),
        (status = 400, description = "UNKNOWN_FIELD, DUPLICATE_FIELD, MISSING_FIELD, INVALID_AMOUNT, TOO_MANY_DECIMALS, \
AMOUNT_TOO_LARGE, UNKNOWN_TOKEN, SAME_TOKEN, INVALID_SLIPPAGE, INVALID_PARAMETER", body = ErrorBody),
        (status = 401, description = "UNAUTHENTICATED", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "FORBIDDEN", body = ErrorBody),
        (status = 422, description = "NO_ROUTE, INSUFFICIENT_LIQUIDITY", body = ErrorBody),
        (status = 503, description = "UNAVAILABLE: the pools could not be read lately.", body = ErrorBody,
            headers(("Retry-After" = u32))),
    )
)]
pub async fn quote(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.auth.require(&req, Scope::Read).await?;
    let query = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|e| ApiError::new(ErrorCode::InvalidParameter, format!("invalid query string: {e}")))?;
    let body = order_body(&query)?;
    let spec = parse_order(body.as_bytes(), &state.tokens(), Channel::Http)?.spec;
    if !state.tradable(&spec.token_in.mint, &spec.token_out.mint) {
        return Err(ApiError::new(
            ErrorCode::NoRoute,
            format!("no venue lists {}/{}", spec.token_in.symbol, spec.token_out.symbol),
        ));
    }
    let snapshot = state.pools.fresh()?;
    let quoted_at = Utc::now();
    let markets = snapshot.markets(&spec.token_in.mint, &spec.token_out.mint, quoted_at.timestamp());
    // The route as of this slot: the latest change to any pool it read.
    let slot = markets.iter().flatten().map(|m| m.pool.slot).max().unwrap_or(0);
    let route = plan(&spec, markets).map_err(|e| refusal(e, &spec))?;
    let out = |atoms: u64| format_units(u128::from(atoms), spec.token_out.decimals);
    Ok(HttpResponse::Ok().json(QuoteView {
        token_in: &spec.token_in.symbol,
        token_out: &spec.token_out.symbol,
        amount_in: format_units(u128::from(spec.amount_in), spec.token_in.decimals),
        amount_out: out(route.expected_out),
        min_amount_out: out(route.min_amount_out),
        price_impact_bps: route.price_impact_bps(),
        price: price(&spec, route.amount_in, route.expected_out),
        slot,
        quoted_at: format_time(quoted_at),
        route: &route.record,
    }))
}

/// The route an order would take now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Quote)]
pub struct QuoteView<'a> {
    token_in: &'a str,
    token_out: &'a str,
    amount_in: String,
    amount_out: String,
    min_amount_out: String,
    /// The chosen venue's, or for a split the input-weighted mean of its legs'.
    price_impact_bps: u32,
    /// Units of tokenOut per unit of tokenIn, over the whole route.
    price: String,
    /// The latest slot that changed a pool this quote read: the route as of that slot.
    slot: u64,
    #[schema(format = DateTime)]
    quoted_at: String,
    #[schema(value_type = RouteRecord)]
    route: &'a RouteRecord,
}

/// The parameters of `GET /api/quote`: the order's own fields.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[allow(dead_code, reason = "the query is read by `order_body`; this names it for the document")]
pub struct QuoteQuery {
    /// A token symbol (case-insensitive) or mint.
    #[param(required = true, min_length = 1, max_length = 64, example = "SOL")]
    token_in: String,
    /// A token symbol (case-insensitive) or mint.
    #[param(required = true, min_length = 1, max_length = 64, example = "USDC")]
    token_out: String,
    /// In token units, exact: at most the token's decimals.
    #[param(required = true, pattern = "^[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?$", max_length = 64, example = "1.5")]
    amount_in: String,
    /// 1–5000 (default 50), as digits.
    #[param(minimum = 1, maximum = 5000, example = 50)]
    slippage_bps: Option<u32>,
}

/// The query's parameters as an order body, for the domain's validation: every
/// value a JSON string, in the order given (so a repeated parameter is the
/// body's duplicate field). A query has only text, so `slippageBps` must be
/// written as digits to be read as the number a body would carry.
fn order_body(query: &[(String, String)]) -> Result<String, ApiError> {
    let mut text = String::from("{");
    for (name, value) in query {
        if !PARAMETERS.contains(&name.as_str()) {
            return Err(ApiError::new(
                ErrorCode::UnknownField,
                format!("unknown parameter {name:?}; a quote takes {}", PARAMETERS.join(", ")),
            ));
        }
        let json = if name == "slippageBps" {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::field(
                    ErrorCode::InvalidSlippage,
                    "slippageBps",
                    "slippageBps must be an integer from 1 to 5000",
                ));
            }
            value.clone()
        } else {
            serde_json::Value::String(value.clone()).to_string()
        };
        if text.len() > 1 {
            text.push(',');
        }
        text.push_str(&serde_json::Value::String(name.clone()).to_string());
        text.push(':');
        text.push_str(&json);
    }
    text.push('}');
    Ok(text)
}

/// Why a quote found no route, as the refusal a client gets: 422 for what the
/// market cannot do, 503 for what should not happen on a snapshot (a pool the
/// venue could not read).
fn refusal(e: RouteError, spec: &OrderSpec) -> ApiError {
    match e {
        RouteError::NoRoute(pair) => ApiError::new(ErrorCode::NoRoute, format!("no venue lists {pair}")),
        RouteError::Venue(VenueError::NoPool { dex }) => {
            ApiError::new(ErrorCode::NoRoute, format!("{dex} lists no pool for this pair"))
        }
        RouteError::Venue(VenueError::InsufficientLiquidity { .. }) => ApiError::new(
            ErrorCode::InsufficientLiquidity,
            format!(
                "no venue can fill {} {} for {}, alone or in a split: too much for their pools, or too little to \
                     return anything",
                format_units(u128::from(spec.amount_in), spec.token_in.decimals),
                spec.token_in.symbol,
                spec.token_out.symbol
            ),
        ),
        RouteError::Venue(e) => ApiError::Store(oee_store::StoreError::Unavailable {
            backend: oee_store::Backend::Postgres,
            reason: e.to_string(),
        }),
    }
}
