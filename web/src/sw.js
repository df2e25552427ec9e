// renkei's service worker: it caches the application shell (the files the
// build made, listed below) and nothing else. Patient data never passes
// through it: the WebSocket is not fetched through a service worker, and
// every other request (/attachments/...) goes to the network untouched.
const SHELL = %SHELL%;
const CACHE = 'renkei-shell-%VERSION%';
const base = new URL('./', self.location).href;
const urls = new Set(SHELL.map((f) => new URL(f, base).href));

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  url.hash = '';
  const key = req.mode === 'navigate' && url.pathname === new URL(base).pathname ? base : url.href;
  if (!urls.has(key)) return; // not the shell: the network, never cached
  // Network first (a new build is seen at once), the cache when offline.
  e.respondWith(fetch(req).then((res) => {
    if (res.ok) {
      const copy = res.clone();
      caches.open(CACHE).then((c) => c.put(key, copy));
    }
    return res;
  }).catch(() => caches.match(key).then((r) => r || Response.error())));
});

// Content-free notices (docs/notice.md): the server's payload is
// {"title","body","url","tag"} with a fixed text such as "renkei: 1 new
// post" and never anything of a patient. Only the title and body are
// shown (cut short); a click opens this app, never the payload's URL.
self.addEventListener('push', (e) => {
  let d = {};
  try { d = e.data ? e.data.json() : {}; } catch { d = {}; }
  const title = typeof d.title === 'string' && d.title ? d.title.slice(0, 64) : 'renkei';
  const body = typeof d.body === 'string' ? d.body.slice(0, 240) : '';
  e.waitUntil(self.registration.showNotification(title, { body, tag: 'renkei', icon: 'icon-192.png' }));
});

self.addEventListener('notificationclick', (e) => {
  e.notification.close();
  e.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((list) => {
    for (const c of list) if (c.url.startsWith(base)) return c.focus();
    return self.clients.openWindow(base);
  }));
});
