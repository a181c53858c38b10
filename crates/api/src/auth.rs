//! Authentication: who is calling, and may they do this.
//!
//! Every `/api` route asks [`Authenticator::require`] for the scope it needs.
//! The key comes from `Authorization: Bearer <key>`; its format and checksum
//! are checked before any lookup, so a mistyped key costs no round trip. Keys
//! are looked up by hash and the answer (found, unknown or revoked) is cached in
//! the process for [`CACHE_TTL`]: that is the bound on how long a revoked key
//! keeps working on any replica. With `OEE_AUTH=off` nothing is checked and
//! every caller is the account `anonymous` with every scope.

use crate::error::ApiError;
use actix_web::http::header;
use actix_web::{HttpRequest, web};
use chrono::Utc;
use oee_domain::{ApiKey, ErrorCode, Scope, Scopes};
use oee_runtime::{AuthMode, Settings};
use oee_store::{Bus, Decision, KeyRecord, KeyStore, Limit, RateLimiter, TICKET_TTL, Tickets};
use rand::Rng;
use rand::distr::slice::Choose;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long a key lookup is trusted: a revoked key stops working on every
/// replica within this (plus one lookup).
pub const CACHE_TTL: Duration = Duration::from_secs(2);
/// Most lookups cached; past it the cache starts afresh (a flood of random keys
/// cannot grow it without bound).
const CACHE_MAX: usize = 100_000;
/// What the failure limit counts, for its 429.
const FAILURES: &str = "failed authentications from this address";
/// The account every request acts as with `OEE_AUTH=off`.
pub const ANONYMOUS: &str = "anonymous";

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub scopes: Scopes,
    /// The key used; `None` with `OEE_AUTH=off`.
    pub key_id: Option<Uuid>,
    /// The key's own rate and burst, where it has them.
    pub rate: Option<u32>,
    pub burst: Option<u32>,
}

/// Recent lookups: a presented key, what the store said of it, and when.
type Lookups = HashMap<String, (Option<KeyRecord>, Instant)>;

/// Checks keys against the store, through a short-lived cache.
#[derive(Debug, Clone)]
pub struct Authenticator {
    mode: AuthMode,
    keys: KeyStore,
    tickets: Tickets,
    /// Failed authentication per address.
    rates: RateLimiter,
    /// `OEE_TRUSTED_PROXY_HOPS`.
    proxy_hops: u8,
    /// Failed authentications per address (`OEE_AUTH_FAILURE_RATE`, `_BURST`).
    failure_limit: Limit,
    cache: Arc<Mutex<Lookups>>,
}

impl Authenticator {
    pub fn new(settings: &Settings, keys: KeyStore, bus: &Bus) -> Self {
        Self {
            mode: settings.auth,
            keys,
            tickets: bus.tickets.clone(),
            rates: bus.rates.clone(),
            proxy_hops: settings.trusted_proxy_hops,
            failure_limit: Limit { per_sec: settings.auth_failure_rate, burst: settings.auth_failure_burst },
            cache: Arc::default(),
        }
    }

    /// As [`Authenticator::require`], for a WebSocket upgrade: `?ticket=` (from
    /// [`Authenticator::issue_ticket`]; taken, so single use) stands in for the
    /// header, which browsers cannot send on a WebSocket.
    pub async fn require_socket(&self, req: &HttpRequest, scope: Scope) -> Result<Caller, ApiError> {
        let ticket = web::Query::<TicketQuery>::from_query(req.query_string()).ok().and_then(|q| q.0.ticket);
        let (Some(ticket), AuthMode::Required) = (ticket, self.mode) else {
            return self.require(req, scope).await;
        };
        let grant = self
            .tickets
            .redeem(&ticket)
            .await?
            .and_then(|grant| serde_json::from_str::<Grant>(&grant).ok())
            .ok_or_else(|| unauthenticated("unknown, used or expired ticket"))?;
        let scopes = Scopes::new(grant.scopes.iter().filter_map(|s| Scope::parse(s)));
        if !scopes.allows(scope) {
            return Err(ApiError::new(ErrorCode::Forbidden, format!("this ticket lacks the {scope} scope")));
        }
        Ok(Caller { account: grant.account, scopes, key_id: grant.key_id, rate: grant.rate, burst: grant.burst })
    }

    /// A single-use ticket that opens one WebSocket as `caller`, within
    /// [`TICKET_TTL`]: `(ticket, expiresAt)`.
    pub async fn issue_ticket(&self, caller: &Caller) -> Result<(String, chrono::DateTime<Utc>), ApiError> {
        let alphabet = Choose::new(oee_domain::apikey::BASE62).expect("a non-empty alphabet");
        let random: String = rand::rng().sample_iter(alphabet).take(TICKET_LEN).map(|&b| char::from(b)).collect();
        let ticket = format!("{TICKET_PREFIX}{random}");
        let grant = Grant {
            account: caller.account.clone(),
            scopes: caller.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            key_id: caller.key_id,
            rate: caller.rate,
            burst: caller.burst,
        };
        let expires = Utc::now() + chrono::Duration::from_std(TICKET_TTL).unwrap_or_default();
        let grant = serde_json::to_string(&grant).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        self.tickets.issue(&ticket, &grant).await?;
        Ok((ticket, expires))
    }

    /// The caller of `req`, if its key is valid and holds `scope`: otherwise 401
    /// `UNAUTHENTICATED` (no, malformed, unknown or revoked key) or 403
    /// `FORBIDDEN` (a valid key without the scope).
    pub async fn require(&self, req: &HttpRequest, scope: Scope) -> Result<Caller, ApiError> {
        if self.mode == AuthMode::Off {
            return Ok(Caller {
                account: ANONYMOUS.to_owned(),
                scopes: Scopes::new(Scope::ALL),
                key_id: None,
                rate: None,
                burst: None,
            });
        }
        let record = self.authenticate(req).await?;
        if !record.scopes.allows(scope) {
            return Err(ApiError::new(ErrorCode::Forbidden, format!("this API key lacks the {scope} scope")));
        }
        Ok(Caller {
            account: record.account,
            scopes: record.scopes,
            key_id: Some(record.key_id),
            rate: record.rate,
            burst: record.burst,
        })
    }

    /// The valid key of `req`. Failures are limited per client address: an
    /// address over `OEE_AUTH_FAILURE_RATE` (+ `_BURST`) gets 429 `RATE_LIMITED`
    /// before any lookup, unless it presents a key this process knows to be valid.
    async fn authenticate(&self, req: &HttpRequest) -> Result<KeyRecord, ApiError> {
        let key = bearer(req);
        let known_valid = key.as_ref().ok().and_then(|k| self.fresh(k)).flatten().filter(|r| !r.is_revoked());
        if let Some(record) = known_valid {
            return Ok(record);
        }
        let address = format!("auth-failures:{}", self.client_address(req));
        if let Decision::Limited { retry_after, .. } = self.rates.peek(&address, self.failure_limit).await? {
            return Err(ApiError::Limited { retry_after, limit: self.failure_limit.per_sec, per: FAILURES });
        }
        let result = match key {
            Err(e) => Err(e),
            Ok(key) => match self.lookup(&key).await? {
                None => Err(unauthenticated("unknown API key")),
                Some(r) if r.is_revoked() => Err(unauthenticated("this API key was revoked")),
                Some(r) => Ok(r),
            },
        };
        if result.is_err() {
            self.rates.check(&address, self.failure_limit).await?;
        }
        result
    }

    /// The client's address: the TCP peer, or with `OEE_TRUSTED_PROXY_HOPS` = N,
    /// the `X-Forwarded-For` entry the outermost of N trusted proxies appended
    /// (entries to its left came from the client and are not trusted).
    fn client_address(&self, req: &HttpRequest) -> String {
        let peer = || req.peer_addr().map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
        if self.proxy_hops == 0 {
            return peer();
        }
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .collect();
        forwarded
            .len()
            .checked_sub(usize::from(self.proxy_hops))
            .and_then(|i| forwarded.get(i))
            .map_or_else(peer, |a| (*a).to_owned())
    }

    /// What this process last heard of `key`, while that is fresh.
    fn fresh(&self, key: &ApiKey) -> Option<Option<KeyRecord>> {
        let cache = self.cached();
        let (record, at) = cache.get(key.as_str())?;
        (at.elapsed() < CACHE_TTL).then(|| record.clone())
    }

    /// The key's record, from the cache while it is fresh.
    async fn lookup(&self, key: &ApiKey) -> Result<Option<KeyRecord>, ApiError> {
        let now = Instant::now();
        if let Some((record, at)) = self.cached().get(key.as_str())
            && now.duration_since(*at) < CACHE_TTL
        {
            return Ok(record.clone());
        }
        let record = self.keys.find(key).await?;
        let mut cache = self.cached();
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(key.as_str().to_owned(), (record.clone(), now));
        Ok(record)
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, Lookups> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Tickets start with this, so they are not mistaken for keys.
const TICKET_PREFIX: &str = "oet_";
/// Random characters of a ticket (base62, ~190 bits).
const TICKET_LEN: usize = 32;

/// What a ticket grants, as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Grant {
    account: String,
    scopes: Vec<String>,
    key_id: Option<Uuid>,
    rate: Option<u32>,
    burst: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct TicketQuery {
    ticket: Option<String>,
}

/// The well-formed key of `Authorization: Bearer <key>`.
fn bearer(req: &HttpRequest) -> Result<ApiKey, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthenticated("this route needs an API key: Authorization: Bearer <key>"))?;
    let value = value.to_str().map_err(|_| unauthenticated("the Authorization header is not text"))?;
    let (scheme, key) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthenticated("use Authorization: Bearer <key>"));
    }
    ApiKey::parse(key.trim()).map_err(|e| unauthenticated(e.to_string()))
}

fn unauthenticated(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, message)
}
