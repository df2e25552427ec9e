// renkei's web client: start-up, the router (#/...), the header, the
// connection's state, live events, the outbox's sending, the idle lock
// and logout. Screens are in screens.js, the post form in compose.js.
import { ConnLost, RpcError, Code } from './conn.js';
import { t, setLang, getLang } from './i18n.js';
import { outbox } from './outbox.js';
import { S, addPost, newConn } from './state.js';
import { h, clear, cutBytes } from './ui.js';
import * as screens from './screens.js';
import { disableOnLogout } from './notices.js';

// The idle lock: 5 minutes; ?lock_ms=N may only shorten it (the tests).
const LOCK_MS = Math.min(Number(new URLSearchParams(location.search).get('lock_ms')) || Infinity, 5 * 60 * 1000);
const $ = (id) => document.getElementById(id);

export function status(msg, kind = 'info') {
  const el = $('status');
  el.textContent = msg || '';
  el.className = `status ${msg ? kind : ''}`;
}

// ------------------------------------------------------------ connection

function onEvent(ev) {
  if (ev.kind === 'post') {
    S.cursor = Math.max(S.cursor, Number(ev.post.cursor));
    addPost(ev.post.post);
    S.onChange('post', ev.post.post);
  } else if (ev.kind === 'ack') {
    const a = ev.ack;
    const m = S.acks.get(Number(a.postId)) || new Map();
    m.set(a.ack.user.login, a.ack);
    S.acks.set(Number(a.postId), m);
    S.onChange('ack', a);
  } else if (ev.kind === 'sessionEnded') {
    ended();
  }
}

async function onState(st) {
  if (st === 'down') {
    status(navigator.onLine ? t('reconnecting') : t('offline'), 'warn');
  } else if (st === 'up') {
    status(t('online'), 'ok');
    setTimeout(() => { if ($('status').textContent === t('online')) status(''); }, 1500);
    try { await catchUp(); } catch { /* dropped again: next 'up' */ }
    flush();
  } else if (st === 'ended') {
    ended();
  }
}

function ended() {
  S.user = null;
  if (S.conn) S.conn.close();
  status(t('sessionEnded'), 'error');
  location.hash = '#/login';
}

// Watch every board I may read. The first time only new posts (the
// screens read the backlog with TimelineRequest); after a reconnect, what
// was missed since the cursor, page by page, then live.
export async function catchUp() {
  let res = await S.conn.request('syncRequest', S.cursor ? { cursor: S.cursor, limit: 500 } : { liveOnly: true });
  for (;;) {
    for (const p of res.posts) addPost(p);
    S.cursor = Math.max(S.cursor, Number(res.cursor));
    if (res.posts.length) S.onChange('post');
    if (!res.more) break;
    res = await S.conn.request('syncRequest', { cursor: S.cursor, limit: 500 });
  }
}

// ------------------------------------------------------------ the outbox

let flushing = null;
const RETRYABLE = new Set([Code.UNAVAILABLE, Code.RESOURCE_EXHAUSTED, Code.ABORTED, Code.DEADLINE_EXCEEDED]);

async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)); }

async function upload(item, i) {
  const ph = item.photos[i];
  const bytes = new Uint8Array(await ph.blob.arrayBuffer());
  const uploadId = `${item.clientId}-${i}`.slice(0, 64);
  const st = await S.conn.request('uploadBeginRequest', {
    uploadId, patient: item.patient, fileName: cutBytes(ph.name, 160), size: bytes.length, sha256: await sha256(bytes),
  });
  let off = Number(st.received || 0);
  while (off < bytes.length) {
    const part = bytes.subarray(off, Math.min(off + 256 * 1024, bytes.length));
    const r = await S.conn.request('uploadChunkRequest', { uploadId, offset: off, data: part });
    off = r && r.received !== undefined ? Number(r.received) : off + part.length;
  }
  const fin = await S.conn.request('uploadFinishRequest', { uploadId });
  ph.attachmentId = Number(fin.attachment.id);
  await outbox.put(item);
}

async function sendItem(item) {
  for (let i = 0; i < item.photos.length; i++)
    if (!item.photos[i].attachmentId) await upload(item, i);
  const res = await S.conn.request('createPostRequest', {
    patient: item.patient, clientId: item.clientId, kind: item.kind, visibility: item.visibility,
    urgent: item.urgent, text: item.text, vitals: item.vitals,
    attachmentIds: item.photos.map((p) => p.attachmentId),
  });
  await outbox.del(item.clientId);
  addPost(res.post);
}

// Send what is waiting, oldest first, one at a time; stop at the first
// lost connection (the next 'up' sends the rest).
export function flush() {
  if (flushing) return flushing;
  flushing = (async () => {
    for (const item of await outbox.all()) {
      if (!S.user || item.login !== S.user.login || item.error) continue;
      if (!S.conn || !S.conn.open) break;
      try {
        await sendItem(item);
      } catch (e) {
        if (e instanceof ConnLost) break;
        if (e instanceof RpcError && RETRYABLE.has(e.code)) break;
        item.error = e.message; // shown with the entry; the user removes it
        await outbox.put(item);
      }
      S.onChange('outbox');
    }
  })().finally(() => { flushing = null; S.onChange('outbox'); });
  return flushing;
}

// ------------------------------------------------------------ the idle lock

const enc = new TextEncoder();
async function pbkdf2(password, salt) {
  const k = await crypto.subtle.importKey('raw', enc.encode(password), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations: 100000 }, k, 256));
}
export async function setVerifier(password) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  S.verifier = { salt, hash: await pbkdf2(password, salt) };
}
let idle = null;
let lockFails = 0;
function poke() {
  if (idle) clearTimeout(idle);
  if (S.user && $('lock').hidden) idle = setTimeout(lock, LOCK_MS);
}
function lock() {
  if (!S.user) return;
  const el = $('lock');
  $('main').hidden = true;
  $('top').hidden = true;
  clear(el);
  const pw = h('input', { type: 'password', autocomplete: 'current-password', id: 'unlock-pw' });
  const err = h('p', { class: 'err', role: 'alert' });
  el.append(h('form', {
    class: 'card', 'aria-labelledby': 'lock-h',
    onsubmit: async (e) => {
      e.preventDefault();
      const got = await pbkdf2(pw.value, S.verifier.salt);
      pw.value = '';
      if (got.every((b, i) => b === S.verifier.hash[i])) {
        el.hidden = true; $('main').hidden = false; $('top').hidden = false; lockFails = 0; poke();
      } else if (++lockFails >= 5) {
        logout(true);
      } else {
        err.textContent = t('password');
      }
    },
  }, h('h1', { id: 'lock-h' }, t('locked')), h('p', {}, t('lockedHelp')),
  h('label', { for: 'unlock-pw' }, t('password')), pw, err, h('button', { type: 'submit' }, t('unlock'))));
  el.hidden = false;
  pw.focus();
}
for (const ev of ['pointerdown', 'keydown', 'touchstart', 'scroll']) addEventListener(ev, poke, { passive: true });

// ------------------------------------------------------------ logout

// Nothing clinical stays on the device: the outbox database, any cache
// but the app shell's, localStorage but the language, sessionStorage,
// and (by the reload) everything in memory.
export async function wipeDevice() {
  await outbox.wipe();
  if (self.caches) {
    for (const k of await caches.keys()) if (!k.startsWith('renkei-shell-')) await caches.delete(k);
  }
  for (let i = localStorage.length - 1; i >= 0; i--) {
    const k = localStorage.key(i);
    if (k !== 'renkei.lang') localStorage.removeItem(k);
  }
  sessionStorage.clear();
  for (const u of S.blobs.values()) URL.revokeObjectURL(u);
  S.blobs.clear();
}

export async function logout(force = false) {
  const mine = (await outbox.all()).filter((x) => S.user && x.login === S.user.login);
  if (!force && mine.length && !confirm(t('outboxWarn', mine.length))) return;
  await disableOnLogout();
  if (S.conn) await S.conn.logout();
  await wipeDevice();
  history.replaceState(null, '', '/app/#/login');
  location.reload();
}

// ------------------------------------------------------------ header, router

function header() {
  const top = $('top');
  clear(top);
  top.append(h('a', { href: S.user ? '#/patients' : '#/login', class: 'brand' }, t('app')),
    h('nav', { 'aria-label': 'menu' },
      // The visible name is the accessible name (WCAG 2.5.3), in its own
      // language; the longer explanation is the title.
      h('button', { type: 'button', class: 'link', lang: getLang() === 'ja' ? 'en' : 'ja', title: t('langLabel'),
        onclick: () => { setLang(getLang() === 'ja' ? 'en' : 'ja'); route(); } }, t('lang')),
      S.user ? h('span', { class: 'who' }, S.user.displayName) : null,
      S.user ? h('button', { type: 'button', class: 'link', onclick: () => logout() }, t('logout')) : null));
}

export function route() {
  const [, name, arg] = (location.hash || '#/login').split('/');
  header();
  const main = $('main');
  S.onChange = () => {};
  if (!S.user && name !== 'login') { location.hash = '#/login'; return; }
  const go = {
    login: screens.login, patients: screens.patients, board: screens.board,
    post: screens.compose, sheet: screens.sheet, breakglass: screens.breakglass,
  }[name] || screens.patients;
  clear(main);
  go(main, arg ? decodeURIComponent(arg) : '');
  const h1 = main.querySelector('h1');
  if (h1) { h1.tabIndex = -1; h1.focus({ preventScroll: true }); }
  poke();
}

// ------------------------------------------------------------ start

setLang(getLang());
newConn({ onEvent, onState });
addEventListener('hashchange', route);
addEventListener('offline', () => { status(t('offline'), 'warn'); if (S.conn) S.conn.drop(); });
addEventListener('online', () => { if (S.conn) S.conn.reconnect(); });
if ('serviceWorker' in navigator) navigator.serviceWorker.register('sw.js', { scope: './' }).catch(() => {});
route();
