-- Every order belongs to the account of the key that submitted it. Orders from
-- before accounts (and every order under OEE_AUTH=off) belong to `anonymous`.
ALTER TABLE orders ADD COLUMN account text NOT NULL DEFAULT 'anonymous';

-- Idempotency keys are scoped per account: two accounts may use the same key.
DROP INDEX orders_idempotency_key;
CREATE UNIQUE INDEX orders_account_idempotency_key ON orders (account, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- History is always read within one account (then optionally one user label):
-- this index replaces the one on user_id alone, so inserts maintain no more
-- indexes than before.
DROP INDEX orders_user_created;
CREATE INDEX orders_account_created ON orders (account, created_at DESC, id DESC);
