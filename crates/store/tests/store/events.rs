//! Recording status events: one at a time, in batches, and through the group-commit writer.

use chrono::Utc;
use oee_domain::{Channel, EventDetail, RecordedEvent, StatusEvent, TokenRegistry, parse_order};
use oee_store::{EventWriter, NewOrder, OrderStore};
use oee_testkit::TestEnv;
use uuid::Uuid;

async fn store(env: &TestEnv) -> OrderStore {
    OrderStore::new(oee_store::pg::pool(&env.settings.pg()).expect("pool"))
}

async fn new_order(orders: &OrderStore) -> Uuid {
    let body = br#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#;
    let spec = parse_order(body, &TokenRegistry::default(), Channel::Http).expect("valid").spec;
    let id = Uuid::now_v7();
    orders
        .insert(&NewOrder { id, account: "anonymous".into(), spec, at: Utc::now(), expires_at: None }, None)
        .await
        .expect("insert");
    id
}

fn routing(id: Uuid, seq: u32) -> StatusEvent {
    StatusEvent::new(id, seq, Utc::now(), EventDetail::Routing { attempt: 1, last_error: None, trigger: None })
}

/// Runs `write` twice per order, all at once; how many of each order's two won.
async fn race_two_writers<F, W>(ids: &[Uuid], write: W) -> std::collections::HashMap<Uuid, usize>
where
    W: Fn(Uuid) -> F,
    F: std::future::Future<Output = bool> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for id in ids {
        for _ in 0..2 {
            let (id, attempt) = (*id, write(*id));
            tasks.spawn(async move { (id, attempt.await) });
        }
    }
    let mut wins = std::collections::HashMap::new();
    while let Some(done) = tasks.join_next().await {
        let (id, won) = done.expect("task");
        *wins.entry(id).or_default() += usize::from(won);
    }
    wins
}

fn with_json(event: StatusEvent) -> RecordedEvent {
    RecordedEvent::new(event)
}

fn route_record() -> oee_domain::RouteRecord {
    oee_domain::RouteRecord {
        dex: "raydium".into(),
        legs: Vec::new(),
        quotes: Vec::new(),
        min_amount_out: "1".into(),
        wrap_sol: false,
        unwrap_sol: false,
        reason: "test".into(),
    }
}

/// routing → building → submitted of attempt 1, from `seq`.
fn attempt_run(id: Uuid, seq: u32) -> Vec<RecordedEvent> {
    let at = Utc::now();
    vec![
        with_json(routing(id, seq)),
        with_json(StatusEvent::new(
            id,
            seq + 1,
            at,
            EventDetail::Building { attempt: 1, route: Box::new(route_record()) },
        )),
        with_json(StatusEvent::new(
            id,
            seq + 2,
            at,
            EventDetail::Submitted { attempt: 1, tx_hash: format!("tx-{id}"), instructions: Vec::new() },
        )),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_recorded_whole_and_leaves_the_row_as_its_last_event() {
    let env = TestEnv::new().await.expect("env");
    let orders = store(&env).await;
    let (a, b) = (new_order(&orders).await, new_order(&orders).await);
    let run = attempt_run(a, 2);
    let stale = attempt_run(b, 3); // b's next seq is 2: the whole run is refused
    assert_eq!(orders.record_many(&[&run, &stale]).await.expect("batch"), [true, false]);

    let row = orders.get(a).await.expect("get").expect("a");
    assert_eq!((row.status.as_str(), row.last_seq, row.attempts), ("submitted", 4, 1));
    assert_eq!(row.tx_hash.as_deref(), Some(format!("tx-{a}").as_str()), "set by the run's last event");
    assert_eq!(row.route.as_ref().map(|r| r.dex.as_str()), Some("raydium"), "set by its middle event");
    let logged = orders.events_after(a, 1).await.expect("events");
    let sent: Vec<String> = run.into_iter().map(|r| r.json).collect();
    assert_eq!(logged, sent, "every event of the run, in order, byte for byte");

    let row = orders.get(b).await.expect("get").expect("b");
    assert_eq!((row.status.as_str(), row.last_seq), ("pending", 1), "a refused run changes nothing");
    assert_eq!(orders.events_after(b, 1).await.expect("events"), Vec::<String>::new());
    env.cleanup().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_is_not_consecutive_or_legal_is_refused_without_a_trace() {
    let env = TestEnv::new().await.expect("env");
    let orders = store(&env).await;
    let (a, b, c) = (new_order(&orders).await, new_order(&orders).await, new_order(&orders).await);
    let mut gap = attempt_run(a, 2);
    gap.remove(1); // routing (2) then submitted (4)
    let mut illegal = attempt_run(b, 2);
    illegal.swap(0, 1); // building before routing, seqs out of order too
    let mut mixed = attempt_run(c, 2);
    mixed[2] = with_json(routing(a, 4)); // another order's event
    let recorded = orders.record_many(&[&gap, &illegal, &mixed, &[]]).await.expect("batch");
    assert_eq!(recorded, [false, false, false, false]);
    for id in [a, b, c] {
        let row = orders.get(id).await.expect("get").expect("row");
        assert_eq!((row.status.as_str(), row.last_seq), ("pending", 1));
        assert_eq!(orders.events_after(id, 1).await.expect("events").len(), 0);
    }
    env.cleanup().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_runs_for_one_order_record_exactly_one() {
    let env = TestEnv::new().await.expect("env");
    let orders = store(&env).await;
    let writer = EventWriter::start(orders.clone(), oee_store::Batching::lanes(2));
    let mut ids = Vec::new();
    for _ in 0..100 {
        ids.push(new_order(&orders).await);
    }
    let wins = race_two_writers(&ids, |id| {
        let writer = writer.clone();
        async move {
            let (recorded, back) = writer.record_run(attempt_run(id, 2)).await;
            assert_eq!(back.len(), 3, "the run comes back for publishing");
            recorded.expect("recorded or refused")
        }
    })
    .await;
    assert!(wins.values().all(|w| *w == 1), "one run per order wins: {wins:?}");
    let db = env.db().await.expect("db");
    let events: i64 = db.query_one("SELECT count(*) FROM order_events WHERE seq > 1", &[]).await.expect("count").get(0);
    assert_eq!(events, 300, "three events for each of 100 orders, none twice");
    env.cleanup().await.expect("cleanup");
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
    let ja = good_a.to_json();
    let recorded = orders.record_many(&[&[with_json(good_a)], &[with_json(stale_b)], &[with_json(illegal_c)]]).await;
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
    let writer = EventWriter::start(orders.clone(), oee_store::Batching::lanes(2));
    let mut ids = Vec::new();
    for _ in 0..200 {
        ids.push(new_order(&orders).await);
    }
    // Each order races two writers for seq 2: exactly one wins, whichever batch it is in.
    let wins = race_two_writers(&ids, |id| {
        let writer = writer.clone();
        async move {
            let event = with_json(routing(id, 2));
            let (recorded, back) = writer.record(event.clone()).await;
            assert_eq!(back, Some(event), "the event comes back for publishing");
            recorded.expect("recorded or refused")
        }
    })
    .await;
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
    let third =
        StatusEvent::new(id, 3, Utc::now(), EventDetail::Routing { attempt: 2, last_error: None, trigger: None });
    // seq 3 cannot ride on seq 2's guard: it needs last_seq = 2 *before* the statement.
    let recorded = orders.record_many(&[&[with_json(second)], &[with_json(third)]]).await.expect("batch");
    assert_eq!(recorded, [true, false]);
    assert_eq!(orders.events_after(id, 0).await.expect("events").len(), 2, "pending and routing only");
    env.cleanup().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_writer_stores_each_order_with_its_pending_event() {
    let env = TestEnv::new().await.expect("env");
    let orders = store(&env).await;
    let writer = oee_store::OrderWriter::start(orders.clone(), oee_store::Batching::lanes(2));
    let body = br#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"0.25"}"#;
    let spec = parse_order(body, &TokenRegistry::default(), Channel::Http).expect("valid").spec;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..300 {
        let (writer, spec) = (writer.clone(), spec.clone());
        tasks.spawn(async move {
            let id = Uuid::now_v7();
            writer
                .insert(NewOrder { id, account: "anonymous".into(), spec, at: Utc::now(), expires_at: None })
                .await
                .expect("stored");
            id
        });
    }
    let mut ids = Vec::new();
    while let Some(id) = tasks.join_next().await {
        ids.push(id.expect("task"));
    }
    for id in ids {
        let order = orders.get(id).await.expect("get").expect("stored before the answer");
        assert_eq!((order.status.as_str(), order.last_seq, order.spec.amount_in), ("pending", 1, 250_000_000));
        let events = orders.events_after(id, 0).await.expect("events");
        assert_eq!(events.len(), 1);
        assert!(events[0].contains(r#""status":"pending""#), "{}", events[0]);
    }
    env.cleanup().await.expect("cleanup");
}
