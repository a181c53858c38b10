//! The subscription hub: a follower that has joined a channel hears whatever is
//! published on it from then on, however many sockets join at once.

use chrono::Utc;
use oee_api::ws::hub::Hub;
use oee_domain::{EventDetail, StatusEvent};
use oee_testkit::TestEnv;
use std::time::Duration;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joined_channel_hears_the_very_next_publish() {
    let env = TestEnv::new().await.expect("env");
    let redis = env.settings.redis();
    let subscriber = oee_store::redis::subscriber(&redis).await.expect("subscriber");
    let hub = Hub::start(subscriber, redis.keys(), Duration::from_secs(5));
    let bus = env.bus().await.expect("bus");
    // Many joins at once, so that they share subscribe commands; each publishes
    // from another connection the moment its join returns.
    for round in 0..5 {
        let joins = (0..200).map(|_| {
            let (hub, bus) = (hub.clone(), bus.clone());
            async move {
                let id = Uuid::now_v7();
                let mut follower = hub.follow(id).await;
                assert!(follower.live, "the subscription took");
                let json = StatusEvent::new(id, 1, Utc::now(), EventDetail::Pending).to_json();
                bus.fanout.publish(id, &json).await.expect("publish");
                tokio::time::timeout(Duration::from_secs(3), follower.events.recv()).await.ok().flatten().is_some()
            }
        });
        let heard = futures::future::join_all(joins).await;
        let missed = heard.iter().filter(|h| !**h).count();
        assert_eq!(missed, 0, "round {round}: {missed} of 200 followers missed the publish after joining");
    }
    env.cleanup().await.expect("cleanup");
}
