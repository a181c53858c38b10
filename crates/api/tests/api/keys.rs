//! `oee-api keys create|list|revoke`, run as the operator runs it: the key is
//! printed once, well formed; listing never shows it; revoking shows in the list.

use oee_domain::ApiKey;
use oee_testkit::TestEnv;
use serde_json::Value;
use std::process::{Command, Output};

fn oee_api(env: &TestEnv, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oee-api"))
        .args(args)
        .env("DATABASE_URL", &env.settings.database_url)
        .env("REDIS_URL", &env.settings.redis_url)
        .output()
        .expect("oee-api runs")
}

fn lines(output: &Output) -> Vec<Value> {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?} is not one JSON line: {e}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_created_once_listed_without_the_key_and_revoked() {
    let env = TestEnv::new().await.expect("env");
    let created = lines(&oee_api(&env, &["keys", "create", "--account", "desk-1", "--rate", "20"]));
    let [created] = created.as_slice() else { panic!("one line: {created:?}") };
    let key = created["key"].as_str().expect("key");
    ApiKey::parse(key).expect("a well-formed key");
    assert_eq!(created["account"], "desk-1");
    assert_eq!(created["scopes"], serde_json::json!(["trade", "read"]));
    let key_id = created["keyId"].as_str().expect("keyId");

    let admin = lines(&oee_api(&env, &["keys", "create", "--account", "ops", "--scopes", "admin"]));
    assert_eq!(admin[0]["scopes"], serde_json::json!(["admin"]));

    let listed = oee_api(&env, &["keys", "list"]);
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(key), "the key is never listed");
    let listed = lines(&listed);
    assert_eq!(listed.len(), 2);
    assert_eq!((listed[0]["keyId"].as_str(), listed[0]["rate"].as_u64()), (Some(key_id), Some(20)));
    assert!(listed[0]["revokedAt"].is_null());

    assert!(oee_api(&env, &["keys", "revoke", key_id]).status.success());
    let listed = lines(&oee_api(&env, &["keys", "list"]));
    assert!(listed[0]["revokedAt"].is_string(), "{:?}", listed[0]);
    assert!(listed[1]["revokedAt"].is_null(), "only that key");
    env.cleanup().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_key_commands_fail_with_a_reason_and_store_nothing() {
    let env = TestEnv::new().await.expect("env");
    for (args, reason) in [
        (vec!["keys", "create", "--account", "desk", "--scopes", "trade,root"], "unknown scope"),
        (vec!["keys", "create", "--account", " "], "account name is required"),
        (vec!["keys", "revoke", "01a2b3c4-0000-7000-8000-000000000000"], "no key"),
    ] {
        let output = oee_api(&env, &args);
        assert!(!output.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
    assert!(lines(&oee_api(&env, &["keys", "list"])).is_empty(), "nothing stored");
    env.cleanup().await.expect("cleanup");
}

/// A deployment's first admin key comes from a Secret: `oee-api keys generate`
/// makes one (storing nothing), and `oee-api migrate` with it in
/// `OEE_BOOTSTRAP_ADMIN_KEY` stores it once, however often it runs; a malformed
/// one stops the process with the variable named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_admin_key_is_stored_once_by_migrate() {
    let env = TestEnv::new().await.expect("env");
    let generated = oee_api(&env, &["keys", "generate"]);
    assert!(generated.status.success());
    let key = String::from_utf8_lossy(&generated.stdout).trim().to_owned();
    ApiKey::parse(&key).expect("a well-formed key");
    assert!(lines(&oee_api(&env, &["keys", "list"])).is_empty(), "generate stores nothing");

    let migrate = || {
        Command::new(env!("CARGO_BIN_EXE_oee-api"))
            .arg("migrate")
            .env("DATABASE_URL", &env.settings.database_url)
            .env("REDIS_URL", &env.settings.redis_url)
            .env("OEE_BOOTSTRAP_ADMIN_KEY", &key)
            .output()
            .expect("runs")
    };
    for _ in 0..2 {
        let output = migrate();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert!(!String::from_utf8_lossy(&output.stdout).contains(&key), "the key is never logged");
    }
    let listed = lines(&oee_api(&env, &["keys", "list"]));
    assert_eq!(listed.len(), 1, "stored once: {listed:?}");
    assert_eq!((listed[0]["account"].as_str(), &listed[0]["scopes"]), (Some("admin"), &serde_json::json!(["admin"])));

    let bad = Command::new(env!("CARGO_BIN_EXE_oee-api"))
        .arg("migrate")
        .env("DATABASE_URL", &env.settings.database_url)
        .env("OEE_BOOTSTRAP_ADMIN_KEY", "oee_not-a-key")
        .output()
        .expect("runs");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("OEE_BOOTSTRAP_ADMIN_KEY"));
    env.cleanup().await.expect("cleanup");
}
