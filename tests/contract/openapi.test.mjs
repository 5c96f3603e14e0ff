// Contract test: docs/openapi.json describes the server, not only itself (docs/api.md).
//
// 1. The document is valid OpenAPI 3.1 (@seriousme/openapi-schema-validator), with the event
//    schema it references (docs/event.schema.json; a permissive stand-in while it is absent),
//    and its info.version is the project's (CMakeLists.txt).
// 2. Every response the end-to-end suite received from the gateway (the {"kind":"http"} and
//    {"kind":"sse"} records of $SB_CONTRACT_LOG/*.jsonl, tests/support/contract_log.hpp) is
//    matched to its documented operation by path template and method, and must be documented:
//    its status, its content type, and for JSON its body against the status's schema (ajv, JSON
//    Schema 2020-12 as OpenAPI 3.1 uses, with ajv-formats). A path no route of the document
//    matches is not the gateway's (the e2e tests also call fake platforms and backends, and probe
//    unknown paths): skipped, but a gateway 404 body there must still be the error body.
//
// Run by CTest as `contract.openapi` after every e2e test (tests/CMakeLists.txt), with
// SB_CONTRACT_LOG and SB_SOURCE_DIR set. By hand:
//   SB_CONTRACT_LOG=/tmp/log build/tests/e2e_tests "[stream]"
//   SB_CONTRACT_LOG=/tmp/log SB_SOURCE_DIR=. node tests/contract/openapi.test.mjs
// Exits non-zero with the failures listed; prints what was checked per operation.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const toolsDir = path.join(here, '..', 'tools');
const requireTools = createRequire(path.join(toolsDir, 'package.json'));
const Ajv2020 = requireTools('ajv/dist/2020.js').default;
const addFormats = requireTools('ajv-formats').default;
const { Validator } = await import(
  pathToFileURL(path.join(toolsDir, 'node_modules/@seriousme/openapi-schema-validator/index.js')).href
);

const sourceDir = process.env.SB_SOURCE_DIR || path.join(here, '..', '..');
const logDir = process.env.SB_CONTRACT_LOG;
const docPath = path.join(sourceDir, 'docs', 'openapi.json');
const eventSchemaPath = path.join(sourceDir, 'docs', 'event.schema.json');
const base = 'https://switchboard.invalid/docs/';
const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function fail(message) {
  console.error(`contract.openapi: FAILED: ${message}`);
  process.exit(1);
}

const readJson = (file) => {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail(`${file}: ${e.message}`);
  }
};

// -- 1. the document itself -------------------------------------------------------------------
const doc = readJson(docPath);
const eventSchema = fs.existsSync(eventSchemaPath) ? readJson(eventSchemaPath) : null;
if (!eventSchema) {
  console.log('note: docs/event.schema.json is absent: events are checked as plain objects here');
}
{
  const validator = new Validator();
  // The validator checks the document's structure and that its $refs resolve; it resolves an
  // external one only when given, and cannot walk the event schema's own recursive $refs. So a
  // stand-in here: the real event schema is resolved and compiled by ajv below.
  await validator.addSpecRef({ type: 'object' }, 'event.schema.json');
  const res = await validator.validate(structuredClone(doc));
  if (!res.valid) {
    fail(`docs/openapi.json is not valid OpenAPI 3.1:\n${JSON.stringify(res.errors, null, 2)}`);
  }
  if (validator.version !== '3.1') {
    fail(`docs/openapi.json is OpenAPI ${validator.version}, not 3.1`);
  }
  const cmake = fs.readFileSync(path.join(sourceDir, 'CMakeLists.txt'), 'utf8');
  const version = cmake.match(/project\(\s*switchboard\s+VERSION\s+([0-9.]+)/)?.[1];
  if (!version || doc.info.version !== version) {
    fail(`info.version is ${doc.info.version}, CMakeLists.txt says ${version}`);
  }
  console.log(`docs/openapi.json: valid OpenAPI ${doc.openapi}, version ${doc.info.version}`);
}

// -- 2. the responses the e2e suite received --------------------------------------------------
if (!logDir) {
  fail('SB_CONTRACT_LOG is not set: run it through ctest (`ctest -R contract.openapi`), or set it to the directory the e2e tests wrote');
}
if (!fs.existsSync(logDir)) {
  fail(`${logDir} does not exist: no e2e test ran with SB_CONTRACT_LOG set`);
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
if (eventSchema) {
  // The document names it relative to itself; the schema keeps its own $id, so an alias.
  const copy = structuredClone(eventSchema);
  if (copy.$id) {
    ajv.addSchema(copy);
    ajv.addSchema({ $id: `${base}event.schema.json`, $ref: copy.$id });
  } else {
    ajv.addSchema(copy, `${base}event.schema.json`);
  }
} else {
  ajv.addSchema({ type: 'object' }, `${base}event.schema.json`);
}
ajv.addSchema({ ...structuredClone(doc), $id: `${base}openapi.json` });
try {
  ajv.compile({ $ref: `${base}openapi.json#/components/schemas/Event` });
} catch (e) {
  fail(`the Event schema (docs/event.schema.json through docs/openapi.json) does not compile: ${e.message}`);
}

const pointer = (...parts) => parts.map((p) => String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
/** The response object of an operation's status, and its JSON pointer ($ref followed). */
function responseOf(template, method, status) {
  let at = pointer('paths', template, method, 'responses', status);
  let response = doc.paths[template][method].responses[status];
  for (let hops = 0; response && response.$ref && hops < 4; hops++) {
    at = response.$ref.replace(/^#\//, '');
    response = at.split('/').reduce((o, p) => o?.[p.replaceAll('~1', '/').replaceAll('~0', '~')], doc);
  }
  return response ? { response, at } : null;
}
/** The object a local `$ref` ("#/components/headers/XRequestId") names. */
const resolveRef = (ref) =>
  ref.replace(/^#\//, '').split('/').reduce((o, p) => o?.[p.replaceAll('~1', '/').replaceAll('~0', '~')], doc) || {};
const validators = new Map();
function validatorFor(at, media) {
  const key = `${at} ${media}`;
  if (!validators.has(key)) {
    const ref = `${base}openapi.json#/${at}/${pointer('content', media, 'schema')}`;
    validators.set(key, ajv.compile({ $ref: ref }));
  }
  return validators.get(key);
}
const errorValidator = (status) => ajv.compile({ $ref: `${base}openapi.json#/components/schemas/Error${status}` });

// The templates, as the gateway matches them (src/http/routes.cpp `match_route`): literal
// segments exactly, a parameter any non-empty segment that does not decode to '/' (but for the
// webhook routes' tenant and channel).
const templates = Object.keys(doc.paths).map((t) => ({
  template: t,
  segments: t.split('/').slice(1),
  slashOk: t.startsWith('/webhooks/{tenant}/{channel}'),
}));
function matchPath(rawPath) {
  const segs = rawPath.split('/').slice(1);
  for (const t of templates) {
    if (t.segments.length !== segs.length) continue;
    let ok = true;
    for (let i = 0; i < segs.length && ok; i++) {
      const p = t.segments[i];
      if (p.startsWith('{') && p.endsWith('}')) {
        let decoded;
        try {
          decoded = decodeURIComponent(segs[i]);
        } catch {
          ok = false;
          break;
        }
        ok = segs[i] !== '' && (t.slashOk || !decoded.includes('/'));
      } else {
        ok = p === segs[i];
      }
    }
    if (ok) return t.template;
  }
  return null;
}

const operations = new Map(); // "GET /v1/events" -> {statuses: Map}
for (const [t, item] of Object.entries(doc.paths)) {
  for (const m of methods) {
    if (item[m]) operations.set(`${m.toUpperCase()} ${t}`, { statuses: new Map(), sse: 0 });
  }
}
const failures = new Map(); // grouped: message -> {count, example}
function problem(group, example) {
  const f = failures.get(group) || { count: 0, example };
  f.count++;
  failures.set(group, f);
}
const mediaOf = (contentType) => (contentType || '').split(';')[0].trim().toLowerCase();
const describe = (errors) =>
  errors.slice(0, 5).map((e) => `${e.instancePath || '(body)'} ${e.message}${e.params && Object.keys(e.params).length ? ' ' + JSON.stringify(e.params) : ''}`).join('; ');
const short = (text) => (text.length > 300 ? `${text.slice(0, 300)}…` : text);

let records = 0;
let notGateway = 0;
let unknownPaths = 0;
let wrongMethod = 0;
const notGatewayPaths = new Map();

function checkHttp(r) {
  const url = new URL(r.url);
  const template = matchPath(url.pathname);
  const where = `${r.method} ${url.pathname}${url.search ? '?…' : ''} -> ${r.status}`;
  if (!template) {
    // Not a route of the gateway: a fake platform or backend, or an unknown path on purpose.
    // A gateway's 404 for it must still be its error body.
    let body;
    try {
      body = r.body ? JSON.parse(r.body) : null;
    } catch {
      body = null;
    }
    if (r.status === 404 && body && body.error === 'not_found' && /^no route for /.test(body.message || '')) {
      unknownPaths++;
      const v = errorValidator(404);
      if (!v(body)) problem(`unknown path: the 404 is not Error404: ${describe(v.errors)}`, where);
      return;
    }
    notGateway++;
    const p = url.pathname.split('/').slice(0, 3).join('/');
    notGatewayPaths.set(p, (notGatewayPaths.get(p) || 0) + 1);
    return;
  }
  const method = r.method.toLowerCase();
  const op = doc.paths[template][method];
  if (!op) {
    // A known path with another method: the gateway's 405 with Allow.
    wrongMethod++;
    if (r.status !== 405) {
      problem(`${r.method} ${template}: not documented, and answered ${r.status} (a 405 was expected)`, where);
      return;
    }
    const v = errorValidator(405);
    let body;
    try {
      body = JSON.parse(r.body);
    } catch {
      problem(`${r.method} ${template}: the 405 body is not JSON`, where);
      return;
    }
    if (!v(body)) problem(`${r.method} ${template}: the 405 body is not Error405: ${describe(v.errors)}`, where);
    return;
  }
  const name = `${r.method.toUpperCase()} ${template}`;
  const stats = operations.get(name).statuses;
  stats.set(r.status, (stats.get(r.status) || 0) + 1);
  const found = responseOf(template, method, String(r.status));
  if (!found) {
    problem(`${name} (${op.operationId}): status ${r.status} is not documented`, `${where} ${short(r.body || '')}`);
    return;
  }
  const { response, at } = found;
  // Every header the document marks required must be on the answer (X-Request-Id everywhere,
  // Switchboard-Event-Schema on event pages).
  for (const [header, spec] of Object.entries(response.headers || {})) {
    const resolved = spec.$ref ? resolveRef(spec.$ref) : spec;
    if (resolved.required && r.headers && !(header.toLowerCase() in r.headers)) {
      problem(`${name} ${r.status}: the required header ${header} is missing`, where);
    }
  }
  const media = mediaOf(r.content_type);
  const content = response.content || {};
  if (!media) {
    if (Object.keys(content).length && r.status !== 304) {
      problem(`${name} ${r.status}: answered without a content type; documented: ${Object.keys(content).join(', ')}`, where);
    }
    return;
  }
  if (!content[media]) {
    problem(`${name} ${r.status}: content type ${media} is not documented (documented: ${Object.keys(content).join(', ') || 'none'})`, where);
    return;
  }
  if (media !== 'application/json' && media !== 'application/problem+json') {
    return; // not recorded (contract_log.hpp): its type is what can be checked
  }
  let body;
  try {
    body = JSON.parse(r.body);
  } catch (e) {
    problem(`${name} ${r.status}: the body is not JSON (${e.message})`, `${where} ${short(r.body)}`);
    return;
  }
  const v = validatorFor(at, media);
  if (!v(body)) {
    problem(`${name} ${r.status}: the body does not match the documented schema: ${describe(v.errors)}`, `${where} ${short(r.body)}`);
  }
}

function checkSse(r) {
  const url = new URL(r.url);
  const template = matchPath(url.pathname);
  if (!template) {
    notGateway++;
    return;
  }
  const op = doc.paths[template].get;
  const name = `GET ${template}`;
  if (!op) {
    problem(`${name}: a stream on a path without a documented GET`, r.url);
    return;
  }
  operations.get(name).sse++;
  const response = responseOf(template, 'get', String(r.status))?.response;
  if (!response || !(response.content || {})['text/event-stream']) {
    problem(`${name}: a stream answered ${r.status}, not documented as text/event-stream`, r.url);
  }
}

const files = fs.readdirSync(logDir).filter((f) => f.endsWith('.jsonl')).sort();
for (const f of files) {
  const lines = fs.readFileSync(path.join(logDir, f), 'utf8').split('\n');
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    let r;
    try {
      r = JSON.parse(line);
    } catch (e) {
      problem(`a record that is not JSON (${e.message})`, `${f}:${i + 1}`);
      continue;
    }
    if (r.kind === 'http') {
      records++;
      checkHttp(r);
    } else if (r.kind === 'sse') {
      records++;
      checkSse(r);
    }
  }
}
if (records === 0) {
  fail(`no http or sse record in ${logDir}: did the e2e tests run with SB_CONTRACT_LOG set?`);
}

// -- summary ----------------------------------------------------------------------------------
console.log(`\n${records} records from ${files.length} files; per operation (status x count):`);
const never = [];
for (const [name, o] of operations) {
  const total = [...o.statuses.values()].reduce((a, b) => a + b, 0) + o.sse;
  if (total === 0) {
    never.push(name);
    continue;
  }
  const statuses = [...o.statuses.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}x${n}`);
  if (o.sse) statuses.push(`sse-frames x${o.sse}`);
  console.log(`  ${String(total).padStart(6)}  ${name}  (${statuses.join(' ')})`);
}
console.log(`  ${String(wrongMethod).padStart(6)}  405 answers for a method a documented path has not`);
console.log(`  ${String(unknownPaths).padStart(6)}  404 answers for paths no route knows`);
console.log(`  ${String(notGateway).padStart(6)}  requests to other servers (fake platforms and backends), not checked: ` +
  [...notGatewayPaths.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([p, n]) => `${p}… x${n}`).join(', '));
console.log(`operations never exercised by the e2e suite (${never.length}): ${never.join(', ') || 'none'}`);

if (failures.size > 0) {
  console.error(`\ncontract.openapi: FAILED: ${failures.size} kinds of undocumented answers:`);
  for (const [group, f] of failures) {
    console.error(`- ${group} (x${f.count})\n    e.g. ${f.example}`);
  }
  process.exit(1);
}
console.log('\ncontract.openapi: every recorded answer is documented');
