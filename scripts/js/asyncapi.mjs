// Validates an AsyncAPI document with the AsyncAPI parser (its own rules and
// the spec's JSON Schema), reading it from its path so that relative $refs
// (./openapi.json#/components/schemas/...) resolve beside it; then checks that
// every $ref into openapi.json names a component that exists, and that every
// message example is valid against its payload schema.
//
//   node scripts/js/asyncapi.mjs docs/asyncapi.yaml
//
// Prints every diagnostic; exits 1 on any of error severity, a dangling $ref or
// an example its schema refuses.
import { Parser, fromFile, DiagnosticSeverity } from '@asyncapi/parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const source = resolve(process.argv[2] ?? 'docs/asyncapi.yaml');
const names = { 0: 'error', 1: 'warning', 2: 'information', 3: 'hint' };

const { document, diagnostics } = await fromFile(new Parser(), source).parse({ source });
let errors = 0;
for (const d of diagnostics) {
  if (d.severity === DiagnosticSeverity.Error) errors += 1;
  const where = d.path?.length ? ` at ${d.path.join('.')}` : '';
  console.log(`${names[d.severity] ?? d.severity}: ${d.code}: ${d.message}${where}`);
}
if (!document) errors += errors === 0 ? 1 : 0;

// The $refs into openapi.json, read from the text (the parser has inlined them).
const openapiPath = resolve(dirname(source), 'openapi.json');
const openapi = JSON.parse(readFileSync(openapiPath, 'utf8'));
const refs = [...readFileSync(source, 'utf8').matchAll(/\$ref:\s*['"]?\.\/openapi\.json#([^'"\s]+)/g)].map((m) => m[1]);
for (const pointer of refs) {
  const target = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((node, key) => (node === undefined ? undefined : node[key]), openapi);
  if (target === undefined) {
    console.log(`error: ${source}: $ref ./openapi.json#${pointer} names nothing in ${openapiPath}`);
    errors += 1;
  }
}

// The examples against their (resolved) payload schemas. The payloads are
// OpenAPI 3.1 components, read as JSON Schema: `discriminator` and the like are
// annotations here.
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
let examples = 0;
for (const message of document?.allMessages() ?? []) {
  const raw = message.payload()?.json();
  if (!raw) continue;
  const validate = ajv.compile(raw.schemaFormat ? raw.schema : raw);
  for (const example of message.examples()) {
    examples += 1;
    if (!validate(example.payload())) {
      console.log(`error: message ${message.id()}, example ${example.name()}: ${ajv.errorsText(validate.errors)}`);
      errors += 1;
    }
  }
}

if (errors > 0) {
  console.log(`${source}: ${errors} error(s)`);
  process.exit(1);
}
const channels = document.channels().length;
const messages = document.components().messages().length;
console.log(
  `${source}: AsyncAPI ${document.version()}, ${channels} channels, ${document.operations().length} operations, ` +
    `${messages} messages; ${refs.length} $refs into openapi.json resolve; ${examples} examples valid`,
);
