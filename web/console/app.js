// Switchboard operator console (docs/console.md). No framework, no third-party code.
// Rules this file keeps: every piece of data is rendered with textContent or DOM APIs (never
// parsed as HTML); the token lives in sessionStorage only and travels only in the Authorization
// header (never in a URL); no inline script or style (the page's CSP forbids them).
'use strict';

(function () {
  const TOKEN_KEY = 'sb.console.token';
  const TENANT_KEY = 'sb.console.tenant';
  const PURPOSES = ['support', 'ai', 'analytics', 'marketing'];
  const SCOPES = ['stream', 'send', 'privacy', 'admin'];
  const CHANNEL_TYPES = ['telegram', 'whatsapp', 'messenger', 'instagram', 'slack', 'email', 'webchat',
    'shopify', 'woocommerce', 'hubspot'];
  const SVG = 'http://www.w3.org/2000/svg';

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    tenant: sessionStorage.getItem(TENANT_KEY) || '',
    tenants: [],          // ids the token may see
    operator: false,      // the token is an operator's: the control plane's pages are open
    tenantsAfter: '',     // the control plane's list: the page shown starts after this id
    tenantsNext: '',
    admin: null,          // the tenant open on the Tenants page (GET /v1/admin/tenants/{id})
    editing: '',          // the channel whose settings the channel form patches ('' adds one)
    overview: null,       // the last /v1/overview answer
    prev: null,           // the sample before it: {at(ms), counts {tenant/channel: events_total}}
    rates: {},            // tenant/channel -> events per second (last two samples)
    history: [],          // total events/s over the recent samples (a sparkline)
    timer: null,
    tail: null,           // AbortController of the live tail
    auditAfter: 0,
    auditNext: 0,
    person: null,         // the export of the subject shown
  };

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  }

  function say(text, bad) {
    const s = $('status');
    s.textContent = text || '';
    s.classList.toggle('bad', !!bad);
  }

  // -- the API ------------------------------------------------------------------------------

  /** A call with the token in the Authorization header and the tenant as ?tenant=. */
  async function api(path, { method = 'GET', body, tenant = state.tenant, raw = false } = {}) {
    const url = new URL(path, location.origin);
    if (tenant) url.searchParams.set('tenant', tenant);
    const headers = { Authorization: 'Bearer ' + state.token };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(url.pathname + url.search, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
    });
    if (raw) return res;
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
    if (!res.ok) {
      const msg = (json && (json.message || (json.error && json.error.message))) || text || res.statusText;
      const err = new Error(res.status + ': ' + msg);
      err.status = res.status;
      err.json = json;
      throw err;
    }
    return json;
  }

  // -- sign-in ------------------------------------------------------------------------------

  async function signIn(token) {
    state.token = token;
    let ov;
    try {
      ov = await api('/v1/overview', { tenant: '' });
    } catch (e) {
      state.token = '';
      throw e;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    // Only an operator's token may call the control plane: a tenant admin's gets 403.
    try {
      await api('/v1/admin/tenants?limit=1', { tenant: '' });
      state.operator = true;
    } catch (e) {
      state.operator = false;
    }
    acceptOverview(ov);
  }

  function signOut() {
    stopTail();
    clearInterval(state.timer);
    state.timer = null;
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(TENANT_KEY);
    Object.assign(state, { token: '', tenant: '', tenants: [], overview: null, prev: null,
      rates: {}, history: [], person: null, operator: false, admin: null, editing: '' });
    $('token').value = '';
    // Nothing of this session stays in the page, not even hidden: the next token may see less.
    for (const id of ['overview-body', 'overview-at', 'tail-list', 'dl-body', 'audit-body',
      'outbound-body', 'tenants-list', 'person-summary', 'person-purposes', 'erase-receipt-list',
      'tenant-receipt-list', 'token-once-value']) {
      $(id).replaceChildren();
    }
    for (const id of ['person-body', 'erase-receipt', 'token-once', 'tenant-detail', 'tenant-receipt']) {
      $(id).hidden = true;
    }
    say('Signed out.');
    location.hash = '#/signin';
    render();
  }

  function showSignedIn() {
    const sel = $('tenant-select');
    // Rebuilt only when the list changed: the overview's refresh must not close an open chooser.
    if ([...sel.options].map((o) => o.value).join('\n') !== state.tenants.join('\n')) {
      sel.replaceChildren(...state.tenants.map((id) => el('option', { value: id, text: id })));
    }
    sel.value = state.tenant;
    sel.disabled = state.tenants.length < 2;
    $('who-text').textContent = state.tenants.length > 1 ? 'operator: all tenants' : 'tenant ' + state.tenant + ' only';
    $('who').hidden = false;
    $('nav').hidden = false;
    $('nav-tenants').hidden = !state.operator;
  }

  // -- routing ------------------------------------------------------------------------------

  const PAGES = ['overview', 'tail', 'dead-letters', 'person', 'audit', 'outbound', 'tenants'];

  function currentPage() {
    const m = location.hash.match(/^#\/([a-z-]+)/);
    const p = m ? m[1] : 'overview';
    if (p === 'tenants' && !state.operator) return 'overview';
    return PAGES.includes(p) ? p : 'overview';
  }

  function render() {
    const signedIn = !!state.token && state.tenants.length > 0;
    const page = signedIn ? currentPage() : 'signin';
    for (const s of document.querySelectorAll('.page')) s.hidden = s.id !== 'page-' + page;
    for (const a of document.querySelectorAll('nav a')) {
      if (a.dataset.page === page) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    if (!signedIn) {
      $('who').hidden = true;
      $('nav').hidden = true;
      document.title = 'Sign in · Switchboard console';
      return;
    }
    showSignedIn();
    document.title = $('page-' + page).querySelector('h1').textContent + ' · Switchboard console';
    if (page !== 'tail') stopTail();
    if (page === 'overview') renderOverview();
    if (page === 'dead-letters') fillSubscribers();
    if (page === 'audit') loadAudit(state.auditAfter);
    if (page === 'tenants') loadTenants(state.tenantsAfter);
  }

  // -- overview -----------------------------------------------------------------------------

  function acceptOverview(ov) {
    const now = Date.parse(ov.at) || Date.now();
    const counts = {};
    let total = 0;
    for (const t of ov.tenants) {
      for (const c of t.channels) {
        counts[t.id + '/' + c.name] = c.events_total;
        total += c.events_total;
      }
    }
    if (state.prev && now > state.prev.at) {
      const dt = (now - state.prev.at) / 1000;
      state.rates = {};
      for (const [k, v] of Object.entries(counts)) {
        const before = state.prev.counts[k];
        state.rates[k] = before === undefined ? 0 : Math.max(0, (v - before) / dt);
      }
      state.history.push(Math.max(0, (total - state.prev.total) / dt));
      if (state.history.length > 30) state.history.shift();
    }
    state.prev = { at: now, counts, total };
    state.overview = ov;
    state.tenants = ov.tenants.map((t) => t.id);
    if (!state.tenants.includes(state.tenant)) {
      state.tenant = state.tenants[0] || '';
      sessionStorage.setItem(TENANT_KEY, state.tenant);
    }
  }

  async function refreshOverview() {
    if (!state.token) return;
    const token = state.token;
    try {
      const ov = await api('/v1/overview', { tenant: '' });
      // Signed out (or in with another token) meanwhile: this answer is the old session's.
      if (state.token !== token) return;
      acceptOverview(ov);
      if (state.tenants.length > 0) showSignedIn();
      if (currentPage() === 'overview') renderOverview();
    } catch (e) {
      if (state.token !== token) return;
      if (e.status === 401) { signOut(); say('The token was refused: ' + e.message, true); return; }
      say('Overview: ' + e.message, true);
    }
  }

  function rateText(r) {
    return r === undefined ? '–' : r.toFixed(r < 10 ? 2 : 1) + '/s';
  }

  function barChart(title, items) {
    // items: [{label, value}] drawn as horizontal bars, built with DOM APIs.
    const w = 360, rowH = 22, pad = 110;
    const h = Math.max(1, items.length) * rowH + 10;
    const s = svg('svg', { class: 'chart', width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: 'img' });
    const t = svg('title');
    t.textContent = title + ': ' + items.map((i) => i.label + ' ' + rateText(i.value)).join(', ');
    s.append(t);
    const max = Math.max(1e-9, ...items.map((i) => i.value || 0));
    items.forEach((it, n) => {
      const y = 5 + n * rowH;
      const label = svg('text', { x: 4, y: y + 14 });
      label.textContent = it.label.length > 16 ? it.label.slice(0, 15) + '…' : it.label;
      const bw = Math.round(((it.value || 0) / max) * (w - pad - 60));
      const bar = svg('rect', { class: 'bar', x: pad, y: y + 3, width: Math.max(1, bw), height: rowH - 8 });
      const val = svg('text', { x: pad + Math.max(1, bw) + 4, y: y + 14 });
      val.textContent = rateText(it.value);
      s.append(label, bar, val);
    });
    return s;
  }

  function sparkline(title, values) {
    const w = 360, h = 80;
    const s = svg('svg', { class: 'chart', width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: 'img' });
    const t = svg('title');
    t.textContent = title + ': ' + (values.length ? rateText(values[values.length - 1]) + ' now' : 'no samples yet');
    s.append(t, svg('line', { class: 'axis', x1: 0, y1: h - 15, x2: w, y2: h - 15 }));
    const max = Math.max(1, ...values);
    if (values.length > 0) {
      // One sample so far is drawn as a level line.
      const vs = values.length === 1 ? [values[0], values[0]] : values;
      const pts = vs.map((v, i) => `${(i / (vs.length - 1)) * (w - 10) + 5},${h - 15 - (v / max) * (h - 30)}`);
      s.append(svg('polyline', { class: 'line', points: pts.join(' ') }));
    }
    const label = svg('text', { x: 4, y: 12 });
    label.textContent = 'events/s, all channels (max ' + max.toFixed(1) + ')';
    s.append(label);
    return s;
  }

  function table(caption, headers, rows) {
    const tb = el('tbody');
    for (const r of rows) {
      tb.append(el('tr', null, ...r.map((c, i) => el('td', headers[i].num ? { class: 'num' } : null,
        c instanceof Node ? c : String(c === null || c === undefined ? '–' : c)))));
    }
    return el('table', null, el('caption', { text: caption }),
      el('thead', null, el('tr', null, ...headers.map((h) => el('th', { scope: 'col', class: h.num ? 'num' : '', text: h.label })))),
      tb);
  }

  function renderOverview() {
    const ov = state.overview;
    const body = $('overview-body');
    if (!ov) { body.replaceChildren(el('p', { text: 'Loading…' })); return; }
    $('overview-at').textContent = 'Sampled at ' + ov.at + '.';
    const parts = [el('div', { class: 'charts' }, sparkline('Events per second, all tenants', state.history))];
    for (const t of ov.tenants) {
      const sec = el('section', { class: 'tenant', 'aria-label': 'Tenant ' + t.id });
      sec.append(el('h2', { text: 'Tenant ' + t.id }));
      sec.append(el('p', { class: 'hint', text: `Head seq ${t.head ?? '–'} · open streams ${t.streams ?? '–'} · outbound queued ${t.outbound.queued}` }));
      sec.append(el('div', { class: 'charts' }, barChart('Events per second by channel of ' + t.id,
        t.channels.map((c) => ({ label: c.name, value: state.rates[t.id + '/' + c.name] })))));
      sec.append(table('Channels', [
        { label: 'Channel' }, { label: 'Type' }, { label: 'Rate', num: true }, { label: 'Events', num: true },
        { label: 'Duplicates', num: true }, { label: 'Outbound queued', num: true }, { label: 'Sent', num: true },
        { label: 'Failed', num: true }],
        t.channels.map((c) => [c.name, c.type, rateText(state.rates[t.id + '/' + c.name]), c.events_total,
          c.duplicates_total, c.outbound.queued, c.outbound.sent_total, c.outbound.failed_total])));
      sec.append(table('Subscribers', [
        { label: 'Subscriber' }, { label: 'Kind' }, { label: 'Scopes' }, { label: 'Push lag', num: true },
        { label: 'Queue', num: true }, { label: 'Delivered', num: true }, { label: 'Dead letters', num: true },
        { label: 'State' }],
        t.subscribers.map((s) => [s.name, s.push ? 'push' : 'pull', s.scopes.join(', ') || '–', s.lag, s.queue,
          s.delivered_total, s.dead_letters,
          !s.push ? '' : s.disabled ? 'disabled' : (s.last_error ? 'last error: ' + s.last_error : 'ok')])));
      parts.push(sec);
    }
    body.replaceChildren(...parts);
  }

  // -- live tail ----------------------------------------------------------------------------

  function stopTail() {
    if (state.tail) {
      state.tail.abort();
      state.tail = null;
    }
    $('tail-start').disabled = false;
    $('tail-stop').disabled = true;
    if ($('tail-state').textContent !== 'Stopped.') $('tail-state').textContent = 'Stopped.';
  }

  function tailItem(id, type, data) {
    let ev = null;
    try { ev = JSON.parse(data); } catch (e) { ev = null; }
    const li = el('li');
    const ch = ev && ev.channel ? (typeof ev.channel === 'object'
      ? ev.channel.name + ' (' + ev.channel.type + ')' : String(ev.channel)) : '';
    const who = ev && ev.sender && ev.sender.name ? ' · from ' + ev.sender.name : '';
    const head = el('div', null, el('span', { class: 'type', text: type }),
      el('span', { class: 'meta', text: '#' + id + (ch ? ' · ' + ch : '') +
        (ev && ev.conversation ? ' · ' + ev.conversation : '') + who +
        (ev && ev.occurred_at ? ' · ' + ev.occurred_at : '') }));
    li.append(head);
    const text = ev && ev.content && typeof ev.content.text === 'string' ? ev.content.text : '';
    if (text) li.append(el('p', { class: 'text', text: String(text) }));
    if (ev && ev.subject) {
      const b = el('button', { type: 'button', class: 'secondary', text: 'Open person ' + ev.subject });
      b.addEventListener('click', () => { $('person-subject').value = ev.subject; location.hash = '#/person'; loadPerson(ev.subject); });
      li.append(el('div', { class: 'meta' }, 'subject ', el('code', { text: ev.subject }), ' ', b));
    }
    return li;
  }

  async function startTail() {
    stopTail();
    const ctrl = new AbortController();
    state.tail = ctrl;
    $('tail-start').disabled = true;
    $('tail-stop').disabled = false;
    const types = $('tail-types').value.split(',').map((s) => s.trim()).filter(Boolean).join(',');
    const url = new URL('/v1/stream', location.origin);
    if (state.tenant) url.searchParams.set('tenant', state.tenant);
    if (types) url.searchParams.set('types', types);
    const list = $('tail-list');
    try {
      const res = await fetch(url.pathname + url.search, {
        headers: { Authorization: 'Bearer ' + state.token, Accept: 'text/event-stream' },
        signal: ctrl.signal, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
      });
      if (!res.ok) {
        let msg = res.statusText;
        try { const j = await res.json(); msg = j.message || (j.error && j.error.message) || msg; } catch (e) { /* keep the status text */ }
        throw new Error(res.status + ': ' + msg);
      }
      $('tail-state').textContent = 'Streaming' + (types ? ' (' + types + ')' : '') + '…';
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let id = '', type = 'message', data = [];
          for (const line of frame.split('\n')) {
            if (!line || line.startsWith(':')) continue;  // a comment: keep-alive
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            let v = colon < 0 ? '' : line.slice(colon + 1);
            if (v.startsWith(' ')) v = v.slice(1);
            if (field === 'id') id = v;
            else if (field === 'event') type = v;
            else if (field === 'data') data.push(v);
          }
          if (data.length === 0) continue;
          list.prepend(tailItem(id, type, data.join('\n')));
          while (list.children.length > 200) list.lastElementChild.remove();
        }
      }
      if (state.tail === ctrl) $('tail-state').textContent = 'The stream ended.';
    } catch (e) {
      if (e.name !== 'AbortError') $('tail-state').textContent = 'The stream failed: ' + e.message;
    } finally {
      if (state.tail === ctrl) {
        state.tail = null;
        $('tail-start').disabled = false;
        $('tail-stop').disabled = true;
      }
    }
  }

  // -- dead letters -------------------------------------------------------------------------

  function fillSubscribers() {
    const sel = $('dl-subscriber');
    const t = state.overview && state.overview.tenants.find((x) => x.id === state.tenant);
    const names = t ? t.subscribers.filter((s) => s.push).map((s) => s.name) : [];
    const keep = sel.value;
    sel.replaceChildren(...names.map((n) => el('option', { value: n, text: n })));
    if (names.includes(keep)) sel.value = keep;
    if (names.length === 0) $('dl-body').replaceChildren(el('p', { text: 'This tenant has no push subscriber.' }));
    else loadDeadLetters();
  }

  async function loadDeadLetters() {
    const name = $('dl-subscriber').value;
    if (!name) return;
    const body = $('dl-body');
    try {
      const r = await api('/v1/subscribers/' + encodeURIComponent(name) + '/dead-letters?limit=100');
      if (r.dead_letters.length === 0) {
        body.replaceChildren(el('p', { id: 'dl-empty', text: 'No dead letters for ' + name + '.' }));
        return;
      }
      body.replaceChildren(table('Dead letters of ' + name, [
        { label: 'Id', num: true }, { label: 'Event seq', num: true }, { label: 'Event id' }, { label: 'Attempts', num: true },
        { label: 'Last error' }, { label: 'Failed at' }, { label: 'Action' }],
        r.dead_letters.map((d) => {
          const b = el('button', { type: 'button', class: 'redrive-one', 'data-id': String(d.id), text: 'Redrive',
            'aria-label': 'Redrive dead letter ' + d.id });
          b.addEventListener('click', () => redrive(name, { ids: [d.id] }));
          return [d.id, d.seq, d.event_id, d.attempts, d.last_error, d.failed_at, b];
        })));
    } catch (e) {
      body.replaceChildren(el('p', { class: 'error', text: 'Dead letters: ' + e.message }));
    }
  }

  async function redrive(name, what) {
    try {
      const r = await api('/v1/subscribers/' + encodeURIComponent(name) + '/redrive', { method: 'POST', body: what });
      say(`Redriven: ${r.redriven.length}` + (r.not_found.length ? `, not found: ${r.not_found.length}` : '') +
        (r.event_gone.length ? `, event gone: ${r.event_gone.length}` : '') + (r.more ? ' (more remain)' : ''));
    } catch (e) {
      say('Redrive: ' + e.message, true);
    }
    loadDeadLetters();
  }

  // -- person -------------------------------------------------------------------------------

  async function loadPerson(subject) {
    subject = (subject || '').trim();
    if (!subject) return;
    $('erase-receipt').hidden = true;
    try {
      const exp = await api('/v1/subjects/' + encodeURIComponent(subject));
      state.person = exp;
      showPerson(exp);
    } catch (e) {
      $('person-body').hidden = true;
      say('Person: ' + e.message, true);
    }
  }

  function showPerson(exp) {
    const events = exp.events ? exp.events.length : 0;
    const ids = (exp.identifiers || []).map((i) => i.channel + ':' + i.platform_id).join(', ');
    $('person-summary').textContent = `${exp.subject}: ${events} stored event(s)` +
      (exp.truncated ? ' (truncated)' : '') + (ids ? '; identifiers ' + ids : '') + '.';
    const box = $('person-purposes');
    const allowed = (exp.consent && exp.consent.purposes) || {};
    box.replaceChildren(...PURPOSES.map((p) => {
      const cb = el('input', { type: 'checkbox', id: 'purpose-' + p });
      cb.checked = !!allowed[p];
      cb.addEventListener('change', () => setConsent(exp.subject, p, cb));
      return el('div', { class: 'check' }, cb, el('label', { for: 'purpose-' + p, text: p }));
    }));
    $('person-restricted').checked = !!(exp.consent && exp.consent.restricted);
    $('erase-confirm').value = '';
    $('erase-button').disabled = true;
    $('person-body').hidden = false;
  }

  async function setConsent(subject, purpose, cb) {
    try {
      await api('/v1/subjects/' + encodeURIComponent(subject) + '/consent', { method: 'PUT', body: { purpose, granted: cb.checked } });
      say(`Consent for ${purpose}: ${cb.checked ? 'granted' : 'withdrawn'}.`);
    } catch (e) {
      cb.checked = !cb.checked;
      say('Consent: ' + e.message, true);
    }
  }

  async function setRestricted(cb) {
    if (!state.person) return;
    try {
      await api('/v1/subjects/' + encodeURIComponent(state.person.subject) + '/restrict', { method: 'POST', body: { restricted: cb.checked } });
      say(cb.checked ? 'Processing restricted.' : 'Restriction lifted.');
    } catch (e) {
      cb.checked = !cb.checked;
      say('Restriction: ' + e.message, true);
    }
  }

  function download() {
    if (!state.person) return;
    const blob = new Blob([JSON.stringify(state.person, null, 2)], { type: 'application/json' });
    const a = el('a', { href: URL.createObjectURL(blob), download: state.person.subject + '.json' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  async function erase() {
    const subject = state.person && state.person.subject;
    if (!subject || $('erase-confirm').value !== subject) return;
    $('erase-button').disabled = true;
    try {
      const r = await api('/v1/subjects/' + encodeURIComponent(subject), { method: 'DELETE' });
      const dl = $('erase-receipt-list');
      const rows = [['Receipt', r.receipt], ['Subject', r.subject]];
      for (const [k, v] of Object.entries(r.erased || {})) rows.push(['Erased ' + k.replace(/_/g, ' '), String(v)]);
      dl.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));
      $('person-body').hidden = true;
      $('erase-receipt').hidden = false;
      state.person = null;
      say('Erased ' + subject + '; receipt ' + r.receipt + '.');
    } catch (e) {
      $('erase-button').disabled = false;
      say('Erasure: ' + e.message, true);
    }
  }

  // -- audit --------------------------------------------------------------------------------

  async function loadAudit(after) {
    const body = $('audit-body');
    try {
      const r = await api('/v1/audit?limit=50&after=' + encodeURIComponent(after));
      state.auditAfter = after;
      state.auditNext = r.next;
      $('audit-next').disabled = r.entries.length < 50;
      if (r.entries.length === 0) { body.replaceChildren(el('p', { text: 'No entries after ' + after + '.' })); return; }
      body.replaceChildren(table('Audit entries after ' + after, [
        { label: 'Id', num: true }, { label: 'At' }, { label: 'Actor' }, { label: 'Action' }, { label: 'Subject' },
        { label: 'Outcome' }, { label: 'Detail' }],
        r.entries.map((a) => [a.id, a.at, a.actor, a.action, a.subject, a.outcome, a.detail])));
    } catch (e) {
      body.replaceChildren(el('p', { class: 'error', text: 'Audit log: ' + e.message }));
    }
  }

  // -- outbound -----------------------------------------------------------------------------

  function pairs(obj) {
    const dl = el('dl', { class: 'pairs' });
    for (const [k, v] of Object.entries(obj)) {
      dl.append(el('dt', { text: k }), el('dd', { text: typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v) }));
    }
    return dl;
  }

  async function lookupMessage(id) {
    const body = $('outbound-body');
    id = id.trim();
    if (!id) return;
    try {
      const r = await api('/v1/messages/' + encodeURIComponent(id));
      body.replaceChildren(el('h2', { text: 'Message ' + id }), pairs(r));
    } catch (e) {
      body.replaceChildren(el('p', { class: 'error', text: 'Message: ' + e.message }));
    }
  }

  // -- tenants (the control plane, operators only) ------------------------------------------

  const adminPath = (...parts) => '/v1/admin/tenants' + parts.map((p) => '/' + encodeURIComponent(p)).join('');

  /** Shows an API error in `box`: every problem of a 400 invalid_config at its JSON pointer. */
  function showProblems(box, e) {
    const problems = e && e.json && Array.isArray(e.json.problems) ? e.json.problems : null;
    if (!problems) {
      box.replaceChildren(el('p', { class: 'error', text: e ? e.message : '' }));
      return;
    }
    box.replaceChildren(el('p', { class: 'error', text: e.json.message || 'The body was refused.' }),
      el('ul', null, ...problems.map((p) => el('li', null, el('code', { text: p.pointer || '/' }), ' ', p.message))));
  }

  function clearProblems(...ids) {
    for (const id of ids) $(id).replaceChildren();
  }

  /** Parses a JSON object typed into a textarea; a problem is shown in `box` and null returned. */
  function jsonObject(text, box, what) {
    if (!text.trim()) return {};
    try {
      const v = JSON.parse(text);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v;
    } catch (e) { /* reported below */ }
    box.replaceChildren(el('p', { class: 'error', text: what + ' must be a JSON object, e.g. {"key": "value"}.' }));
    return null;
  }

  async function loadTenants(after) {
    const body = $('tenants-list');
    try {
      const r = await api('/v1/admin/tenants?limit=50' + (after ? '&after=' + encodeURIComponent(after) : ''), { tenant: '' });
      state.tenantsAfter = after || '';
      state.tenantsNext = r.next || '';
      $('tenants-next').disabled = !r.next;
      if (r.tenants.length === 0) { body.replaceChildren(el('p', { text: 'No tenants yet.' })); return; }
      body.replaceChildren(table('Tenants' + (after ? ' after ' + after : ''), [
        { label: 'Tenant' }, { label: 'Defined by' }, { label: 'Channels', num: true },
        { label: 'Subscribers', num: true }, { label: 'Action' }],
        r.tenants.map((t) => {
          const b = el('button', { type: 'button', class: 'secondary open-tenant', 'data-id': t.id, text: 'Open',
            'aria-label': 'Open tenant ' + t.id });
          b.addEventListener('click', () => openTenant(t.id));
          return [t.id, t.source === 'file' ? 'config file' : 'API', t.channels, t.subscribers, b];
        })));
    } catch (e) {
      body.replaceChildren(el('p', { class: 'error', text: 'Tenants: ' + e.message }));
    }
  }

  async function createTenant() {
    clearProblems('tenant-create-problems');
    const id = $('tenant-new-id').value.trim();
    const rps = $('tenant-new-rps').value.trim();
    const body = { id };
    if (rps) body.rate_limit = { rps: Number(rps) };
    try {
      await api('/v1/admin/tenants', { method: 'POST', body, tenant: '' });
      $('tenant-new-id').value = '';
      $('tenant-new-rps').value = '';
      say('Tenant ' + id + ' created.');
      await refreshOverview();
      await loadTenants(state.tenantsAfter);
      await openTenant(id);
    } catch (e) {
      showProblems($('tenant-create-problems'), e);
    }
  }

  async function openTenant(id) {
    $('tenant-receipt').hidden = true;
    try {
      state.admin = await api(adminPath(id), { tenant: '' });
    } catch (e) {
      state.admin = null;
      $('tenant-detail').hidden = true;
      say('Tenant ' + id + ': ' + e.message, true);
      return;
    }
    showTenant();
  }

  function secretText(v) {
    return v.set_at ? 'set ' + v.set_at : 'set';
  }

  function settingText(v) {
    if (v && typeof v === 'object' && !Array.isArray(v) && v.set === true) return secretText(v);
    if (Array.isArray(v)) return v.join(', ');
    return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  }

  /** A delete button that asks once more: the first click arms it, the second deletes. */
  function deleteButton(what, action) {
    const b = el('button', { type: 'button', class: 'danger delete', text: 'Delete', 'aria-label': 'Delete ' + what });
    b.addEventListener('click', async () => {
      if (b.dataset.armed !== '1') {
        b.dataset.armed = '1';
        b.textContent = 'Really delete?';
        b.setAttribute('aria-label', 'Really delete? ' + what);
        setTimeout(() => {
          if (b.isConnected && b.dataset.armed === '1') {
            b.dataset.armed = '';
            b.textContent = 'Delete';
            b.setAttribute('aria-label', 'Delete ' + what);
          }
        }, 6000);
        return;
      }
      b.disabled = true;
      await action();
    });
    return b;
  }

  function showTenant() {
    const t = state.admin;
    const file = t.source === 'file';
    $('tenant-detail-title').textContent = 'Tenant ' + t.id;
    $('tenant-detail-meta').textContent = (file ? 'Defined in the config file.' : 'Defined by the API') +
      (t.imported_from ? ' · imported from ' + t.imported_from : '') +
      (t.created_at ? ' · created ' + t.created_at : '') + (t.updated_at ? ' · updated ' + t.updated_at : '');
    $('tenant-file-note').hidden = !file;
    $('tenant-editable').hidden = file;
    $('tenant-detail').hidden = false;
    if (file) return;

    const settings = {};
    if (t.rate_limit) settings.rate_limit = t.rate_limit;
    if (t.privacy) settings.privacy = t.privacy;
    $('tenant-patch').value = JSON.stringify(settings, null, 2);

    $('channels-list').replaceChildren(t.channels.length === 0 ? el('p', { text: 'No channels yet.' })
      : table('Channels of ' + t.id, [{ label: 'Channel' }, { label: 'Type' }, { label: 'Settings' }, { label: 'Actions' }],
        t.channels.map((c) => {
          const dl = el('dl', { class: 'pairs' });
          for (const [k, v] of Object.entries(c)) {
            if (k === 'name' || k === 'type') continue;
            dl.append(el('dt', { text: k }), el('dd', { text: settingText(v) }));
          }
          const edit = el('button', { type: 'button', class: 'secondary edit', text: 'Edit', 'aria-label': 'Edit channel ' + c.name });
          edit.addEventListener('click', () => editChannel(c));
          const del = deleteButton('channel ' + c.name, () => deleteChannel(c.name));
          return [c.name, c.type, dl, el('div', { class: 'row tight' }, edit, del)];
        })));

    $('subscribers-list').replaceChildren(t.subscribers.length === 0 ? el('p', { text: 'No subscribers yet.' })
      : table('Subscribers of ' + t.id, [{ label: 'Subscriber' }, { label: 'Scopes' }, { label: 'Purposes' },
        { label: 'Push' }, { label: 'Token' }, { label: 'Actions' }],
      t.subscribers.map((sub) => {
        const rotate = el('button', { type: 'button', class: 'secondary rotate', text: 'Rotate token',
          'aria-label': 'Rotate token of ' + sub.name });
        rotate.addEventListener('click', () => rotateToken(sub.name));
        const del = deleteButton('subscriber ' + sub.name, () => deleteSubscriber(sub.name));
        return [sub.name, (sub.scopes || []).join(', ') || '–', (sub.purposes || []).join(', ') || '–',
          sub.push && sub.push.url ? sub.push.url : 'pull only', sub.token ? secretText(sub.token) : 'none',
          el('div', { class: 'row tight' }, rotate, del)];
      })));

    resetChannelForm();
    $('tenant-delete-confirm').value = '';
    $('tenant-delete').disabled = true;
  }

  async function patchTenant() {
    clearProblems('tenant-patch-problems');
    const patch = jsonObject($('tenant-patch').value, $('tenant-patch-problems'), 'The settings');
    if (!patch) return;
    const id = state.admin.id;
    try {
      state.admin = await api(adminPath(id), { method: 'PATCH', body: patch, tenant: '' });
      say('Tenant ' + id + ' saved.');
      showTenant();
    } catch (e) {
      showProblems($('tenant-patch-problems'), e);
    }
  }

  function resetChannelForm() {
    state.editing = '';
    $('channel-form-title').textContent = 'Add a channel';
    $('channel-submit').textContent = 'Add channel';
    $('channel-cancel').hidden = true;
    $('channel-name').disabled = false;
    $('channel-type').disabled = false;
    $('channel-name').value = '';
    $('channel-settings').value = '';
    clearProblems('channel-problems');
  }

  function editChannel(c) {
    state.editing = c.name;
    $('channel-form-title').textContent = 'Edit channel ' + c.name;
    $('channel-submit').textContent = 'Save channel';
    $('channel-cancel').hidden = false;
    $('channel-name').value = c.name;
    $('channel-name').disabled = true;
    $('channel-type').value = c.type;
    $('channel-type').disabled = true;
    // The settings that are not secrets, to edit in place; a secret is set by adding its key.
    const shown = {};
    for (const [k, v] of Object.entries(c)) {
      if (k === 'name' || k === 'type') continue;
      if (v && typeof v === 'object' && !Array.isArray(v) && v.set === true) continue;
      shown[k] = v;
    }
    $('channel-settings').value = JSON.stringify(shown, null, 2);
    clearProblems('channel-problems');
    $('channel-settings').focus();
  }

  async function saveChannel() {
    clearProblems('channel-problems');
    const settings = jsonObject($('channel-settings').value, $('channel-problems'), 'The settings');
    if (!settings) return;
    const id = state.admin.id;
    try {
      if (state.editing) {
        await api(adminPath(id, 'channels', state.editing), { method: 'PATCH', body: settings, tenant: '' });
        say('Channel ' + state.editing + ' saved: the next request uses it.');
      } else {
        const name = $('channel-name').value.trim();
        const body = Object.assign({ name, type: $('channel-type').value }, settings);
        await api(adminPath(id, 'channels'), { method: 'POST', body, tenant: '' });
        say('Channel ' + name + ' added: POST /webhooks/' + id + '/' + name + ' takes its webhooks.');
      }
      await openTenant(id);
      refreshOverview();
    } catch (e) {
      showProblems($('channel-problems'), e);
    }
  }

  async function deleteChannel(name) {
    const id = state.admin.id;
    try {
      await api(adminPath(id, 'channels', name), { method: 'DELETE', tenant: '' });
      say('Channel ' + name + ' deleted: its webhooks get 404 from now on.');
    } catch (e) {
      say('Channel ' + name + ': ' + e.message, true);
    }
    await openTenant(id);
    refreshOverview();
  }

  function showToken(name, token) {
    $('token-once-text').textContent = 'The token of ' + name +
      ', shown this once (the gateway keeps only its SHA-256): store it in the backend now.';
    $('token-once-value').textContent = token;
    $('token-once').hidden = false;
  }

  async function addSubscriber() {
    clearProblems('subscriber-problems');
    const name = $('subscriber-name').value.trim();
    const body = {
      name,
      scopes: SCOPES.filter((s) => $('scope-' + s).checked),
      purposes: PURPOSES.filter((p) => $('sub-purpose-' + p).checked),
    };
    const url = $('subscriber-push').value.trim();
    if (url) body.push = { url };
    const id = state.admin.id;
    try {
      const r = await api(adminPath(id, 'subscribers'), { method: 'POST', body, tenant: '' });
      $('subscriber-name').value = '';
      $('subscriber-push').value = '';
      for (const cb of document.querySelectorAll('#subscriber-form input[type=checkbox]')) cb.checked = false;
      await openTenant(id);
      showToken(r.name, r.token);
      say('Subscriber ' + r.name + ' added.');
      refreshOverview();
    } catch (e) {
      showProblems($('subscriber-problems'), e);
    }
  }

  async function rotateToken(name) {
    const id = state.admin.id;
    try {
      const r = await api(adminPath(id, 'subscribers', name, 'rotate-token'), { method: 'POST', tenant: '' });
      await openTenant(id);
      showToken(r.name, r.token);
      say('The token of ' + name + ' was rotated: the old one no longer works.');
    } catch (e) {
      say('Rotate ' + name + ': ' + e.message, true);
    }
  }

  async function deleteSubscriber(name) {
    const id = state.admin.id;
    try {
      await api(adminPath(id, 'subscribers', name), { method: 'DELETE', tenant: '' });
      say('Subscriber ' + name + ' deleted: its token stopped working.');
    } catch (e) {
      say('Subscriber ' + name + ': ' + e.message, true);
    }
    await openTenant(id);
    refreshOverview();
  }

  async function deleteTenant() {
    const id = state.admin && state.admin.id;
    if (!id || $('tenant-delete-confirm').value !== id) return;
    $('tenant-delete').disabled = true;
    try {
      const r = await api(adminPath(id), { method: 'DELETE', body: { confirm: id }, tenant: '' });
      const rows = [['Receipt', r.receipt], ['Tenant', r.tenant], ['Deleted at', r.deleted_at]];
      for (const [k, v] of Object.entries(r.erased || {})) rows.push(['Erased ' + k.replace(/_/g, ' '), String(v)]);
      $('tenant-receipt-list').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));
      $('tenant-detail').hidden = true;
      $('tenant-receipt').hidden = false;
      $('token-once').hidden = true;
      state.admin = null;
      say('Tenant ' + id + ' deleted; receipt ' + r.receipt + '.');
      await refreshOverview();
      await loadTenants(state.tenantsAfter);
    } catch (e) {
      $('tenant-delete').disabled = false;
      say('Delete ' + id + ': ' + e.message, true);
    }
  }

  function wireTenants() {
    $('channel-type').replaceChildren(...CHANNEL_TYPES.map((t) => el('option', { value: t, text: t })));
    $('subscriber-scopes').replaceChildren(...SCOPES.map((s) => el('div', { class: 'check' },
      el('input', { type: 'checkbox', id: 'scope-' + s }), el('label', { for: 'scope-' + s, text: s }))));
    $('subscriber-purposes').replaceChildren(...PURPOSES.map((p) => el('div', { class: 'check' },
      el('input', { type: 'checkbox', id: 'sub-purpose-' + p }), el('label', { for: 'sub-purpose-' + p, text: p }))));
    $('tenant-create-form').addEventListener('submit', (ev) => { ev.preventDefault(); createTenant(); });
    $('tenants-first').addEventListener('click', () => loadTenants(''));
    $('tenants-next').addEventListener('click', () => loadTenants(state.tenantsNext));
    $('tenant-patch-form').addEventListener('submit', (ev) => { ev.preventDefault(); patchTenant(); });
    $('channel-form').addEventListener('submit', (ev) => { ev.preventDefault(); saveChannel(); });
    $('channel-cancel').addEventListener('click', resetChannelForm);
    $('subscriber-form').addEventListener('submit', (ev) => { ev.preventDefault(); addSubscriber(); });
    $('token-once-copy').addEventListener('click', async () => {
      const v = $('token-once-value').textContent;
      try {
        await navigator.clipboard.writeText(v);
        say('Token copied.');
      } catch (e) {
        // No clipboard permission: select the text for the person to copy.
        const r = document.createRange();
        r.selectNodeContents($('token-once-value'));
        const sel = getSelection();
        sel.removeAllRanges();
        sel.addRange(r);
        say('Select and copy the token (the browser refused the clipboard).');
      }
    });
    $('token-once-done').addEventListener('click', () => {
      $('token-once').hidden = true;
      $('token-once-value').textContent = '';
    });
    $('tenant-delete-confirm').addEventListener('input', (ev) => {
      $('tenant-delete').disabled = !state.admin || ev.target.value !== state.admin.id;
    });
    $('tenant-delete').addEventListener('click', deleteTenant);
  }

  // -- wiring -------------------------------------------------------------------------------

  function startPolling() {
    clearInterval(state.timer);
    state.timer = setInterval(refreshOverview, 5000);
  }

  document.addEventListener('DOMContentLoaded', async () => {
    $('signin-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      $('signin-error').textContent = '';
      const token = $('token').value.trim();
      try {
        await signIn(token);
        $('token').value = '';
        say('Signed in.');
        startPolling();
        if (!location.hash || location.hash === '#/signin') location.hash = '#/overview';
        render();
        $('main').focus({ preventScroll: true });
      } catch (e) {
        $('signin-error').textContent = e.status === 401 ? 'Sign-in refused: ' + e.message
          : e.status === 403 ? 'This token cannot open the console (it needs the admin scope): ' + e.message
            : 'Sign-in failed: ' + e.message;
      }
    });
    $('sign-out').addEventListener('click', signOut);
    $('tenant-select').addEventListener('change', (ev) => {
      state.tenant = ev.target.value;
      sessionStorage.setItem(TENANT_KEY, state.tenant);
      stopTail();
      $('tail-list').replaceChildren();
      $('person-body').hidden = true;
      $('erase-receipt').hidden = true;
      state.auditAfter = 0;
      render();
    });
    $('tail-form').addEventListener('submit', (ev) => { ev.preventDefault(); startTail(); });
    $('tail-stop').addEventListener('click', stopTail);
    $('dl-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadDeadLetters(); });
    $('dl-redrive-all').addEventListener('click', () => {
      const name = $('dl-subscriber').value;
      if (name) redrive(name, { all: true });
    });
    $('person-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadPerson($('person-subject').value); });
    $('person-download').addEventListener('click', download);
    $('person-restricted').addEventListener('change', (ev) => setRestricted(ev.target));
    $('erase-confirm').addEventListener('input', (ev) => {
      $('erase-button').disabled = !state.person || ev.target.value !== state.person.subject;
    });
    $('erase-button').addEventListener('click', erase);
    $('audit-first').addEventListener('click', () => loadAudit(0));
    $('audit-next').addEventListener('click', () => loadAudit(state.auditNext));
    $('outbound-form').addEventListener('submit', (ev) => { ev.preventDefault(); lookupMessage($('outbound-id').value); });
    wireTenants();
    window.addEventListener('hashchange', render);

    if (state.token) {
      try {
        await signIn(state.token);
        startPolling();
      } catch (e) {
        sessionStorage.removeItem(TOKEN_KEY);
        state.token = '';
        $('signin-error').textContent = 'Sign-in refused: ' + e.message;
      }
    }
    render();
  });
})();
