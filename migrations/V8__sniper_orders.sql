-- Sniper orders and token launches (docs/ORDER_TYPES.md).

-- A sniper's tokenOut may not be listed when it is accepted: the order knows
-- the symbol or the mint it was given, and the rest is filled in when the
-- trigger engine finds the token (in the same guarded write as the trigger).
ALTER TABLE orders ALTER COLUMN token_out DROP NOT NULL;
ALTER TABLE orders ALTER COLUMN token_out_mint DROP NOT NULL;
ALTER TABLE orders ALTER COLUMN token_out_decimals DROP NOT NULL;
ALTER TABLE orders ADD CONSTRAINT orders_token_out_known CHECK (
    (token_out IS NOT NULL AND token_out_mint IS NOT NULL AND token_out_decimals IS NOT NULL)
    OR (order_type = 'sniper' AND status IN ('pending', 'open', 'cancelled', 'expired')
        AND (token_out IS NOT NULL OR token_out_mint IS NOT NULL)));

-- Most tokenIn per one tokenOut, as given; the least tokenIn atoms the pool
-- must hold.
ALTER TABLE orders ADD COLUMN max_price text;
ALTER TABLE orders ADD COLUMN min_liquidity numeric(20, 0) CHECK (min_liquidity >= 0);

-- Limit orders have a minimum and an expiry; sniper orders an expiry and no
-- minimum of their own (their maxPrice becomes one once the token is known).
ALTER TABLE orders DROP CONSTRAINT orders_limit_terms;
ALTER TABLE orders ADD CONSTRAINT orders_resting_terms CHECK (
    CASE order_type
        WHEN 'limit' THEN min_amount_out IS NOT NULL AND expires_at IS NOT NULL
        WHEN 'sniper' THEN min_amount_out IS NULL AND expires_at IS NOT NULL AND min_liquidity IS NOT NULL
        ELSE min_amount_out IS NULL AND expires_at IS NULL
    END);
ALTER TABLE orders ADD CONSTRAINT orders_sniper_terms
    CHECK (order_type = 'sniper' OR (max_price IS NULL AND min_liquidity IS NULL));

-- The trigger engine loads the open sniper orders (one partition) on takeover.
CREATE INDEX orders_open_snipers ON orders (created_at) WHERE status = 'open' AND order_type = 'sniper';

-- Tokens launched on the simulated chain, each with the pool its launch made.
CREATE TABLE chain.tokens (
    symbol       text        PRIMARY KEY,
    mint         text        NOT NULL UNIQUE,
    decimals     smallint    NOT NULL CHECK (decimals BETWEEN 0 AND 18),
    quote_mint   text        NOT NULL,
    pool_id      text        NOT NULL REFERENCES chain.pools (id),
    -- The slot the pool was created in.
    slot         bigint      NOT NULL,
    open_at      timestamptz,
    launched_at  timestamptz NOT NULL DEFAULT now()
);
