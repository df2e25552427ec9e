// Build the web client into a flat folder of static files that
// renkei-server serves under /app/ (server/net/webapp.h):
//
//   node build.mjs [OUT]        OUT defaults to $RENKEI_WEB_OUT or ../build/web
//
// 1. protobufjs-cli turns proto/renkei.proto (the contract) into static
//    JavaScript (gen/renkei.js): no reflection at run time, so no eval and
//    the CSP can forbid it.
// 2. esbuild bundles src/main.js and src/app.css into app-HASH.js and
//    app-HASH.css: content-hashed names the server caches for a year.
// 3. index.html, sw.js (the service worker, which caches exactly these
//    shell files under a name derived from their hashes), the manifest and
//    the icons (PNG, drawn here) are written beside them, unhashed
//    (the server revalidates those on every load).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] || process.env.RENKEI_WEB_OUT ||
                         path.join(here, '..', 'build', 'web'));
const gen = path.join(here, 'gen');

fs.mkdirSync(gen, { recursive: true });
execFileSync(process.execPath, [
  path.join(here, 'node_modules', 'protobufjs-cli', 'bin', 'pbjs'),
  '-t', 'static-module', '-w', 'es6', '--no-verify', '--no-convert',
  '--no-delimited', '--no-typeurl', '--no-service', '--no-comments',
  '-o', path.join(gen, 'renkei.js'),
  path.join(here, '..', 'proto', 'renkei.proto'),
], { stdio: 'inherit' });
// The generated module imports "protobufjs/minimal" without the ".js"
// that Node's ESM resolution wants; esbuild resolves it either way.

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
const result = await esbuild.build({
  entryPoints: { app: path.join(here, 'src', 'main.js'),
                 style: path.join(here, 'src', 'app.css') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  entryNames: '[name]-[hash]',
  outdir: out,
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const files = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
const js = files.find((f) => f.endsWith('.js'));
const css = files.find((f) => f.endsWith('.css'));

// Icons: a white "+" on renkei's teal, PNG drawn by hand (zlib only).
function crc32(buf) {
  let c, crc = 0xffffffff;
  for (let n = 0; n < buf.length; n++) {
    c = (crc ^ buf[n]) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function icon(size) {
  const raw = Buffer.alloc((size * 3 + 1) * size);
  const arm = size * 0.12, len = size * 0.32, mid = size / 2;
  for (let y = 0; y < size; y++) {
    raw[y * (size * 3 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const dx = Math.abs(x - mid), dy = Math.abs(y - mid);
      const plus = (dx < arm && dy < len) || (dy < arm && dx < len);
      const o = y * (size * 3 + 1) + 1 + x * 3;
      raw[o] = plus ? 255 : 0x0f; raw[o + 1] = plus ? 255 : 0x76; raw[o + 2] = plus ? 255 : 0x6e;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
fs.writeFileSync(path.join(out, 'icon-192.png'), icon(192));
fs.writeFileSync(path.join(out, 'icon-512.png'), icon(512));

fs.writeFileSync(path.join(out, 'manifest.webmanifest'), JSON.stringify({
  name: 'renkei 連携', short_name: 'renkei', lang: 'ja',
  start_url: '/app/', scope: '/app/', display: 'standalone',
  background_color: '#ffffff', theme_color: '#0f766e',
  icons: [
    { src: 'icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any maskable' },
    { src: 'icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any maskable' },
  ],
}, null, 1) + '\n');

const index = fs.readFileSync(path.join(here, 'src', 'index.html'), 'utf8')
  .replaceAll('%APP_JS%', js).replaceAll('%APP_CSS%', css);
fs.writeFileSync(path.join(out, 'index.html'), index);

// The service worker caches the shell: these names, nothing else (never
// an /attachments/ answer, never anything from the WebSocket).
const shell = ['./', 'index.html', js, css, 'manifest.webmanifest', 'icon-192.png', 'icon-512.png'];
const version = createHash('sha256').update(shell.join('\n')).digest('hex').slice(0, 12);
const sw = fs.readFileSync(path.join(here, 'src', 'sw.js'), 'utf8')
  .replace('%SHELL%', JSON.stringify(shell)).replace('%VERSION%', version);
fs.writeFileSync(path.join(out, 'sw.js'), sw);
console.log(`renkei web: ${out}: ${fs.readdirSync(out).join(' ')}`);
