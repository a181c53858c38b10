//! API keys in PostgreSQL: created (the key shown once), listed (never the
//! key), revoked, and looked up by the hash of a presented key.

use crate::error::StoreError;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use oee_domain::{ApiKey, Scope, Scopes};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use sha2::{Digest, Sha256};
use tokio_postgres::Row;
use uuid::Uuid;

/// A key as stored: everything but the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub key_id: Uuid,
    pub account: String,
    pub scopes: Scopes,
    /// Orders per second; `None`: the deployment's default.
    pub rate: Option<u32>,
    /// The burst allowed on top of the rate; `None`: the deployment's default.
    pub burst: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl KeyRecord {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

/// The contract's key object: `{"keyId", "account", "scopes", "rate", "burst",
/// "createdAt", "revokedAt"}`.
impl Serialize for KeyRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let scopes: Vec<&str> = self.scopes.iter().map(Scope::as_str).collect();
        let mut m = s.serialize_map(Some(7))?;
        m.serialize_entry("keyId", &self.key_id)?;
        m.serialize_entry("account", &self.account)?;
        m.serialize_entry("scopes", &scopes)?;
        m.serialize_entry("rate", &self.rate)?;
        m.serialize_entry("burst", &self.burst)?;
        m.serialize_entry("createdAt", &oee_domain::format_time(self.created_at))?;
        m.serialize_entry("revokedAt", &self.revoked_at.map(oee_domain::format_time))?;
        m.end()
    }
}

/// What a new key is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    pub account: String,
    pub scopes: Scopes,
    pub rate: Option<u32>,
    pub burst: Option<u32>,
}

/// API keys in PostgreSQL.
#[derive(Debug, Clone)]
pub struct KeyStore {
    pool: Pool,
}

/// The stored form of a key: the SHA-256 of its text.
pub fn key_hash(key: &ApiKey) -> Vec<u8> {
    Sha256::digest(key.as_str().as_bytes()).to_vec()
}

const COLUMNS: &str = "id, account, scopes, rate, burst, created_at, revoked_at";

impl KeyStore {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }

    /// Stores `key` (made by the caller from fresh randomness) for `new`;
    /// returns its record.
    pub async fn create(&self, key: &ApiKey, new: &NewKey, at: DateTime<Utc>) -> Result<KeyRecord, StoreError> {
        let client = self.pool.get().await?;
        let scopes: Vec<&str> = new.scopes.iter().map(Scope::as_str).collect();
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO api_keys (id, account, key_hash, scopes, rate, burst, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
                ),
                &[
                    &Uuid::now_v7(),
                    &new.account,
                    &key_hash(key),
                    &scopes,
                    &new.rate.map(to_i32),
                    &new.burst.map(to_i32),
                    &at,
                ],
            )
            .await?;
        decode(&row)
    }

    /// Every key, oldest first.
    pub async fn list(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client.query(&format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at, id"), &[]).await?;
        rows.iter().map(decode).collect()
    }

    /// Revokes a key from `at` on. Returns `false` when there is no such key;
    /// revoking a revoked key keeps its first revocation time.
    pub async fn revoke(&self, key_id: Uuid, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let n = client
            .execute("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1", &[&key_id, &at])
            .await?;
        Ok(n == 1)
    }

    /// The record of a presented key, revoked or not; `None` if unknown.
    pub async fn find(&self, key: &ApiKey) -> Result<Option<KeyRecord>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(&format!("SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1")).await?;
        client.query_opt(&stmt, &[&key_hash(key)]).await?.as_ref().map(decode).transpose()
    }
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn decode(row: &Row) -> Result<KeyRecord, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt(format!("api_keys: {what}"));
    let scopes: Vec<String> = row.try_get("scopes").map_err(|e| corrupt(e.to_string()))?;
    let scopes = scopes
        .iter()
        .map(|s| Scope::parse(s).ok_or_else(|| corrupt(format!("scope {s:?}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let positive = |name: &str| -> Result<Option<u32>, StoreError> {
        let n: Option<i32> = row.try_get(name).map_err(|e| corrupt(e.to_string()))?;
        n.map(|n| u32::try_from(n).map_err(|e| corrupt(format!("{name}: {e}")))).transpose()
    };
    Ok(KeyRecord {
        key_id: row.try_get("id").map_err(|e| corrupt(e.to_string()))?,
        account: row.try_get("account").map_err(|e| corrupt(e.to_string()))?,
        scopes: Scopes::new(scopes),
        rate: positive("rate")?,
        burst: positive("burst")?,
        created_at: row.try_get("created_at").map_err(|e| corrupt(e.to_string()))?,
        revoked_at: row.try_get("revoked_at").map_err(|e| corrupt(e.to_string()))?,
    })
}
