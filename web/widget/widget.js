// Switchboard web chat widget (docs/webchat.md): nothing is sent before "Start chat"; text is
// never parsed as HTML.
(() => {
'use strict';
const C = __SB_CHANNEL_CONFIG__;
const me = document.currentScript; // valid only now
if (!me) return;
const api = me.src.replace(/\/widget\.js([?#].*)?$/, ''); // <gateway>/chat/<tenant>/<channel>
const KEY = 'sb-chat:' + C.tenant + '/' + C.channel;
const MAX = C.max_message_bytes || 4096;
const TITLE = C.title || 'Chat with us';
const enc = new TextEncoder();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const CSS = `:host{all:initial;position:fixed;right:16px;bottom:16px;z-index:2147483000;font:15px/1.4 system-ui,sans-serif;color:#1a1a1a}
*{box-sizing:border-box;font:inherit}
[hidden]{display:none!important}
button{cursor:pointer;border:0;border-radius:8px;padding:8px 14px;background:#1f4fd1;color:#fff;font-weight:600}
button:disabled{background:#5a6b94;cursor:default}
:focus-visible{outline:3px solid #0b2a80;outline-offset:2px}
.l{width:56px;height:56px;border-radius:50%;padding:0;display:grid;place-items:center;box-shadow:0 4px 14px #0005;margin-left:auto}
.l svg{width:28px;height:28px;fill:#fff}
.u{box-shadow:0 0 0 4px #fff,0 0 0 8px #c4161c}
.d{position:absolute;right:0;bottom:68px;width:min(360px,calc(100vw - 32px));height:min(520px,calc(100vh - 100px));display:flex;flex-direction:column;background:#fff;border-radius:12px;box-shadow:0 8px 30px #0006;overflow:hidden}
header{display:flex;align-items:center;justify-content:space-between;padding:8px 8px 8px 16px;background:#1f4fd1;color:#fff}
h2{margin:0;font-size:17px;font-weight:600}
.x{background:none;font-size:22px;line-height:1;padding:4px 10px}
.x:focus-visible{outline-color:#fff;outline-offset:-3px}
.g,.c{flex:1;overflow-y:auto;padding:12px}
.g{display:flex;flex-direction:column;gap:10px;background:#f6f7f9}
.m{max-width:82%;display:flex;flex-direction:column;align-items:flex-start}
.m p{margin:0;padding:8px 12px;border-radius:14px 14px 14px 4px;background:#e4e7ed;white-space:pre-wrap;overflow-wrap:anywhere}
.v{align-self:flex-end;align-items:flex-end}
.v p{background:#1f4fd1;color:#fff;border-radius:14px 14px 4px 14px}
time{font-size:12px;color:#4d4d4d;margin:2px 4px 0}
.s{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.c p{white-space:pre-wrap}
.c label{display:flex;gap:8px;margin:0 0 16px}
.t{margin:0;padding:6px 12px;font-size:14px;color:#8a1212;background:#fff3f3}
.t:empty{display:none}
form{display:flex;gap:8px;padding:10px;border-top:1px solid #d0d4dc;align-items:flex-end}
textarea{flex:1;resize:none;height:44px;padding:10px;border:1px solid #6b6b6b;border-radius:8px;color:#1a1a1a;background:#fff}`;

const h = (tag, attrs, ...kids) => {
  const e = tag.nodeType ? tag : document.createElement(tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  e.append(...kids);
  return e;
};

const saved = () => {
  try {
    const s = JSON.parse(localStorage.getItem(KEY));
    if (s && s.token && Date.parse(s.expires_at) > Date.now() + 60000) return s;
  } catch { /* no storage: this page only */ }
  return null;
};
const keep = (s) => { try { s ? localStorage.setItem(KEY, JSON.stringify(s)) : localStorage.removeItem(KEY); } catch { /* idem */ } };

let sess = saved();
let es = null, fails = 0, agentSeq = 0, readSeq = 0, readTimer = 0, queue = Promise.resolve();
const seen = new Set(), pending = new Map();

// {status, json, retry}; status 0: network error or CORS refusal
async function post(path, body) {
  const headers = {};
  if (body) headers['content-type'] = 'application/json';
  if (sess && path !== '/sessions') headers.authorization = 'Bearer ' + sess.token;
  try {
    const r = await fetch(api + path, { method: 'POST', headers, body: body && JSON.stringify(body), credentials: 'omit' });
    const json = await r.json().catch(() => null);
    return { status: r.status, json, retry: +r.headers.get('retry-after') || 0 };
  } catch {
    return { status: 0 };
  }
}

// In a shadow root: the page's CSS and ours stay apart.
const host = document.createElement('switchboard-chat');
const root = host.attachShadow({ mode: 'open' });
try {
  const sheet = new CSSStyleSheet(); // not an inline style for the page's CSP
  sheet.replaceSync(CSS);
  root.adoptedStyleSheets = [sheet];
} catch {
  root.append(h('style', {}, CSS));
}
const svg = (t) => document.createElementNS('http://www.w3.org/2000/svg', t);
const icon = h(svg('svg'), { viewBox: '0 0 24 24', 'aria-hidden': 'true' },
  h(svg('path'), { d: 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z' }));
const launcher = h('button', { class: 'l', 'aria-expanded': 'false', 'aria-controls': 'p' }, icon);
const close = h('button', { class: 'x', 'aria-label': 'Close chat' }, '\u00d7');
const log = h('div', { class: 'g', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages', tabindex: '0' });
const optout = h('input', { type: 'checkbox' });
const start = h('button', {}, 'Start chat'); // not in a form: no submit
const consent = h('div', { class: 'c' },
  C.consent_notice ? h('p', {}, C.consent_notice) : '',
  h('label', {}, optout, "Don't use my conversation for analytics"), start);
const status = h('p', { class: 't', role: 'status' });
const input = h('textarea', { id: 'i', rows: '2', placeholder: 'Message' });
const form = h('form', {}, h('label', { class: 's', for: 'i' }, 'Your message'), input,
  h('button', { type: 'submit' }, 'Send'));
const panel = h('div', { class: 'd', id: 'p', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 't', hidden: '' },
  h('header', {}, h('h2', { id: 't' }, TITLE), close), log, consent, status, form);
root.append(panel, launcher);

const say = (text) => { status.textContent = text; };
const isOpen = () => !panel.hidden;
const label = (unread) => {
  launcher.setAttribute('aria-label', 'Chat: ' + TITLE + (unread ? ' (new message)' : ''));
  launcher.classList.toggle('u', unread);
};
function view() {
  start.disabled = false;
  log.hidden = form.hidden = !sess;
  consent.hidden = !!sess;
}
view();
label(false);

function toggle(open) {
  panel.hidden = !open;
  launcher.setAttribute('aria-expanded', String(open));
  label(false);
  if (open) {
    log.scrollTop = log.scrollHeight;
    (sess ? input : start.disabled ? close : start).focus();
    read();
  } else {
    launcher.focus();
  }
}
launcher.onclick = () => toggle(!isOpen());
close.onclick = () => toggle(false);
panel.onkeydown = (e) => { if (e.key === 'Escape') { e.preventDefault(); toggle(false); } };
input.onkeydown = (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
};

function unavailable() {
  consent.hidden = form.hidden = true;
  say('Chat is unavailable right now.');
}

const when = (iso) => {
  const d = iso ? new Date(iso) : new Date();
  const today = d.toDateString() === new Date().toDateString();
  return d.toLocaleString([], { dateStyle: today ? undefined : 'medium', timeStyle: 'short' });
};
function stamp(m, iso, note) {
  const t = m.querySelector('time');
  if (iso) t.setAttribute('datetime', iso);
  t.textContent = note || when(iso);
}
function bubble(agent, text, iso, note) {
  const near = log.scrollHeight - log.scrollTop - log.clientHeight < 60;
  const m = h('div', { class: agent ? 'm a' : 'm v' }, h('span', { class: 's' }, agent ? 'Agent: ' : 'You: '),
    h('p', {}, text), h('time', {}));
  stamp(m, iso, note);
  log.append(m);
  if (near || !agent) log.scrollTop = log.scrollHeight;
  return m;
}

start.onclick = async () => {
  start.disabled = true;
  say('Connecting\u2026');
  const body = {};
  for (const k of ['name', 'email']) if (me.dataset[k]) body[k] = me.dataset[k];
  if (optout.checked) body.purposes = { analytics: false };
  for (let i = 0; ; i++) {
    const r = await post('/sessions', Object.keys(body).length ? body : null);
    if (r.status === 201 && r.json?.token) {
      keep(sess = r.json);
      say('');
      view();
      input.focus();
      return connect();
    }
    if (r.status === 429) { say('Too many new chats. Try again in a minute.'); break; }
    if ((r.status === 0 || r.status >= 500) && i < 2) { await sleep(1000 << i); continue; }
    return unavailable(); // 403: not an allowed site
  }
  start.disabled = false;
};

// Expired or erased: forget it all, ask again before a new one.
function ended(text) {
  if (es) es.close();
  es = sess = null;
  keep(null);
  seen.clear();
  pending.clear();
  log.replaceChildren();
  agentSeq = readSeq = 0;
  view();
  if (text) input.value = text;
  if (isOpen()) start.focus();
  say('Your chat session has ended. Start a new chat to continue.');
}

// One message at a time (order kept); a retry sends the same client_id.
form.onsubmit = (e) => { e.preventDefault(); send(); };
function send() {
  const text = input.value.trim();
  if (!text || !sess) return;
  const n = enc.encode(text).length;
  if (n > MAX) return say(`That message is too long (${n} of ${MAX} bytes).`);
  say('');
  input.value = '';
  const id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => (b + 256).toString(16).slice(1)).join('');
  const m = bubble(false, text, null, 'Sending\u2026');
  pending.set(id, m);
  queue = queue.then(() => deliver(id, text, m));
}

async function deliver(id, text, m) {
  for (let i = 0; sess; i++) {
    const r = await post('/messages', { text, client_id: id });
    if (r.status === 202) {
      if (pending.has(id)) stamp(m, null, 'Sent');
      return say('');
    }
    if (r.status === 401) return ended(text);
    if (r.status === 403) return unavailable();
    if (r.status >= 400 && r.status < 500 && r.status !== 429) {
      pending.delete(id);
      m.remove();
      input.value = text;
      return say(r.status === 413 ? 'That message is too long.' : 'That message could not be sent.');
    }
    say(r.status === 429 ? 'Please slow down a little\u2026' : 'Reconnecting\u2026');
    stamp(m, null, 'Retrying\u2026');
    await sleep(Math.max(r.retry * 1000, Math.min(30000, 1000 << Math.min(i, 5))));
  }
}

// The stream replays the conversation, then goes live.
function connect() {
  if (es) es.close();
  const src = es = new EventSource(api + '/stream?token=' + encodeURIComponent(sess.token));
  es.onmessage = (ev) => {
    fails = 0;
    let e;
    try { e = JSON.parse(ev.data); } catch { return; }
    if (typeof e?.content?.text !== 'string' || seen.has(e.id)) return;
    seen.add(e.id);
    const agent = !!e.content.echo, at = e.occurred_at || e.received_at;
    const mine = !agent && pending.get(e.platform_event_id);
    if (mine) {
      pending.delete(e.platform_event_id);
      stamp(mine, at);
    } else {
      bubble(agent, e.content.text, at);
    }
    const seq = e.seq || +ev.lastEventId || 0;
    if (agent && seq > agentSeq) {
      agentSeq = seq;
      if (!isOpen()) label(true);
      read();
    }
  };
  // It retries network errors itself; a 401/403 closes it.
  es.onerror = async () => {
    if (src !== es || src.readyState !== 2) return;
    es = null;
    await sleep(Math.min(60000, 1000 << Math.min(fails++, 6)));
    if (!sess) return;
    const r = await post('/read', { up_to: readSeq });
    if (r.status === 401) return ended();
    if (r.status === 403 || (!r.status && fails > 2)) return unavailable();
    if (sess && !es) connect();
  };
}

function read() {
  clearTimeout(readTimer);
  readTimer = setTimeout(async () => {
    const upTo = agentSeq;
    if (!sess || !isOpen() || document.visibilityState !== 'visible' || upTo <= readSeq) return;
    const r = await post('/read', { up_to: upTo });
    if (r.status >= 200 && r.status < 300) readSeq = Math.max(readSeq, upTo);
    else if (r.status === 401) ended();
  }, 700);
}
document.addEventListener('visibilitychange', read);

const mount = () => {
  document.body.append(host);
  if (sess) connect();
};
document.body ? mount() : document.addEventListener('DOMContentLoaded', mount);
})();
