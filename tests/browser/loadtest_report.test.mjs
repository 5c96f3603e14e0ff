// The load tester's HTML report in a real browser (loadtest/README.md "The HTML report"): two
// short real runs of switchboard-loadtest against the real gateway, whose tenant has a rate
// limit of 40 webhooks/s. The first runs within it (open loop, 25 req/s) and passes; the second
// runs above it (150 req/s), fails with exit status 1, and its report says FAILED and names the
// tenant's rate_limit. It also finds the first run's events already in the store and says so.
// Each report has the plots over time (status classes stacked, the target rate, the warm-up,
// p50/p99 per second), opens from file:// with no request leaving the page (no external script,
// style or font), and axe-core finds nothing serious or critical. Screenshot
// loadtest-report.png (loadtest/images/report.png in the README).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  assert, launchBrowser, masterKey, run, screenshot, seriousViolations, sha256, startGateway,
} from './support.mjs';

const streamToken = 'sbt_browser_loadtest_acme_admin_4e2f';

const config = `server:
  listen: "127.0.0.1:0"
  io_threads: 2
storage:
  backend: memory
  master_key: "${masterKey}"
tenants:
  - id: acme
    rate_limit: {rps: 40, burst: 40}
    channels:
      - name: tg
        type: telegram
        secret_token: "tg-secret-token-loadtest-report"
        bot_token: "123456789:tg-bot-token-loadtest"
    subscribers:
      - name: admin
        token_sha256: "${sha256(streamToken)}"
        scopes: [stream, admin]
`;

/** The load tester next to the gateway binary (both built in the same build tree). */
function loadtestBinary() {
  const candidates = [
    process.env.SB_LOADTEST,
    path.join(path.dirname(process.env.SB_BINARY || ''), 'loadtest', 'switchboard-loadtest'),
  ].filter(Boolean);
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error(`switchboard-loadtest not found (build it): ${candidates.join(', ')}`);
  }
  return found;
}

/** Runs the tool; resolves {code, stdout, stderr}. */
function loadtest(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(loadtestBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`loadtest hung:\n${stderr}`)); }, 60000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

let gateway, browser, dir;
const reports = {};

async function runs() {
  gateway = await startGateway(config);
  dir = gateway.dir;
  const scenario = path.join(dir, 'scenario.yaml');
  fs.writeFileSync(scenario, `config: switchboard.yaml
stream_tokens: {acme: ${streamToken}}
mix: {telegram: 1}
conversations: 50
duplicate_ratio: 0.05
invalid_ratio: 0
mode: open
connections: 4
duration_s: 3
warmup_s: 1
drain_s: 10
timeout_s: 5
`);
  const common = [scenario, '--gateway', gateway.url];
  const pass = await loadtest([...common, '--rate', '25', '--out', path.join(dir, 'pass')]);
  assert(pass.code === 0, `a run within the rate limit passes (exit ${pass.code}):\n${pass.stdout}${pass.stderr}`);
  assert(/PASSED/.test(pass.stdout), `PASSED printed:\n${pass.stdout}`);
  assert(!/\x1b\[/.test(pass.stdout), 'no ANSI colour when stdout is not a terminal');
  assert(/tenant acme had no events before the run/.test(pass.stdout), `fresh store reported:\n${pass.stdout}`);
  reports.pass = path.join(dir, 'pass');

  const fail = await loadtest([...common, '--rate', '150', '--out', path.join(dir, 'fail')]);
  assert(fail.code === 1, `a run above the rate limit fails (exit ${fail.code}):\n${fail.stdout}${fail.stderr}`);
  assert(/FAILED: [\d,]+ of [\d,]+ requests got an unexpected answer/.test(fail.stdout), `FAILED banner:\n${fail.stdout}`);
  assert(/429 rate_limited x[\d,]+: likely the tenant's rate limit: tenants\[0\]\.rate_limit \(acme: 40 rps/.test(fail.stdout),
    `the 429s' likely cause, told by their error code, names the config key:\n${fail.stdout}`);
  assert(!/failed-signature budget/.test(fail.stdout), `a rate_limited 429 is not blamed on the budget:\n${fail.stdout}`);
  assert(/events were already stored before the run \(tenant acme/.test(fail.stdout),
    `the first run's events are reported, not counted:\n${fail.stdout}`);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'fail.json'), 'utf8'));
  assert(json.verdict === 'failed' && json.unexpected > 0 && json.unexpected_by_status['429 rate_limited'] > 0, 'JSON verdict and counts');
  assert(json.store_before[0].head > 0, 'JSON store_before has the head');
  assert(json.stream.lost === 0, `nothing acknowledged was lost: ${JSON.stringify(json.stream)}`);
  assert(Math.abs(json.throughput_rps - json.expected / json.measured_s) < 1, 'the headline counts expected answers only');
  reports.fail = path.join(dir, 'fail');
}

/** Opens a report from file:// and checks what every report has; returns the page. */
async function openReport(prefix) {
  const page = await browser.newPage();
  await page.setViewport({ width: 820, height: 1100 });
  const external = [];
  page.on('request', (req) => { if (!req.url().startsWith('file:')) external.push(req.url()); });
  await page.goto(pathToFileURL(`${prefix}.html`).href, { waitUntil: 'load' });
  assert(external.length === 0, `the report opens offline, yet requested ${external.join(', ')}`);
  const title = await page.title();
  assert(/^Load test scenario\.yaml, \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(title), `title with scenario and date: ${title}`);
  const series = await page.evaluate(() => {
    const of = (id) => [...document.querySelectorAll(`#${id} [data-series]`)].map((e) => e.getAttribute('data-series'));
    return { status: of('status-over-time'), latency: of('latency-over-time'), ack: !!document.querySelector('#ack-percentiles polyline') };
  });
  for (const s of ['warm-up', '2xx', 'target rate']) {
    assert(series.status.includes(s), `status plot has ${s}: ${series.status}`);
  }
  for (const s of ['warm-up', 'p50', 'p99']) {
    assert(series.latency.includes(s), `latency plot has ${s}: ${series.latency}`);
  }
  assert(series.ack, 'ack latency by percentile plotted');
  const bars = await page.$$eval('#status-over-time g[data-series="2xx"] rect', (r) => r.length);
  assert(bars >= 4, `one 2xx bar per second (${bars})`);
  const p99 = await page.$eval('#latency-over-time polyline[data-series="p99"]', (e) => e.getAttribute('points').trim().split(' ').length);
  assert(p99 >= 4, `a p99 point per second (${p99})`);
  const ticks = await page.$$eval('#status-over-time text', (t) => t.map((e) => e.textContent));
  assert(ticks.includes('0') && ticks.some((t) => /^(1|2|5)(0*)$/.test(t)), `round axis ticks: ${ticks}`);
  const violations = await seriousViolations(page);
  assert(violations.length === 0, `axe: ${JSON.stringify(violations, null, 1)}`);
  return page;
}

await run({
  'two real runs: within the rate limit passes, above it fails naming the cause': runs,
  'the passing report: PASSED, plots over time, offline, accessible': async () => {
    browser = await launchBrowser();
    const page = await openReport(reports.pass);
    const verdict = await page.$eval('#verdict', (e) => e.textContent);
    assert(/^PASSED/.test(verdict), `verdict: ${verdict}`);
    await page.close();
  },
  'the failing report: FAILED banner naming the rate limit, 4xx stacked over time': async () => {
    const page = await openReport(reports.fail);
    const verdict = await page.$eval('#verdict', (e) => ({ text: e.textContent, role: e.getAttribute('role') }));
    assert(/^FAILED/.test(verdict.text) && verdict.role === 'alert', `verdict: ${JSON.stringify(verdict)}`);
    assert(/tenants\[0\]\.rate_limit/.test(verdict.text), `the banner names the config key: ${verdict.text}`);
    const series = await page.$$eval('#status-over-time [data-series]', (e) => e.map((x) => x.getAttribute('data-series')));
    assert(series.includes('4xx'), `429s stacked as 4xx: ${series}`);
    const h = await page.$eval('#latency-over-time', (e) => e.getBoundingClientRect().bottom);
    await page.setViewport({ width: 820, height: Math.ceil(h) + 16 });
    await screenshot(page, 'loadtest-report.png');
    await page.close();
  },
});
await browser?.close();
await gateway?.stop();
