// What the client holds while logged in: in memory only (never in
// localStorage), dropped by a page reload, which logout does.
import { Conn } from './conn.js';

export const S = {
  conn: null,
  user: null,        // User of this session
  pending: [],       // SignInStep still to do
  patients: [],      // ListPatientsResponse.patients
  seen: new Map(),   // patient code -> newest seq I have looked at
  boards: new Map(), // patient code -> { posts: Map id -> Post, oldest, more, loaded }
  acks: new Map(),   // post id -> Map login -> Ack
  acked: new Set(),  // post ids I confirmed here
  cursor: 0,         // global sync cursor (SyncResponse / PostEvent)
  blobs: new Map(),  // attachment id (+ "t" thumb) -> object URL
  verifier: null,    // unlock check: { salt, hash } from the password (PBKDF2)
  onChange: () => {},
};

export function board(code) {
  let b = S.boards.get(code);
  if (!b) {
    b = { posts: new Map(), oldest: 0, more: false, loaded: false };
    S.boards.set(code, b);
  }
  return b;
}

export function addPost(p) {
  const b = board(p.patient);
  b.posts.set(Number(p.id), p);
  // The post a later entry amends or retracts is shown with that mark.
  const ref = Number(p.amendsPostId || p.retractsPostId || 0);
  const orig = ref ? b.posts.get(ref) : null;
  if (orig) {
    if (p.amendsPostId) orig.amendedByPostId = p.id;
    else orig.retractedByPostId = p.id;
  }
  const pt = S.patients.find((x) => x.code === p.patient);
  if (pt && Number(p.seq) > Number(pt.lastSeq)) pt.lastSeq = p.seq;
}

export function newConn(handlers) {
  S.conn = new Conn(handlers);
  return S.conn;
}
