// The outbox: posts written on this device that the server has not yet
// confirmed, kept in IndexedDB (database "renkei", store "outbox") with
// their client ids and photos (as Blobs), so that nothing written at the
// patient's door is lost to a bad signal or a closed tab. Each entry is
// sent until the server answers it; a repeat is safe because the server
// answers a client_id it has seen with the first post (duplicate = true).
// Logout deletes the whole database (wipeDevice in main.js).
const DB = 'renkei';
let dbp = null;

function db() {
  if (!dbp) {
    dbp = new Promise((resolve, reject) => {
      const r = indexedDB.open(DB, 1);
      r.onupgradeneeded = () => r.result.createObjectStore('outbox', { keyPath: 'clientId' });
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  }
  return dbp;
}

async function tx(mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction('outbox', mode);
    const st = t.objectStore('outbox');
    let out;
    const r = fn(st);
    if (r) r.onsuccess = () => { out = r.result; };
    t.oncomplete = () => resolve(out);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

export const outbox = {
  put: (item) => tx('readwrite', (st) => st.put(item)),
  del: (clientId) => tx('readwrite', (st) => st.delete(clientId)),
  all: async () => ((await tx('readonly', (st) => st.getAll())) || [])
    .sort((a, b) => a.createdAt - b.createdAt),
  async wipe() {
    if (dbp) { (await dbp).close(); dbp = null; }
    await new Promise((resolve) => {
      const r = indexedDB.deleteDatabase(DB);
      r.onsuccess = r.onerror = r.onblocked = () => resolve();
    });
  },
};

export function newClientId() {
  return crypto.randomUUID();
}
