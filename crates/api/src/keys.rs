//! Managing API keys: making a key from fresh randomness, and the
//! `oee-api keys create|list|revoke` commands. (The admin HTTP endpoints and
//! authentication itself build on the same store.)

use anyhow::{Context, bail};
use chrono::Utc;
use oee_domain::{ApiKey, KEY_RANDOM_LEN, Scope, Scopes};
use oee_store::{KeyRecord, KeyStore, NewKey};
use rand::Rng;
use rand::distr::slice::Choose;
use serde::Serialize;
use std::io::Write;
use uuid::Uuid;

/// A new key: [`KEY_RANDOM_LEN`] characters drawn uniformly from base62 by a
/// cryptographically secure generator (`rand::rng()`, seeded from the operating
/// system), and its checksum.
pub fn generate() -> ApiKey {
    let alphabet = Choose::new(oee_domain::apikey::BASE62).expect("a non-empty alphabet");
    let random: String = rand::rng().sample_iter(alphabet).take(KEY_RANDOM_LEN).map(|&b| char::from(b)).collect();
    ApiKey::from_random(&random).expect("base62 of the right length makes a key")
}

/// What `keys create` prints, the only time the key is shown.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    pub key_id: Uuid,
    pub key: String,
    pub account: String,
    pub scopes: Vec<&'static str>,
}

/// Stores a fresh key for `new`; returns its record and the key.
pub async fn create(store: &KeyStore, new: &NewKey) -> anyhow::Result<(KeyRecord, ApiKey)> {
    if new.account.trim().is_empty() {
        bail!("an account name is required");
    }
    if new.scopes.is_empty() {
        bail!("a key needs at least one scope (read, trade, admin)");
    }
    let key = generate();
    let record = store.create(&key, new, Utc::now()).await?;
    Ok((record, key))
}

impl Created {
    pub fn new(record: KeyRecord, key: &ApiKey) -> Self {
        Self {
            key_id: record.key_id,
            key: key.as_str().to_owned(),
            account: record.account,
            scopes: record.scopes.iter().map(Scope::as_str).collect(),
        }
    }
}

/// `oee-api keys create`: prints `{"keyId", "key", "account", "scopes"}`.
pub async fn create_command(store: &KeyStore, new: &NewKey, out: &mut impl Write) -> anyhow::Result<()> {
    let (record, key) = create(store, new).await?;
    writeln!(out, "{}", serde_json::to_string(&Created::new(record, &key))?)?;
    Ok(())
}

/// `oee-api keys generate`: a fresh key on stdout, stored nowhere (for
/// `OEE_BOOTSTRAP_ADMIN_KEY` in a Secret).
pub fn generate_command(out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(out, "{}", generate().as_str())?;
    Ok(())
}

/// `oee-api keys list`: one JSON line per key, never the key itself.
pub async fn list_command(store: &KeyStore, out: &mut impl Write) -> anyhow::Result<()> {
    for record in store.list().await.context("listing keys")? {
        writeln!(out, "{}", serde_json::to_string(&record)?)?;
    }
    Ok(())
}

/// `oee-api keys revoke KEY_ID`.
pub async fn revoke_command(store: &KeyStore, key_id: Uuid) -> anyhow::Result<()> {
    if !store.revoke(key_id, Utc::now()).await.context("revoking the key")? {
        bail!("no key {key_id}");
    }
    Ok(())
}

/// Reads `--scopes` (default: trade and read).
pub fn scopes_arg(text: Option<&str>) -> anyhow::Result<Scopes> {
    match text {
        None => Ok(Scopes::DEFAULT),
        Some(text) => Scopes::parse_list(text).map_err(anyhow::Error::msg),
    }
}

/// Stores `text` as an admin key of `account` unless a key with that text is
/// stored already (revoked or not: a revoked bootstrap key stays revoked).
/// Returns the id of the key stored now, if one was.
pub async fn bootstrap(store: &KeyStore, text: &str, account: &str) -> anyhow::Result<Option<Uuid>> {
    let key = ApiKey::parse(text.trim()).map_err(|e| anyhow::anyhow!("OEE_BOOTSTRAP_ADMIN_KEY: {e}"))?;
    if store.find(&key).await.context("looking the bootstrap key up")?.is_some() {
        return Ok(None);
    }
    let new = NewKey { account: account.to_owned(), scopes: Scopes::new([Scope::Admin]), rate: None, burst: None };
    let record = store.create(&key, &new, Utc::now()).await.context("storing the bootstrap key")?;
    Ok(Some(record.key_id))
}

/// The account a bootstrap key acts for.
pub const BOOTSTRAP_ACCOUNT: &str = "admin";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_well_formed_and_differ() {
        let (a, b) = (generate(), generate());
        assert_eq!(ApiKey::parse(a.as_str()), Ok(a.clone()));
        assert_ne!(a, b);
    }

    #[test]
    fn scopes_default_to_trade_and_read() {
        assert_eq!(scopes_arg(None).expect("default"), Scopes::DEFAULT);
        assert!(scopes_arg(Some("admin,nope")).is_err());
    }
}
