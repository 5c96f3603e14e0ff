// The console's Tenants page in a real browser (docs/console.md, docs/control-plane.md): an
// operator onboards a merchant with the control plane through the page. The config file holds
// one tenant (read-only here); through the page the operator creates a tenant, sees every
// problem of an invalid channel at once, adds a Telegram channel and a subscriber (its token
// shown once), and a webhook signed here is stored and read with that token. Then the channel's
// secret is changed (the old one still works during the grace), the token rotated (the old one
// refused), the channel deleted (404) and the tenant deleted behind the typed confirmation (the
// receipt shows, the token is refused). A tenant admin has no Tenants page. axe-core on each
// state (none serious or critical); no secret is ever rendered. Screenshot
// docs/images/console-tenants.png.
import {
  assert, call, eventually, launchBrowser, masterKey, run, screenshot, seriousViolations, sha256,
  startGateway,
} from './support.mjs';

const operatorToken = 'sbo_browser_tenants_operator_91ad';
const acmeAdmin = 'sbt_browser_tenants_acme_admin_3c7e';
const firstSecret = 'bistro-tg-secret-0001';
const secondSecret = 'bistro-tg-secret-0002';

const config = `server:
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
        secret_token: "tg-secret-token-tenants-acme"
        bot_token: "123456789:tg-bot-token-acme"
    subscribers:
      - name: admin
        token_sha256: "${sha256(acmeAdmin)}"
        scopes: [stream, admin]
`;

let gateway, browser, page, updateId = 9100;
let deskToken = '';
const pageErrors = [];

const text = (sel) => page.$eval(sel, (e) => e.textContent);
const visible = (sel) => page.$eval(sel, (e) => !e.closest('[hidden]'));

async function noSeriousViolations(what) {
  const v = await seriousViolations(page);
  assert(v.length === 0, `${what}: axe found ${JSON.stringify(v, null, 1)}`);
}

/** Types `value` into a field after clearing it. */
async function fill(sel, value) {
  await page.$eval(sel, (e) => { e.value = ''; });
  await page.type(sel, value);
}

/** A Telegram update to bistro/tg, signed with `secret`; resolves to the HTTP status. */
async function postTelegram(secret, textBody) {
  updateId += 1;
  const r = await call(`${gateway.url}/webhooks/bistro/tg`, {
    method: 'POST',
    headers: { 'X-Telegram-Bot-Api-Secret-Token': secret },
    body: {
      update_id: updateId,
      message: {
        message_id: updateId,
        from: { id: 5151, is_bot: false, first_name: 'Grace' },
        chat: { id: 5151, first_name: 'Grace', type: 'private' },
        date: Math.floor(Date.now() / 1000),
        text: textBody,
      },
    },
  });
  return r.status;
}

const events = (token) => call(`${gateway.url}/v1/events`, { headers: { Authorization: `Bearer ${token}` } });

/** The secrets typed into the page must never come back into it. */
async function noSecretShown() {
  const body = await page.evaluate(() => document.body.innerText);
  for (const s of [firstSecret, secondSecret]) assert(!body.includes(s), `secret ${s} rendered`);
}

await run({
  async 'start the gateway and the browser'() {
    gateway = await startGateway(config);
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 1100 });
    page.on('pageerror', (e) => pageErrors.push(e.message));
  },

  async 'the operator sees the Tenants page with the file tenant read-only'() {
    await page.goto(`${gateway.url}/console/`, { waitUntil: 'networkidle0' });
    await page.type('#token', operatorToken);
    await page.click('#signin-form button[type=submit]');
    await eventually(() => visible('#nav-tenants'), 'the Tenants link');
    await page.click('#nav-tenants a');
    await eventually(() => page.$$eval('#tenants-list button.open-tenant', (b) => b.length === 1), 'the list');
    assert((await text('#tenants-list')).includes('config file'), 'acme is the file\'s');
    await page.click('#tenants-list button.open-tenant[data-id="acme"]');
    await eventually(() => visible('#tenant-file-note'), 'the read-only note');
    assert(!(await visible('#tenant-editable')), 'no editing of a file tenant');
    await noSeriousViolations('tenants page');
  },

  async 'a tenant is created and joins the tenant chooser'() {
    await page.type('#tenant-new-id', 'bistro');
    await page.type('#tenant-new-rps', '50');
    await page.click('#tenant-create-form button[type=submit]');
    await eventually(async () => (await text('#tenant-detail-title')) === 'Tenant bistro', 'the new tenant');
    assert(await visible('#tenant-editable'), 'an API tenant is editable');
    assert((await page.$eval('#tenant-patch', (t) => t.value)).includes('"rps": 50'), 'its rate limit');
    await eventually(() => page.$$eval('#tenant-select option', (os) => os.some((o) => o.value === 'bistro')),
      'bistro in the tenant chooser');
    const list = await text('#tenants-list');
    assert(list.includes('bistro') && list.includes('API'), `list: ${list}`);
  },

  async 'an invalid channel shows every problem at once'() {
    await fill('#channel-name', 'wa');
    await page.select('#channel-type', 'whatsapp');
    await fill('#channel-settings', '{"app_secret": "", "bogus": 1}');
    await page.click('#channel-submit');
    await eventually(async () => (await text('#channel-problems')).includes('/bogus'), 'the problems');
    const problems = await page.$$eval('#channel-problems li', (lis) => lis.map((l) => l.textContent));
    assert(problems.length >= 3, `problems: ${problems}`);
    assert(problems.some((p) => p.startsWith('/phone_number_id')), `phone_number_id: ${problems}`);
    assert(problems.some((p) => p.startsWith('/bogus') && p.includes('unknown key')), `bogus: ${problems}`);
    await noSeriousViolations('channel problems');
    // Not JSON at all: refused in the page, nothing sent.
    await fill('#channel-settings', '{secret_token: x}');
    await page.click('#channel-submit');
    await eventually(async () => (await text('#channel-problems')).includes('JSON object'), 'the JSON message');
  },

  async 'a Telegram channel and a subscriber are added; the token is shown once'() {
    await fill('#channel-name', 'tg');
    await page.select('#channel-type', 'telegram');
    await fill('#channel-settings', `{"secret_token": "${firstSecret}"}`);
    await page.click('#channel-submit');
    await eventually(() => page.$$eval('#channels-list button.edit', (b) => b.length === 1), 'the channel row');
    const row = await text('#channels-list');
    assert(row.includes('telegram') && /secret_token\s*set/.test(row), `channel row: ${row}`);
    assert(await postTelegram(firstSecret, 'First order, please') === 200, 'the webhook to the new channel');

    await page.type('#subscriber-name', 'desk');
    await page.click('#scope-stream');
    await page.click('#scope-admin');
    await page.click('#sub-purpose-support');
    await page.click('#subscriber-form button[type=submit]');
    await eventually(() => visible('#token-once'), 'the token box');
    deskToken = await text('#token-once-value');
    assert(/^sbt_/.test(deskToken), `token: ${deskToken}`);
    const subs = await text('#subscribers-list');
    assert(subs.includes('desk') && subs.includes('stream, admin') && subs.includes('support'), `row: ${subs}`);
    assert(!subs.includes(deskToken), 'the token is not in the table');
    await noSecretShown();
    await noSeriousViolations('tenant with a channel and a subscriber');
    await page.$eval('#tenant-detail', (e) => e.scrollIntoView());
    await screenshot(page, 'console-tenants.png');
    await page.click('#token-once-done');
    assert(!(await visible('#token-once')), 'the token box closes');
    assert((await page.evaluate(() => document.body.innerText)).indexOf(deskToken) < 0, 'the token is gone');

    const r = await events(deskToken);
    assert(r.status === 200 && r.text.includes('First order, please'), `events: ${r.status} ${r.text}`);
  },

  async 'the channel secret changes and the old one is kept for the grace'() {
    await page.click('#channels-list button.edit');
    await eventually(async () => (await text('#channel-form-title')) === 'Edit channel tg', 'the edit form');
    assert(await page.$eval('#channel-name', (e) => e.disabled), 'the name is fixed');
    await fill('#channel-settings', `{"secret_token": "${secondSecret}"}`);
    await page.click('#channel-submit');
    await eventually(async () => (await text('#status')).includes('Channel tg saved'), 'the saved channel');
    assert(await postTelegram(secondSecret, 'Second order') === 200, 'the new secret');
    assert(await postTelegram(firstSecret, 'Signed before the change') === 200, 'the old secret, in its grace');
    assert(await postTelegram('not-the-secret', 'Forged') === 401, 'a wrong secret');
    await noSecretShown();
  },

  async 'the token is rotated: the old one is refused'() {
    const old = deskToken;
    await page.click('#subscribers-list button.rotate');
    await eventually(async () => (await text('#token-once-value')).startsWith('sbt_') &&
      (await text('#token-once-value')) !== old, 'the new token');
    deskToken = await text('#token-once-value');
    assert((await events(old)).status === 401, 'the old token');
    assert((await events(deskToken)).status === 200, 'the new token');
  },

  async 'the channel is deleted after a second click and answers 404'() {
    await page.click('#channels-list button.delete');
    assert((await text('#channels-list button.delete')) === 'Really delete?', 'armed');
    assert(await postTelegram(secondSecret, 'Still there') === 200, 'not deleted on the first click');
    await page.click('#channels-list button.delete');
    await eventually(async () => (await text('#channels-list')).includes('No channels yet'), 'the channel gone');
    assert(await postTelegram(secondSecret, 'Too late') === 404, 'the deleted channel');
  },

  async 'the tenant is deleted behind the typed confirmation, with its receipt'() {
    assert(await page.$eval('#tenant-delete', (b) => b.disabled), 'disabled before typing');
    await page.type('#tenant-delete-confirm', 'bistr');
    assert(await page.$eval('#tenant-delete', (b) => b.disabled), 'disabled on a partial id');
    await page.type('#tenant-delete-confirm', 'o');
    await page.click('#tenant-delete');
    await eventually(() => visible('#tenant-receipt'), 'the receipt');
    const receipt = await text('#tenant-receipt-list');
    assert(/era_/.test(receipt) && receipt.includes('bistro') && receipt.includes('Erased events'), `receipt: ${receipt}`);
    await noSeriousViolations('tenant receipt');
    await eventually(() => page.$$eval('#tenant-select option', (os) => !os.some((o) => o.value === 'bistro')),
      'bistro gone from the chooser');
    assert((await events(deskToken)).status === 401, 'the deleted tenant\'s token');
    assert(pageErrors.length === 0, `errors in the page: ${pageErrors}`);
  },

  async 'a tenant admin has no Tenants page'() {
    await page.click('#sign-out');
    await eventually(() => visible('#page-signin'), 'the sign-in page');
    await page.type('#token', acmeAdmin);
    await page.click('#signin-form button[type=submit]');
    await eventually(async () => (await text('#overview-body')).includes('Tenant acme'), 'acme');
    assert(!(await visible('#nav-tenants')), 'no Tenants link');
    await page.evaluate(() => { location.hash = '#/tenants'; });
    await eventually(() => visible('#page-overview'), 'the overview instead');
  },

  async 'stop'() {
    await browser.close();
    await gateway.stop();
  },
});
