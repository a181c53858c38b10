-- Orders and their append-only event log: the system of record.

CREATE TABLE orders (
    id                  uuid PRIMARY KEY,
    user_id             text        NOT NULL,
    order_type          text        NOT NULL,
    token_in            text        NOT NULL,
    token_in_mint       text        NOT NULL,
    token_in_decimals   smallint    NOT NULL CHECK (token_in_decimals BETWEEN 0 AND 18),
    token_out           text        NOT NULL,
    token_out_mint      text        NOT NULL,
    token_out_decimals  smallint    NOT NULL CHECK (token_out_decimals BETWEEN 0 AND 18),
    -- Integer atoms of the token's smallest unit; u64 range.
    amount_in           numeric(20, 0) NOT NULL CHECK (amount_in > 0),
    slippage_bps        integer     NOT NULL CHECK (slippage_bps BETWEEN 1 AND 5000),
    status              text        NOT NULL
        CHECK (status IN ('pending', 'routing', 'building', 'submitted', 'confirmed', 'failed')),
    -- The seq of the latest event; the next event must carry last_seq + 1.
    last_seq            integer     NOT NULL CHECK (last_seq >= 1),
    attempts            integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    route               jsonb,
    tx_hash             text,
    executed_price      text,
    amount_out          numeric(20, 0),
    error               jsonb,
    idempotency_key     text,
    request_fingerprint text,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);

-- One order per idempotency key, enforced by the database rather than a check-then-insert.
CREATE UNIQUE INDEX orders_idempotency_key ON orders (idempotency_key) WHERE idempotency_key IS NOT NULL;
-- History pages, newest first, overall / per user / per status.
CREATE INDEX orders_created ON orders (created_at DESC, id DESC);
CREATE INDEX orders_user_created ON orders (user_id, created_at DESC, id DESC);
CREATE INDEX orders_status_created ON orders (status, created_at DESC, id DESC);
-- Orders not yet terminal, for recovery sweeps.
CREATE INDEX orders_unfinished ON orders (updated_at) WHERE status NOT IN ('confirmed', 'failed');

CREATE TABLE order_events (
    order_id  uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    seq       integer     NOT NULL CHECK (seq >= 1),
    status    text        NOT NULL,
    at        timestamptz NOT NULL,
    -- The event exactly as sent to clients (json, not jsonb: the text is kept byte for byte).
    payload   json        NOT NULL,
    PRIMARY KEY (order_id, seq)
);
