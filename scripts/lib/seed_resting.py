"""Seeds resting limit orders in bulk, straight into PostgreSQL, for scripts/bench.

Usage: seed_resting.py --url API --db DATABASE_URL --count N

The rows are copies of real orders: for every listed pair and direction, one
limit order is placed through the API (with the key in OEE_API_KEY) and left to
rest `open`; then N orders in all are cloned from these templates by one SQL
statement per table, each with its own id (a UUIDv7 of its creation time), amount,
price, expiry, times, request fingerprint and events (`pending`, `open`). Each
one asks 1.5 to 5 times what the market gives now, so none of them fires
during a run.

Before cloning, the template's own event payloads and fingerprint are rebuilt
from its columns by the same SQL that builds the clones' and compared byte for
byte with what the engine stored: a change to the event format makes the seed
fail rather than write rows the engine would not have written. Afterwards the
tables are vacuumed and analysed and a checkpoint is taken, as a database that
grew to this size by itself would stand (hint bits set, statistics current, no
checkpoint due).

Prints one JSON object: the orders seeded, the templates, and the seconds taken.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal

# A dollar or two of each token, like oee-bench's orders (crates/cli/src/bench/load/orders.rs).
SMALL = {"SOL": "0.01", "USDC": "1", "USDT": "1", "BONK": "100000", "JUP": "2", "RAY": "1"}

# The SQL that clones the templates. psql variables: :'templates' is a JSON array
# of {"id", "price", "n"} (price: what the market gives now, tokenOut per
# tokenIn). Amounts are whole atoms; a price is kept to 8 significant digits.
SQL = r"""
\set ON_ERROR_STOP on
SET synchronous_commit = off;
SET work_mem = '256MB';
BEGIN;

-- The engine's formats (crates/domain: format_time, format_units; request.rs: fingerprint).
CREATE FUNCTION pg_temp.at_text(t timestamptz) RETURNS text IMMUTABLE LANGUAGE sql AS
  $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
CREATE FUNCTION pg_temp.units(atoms numeric, decimals int) RETURNS text IMMUTABLE LANGUAGE sql AS
  $$ SELECT trim_scale(atoms * 10::numeric ^ (-decimals)::numeric)::text $$;
CREATE FUNCTION pg_temp.pending_json(id uuid, at timestamptz) RETURNS text IMMUTABLE LANGUAGE sql AS
  $$ SELECT format('{"orderId":"%s","seq":1,"status":"pending","at":"%s"}', id, pg_temp.at_text(at)) $$;
CREATE FUNCTION pg_temp.open_json(id uuid, at timestamptz, expires timestamptz, min_out text, price text)
  RETURNS text IMMUTABLE LANGUAGE sql AS
  $$ SELECT format('{"orderId":"%s","seq":2,"status":"open","at":"%s","expiresAt":"%s","minAmountOut":"%s","limitPrice":"%s"}',
       id, pg_temp.at_text(at), pg_temp.at_text(expires), min_out, price) $$;
CREATE FUNCTION pg_temp.fingerprint(o orders) RETURNS text IMMUTABLE LANGUAGE sql AS
  $$ SELECT concat_ws('|', o.order_type, o.token_in, o.token_out, o.amount_in, o.slippage_bps, o.user_id,
       o.min_amount_out, (extract(epoch FROM o.expires_at) * 1000)::bigint) $$;
-- A UUIDv7: 48 bits of unix milliseconds, the version, random bits, the variant.
CREATE FUNCTION pg_temp.uuid_v7(at timestamptz) RETURNS uuid VOLATILE LANGUAGE sql AS
  $$ SELECT (lpad(to_hex((extract(epoch FROM at) * 1000)::bigint), 12, '0') || '7'
       || substr(md5(random()::text), 1, 3) || substr('89ab', 1 + floor(random() * 4)::int, 1)
       || substr(md5(random()::text), 1, 15))::uuid $$;

CREATE TEMP TABLE template ON COMMIT DROP AS
SELECT o.*, t.price AS market, t.n,
       p.payload::text AS pending_payload, p.at AS pending_at, e.payload::text AS open_payload, e.at AS open_at
FROM json_to_recordset(:'templates') AS t(id uuid, price numeric, n int)
JOIN orders o ON o.id = t.id
JOIN order_events p ON p.order_id = o.id AND p.seq = 1
JOIN order_events e ON e.order_id = o.id AND e.seq = 2;

DO $$
DECLARE bad text;
BEGIN
  IF (SELECT count(*) FROM template WHERE status = 'open' AND last_seq = 2) <> (SELECT count(*) FROM template) THEN
    RAISE EXCEPTION 'a template is not open with two events';
  END IF;
  SELECT string_agg(format(E'%s\n  stored: %s | %s | %s\n  built:  %s | %s | %s', t.id,
           t.pending_payload, t.open_payload, t.request_fingerprint,
           pg_temp.pending_json(t.id, t.pending_at),
           pg_temp.open_json(t.id, t.open_at, t.expires_at, pg_temp.units(t.min_amount_out, t.token_out_decimals),
                             t.limit_price),
           pg_temp.fingerprint(o)), E'\n')
    INTO bad
  FROM template t JOIN orders o ON o.id = t.id
  WHERE t.pending_payload <> pg_temp.pending_json(t.id, t.pending_at)
     OR t.open_payload <> pg_temp.open_json(t.id, t.open_at, t.expires_at,
                                            pg_temp.units(t.min_amount_out, t.token_out_decimals), t.limit_price)
     OR t.request_fingerprint IS DISTINCT FROM pg_temp.fingerprint(o);
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION E'the engine''s rows differ from what the seed would write (update scripts/lib/seed_resting.py):\n%', bad;
  END IF;
END $$;

-- Each clone: created within the last day, opened a few milliseconds later,
-- expiring 1 to 29 days from now; 1 to 100 times the template's amount; asking
-- 1.5 to 5 times the market's price.
CREATE TEMP TABLE drawn ON COMMIT DROP AS
SELECT t.id AS template, t.token_in_decimals, t.token_out_decimals,
       t.amount_in * (1 + floor(random() * 100))::numeric AS amount_in,
       t.market * (1.5 + random()::numeric * 3.5) AS price,
       date_trunc('milliseconds', now() - random() * interval '1 day') AS created_at,
       date_trunc('milliseconds', now() + interval '1 day' + random() * interval '28 days') AS expires_at,
       (1 + random() * 5) * interval '1 millisecond' AS open_after
FROM template t CROSS JOIN LATERAL generate_series(1, t.n);

CREATE TEMP TABLE clone ON COMMIT DROP AS
SELECT c.*, pg_temp.uuid_v7(c.created_at) AS id,
       ceil(c.amount_in * c.price * 10::numeric ^ (c.token_out_decimals - c.token_in_decimals)::numeric) AS min_amount_out
FROM (
  SELECT d.template, d.token_in_decimals, d.token_out_decimals, d.amount_in,
         round(d.price, greatest(0, 7 - floor(log(d.price))::int)) AS price, d.created_at, d.expires_at, d.open_after
  FROM drawn d
) c;

INSERT INTO orders (id, user_id, order_type, token_in, token_in_mint, token_in_decimals, token_out, token_out_mint,
    token_out_decimals, amount_in, slippage_bps, status, last_seq, attempts, route, tx_hash, executed_price,
    amount_out, error, idempotency_key, request_fingerprint, created_at, updated_at, account, min_amount_out,
    limit_price, expires_at)
SELECT c.id, t.user_id, t.order_type, t.token_in, t.token_in_mint, t.token_in_decimals, t.token_out,
    t.token_out_mint, t.token_out_decimals, c.amount_in, t.slippage_bps, 'open', 2, t.attempts, t.route, t.tx_hash,
    t.executed_price, t.amount_out, t.error, NULL,
    concat_ws('|', t.order_type, t.token_in, t.token_out, c.amount_in, t.slippage_bps, t.user_id, c.min_amount_out,
              (extract(epoch FROM c.expires_at) * 1000)::bigint),
    c.created_at, c.created_at + c.open_after, t.account, c.min_amount_out, trim_scale(c.price)::text, c.expires_at
FROM clone c JOIN template t ON t.id = c.template;

INSERT INTO order_events (order_id, seq, status, at, payload)
SELECT c.id, 1, 'pending', c.created_at, pg_temp.pending_json(c.id, c.created_at)::json FROM clone c
UNION ALL
SELECT c.id, 2, 'open', c.created_at + c.open_after,
       pg_temp.open_json(c.id, c.created_at + c.open_after, c.expires_at,
                         pg_temp.units(c.min_amount_out, c.token_out_decimals), trim_scale(c.price)::text)::json
FROM clone c;

COMMIT;
VACUUM (ANALYZE) orders, order_events;
CHECKPOINT;
"""


def api(url: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(url.rstrip("/") + path, data=None if body is None else json.dumps(body).encode())
    request.add_header("content-type", "application/json")
    if os.environ.get("OEE_API_KEY"):
        request.add_header("authorization", f"Bearer {os.environ['OEE_API_KEY']}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="an API replica's base URL")
    parser.add_argument("--db", required=True, help="the engine's DATABASE_URL")
    parser.add_argument("--count", type=int, required=True, help="orders to seed in all")
    args = parser.parse_args()
    started = time.monotonic()

    # Every listed direction once (a token may have two symbols, as SOL and WSOL do).
    listing = api(args.url, "/api/tokens")
    mint = {t["symbol"]: t["mint"] for t in listing["tokens"]}
    pairs, seen = [], set()
    for p in listing["pairs"]:
        mints = (mint[p["tokenIn"]], mint[p["tokenOut"]])
        if p["tokenIn"] in SMALL and p["tokenOut"] in SMALL and mints not in seen:
            seen.add(mints)
            pairs.append((p["tokenIn"], p["tokenOut"]))
    expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=29)).isoformat()
    templates = []
    for i, (token_in, token_out) in enumerate(pairs):
        amount = SMALL[token_in]
        quote = api(args.url, f"/api/quote?tokenIn={token_in}&tokenOut={token_out}&amountIn={amount}")
        market = Decimal(quote["amountOut"]) / Decimal(amount)
        limit = f"{market * 3:.18f}".rstrip("0").rstrip(".")
        order = api(args.url, "/api/orders/execute", {"type": "limit", "tokenIn": token_in, "tokenOut": token_out,
                                               "amountIn": amount, "limitPrice": limit, "expiresAt": expires})
        share = args.count // len(pairs) + (1 if i < args.count % len(pairs) else 0)
        templates.append({"id": order["orderId"], "price": str(market), "n": share})
    for t in templates:
        for _ in range(200):
            if api(args.url, f"/api/orders/{t['id']}")["status"] == "open":
                break
            time.sleep(0.05)
        else:
            sys.exit(f"template order {t['id']} did not rest open within 10 s")
    cloned = time.monotonic()
    subprocess.run(["psql", args.db, "-qX", "-v", f"templates={json.dumps(templates)}"], input=SQL, text=True,
                   check=True, stdout=subprocess.DEVNULL)
    done = time.monotonic()
    print(json.dumps({"seeded": args.count, "templates": len(templates), "seconds": round(done - started, 1),
                      "cloneSeconds": round(done - cloned, 1)}))


if __name__ == "__main__":
    main()
