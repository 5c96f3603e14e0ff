// Contract: every event the end-to-end suite received from the real binary is valid against
// docs/event.schema.json (JSON Schema 2020-12, checked by ajv in strict mode), and every response
// and push delivery that carries events names that schema in `Switchboard-Event-Schema`
// (docs/events.md).
//
// Reads the contract log (tests/support/contract_log.hpp): $SB_CONTRACT_LOG/*.jsonl, written by
// the e2e tests that CTest runs first (a fixture). Checked:
//   - {"kind":"http"} GET /v1/events answered 200: each element of `events`, and the header;
//   - {"kind":"http"} GET /v1/subjects/{subject} answered 200: the export (`#/$defs/subject_export`),
//     whose `events` are full events;
//   - {"kind":"sse"} frames of GET /v1/stream: `data` is an event whose `type` is the frame's
//     `event:`, and the stream's head names the schema; frames of a web chat visitor's stream
//     (/chat/{tenant}/{channel}/stream) against `#/$defs/visitor_event`;
//   - {"kind":"push"} deliveries a fake backend received: the body, and the header.
// Exits 1 with every problem listed (at most 20 shown per kind of problem) when an event is
// invalid, a header is missing or wrong, or when no event at all was seen: a log that recorded
// nothing proves nothing.
//
// Run by CTest as `contract.events` with SB_CONTRACT_LOG and SB_SOURCE_DIR set; by hand:
//   SB_CONTRACT_LOG=/tmp/log SB_SOURCE_DIR=. node tests/contract/events.test.mjs
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const requireTools = createRequire(path.join(here, '..', 'tools', 'package.json'));
const Ajv2020 = requireTools('ajv/dist/2020.js').default;
const addFormats = requireTools('ajv-formats').default;

const header = 'switchboard-event-schema';  // the contract log writes header names in lower case

function fail(message) {
  console.error(`not ok - events contract\n${message}`);
  process.exit(1);
}

const sourceDir = process.env.SB_SOURCE_DIR || path.join(here, '..', '..');
const logDir = process.env.SB_CONTRACT_LOG;
if (!logDir) {
  fail('SB_CONTRACT_LOG is not set: run through CTest (`ctest -R contract.events`), which runs ' +
       'the e2e tests first, or point it at a directory the e2e tests wrote');
}

// -- the schema ---------------------------------------------------------------------------------

const schemaPath = path.join(sourceDir, 'docs', 'event.schema.json');
const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));
// Strict mode (unknown keywords, formats and ignored types are errors), except ajv's
// `strictRequired` lint: it refuses a `required` whose property is declared in another subschema,
// which is how the per-type rules (`if`/`then` over the event's one `properties`) are written.
const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
addFormats(ajv);
try {
  ajv.addSchema(schema);  // compiled below, on first use
} catch (e) {
  fail(`${schemaPath} is not a valid strict JSON Schema 2020-12: ${e.message}`);
}
const schemaId = schema.$id;
if (!/^https:\/\/.+\/v\d+\.json$/.test(schemaId || '')) {
  fail(`${schemaPath}: $id must name the version (…/v<N>.json), got ${JSON.stringify(schemaId)}`);
}
const visitorId = `${schemaId}#/$defs/visitor_event`;
const exportId = `${schemaId}#/$defs/subject_export`;
let validate;
try {
  validate = {
    event: ajv.getSchema(schemaId),
    visitor: ajv.getSchema(visitorId),
    export: ajv.getSchema(exportId),
  };
} catch (e) {
  fail(`${schemaPath} is not a valid strict JSON Schema 2020-12: ${e.message}`);
}
for (const [name, v] of Object.entries(validate)) {
  if (!v) {
    fail(`${schemaPath}: no schema for ${name} (expected ${schemaId}, #/$defs/visitor_event, #/$defs/subject_export)`);
  }
}

// -- the schema refuses what it must -----------------------------------------------------------
// A schema that accepts everything would pass any log: a few events each rule exists to refuse.

const base = {
  id: 'evt_01M910XPJWKN0927T3504ESEDA', seq: 7, tenant: 'acme', type: 'message',
  received_at: '2026-12-04T17:16:39.388Z',
};
const subject = 'sub_DRQKXEQSPC227KTP';
const receipt = {
  receipt: 'era_01M910XPJWKN0927T3504ESEDA',
  erased: { events: 1, dedupe_keys: 1, dead_letters: 0, subjects: 1 },
};
const mustRefuse = {
  'an undocumented member': { ...base, note: 'x' },
  'an undocumented member of content': { ...base, content: { text: 'hi', html: '<p>hi</p>' } },
  'seq as a string': { ...base, seq: '7' },
  'no tenant': { ...base, tenant: undefined },
  'an empty string member': { ...base, content: { text: '' } },
  'a status event without status': { ...base, type: 'status' },
  'status on a message': { ...base, status: { state: 'read' } },
  'outbound on a message': {
    ...base, outbound: { id: 'out_01M910XPJWKN0927T3504ESEDA', state: 'sent', attempts: 1 },
  },
  'a system event without kind': { ...base, type: 'system' },
  'a reaction without content.reaction': { ...base, type: 'reaction', content: { text: 'x' } },
  'a consent change without source': {
    ...base, type: 'consent.changed', subject, consent: { purpose: 'marketing', granted: false },
  },
  'an erasure receipt with its own subject': {
    ...base, type: 'privacy.erased', subject, privacy: { subject, ...receipt },
  },
  'an erasure receipt without its receipt': { ...base, type: 'privacy.erased', privacy: { subject } },
  'a sender without platform_id': { ...base, sender: { name: 'Jane' } },
};
for (const [what, e] of Object.entries(mustRefuse)) {
  const event = JSON.parse(JSON.stringify(e));  // drops the members set to undefined
  if (validate.event(event)) {
    fail(`${schemaPath} accepts ${what}: ${JSON.stringify(event)}`);
  }
}
const mustAccept = {
  'a message': base,
  'an erasure receipt': { ...base, type: 'privacy.erased', privacy: { subject, ...receipt } },
};
for (const [what, e] of Object.entries(mustAccept)) {
  if (!validate.event(e)) {
    fail(`${schemaPath} refuses ${what}:\n${explain(validate.event.errors)}`);
  }
}
// The visitor variant: the same event without tenant (nor subject).
const { tenant: _tenant, ...visitorBase } = base;
if (validate.visitor(base) || !validate.visitor(visitorBase)) {
  fail(`${schemaPath}: #/$defs/visitor_event must accept an event without tenant and refuse one ` +
       'with a tenant');
}

// -- the log ------------------------------------------------------------------------------------

if (!fs.existsSync(logDir)) {
  fail(`the contract log ${logDir} does not exist: did the e2e tests run with SB_CONTRACT_LOG set?`);
}
const files = fs.readdirSync(logDir).filter((f) => f.endsWith('.jsonl')).sort();
if (files.length === 0) {
  fail(`the contract log ${logDir} holds no *.jsonl file`);
}

const problems = new Map();  // kind of problem -> [messages]
function problem(kind, message) {
  if (!problems.has(kind)) {
    problems.set(kind, []);
  }
  problems.get(kind).push(message);
}

const counts = new Map();  // `${source} ${type}` -> events validated
let seen = 0;
function count(source, type) {
  const key = `${source}\t${type}`;
  counts.set(key, (counts.get(key) || 0) + 1);
  seen += 1;
}

/** ajv's errors as readable lines. A failure inside a `$ref` drops its annotations, so the
 * referring object then also reports each of its members as unevaluated: those follow-on errors
 * are left out whenever another error explains the failure. */
function explain(errors) {
  const all = errors || [];
  const causes = all.filter((e) => e.keyword !== 'unevaluatedProperties');
  return (causes.length > 0 ? causes : all)
    .map((e) => `    ${e.instancePath || '/'} ${e.message}` +
      (e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : '') +
      ` (${e.schemaPath})`)
    .join('\n');
}

function excerpt(text) {
  const s = typeof text === 'string' ? text : JSON.stringify(text);
  return s.length > 600 ? `${s.slice(0, 600)}…` : s;
}

/** Validates `e` with `v`; counts it under `source` and its type, or records why it is invalid. */
function check(v, e, source, where) {
  const type = e && typeof e === 'object' && typeof e.type === 'string' ? e.type : '(no type)';
  if (!v(e)) {
    problem(`invalid event (${source})`, `${where}: ${type} event:\n${explain(v.errors)}\n    event: ${excerpt(e)}`);
    return;
  }
  count(source, type);
}

function checkHeader(headers, expected, source, where) {
  const got = headers ? headers[header] : undefined;
  if (got !== expected) {
    problem(`missing or wrong Switchboard-Event-Schema (${source})`,
            `${where}: ${header} is ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
  }
}

function parse(text, what) {
  try {
    return JSON.parse(text);
  } catch (e) {
    problem('not JSON', `${what}: ${e.message}: ${excerpt(text)}`);
    return undefined;
  }
}

function pathOf(url) {
  try {
    return new URL(url, 'http://localhost').pathname;
  } catch {
    return '';
  }
}

const visitorStream = /^\/chat\/[^/]+\/[^/]+\/stream$/;
const subjectExport = /^\/v1\/subjects\/[^/]+$/;
const eventTypes = new Set(schema.$defs.event_type.enum);
let records = 0;

for (const file of files) {
  const lines = fs.readFileSync(path.join(logDir, file), 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) {
      return;
    }
    const where = `${file}:${i + 1}`;
    const r = parse(line, where);
    if (!r) {
      return;
    }
    records += 1;
    const p = pathOf(r.url);
    if (r.kind === 'http' && r.method === 'GET' && r.status === 200 && p === '/v1/events') {
      checkHeader(r.headers, schemaId, 'GET /v1/events', `${where} ${r.url}`);
      const body = parse(r.body, `${where} ${r.url}`);
      if (!body || !Array.isArray(body.events)) {
        problem('GET /v1/events body', `${where}: no "events" array: ${excerpt(r.body)}`);
        return;
      }
      body.events.forEach((e, k) => check(validate.event, e, 'GET /v1/events', `${where} events[${k}]`));
    } else if (r.kind === 'http' && r.method === 'GET' && r.status === 200 && subjectExport.test(p)) {
      const body = parse(r.body, `${where} ${r.url}`);
      if (!body) {
        return;
      }
      if (!validate.export(body)) {
        problem('invalid subject export', `${where} ${r.url}:\n${explain(validate.export.errors)}\n    body: ${excerpt(body)}`);
        return;
      }
      for (const e of body.events) {
        count('GET /v1/subjects/{subject}', e.type);
      }
    } else if (r.kind === 'sse' && r.status === 200 && (p === '/v1/stream' || visitorStream.test(p))) {
      const visitor = p !== '/v1/stream';
      const source = visitor ? 'visitor stream' : 'GET /v1/stream';
      // The server writes only event frames (`event: <type>`; keep-alives are comments, which
      // the log does not hold): a frame named otherwise is not an event and is not checked.
      if (!visitor && !eventTypes.has(r.event)) {
        problem('unknown SSE frame', `${where}: event ${JSON.stringify(r.event)} is no event type`);
        return;
      }
      checkHeader(r.headers, visitor ? visitorId : schemaId, source, `${where} ${r.url}`);
      const e = parse(r.data, `${where} ${r.url}`);
      if (e === undefined) {
        return;
      }
      const named = visitor ? 'message' : e.type;
      if (r.event !== named) {
        problem('SSE event name', `${where}: frame "event: ${r.event}" carries a ${e.type} event`);
      }
      if (e && String(e.seq) !== r.id) {
        problem('SSE id', `${where}: frame "id: ${r.id}" carries seq ${e.seq}`);
      }
      check(visitor ? validate.visitor : validate.event, e, source, `${where} ${r.url}`);
    } else if (r.kind === 'push') {
      checkHeader(r.headers, schemaId, 'push', `${where} ${r.url}`);
      const e = parse(r.body, `${where} push to ${r.url}`);
      if (e !== undefined) {
        check(validate.event, e, 'push', `${where} push to ${r.url}`);
      }
    }
  });
}

// -- the verdict --------------------------------------------------------------------------------

const bySource = new Map();
for (const [key, n] of counts) {
  const [source, type] = key.split('\t');
  if (!bySource.has(source)) {
    bySource.set(source, []);
  }
  bySource.get(source).push([type, n]);
}
console.log(`# ${records} records in ${files.length} files of ${logDir}; schema ${schemaId}`);
for (const [source, types] of [...bySource].sort()) {
  const total = types.reduce((a, [, n]) => a + n, 0);
  console.log(`# ${source}: ${total} valid events`);
  for (const [type, n] of types.sort()) {
    console.log(`#   ${type.padEnd(22)} ${n}`);
  }
}

if (problems.size > 0) {
  const text = [...problems].map(([kind, list]) =>
    `${kind}: ${list.length}\n${list.slice(0, 20).map((m) => `  ${m}`).join('\n')}` +
    (list.length > 20 ? `\n  … and ${list.length - 20} more` : '')).join('\n');
  fail(text);
}
if (seen === 0) {
  fail(`no event at all in ${logDir}: the e2e suite should have pulled, streamed or been pushed ` +
       'events; a log that recorded none proves nothing');
}
for (const source of ['GET /v1/events', 'GET /v1/stream', 'push']) {
  if (!bySource.has(source)) {
    fail(`no event was seen through ${source}: the log does not cover it (is record_push called ` +
         'by the fake push backends, and do the e2e tests pull and stream?)');
  }
}
console.log(`ok - events contract: ${seen} events valid against ${schemaId}`);
