// Content-free notices (docs/notice.md) on this device by Web Push: the
// server's VAPID key, PushManager.subscribe, NoticeDeviceAddRequest; a
// test notice; the devices I have. The notice itself says only that
// something is waiting (sw.js shows its fixed title and body); the app
// shows the rest after login. Logout removes this device
// (NoticeDeviceRemoveRequest) and unsubscribes (main.js).
import { RpcError } from './conn.js';
import { t } from './i18n.js';
import { S } from './state.js';
import { h, clear, cutBytes } from './ui.js';

export const DEVICE_KEY = 'renkei.noticeDevice'; // the device id: no patient data

function supported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

async function enable() {
  if ((await Notification.requestPermission()) !== 'granted') throw new Error(t('noticeDenied'));
  const reg = await navigator.serviceWorker.ready;
  const key = await S.conn.request('noticeVapidKeyRequest', {});
  let sub = await reg.pushManager.getSubscription();
  if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key.publicKey });
  const r = await S.conn.request('noticeDeviceAddRequest', {
    push: { endpoint: sub.endpoint, p256dh: new Uint8Array(sub.getKey('p256dh')), auth: new Uint8Array(sub.getKey('auth')) },
    label: cutBytes(`web ${navigator.platform || ''}`.trim(), 64),
  });
  try { localStorage.setItem(DEVICE_KEY, String(r.addedId)); } catch { /* private mode */ }
  return r;
}

// On logout, before the device is wiped: this browser stops hearing of
// this user.
export async function disableOnLogout() {
  let id = 0;
  try { id = Number(localStorage.getItem(DEVICE_KEY) || 0); } catch { /* none */ }
  if (id && S.conn && S.conn.open) {
    try { await S.conn.request('noticeDeviceRemoveRequest', { deviceId: id }); } catch { /* gone already */ }
  }
  try {
    const reg = await navigator.serviceWorker.getRegistration();
    const sub = reg && reg.pushManager ? await reg.pushManager.getSubscription() : null;
    if (sub) await sub.unsubscribe();
  } catch { /* no push here */ }
}

export function noticesCard() {
  const out = h('p', { class: 'help', role: 'status' });
  const list = h('p', { class: 'help' });
  const show = (r) => {
    const n = r.devices.filter((d) => d.channel === 1).length;
    list.textContent = t('noticeDevices', n);
  };
  const run = (fn) => async (e) => {
    e.target.disabled = true;
    try { out.textContent = await fn(); } catch (err) {
      out.textContent = err instanceof RpcError || err instanceof Error ? err.message : String(err);
    } finally { e.target.disabled = false; }
  };
  const det = h('details', { class: 'card notices' },
    h('summary', {}, t('notices')),
    h('p', { class: 'help' }, t('noticeHelp')),
    supported() ? h('p', { class: 'row' },
      h('button', { type: 'button', onclick: run(async () => { show(await enable()); return t('noticeOn'); }) }, t('noticeEnable')),
      h('button', { type: 'button', class: 'secondary', onclick: run(async () => t('noticeSent', (await S.conn.request('noticeTestRequest', {})).queued)) }, t('noticeTest')))
      : h('p', {}, t('noticeNone')),
    out, list);
  det.addEventListener('toggle', async () => {
    if (!det.open) return;
    try { show(await S.conn.request('noticeListRequest', {})); } catch (err) { clear(list); list.textContent = err.message; }
  });
  return det;
}
