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
use oee_runtime::AuthMode;
use oee_store::{KeyRecord, KeyStore, TICKET_TTL, Tickets};
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
    cache: Arc<Mutex<Lookups>>,
}

impl Authenticator {
    pub fn new(mode: AuthMode, keys: KeyStore, tickets: Tickets) -> Self {
        Self { mode, keys, tickets, cache: Arc::default() }
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
        let key = bearer(req)?;
        let record = self.lookup(&key).await?;
        let record = match record {
            None => return Err(unauthenticated("unknown API key")),
            Some(r) if r.is_revoked() => return Err(unauthenticated("this API key was revoked")),
            Some(r) => r,
        };
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
