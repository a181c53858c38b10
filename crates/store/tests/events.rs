//! Recording status events: one at a time, in batches, and through the group-commit writer.

use chrono::Utc;
use oee_domain::{Channel, EventDetail, StatusEvent, TokenRegistry, parse_order};
use oee_store::{EventWriter, OrderStore};
use oee_testkit::TestEnv;
use uuid::Uuid;

async fn store(env: &TestEnv) -> OrderStore {
    OrderStore::new(oee_store::pg::pool(&env.settings.pg()).expect("pool"))
}

async fn new_order(orders: &OrderStore) -> Uuid {
    let body = br#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#;
    let spec = parse_order(body, &TokenRegistry::default(), Channel::Http).expect("valid").spec;
    let id = Uuid::now_v7();
    orders.insert(id, &spec, None, Utc::now()).await.expect("insert");
    id
}

fn routing(id: Uuid, seq: u32) -> StatusEvent {
    StatusEvent::new(id, seq, Utc::now(), EventDetail::Routing { attempt: 1, last_error: None })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_records_each_event_under_its_own_guard() {
    let env = TestEnv::new().await.expect("env");
    let orders = store(&env).await;
    let (a, b, c) = (new_order(&orders).await, new_order(&orders).await, new_order(&orders).await);
    let good_a = routing(a, 2);
    let stale_b = routing(b, 3); // b's next seq is 2: refused
    let illegal_c = StatusEvent::new(
        c,
        2,
        Utc::now(),
        EventDetail::Submitted { attempt: 1, tx_hash: "x".into(), instructions: Vec::new() },
    ); // pending cannot move to submitted: refused
    let (ja, jb, jc) = (good_a.to_json(), stale_b.to_json(), illegal_c.to_json());
    let recorded =
        orders.record_many(&[(&good_a, ja.as_str()), (&stale_b, jb.as_str()), (&illegal_c, jc.as_str())]).await;
    assert_eq!(recorded.expect("batch"), [true, false, false]);
    let a_row = orders.get(a).await.expect("get").expect("a");
    assert_eq!((a_row.last_seq, a_row.status.as_str(), a_row.attempts), (2, "routing", 1));
    for id in [b, c] {
        let row = orders.get(id).await.expect("get").expect("row");
        assert_eq!((row.last_seq, row.status.as_str()), (1, "pending"), "a refused event changes nothing");
        assert_eq!(orders.events_after(id, 0).await.expect("events").len(), 1);
    }
    assert_eq!(orders.events_after(a, 1).await.expect("events"), [ja]);
    env.cleanup().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_shares_commits_and_answers_each_caller() {
    let env = TestEnv::new().await.expect("env");
    let orders = store(&env).await;
    let writer = EventWriter::start(orders.clone(), 2);
    let mut ids = Vec::new();
    for _ in 0..200 {
        ids.push(new_order(&orders).await);
    }
    // Each order races two writers for seq 2: exactly one wins, whichever batch it is in.
    let mut tasks = tokio::task::JoinSet::new();
    for id in &ids {
        for _ in 0..2 {
            let (writer, id) = (writer.clone(), *id);
            tasks.spawn(async move {
                let event = routing(id, 2);
                let json = event.to_json();
                let (recorded, back) = writer.record(event, json.clone()).await;
                assert_eq!(back, json, "the JSON comes back for publishing");
                (id, recorded.expect("recorded or refused"))
            });
        }
    }
    let mut wins = std::collections::HashMap::<Uuid, usize>::new();
    while let Some(done) = tasks.join_next().await {
        let (id, won) = done.expect("task");
        *wins.entry(id).or_default() += usize::from(won);
    }
    assert!(wins.values().all(|w| *w == 1), "one writer per order wins: {wins:?}");
    let db = env.db().await.expect("db");
    let events: i64 = db.query_one("SELECT count(*) FROM order_events WHERE seq = 2", &[]).await.expect("count").get(0);
    assert_eq!(events, 200);
    env.cleanup().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_whose_predecessor_is_in_the_same_batch_is_refused() {
    let env = TestEnv::new().await.expect("env");
    let orders = store(&env).await;
    let id = new_order(&orders).await;
    let second = routing(id, 2);
    let third = StatusEvent::new(id, 3, Utc::now(), EventDetail::Routing { attempt: 2, last_error: None });
    let (j2, j3) = (second.to_json(), third.to_json());
    // seq 3 cannot ride on seq 2's guard: it needs last_seq = 2 *before* the statement.
    let recorded = orders.record_many(&[(&second, j2.as_str()), (&third, j3.as_str())]).await.expect("batch");
    assert_eq!(recorded, [true, false]);
    assert_eq!(orders.events_after(id, 0).await.expect("events").len(), 2, "pending and routing only");
    env.cleanup().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_writer_stores_each_order_with_its_pending_event() {
    let env = TestEnv::new().await.expect("env");
    let orders = store(&env).await;
    let writer = oee_store::OrderWriter::start(orders.clone(), 2);
    let body = br#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"0.25"}"#;
    let spec = parse_order(body, &TokenRegistry::default(), Channel::Http).expect("valid").spec;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..300 {
        let (writer, spec) = (writer.clone(), spec.clone());
        tasks.spawn(async move {
            let id = Uuid::now_v7();
            writer.insert(oee_store::NewOrder { id, spec, at: Utc::now() }).await.expect("stored");
            id
        });
    }
    let mut ids = Vec::new();
    while let Some(id) = tasks.join_next().await {
        ids.push(id.expect("task"));
    }
    for id in ids {
        let order = orders.get(id).await.expect("get").expect("stored before the answer");
        assert_eq!((order.status.as_str(), order.last_seq, order.amount_in), ("pending", 1, 250_000_000));
        let events = orders.events_after(id, 0).await.expect("events");
        assert_eq!(events.len(), 1);
        assert!(events[0].contains(r#""status":"pending""#), "{}", events[0]);
    }
    env.cleanup().await.expect("cleanup");
}
