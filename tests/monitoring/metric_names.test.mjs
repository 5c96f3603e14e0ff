// The shipped monitoring names only metrics the gateway has: every `switchboard_*` and
// `process_*` name in deploy/prometheus/alerts.yml, its unit tests and deploy/grafana/
// switchboard.json is checked against a scrape of the real binary's /metrics (its `# TYPE`
// lines, so a family counts even before it has a series; a histogram's _bucket, _sum and _count
// count as the histogram). A renamed or removed metric fails here instead of silently turning an
// alert or a panel into "no data".
//
// Run by CTest (`monitoring.metric_names`) as `node tests/monitoring/metric_names.test.mjs` with
// SB_BINARY (the binary under test).
import fs from 'node:fs';
import path from 'node:path';

import { assert, call, masterKey, repoRoot, run, startGateway } from '../browser/support.mjs';

const files = [
  'deploy/prometheus/alerts.yml',
  'deploy/prometheus/alerts_test.yml',
  'deploy/grafana/switchboard.json',
];

const config = `server:
  listen: "127.0.0.1:0"
  io_threads: 1
storage:
  backend: memory
  master_key: "${masterKey}"
tenants:
  - id: acme
    channels:
      - name: tg
        type: telegram
        secret_token: "monitoring-test-secret"
`;

/** Metric names used in `text`: switchboard_* and the standard process_* ones. */
function namesIn(text) {
  return new Set(text.match(/\b(?:switchboard|process)_[a-z0-9_]*[a-z0-9]\b/g) || []);
}

/** name -> type, from the `# TYPE` lines of an exposition. */
function catalog(exposition) {
  const out = new Map();
  for (const m of exposition.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/gm)) {
    out.set(m[1], m[2]);
  }
  return out;
}

function known(types, name) {
  if (types.has(name)) {
    return true;
  }
  const m = name.match(/^(.*)_(bucket|sum|count)$/);
  return m !== null && types.get(m[1]) === 'histogram';
}

let gw;
let types;

await run({
  'the binary serves its metric catalog': async () => {
    gw = await startGateway(config);
    const res = await call(`${gw.url}/metrics`);
    assert(res.status === 200, `GET /metrics answered ${res.status}`);
    types = catalog(res.text);
    assert(types.size > 20, `only ${types.size} families in /metrics`);
    for (const name of ['process_cpu_seconds_total', 'switchboard_build_info',
                        'switchboard_webhook_rejections_total']) {
      assert(types.has(name), `${name} is not in /metrics`);
    }
  },
  'every metric the alerts and the dashboard use exists': async () => {
    const missing = [];
    let used = 0;
    for (const file of files) {
      const text = fs.readFileSync(path.join(repoRoot, file), 'utf8');
      for (const name of namesIn(text)) {
        ++used;
        if (!known(types, name)) {
          missing.push(`${file}: ${name}`);
        }
      }
    }
    assert(used > 20, `only ${used} metric names found in ${files.join(', ')}`);
    assert(missing.length === 0, `not in the binary's /metrics:\n  ${missing.join('\n  ')}`);
  },
  'the dashboard is Grafana JSON with a Prometheus data source variable': async () => {
    const dash = JSON.parse(fs.readFileSync(path.join(repoRoot, files[2]), 'utf8'));
    assert(dash.schemaVersion >= 36, `schemaVersion ${dash.schemaVersion}`);
    const ds = dash.templating.list.find((v) => v.type === 'datasource');
    assert(ds && ds.query === 'prometheus', 'no prometheus datasource variable');
    const ids = new Set();
    for (const p of dash.panels) {
      assert(!ids.has(p.id), `panel id ${p.id} twice`);
      ids.add(p.id);
      for (const t of p.targets || []) {
        assert(t.expr && t.expr.length > 0, `panel "${p.title}" has a target without expr`);
        assert(t.datasource && t.datasource.uid === '${datasource}',
               `panel "${p.title}" does not use the datasource variable`);
      }
    }
  },
  'stop': async () => {
    await gw.stop();
  },
});
