-- The simulated chain: venue pools and the transaction ledger, shared by every
-- worker. It stands in for Solana, so it lives apart from the engine's own data.

CREATE SCHEMA chain;

CREATE TABLE chain.pools (
    id          text        PRIMARY KEY,
    -- The pool's whole state (curve, reserves or bins, fee state), as the router serializes it.
    state       jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The total order of landed transactions.
CREATE SEQUENCE chain.slots;

CREATE TABLE chain.transactions (
    id         text        PRIMARY KEY,
    slot       bigint      NOT NULL UNIQUE,
    receipt    jsonb       NOT NULL,
    landed_at  timestamptz NOT NULL DEFAULT now()
);
