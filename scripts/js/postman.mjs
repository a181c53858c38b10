// Makes the Postman collection (v2.1) and its environment from the OpenAPI
// document, deterministically: the same document gives the same bytes.
//
//   node scripts/js/postman.mjs [docs/openapi.json] [postman]
//
// The collection holds:
//   * "Walkthrough": a tutorial with tests — (a quote, when the document has
//     GET /api/quote), submit an order, poll it until it is terminal, check it
//     confirmed with a gapless event log, find it in the history, then the main
//     errors with their codes. newman runs it in scripts/contract.
//   * a folder per tag of the document, one request per operation, with its
//     parameters and body examples, its summary and description as docs, and a
//     test that the answer's status is one the document lists for it.
// The key is {{apiKey}} (bearer, collection level), the server {{baseUrl}}; the
// environment file declares them (the keys empty).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

const specPath = process.argv[2] ?? 'docs/openapi.json';
const outDir = process.argv[3] ?? 'postman';
const spec = JSON.parse(readFileSync(specPath, 'utf8'));

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** A UUID made from `text`, so that ids stay the same from run to run. */
function stableId(text) {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Follows a local `$ref` (#/components/...). */
function deref(node) {
  let seen = 0;
  while (node && node.$ref && seen++ < 16) {
    node = node.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce((n, k) => n?.[k.replaceAll('~1', '/').replaceAll('~0', '~')], spec);
  }
  return node ?? {};
}

/** The example of a parameter or a schema, if the document gives one. */
function exampleOf(holder) {
  if (!holder) return undefined;
  if (holder.example !== undefined) return holder.example;
  if (holder.examples && !Array.isArray(holder.examples)) {
    const first = Object.values(holder.examples)[0];
    if (first) return deref(first).value;
  }
  const schema = deref(holder.schema ?? holder);
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (schema.example !== undefined) return schema.example;
  if (schema.default !== undefined) return schema.default;
  return undefined;
}

function text(value) {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The operations of the document, in its own order: [path, method, operation]. */
function operations() {
  const ops = [];
  for (const [path, item] of Object.entries(spec.paths ?? {})) {
    for (const method of METHODS) {
      if (item[method]) ops.push([path, method, item[method], item.parameters ?? []]);
    }
  }
  return ops;
}

/** A Postman URL for `path` (with {name} as :name) and the given query. */
function url(path, query = [], pathValues = {}) {
  const segments = path.replace(/^\//, '').split('/');
  const variable = [];
  const postmanPath = segments.map((segment) => {
    const m = segment.match(/^\{(.+)\}$/);
    if (!m) return segment;
    variable.push({ key: m[1], value: pathValues[m[1]] ?? `{{${m[1]}}}` });
    return `:${m[1]}`;
  });
  const enabled = query.filter((q) => !q.disabled);
  const raw =
    `{{baseUrl}}/${postmanPath.join('/')}` +
    (enabled.length ? `?${enabled.map((q) => `${q.key}=${q.value}`).join('&')}` : '');
  const out = { raw, host: ['{{baseUrl}}'], path: postmanPath };
  if (query.length) out.query = query;
  if (variable.length) out.variable = variable;
  return out;
}

function jsonBody(value) {
  return { mode: 'raw', raw: JSON.stringify(value, null, 2), options: { raw: { language: 'json' } } };
}

function script(lines) {
  return { listen: 'test', script: { type: 'text/javascript', exec: lines } };
}

function prerequest(lines) {
  return { listen: 'prerequest', script: { type: 'text/javascript', exec: lines } };
}

const NO_AUTH = { type: 'noauth' };

/** Whether the operation needs no key (`security: [{}]`). */
function isPublic(op) {
  return Array.isArray(op.security) && op.security.some((s) => Object.keys(s).length === 0);
}

/** One reference request for an operation. */
function reference(path, method, op, shared) {
  const params = [...shared, ...(op.parameters ?? [])].map(deref);
  const query = params
    .filter((p) => p.in === 'query')
    .map((p) => {
      const example = exampleOf(p);
      const q = { key: p.name, value: example === undefined ? '' : text(example) };
      if (p.description) q.description = p.description;
      if (!p.required) q.disabled = true;
      return q;
    });
  const pathValues = {};
  for (const p of params.filter((p) => p.in === 'path')) {
    // The walkthrough fills orderId; others come from their examples or stay variables.
    if (p.name !== 'orderId' && exampleOf(p) !== undefined) pathValues[p.name] = text(exampleOf(p));
  }
  const header = params
    .filter((p) => p.in === 'header')
    .map((p) => {
      const example = exampleOf(p);
      const h = { key: p.name, value: example === undefined ? '' : text(example) };
      if (p.description) h.description = p.description;
      if (!p.required) h.disabled = true;
      return h;
    });
  const request = { method: method.toUpperCase(), header, url: url(path, query, pathValues) };
  const content = op.requestBody && deref(op.requestBody).content?.['application/json'];
  if (content) {
    request.header.push({ key: 'Content-Type', value: 'application/json' });
    const example = exampleOf(content);
    request.body = jsonBody(example ?? {});
  }
  if (isPublic(op)) request.auth = NO_AUTH;
  request.description = [op.summary, op.description].filter(Boolean).join('\n\n');
  const documented = Object.keys(op.responses ?? {})
    .filter((s) => /^\d{3}$/.test(s))
    .map(Number);
  return {
    name: op.summary?.replace(/\.$/, '') ?? op.operationId,
    event: [
      script([
        `// ${op.operationId}: the status is one docs/openapi.json lists for it.`,
        `pm.test('${method.toUpperCase()} ${path} answers a documented status', function () {`,
        `    pm.expect(pm.response.code).to.be.oneOf(${JSON.stringify(documented)});`,
        '});',
      ]),
    ],
    request,
  };
}

// --- the walkthrough --------------------------------------------------------

function find(method, path) {
  return spec.paths?.[path]?.[method];
}

function submitExample() {
  const op = find('post', '/api/orders/execute');
  const content = deref(op?.requestBody)?.content?.['application/json'];
  return exampleOf(content) ?? { tokenIn: 'SOL', tokenOut: 'USDC', amountIn: '1.5', slippageBps: 50 };
}

const submitHeaders = (key) => [
  { key: 'Content-Type', value: 'application/json' },
  ...(key ? [{ key: 'Idempotency-Key', value: key }] : []),
];

function expectError(status, code, extra = []) {
  return script([
    `pm.test('${status} ${code}', function () {`,
    `    pm.response.to.have.status(${status});`,
    `    pm.expect(pm.response.json().error.code).to.eql('${code}');`,
    '});',
    ...extra,
  ]);
}

function walkthrough() {
  const items = [];
  const order = submitExample();
  const quote = find('get', '/api/quote');
  if (quote) {
    // Only once the document has the quote operation: its parameters' examples,
    // or an order's worth of SOL for USDC.
    const params = (quote.parameters ?? []).map(deref).filter((p) => p.in === 'query');
    const fallback = { tokenIn: order.tokenIn, tokenOut: order.tokenOut, amountIn: order.amountIn ?? order.amount };
    const query = params.map((p) => {
      const example = exampleOf(p);
      return { key: p.name, value: text(example ?? fallback[p.name] ?? '') };
    });
    items.push({
      name: '0. Quote the swap',
      event: [
        script([
          "pm.test('200 with a quote', function () {",
          '    pm.response.to.have.status(200);',
          "    pm.expect(pm.response.headers.get('Content-Type')).to.include('application/json');",
          '});',
        ]),
      ],
      request: {
        method: 'GET',
        header: [],
        url: url('/api/quote', query),
        description: 'What the venues would give for the order now (nothing is reserved).',
      },
    });
  }
  items.push({
    name: '1. Submit an order',
    event: [
      prerequest(["pm.collectionVariables.set('idempotencyKey', 'walkthrough-' + Date.now() + '-' + Math.random().toString(36).slice(2));"]),
      script([
        "pm.test('202 Accepted, pending', function () {",
        '    pm.response.to.have.status(202);',
        '    const body = pm.response.json();',
        "    pm.expect(body.status).to.eql('pending');",
        "    pm.expect(body.statusUrl).to.eql('/api/orders/' + body.orderId);",
        "    pm.collectionVariables.set('orderId', body.orderId);",
        '});',
        "pm.collectionVariables.set('pollsLeft', 50);",
      ]),
    ],
    request: {
      method: 'POST',
      header: submitHeaders('{{idempotencyKey}}'),
      body: jsonBody(order),
      url: url('/api/orders/execute'),
      description:
        'Submits a market order. 202 once it is durably stored and queued; the order id is kept in the collection variable `orderId`.',
    },
  });
  const poll = '2. Poll the order until it is terminal';
  items.push({
    name: poll,
    event: [
      prerequest([
        '// Between polls, a short pause (the first poll goes at once).',
        "const polls = Number(pm.collectionVariables.get('pollsLeft'));",
        'if (polls < 50) { setTimeout(function () {}, 200); }',
      ]),
      script([
        'const order = pm.response.json();',
        "const terminal = order.status === 'confirmed' || order.status === 'failed';",
        "const pollsLeft = Number(pm.collectionVariables.get('pollsLeft')) - 1;",
        "pm.collectionVariables.set('pollsLeft', pollsLeft);",
        "pm.test('200 with the order', function () {",
        '    pm.response.to.have.status(200);',
        "    pm.expect(order.orderId).to.eql(pm.collectionVariables.get('orderId'));",
        '});',
        'if (!terminal && pollsLeft > 0) {',
        '    // Again: this request, after the pause above (at most 50 polls, about 10 s).',
        "    const next = pm.execution && typeof pm.execution.setNextRequest === 'function'",
        '        ? pm.execution.setNextRequest.bind(pm.execution) : postman.setNextRequest;',
        '    next(pm.info.requestName);',
        '} else {',
        "    pm.test('the order is confirmed', function () {",
        "        pm.expect(order.status).to.eql('confirmed');",
        "        pm.expect(order.txHash).to.be.a('string');",
        "        pm.expect(order.amountOut).to.be.a('string');",
        '    });',
        "    pm.test('its events run 1, 2, 3, … without a gap, ending with the terminal one', function () {",
        '        const seqs = order.events.map(function (e) { return e.seq; });',
        '        seqs.forEach(function (seq, i) { pm.expect(seq).to.eql(i + 1); });',
        "        pm.expect(order.events[0].status).to.eql('pending');",
        "        pm.expect(order.events[order.events.length - 1].status).to.eql('confirmed');",
        '    });',
        '}',
      ]),
    ],
    request: {
      method: 'GET',
      header: [],
      url: url('/api/orders/{orderId}', [], { orderId: '{{orderId}}' }),
      description:
        'Reads the order. Its `events` are the whole status history (pending → routing → building → submitted → confirmed), as the WebSocket `/api/orders/{orderId}/ws` streams them (docs/asyncapi.yaml).',
    },
  });
  items.push({
    name: '3. Find it in the history',
    event: [
      script([
        "pm.test('200, and the newest page holds the order', function () {",
        '    pm.response.to.have.status(200);',
        "    const id = pm.collectionVariables.get('orderId');",
        '    const ids = pm.response.json().orders.map(function (o) { return o.orderId; });',
        '    pm.expect(ids).to.include(id);',
        '});',
      ]),
    ],
    request: {
      method: 'GET',
      header: [],
      url: url('/api/orders', [
        { key: 'limit', value: '50' },
        { key: 'status', value: 'confirmed' },
      ]),
      description: "The account's orders, newest first; `nextCursor` is the next page's `before`.",
    },
  });
  items.push({
    name: '4. Error: a bad amount',
    event: [expectError(400, 'INVALID_AMOUNT', ["pm.test('the error names the field', function () { pm.expect(pm.response.json().error.field).to.eql('amountIn'); });"])],
    request: {
      method: 'POST',
      header: submitHeaders(),
      body: jsonBody({ ...order, amountIn: '0' }),
      url: url('/api/orders/execute'),
      description: 'An amount of zero: 400 INVALID_AMOUNT, with `field`. A rejected request leaves nothing behind.',
    },
  });
  items.push({
    name: '5. Error: an unknown token',
    event: [expectError(400, 'UNKNOWN_TOKEN')],
    request: {
      method: 'POST',
      header: submitHeaders(),
      body: jsonBody({ ...order, tokenIn: 'NOSUCHTOKEN' }),
      url: url('/api/orders/execute'),
      description: 'A token the registry does not list (by symbol or mint): 400 UNKNOWN_TOKEN.',
    },
  });
  items.push({
    name: '6. Error: idempotency conflict (first use of the key)',
    event: [
      prerequest(["pm.collectionVariables.set('conflictKey', 'conflict-' + Date.now() + '-' + Math.random().toString(36).slice(2));"]),
      script(["pm.test('202 Accepted', function () { pm.response.to.have.status(202); });"]),
    ],
    request: {
      method: 'POST',
      header: submitHeaders('{{conflictKey}}'),
      body: jsonBody(order),
      url: url('/api/orders/execute'),
      description: 'An order under a fresh `Idempotency-Key`. Sending this again as is returns the same order (200 or 202).',
    },
  });
  items.push({
    name: '7. Error: idempotency conflict (same key, another body)',
    event: [expectError(409, 'IDEMPOTENCY_CONFLICT')],
    request: {
      method: 'POST',
      header: submitHeaders('{{conflictKey}}'),
      body: jsonBody({ ...order, slippageBps: (order.slippageBps ?? 50) + 1 }),
      url: url('/api/orders/execute'),
      description: 'The same `Idempotency-Key` with a different body: 409 IDEMPOTENCY_CONFLICT, and nothing stored.',
    },
  });
  const unauthenticated = [
    "pm.test('WWW-Authenticate: Bearer', function () {",
    "    pm.expect(pm.response.headers.get('WWW-Authenticate')).to.match(/^Bearer/);",
    '});',
  ];
  items.push({
    name: '8. Error: no key',
    event: [expectError(401, 'UNAUTHENTICATED', unauthenticated)],
    request: {
      method: 'GET',
      header: [],
      auth: NO_AUTH,
      url: url('/api/orders/{orderId}', [], { orderId: '{{orderId}}' }),
      description: 'Every /api route needs a key: without one, 401 UNAUTHENTICATED with `WWW-Authenticate: Bearer`.',
    },
  });
  items.push({
    name: '9. Error: a garbage key',
    event: [expectError(401, 'UNAUTHENTICATED', unauthenticated)],
    request: {
      method: 'GET',
      header: [],
      auth: { type: 'bearer', bearer: [{ key: 'token', value: 'oee_not-a-key', type: 'string' }] },
      url: url('/api/orders/{orderId}', [], { orderId: '{{orderId}}' }),
      description: 'A malformed, unknown or revoked key: 401 UNAUTHENTICATED, the same as none.',
    },
  });
  items.push({
    name: '10. Place a limit order far above the market',
    event: [
      script([
        "pm.test('202 Accepted', function () {",
        '    pm.response.to.have.status(202);',
        "    pm.collectionVariables.set('limitOrderId', pm.response.json().orderId);",
        '});',
        "pm.collectionVariables.set('pollsLeft', 50);",
      ]),
    ],
    request: {
      method: 'POST',
      header: submitHeaders(),
      body: jsonBody({ type: 'limit', tokenIn: order.tokenIn, tokenOut: order.tokenOut, amountIn: order.amountIn ?? '1', limitPrice: '1000000' }),
      url: url('/api/orders/execute'),
      description:
        'A limit order rests `open` until the best route for its own amount returns at least amountIn × limitPrice; this one asks far more than the market gives.',
    },
  });
  items.push(
    pollUntil('11. Poll until it rests open', 'limitOrderId', 'open', [
      "pm.test('open, with its minimum and expiry', function () {",
      "    pm.expect(order.status).to.eql('open');",
      "    pm.expect(order.minAmountOut).to.be.a('string');",
      "    pm.expect(order.expiresAt).to.be.a('string');",
      "    pm.expect(order.events[order.events.length - 1].status).to.eql('open');",
      '});',
    ], 'Once stored, the order is armed: `open`, with the minimum it waits for and when it expires.'),
  );
  items.push({
    name: '12. Cancel it',
    event: [
      script([
        "pm.test('200, cancelled', function () {",
        '    pm.response.to.have.status(200);',
        "    pm.expect(pm.response.json().status).to.eql('cancelled');",
        '});',
      ]),
    ],
    request: {
      method: 'DELETE',
      header: [],
      url: url('/api/orders/{orderId}', [], { orderId: '{{limitOrderId}}' }),
      description: 'An open order can be cancelled; a cancel racing its trigger has exactly one winner.',
    },
  });
  items.push({
    name: '13. Error: cancel it again',
    event: [expectError(409, 'NOT_CANCELLABLE')],
    request: {
      method: 'DELETE',
      header: [],
      url: url('/api/orders/{orderId}', [], { orderId: '{{limitOrderId}}' }),
      description: 'Only an open order can be cancelled: one that fired or finished answers 409 NOT_CANCELLABLE.',
    },
  });
  items.push({
    name: '14. Place a sniper for a token that does not exist yet',
    event: [
      prerequest([
        "pm.collectionVariables.set('sniperSymbol', 'SNIPE' + Math.floor(Math.random() * 1e9));",
      ]),
      script([
        "pm.test('202 Accepted', function () {",
        '    pm.response.to.have.status(202);',
        "    pm.collectionVariables.set('sniperOrderId', pm.response.json().orderId);",
        '});',
        "pm.collectionVariables.set('pollsLeft', 50);",
      ]),
    ],
    request: {
      method: 'POST',
      header: submitHeaders(),
      body: jsonBody({ type: 'sniper', tokenIn: 'SOL', tokenOut: '{{sniperSymbol}}', amountIn: '0.1', maxPrice: '0.01', minLiquidity: '50' }),
      url: url('/api/orders/execute'),
      description:
        'A sniper order names a token by symbol (or mint) before it is listed, and rests `open` until a pool for it is open, holds at least minLiquidity of tokenIn, and sells at no more than maxPrice tokenIn per token.',
    },
  });
  items.push(
    pollUntil('15. Poll until the sniper rests open', 'sniperOrderId', 'open', [
      "pm.test('open, with its maxPrice and no minimum yet', function () {",
      "    pm.expect(order.status).to.eql('open');",
      "    pm.expect(order.maxPrice).to.eql('0.01');",
      "    const event = order.events[order.events.length - 1];",
      "    pm.expect(event.maxPrice).to.eql('0.01');",
      "    pm.expect(event).to.not.have.property('minAmountOut');",
      '});',
    ], 'Armed: `open`, waiting for its token; its minimum follows from maxPrice once the token is known.'),
  );
  items.push({
    name: '16. Launch the token (admin key)',
    event: [
      script([
        "pm.test('201 Created, in a slot of its own', function () {",
        '    pm.response.to.have.status(201);',
        '    const launched = pm.response.json();',
        "    pm.expect(launched.symbol).to.eql(pm.collectionVariables.get('sniperSymbol'));",
        "    pm.collectionVariables.set('launchSlot', launched.slot);",
        '});',
        "pm.collectionVariables.set('pollsLeft', 50);",
      ]),
    ],
    request: {
      method: 'POST',
      header: [{ key: 'Content-Type', value: 'application/json' }],
      auth: { type: 'bearer', bearer: [{ key: 'token', value: '{{adminKey}}', type: 'string' }] },
      body: jsonBody({ symbol: '{{sniperSymbol}}', decimals: 6, quoteToken: 'SOL', venue: 'raydium', baseAmount: '1000000', quoteAmount: '100' }),
      url: url('/api/admin/sim/launches'),
      description:
        'Lists the token with one Raydium pool of 1,000,000 of it against 100 SOL (0.0001 SOL each), as a launch on the chain would (needs the scope `admin`: the environment\'s `adminKey`).',
    },
  });
  items.push(
    pollUntil('17. Poll until the sniper is confirmed', 'sniperOrderId', 'confirmed', [
      "pm.test('confirmed, fired on the slot of the launch', function () {",
      "    pm.expect(order.status).to.eql('confirmed');",
      "    pm.expect(order.tokenOut).to.eql(pm.collectionVariables.get('sniperSymbol'));",
      "    const routing = order.events.find(function (e) { return e.status === 'routing'; });",
      "    pm.expect(routing.trigger.slot).to.eql(Number(pm.collectionVariables.get('launchSlot')));",
      '});',
    ], 'The sniper fired on the first state of the new pool (the launch\'s slot) and bought within its maxPrice.'),
  );
  return {
    name: 'Walkthrough',
    description:
      'Run this folder (Collection Runner, or newman) after setting `baseUrl`, `apiKey` (a key with the scope `trade`) and `adminKey` (scope `admin`, for the token launch) in the environment: it submits an order, follows it to confirmation, places a limit order and cancels it while it rests, places a sniper order for a token that does not exist yet, launches the token and sees the sniper fill, and shows the main errors, each request with tests.',
    item: items,
  };
}

/** A request that reads the order in `variable` again (up to `pollsLeft`
 * times, 100 ms apart) until its status is `status`, then runs `tests` (which
 * see it as `order`). */
function pollUntil(name, variable, status, tests, description) {
  return {
    name,
    event: [
      prerequest([
        "const polls = Number(pm.collectionVariables.get('pollsLeft'));",
        'if (polls < 50) { setTimeout(function () {}, 100); }',
      ]),
      script([
        'const order = pm.response.json();',
        "const pollsLeft = Number(pm.collectionVariables.get('pollsLeft')) - 1;",
        "pm.collectionVariables.set('pollsLeft', pollsLeft);",
        `if (order.status !== '${status}' && pollsLeft > 0) {`,
        "    const next = pm.execution && typeof pm.execution.setNextRequest === 'function'",
        '        ? pm.execution.setNextRequest.bind(pm.execution) : postman.setNextRequest;',
        '    next(pm.info.requestName);',
        '} else {',
        ...tests.map((line) => `    ${line}`),
        '}',
      ]),
    ],
    request: {
      method: 'GET',
      header: [],
      url: url('/api/orders/{orderId}', [], { orderId: `{{${variable}}}` }),
      description,
    },
  };
}

// --- the collection ---------------------------------------------------------

const folders = new Map((spec.tags ?? []).map((t) => [t.name, { name: t.name, description: t.description ?? '', item: [] }]));
for (const [path, method, op, shared] of operations()) {
  const tag = op.tags?.[0] ?? 'other';
  if (!folders.has(tag)) folders.set(tag, { name: tag, description: '', item: [] });
  folders.get(tag).item.push(reference(path, method, op, shared));
}

const title = spec.info?.title ?? 'API';
const collection = {
  info: {
    _postman_id: stableId(`collection ${title}`),
    name: title,
    description: `${spec.info?.description ?? ''}\n\nGenerated from docs/openapi.json by scripts/js/postman.mjs (version ${spec.info?.version ?? ''}): do not edit by hand.`.trim(),
    schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
  },
  item: [walkthrough(), ...[...folders.values()].filter((f) => f.item.length > 0)],
  auth: { type: 'bearer', bearer: [{ key: 'token', value: '{{apiKey}}', type: 'string' }] },
  variable: [
    { key: 'orderId', value: '', description: 'Set by the walkthrough: the order it submitted.' },
    { key: 'limitOrderId', value: '', description: 'Set by the walkthrough: the limit order it places and cancels.' },
    { key: 'sniperOrderId', value: '', description: 'Set by the walkthrough: the sniper order it places.' },
    { key: 'sniperSymbol', value: '', description: 'Set by the walkthrough: the symbol of the token it launches.' },
    { key: 'launchSlot', value: '', description: 'Set by the walkthrough: the slot of its launch.' },
    { key: 'keyId', value: '', description: 'An API key id, for revokeKey.' },
    { key: 'pollsLeft', value: '' },
    { key: 'idempotencyKey', value: '' },
    { key: 'conflictKey', value: '' },
  ],
};

const environment = {
  id: stableId(`environment ${title}`),
  name: `${title} (local)`,
  values: [
    { key: 'baseUrl', value: 'http://localhost:8080', type: 'default', enabled: true },
    { key: 'apiKey', value: '', type: 'secret', enabled: true },
    { key: 'adminKey', value: '', type: 'secret', enabled: true },
  ],
  _postman_variable_scope: 'environment',
};

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'oee.postman_collection.json'), `${JSON.stringify(collection, null, 2)}\n`);
writeFileSync(join(outDir, 'oee.postman_environment.json'), `${JSON.stringify(environment, null, 2)}\n`);
console.log(`${outDir}: ${operations().length} operations in ${folders.size} folders, and the walkthrough (${collection.item[0].item.length} requests)`);
