/*
 * helpdesk web chat widget.
 *
 * Embed with one tag:  <script src="https://support.example.com/widget.js"></script>
 * Optional attributes: data-locale="ja|en", data-title="...", data-api-base="https://...".
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

  const STRINGS = {
    ja: {
      title: 'サポート', subtitle: 'チャットでお問い合わせ', open: 'サポートチャットを開く',
      close: 'チャットを閉じる', placeholder: 'メッセージを入力…', send: '送信',
      log: 'チャット履歴', choices: '選択肢', bot: '自動応答', agent: '担当者',
      empty: 'ご質問をどうぞ。自動応答でお答えし、必要なら担当者におつなぎします。',
      failed: '送信できませんでした。もう一度お試しください。', tooLong: 'メッセージが長すぎます。',
      reconnecting: '接続が切れました。再接続しています…', unread: '新着メッセージがあります',
    },
    en: {
      title: 'Support', subtitle: 'Chat with us', open: 'Open support chat',
      close: 'Close chat', placeholder: 'Type a message…', send: 'Send',
      log: 'Chat history', choices: 'Choices', bot: 'Bot', agent: 'Agent',
      empty: 'Ask us anything. Our bot answers first and can hand you over to a person.',
      failed: 'Could not send. Please try again.', tooLong: 'That message is too long.',
      reconnecting: 'Connection lost. Reconnecting…', unread: 'New messages',
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
.panel[hidden], .badge[hidden], .empty[hidden], .status[hidden] { display: none; }
header { display: flex; align-items: center; gap: 8px; padding: 12px 12px 12px 16px;
  background: var(--accent); color: #fff; }
header .titles { flex: 1; min-width: 0; }
header h2 { margin: 0; font-size: 15px; font-weight: 600; }
header p { margin: 0; font-size: 12px; opacity: .85; }
.close { width: 32px; height: 32px; border: 0; border-radius: 8px; background: transparent; color: #fff;
  font-size: 20px; line-height: 1; }
.close:hover { background: rgba(255,255,255,.18); }
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
  const panel = el('section', { class: 'panel', id: 'hd-panel', role: 'dialog', 'aria-label': title,
    hidden: '' },
  el('header', {},
    el('div', { class: 'titles' }, el('h2', {}, title), el('p', {}, t.subtitle)), closeBtn),
  scroller, status, form);
  shadow.append(el('style', {}, CSS), el('div', { class: 'root', lang: locale }, bubble, panel));

  // ---- state ---------------------------------------------------------------
  let session = load();
  const rendered = new Map(); // message id -> element; the dedupe point for POST, WS and catch-up
  let maxId = 0;
  let creating = null; // in-flight POST /sessions, shared by concurrent callers
  let ws = null;
  let attempts = 0; // consecutive WebSocket failures, for the backoff
  let reconnectTimer = null;
  let pingTimer = null;
  let catching = null;

  function load() {
    try {
      const s = JSON.parse(localStorage.getItem(STORAGE_KEY) || 'null');
      return s && s.token ? s : null;
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
    if (!res.ok) throw Object.assign(new Error(data.error || res.statusText), { status: res.status });
    return data;
  }

  function ensureSession() {
    if (session) return Promise.resolve();
    creating = creating || api('POST', '/api/chat/sessions', { locale }).then((s) => {
      save({ session_id: s.session_id, token: s.token });
      connect();
    }).finally(() => { creating = null; });
    return creating;
  }

  // A 401 means the server forgot us: drop the old history (its ids belong to
  // another session) and start afresh on the next send.
  function resetSession() {
    save(null);
    disconnect();
    showStatus('');
    for (const node of rendered.values()) node.remove();
    rendered.clear();
    maxId = 0;
    for (const node of log.children) node._key = 0.5; // keep unsent bubbles above new replies
    refresh();
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
        data = await api('POST', '/api/chat/messages', body);
      } catch (err) {
        if (err.status !== 401) throw err;
        resetSession(); // stale token: one retry with a fresh session
        await ensureSession();
        data = await api('POST', '/api/chat/messages', body);
      }
      pending.remove();
      addMessage(data.message, false);
      for (const m of data.messages || []) addMessage(m, false);
      showStatus('');
    } catch (err) {
      pending.classList.replace('pending', 'failed');
      showStatus(err.status === 413 ? t.tooLong : t.failed);
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
      .catch((err) => { if (err.status === 401) resetSession(); })
      .finally(() => { catching = null; });
    return catching;
  }

  function connect() {
    if (!session || ws) return;
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    const sock = new WebSocket(wsBase + '/api/chat/ws?token=' + encodeURIComponent(session.token));
    ws = sock;
    sock.onopen = () => {
      attempts = 0;
      showStatus('');
      catchUp(true); // covers anything sent while we were (re)connecting
      // Keep idle proxies from dropping the socket.
      pingTimer = setInterval(() => sock.send(JSON.stringify({ type: 'ping' })), 25000);
    };
    sock.onmessage = (e) => {
      let data;
      try { data = JSON.parse(e.data); } catch { return; }
      if (data && data.type === 'message') addMessage(data.message, true);
    };
    sock.onclose = () => {
      clearInterval(pingTimer);
      if (ws !== sock) return; // closed on purpose by disconnect()
      ws = null;
      if (attempts > 0) showStatus(t.reconnecting);
      // Exponential backoff with jitter, capped at 30 s.
      const delay = Math.min(30000, 1000 * 2 ** attempts) * (0.75 + Math.random() * 0.25);
      attempts += 1;
      // Browsers hide the handshake status, so poll first: a 401 there ends the
      // session instead of retrying a dead token forever.
      reconnectTimer = setTimeout(() => catchUp(true).then(connect), delay);
    };
  }

  function disconnect() {
    const sock = ws;
    ws = null;
    clearTimeout(reconnectTimer);
    clearInterval(pingTimer);
    if (sock) sock.close();
  }

  // ---- panel ---------------------------------------------------------------
  function open() {
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
    get connected() { return !!ws && ws.readyState === WebSocket.OPEN; },
  });
})();
