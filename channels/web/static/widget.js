/*
 * helpdesk web chat widget.
 *
 * Embed with one tag:  <script src="https://support.example.com/widget.js"></script>
 * Optional attributes: data-locale="ja|en", data-title="...", data-api-base="https://...",
 * and for a signed-in user data-external-id="..." with data-identity-hash="..." (the
 * HMAC your backend computes): every session of that user is then the same customer.
 *
 * Vanilla ES2020, no build step, no external requests. Everything lives in a
 * shadow root so the host page's CSS cannot break the widget (and vice versa).
 * Server data is only ever inserted with textContent, never as HTML.
 */
(() => {
  'use strict';
  if (window.HelpdeskWidget) return; // the tag was included twice

  // currentScript is only set while this file is first executing, so read it now.
  const script = document.currentScript;
  const attr = (name) => (script && script.getAttribute(name)) || '';
  const apiBase = (attr('data-api-base') ||
    (script && script.src ? new URL(script.src, location.href).origin : location.origin)
  ).replace(/\/+$/, '');
  const wsBase = apiBase.replace(/^http/, 'ws');
  const pickLocale = (v) => (/^ja\b/i.test(v) ? 'ja' : /^en\b/i.test(v) ? 'en' : '');
  const locale = pickLocale(attr('data-locale')) || pickLocale(navigator.language || '') || 'en';
  // Both or neither: the server refuses an id without its hash.
  const externalId = attr('data-identity-hash') ? attr('data-external-id') : '';
  const identityHash = externalId ? attr('data-identity-hash') : '';

  const STRINGS = {
    ja: {
      title: 'サポート', subtitle: 'チャットでお問い合わせ', open: 'サポートチャットを開く',
      close: 'チャットを閉じる', placeholder: 'メッセージを入力…', send: '送信',
      log: 'チャット履歴', choices: '選択肢', bot: '自動応答', agent: '担当者',
      empty: 'ご質問をどうぞ。自動応答でお答えし、必要なら担当者におつなぎします。',
      failed: '送信できませんでした。もう一度お試しください。', tooLong: 'メッセージが長すぎます。',
      busy: '送信が続いたため、少し時間をおいてからお試しください。',
      reconnecting: '接続が切れました。再接続しています…', unread: '新着メッセージがあります',
      line: 'LINEで続ける', lineClose: 'LINEの案内を閉じる',
      lineHint: 'LINEで友だち追加して、このコードを送ってください',
      valid: (min) => '（' + min + '分間有効）',
      lineLoading: 'コードを発行しています…', lineFailed: 'コードを発行できませんでした。',
      lineExpired: 'このコードは有効期限が切れました。', lineRetry: '新しいコードを発行',
      lineGo: 'LINEを開く', newTab: '（新しいタブで開きます）', copy: 'コピー',
      copyLabel: 'コードをコピー', copied: 'コピーしました',
      copyManual: 'コピーできませんでした。選択されたコードをコピーしてください。',
    },
    en: {
      title: 'Support', subtitle: 'Chat with us', open: 'Open support chat',
      close: 'Close chat', placeholder: 'Type a message…', send: 'Send',
      log: 'Chat history', choices: 'Choices', bot: 'Bot', agent: 'Agent',
      empty: 'Ask us anything. Our bot answers first and can hand you over to a person.',
      failed: 'Could not send. Please try again.', tooLong: 'That message is too long.',
      busy: 'Too many messages in a row. Please wait a moment and try again.',
      reconnecting: 'Connection lost. Reconnecting…', unread: 'New messages',
      line: 'Continue on LINE', lineClose: 'Close the LINE instructions',
      lineHint: 'Add us on LINE and send this code',
      valid: (min) => ' (valid for ' + min + (min === 1 ? ' minute)' : ' minutes)'),
      lineLoading: 'Getting a code…', lineFailed: 'Could not get a code.',
      lineExpired: 'This code has expired.', lineRetry: 'Get a new code',
      lineGo: 'Open LINE', newTab: ' (opens in a new tab)', copy: 'Copy',
      copyLabel: 'Copy code', copied: 'Copied',
      copyManual: 'Could not copy. The code is selected: copy it yourself.',
    },
  };
  const t = STRINGS[locale];
  const title = attr('data-title') || t.title;
  const STORAGE_KEY = 'helpdesk-widget:' + apiBase;

  const CSS = `
:host { all: initial; }
* { box-sizing: border-box; }
.root { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", "Hiragino Sans", "Noto Sans JP", sans-serif;
  color: #1f2933; --accent: #2f6fde; --accent-dark: #1f55b5; }
button { font: inherit; cursor: pointer; }
button:focus-visible, textarea:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.bubble { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 56px; height: 56px;
  border: 0; border-radius: 50%; background: var(--accent); color: #fff;
  display: grid; place-items: center;
  box-shadow: 0 4px 14px rgba(0,0,0,.25); transition: transform .15s; }
.bubble:hover { transform: scale(1.06); background: var(--accent-dark); }
.bubble svg { width: 26px; height: 26px; fill: currentColor; }
.badge { position: absolute; top: 4px; right: 4px; width: 12px; height: 12px; border-radius: 50%;
  background: #e5484d; border: 2px solid #fff; }
.panel { position: fixed; right: 20px; bottom: 88px; z-index: 2147483000; width: 360px;
  height: min(560px, calc(100vh - 108px)); display: flex; flex-direction: column; background: #fff;
  border-radius: 14px; overflow: hidden; box-shadow: 0 10px 40px rgba(0,0,0,.22); }
.panel[hidden], .badge[hidden], .empty[hidden], .status[hidden], .line[hidden],
.line [hidden] { display: none; }
header { display: flex; align-items: center; gap: 8px; padding: 12px 12px 12px 16px;
  background: var(--accent); color: #fff; }
header .titles { flex: 1; min-width: 0; }
header h2 { margin: 0; font-size: 15px; font-weight: 600; }
header p { margin: 0; font-size: 12px; opacity: .85; }
.close { width: 32px; height: 32px; border: 0; border-radius: 8px; background: transparent; color: #fff;
  font-size: 20px; line-height: 1; }
.close:hover { background: rgba(255,255,255,.18); }
.line-open { flex: none; border: 0; border-radius: 999px; padding: 3px 10px; background: #fff;
  color: #00833b; font-size: 12px; font-weight: 600; white-space: nowrap; }
.line-open:hover { background: #e8f8ee; }
.line-open:focus-visible { outline-color: #fff; }
.line { padding: 10px 14px 12px; border-bottom: 1px solid #e4e7eb; border-left: 4px solid #06c755;
  background: #fff; }
.line-head { display: flex; align-items: center; justify-content: space-between; }
.line h3 { margin: 0; font-size: 13px; font-weight: 600; color: #00833b; }
.line-x { width: 28px; height: 28px; border: 0; border-radius: 8px; background: transparent;
  color: #52606d; font-size: 18px; line-height: 1; }
.line-x:hover { background: #f0f2f5; }
.line-row { display: flex; align-items: center; gap: 8px; margin: 6px 0; }
.line-code { flex: 1; min-width: 0; padding: 6px 10px; border-radius: 8px; background: #f5f7fa;
  font: 600 24px/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  letter-spacing: .08em; text-align: center; user-select: all; -webkit-user-select: all; }
.line-code.expired { color: #9aa5b1; text-decoration: line-through; }
.line-copy, .line-retry { border: 1px solid #00833b; border-radius: 8px; padding: 6px 12px;
  background: #fff; color: #00833b; }
.line-copy:hover:enabled, .line-retry:hover { background: #e8f8ee; }
.line-copy:disabled { cursor: default; border-color: #cbd2d9; color: #9aa5b1; }
.line-hint { margin: 0 0 8px; font-size: 12px; color: #52606d; }
.line-go { display: block; padding: 8px 12px; border-radius: 10px; background: #00833b; color: #fff;
  font-weight: 600; text-align: center; text-decoration: none; }
.line-go:hover { background: #006b30; }
.line-go:focus-visible, .line-copy:focus-visible, .line-retry:focus-visible, .line-x:focus-visible {
  outline: 2px solid #00833b; outline-offset: 2px; }
.line-retry { display: block; width: 100%; }
.nowrap { white-space: nowrap; }
.line-note { margin: 6px 0 0; font-size: 12px; color: #00833b; min-height: 0; }
.line-note:empty { display: none; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
.body { flex: 1; overflow-y: auto; padding: 14px 12px; background: #f5f7fa; }
.empty { color: #52606d; font-size: 13px; text-align: center; margin: 24px 12px; }
.msg { display: flex; flex-direction: column; align-items: flex-start; margin: 0 0 10px; }
.msg.customer { align-items: flex-end; }
.msg.system { align-items: center; }
.meta { font-size: 11px; color: #616e7c; margin: 0 4px 2px; display: flex; gap: 6px; }
.who { font-weight: 600; }
.agent .who { color: #fff; background: #0f8a5f; border-radius: 4px; padding: 0 5px; }
.text { max-width: 85%; padding: 8px 12px; border-radius: 14px; white-space: pre-wrap;
  overflow-wrap: anywhere; background: #fff; border: 1px solid #e4e7eb; }
.customer .text { background: var(--accent); border-color: var(--accent); color: #fff; }
.agent .text { border-color: #0f8a5f; }
.system .text { max-width: 95%; background: transparent; border: 0; color: #52606d; font-size: 12px;
  text-align: center; padding: 2px 8px; }
.pending .text { opacity: .6; }
.failed .text { background: #fff; color: #b42318; border: 1px dashed #b42318; }
.choices { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; max-width: 90%; }
.choices button { border: 1px solid var(--accent); background: #fff; color: var(--accent);
  border-radius: 999px; padding: 4px 12px; font-size: 13px; }
.choices button:hover:enabled { background: var(--accent); color: #fff; }
.choices button:disabled { cursor: default; border-color: #cbd2d9; color: #9aa5b1; }
.status { padding: 6px 12px; font-size: 12px; color: #7a4d00; background: #fff7e0; }
form { display: flex; align-items: flex-end; gap: 8px; padding: 10px; border-top: 1px solid #e4e7eb; }
textarea { flex: 1; resize: none; max-height: 120px; border: 1px solid #cbd2d9; border-radius: 10px;
  padding: 8px 10px; font: inherit; color: inherit; }
.send { border: 0; border-radius: 10px; padding: 8px 14px; background: var(--accent); color: #fff; }
.send:hover { background: var(--accent-dark); }
@media (max-width: 480px) {
  .panel { right: 0; bottom: 0; width: 100vw; height: 100vh; border-radius: 0; }
}`;

  // Tiny DOM helper: el('div', {class: 'x', 'aria-label': 'y'}, child, 'text', ...).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c); // strings become text nodes, never HTML
    return node;
  }
  function icon(d) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', d);
    svg.append(path);
    return svg;
  }

  // ---- DOM -----------------------------------------------------------------
  const host = el('div', { id: 'helpdesk-widget' });
  const shadow = host.attachShadow({ mode: 'open' });
  const badge = el('span', { class: 'badge', hidden: '' });
  const bubble = el('button', { class: 'bubble', type: 'button', 'aria-label': t.open,
    'aria-expanded': 'false', 'aria-controls': 'hd-panel' },
  icon('M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-4 4V5a2 2 0 0 1 2-2z'), badge);
  const closeBtn = el('button', { class: 'close', type: 'button', 'aria-label': t.close }, '×');
  const empty = el('p', { class: 'empty' }, t.empty);
  const log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': t.log });
  const scroller = el('div', { class: 'body' }, empty, log);
  const status = el('div', { class: 'status', role: 'status', hidden: '' });
  const input = el('textarea', { rows: '1', placeholder: t.placeholder, 'aria-label': t.placeholder });
  const sendBtn = el('button', { class: 'send', type: 'submit' }, t.send);
  const form = el('form', {}, input, sendBtn);
  const header = el('header', {},
    el('div', { class: 'titles' }, el('h2', {}, title), el('p', {}, t.subtitle)), closeBtn);
  const panel = el('section', { class: 'panel', id: 'hd-panel', role: 'dialog', 'aria-label': title,
    hidden: '' },
  header, scroller, status, form);

  // "Continue on LINE": built here, attached only once the server says LINE is on.
  const lineBtn = el('button', { class: 'line-open', type: 'button', 'aria-expanded': 'false',
    'aria-controls': 'hd-line' }, t.line);
  const lineX = el('button', { class: 'line-x', type: 'button', 'aria-label': t.lineClose }, '×');
  const lineCode = el('span', { class: 'line-code' });
  const lineCopy = el('button', { class: 'line-copy', type: 'button', 'aria-label': t.copyLabel },
    t.copy);
  const lineHint = el('p', { class: 'line-hint' });
  const lineGo = el('a', { class: 'line-go', target: '_blank', rel: 'noopener' },
    t.lineGo, el('span', { class: 'sr' }, t.newTab));
  const lineRetry = el('button', { class: 'line-retry', type: 'button', hidden: '' }, t.lineRetry);
  const lineNote = el('p', { class: 'line-note', role: 'status' });
  const lineCard = el('section', { class: 'line', id: 'hd-line', 'aria-labelledby': 'hd-line-title',
    hidden: '' },
  el('div', { class: 'line-head' }, el('h3', { id: 'hd-line-title' }, t.line), lineX),
  el('div', { 'aria-live': 'polite' }, // read out the code and its hint when they arrive
    el('div', { class: 'line-row' }, lineCode, lineCopy), lineHint),
  lineGo, lineRetry, lineNote);
  shadow.append(el('style', {}, CSS), el('div', { class: 'root', lang: locale }, bubble, panel));

  // ---- state ---------------------------------------------------------------
  let session = load();
  const rendered = new Map(); // message id -> element; the dedupe point for POST, WS and catch-up
  let maxId = 0;
  let creating = null; // in-flight POST /sessions, shared by concurrent callers
  let ws = null;
  let socketReady = false; // the socket's auth frame was accepted: pushes arrive
  let attempts = 0; // consecutive WebSocket failures, for the backoff
  let reconnectTimer = null;
  let pingTimer = null;
  let catching = null;
  let lineUrl; // undefined until /config answers, then the add-friend URL or null (LINE is off)
  let configuring = null;
  let link = null; // the shown code: { code, expires (ms), timer }
  let linking = null; // in-flight POST /link-code

  function load() {
    try {
      const s = JSON.parse(localStorage.getItem(STORAGE_KEY) || 'null');
      // A session of another signed-in user (or of none) is not this one's.
      return s && s.token && (s.external_id || '') === externalId ? s : null;
    } catch { return null; } // storage disabled or corrupted: behave like a new visitor
  }
  function save(s) {
    session = s;
    try {
      if (s) localStorage.setItem(STORAGE_KEY, JSON.stringify(s));
      else localStorage.removeItem(STORAGE_KEY);
    } catch { /* private mode: the chat still works for this page view */ }
  }

  // ---- HTTP ----------------------------------------------------------------
  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (session) headers.Authorization = 'Bearer ' + session.token;
    const res = await fetch(apiBase + path, { method, headers,
      body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      throw Object.assign(new Error(data.error || res.statusText),
        { status: res.status, retryAfter: Number(res.headers.get('Retry-After')) || 1 });
    }
    return data;
  }

  // A 503 (the server is busy, or its database is away) stored nothing: wait as asked,
  // at most 5 s, and try once more before telling the customer.
  async function postMessage(body) {
    try {
      return await api('POST', '/api/chat/messages', body);
    } catch (err) {
      if (err.status !== 503) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.min(err.retryAfter, 5) * 1000));
      return api('POST', '/api/chat/messages', body);
    }
  }

  function ensureSession() {
    if (session) return Promise.resolve();
    const body = externalId
      ? { locale, external_id: externalId, identity_hash: identityHash } : { locale };
    creating = creating || api('POST', '/api/chat/sessions', body).then((s) => {
      save({ session_id: s.session_id, token: s.token, external_id: externalId || undefined });
      // A signed-in user's new session is the same customer: show their history first.
      return externalId ? catchUp(false) : undefined;
    }).then(connect).finally(() => { creating = null; });
    return creating;
  }

  // The token was refused (401 "session_expired" or "invalid_token", or the socket's
  // 4401): a signed-in user gets a new session of the same customer at once, history
  // and all; an anonymous visitor's next session would be a new customer, so it starts
  // with their next message.
  function sessionEnded() {
    resetSession();
    if (externalId) ensureSession().catch(() => { /* the next send tries again */ });
  }

  // Drop the old history (its ids belong to another session) and the token.
  function resetSession() {
    save(null);
    disconnect();
    showStatus('');
    for (const node of rendered.values()) node.remove();
    rendered.clear();
    maxId = 0;
    for (const node of log.children) node._key = 0.5; // keep unsent bubbles above new replies
    refresh();
    hideLine(false); // and forget its code: that one joins the old customer
  }

  // ---- rendering -----------------------------------------------------------
  function timeLabel(iso) {
    if (!iso) return ''; // new Date(null) would claim 1970
    const d = new Date(iso);
    return isNaN(d) ? '' : d.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });
  }

  function buildMessage(m) {
    const role = ['customer', 'bot', 'agent', 'system'].includes(m.role) ? m.role : 'bot';
    const node = el('div', { class: 'msg ' + role });
    const meta = el('div', { class: 'meta' });
    if (role === 'bot' || role === 'agent') meta.append(el('span', { class: 'who' }, t[role]));
    const time = timeLabel(m.created_at);
    if (time) meta.append(el('time', { datetime: String(m.created_at) }, time));
    if (meta.childNodes.length && role !== 'system') node.append(meta);
    node.append(el('div', { class: 'text' }, String(m.text ?? '')));
    const buttons = Array.isArray(m.buttons) ? m.buttons.filter((b) => b && b.postback) : [];
    if (buttons.length && role !== 'customer') {
      const group = el('div', { class: 'choices', role: 'group', 'aria-label': t.choices });
      for (const b of buttons) {
        const label = String(b.label ?? b.postback);
        const btn = el('button', { type: 'button' }, label);
        btn.addEventListener('click', () => send({ postback: String(b.postback) }, label));
        group.append(btn);
      }
      node.append(group);
    }
    return node;
  }

  // Keep the log sorted by id: WS pushes, POST responses and catch-ups can
  // interleave in any order. Unsent bubbles sort right after the newest known id.
  function insertSorted(node, key) {
    node._key = key;
    let after = log.lastElementChild;
    while (after && after._key > key) after = after.previousElementSibling;
    if (after) after.after(node); else log.prepend(node);
  }

  function addMessage(m, live) {
    if (!m || typeof m.id !== 'number' || rendered.has(m.id)) return;
    const node = buildMessage(m);
    node.dataset.id = String(m.id);
    rendered.set(m.id, node);
    maxId = Math.max(maxId, m.id);
    // The server's copy of a message we showed optimistically replaces our copy.
    if (m.role === 'customer') {
      const dup = [...log.querySelectorAll('.pending')].find((p) => p._text === m.text);
      if (dup) dup.remove();
    }
    insertSorted(node, m.id);
    if (live && panel.hidden && m.role !== 'customer') setUnread(true);
    refresh();
  }

  // Only the newest message's buttons stay clickable; older choices are history.
  // A failed send doesn't count, so the user can still pick an answer again.
  function refresh() {
    let last = log.lastElementChild;
    while (last && last.classList.contains('failed')) last = last.previousElementSibling;
    for (const btn of log.querySelectorAll('.choices button')) {
      btn.disabled = !last || !last.contains(btn);
    }
    empty.hidden = log.childElementCount > 0;
    scroller.scrollTop = scroller.scrollHeight;
  }

  // The red dot says "something new" to sighted users; the label says it to screen readers.
  function setUnread(on) {
    badge.hidden = !on;
    bubble.setAttribute('aria-label', on ? t.open + ' (' + t.unread + ')' : t.open);
  }

  function showStatus(text) {
    status.textContent = text || '';
    status.hidden = !text;
  }

  // ---- sending -------------------------------------------------------------
  async function send(body, shownText) {
    const pending = el('div', { class: 'msg customer pending' },
      el('div', { class: 'text' }, shownText));
    pending._text = shownText;
    insertSorted(pending, maxId + 0.5);
    refresh(); // the pending bubble is now last, so every choice is disabled: no double answers
    try {
      let data;
      try {
        await ensureSession();
        data = await postMessage(body);
      } catch (err) {
        if (err.status !== 401) throw err;
        sessionEnded(); // expired or stale token: one retry with a fresh session
        await ensureSession();
        data = await postMessage(body);
      }
      pending.remove();
      addMessage(data.message, false);
      for (const m of data.messages || []) addMessage(m, false);
      showStatus('');
    } catch (err) {
      pending.classList.replace('pending', 'failed');
      showStatus(err.status === 413 ? t.tooLong
        : err.status === 429 || err.status === 503 ? t.busy : t.failed);
    }
    refresh();
  }

  function submit() {
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    autosize();
    send({ text }, text);
  }

  function autosize() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 120) + 'px';
  }

  // ---- live updates --------------------------------------------------------
  // Fetch whatever we missed (or the whole history when maxId is 0). The server
  // returns history in pages, so keep asking until a page comes back empty.
  async function fetchNew(live) {
    for (let page = 0; page < 20 && session; page++) {
      const data = await api('GET', '/api/chat/messages' + (maxId ? '?after=' + maxId : ''));
      const before = maxId;
      for (const m of data.messages || []) addMessage(m, live);
      if (maxId === before) return;
    }
  }
  function catchUp(live) {
    if (!session) return Promise.resolve();
    catching = catching || fetchNew(live)
      .catch((err) => { if (err.status === 401) sessionEnded(); })
      .finally(() => { catching = null; });
    return catching;
  }

  // The token goes in the socket's first frame, never in its URL: URLs end up in the
  // logs of every proxy on the way.
  function connect() {
    if (!session || ws) return;
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    const sock = new WebSocket(wsBase + '/api/chat/ws');
    const token = session.token;
    ws = sock;
    sock.onopen = () => sock.send(JSON.stringify({ type: 'auth', token }));
    sock.onmessage = (e) => {
      let data;
      try { data = JSON.parse(e.data); } catch { return; }
      if (!data) return;
      if (data.type === 'ready') {
        socketReady = true;
        attempts = 0; // only a socket the server took counts as a success
        showStatus('');
        catchUp(true); // covers anything sent while we were (re)connecting
        // Keep idle proxies from dropping the socket.
        pingTimer = setInterval(() => sock.send(JSON.stringify({ type: 'ping' })), 25000);
      } else if (data.type === 'message') {
        addMessage(data.message, true);
      }
    };
    sock.onclose = (e) => {
      clearInterval(pingTimer);
      if (ws !== sock) return; // closed on purpose by disconnect()
      ws = null;
      socketReady = false;
      if (e.code === 4401) { // "session_expired" or "invalid_token": retrying cannot help
        if (session && session.token === token) sessionEnded();
        return;
      }
      if (attempts > 0) showStatus(t.reconnecting);
      // Exponential backoff with jitter, capped at 30 s.
      const delay = Math.min(30000, 1000 * 2 ** attempts) * (0.75 + Math.random() * 0.25);
      attempts += 1;
      reconnectTimer = setTimeout(connect, delay);
    };
  }

  function disconnect() {
    const sock = ws;
    ws = null;
    socketReady = false;
    clearTimeout(reconnectTimer);
    clearInterval(pingTimer);
    if (sock) sock.close();
  }

  // ---- continue on LINE ----------------------------------------------------
  // Only http(s) links: the URL comes from the server, but never let it run script.
  function safeUrl(u) {
    try {
      const url = new URL(String(u));
      return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
    } catch { return null; }
  }

  function loadConfig() {
    if (lineUrl !== undefined) return Promise.resolve();
    configuring = configuring || api('GET', '/api/chat/config').then((c) => {
      lineUrl = c && c.line_url ? safeUrl(c.line_url) : null;
      if (!lineUrl) return;
      lineGo.href = lineUrl;
      header.insertBefore(lineBtn, closeBtn);
      header.after(lineCard);
    }).catch(() => { /* no config now: no LINE button; the next open asks again */ })
      .finally(() => { configuring = null; });
    return configuring;
  }

  function dropLinkCode() {
    if (link) clearTimeout(link.timer);
    link = null;
  }

  function showLinkState(state) {
    const ready = state === 'ready';
    lineCode.classList.toggle('expired', state === 'expired');
    lineCopy.disabled = !ready;
    lineGo.hidden = state !== 'ready' && state !== 'loading';
    lineRetry.hidden = state !== 'expired' && state !== 'failed';
    if (state === 'loading') {
      lineCode.textContent = '····-····';
      lineHint.textContent = t.lineLoading;
    } else if (state === 'failed') {
      lineCode.textContent = '····-····';
      lineHint.textContent = t.lineFailed;
    } else if (state === 'expired') {
      lineHint.textContent = t.lineExpired;
      lineNote.textContent = '';
    } else {
      lineCode.textContent = link.code;
      // Minutes left by our clock; a clock far off from the server's just drops the number.
      const min = Math.round((link.expires - Date.now()) / 60000);
      lineHint.replaceChildren(t.lineHint);
      if (min > 0 && min <= 24 * 60) lineHint.append(el('span', { class: 'nowrap' }, t.valid(min)));
    }
  }

  async function requestLinkCode() {
    dropLinkCode();
    lineNote.textContent = '';
    showLinkState('loading');
    let data;
    try {
      try {
        await ensureSession();
        data = await api('POST', '/api/chat/link-code');
      } catch (err) {
        if (err.status !== 401) throw err;
        sessionEnded(); // expired or stale token: one retry with a fresh session
        lineCard.hidden = false;
        lineBtn.setAttribute('aria-expanded', 'true');
        await ensureSession();
        data = await api('POST', '/api/chat/link-code');
      }
    } catch {
      data = null;
    }
    if (!data || !data.code) {
      showLinkState('failed');
      return;
    }
    const expires = Date.parse(data.expires_at);
    const left = expires - Date.now();
    link = { code: String(data.code), expires, timer: 0 };
    if (left > 0 && left < 2 ** 31) {
      link.timer = setTimeout(() => {
        const had = lineCard.contains(shadow.activeElement);
        showLinkState('expired');
        if (had) lineRetry.focus(); // the copy button and the link just went away
      }, left);
    }
    const url = data.line_url && safeUrl(data.line_url);
    if (url) lineGo.href = url;
    showLinkState('ready');
    // Move focus to the code unless the customer went on elsewhere in the meantime.
    const at = shadow.activeElement;
    if (!lineCard.hidden && (!at || at === lineBtn || lineCard.contains(at))) lineCopy.focus();
  }

  // Each opening gets a fresh code: the widget cannot tell whether the last one was used.
  function newLinkCode() {
    linking = linking || requestLinkCode().finally(() => { linking = null; });
  }
  function showLine() {
    lineCard.hidden = false;
    lineBtn.setAttribute('aria-expanded', 'true');
    newLinkCode();
  }

  function hideLine(focus) {
    dropLinkCode();
    lineCard.hidden = true;
    lineNote.textContent = '';
    lineBtn.setAttribute('aria-expanded', 'false');
    if (focus) lineBtn.focus();
  }

  async function copyCode() {
    const code = lineCode.textContent;
    let ok = false;
    try {
      await navigator.clipboard.writeText(code);
      ok = true;
    } catch { /* no Clipboard API here (plain http, permissions): try the old way */ }
    if (!ok) {
      // Select the code either way, so the customer can copy it by hand.
      const sel = window.getSelection();
      sel.removeAllRanges();
      const range = document.createRange();
      range.selectNodeContents(lineCode);
      sel.addRange(range);
      try { ok = document.execCommand('copy'); } catch { ok = false; }
    }
    lineNote.textContent = ok ? t.copied : t.copyManual;
  }

  lineBtn.addEventListener('click', () => (lineCard.hidden ? showLine() : hideLine(true)));
  lineX.addEventListener('click', () => hideLine(true));
  lineRetry.addEventListener('click', newLinkCode);
  lineCopy.addEventListener('click', copyCode);
  lineCard.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.stopPropagation(); hideLine(true); }
  });

  // ---- panel ---------------------------------------------------------------
  function open() {
    loadConfig();
    panel.hidden = false;
    setUnread(false);
    bubble.setAttribute('aria-expanded', 'true');
    refresh();
    input.focus();
  }
  function close() {
    panel.hidden = true;
    bubble.setAttribute('aria-expanded', 'false');
    bubble.focus();
  }

  bubble.addEventListener('click', () => (panel.hidden ? open() : close()));
  closeBtn.addEventListener('click', close);
  panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') close(); });
  form.addEventListener('submit', (e) => { e.preventDefault(); submit(); input.focus(); });
  input.addEventListener('input', autosize);
  input.addEventListener('keydown', (e) => {
    // Enter sends, Shift+Enter breaks the line; never send while an IME is composing.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    }
  });
  window.addEventListener('online', () => { if (session && !ws) { attempts = 0; connect(); } });

  function mount() {
    document.body.append(host);
    if (session) catchUp(false).then(connect); // returning visitor: restore history
  }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);

  // Small handle for tests and host pages; no other globals.
  window.HelpdeskWidget = Object.freeze({
    open, close,
    get sessionId() { return session ? session.session_id : null; },
    get connected() { return !!ws && socketReady && ws.readyState === WebSocket.OPEN; },
    // Once the panel has opened: the LINE add-friend URL, or null when LINE is off.
    get lineUrl() { return lineUrl; },
  });
})();
