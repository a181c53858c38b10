//! API keys: stored only as a hash, found by the presented key, listed without
//! it, revoked once.

use chrono::Utc;
use oee_domain::{ApiKey, Scope, Scopes};
use oee_store::{KeyStore, NewKey};
use oee_testkit::TestEnv;

async fn store(env: &TestEnv) -> KeyStore {
    KeyStore::new(oee_store::pg::pool(&env.settings.pg()).expect("pool"))
}

fn key(random: &str) -> ApiKey {
    ApiKey::from_random(random).expect("well formed")
}

/// A stored key is found by its text, carries what it was made for, and its
/// text is nowhere in the table (only its hash).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_found_by_its_text_and_stored_only_as_a_hash() {
    let env = TestEnv::new().await.expect("env");
    let keys = store(&env).await;
    let presented = key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let new = NewKey { account: "desk-1".into(), scopes: Scopes::new([Scope::Trade]), rate: Some(50), burst: None };
    let created = keys.create(&presented, &new, Utc::now()).await.expect("created");
    assert_eq!((created.account.as_str(), created.rate, created.burst), ("desk-1", Some(50), None));

    let found = keys.find(&presented).await.expect("lookup").expect("found");
    assert_eq!(found, created);
    assert!(found.scopes.allows(Scope::Read) && !found.scopes.allows(Scope::Admin));
    assert_eq!(keys.find(&key("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB")).await.expect("lookup"), None, "unknown");

    let db = env.db().await.expect("db");
    let stored: i64 = db
        .query_one(
            "SELECT count(*) FROM api_keys WHERE position($1::bytea IN key_hash) > 0",
            &[&presented.as_str().as_bytes()],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(stored, 0, "the key's text is not stored");
    let listed = serde_json::to_string(&keys.list().await.expect("list")).expect("json");
    assert!(!listed.contains(presented.as_str()), "{listed}");
    assert!(listed.contains(r#""scopes":["trade"]"#), "{listed}");
    env.cleanup().await.expect("cleanup");
}

/// Revoking marks the key (its first revocation time stays); an unknown id is
/// reported, not ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_stays_revoked_from_its_first_revocation() {
    let env = TestEnv::new().await.expect("env");
    let keys = store(&env).await;
    let presented = key("CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC");
    let new = NewKey { account: "desk-2".into(), scopes: Scopes::DEFAULT, rate: None, burst: None };
    let created = keys.create(&presented, &new, Utc::now()).await.expect("created");
    assert!(!created.is_revoked());

    let first = Utc::now();
    assert!(keys.revoke(created.key_id, first).await.expect("revoke"));
    assert!(keys.revoke(created.key_id, first + chrono::Duration::hours(1)).await.expect("again"));
    let found = keys.find(&presented).await.expect("lookup").expect("still there");
    assert_eq!(found.revoked_at.map(|t| t.timestamp_millis()), Some(first.timestamp_millis()));
    assert!(!keys.revoke(uuid::Uuid::now_v7(), first).await.expect("revoke"), "no such key");
    env.cleanup().await.expect("cleanup");
}
