// Browser tests' support: the real switchboard binary on 127.0.0.1:0, a throwaway config,
// Debian's Chromium driven headless by puppeteer-core, axe-core for accessibility, and small
// HTTP helpers. Node.js is test tooling only (tests/tools/package.json, pinned by its lock file).
//
// Run by CTest (tests/CMakeLists.txt: `browser.<name>`) as `node tests/browser/<name>.test.mjs`
// with SB_BINARY (the binary under test), SB_SCREENSHOTS (where docs screenshots go, optional).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const toolsDir = path.join(here, '..', 'tools');
const requireTools = createRequire(path.join(toolsDir, 'package.json'));

export const repoRoot = path.join(here, '..', '..');

/** Lower-case hex SHA-256 of `text`, as `token_sha256` wants it. */
export function sha256(text) {
  return createHash('sha256').update(text).digest('hex');
}

/** 64 hex characters: a storage.master_key for a throwaway gateway. */
export const masterKey = 'a'.repeat(64);

/**
 * Starts the binary with `yaml` (a whole switchboard.yaml; listen on 127.0.0.1:0) and resolves
 * once it logged "listening on http://host:port". Returns {url, port, output(), stop()}.
 */
export async function startGateway(yaml, { args = [], timeoutMs = 20000 } = {}) {
  const binary = process.env.SB_BINARY;
  if (!binary) {
    throw new Error('SB_BINARY is not set (the switchboard binary under test)');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-browser-'));
  const configPath = path.join(dir, 'switchboard.yaml');
  fs.writeFileSync(configPath, yaml);
  const child = spawn(binary, ['--config', configPath, ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const started = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (chunk) => {
      out += chunk.toString();
      const m = out.match(/listening on (https?):\/\/([^\s:]+):(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ scheme: m[1], host: m[2], port: Number(m[3]) });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`switchboard exited with ${code} before listening:\n${out}`));
    });
  });
  const where = await started;
  child.removeAllListeners('exit');
  // run() exits the process on a failed step: take the gateway along instead of leaking it.
  process.on('exit', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
  return {
    url: `${where.scheme}://${where.host}:${where.port}`,
    port: where.port,
    dir,
    output: () => out,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => {
          const t = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 10000);
          child.on('exit', () => { clearTimeout(t); resolve(); });
        });
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Headless Debian Chromium (CHROMIUM overrides the path). */
export async function launchBrowser() {
  const puppeteer = requireTools('puppeteer-core');
  return puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/**
 * Runs axe-core in `page` (or the frame) and returns its violations of impact serious or
 * critical: the tests require none.
 */
export async function seriousViolations(page, context = undefined) {
  const source = fs.readFileSync(requireTools.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const result = await page.evaluate(async (ctx) => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(ctx || document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  }, context);
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** A tiny static site on 127.0.0.1:0: `pages` maps a path to {type, body}. Returns {url, close()}. */
export async function serveSite(pages) {
  const server = http.createServer((req, res) => {
    const page = pages[req.url.split('?')[0]];
    if (!page) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': page.type || 'text/html; charset=utf-8' });
    res.end(page.body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, port, close: () => new Promise((r) => server.close(r)) };
}

/** fetch() with a JSON body and answer: {status, headers, json, text}. */
export async function call(url, { method = 'GET', headers = {}, body } = {}) {
  const res = await fetch(url, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, json, text };
}

/** Polls `fn` until it returns a truthy value (returned) or `ms` pass (throws `what`). */
export async function eventually(fn, what, ms = 15000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) {
        return last;
      }
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Saves a PNG for the docs when SB_SCREENSHOTS names a directory. */
export async function screenshot(page, name) {
  const dir = process.env.SB_SCREENSHOTS;
  if (!dir) {
    return;
  }
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, name), fullPage: false });
}

/** Runs the named async test functions in order; exits 1 on the first failure with its error. */
export async function run(tests) {
  for (const [name, fn] of Object.entries(tests)) {
    const t0 = Date.now();
    try {
      await fn();
      console.log(`ok - ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      console.error(`not ok - ${name}\n${e && e.stack ? e.stack : e}`);
      process.exit(1);
    }
  }
}

/** Throws `message` unless `cond`. */
export function assert(cond, message) {
  if (!cond) {
    throw new Error(`assertion failed: ${message}`);
  }
}
