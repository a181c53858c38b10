//! Every Redis key, stream and channel name, under one namespace prefix so
//! several deployments (or tests) share a Redis without seeing each other.

use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    ns: String,
}

impl Keys {
    pub fn new(namespace: &str) -> Self {
        Self { ns: namespace.to_owned() }
    }

    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// The job stream workers consume.
    pub fn stream(&self) -> String {
        format!("{}:orders", self.ns)
    }

    /// The workers' consumer group on [`Keys::stream`].
    pub fn group(&self) -> String {
        format!("{}:workers", self.ns)
    }

    /// Jobs given up on after too many deliveries.
    pub fn dead_letters(&self) -> String {
        format!("{}:orders:dead", self.ns)
    }

    /// News of resting orders for the trigger engine (see `RestingFeed`).
    pub fn resting(&self) -> String {
        format!("{}:resting", self.ns)
    }

    /// The live members of a group sharing partitions (see `Locks::members`).
    pub fn members(&self, group: &str) -> String {
        format!("{}:members:{group}", self.ns)
    }

    /// The set of orders not yet terminal.
    pub fn active(&self) -> String {
        format!("{}:active", self.ns)
    }

    /// The pool-change stream: one entry per landed transaction, with the
    /// states it left its pools in (see `PoolChanges`).
    pub fn pools(&self) -> String {
        format!("{}:pools", self.ns)
    }

    /// The lease named `name` (see `Locks`).
    pub fn lock(&self, name: &str) -> String {
        format!("{}:lock:{name}", self.ns)
    }

    /// A rate-limited subject's state (see `RateLimiter`).
    pub fn rate(&self, subject: &str) -> String {
        format!("{}:rate:{subject}", self.ns)
    }

    /// A WebSocket ticket (see `Tickets`).
    pub fn ticket(&self, ticket: &str) -> String {
        format!("{}:ticket:{ticket}", self.ns)
    }

    /// Every key of the namespace, as a `SCAN MATCH` pattern.
    pub fn pattern(&self) -> String {
        format!("{}:*", self.ns)
    }

    /// The pub/sub channel of one order's status events.
    pub fn channel(&self, order_id: Uuid) -> String {
        format!("{}:order:{}", self.ns, order_id)
    }

    /// The order id a channel name belongs to, if it is one of ours.
    pub fn order_of_channel(&self, channel: &str) -> Option<Uuid> {
        let rest = channel.strip_prefix(&self.ns)?.strip_prefix(":order:")?;
        Uuid::parse_str(rest).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_round_trip() {
        let keys = Keys::new("oee");
        let id = Uuid::now_v7();
        assert_eq!(keys.order_of_channel(&keys.channel(id)), Some(id));
        assert_eq!(Keys::new("other").order_of_channel(&keys.channel(id)), None);
        assert_eq!(keys.stream(), "oee:orders");
        assert_eq!(keys.pools(), "oee:pools");
    }

    /// Lock keys keep the layout deployed Redis instances already hold.
    #[test]
    fn locks_live_under_the_namespace() {
        assert_eq!(Keys::new("oee").lock("sweeper"), "oee:lock:sweeper");
    }
}
