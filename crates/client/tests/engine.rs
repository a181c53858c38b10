//! The client against a live engine: API replicas and a worker in process,
//! over this test's own database and Redis namespace.

use oee_client::{
    Client, Error, Event, HistoryQuery, LaunchRequest, OrderRequest, QuoteRequest, Reconnect, SocketMessage,
};
use oee_domain::{Dex, ErrorCode, OrderStatus, OrderType};
use oee_testkit::{Engine, PATIENCE};
use std::collections::HashMap;
use std::net::TcpListener;
use std::time::Duration;
use uuid::Uuid;

/// A base URL where nothing listens: connections to it are refused.
fn refusing_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

/// Reads a follow to its end, within [`PATIENCE`].
async fn to_the_end(follow: &mut oee_client::Follow) -> Vec<Event> {
    let mut events = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        while let Some(event) = follow.next().await {
            events.push(event.expect("an event"));
        }
    })
    .await
    .expect("the order finishes in time");
    events
}

/// The next event of a follow, within [`PATIENCE`].
async fn next_event(follow: &mut oee_client::Follow) -> Event {
    tokio::time::timeout(PATIENCE, follow.next()).await.expect("in time").expect("an event").expect("not an error")
}

/// Asserts `events` run `first, first + 1, …` with exactly one terminal event, last.
fn assert_complete_from(events: &[Event], first: u32) {
    let seqs: Vec<u32> = events.iter().map(|e| e.seq).collect();
    let expected: Vec<u32> = (first..first + u32::try_from(seqs.len()).expect("few")).collect();
    assert_eq!(seqs, expected, "gap or duplicate");
    assert_eq!(events.iter().filter(|e| e.is_terminal()).count(), 1, "exactly one terminal event");
    assert!(events.last().is_some_and(|e| e.is_terminal()), "the terminal event is last");
}

/// Submit, idempotent resubmit, typed refusals, get, and history paged by cursor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submits_reads_and_pages_history() {
    let engine = Engine::start().await;
    let client = engine.client();
    let user = format!("pager-{}", Uuid::now_v7().simple());

    let keyed = OrderRequest::market("SOL", "USDC", "1.5").user_id(&user).idempotency_key("key-1");
    let first = client.submit(&keyed).await.expect("accepted");
    assert_eq!((first.status, first.replayed), (OrderStatus::Pending, false));
    let again = client.submit(&keyed).await.expect("accepted again");
    assert_eq!((again.order_id, again.replayed), (first.order_id, true));
    let conflict = client.submit(&keyed.clone().slippage_bps(99)).await.expect_err("a different body");
    assert_eq!((conflict.status(), conflict.code()), (Some(409), Some(ErrorCode::IdempotencyConflict)));
    let unknown = client.submit(&OrderRequest::market("DOGE", "USDC", "1")).await.expect_err("unknown token");
    let Error::Api { status: 400, body, .. } = &unknown else { panic!("{unknown:?}") };
    assert_eq!((body.code, body.field.as_deref()), (ErrorCode::UnknownToken, Some("tokenIn")));

    let mut ids = vec![first.order_id];
    for amount in ["2", "3"] {
        ids.push(
            client.submit(&OrderRequest::market("USDC", "SOL", amount).user_id(&user)).await.expect("ok").order_id,
        );
    }
    for &id in &ids {
        assert_complete_from(&to_the_end(&mut client.follow(id)).await, 1);
    }

    let order = client.order(first.order_id).await.expect("the order");
    assert!(order.status.is_terminal());
    assert_eq!((order.user_id.as_str(), order.amount_in.as_str()), (user.as_str(), "1.5"));
    assert_eq!(order.events.last().map(|e| e.status), Some(order.status));
    let missing = client.order(Uuid::now_v7()).await.expect_err("no such order");
    assert_eq!((missing.status(), missing.code()), (Some(404), Some(ErrorCode::OrderNotFound)));

    let mut query = HistoryQuery { user_id: Some(user.clone()), limit: Some(2), ..HistoryQuery::default() };
    let mut pages = Vec::new();
    loop {
        let page = client.history(&query).await.expect("a page");
        pages.push(page.orders.iter().map(|o| o.order_id).collect::<Vec<_>>());
        match query.next_page(&page) {
            Some(next) => query = next,
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(pages, vec![ids[..2].to_vec(), ids[2..].to_vec()], "newest first, two per page");
    engine.stop().await;
}

/// Following survives a first URL that refuses connections and a replica that
/// goes away mid-stream: it moves on to the next URL and resumes from the last
/// `seq` seen, so every event arrives once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_reconnects_elsewhere_from_the_last_seq() {
    let mut engine = Engine::builder().apis(2).without_worker().start().await;
    let client = Client::builder()
        .urls([refusing_url(), engine.url(0, ""), engine.url(1, "")])
        .reconnect(Reconnect { attempts: 5, backoff: Duration::from_millis(10) })
        .build()
        .expect("client");
    let id = client.submit(&OrderRequest::market("SOL", "USDC", "1")).await.expect("accepted").order_id;

    // No worker yet: the order waits in `pending`, its only event so far.
    let mut follow = client.follow(id);
    let pending = tokio::time::timeout(PATIENCE, follow.next()).await.expect("in time").expect("an event");
    assert_eq!((pending.expect("pending").seq, follow.last_seq()), (1, 1));

    // Replica 0 goes away (closing its sockets with 1001); the order then runs.
    let stopper = engine.apis[0].stopper.clone();
    tokio::spawn(async move { stopper.stop(Duration::ZERO).await });
    engine.start_worker().await;
    let rest = to_the_end(&mut follow).await;
    assert_complete_from(&rest, 2);
    assert!(follow.is_finished());

    // Resuming from a given seq replays only what follows it.
    let replay = to_the_end(&mut client.follow_from(id, 2)).await;
    assert_complete_from(&replay, 3);
    // An unknown order is refused, not retried.
    let refused = client.follow(Uuid::now_v7()).next().await.expect("an answer").expect_err("unknown order");
    assert_eq!(refused.code(), Some(ErrorCode::OrderNotFound));
    engine.stop().await;
}

/// Several orders pipelined on one submit socket: replies in sending order,
/// then each accepted order's events, complete, tagged by order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_submit_socket_pipelines_orders() {
    let engine = Engine::start().await;
    let client = engine.client();
    let mut socket = client.submit_socket().await.expect("socket opens");
    let orders = [
        OrderRequest::market("SOL", "USDC", "1.5"),
        OrderRequest::market("USDC", "SOL", "100").idempotency_key("ws-1"),
        OrderRequest::market("DOGE", "USDC", "1"),
        OrderRequest::market("SOL", "USDT", "0.25"),
    ];
    assert_eq!(socket.send_all(&orders).await.expect("sent"), vec![0, 1, 2, 3]);

    let mut replies = Vec::new();
    let mut events: HashMap<Uuid, Vec<Event>> = HashMap::new();
    tokio::time::timeout(PATIENCE, async {
        while replies.len() < orders.len() || events.values().any(|e| !e.last().is_some_and(|e| e.is_terminal())) {
            match socket.next().await.expect("the socket stays open").expect("a message") {
                SocketMessage::Accepted { client_ref, order_id } => {
                    replies.push((client_ref, None));
                    events.entry(order_id).or_default();
                }
                SocketMessage::Rejected { client_ref, error, .. } => replies.push((client_ref, Some(error.code))),
                SocketMessage::Event(event) => {
                    assert!(events.contains_key(&event.order_id), "the reply comes before the order's events");
                    events.entry(event.order_id).or_default().push(*event);
                }
            }
        }
    })
    .await
    .expect("every order finishes in time");
    assert_eq!(replies, vec![(0, None), (1, None), (2, Some(ErrorCode::UnknownToken)), (3, None)]);
    assert_eq!(events.len(), 3);
    for order_events in events.values() {
        assert_complete_from(order_events, 1);
    }
    socket.close().await.expect("closes");
    engine.stop().await;
}

/// Against an engine that requires keys: without one every call is refused
/// with `UNAUTHENTICATED`; with one, HTTP calls and both sockets carry it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_goes_with_every_request_and_socket() {
    let engine = Engine::builder().configure(|s| s.auth = oee_runtime::AuthMode::Required).start().await;
    let store = oee_store::KeyStore::new(oee_store::pg::pool(&engine.env.settings.pg()).expect("pool"));
    let new =
        oee_store::NewKey { account: "desk".into(), scopes: oee_domain::Scopes::DEFAULT, rate: None, burst: None };
    let (_, key) = oee_api::keys::create(&store, &new).await.expect("a key");

    let anonymous = engine.client();
    let refused = anonymous.submit(&OrderRequest::market("SOL", "USDC", "1")).await.expect_err("no key");
    assert_eq!((refused.status(), refused.code()), (Some(401), Some(ErrorCode::Unauthenticated)));
    let refused = anonymous.submit_socket().await.expect_err("no key");
    assert_eq!(refused.code(), Some(ErrorCode::Unauthenticated));

    let client = Client::builder().url(engine.url(0, "")).api_key(key.as_str()).build().expect("client");
    assert!(!format!("{client:?}").contains(key.as_str()), "the key is never printed");
    let id = client.submit(&OrderRequest::market("SOL", "USDC", "1")).await.expect("accepted").order_id;
    assert_complete_from(&to_the_end(&mut client.follow(id)).await, 1);
    let socket = client.submit_socket().await.expect("the socket opens with the key");
    socket.close().await.expect("closes");
    engine.stop().await;
}

/// A quote names both venues and the route an order would take, and the order
/// placed right after (nothing else trading) gets what it said; the token
/// list holds the registry; a quote a submit would refuse is refused alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_and_tokens_are_typed() {
    let engine = Engine::start().await;
    let client = engine.client();

    let quote = client.quote(&QuoteRequest::new("sol", "usdc", "1.5").slippage_bps(50)).await.expect("a quote");
    assert_eq!((quote.token_in.as_str(), quote.token_out.as_str(), quote.amount_in.as_str()), ("SOL", "USDC", "1.5"));
    assert_eq!(quote.route.quotes.len(), 2, "both venues: {quote:?}");
    assert_eq!(quote.min_amount_out, quote.route.min_amount_out);
    let id = client.submit(&OrderRequest::market("SOL", "USDC", "1.5")).await.expect("accepted").order_id;
    let events = to_the_end(&mut client.follow(id)).await;
    assert_eq!(events.last().and_then(|e| e.amount_out.clone()), Some(quote.amount_out.clone()), "as quoted");

    let list = client.tokens().await.expect("the tokens");
    assert!(list.tokens.iter().any(|t| t.symbol == "USDC" && t.decimals == 6), "{list:?}");
    assert!(list.pairs.iter().any(|p| p.token_in == "SOL" && p.token_out == "USDC" && p.venues.len() == 2), "{list:?}");

    let refused = client.quote(&QuoteRequest::new("DOGE", "USDC", "1")).await.expect_err("unknown token");
    assert_eq!((refused.status(), refused.code()), (Some(400), Some(ErrorCode::UnknownToken)));
    engine.stop().await;
}

/// The operations an admin key has: the queue, the last minutes' activity
/// (the order just made is in it), and an outside trade that moves the quote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_are_typed() {
    let engine = Engine::start().await;
    let client = engine.client();
    let id = client.submit(&OrderRequest::market("SOL", "USDC", "1")).await.expect("accepted").order_id;
    to_the_end(&mut client.follow(id)).await;

    let stats = client.queue_stats().await.expect("queue stats");
    assert_eq!(stats.lag, 0, "{stats:?}");
    let activity = client.activity(1).await.expect("activity");
    assert_eq!((activity.bucket_seconds, activity.buckets.len()), (1, 60));
    assert_eq!(activity.buckets.iter().map(|b| b.confirmed).sum::<u64>(), 1, "{activity:?}");
    let refused = client.activity(0).await.expect_err("out of range");
    assert_eq!(refused.code(), Some(ErrorCode::InvalidParameter));

    let before = client.quote(&QuoteRequest::new("SOL", "USDC", "1")).await.expect("a quote");
    let trade = oee_client::SimTradeRequest {
        token_in: "SOL".into(),
        token_out: "USDC".into(),
        venue: before.route.legs[0].dex,
        amount_in: "3000".into(),
    };
    let done = client.sim_trade(&trade).await.expect("the trade lands");
    assert!(done.slot >= 1, "{done:?}");
    let moved = tokio::time::timeout(PATIENCE, async {
        loop {
            let now = client.quote(&QuoteRequest::new("SOL", "USDC", "1")).await.expect("a quote");
            if now.slot >= done.slot {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the quote sees the trade");
    assert_ne!(moved.route.quotes, before.route.quotes, "the pool moved");
    engine.stop().await;
}

/// A limit order far from the market rests `open` with its minimum; cancelling
/// it returns it `cancelled`; a second cancel is refused as `NOT_CANCELLABLE`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_order_rests_and_is_cancelled() {
    let engine = Engine::start().await;
    let client = engine.client();
    let expires = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    let order = OrderRequest::limit("SOL", "USDC", "1.5", "100000").expires_at(expires);
    let id = client.submit(&order).await.expect("accepted").order_id;
    let mut follow = client.follow(id);
    let pending = tokio::time::timeout(PATIENCE, follow.next()).await.expect("in time").expect("an event");
    assert_eq!(pending.expect("pending").status, OrderStatus::Pending);
    let open = tokio::time::timeout(PATIENCE, follow.next()).await.expect("in time").expect("an event");
    let open = open.expect("open");
    assert_eq!(open.status, OrderStatus::Open);
    assert_eq!(open.min_amount_out.as_deref(), Some("150000"));
    let read = client.order(id).await.expect("the order");
    assert_eq!((read.slippage_bps, read.limit_price.as_deref()), (None, Some("100000")));
    assert_eq!(read.expires_at.map(|at| at.timestamp_millis()), Some(expires.timestamp_millis()));

    let cancelled = client.cancel(id).await.expect("cancelled");
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    let events = to_the_end(&mut follow).await;
    assert_eq!(events.last().map(|e| e.status), Some(OrderStatus::Cancelled));
    let again = client.cancel(id).await.expect_err("not open any more");
    assert_eq!((again.status(), again.code()), (Some(409), Some(ErrorCode::NotCancellable)));
    engine.stop().await;
}

/// A sniper for a token nobody has launched rests `open` with its cap and no
/// minimum; the launch made through the client lists the token, and the
/// sniper fires on the launch's own slot and confirms; the launch list
/// names it, and the same symbol cannot be launched twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sniper_confirms_on_a_launch_made_through_the_client() {
    let engine = Engine::start().await;
    let client = engine.client();
    let order = OrderRequest::sniper("SOL", "pepe", "1").max_price("0.000001").min_liquidity("100");
    let id = client.submit(&order).await.expect("accepted").order_id;
    let mut follow = client.follow(id);
    assert_eq!(next_event(&mut follow).await.status, OrderStatus::Pending);
    let open = next_event(&mut follow).await;
    assert_eq!(
        (open.status, open.max_price.as_deref(), open.min_amount_out.as_deref()),
        (OrderStatus::Open, Some("0.000001"), None)
    );
    assert!(open.expires_at.is_some(), "{open:?}");
    let read = client.order(id).await.expect("the order");
    assert_eq!((read.order_type, read.token_out.as_str(), read.slippage_bps), (OrderType::Sniper, "PEPE", Some(50)));
    assert_eq!((read.max_price.as_deref(), read.min_liquidity.as_deref()), (Some("0.000001"), Some("100")));

    let launch = LaunchRequest::new("PEPE", 6, "SOL", Dex::Raydium, "1000000000", "500");
    let launched = client.launch(&launch).await.expect("launched");
    assert_eq!(launched.symbol, "PEPE");
    let events = to_the_end(&mut follow).await;
    let statuses: Vec<OrderStatus> = events.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [OrderStatus::Routing, OrderStatus::Building, OrderStatus::Submitted, OrderStatus::Confirmed]);
    assert_eq!(events[0].trigger.as_ref().map(|t| t.slot), Some(launched.slot), "fired on the launch's slot");
    assert!(events.last().and_then(|e| e.amount_out.as_deref()).is_some_and(|out| out.parse::<f64>().is_ok()));

    // The list is the API's, as of its pools' latest refresh.
    let launches = tokio::time::timeout(PATIENCE, async {
        loop {
            let launches = client.launches().await.expect("the launches");
            if !launches.is_empty() {
                return launches;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the launch is listed in time");
    assert_eq!(launches.len(), 1, "{launches:?}");
    let listed = &launches[0];
    assert_eq!(
        (listed.mint.as_str(), listed.pool.as_str(), listed.slot),
        (launched.mint.as_str(), launched.pool.as_str(), launched.slot)
    );
    assert_eq!((listed.decimals, listed.venue, listed.open_at), (6, Some(Dex::Raydium), None));
    // SOL and WSOL share a mint, and the list names the pair by its mint.
    assert!(["SOL", "WSOL"].contains(&listed.quote_token.as_str()), "{listed:?}");
    let again = client.launch(&launch).await.expect_err("listed already");
    assert_eq!((again.status(), again.code()), (Some(409), Some(ErrorCode::TokenExists)));
    let refused = client.submit(&OrderRequest::sniper("SOL", "PEPE", "1").max_price("0")).await;
    let refused = refused.expect_err("a zero cap");
    let Error::Api { status: 400, body, .. } = &refused else { panic!("{refused:?}") };
    assert_eq!((body.code, body.field.as_deref()), (ErrorCode::InvalidPrice, Some("maxPrice")));
    engine.stop().await;
}
