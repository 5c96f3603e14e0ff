// The operator console in a real browser (docs/console.md): two tenants, an operator, a push
// subscriber whose receiver answers 500 (so a dead letter appears) and a Telegram channel.
// A wrong token is refused; the operator signs in; a Telegram webhook signed here appears in the
// live tail; a dead letter is redriven (the receiver now answers 200) and is gone; the event's
// subject is erased behind the typed confirmation and the receipt shows. axe-core on every page
// (none serious or critical); the token never appears in a URL and is kept in sessionStorage
// only. Screenshots docs/images/console-overview.png, console-tail.png, console-erasure.png.
import http from 'node:http';
import {
  assert, call, eventually, launchBrowser, masterKey, run, screenshot, seriousViolations, sha256,
  startGateway,
} from './support.mjs';

const operatorToken = 'sbo_browser_console_operator_7c1d';
const acmeAdmin = 'sbt_browser_console_acme_admin_2b9e';
const globexAdmin = 'sbt_browser_console_globex_admin_5f0a';
const tgSecret = 'tg-secret-token-console-acme';
const pushSecret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const tailText = 'Where is my order #1042? (console tail)';

// The push receiver: 500 until told otherwise.
let receiverStatus = 500;
const received = [];
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    received.push({ status: receiverStatus, body });
    res.writeHead(receiverStatus, { 'content-type': 'text/plain' });
    res.end(receiverStatus === 200 ? 'ok' : 'boom');
  });
});

const config = (hookUrl) => `server:
  listen: "127.0.0.1:0"
  io_threads: 2
storage:
  backend: memory
  master_key: "${masterKey}"
operators:
  - name: ops
    token_sha256: "${sha256(operatorToken)}"
tenants:
  - id: acme
    channels:
      - name: tg
        type: telegram
        secret_token: "${tgSecret}"
        bot_token: "123456789:tg-bot-token-acme"
    subscribers:
      - name: admin
        token_sha256: "${sha256(acmeAdmin)}"
        scopes: [stream, send, privacy, admin]
      - name: hook
        push:
          url: "${hookUrl}"
          secret: "${pushSecret}"
          timeout_ms: 2000
          retry_schedule_ms: [0]
  - id: globex
    channels:
      - name: tg
        type: telegram
        secret_token: "tg-secret-token-console-globex"
        bot_token: "123456789:tg-bot-token-globex"
    subscribers:
      - name: admin
        token_sha256: "${sha256(globexAdmin)}"
        scopes: [stream, admin]
`;

let gateway, browser, page, updateId = 7000;
const requestedUrls = [];
const pageErrors = [];

/** Posts a Telegram update signed as Telegram does (the secret_token header). */
async function postTelegram(text, chat = 4242) {
  updateId += 1;
  const body = {
    update_id: updateId,
    message: {
      message_id: updateId,
      from: { id: chat, is_bot: false, first_name: 'Ada' },
      chat: { id: chat, first_name: 'Ada', type: 'private' },
      date: Math.floor(Date.now() / 1000),
      text,
    },
  };
  const r = await call(`${gateway.url}/webhooks/acme/tg`, {
    method: 'POST', headers: { 'X-Telegram-Bot-Api-Secret-Token': tgSecret }, body,
  });
  assert(r.status === 200, `webhook answered ${r.status}: ${r.text}`);
}

async function noSeriousViolations(what) {
  const v = await seriousViolations(page);
  assert(v.length === 0, `${what}: axe found ${JSON.stringify(v, null, 1)}`);
}

const text = (sel) => page.$eval(sel, (e) => e.textContent);
const visible = (sel) => page.$eval(sel, (e) => !e.closest('[hidden]'));

async function go(hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await eventually(() => page.evaluate((h) => {
    const id = 'page-' + h.slice(2);
    const s = document.getElementById(id);
    return s && !s.hidden;
  }, hash), `page ${hash}`);
}

await run({
  async 'start the receiver, the gateway and the browser'() {
    await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
    gateway = await startGateway(config(`http://127.0.0.1:${receiver.address().port}/hook`));
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 860 });
    page.on('request', (req) => requestedUrls.push(req.url()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
  },

  async 'the console is served with its security headers'() {
    const r = await call(`${gateway.url}/console/`);
    assert(r.status === 200, `GET /console/ ${r.status}`);
    const csp = r.headers.get('content-security-policy') || '';
    assert(csp.includes("script-src 'self'") && csp.includes("default-src 'none'"), `CSP: ${csp}`);
    assert(r.headers.get('x-content-type-options') === 'nosniff', 'nosniff');
  },

  async 'a wrong token is refused with the 401 message'() {
    await page.goto(`${gateway.url}/console/`, { waitUntil: 'networkidle0' });
    await noSeriousViolations('sign-in page');
    await page.type('#token', 'sbo_not_a_real_token');
    await page.click('#signin-form button[type=submit]');
    await eventually(async () => (await text('#signin-error')).includes('refused'), 'the refusal');
    const msg = await text('#signin-error');
    assert(msg.includes('401') && msg.includes('unknown bearer token'), `message: ${msg}`);
    assert(await visible('#page-signin'), 'still on the sign-in page');
    assert(await page.$eval('#nav', (e) => e.hidden), 'no navigation before sign-in');
  },

  async 'the operator signs in and sees every tenant on the overview'() {
    await postTelegram('Hello there', 4243);
    await page.$eval('#token', (e) => { e.value = ''; });
    await page.type('#token', operatorToken);
    await page.click('#signin-form button[type=submit]');
    await eventually(() => page.$eval('#nav', (e) => !e.hidden), 'the navigation');
    await eventually(async () => (await text('#overview-body')).includes('Tenant globex'), 'both tenants');
    const options = await page.$$eval('#tenant-select option', (os) => os.map((o) => o.value));
    assert(options.join() === 'acme,globex', `tenant chooser: ${options}`);
    // The token is in sessionStorage only: not in localStorage, not in a cookie, not in the page.
    const stored = await page.evaluate(() => ({
      session: Object.values(sessionStorage), local: localStorage.length, cookie: document.cookie,
      field: document.getElementById('token').value,
    }));
    assert(stored.session.includes(operatorToken), 'token in sessionStorage');
    assert(stored.local === 0 && stored.cookie === '' && stored.field === '', 'token elsewhere');
    // Two samples give rates: wait for the next refresh after more traffic.
    await postTelegram('Second message', 4244);
    await postTelegram('Third message', 4245);
    await eventually(async () => (await text('#overview-body')).includes('Dead letters'), 'the subscriber table');
    await eventually(() => page.$$eval('#overview-body svg polyline', (p) => p.length > 0), 'the rate chart', 15000);
    await noSeriousViolations('overview');
    await screenshot(page, 'console-overview.png');
  },

  async 'a signed Telegram webhook appears in the live tail'() {
    await go('#/tail');
    await page.type('#tail-types', 'message');
    await page.click('#tail-start');
    await eventually(async () => (await text('#tail-state')).startsWith('Streaming'), 'the stream');
    await postTelegram(tailText);
    await eventually(async () => (await text('#tail-list')).includes(tailText), 'the event in the tail');
    // Rendered as text: the '#' and '?' survive, nothing was parsed as markup.
    const items = await page.$$eval('#tail-list li .text', (ps) => ps.map((p) => p.textContent));
    assert(items.includes(tailText), `tail items: ${items}`);
    await noSeriousViolations('live tail');
    await screenshot(page, 'console-tail.png');
  },

  async 'a dead letter is redriven and gone'() {
    await eventually(async () => {
      const r = await call(`${gateway.url}/v1/subscribers/hook/dead-letters?tenant=acme`, {
        headers: { Authorization: `Bearer ${operatorToken}` },
      });
      return r.status === 200 && r.json.dead_letters.length > 0;
    }, 'a dead letter (the receiver answers 500)');
    receiverStatus = 200;
    await go('#/dead-letters');
    await page.click('#dl-form button[type=submit]');
    await eventually(() => page.$$eval('#dl-body button.redrive-one', (b) => b.length > 0), 'the dead-letter rows');
    await noSeriousViolations('dead letters');
    const id = await page.$eval('#dl-body button.redrive-one', (b) => b.dataset.id);
    const delivered = received.filter((r) => r.status === 200).length;
    await page.click(`#dl-body button.redrive-one[data-id="${id}"]`);
    await eventually(async () => (await text('#status')).includes('Redriven: 1'), 'the redrive answer');
    await eventually(() => page.$$eval(`#dl-body button.redrive-one[data-id="${id}"]`, (b) => b.length === 0),
      'the redriven letter gone from the list');
    await eventually(() => received.filter((r) => r.status === 200).length > delivered, 'the redelivery');
  },

  async 'the subject of the event is erased behind the typed confirmation'() {
    await go('#/tail');
    // The tail stopped when the page changed; its list keeps the events.
    const subject = await page.$$eval('#tail-list li', (lis, t) => {
      const li = lis.find((l) => l.textContent.includes(t));
      return li ? li.querySelector('code').textContent : '';
    }, tailText);
    assert(/^sub_[0-9A-Z]{16}$/.test(subject), `subject: ${subject}`);
    await page.$$eval('#tail-list li', (lis, t) => {
      lis.find((l) => l.textContent.includes(t)).querySelector('button').click();
    }, tailText);
    await eventually(() => visible('#person-body'), 'the person page');
    assert((await text('#person-summary')).includes(subject), 'the export summary');
    const purposes = await page.$$eval('#person-purposes input', (is) => is.length);
    assert(purposes === 4, `consent toggles: ${purposes}`);
    assert(await page.$eval('#erase-button', (b) => b.disabled), 'erase disabled before typing');
    await page.type('#erase-confirm', subject.slice(0, 10));
    assert(await page.$eval('#erase-button', (b) => b.disabled), 'erase disabled on a partial id');
    await page.type('#erase-confirm', subject.slice(10));
    assert(!(await page.$eval('#erase-button', (b) => b.disabled)), 'erase enabled on the full id');
    await noSeriousViolations('person');
    await page.click('#erase-button');
    await eventually(() => visible('#erase-receipt'), 'the receipt');
    const receipt = await text('#erase-receipt-list');
    assert(/era_/.test(receipt) && receipt.includes(subject), `receipt: ${receipt}`);
    await noSeriousViolations('erasure receipt');
    await screenshot(page, 'console-erasure.png');
    // The event is gone from the tenant's log.
    const events = await call(`${gateway.url}/v1/events?tenant=acme`, { headers: { Authorization: `Bearer ${operatorToken}` } });
    assert(!events.text.includes(tailText), 'the erased text is gone');
  },

  async 'the audit log names the operator, and the outbound lookup answers'() {
    await go('#/audit');
    await eventually(async () => (await text('#audit-body')).includes('operator:ops'), 'the audit entry');
    await noSeriousViolations('audit');
    await go('#/outbound');
    await page.type('#outbound-id', 'msg_unknown');
    await page.click('#outbound-form button[type=submit]');
    await eventually(async () => (await text('#outbound-body')).includes('Message:'), 'the lookup answer');
    await noSeriousViolations('outbound');
  },

  async 'the token never appeared in a URL, and sign-out forgets it'() {
    assert(pageErrors.length === 0, `errors in the page: ${pageErrors}`);
    const leaked = requestedUrls.filter((u) => u.includes(operatorToken));
    assert(leaked.length === 0, `token in URLs: ${leaked}`);
    await page.click('#sign-out');
    await eventually(() => visible('#page-signin'), 'the sign-in page');
    const left = await page.evaluate(() => sessionStorage.length);
    assert(left === 0, 'sessionStorage emptied');
  },

  async 'a tenant admin sees its own tenant only'() {
    await page.type('#token', globexAdmin);
    await page.click('#signin-form button[type=submit]');
    await eventually(async () => (await text('#overview-body')).includes('Tenant globex'), 'globex');
    assert(!(await text('#overview-body')).includes('Tenant acme'), 'acme hidden from globex');
    assert(await page.$eval('#tenant-select', (s) => s.disabled), 'no tenant choice');
  },

  async 'stop'() {
    await browser.close();
    await gateway.stop();
    await new Promise((r) => receiver.close(r));
  },
});
