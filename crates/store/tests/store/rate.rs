//! Rate limits in Redis: counting several requests at once counts those that
//! pass; giving requests back returns them; leases cut the round trips of a
//! busy subject without letting two replicas together past its limit, and
//! give back what they did not spend.

use oee_store::{Decision, Grant, Leases, Limit};
use oee_testkit::TestEnv;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taking_several_counts_those_that_pass_and_giving_back_returns_them() {
    let env = TestEnv::new().await.expect("env");
    let rates = env.bus().await.expect("bus").rates.clone();
    // One a second, four on top: five pass from idle, the next a second later.
    let limit = Limit { per_sec: 1, burst: 4 };
    let counted = |grant: Grant| match grant {
        Grant::Counted { counted, remaining, .. } => (counted, remaining),
        Grant::Limited { .. } => (0, 0),
    };
    assert_eq!(counted(rates.take("desk", limit, 3, 0).await.expect("take")), (3, 2));
    assert_eq!(counted(rates.take("desk", limit, 5, 0).await.expect("take")), (2, 0), "only those that pass");
    let Grant::Limited { retry_after, .. } = rates.take("desk", limit, 1, 0).await.expect("take") else {
        panic!("a sixth passed");
    };
    assert!(retry_after > Duration::from_millis(500) && retry_after <= Duration::from_secs(1), "{retry_after:?}");
    // Two given back: one is taken, one remains.
    assert_eq!(counted(rates.take("desk", limit, 1, 2).await.expect("take")), (1, 1));
    assert!(matches!(rates.check("desk", limit).await.expect("check"), Decision::Allowed { remaining: 0, .. }));
    assert!(matches!(rates.check("desk", limit).await.expect("check"), Decision::Limited { .. }));
    env.cleanup().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_cut_round_trips_and_two_replicas_together_never_pass_the_limit() {
    let env = TestEnv::new().await.expect("env");
    let rates = env.bus().await.expect("bus").rates.clone();
    let limit = Limit { per_sec: 1_000, burst: 1_000 };
    let replicas = [Leases::new(rates.clone()), Leases::new(rates)];
    let start = Instant::now();
    let drive = |leases: Leases, requests: u32| async move {
        let mut admitted = 0u64;
        for _ in 0..requests {
            if let Decision::Allowed { .. } = leases.check("desk", limit).await.expect("check") {
                admitted += 1;
            }
        }
        admitted
    };
    // Well within the burst, through one replica: a round trip per lease.
    let first = drive(replicas[0].clone(), 600).await;
    assert_eq!(first, 600);
    assert!(replicas[0].taken() * 10 < 600, "{} round trips for 600 requests", replicas[0].taken());
    // Then both, far past the limit (a refused request still asks Redis).
    let (a, b) = tokio::join!(drive(replicas[0].clone(), 1_500), drive(replicas[1].clone(), 1_500));
    let elapsed = start.elapsed().as_secs_f64();
    let admitted = first + a + b;
    // GCRA admits burst + 1 at once, then per_sec a second.
    let most = 1_001.0 + 1_000.0 * elapsed + 1.0;
    #[expect(clippy::cast_precision_loss, reason = "a few thousand")]
    let admitted_f = admitted as f64;
    assert!(admitted_f <= most, "admitted {admitted} in {elapsed:.3} s: the limit allows {most:.0}");
    // Each replica holds at most a lease's worth (a sixteenth of the burst) unspent.
    assert!(admitted >= 1_001 - 2 * 62, "admitted {admitted}");
    env.cleanup().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_lease_did_not_spend_in_its_window_goes_back_with_the_next() {
    let env = TestEnv::new().await.expect("env");
    let rates = env.bus().await.expect("bus").rates.clone();
    let leases = Leases::new(rates.clone());
    // One a second (nothing refills during the test), 160 on top: leases of up to 10.
    let limit = Limit { per_sec: 1, burst: 160 };
    let remaining = |decision: Decision| match decision {
        Decision::Allowed { remaining, .. } => remaining,
        Decision::Limited { .. } => panic!("refused"),
    };
    // The first request leases one; the next, a moment later, ten.
    assert_eq!(remaining(leases.check("desk", limit).await.expect("check")), 160);
    assert_eq!(remaining(leases.check("desk", limit).await.expect("check")), 159, "this replica's nine count");
    assert_eq!(remaining(rates.peek("desk", limit).await.expect("peek")), 150, "Redis counted eleven");
    tokio::time::sleep(oee_store::redis::rate::LEASE_WINDOW + Duration::from_millis(50)).await;
    // The nine unspent go back as the next lease (of one) is taken.
    assert_eq!(remaining(leases.check("desk", limit).await.expect("check")), 158);
    assert_eq!(remaining(rates.peek("desk", limit).await.expect("peek")), 158);
    env.cleanup().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_held_just_under_its_limit_through_leases_is_never_refused() {
    let env = TestEnv::new().await.expect("env");
    let leases = Leases::new(env.bus().await.expect("bus").rates.clone());
    // Leases of up to 10, at 180 a second against 200 with 160 on top.
    let limit = Limit { per_sec: 200, burst: 160 };
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / 180.0));
    let (mut admitted, mut refused) = (0u32, 0u32);
    for _ in 0..360 {
        tick.tick().await;
        match leases.check("desk", limit).await.expect("check") {
            Decision::Allowed { .. } => admitted += 1,
            Decision::Limited { .. } => refused += 1,
        }
    }
    assert_eq!(refused, 0, "{admitted} admitted");
    assert!(leases.taken() * 3 < 360, "{} round trips for 360 requests", leases.taken());
    env.cleanup().await.expect("cleanup");
}
