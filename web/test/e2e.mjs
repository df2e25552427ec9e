// End-to-end: the web client in a real headless Chromium (Debian's
// chromium, driven by playwright-core) against a real renkei-server over
// TLS on loopback (server.mjs). Run by ctest as web.e2e (scripts/test, CI);
// by hand: cd web && RENKEI_SERVER_BIN=../build/renkei-server node test/e2e.mjs
//
// Nothing is skipped: a missing browser, bundle or server fails the run.
// Screenshots of the patient list, a board and the post form at 360x780
// and 1280x800 go to $RENKEI_SCREENSHOTS (default ../build/screenshots).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { startServer } from './server.mjs';

// RFC 6238 (HMAC-SHA-1, 30 s, 6 digits) for the second-factor steps.
function totp(secretB32, offsetSteps = 0) {
  const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secretB32.replace(/=+$/, '').toUpperCase()) bits += alpha.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const ctr = Buffer.alloc(8);
  ctr.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000) + offsetSteps));
  const mac = createHmac('sha1', key).update(ctr).digest();
  const o = mac[19] & 0xf;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const bin = process.env.RENKEI_SERVER_BIN || path.join(root, 'build', 'renkei-server');
const webDir = process.env.RENKEI_WEB_DIR || path.join(root, 'build', 'web');
const shots = process.env.RENKEI_SCREENSHOTS || path.join(root, 'build', 'screenshots');
const chromiumPath = process.env.RENKEI_CHROMIUM || '/usr/bin/chromium';
const PW = 'renkei-demo-1';

function need(ok, what) {
  if (!ok) { console.error(`e2e: FAIL: ${what}`); process.exit(1); }
}
need(fs.existsSync(chromiumPath), `no browser at ${chromiumPath}: run scripts/install-deps.sh (installs Debian's chromium)`);
need(fs.existsSync(bin), `no server at ${bin}: run scripts/build.sh`);
need(fs.existsSync(path.join(webDir, 'index.html')), `no bundle in ${webDir}: run scripts/build.sh (npm ci && npm run build)`);
let chromium;
try { ({ chromium } = await import('playwright-core')); } catch {
  need(false, 'playwright-core is not installed: run scripts/build.sh (npm ci in web/)');
}
fs.mkdirSync(shots, { recursive: true });

// A photo fixture: a 320x240 PNG gradient, drawn here.
function png(w, hgt) {
  const crcT = new Int32Array(256).map((_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c; });
  const crc = (b) => { let c = -1; for (const x of b) c = crcT[(c ^ x) & 0xff] ^ (c >>> 8); return (c ^ -1) >>> 0; };
  const chunk = (type, data) => {
    const l = Buffer.alloc(4); l.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([l, td, c]);
  };
  const raw = Buffer.alloc((w * 3 + 1) * hgt);
  for (let y = 0; y < hgt; y++) for (let x = 0; x < w; x++) {
    const o = y * (w * 3 + 1) + 1 + x * 3;
    raw[o] = (x * 255 / w) | 0; raw[o + 1] = (y * 255 / hgt) | 0; raw[o + 2] = 128;
  }
  const ih = Buffer.alloc(13); ih.writeUInt32BE(w, 0); ih.writeUInt32BE(hgt, 4); ih[8] = 8; ih[9] = 2;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ih),
    chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

function head(url, ca) {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    }).on('error', reject);
  });
}

let failed = 0;
let passed = 0;
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}

const srv = await startServer({ root, bin, webDir });
const browser = await chromium.launch({
  executablePath: chromiumPath,
  // The development CA is not in the browser's store; the headers test
  // checks the chain with it (node https, ca: ca.pem).
  args: ['--ignore-certificate-errors', '--no-sandbox'],
});
const dialogs = [];

async function newUser(login, viewport, { patients = true } = {}) {
  const ctx = await browser.newContext({ viewport, locale: 'ja-JP', serviceWorkers: 'allow' });
  const page = await ctx.newPage();
  page.on('dialog', (d) => { dialogs.push(`${login}: ${d.message()}`); d.dismiss(); });
  page.on('pageerror', (e) => console.log(`  [${login}] page error: ${e.message}`));
  await page.goto(`${srv.base}/app/`);
  await page.getByLabel('ログインID').fill(login);
  await page.getByLabel('パスワード', { exact: true }).fill(PW);
  await page.getByRole('button', { name: 'ログイン' }).click();
  await page.locator(patients ? 'li.patient' : '#pts-h').first().waitFor({ timeout: 10000 });
  return { ctx, page, login };
}

async function openBoard(u, name) {
  await u.page.getByRole('link', { name }).first().click();
  await u.page.locator('#board-h').waitFor();
  await u.page.waitForFunction(() => document.querySelector('.board article, .board p.help') !== null);
}

const post = (page, text) => page.locator('.board article.post', { hasText: text });
const YAMADA = '山田 太郎';
const stamp = Date.now().toString(36);

try {
  await step('headers: CSP (no inline script, no other origin), HSTS, nosniff, referrer, caching', async () => {
    const ca = fs.readFileSync(srv.ca);
    const r = await head(`${srv.base}/app/`, ca);
    assert.equal(r.status, 200);
    const csp = r.headers['content-security-policy'];
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self';/);
    assert.match(csp, new RegExp(`connect-src 'self' wss://localhost:${srv.port};`));
    assert.doesNotMatch(csp, /unsafe|\*|https?:|ws:/);
    assert.equal(r.headers['strict-transport-security'], 'max-age=31536000');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
    assert.equal(r.headers['cache-control'], 'no-cache');
    const js = r.body.match(/src="(app-[A-Z0-9]{8}\.js)"/);
    assert.ok(js, 'index.html names a hashed bundle');
    const j = await head(`${srv.base}/app/${js[1]}`, ca);
    assert.equal(j.status, 200);
    assert.equal(j.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.match(j.headers['content-type'], /^text\/javascript/);
    assert.doesNotMatch(r.body, /<script>|<script [^>]*>[^<]/, 'no inline script in index.html');
  });

  const a = await newUser('ns.kobayashi', { width: 360, height: 780 });
  const b = await newUser('dr.tanaka', { width: 1280, height: 800 });
  const vitalsText = `訪問時バイタル ${stamp}`;

  await step('screenshots: patient list', async () => {
    // each card says how many posts wait for my confirmation (urgent or
    // addressed to me: Patient.unconfirmed)
    const card = a.page.locator('li.patient', { hasText: YAMADA }).first();
    await card.locator('dt', { hasText: '未確認' }).waitFor();
    assert.match(await card.locator('dd').last().innerText(), /^\d+$/);
    await a.page.screenshot({ path: path.join(shots, 'patients-360x780.png'), fullPage: true });
    await b.page.screenshot({ path: path.join(shots, 'patients-1280x800.png') });
  });

  await step('open pt-yamada on both; a vitals value out of range is refused before sending', async () => {
    await openBoard(a, YAMADA);
    await openBoard(b, YAMADA);
    await a.page.getByRole('link', { name: '投稿する' }).click();
    await a.page.locator('#post-h').waitFor();
    await a.page.screenshot({ path: path.join(shots, 'post-360x780.png'), fullPage: true });
    await a.page.locator('input[name=bt]').fill('50');
    await a.page.getByLabel('本文').fill('範囲外');
    await a.page.getByRole('button', { name: '送信' }).click();
    await a.page.getByText('体温 は 30〜45 の範囲で入力してください').waitFor({ timeout: 3000 });
    assert.equal(await a.page.locator('#post-h').count(), 1, 'still on the form');
  });

  let postId = 0;
  await step('post vitals and a photo; a second member sees it live within 2 s', async () => {
    const p = a.page;
    await p.getByLabel('本文').fill(vitalsText);
    await p.getByLabel('種類').selectOption('2');
    await p.getByLabel('公開範囲').selectOption('2'); // professionals only
    await p.locator('input[name=bt]').fill('37.2');
    await p.locator('input[name=bpSys]').fill('128');
    await p.locator('input[name=bpDia]').fill('76');
    await p.locator('input[name=pulse]').fill('72');
    await p.locator('input[name=spo2]').fill('97');
    await p.locator('input[name=rr]').fill('16');
    await p.locator('input[name=pain]').fill('2');
    await p.getByLabel('写真を選ぶ').setInputFiles({ name: 'sore.png', mimeType: 'image/png', buffer: png(320, 240) });
    await p.locator('figure.preview img').waitFor();
    const seenByB = post(b.page, vitalsText).locator('xpath=self::article[@data-post-id]').waitFor({ timeout: 15000 }).then(() => Date.now());
    await p.getByRole('button', { name: '送信' }).click();
    await post(p, vitalsText).waitFor({ timeout: 15000 });
    const sentAt = Date.now();
    await p.waitForFunction(() => document.querySelectorAll('.pending-list article').length === 0, null, { timeout: 5000 });
    assert.equal(await p.evaluate(() => new Promise((resolve) => {
      const r = indexedDB.open('renkei');
      r.onsuccess = () => { const q = r.result.transaction('outbox').objectStore('outbox').count(); q.onsuccess = () => { resolve(q.result); r.result.close(); }; };
    })), 0, 'nothing left in the outbox');
    const tb = await seenByB;
    console.log(`  live: the second browser saw it ${tb - sentAt} ms after the author's answer`);
    assert.ok(tb - sentAt < 2000, `seen after ${tb - sentAt} ms`);
    const art = post(b.page, vitalsText);
    postId = Number(await art.getAttribute('data-post-id'));
    const line = await art.locator('.vitals').innerText();
    assert.match(line, /37\.2℃/); assert.match(line, /128\/76/); assert.match(line, /SpO2 97%/);
    assert.match(await art.locator('.text').innerText(), /痛み NRS 2\/10/);
    assert.match(await art.locator('.badge.vis').innerText(), /専門職/);
    // The thumbnail loads (over HTTPS with the session's token) and
    // opens full size.
    await b.page.waitForFunction((id) => {
      const img = document.querySelector(`article[data-post-id="${id}"] .thumb img`);
      return img && img.complete && img.naturalWidth > 0;
    }, postId, { timeout: 10000 });
    await art.locator('.thumb').click();
    await b.page.waitForFunction(() => { const i = document.querySelector('dialog img.full'); return i && i.complete && i.naturalWidth === 320; }, null, { timeout: 10000 });
    await b.page.screenshot({ path: path.join(shots, 'photo-1280x800.png') });
    await b.page.getByRole('button', { name: '閉じる' }).click();
  });

  await step('the second member confirms it; the author sees the confirmation; who has not', async () => {
    await post(b.page, vitalsText).getByRole('button', { name: '確認', exact: true }).click();
    await post(b.page, vitalsText).getByRole('button', { name: '確認済み' }).waitFor({ timeout: 5000 });
    await post(a.page, vitalsText).locator('.acks', { hasText: '田中 誠' }).waitFor({ timeout: 5000 });
    await post(a.page, vitalsText).getByRole('button', { name: '未確認の人' }).click();
    const more = post(a.page, vitalsText).locator('.more');
    await more.getByText('確認した人: 田中 誠').waitFor({ timeout: 5000 });
    assert.match(await more.innerText(), /未確認の人: .*中村 洋子/);
    await a.page.waitForFunction(() => [...document.querySelectorAll('.thumb img')].every((i) => i.complete && i.naturalWidth > 0));
    await a.page.evaluate(() => window.scrollTo(0, 0));
    await a.page.screenshot({ path: path.join(shots, 'board-360x780.png') });
    await b.page.screenshot({ path: path.join(shots, 'board-1280x800.png') });
  });

  await step('amend and retract: both boards mark the versions', async () => {
    const p = a.page;
    const orig = post(p, vitalsText).first();
    await orig.getByRole('button', { name: '訂正' }).click();
    await p.getByRole('dialog').getByLabel('本文').fill(`${vitalsText} 訂正: SpO2 96%`);
    await p.getByRole('dialog').getByRole('button', { name: '保存' }).click();
    for (const u of [a, b]) {
      const amended = post(u.page, '訂正: SpO2 96%');
      await amended.getByText(`訂正版（元の投稿 #${postId}）`).waitFor({ timeout: 5000 });
      await u.page.locator(`article[data-post-id="${postId}"]`).getByText('この投稿は訂正されました').waitFor({ timeout: 5000 });
    }
    const later = post(p, '訂正: SpO2 96%');
    await later.getByRole('button', { name: '取り消し' }).click();
    await p.getByRole('dialog').getByLabel('理由').fill('別の患者の記録と取り違えたため');
    await p.getByRole('dialog').getByRole('button', { name: '保存' }).click();
    for (const u of [a, b]) {
      await u.page.locator('article.post.retracted', { hasText: '訂正: SpO2 96%' }).getByText('この投稿は取り消されました').waitFor({ timeout: 5000 });
      await post(u.page, '別の患者の記録と取り違えたため').getByText(/取り消し（投稿 #\d+）/).waitFor({ timeout: 5000 });
    }
  });

  await step('a post whose text is markup is shown as text; an injected inline script does not run', async () => {
    const evil = `<img src=x onerror=alert(1)> ${stamp}`;
    await a.page.getByRole('link', { name: '投稿する' }).click();
    await a.page.getByLabel('本文').fill(evil);
    await a.page.getByLabel('公開範囲').selectOption('1');
    await a.page.getByRole('button', { name: '送信' }).click();
    for (const u of [a, b]) {
      const art = post(u.page, stamp).filter({ hasText: '<img' });
      await art.locator('xpath=self::article[@data-post-id]').waitFor({ timeout: 10000 });
      assert.equal(await art.locator('.text').textContent(), evil);
      assert.equal(await art.locator('.text img').count(), 0);
    }
    const res = await a.page.evaluate(async () => {
      const violations = [];
      document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
      const s = document.createElement('script');
      s.textContent = 'window.__pwned = 1';
      document.body.appendChild(s);
      const d = document.createElement('div');
      d.innerHTML = '<img src="data:," onerror="window.__pwned2 = 1">';
      document.body.appendChild(d);
      await new Promise((r) => setTimeout(r, 300));
      return { pwned: window.__pwned, pwned2: window.__pwned2, violations };
    });
    assert.equal(res.pwned, undefined, 'inline script ran');
    assert.equal(res.pwned2, undefined, 'inline handler ran');
    assert.ok(res.violations.some((v) => v.startsWith('script-src')), `violations: ${res.violations}`);
    assert.deepEqual(dialogs, [], 'no alert() ran');
  });

  await step("family.yamada's browser does not see the post marked professional", async () => {
    const c = await newUser('family.yamada', { width: 360, height: 780 });
    await openBoard(c, YAMADA);
    await post(c.page, stamp).filter({ hasText: '<img' }).waitFor({ timeout: 5000 }); // an ALL post: seen
    assert.equal(await post(c.page, vitalsText).count(), 0);
    assert.equal((await c.page.content()).includes(vitalsText), false);
    // Nor live: a professional post made now does not arrive.
    const later = `専門職のみ ${stamp} 2`;
    await a.page.getByRole('link', { name: '投稿する' }).click();
    await a.page.getByLabel('本文').fill(later);
    await a.page.getByRole('button', { name: '送信' }).click();
    await post(b.page, later).waitFor({ timeout: 5000 });
    await c.page.waitForTimeout(500);
    assert.equal(await post(c.page, later).count(), 0);
    await c.ctx.close();
  });

  await step('offline: two posts wait as "not sent yet", then each arrives exactly once', async () => {
    const p = a.page;
    await a.ctx.setOffline(true);
    await p.getByText('オフライン').first().waitFor({ timeout: 5000 });
    for (const n of [1, 2]) {
      await p.getByRole('link', { name: '投稿する' }).click();
      await p.getByLabel('本文').fill(`オフライン投稿 ${n} ${stamp}`);
      await p.getByRole('button', { name: '送信' }).click();
      await p.locator('.pending-list article', { hasText: `オフライン投稿 ${n} ${stamp}` }).waitFor();
    }
    assert.equal(await p.locator('.pending-list article').count(), 2);
    assert.match(await p.locator('.pending-list').innerText(), /未送信/);
    await p.waitForTimeout(500);
    assert.equal(await post(b.page, 'オフライン投稿').count(), 0, 'nothing reached the server');
    await a.ctx.setOffline(false);
    for (const n of [1, 2]) {
      await post(b.page, `オフライン投稿 ${n} ${stamp}`).waitFor({ timeout: 15000 });
      await post(p, `オフライン投稿 ${n} ${stamp}`).locator('xpath=self::article[@data-post-id]').waitFor({ timeout: 15000 });
    }
    await p.locator('.pending-list article').first().waitFor({ state: 'detached', timeout: 5000 }).catch(() => {});
    assert.equal(await p.locator('.pending-list article').count(), 0);
    // Exactly once, on the server: a fresh read of the board by the other member.
    await b.page.reload();
    await b.page.getByLabel('ログインID').fill('dr.tanaka');
    await b.page.getByLabel('パスワード', { exact: true }).fill(PW);
    await b.page.getByRole('button', { name: 'ログイン' }).click();
    await b.page.locator('li.patient').first().waitFor();
    await openBoard(b, YAMADA);
    // (count() does not wait: let the board's first page arrive first)
    for (const n of [1, 2]) {
      await post(b.page, `オフライン投稿 ${n} ${stamp}`).first().waitFor({ timeout: 15000 });
      assert.equal(await post(b.page, `オフライン投稿 ${n} ${stamp}`).count(), 1, `post ${n}`);
    }
  });

  await step('the answer to a post is lost with the connection: the retry makes no second post', async () => {
    // The browser's WebSocket runs through a proxy here (playwright's
    // routeWebSocket), which drops the server's answer to the first
    // CreatePostRequest and closes the connection, as a dying signal
    // would after the server committed.
    const ctx = await browser.newContext({ viewport: { width: 360, height: 780 }, locale: 'ja-JP' });
    const varint = (b, i) => { let v = 0, m = 1; for (;;) { const x = b[i++]; v += (x & 0x7f) * m; m *= 128; if (!(x & 0x80)) return [v, i]; } };
    // An Envelope starts with request_id (field 1), then its body's tag.
    const parse = (m) => {
      const b = typeof m === 'string' ? Buffer.from(m) : m;
      if (b[0] !== 0x08) return {};
      const [id, i] = varint(b, 1);
      const [tag] = varint(b, i);
      return { id, field: tag >> 3 };
    };
    let creates = 0, dropped = 0, dropId = -1;
    await ctx.routeWebSocket(/.*/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => {
        const e = parse(m);
        if (e.field === 24) { creates++; if (creates === 1) dropId = e.id; }
        server.send(m);
      });
      server.onMessage((m) => {
        const e = parse(m);
        if (e.id === dropId && e.field === 25 && !dropped) {
          dropped++;
          ws.close({ code: 4000, reason: 'proxy' });
          server.close();
          return;
        }
        ws.send(m);
      });
    });
    const page = await ctx.newPage();
    await page.goto(`${srv.base}/app/`);
    await page.getByLabel('ログインID').fill('cm.nakamura');
    await page.getByLabel('パスワード', { exact: true }).fill(PW);
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.locator('li.patient').first().waitFor();
    await openBoard({ page }, YAMADA);
    const text = `切断テスト ${stamp}`;
    await page.getByRole('link', { name: '投稿する' }).click();
    await page.getByLabel('本文').fill(text);
    await page.getByRole('button', { name: '送信' }).click();
    await post(b.page, text).waitFor({ timeout: 10000 });
    await page.waitForFunction(() => document.querySelectorAll('.pending-list article').length === 0, null, { timeout: 15000 });
    assert.equal(dropped, 1, 'the answer was dropped');
    // Either the outbox sent it again (the server answered the first
    // post, duplicate) or the resync showed the post with its client id
    // first; what counts is one post on each board.
    assert.ok(creates >= 1 && creates <= 2, `CreatePostRequests sent: ${creates}`);
    await page.waitForTimeout(300);
    assert.equal(await post(b.page, text).count(), 1, 'one post on the board');
    assert.equal(await post(page, text).count(), 1);
    await ctx.close();
  });

  await step('screenshots: board and post form at 1280x800', async () => {
    await b.page.screenshot({ path: path.join(shots, 'board-1280x800.png') });
    await b.page.getByRole('link', { name: '投稿する' }).click();
    await b.page.locator('#post-h').waitFor();
    await b.page.screenshot({ path: path.join(shots, 'post-1280x800.png'), fullPage: true });
    await b.page.getByRole('link', { name: '戻る' }).click();
  });

  await step('logout leaves no patient data in IndexedDB, Cache Storage or localStorage', async () => {
    const p = a.page;
    // Something in the outbox and in localStorage first, to see them go.
    await p.evaluate(() => localStorage.setItem('renkei.test-patient', 'pt-yamada 山田 太郎'));
    await p.getByRole('button', { name: 'ログアウト' }).click();
    await p.getByLabel('ログインID').waitFor({ timeout: 10000 });
    const left = await p.evaluate(async () => {
      const dbs = (await indexedDB.databases()).map((d) => d.name);
      const caches_ = [];
      for (const k of await caches.keys()) {
        const c = await caches.open(k);
        for (const r of await c.keys()) {
          const res = await c.match(r);
          caches_.push({ cache: k, url: r.url, body: await res.text() });
        }
      }
      const ls = {};
      for (let i = 0; i < localStorage.length; i++) ls[localStorage.key(i)] = localStorage.getItem(localStorage.key(i));
      return { dbs, caches: caches_, ls, ss: sessionStorage.length, body: document.body.innerText };
    });
    assert.deepEqual(left.dbs, [], `IndexedDB: ${left.dbs}`);
    for (const c of left.caches) {
      assert.ok(c.cache.startsWith('renkei-shell-'), c.cache);
      assert.ok(!c.url.includes('/attachments/'), c.url);
      assert.ok(!c.body.includes('山田') && !c.body.includes('pt-yamada') && !c.body.includes(stamp), `patient data in ${c.url}`);
    }
    assert.deepEqual(Object.keys(left.ls).filter((k) => k !== 'renkei.lang'), []);
    assert.equal(left.ss, 0);
    assert.ok(!left.body.includes('山田'), 'the page shows no patient');
  });

  await step('English; break-glass by a physician not on the sheet, with a reason', async () => {
    const u = await newUser('dr.outsider', { width: 360, height: 780 }, { patients: false });
    await u.page.getByRole('button', { name: 'English' }).click();
    await u.page.getByRole('heading', { name: 'My patients' }).waitFor();
    await u.page.getByRole('button', { name: '日本語' }).click();
    await u.page.getByRole('heading', { name: '担当患者' }).waitFor();
    assert.equal(await u.page.getByRole('link', { name: YAMADA }).count(), 0, 'not on the sheet');
    await u.page.getByRole('link', { name: '緊急閲覧（ブレークグラス）' }).click();
    await u.page.getByLabel('患者コード').fill('pt-yamada');
    await u.page.getByLabel('理由（10文字以上）').fill('短い');
    await u.page.getByRole('button', { name: '緊急閲覧を開始' }).click();
    await u.page.getByRole('alert').filter({ hasText: '理由（10文字以上）' }).waitFor({ timeout: 3000 });
    await u.page.getByLabel('理由（10文字以上）').fill('救急搬送時の既往歴と服薬の確認のため');
    await u.page.getByRole('button', { name: '緊急閲覧を開始' }).click();
    await u.page.locator('#board-h').waitFor({ timeout: 5000 });
    await u.page.locator(`article[data-post-id="${postId}"]`).waitFor({ timeout: 5000 });
    await u.page.getByText('閲覧できる期限').waitFor();
    await u.ctx.close();
  });

  await step('accessibility (axe-core): login, patient list, board, post form have no violation at all', async () => {
    // axe is injected as a script: only a context that bypasses the CSP
    // can (the CSP itself is what the step above checks).
    const axeSrc = fs.readFileSync(path.join(here, '..', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
    const ctx = await browser.newContext({ viewport: { width: 360, height: 780 }, locale: 'ja-JP', bypassCSP: true });
    const page = await ctx.newPage();
    const audit = async (what) => {
      await page.addScriptTag({ content: axeSrc });
      const r = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
        .map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`));
      assert.deepEqual(r, [], `${what}: ${r.join('; ')}`);
    };
    await page.goto(`${srv.base}/app/`);
    await page.getByLabel('ログインID').waitFor();
    await audit('login');
    await page.getByLabel('ログインID').fill('cm.nakamura');
    await page.getByLabel('パスワード', { exact: true }).fill(PW);
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.locator('li.patient').first().waitFor();
    await audit('patients');
    await page.getByRole('link', { name: YAMADA }).first().click();
    await page.locator(`article[data-post-id="${postId}"]`).waitFor();
    await audit('board');
    await page.getByRole('link', { name: '投稿する' }).click();
    await page.locator('#post-h').waitFor();
    await audit('post form');
    await ctx.close();
  });

  await step('installable: manifest and icons served; offline, the app shell opens from the service worker', async () => {
    const ctx = await browser.newContext({ viewport: { width: 360, height: 780 }, locale: 'ja-JP' });
    const page = await ctx.newPage();
    await page.goto(`${srv.base}/app/`);
    // (ready resolves once a worker is active; evaluate awaits it)
    assert.ok(await page.evaluate(async () => !!(await navigator.serviceWorker.ready).active));
    const m = await page.evaluate(async () => {
      const r = await fetch('manifest.webmanifest');
      const j = await r.json();
      const icons = await Promise.all(j.icons.map(async (i) => (await fetch(i.src)).status));
      return { type: r.headers.get('content-type'), j, icons };
    });
    assert.equal(m.type, 'application/manifest+json');
    assert.equal(m.j.start_url, '/app/');
    assert.equal(m.j.display, 'standalone');
    assert.deepEqual(m.icons, [200, 200]);
    await page.reload(); // controlled by the worker now
    await page.waitForFunction(() => !!navigator.serviceWorker.controller);
    await ctx.setOffline(true);
    await page.reload();
    await page.getByLabel('ログインID').waitFor({ timeout: 5000 });
    const keys = await page.evaluate(async () => {
      const out = [];
      for (const k of await caches.keys()) for (const r of await (await caches.open(k)).keys()) out.push(new URL(r.url).pathname);
      return out;
    });
    assert.ok(keys.length >= 5, `${keys}`);
    for (const k of keys) assert.match(k, /^\/app\/([A-Za-z0-9._-]+)?$/, k);
    await ctx.close();
  });

  await step('notices: this browser registers for Web Push, a test notice is queued, the worker shows a push, logout removes the device', async () => {
    // Debian's chromium has no push service to subscribe with (headless
    // and without Google's keys: "permission denied"), so PushManager is
    // stood in for with a subscription made here: a real P-256 key and
    // auth secret, an endpoint on a host that is not private. The
    // server's side (VAPID key, NoticeDeviceAddRequest, NoticeTestRequest,
    // NoticeListRequest, NoticeDeviceRemoveRequest) is the real one.
    const jwk = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'jwk' });
    const p256dh = [4, ...Buffer.from(jwk.x, 'base64url'), ...Buffer.from(jwk.y, 'base64url')];
    const auth = [...randomBytes(16)];
    const ctx = await browser.newContext({ viewport: { width: 360, height: 780 }, locale: 'ja-JP' });
    await ctx.grantPermissions(['notifications'], { origin: srv.base });
    await ctx.addInitScript(({ p256dh: k, auth: a, endpoint }) => {
      if (!self.PushManager) return;
      let sub = null;
      const make = () => ({ endpoint, getKey: (n) => new Uint8Array(n === 'p256dh' ? k : a).buffer, unsubscribe: async () => { sub = null; return true; } });
      PushManager.prototype.subscribe = async () => { sub = make(); return sub; };
      PushManager.prototype.getSubscription = async () => sub;
      if (self.Notification) Notification.requestPermission = async () => 'granted';
    }, { p256dh, auth, endpoint: `https://push.example.com/e2e/${stamp}` });
    const page = await ctx.newPage();
    const login = async () => {
      await page.getByLabel('ログインID').fill('msw.yoshida');
      await page.getByLabel('パスワード', { exact: true }).fill(PW);
      await page.getByRole('button', { name: 'ログイン' }).click();
      await page.locator('li.patient').first().waitFor();
    };
    await page.goto(`${srv.base}/app/`);
    await login();
    await page.getByText('通知（この端末）').click();
    await page.getByText('通知を受け取る端末（ブラウザ）: 0台').waitFor({ timeout: 5000 });
    await page.getByRole('button', { name: 'この端末で通知を受け取る' }).click();
    await page.getByText('この端末で通知を受け取ります').waitFor({ timeout: 5000 });
    await page.getByText('通知を受け取る端末（ブラウザ）: 1台').waitFor();
    await page.getByRole('button', { name: 'テスト通知を送る' }).click();
    await page.getByText('テスト通知を送りました（1台）').waitFor({ timeout: 5000 });
    // The worker shows a notice's fixed text only (CDP delivers a push as
    // the push service would, already decrypted).
    const cdp = await ctx.newCDPSession(page);
    const regId = new Promise((resolve) => cdp.on('ServiceWorker.workerRegistrationUpdated', (ev) => {
      for (const r of ev.registrations) if (r.scopeURL.endsWith('/app/') && !r.isDeleted) resolve(r.registrationId);
    }));
    await cdp.send('ServiceWorker.enable');
    const registrationId = await regId;
    // The worker must be active to take a push; on a fresh profile under
    // load it may still be installing, and CDP drops a push it cannot
    // hand over: wait for it, then deliver again until it is shown (the
    // tag makes a second one replace the first).
    assert.ok(await page.evaluate(async () => !!(await navigator.serviceWorker.ready).active));
    let shown = null;
    for (let attempt = 0; attempt < 5 && shown === null; attempt++) {
      await cdp.send('ServiceWorker.deliverPushMessage', {
        origin: srv.base, registrationId,
        data: JSON.stringify({ title: 'renkei', body: 'renkei: 1 new urgent post', url: 'https://evil.example/', tag: 'renkei' }),
      });
      for (const end = Date.now() + 3000; shown === null && Date.now() < end;) {
        shown = await page.evaluate(async () => {
          const n = await (await navigator.serviceWorker.ready).getNotifications();
          return n.length ? { title: n[0].title, body: n[0].body } : null;
        });
        if (shown === null) await page.waitForTimeout(100);
      }
    }
    assert.deepEqual(shown, { title: 'renkei', body: 'renkei: 1 new urgent post' });
    await page.getByRole('button', { name: 'ログアウト' }).click();
    await page.getByLabel('ログインID').waitFor();
    await login();
    await page.getByText('通知（この端末）').click();
    await page.getByText('通知を受け取る端末（ブラウザ）: 0台').waitFor({ timeout: 5000 });
    await ctx.close();
  });

  await step('idle lock: the screen locks and the password unlocks it', async () => {
    const u = await newUser('pt.ito', { width: 360, height: 780 });
    await u.page.goto(`${srv.base}/app/?lock_ms=1500#/login`);
    await u.page.getByLabel('ログインID').fill('pt.ito');
    await u.page.getByLabel('パスワード', { exact: true }).fill(PW);
    await u.page.getByRole('button', { name: 'ログイン' }).click();
    await u.page.locator('li.patient').first().waitFor();
    await u.page.locator('#lock form').waitFor({ timeout: 5000 });
    assert.equal(await u.page.locator('#main').isVisible(), false, 'the content is hidden');
    await u.page.locator('#unlock-pw').fill('wrong password');
    await u.page.getByRole('button', { name: 'ロック解除' }).click();
    await u.page.waitForTimeout(300);
    assert.equal(await u.page.locator('#main').isVisible(), false);
    await u.page.locator('#unlock-pw').fill(PW);
    await u.page.getByRole('button', { name: 'ロック解除' }).click();
    await u.page.locator('li.patient').first().waitFor({ timeout: 5000 });
    assert.equal(await u.page.locator('#lock').isVisible(), false);
    await u.ctx.close();
  });
} finally {
  await browser.close().catch(() => {});
  if (await srv.stop()) failed++;
}

// The second factor, on a server that requires it of staff (the
// development default): enrolment at the first login, then the code step.
const srv2 = await startServer({ root, bin, webDir, args: ['--totp-required', 'staff'] });
const browser2 = await chromium.launch({ executablePath: chromiumPath, args: ['--ignore-certificate-errors', '--no-sandbox'] });
try {
  await step('second factor: enrol at the first login, then log in with the code', async () => {
    const ctx = await browser2.newContext({ viewport: { width: 360, height: 780 }, locale: 'ja-JP' });
    const page = await ctx.newPage();
    await page.goto(`${srv2.base}/app/`);
    await page.getByLabel('ログインID').fill('cw.yamamoto');
    await page.getByLabel('パスワード', { exact: true }).fill(PW);
    await page.getByRole('button', { name: 'ログイン' }).click();
    const secret = (await page.locator('code.secret').innerText({ timeout: 10000 })).trim();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    await page.getByLabel('確認コード（6桁）').fill(totp(secret));
    await page.getByRole('button', { name: '確認' }).click();
    await page.locator('ul.codes li').first().waitFor({ timeout: 5000 });
    assert.equal(await page.locator('ul.codes li').count(), 10);
    await page.getByRole('button', { name: '完了' }).click();
    await page.locator('li.patient').first().waitFor({ timeout: 5000 });
    await page.getByRole('button', { name: 'ログアウト' }).click();
    await page.getByLabel('ログインID').fill('cw.yamamoto');
    await page.getByLabel('パスワード', { exact: true }).fill(PW);
    await page.getByRole('button', { name: 'ログイン' }).click();
    const code = page.getByLabel('確認コード（6桁）');
    await code.waitFor({ timeout: 5000 });
    assert.equal(await page.locator('li.patient').count(), 0, 'not in without the code');
    // The enrolment used this step's code; the next step's is accepted (skew).
    await code.fill(totp(secret, 1));
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.locator('li.patient').first().waitFor({ timeout: 5000 });
    await ctx.close();
  });
} finally {
  await browser2.close().catch(() => {});
  if (await srv2.stop()) failed++;
}
console.log(`e2e: ${passed} passed, ${failed} failed; screenshots in ${shots}`);
process.exit(failed ? 1 : 0);
