// The connection to renkei-server: one WebSocket (subprotocol renkei.v1)
// to the server that served this page, one binary message = one Envelope
// (proto/renkei.proto). request() sends a request and resolves with the
// matching response (or rejects with the server's Error); Events go to
// onEvent.
//
// The session survives a dropped connection: at login the client makes
// an Ed25519 key pair (WebCrypto, private key not extractable, held in
// memory only) and sends the public half as device_key; a new connection
// resumes with ResumeChallengeRequest + a ResumeRequest signed with it.
// The token is held in memory only: a reload asks for the password again.
import { renkei } from '../gen/renkei.js';

export const pb = renkei.v1;
export const Code = pb.Code;

export class RpcError extends Error {
  constructor(err) {
    super(err.message || 'error');
    this.code = err.code;
    this.field = err.field || '';
    this.retryAfterMs = err.retryAfterMs || 0;
  }
}
export class ConnLost extends Error {}

const enc = new TextEncoder();

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

export class Conn {
  constructor({ onEvent, onState }) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.ws = null;
    this.next = 1;
    this.waiting = new Map();
    this.token = null;
    this.keys = null;
    this.user = null;
    this.wanted = false; // reconnect when dropped
    this.retryMs = 500;
    this.timer = null;
    this.device = `web: ${navigator.userAgent.slice(0, 100)}`;
  }

  get open() { return this.ws !== null && this.ws.readyState === WebSocket.OPEN && this.ready; }

  connect() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`wss://${location.host}/`, 'renkei.v1');
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      this.ready = false;
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new ConnLost('cannot connect'));
      ws.onmessage = (m) => this.receive(m.data);
      ws.onclose = () => {
        if (this.ws === ws) this.ws = null;
        this.ready = false;
        for (const [, w] of this.waiting) w.reject(new ConnLost('connection lost'));
        this.waiting.clear();
        reject(new ConnLost('closed'));
        this.onState('down');
        this.schedule();
      };
    });
  }

  receive(data) {
    let env;
    try { env = pb.Envelope.decode(new Uint8Array(data)); } catch { return; }
    const id = Number(env.requestId);
    const body = env.body;
    if (id === 0) {
      if (body === 'event') this.onEvent(env.event);
      return;
    }
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    if (body === 'error') w.reject(new RpcError(env.error));
    else w.resolve(env[body]);
  }

  // Send one request (body: the Envelope field name, e.g. "timelineRequest").
  request(body, msg = {}, { force = false } = {}) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || (!this.ready && !force))
      return Promise.reject(new ConnLost('not connected'));
    const id = this.next++;
    const bytes = pb.Envelope.encode({ requestId: id, [body]: msg }).finish();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.ws.send(bytes);
    });
  }

  // Password (and, when asked, second-factor code) login on a fresh
  // connection. Resolves with the LoginResponse.
  async login(login, password, { totpCode = '', recoveryCode = '' } = {}) {
    this.wanted = false;
    this.close();
    await this.connect();
    if (!this.keys) {
      try {
        this.keys = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
      } catch { this.keys = null; } // no Ed25519 here: the session cannot be resumed
    }
    const deviceKey = this.keys
      ? new Uint8Array(await crypto.subtle.exportKey('raw', this.keys.publicKey)) : new Uint8Array(0);
    const res = await this.request('loginRequest', {
      login, password, device: this.device, totpCode, recoveryCode, deviceKey,
    }, { force: true });
    this.token = res.token;
    this.user = res.user;
    this.ready = true;
    this.wanted = true;
    this.retryMs = 500;
    this.onState('up');
    return res;
  }

  async resume() {
    await this.connect();
    const ch = await this.request('resumeChallengeRequest', {}, { force: true });
    const th = await sha256(enc.encode(this.token));
    const msg = new Uint8Array(80);
    msg.set(enc.encode('renkei-resume-v1'), 0);
    msg.set(ch.nonce, 16);
    msg.set(th, 48);
    const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, this.keys.privateKey, msg));
    const res = await this.request('resumeRequest', { token: this.token, device: this.device, signature: sig },
                                   { force: true });
    this.ready = true;
    this.retryMs = 500;
    this.onState('up');
    return res;
  }

  schedule() {
    if (!this.wanted || this.timer || !this.token || !this.keys) {
      if (this.wanted && this.token && !this.keys) this.onState('ended');
      return;
    }
    if (!navigator.onLine) return; // the 'online' event calls reconnect()
    this.timer = setTimeout(() => { this.timer = null; this.reconnect(); }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 8000);
  }

  async reconnect() {
    if (!this.wanted || this.open || (this.ws && this.ws.readyState === WebSocket.CONNECTING)) return;
    try {
      await this.resume();
    } catch (e) {
      if (e instanceof RpcError && e.code === Code.UNAUTHENTICATED) {
        this.wanted = false;
        this.close();
        this.onState('ended');
      }
      // ConnLost: onclose schedules the next try
    }
  }

  // Drop the connection now (network gone); reconnect later.
  drop() {
    if (this.ws) this.ws.close();
  }

  close() {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    if (ws) { ws.onclose = null; ws.close(); }
    for (const [, w] of this.waiting) w.reject(new ConnLost('closed'));
    this.waiting.clear();
  }

  async logout() {
    this.wanted = false;
    try { await this.request('logoutRequest', {}); } catch { /* gone already */ }
    this.close();
    this.token = null;
    this.keys = null;
    this.user = null;
  }
}
