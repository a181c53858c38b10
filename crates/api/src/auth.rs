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
use actix_web::HttpRequest;
use actix_web::http::header;
use oee_domain::{ApiKey, ErrorCode, Scope, Scopes};
use oee_runtime::AuthMode;
use oee_store::{KeyRecord, KeyStore};
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
}

/// Recent lookups: a presented key, what the store said of it, and when.
type Lookups = HashMap<String, (Option<KeyRecord>, Instant)>;

/// Checks keys against the store, through a short-lived cache.
#[derive(Debug, Clone)]
pub struct Authenticator {
    mode: AuthMode,
    keys: KeyStore,
    cache: Arc<Mutex<Lookups>>,
}

impl Authenticator {
    pub fn new(mode: AuthMode, keys: KeyStore) -> Self {
        Self { mode, keys, cache: Arc::default() }
    }

    /// The caller of `req`, if its key is valid and holds `scope`: otherwise 401
    /// `UNAUTHENTICATED` (no, malformed, unknown or revoked key) or 403
    /// `FORBIDDEN` (a valid key without the scope).
    pub async fn require(&self, req: &HttpRequest, scope: Scope) -> Result<Caller, ApiError> {
        if self.mode == AuthMode::Off {
            return Ok(Caller { account: ANONYMOUS.to_owned(), scopes: Scopes::new(Scope::ALL), key_id: None });
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
        Ok(Caller { account: record.account, scopes: record.scopes, key_id: Some(record.key_id) })
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
