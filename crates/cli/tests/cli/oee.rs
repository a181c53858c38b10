//! The `oee` binary against a live engine (in process, requiring API keys),
//! as a script would run it: its output piped, its exit code checked.

use oee_client::HistoryQuery;
use oee_domain::{OrderStatus, Scope, Scopes};
use oee_testkit::Engine;
use serde_json::Value;
use std::net::TcpListener;
use std::process::Command;
use uuid::Uuid;

/// The exit codes `oee --help` documents.
mod code {
    pub const DONE: i32 = 0;
    pub const USAGE: i32 = 2;
    pub const FAILED: i32 = 3;
    pub const REJECTED: i32 = 4;
    pub const UNAUTHORIZED: i32 = 5;
    pub const UNAVAILABLE: i32 = 6;
    pub const UNFILLED: i32 = 7;
}

/// How one run of `oee` ended.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    fn json_lines(&self) -> Vec<Value> {
        self.stdout.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect()
    }

    #[track_caller]
    fn assert_code(&self, code: i32) {
        assert_eq!(self.code, Some(code), "{self:#?}");
    }
}

/// Runs `oee --url URL [args]` with `OEE_API_KEY` set to `key`, if any, and
/// nothing else from this process's environment that `oee` reads.
async fn oee(url: &str, key: Option<&str>, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_oee"));
    command.arg("--url").arg(url).args(args).env_remove("OEE_URL").env_remove("NO_COLOR");
    match key {
        Some(key) => command.env("OEE_API_KEY", key),
        None => command.env_remove("OEE_API_KEY"),
    };
    let output = tokio::task::spawn_blocking(move || command.output().expect("oee runs")).await.expect("join");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8"),
    }
}

/// An engine that requires API keys (the default outside tests), and a key
/// with the default scopes (trade, read).
async fn engine() -> (Engine, String, String) {
    let engine = Engine::builder().configure(|s| s.auth = oee_runtime::AuthMode::Required).start().await;
    let key = key(&engine, Scopes::DEFAULT).await;
    let url = engine.url(0, "");
    (engine, url, key)
}

/// A new key of the desk's account with `scopes`.
async fn key(engine: &Engine, scopes: Scopes) -> String {
    let store = oee_store::KeyStore::new(oee_store::pg::pool(&engine.env.settings.pg()).expect("pool"));
    let new = oee_store::NewKey { account: "desk".into(), scopes, rate: None, burst: None };
    let (_, key) = oee_api::keys::create(&store, &new).await.expect("a key");
    key.as_str().to_owned()
}

/// The first word of each line: the statuses of a trade's timeline.
fn statuses<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    lines.iter().map(|line| line.split_whitespace().next().unwrap_or_default()).collect()
}

/// `oee trade 1.5 SOL USDC --slippage 0.5%` prints the accepted order, then one
/// plain line per status in order, each with its detail, and exits 0 on
/// `confirmed`; the order went in with 50 bps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trade_prints_one_line_per_status_and_exits_0_when_confirmed() {
    let (engine, url, key) = engine().await;

    let run = oee(&url, Some(&key), &["trade", "1.5", "SOL", "USDC", "--slippage", "0.5%", "--user", "cli-1"]).await;
    run.assert_code(code::DONE);
    assert!(!run.stdout.contains('\x1b'), "no colour when piped: {:?}", run.stdout);
    let lines = run.lines();
    let headline = lines[0];
    assert!(
        headline.starts_with("order ") && headline.ends_with("accepted: 1.5 SOL → USDC, slippage 50 bps"),
        "{headline}"
    );
    assert_eq!(statuses(&lines[1..]), ["pending", "routing", "building", "submitted", "confirmed"], "{lines:#?}");
    assert!(lines[2].contains("attempt 1") && lines[2].contains("ms"), "a step's time: {}", lines[2]);
    assert!(lines[3].contains(" SOL → ") && lines[3].contains("min out") && lines[3].contains("USDC"), "{}", lines[3]);
    assert!(lines[4].contains("tx "), "{}", lines[4]);
    assert!(lines[5].contains("USDC at ") && lines[5].contains(" on "), "{}", lines[5]);

    let id: Uuid = headline.split_whitespace().nth(1).and_then(|id| id.parse().ok()).expect("the order id");
    let order = oee_client::Client::builder().url(&url).api_key(&key).build().expect("client").order(id).await;
    let order = order.expect("the order");
    assert_eq!((order.slippage_bps, order.user_id.as_str()), (Some(50), "cli-1"));
    assert!(lines[5].contains(order.amount_out.as_deref().expect("amount out")), "{}", lines[5]);
    engine.stop().await;
}

/// `--json` prints the accepted reply, then the order's events exactly as the
/// engine sent them: one JSON object per line, gapless, ending in the
/// terminal event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trade_in_json_prints_the_reply_then_every_event() {
    let (engine, url, key) = engine().await;

    let run = oee(&url, Some(&key), &["trade", "2", "usdc", "sol", "--slippage-bps", "75", "--json"]).await;
    run.assert_code(code::DONE);
    let lines = run.json_lines();
    let accepted = &lines[0];
    assert_eq!(accepted["status"], "pending", "{accepted}");
    let id = accepted["orderId"].as_str().expect("orderId");
    assert!(lines[1..].iter().all(|event| event["orderId"] == id), "{lines:?}");
    oee_testkit::assert_gapless_from(&lines[1..], 1);
    assert_eq!(lines.last().expect("terminal")["status"], "confirmed");

    // The older form, a whole body, is still a trade; `submit` and `follow` are unchanged.
    let body = r#"{"tokenIn":"SOL","tokenOut":"USDT","amountIn":"0.25"}"#;
    let legacy = oee(&url, Some(&key), &["trade", body]).await;
    legacy.assert_code(code::DONE);
    assert_eq!(statuses(&legacy.lines()[1..]).last(), Some(&"confirmed"), "{legacy:#?}");
    let submitted = oee(&url, Some(&key), &["submit", body, "--idempotency-key", "cli-k"]).await;
    submitted.assert_code(code::DONE);
    let id = submitted.json_lines()[0]["orderId"].as_str().expect("orderId").to_owned();
    let followed = oee(&url, Some(&key), &["follow", &id]).await;
    followed.assert_code(code::DONE);
    oee_testkit::assert_gapless_from(&followed.json_lines(), 1);
    engine.stop().await;
}

/// Each way a trade can go wrong has its exit code: an order that ends
/// `failed` 3, a refused one 4 with the error code, no key 5, nobody
/// listening 6, a bare slippage number 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_way_a_trade_goes_wrong_has_its_exit_code() {
    let (engine, url, key) = engine().await;

    // One atom of BONK buys less than one lamport on either venue.
    let failed = oee(&url, Some(&key), &["trade", "0.00001", "BONK", "SOL"]).await;
    failed.assert_code(code::FAILED);
    let lines = failed.lines();
    assert_eq!(statuses(&lines[1..]), ["pending", "routing", "failed"], "{lines:#?}");
    assert!(lines[3].contains("INSUFFICIENT_LIQUIDITY"), "{}", lines[3]);
    let failed_json = oee(&url, Some(&key), &["trade", "0.00001", "BONK", "SOL", "--json"]).await;
    failed_json.assert_code(code::FAILED);

    let unknown = oee(&url, Some(&key), &["trade", "1", "DOGE", "USDC"]).await;
    unknown.assert_code(code::REJECTED);
    assert!(unknown.stderr.contains("UNKNOWN_TOKEN"), "{unknown:#?}");
    assert!(unknown.stdout.is_empty(), "nothing was accepted: {unknown:#?}");

    let anonymous = oee(&url, None, &["trade", "1.5", "SOL", "USDC"]).await;
    anonymous.assert_code(code::UNAUTHORIZED);
    assert!(anonymous.stderr.contains("UNAUTHENTICATED") && anonymous.stderr.contains("OEE_API_KEY"), "{anonymous:#?}");
    let wrong = oee(&url, Some("oee_not-a-key"), &["orders"]).await;
    wrong.assert_code(code::UNAUTHORIZED);
    assert!(!wrong.stderr.contains("oee_not-a-key"), "the key is never printed: {wrong:#?}");

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let nobody = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let unreachable = oee(&nobody, Some(&key), &["trade", "1.5", "SOL", "USDC"]).await;
    unreachable.assert_code(code::UNAVAILABLE);
    assert!(unreachable.stderr.contains("connection refused"), "{unreachable:#?}");

    let bare = oee(&url, Some(&key), &["trade", "1.5", "SOL", "USDC", "--slippage", "0.5"]).await;
    bare.assert_code(code::USAGE);
    assert!(bare.stderr.contains("`0.5%`") && bare.stderr.contains("`50bps`"), "{bare:#?}");
    engine.stop().await;
}

/// `oee orders` lists the account's orders newest first (a table, or the page
/// as JSON), filtered by user and status; `oee order ID` shows one with its
/// timeline, and an unknown id is refused with exit 4.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_and_order_read_the_history() {
    let (engine, url, key) = engine().await;
    let mut ids = Vec::new();
    for (amount, token_in, token_out) in [("1.5", "SOL", "USDC"), ("0.00001", "BONK", "SOL")] {
        let run = oee(&url, Some(&key), &["trade", amount, token_in, token_out, "--user", "hist", "--json"]).await;
        ids.push(run.json_lines()[0]["orderId"].as_str().expect("orderId").to_owned());
    }

    let table = oee(&url, Some(&key), &["orders", "--user", "hist"]).await;
    table.assert_code(code::DONE);
    let lines = table.lines();
    assert_eq!(lines.len(), 3, "a header and two orders: {lines:#?}");
    assert!(lines[1].contains(&ids[1]) && lines[1].contains("failed") && lines[1].contains("INSUFFICIENT_LIQUIDITY"));
    assert!(lines[2].contains(&ids[0]) && lines[2].contains("confirmed") && lines[2].contains("1.5 SOL"));

    let page = oee(&url, Some(&key), &["orders", "--status", "confirmed", "--limit", "5", "--json"]).await;
    page.assert_code(code::DONE);
    let page = &page.json_lines()[0];
    let listed: Vec<&str> =
        page["orders"].as_array().expect("orders").iter().filter_map(|o| o["orderId"].as_str()).collect();
    assert_eq!(listed, [ids[0].as_str()]);
    let bad_status = oee(&url, Some(&key), &["orders", "--status", "done"]).await;
    bad_status.assert_code(code::USAGE);

    let order = oee(&url, Some(&key), &["order", &ids[0]]).await;
    order.assert_code(code::DONE);
    assert!(order.stdout.contains("received") && order.stdout.contains("USDC at "), "{order:#?}");
    let timeline: Vec<&str> = order.lines().into_iter().skip_while(|line| !line.is_empty()).skip(1).collect();
    assert_eq!(statuses(&timeline), ["pending", "routing", "building", "submitted", "confirmed"], "{order:#?}");
    let json = oee(&url, Some(&key), &["order", &ids[0], "--json"]).await;
    let json = &json.json_lines()[0];
    assert_eq!((json["orderId"].as_str(), json["status"].as_str()), (Some(ids[0].as_str()), Some("confirmed")));
    oee_testkit::assert_gapless_from(json["events"].as_array().expect("events"), 1);

    let missing = oee(&url, Some(&key), &["order", &Uuid::now_v7().to_string()]).await;
    missing.assert_code(code::REJECTED);
    assert!(missing.stderr.contains("ORDER_NOT_FOUND"), "{missing:#?}");
    engine.stop().await;
}

/// `oee cancel ID` cancels an open limit order and prints it; an order that is
/// not open is refused with NOT_CANCELLABLE (exit 4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_cancels_an_open_order_once() {
    let (engine, url, key) = engine().await;
    let client = oee_client::Client::builder().url(&url).api_key(&key).build().expect("a client");
    let id =
        client.submit(&oee_client::OrderRequest::limit("SOL", "USDC", "1", "100000")).await.expect("accepted").order_id;
    let deadline = std::time::Instant::now() + oee_testkit::PATIENCE;
    while client.order(id).await.expect("order").status != oee_domain::OrderStatus::Open {
        assert!(std::time::Instant::now() < deadline, "never opened");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let run = oee(&url, Some(&key), &["cancel", &id.to_string()]).await;
    run.assert_code(code::DONE);
    assert!(run.stdout.contains("cancelled") && run.stdout.contains("at least 100000 USDC"), "{run:#?}");
    let timeline: Vec<&str> = run.lines().into_iter().skip_while(|line| !line.is_empty()).skip(1).collect();
    assert_eq!(statuses(&timeline), ["pending", "open", "cancelled"], "{run:#?}");
    let again = oee(&url, Some(&key), &["cancel", &id.to_string()]).await;
    again.assert_code(code::REJECTED);
    assert!(again.stderr.contains("NOT_CANCELLABLE"), "{again:#?}");
    engine.stop().await;
}

/// `oee tokens` lists the registry and the pairs each venue lists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_lists_what_the_engine_trades() {
    let (engine, url, key) = engine().await;

    let table = oee(&url, Some(&key), &["tokens"]).await;
    table.assert_code(code::DONE);
    assert!(table.lines()[0].starts_with("symbol"), "{table:#?}");
    assert!(table.stdout.contains("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"), "USDC's mint: {table:#?}");
    assert!(table.lines().iter().any(|l| l.starts_with("SOL ⇄ USDC") && l.contains("meteora")), "{table:#?}");

    let json = oee(&url, Some(&key), &["tokens", "--json"]).await;
    json.assert_code(code::DONE);
    let list = &json.json_lines()[0];
    let symbols: Vec<&str> =
        list["tokens"].as_array().expect("tokens").iter().filter_map(|t| t["symbol"].as_str()).collect();
    assert!(["SOL", "USDC", "USDT", "BONK", "JUP", "RAY"].iter().all(|s| symbols.contains(s)), "{symbols:?}");
    assert!(!list["pairs"].as_array().expect("pairs").is_empty());
    engine.stop().await;
}

/// `oee quote` shows both venues' quotes and the route the engine would take,
/// what it would return and the least an order would accept; `--json` is the
/// engine's answer; a quote a submit would refuse is refused alike (exit 4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quote_shows_the_route_the_engine_would_take() {
    let (engine, url, key) = engine().await;

    let json = oee(&url, Some(&key), &["quote", "1.5", "SOL", "USDC", "--slippage", "0.5%", "--json"]).await;
    json.assert_code(code::DONE);
    let quote = &json.json_lines()[0];
    assert_eq!((quote["tokenIn"].as_str(), quote["amountIn"].as_str()), (Some("SOL"), Some("1.5")), "{quote}");
    let venues: Vec<&str> =
        quote["route"]["quotes"].as_array().expect("quotes").iter().filter_map(|q| q["dex"].as_str()).collect();
    assert!(venues.contains(&"meteora") && venues.contains(&"raydium"), "both venues: {quote}");
    let (out, min) = (quote["amountOut"].as_str().expect("amountOut"), quote["minAmountOut"].as_str().expect("min"));

    let table = oee(&url, Some(&key), &["quote", "1.5", "SOL", "USDC", "--slippage", "0.5%"]).await;
    table.assert_code(code::DONE);
    assert!(table.lines()[0].starts_with("1.5 SOL → USDC at slot "), "{table:#?}");
    assert!(table.stdout.contains("meteora") && table.stdout.contains("raydium"), "{table:#?}");
    let field = |label: &str| table.lines().into_iter().find(|l| l.starts_with(label)).unwrap_or_default().to_owned();
    // Instant venues and no other trades: the pools are where they were.
    assert!(field("expected out").contains(out), "{table:#?}");
    assert!(field("minimum out").contains(min) && field("minimum out").contains("50 bps"), "{table:#?}");

    let unknown = oee(&url, Some(&key), &["quote", "1", "DOGE", "USDC"]).await;
    unknown.assert_code(code::REJECTED);
    assert!(unknown.stderr.contains("UNKNOWN_TOKEN"), "{unknown:#?}");
    engine.stop().await;
}

/// `oee snipe` rests `open` with its cap and expiry until `oee launch` (an
/// admin key) lists its token, then fires on the launch's slot and follows
/// the order to `confirmed` (exit 0); `oee launches` lists the launch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snipe_fires_on_a_launch_and_launches_lists_it() {
    let (engine, url, key) = engine().await;
    let admin = self::key(&engine, Scopes::new([Scope::Admin])).await;
    let client = oee_client::Client::builder().url(&url).api_key(&key).build().expect("a client");

    let (snipe_url, snipe_key) = (url.clone(), key.clone());
    let snipe = tokio::spawn(async move {
        let args =
            ["snipe", "1", "SOL", "pepe", "--max-price", "0.000001", "--min-liquidity", "100", "--slippage", "1%"];
        oee(&snipe_url, Some(&snipe_key), &args).await
    });
    let open = HistoryQuery { status: Some(OrderStatus::Open), ..HistoryQuery::default() };
    let deadline = std::time::Instant::now() + oee_testkit::PATIENCE;
    while client.history(&open).await.expect("history").orders.is_empty() {
        assert!(std::time::Instant::now() < deadline, "the snipe never opened");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut launch = vec!["launch", "PEPE", "--decimals", "6", "--quote", "SOL", "--venue", "raydium"];
    launch.extend(["--base", "1000000000", "--quote-amount", "500", "--json"]);
    let trader = oee(&url, Some(&key), &launch).await;
    trader.assert_code(code::UNAUTHORIZED);
    assert!(trader.stderr.contains("FORBIDDEN"), "{trader:#?}");
    let launched = oee(&url, Some(&admin), &launch).await;
    launched.assert_code(code::DONE);
    let launched = &launched.json_lines()[0];
    let slot = launched["slot"].as_u64().expect("slot");

    let run = snipe.await.expect("the snipe runs");
    run.assert_code(code::DONE);
    let lines = run.lines();
    assert!(
        lines[0].ends_with(
            "accepted: snipe PEPE with 1 SOL, max price 0.000001 SOL per PEPE, min liquidity 100 SOL, slippage 100 bps"
        ),
        "{}",
        lines[0]
    );
    assert_eq!(
        statuses(&lines[1..]),
        ["pending", "open", "routing", "building", "submitted", "confirmed"],
        "{lines:#?}"
    );
    assert!(lines[2].contains("max price 0.000001 SOL per PEPE, until "), "{}", lines[2]);
    assert!(lines[3].contains(" PEPE per SOL ") && lines[3].ends_with(&format!("(slot {slot})")), "{}", lines[3]);
    assert!(lines[6].contains(" PEPE at ") && lines[6].contains("on raydium"), "{}", lines[6]);

    let again = oee(&url, Some(&admin), &launch).await;
    again.assert_code(code::REJECTED);
    assert!(again.stderr.contains("TOKEN_EXISTS"), "{again:#?}");
    // The API lists launches as of its pools' latest refresh (every 250 ms).
    while client.launches().await.expect("launches").is_empty() {
        assert!(std::time::Instant::now() < deadline, "the launch is never listed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let table = oee(&url, Some(&key), &["launches"]).await;
    table.assert_code(code::DONE);
    let lines = table.lines();
    assert_eq!(lines.len(), 2, "a header and the launch: {lines:#?}");
    assert!(lines[1].contains("PEPE") && lines[1].contains("raydium") && lines[1].contains("at once"), "{lines:#?}");
    assert!(lines[1].contains(launched["mint"].as_str().expect("mint")), "{lines:#?}");
    let json = oee(&url, Some(&key), &["launches", "--json"]).await;
    let listed = &json.json_lines()[0]["launches"];
    assert_eq!((listed[0]["pool"].as_str(), listed[0]["slot"].as_u64()), (launched["pool"].as_str(), Some(slot)));

    let id = run.lines()[0].split_whitespace().nth(1).expect("the order id").to_owned();
    let order = oee(&url, Some(&key), &["order", &id]).await;
    assert!(order.stdout.contains("at most 0.000001 SOL per PEPE") && order.stdout.contains("100 SOL"), "{order:#?}");
    engine.stop().await;
}

/// A snipe that expires unfilled exits 7 after its `expired` line; a bad cap
/// is refused by the engine (exit 4), a bad time by the command line (exit 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snipe_that_expires_exits_7() {
    let (engine, url, key) = engine().await;
    let expired = oee(&url, Some(&key), &["snipe", "1", "SOL", "NOPE", "--expires-at", "+1s"]).await;
    expired.assert_code(code::UNFILLED);
    let lines = expired.lines();
    assert_eq!(statuses(&lines[1..]), ["pending", "open", "expired"], "{lines:#?}");
    assert!(lines[1..].iter().all(|line| !line.contains("max price")), "no cap given: {lines:#?}");
    let json = oee(&url, Some(&key), &["snipe", "1", "SOL", "NOPE", "--expires-at", "+1s", "--json"]).await;
    json.assert_code(code::UNFILLED);
    assert_eq!(json.json_lines().last().expect("terminal")["status"], "expired");

    let cap = oee(&url, Some(&key), &["snipe", "1", "SOL", "NOPE", "--max-price", "0"]).await;
    cap.assert_code(code::REJECTED);
    assert!(cap.stderr.contains("INVALID_PRICE"), "{cap:#?}");
    let when = oee(&url, Some(&key), &["snipe", "1", "SOL", "NOPE", "--expires-at", "tomorrow"]).await;
    when.assert_code(code::USAGE);
    assert!(when.stderr.contains("RFC 3339"), "{when:#?}");
    engine.stop().await;
}
