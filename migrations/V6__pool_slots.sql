-- The slot each pool state is current as of: that of the last landed
-- transaction that changed it (0: unchanged since it was seeded). A quote says
-- which slot its route was planned at, the highest among the pools it read.
-- Written by the same statement that writes the state (crates/store/src/chain.rs).
ALTER TABLE chain.pools ADD COLUMN slot bigint NOT NULL DEFAULT 0;
