-- API keys. A key is shown once, when it is created, and stored only as the
-- SHA-256 of its text: a key is ~200 random bits, so a fast hash is enough (no
-- password stretching), and a lookup is one index probe on the hash.
CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    account     text NOT NULL CHECK (account <> ''),
    key_hash    bytea NOT NULL UNIQUE,
    -- Scope names: read, trade, admin.
    scopes      text[] NOT NULL,
    -- Orders per second and the burst on top; NULL: the deployment's defaults.
    rate        integer CHECK (rate > 0),
    burst       integer CHECK (burst >= 0),
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

CREATE INDEX api_keys_account ON api_keys (account);
