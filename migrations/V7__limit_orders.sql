-- Limit orders (docs/ORDER_TYPES.md): the statuses of a resting order, its
-- minimum, its price as given and its expiry.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN
    ('pending', 'routing', 'building', 'submitted', 'confirmed', 'failed', 'open', 'cancelled', 'expired'));

-- A limit order's bound is its minimum: it has no slippage tolerance (0).
ALTER TABLE orders DROP CONSTRAINT orders_slippage_bps_check;
ALTER TABLE orders ADD CONSTRAINT orders_slippage_bps_check CHECK (slippage_bps BETWEEN 0 AND 5000);

-- In tokenOut atoms, like amount_in; NULL for market orders.
ALTER TABLE orders ADD COLUMN min_amount_out numeric(20, 0) CHECK (min_amount_out > 0);
ALTER TABLE orders ADD COLUMN limit_price text;
ALTER TABLE orders ADD COLUMN expires_at timestamptz;
ALTER TABLE orders ADD CONSTRAINT orders_limit_terms
    CHECK ((order_type = 'limit') = (min_amount_out IS NOT NULL AND expires_at IS NOT NULL));

-- Resting orders are not lost work: the sweeper that re-queues orders whose job
-- was lost must not pick them up (nor the new terminal statuses).
DROP INDEX orders_unfinished;
CREATE INDEX orders_unfinished ON orders (updated_at)
    WHERE status NOT IN ('confirmed', 'failed', 'open', 'cancelled', 'expired');

-- The trigger engine loads a pair's open orders when it takes the pair over.
CREATE INDEX orders_open_by_pair ON orders (token_in_mint, token_out_mint) WHERE status = 'open';
