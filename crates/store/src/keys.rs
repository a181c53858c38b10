//! Every Redis key, stream and channel name, under one namespace prefix so
//! several deployments (or tests) share a Redis without seeing each other.
//!
//! The job stream is split into [`Keys::partitions`] partitions, each an
//! order's home by its id ([`Keys::partition_of`]). A partition's keys — its
//! stream, its active set and its orders' channels — carry the hash tag
//! `{p<n>-<k>}`, so in a Redis Cluster they live in one slot and the commands
//! that span them (queueing: stream and active set in one script; completing:
//! publish, active set and acknowledgement in one pipeline) go to one node.
//! `<k>` is chosen so that the partitions' slots spread evenly over the slot
//! space (see [`partition_tag`]): a cluster's primaries own contiguous slot
//! ranges, so each gets its share of the partitions.
//! Every other key is used alone and needs no tag.

use std::sync::Arc;
use uuid::Uuid;

/// The most job partitions a namespace may have.
pub const MAX_PARTITIONS: u16 = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    ns: String,
    /// Each partition's hash tag, by partition.
    tags: Arc<[String]>,
}

impl Keys {
    /// The keys of `namespace`, whose job stream has `partitions` partitions
    /// (at least 1; every process of a namespace must use the same number).
    pub fn new(namespace: &str, partitions: u16) -> Self {
        let n = partitions.clamp(1, MAX_PARTITIONS);
        let tags = (0..n).map(|p| partition_tag(p, n)).collect();
        Self { ns: namespace.to_owned(), tags }
    }

    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// How many partitions the job stream has.
    pub fn partitions(&self) -> u16 {
        u16::try_from(self.tags.len()).unwrap_or(MAX_PARTITIONS)
    }

    /// Every partition, in order.
    pub fn all_partitions(&self) -> std::ops::Range<u16> {
        0..self.partitions()
    }

    /// The partition an order's job, active-set entry and channel live in: its
    /// id's random low bits (a v7 id's high bits are its timestamp) modulo the
    /// partition count.
    pub fn partition_of(&self, order_id: Uuid) -> u16 {
        let low = u64::from_be_bytes(order_id.as_bytes()[8..].try_into().unwrap_or_default());
        u16::try_from(low % u64::from(self.partitions())).unwrap_or(0)
    }

    /// The hash-tagged prefix of partition `p`'s keys.
    fn tagged(&self, p: u16) -> String {
        format!("{}:{{{}}}", self.ns, self.tags.get(usize::from(p)).map_or("p", String::as_str))
    }

    /// Partition `p` of the job stream workers consume.
    pub fn stream(&self, p: u16) -> String {
        format!("{}:orders", self.tagged(p))
    }

    /// The job stream's name, or with several partitions the pattern of their names.
    pub fn stream_name(&self) -> String {
        if self.partitions() == 1 { self.stream(0) } else { format!("{}:{{p*}}:orders", self.ns) }
    }

    /// The workers' consumer group on each partition of the job stream.
    pub fn group(&self) -> String {
        format!("{}:workers", self.ns)
    }

    /// Jobs given up on after too many deliveries (one stream for every partition).
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

    /// Partition `p`'s set of orders not yet terminal.
    pub fn active(&self, p: u16) -> String {
        format!("{}:active", self.tagged(p))
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

    /// The partition count the namespace's keys are laid out for (see
    /// `Bus::check_partitions`).
    pub fn layout(&self) -> String {
        format!("{}:partitions", self.ns)
    }

    /// Every key of the namespace, as a `SCAN MATCH` pattern.
    pub fn pattern(&self) -> String {
        format!("{}:*", self.ns)
    }

    /// The (sharded) pub/sub channel of one order's status events, in its
    /// partition's slot.
    pub fn channel(&self, order_id: Uuid) -> String {
        format!("{}:order:{}", self.tagged(self.partition_of(order_id)), order_id)
    }

    /// The order id a channel name belongs to, if it is one of ours.
    pub fn order_of_channel(&self, channel: &str) -> Option<Uuid> {
        let rest = channel.strip_prefix(&self.ns)?.strip_prefix(":{p")?;
        let (_, rest) = rest.split_once("}:order:")?;
        Uuid::parse_str(rest).ok()
    }
}

/// The hash tag of partition `p` of `n`, `p<p>-<k>`: the first `k` whose slot
/// is within 32 of the middle of the `p`-th of `n` equal shares of the slot
/// space, so the partitions' slots are spread evenly. About 500 tries each,
/// done once per process. (Changing the number of partitions moves every
/// order to a new home anyway; see docs/RELIABILITY.md.)
pub fn partition_tag(p: u16, n: u16) -> String {
    const WINDOW: u16 = 32;
    let target = u16::try_from((2 * u32::from(p) + 1) * 16_384 / (2 * u32::from(n.max(1)))).unwrap_or(0);
    (0..1_000_000u32)
        .map(|k| format!("p{p}-{k}"))
        .find(|tag| slot(tag).wrapping_sub(target) % 16_384 < WINDOW)
        .unwrap_or_else(|| format!("p{p}"))
}

/// The Redis Cluster slot of a key or channel: CRC16 (XMODEM) of its hash tag
/// (the text between the first `{` and the next `}`, when not empty) or of the
/// whole name, modulo 16,384.
pub fn slot(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let tagged = bytes.iter().position(|&b| b == b'{').and_then(|open| {
        let close = bytes[open + 1..].iter().position(|&b| b == b'}')?;
        (close > 0).then(|| &bytes[open + 1..open + 1 + close])
    });
    crc16(tagged.unwrap_or(bytes)) % 16_384
}

fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |crc, &b| {
        (0..8).fold(crc ^ (u16::from(b) << 8), |c, _| if c & 0x8000 != 0 { (c << 1) ^ 0x1021 } else { c << 1 })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_round_trip() {
        let keys = Keys::new("oee", 4);
        for _ in 0..100 {
            let id = Uuid::now_v7();
            assert_eq!(keys.order_of_channel(&keys.channel(id)), Some(id));
            assert_eq!(Keys::new("other", 4).order_of_channel(&keys.channel(id)), None);
        }
        assert_eq!(keys.order_of_channel("oee:order:not-ours"), None);
        assert_eq!(keys.pools(), "oee:pools");
    }

    /// Lock keys keep the layout deployed Redis instances already hold.
    #[test]
    fn locks_live_under_the_namespace() {
        assert_eq!(Keys::new("oee", 1).lock("sweeper"), "oee:lock:sweeper");
    }

    /// What must go to one node in a cluster is in one slot.
    #[test]
    fn a_partition_is_one_slot() {
        let keys = Keys::new("oee", 8);
        for _ in 0..200 {
            let id = Uuid::now_v7();
            let p = keys.partition_of(id);
            assert!(p < 8);
            assert_eq!(slot(&keys.stream(p)), slot(&keys.active(p)));
            assert_eq!(slot(&keys.stream(p)), slot(&keys.channel(id)));
        }
        assert!(keys.stream(3).starts_with("oee:{p3-") && keys.stream(3).ends_with("}:orders"));
        assert_eq!(keys.stream_name(), "oee:{p*}:orders");
        assert_eq!(Keys::new("oee", 1).stream_name(), Keys::new("oee", 1).stream(0));
    }

    /// However many partitions, a three-primary cluster (contiguous thirds of
    /// the slots) gets an even share of them.
    #[test]
    fn partitions_spread_over_the_slots() {
        for n in [3u16, 4, 6, 8, 12, 16] {
            let mut per_third = [0u16; 3];
            for p in 0..n {
                per_third[usize::from(slot(&partition_tag(p, n)) / 5_462)] += 1;
            }
            let (min, max) = (per_third.iter().min().copied(), per_third.iter().max().copied());
            assert!(max.zip(min).is_some_and(|(max, min)| max - min <= 1), "{n} partitions: {per_third:?}");
        }
        assert_eq!(partition_tag(5, 8), partition_tag(5, 8), "deterministic");
    }

    /// Orders spread over the partitions.
    #[test]
    fn partitions_share_the_orders() {
        let keys = Keys::new("oee", 4);
        let mut counts = [0u32; 4];
        for _ in 0..4_000 {
            counts[usize::from(keys.partition_of(Uuid::now_v7()))] += 1;
        }
        assert!(counts.iter().all(|&c| (800..1_200).contains(&c)), "{counts:?}");
        assert_eq!(Keys::new("oee", 0).partitions(), 1, "at least one");
    }

    /// Slots as Redis computes them (`CLUSTER KEYSLOT`).
    #[test]
    fn slots_match_redis() {
        assert_eq!(slot("123456789"), 12_739); // CRC16/XMODEM check value 0x31C3, mod 16,384
        assert_eq!(slot("foo"), 12_182);
        assert_eq!(slot("{user1000}.following"), slot("{user1000}.followers"));
        assert_eq!(slot("foo{}{bar}"), slot("foo{}{bar}"), "an empty tag hashes the whole name");
        assert_eq!(slot("{p0-1}:x"), slot("p0-1"));
    }
}
