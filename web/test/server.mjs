// Start a real renkei-server for the browser tests, the way
// tests/integration/harness.c does: a temporary data folder and key
// folder, a random KEK in the environment, `init`, the development
// certificates, the demo ward imported with cheap password hashes (a
// test-only setting, RENKEI_ARGON2_TEST_COST=1, for the import alone),
// then `serve` on a free loopback port over TLS with the second factor
// off (the demo users have none) and web_dir = the built bundle.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

export async function startServer({ root, bin, webDir, args = [] }) {
  const dir = fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), 'renkei-e2e-'));
  const keys = `${dir}-keys`;
  const env = { ...process.env, RENKEI_KEK: randomBytes(32).toString('hex') };
  const run = (args, extra = {}) => execFileSync(bin, args, { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  run(['init', '--data', dir]);
  execFileSync('/bin/sh', [path.join(root, 'certs', 'make-dev-certs.sh'), path.join(keys, 'certs')], { stdio: 'ignore' });
  run(['import', '--data', dir, '--argon2-t', '1', '--argon2-m-kib', '64', path.join(root, 'data', 'demo-ward.json')],
      { RENKEI_ARGON2_TEST_COST: '1' });
  const port = await freePort();
  const log = fs.openSync(path.join(dir, 'server.log'), 'a');
  const child = spawn(bin, ['serve', '--data', dir, '--port', String(port), '--totp-required', 'off',
    '--web-dir', webDir, ...args], { env, stdio: ['ignore', log, log] });
  const base = `https://localhost:${port}`;
  const deadline = Date.now() + 20000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`renkei-server exited: ${fs.readFileSync(path.join(dir, 'server.log'), 'utf8').slice(-2000)}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error('renkei-server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base, port, dir, keys, ca: path.join(keys, 'certs', 'ca.pem'),
    log: () => fs.readFileSync(path.join(dir, 'server.log'), 'utf8'),
    // Stop (SIGTERM) and remove the folders; returns what went wrong
    // ("" if nothing): an unclean exit, or a sanitizer report in the log.
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await new Promise((r) => { if (child.exitCode !== null || child.signalCode !== null) r(); else child.on('exit', r); });
      const text = fs.readFileSync(path.join(dir, 'server.log'), 'utf8');
      let wrong = '';
      if (child.exitCode !== 0) wrong = `renkei-server ended with ${child.exitCode ?? child.signalCode}`;
      else if (/AddressSanitizer|LeakSanitizer|runtime error:/.test(text)) wrong = 'a sanitizer report in the server log';
      if (wrong) console.log(`${wrong}; log tail:\n${text.slice(-3000)}`);
      if (!process.env.RENKEI_KEEP_TEST_DATA) {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.rmSync(keys, { recursive: true, force: true });
      }
      return wrong;
    },
  };
}
