-- Pool states as compact binary instead of jsonb.
--
-- A DLMM pool's state is ~10 KB of JSON (hundreds of bins) and every batch of
-- swaps rewrites the pools it moves: PostgreSQL parsed it into jsonb, compressed
-- and TOASTed it on every write, and decompressed and printed it as text on every
-- read under the pools' locks. Encoded as postcard behind a one-byte format tag
-- (see crates/store/src/chain.rs) the largest pool is ~2.8 KB.
--
-- Existing states are kept as their JSON text bytes; the ledger reads both and
-- writes the binary form, so pools convert as they are next moved.
ALTER TABLE chain.pools ALTER COLUMN state TYPE bytea USING convert_to(state::text, 'UTF8');

-- Keep a pool's row inline and uncompressed up to a whole page: TOAST only
-- steps in beyond 8160 bytes (the default is ~2 KB, which a DLMM pool exceeds).
ALTER TABLE chain.pools SET (toast_tuple_target = 8160);
