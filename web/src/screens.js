// The screens: login (password, then the second-factor step), my
// patients, a board, the liaison sheet, break-glass. Every string from the
// server goes into the page as text (ui.js h()).
import { RpcError, Code, pb } from './conn.js';
import { t, fmtTime } from './i18n.js';
import { outbox } from './outbox.js';
import { S, board as boardOf, addPost } from './state.js';
import { h, clear, field, setErr } from './ui.js';
import { status, catchUp, flush, setVerifier, route } from './main.js';
import { noticesCard } from './notices.js';
export { compose } from './compose.js';

const STEP = pb.SignInStep;

function errText(e) { return e instanceof RpcError ? e.message : t('reconnecting'); }

// ------------------------------------------------------------ login

export function login(main) {
  if (S.user) { location.hash = '#/patients'; return; }
  const id = h('input', { name: 'login', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true });
  const pw = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const code = h('input', { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '11' });
  const codeField = field(t('code'), code, t('codeHelp'));
  codeField.hidden = true;
  const msg = h('p', { class: 'err', role: 'alert' });
  const btn = h('button', { type: 'submit' }, t('loginBtn'));
  let needCode = false;
  main.append(h('section', { class: 'card narrow', 'aria-labelledby': 'login-h' },
    h('h1', { id: 'login-h' }, t('login')),
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        msg.textContent = '';
        btn.disabled = true;
        const c = code.value.trim();
        const opts = needCode ? (c.includes('-') ? { recoveryCode: c } : { totpCode: c }) : {};
        try {
          const res = await S.conn.login(id.value.trim(), pw.value, opts);
          await setVerifier(pw.value);
          pw.value = '';
          S.user = res.user;
          S.pending = res.pending || [];
          await afterLogin();
        } catch (err) {
          if (err instanceof RpcError && err.code === Code.UNAUTHENTICATED && err.field === 'totp_code' && !needCode) {
            needCode = true;
            codeField.hidden = false;
            code.focus();
          } else {
            msg.textContent = errText(err);
            if (needCode) setErr(code, err.field === 'totp_code' || err.field === 'recovery_code' ? err.message : '');
          }
        } finally { btn.disabled = false; }
      },
    }, field(t('loginId'), id), field(t('password'), pw), codeField, msg, btn)));
}

async function afterLogin() {
  if (S.pending.includes(STEP.CHANGE_PASSWORD)) { changePassword(); return; }
  if (S.pending.includes(STEP.ENROL_SECOND_FACTOR)) { enrol(); return; }
  try { await catchUp(); } catch { /* the 'up' after a reconnect does it */ }
  flush();
  location.hash = '#/patients';
  route();
}

function changePassword() {
  const main = document.getElementById('main');
  clear(main);
  const oldPw = h('input', { type: 'password', autocomplete: 'current-password' });
  const newPw = h('input', { type: 'password', autocomplete: 'new-password' });
  const msg = h('p', { class: 'err', role: 'alert' });
  main.append(h('section', { class: 'card narrow' }, h('h1', {}, t('changePw')),
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          await S.conn.request('passwordChangeRequest', { oldPassword: oldPw.value, newPassword: newPw.value });
          await setVerifier(newPw.value);
          S.pending = S.pending.filter((x) => x !== STEP.CHANGE_PASSWORD);
          afterLogin();
        } catch (err) { msg.textContent = errText(err); }
      },
    }, field(t('oldPw'), oldPw), field(t('newPw'), newPw), msg, h('button', { type: 'submit' }, t('save')))));
}

async function enrol() {
  const main = document.getElementById('main');
  clear(main);
  const msg = h('p', { class: 'err', role: 'alert' });
  let begin;
  try { begin = await S.conn.request('totpEnrolBeginRequest', {}); } catch (err) { main.append(msg); msg.textContent = errText(err); return; }
  const code = h('input', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6' });
  const sec = h('section', { class: 'card narrow' }, h('h1', {}, t('enrol')), h('p', {}, t('enrolHelp')),
    h('p', {}, `${t('secret')}: `, h('code', { class: 'secret' }, begin.secret)),
    h('p', { class: 'small' }, h('code', {}, begin.otpauthUri)),
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const r = await S.conn.request('totpEnrolConfirmRequest', { code: code.value.trim() });
          S.pending = S.pending.filter((x) => x !== STEP.ENROL_SECOND_FACTOR);
          clear(sec);
          sec.append(h('h1', {}, t('recovery')), h('ul', { class: 'codes' }, r.recoveryCodes.map((c) => h('li', {}, h('code', {}, c)))),
            h('button', { type: 'button', onclick: () => afterLogin() }, t('done')));
        } catch (err) { setErr(code, errText(err)); }
      },
    }, field(t('code'), code), msg, h('button', { type: 'submit' }, t('codeBtn'))));
  main.append(sec);
}

// ------------------------------------------------------------ patients

export async function patients(main) {
  const list = h('ul', { class: 'patients', 'aria-labelledby': 'pts-h' });
  main.append(h('h1', { id: 'pts-h' }, t('patients')), list,
    h('p', {}, h('a', { href: '#/breakglass', class: 'button secondary' }, t('breakglass'))),
    noticesCard());
  const draw = () => {
    clear(list);
    for (const p of S.patients) {
      const seen = S.seen.get(p.code);
      const unread = seen === undefined ? Number(p.lastSeq) : Math.max(0, Number(p.lastSeq) - seen);
      const last = [...boardOf(p.code).posts.values()].sort((a, b) => Number(b.seq) - Number(a.seq))[0];
      list.append(h('li', { class: 'card patient', 'data-patient': p.code },
        h('h2', {}, h('a', { href: `#/board/${encodeURIComponent(p.code)}` }, p.name),
          p.kana ? h('span', { class: 'kana' }, ` ${p.kana}`) : null),
        h('dl', { class: 'facts' },
          h('dt', {}, t('area')), h('dd', {}, p.area || '—'),
          h('dt', {}, t('myRole')), h('dd', {}, p.myRole || '—'),
          h('dt', {}, t('lastPost')), h('dd', {}, last ? `${fmtTime(last.createdAtMs)} ${last.author ? last.author.displayName : ''}` : t('none')),
          h('dt', {}, t('unread')), h('dd', { class: unread ? 'unread' : '' }, String(unread)),
          h('dt', {}, t('unconfirmed')), h('dd', { class: p.unconfirmed ? 'unread' : '' }, String(p.unconfirmed || 0))),
        h('p', { class: 'row' }, h('a', { href: `#/board/${encodeURIComponent(p.code)}`, class: 'button' }, t('board')),
          h('a', { href: `#/sheet/${encodeURIComponent(p.code)}`, class: 'button secondary' }, t('sheet')))));
    }
  };
  S.onChange = (what) => { if (what === 'post') draw(); };
  try {
    const res = await S.conn.request('listPatientsRequest', {});
    S.patients = res.patients;
    draw();
    // The newest post of each, for "last post" (one small page each).
    for (const p of res.patients) {
      // Only when the newest post is not here yet (each read is audited).
      if (Number(p.lastSeq) === 0 || [...boardOf(p.code).posts.values()].some((x) => Number(x.seq) === Number(p.lastSeq))) continue;
      const tl = await S.conn.request('timelineRequest', { patient: p.code, limit: 1 });
      for (const x of tl.posts) addPost(x);
    }
    draw();
  } catch (err) { if (!S.patients.length) status(errText(err), 'error'); else draw(); }
}

// ------------------------------------------------------------ board

async function blobUrl(att, thumb) {
  const key = `${att.id}${thumb ? 't' : ''}`;
  if (S.blobs.has(key)) return S.blobs.get(key);
  const r = await fetch(`/attachments/${att.id}${thumb ? '?thumb=1' : ''}`, {
    headers: { Authorization: `Bearer ${S.conn.token}` }, cache: 'no-store', credentials: 'omit',
  });
  if (!r.ok) throw new Error(String(r.status));
  const u = URL.createObjectURL(await r.blob());
  S.blobs.set(key, u);
  return u;
}

function showPhoto(att) {
  const img = h('img', { alt: att.fileName || t('photo'), class: 'full' });
  const dlg = h('dialog', { class: 'photo', 'aria-label': t('photo') },
    h('form', { method: 'dialog' }, h('button', { type: 'submit', class: 'close' }, t('close'))), img);
  document.body.append(dlg);
  dlg.addEventListener('close', () => dlg.remove());
  dlg.showModal();
  blobUrl(att, false).then((u) => { img.src = u; }).catch(() => { img.alt = '404'; });
}

function vitalsLine(v) {
  if (!v) return null;
  const parts = [];
  if (v.temperatureDc) parts.push(`${t('bt')} ${(v.temperatureDc / 10).toFixed(1)}℃`);
  if (v.bpSystolic) parts.push(`${t('bp')} ${v.bpSystolic}/${v.bpDiastolic} mmHg`);
  if (v.pulse) parts.push(`${t('pulse')} ${v.pulse}/min`);
  if (v.spo2) parts.push(`${t('spo2')} ${v.spo2}%`);
  if (v.respiration) parts.push(`${t('rr')} ${v.respiration}/min`);
  return parts.length ? h('p', { class: 'vitals' }, parts.join(' · ')) : null;
}

function ackLine(id) {
  const m = S.acks.get(id);
  if (!m || !m.size) return null;
  return h('p', { class: 'acks' }, `${t('ackBy')}: `, [...m.values()].map((a) => a.user.displayName).join('、'));
}

function postView(p, code) {
  const id = Number(p.id);
  const mine = S.user && p.author && p.author.login === S.user.login;
  const cls = ['card', 'post', p.urgent ? 'urgent' : '', p.retractedByPostId ? 'retracted' : '',
    p.amendedByPostId ? 'superseded' : ''].join(' ');
  const who = h('div', { class: 'more' });
  const art = h('article', { class: cls, 'data-post-id': String(id), 'aria-labelledby': `p${id}-h` },
    h('header', {},
      h('h2', { id: `p${id}-h` }, p.author ? p.author.displayName : '', p.author ? h('span', { class: 'prof' }, ` ${t(`prof.${p.author.profession}`)}`) : null),
      h('p', { class: 'meta' }, h('time', {}, fmtTime(p.createdAtMs)), ` #${p.seq}`)),
    h('p', { class: 'badges' },
      p.urgent ? h('span', { class: 'badge urgent', role: 'img', 'aria-label': t('urgent') }, `⚠ ${t('urgent')}`) : null,
      h('span', { class: 'badge' }, t(`kind.${p.kind}`)),
      h('span', { class: `badge vis vis${p.visibility}`, title: t(`vis.${p.visibility}`) }, t(`visShort.${p.visibility}`))),
    p.amendsPostId ? h('p', { class: 'note' }, t('amendOf', p.amendsPostId)) : null,
    p.retractsPostId ? h('p', { class: 'note' }, t('retraction', p.retractsPostId)) : null,
    p.amendedByPostId ? h('p', { class: 'note' }, t('amended')) : null,
    p.retractedByPostId ? h('p', { class: 'note' }, t('retracted')) : null,
    h('p', { class: 'text' }, p.text),
    vitalsLine(p.vitals),
    p.attachments && p.attachments.length ? h('div', { class: 'thumbs' }, p.attachments.map((a) => {
      const img = h('img', { alt: a.fileName || t('photo'), width: '96', height: '96' });
      blobUrl(a, true).then((u) => { img.src = u; }).catch(() => {});
      return h('button', { type: 'button', class: 'thumb', 'aria-label': `${t('photo')}: ${a.fileName || a.id}`, onclick: () => showPhoto(a) }, img);
    })) : null,
    ackLine(id),
    h('p', { class: 'row actions' },
      !mine && !p.retractsPostId ? h('button', {
        type: 'button', class: S.acked.has(id) ? 'secondary done' : '', disabled: S.acked.has(id),
        onclick: async (e) => {
          try {
            await S.conn.request('ackRequest', { postId: id });
            S.acked.add(id);
            e.target.textContent = t('confirmed'); e.target.disabled = true; e.target.classList.add('done');
          } catch (err) { status(errText(err), 'error'); }
        },
      }, S.acked.has(id) ? t('confirmed') : t('confirm')) : null,
      h('button', {
        type: 'button', class: 'secondary', 'aria-expanded': 'false',
        onclick: async (e) => {
          try {
            const r = await S.conn.request('ackListRequest', { postId: id });
            clear(who);
            who.append(h('p', {}, `${t('ackBy')}: `, r.acked.length ? r.acked.map((a) => a.user.displayName).join('、') : t('ackNone')),
              h('p', {}, `${t('whoNot')}: `, r.pending.length ? r.pending.map((u) => u.displayName).join('、') : t('allAcked')));
            e.target.setAttribute('aria-expanded', 'true');
          } catch (err) { status(errText(err), 'error'); }
        },
      }, t('whoNot')),
      mine && !p.retractsPostId && !p.retractedByPostId && !p.amendedByPostId ? [
        h('button', { type: 'button', class: 'secondary', onclick: () => changeDialog(p, code, 'amend') }, t('amend')),
        h('button', { type: 'button', class: 'secondary', onclick: () => changeDialog(p, code, 'retract') }, t('retract')),
      ] : null),
    who);
  return art;
}

function changeDialog(p, code, what) {
  const text = h('textarea', { rows: '5' });
  if (what === 'amend') text.value = p.text;
  const msg = h('p', { class: 'err', role: 'alert' });
  const dlg = h('dialog', { 'aria-labelledby': 'chg-h' },
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        const clientId = crypto.randomUUID();
        try {
          const r = what === 'amend'
            ? await S.conn.request('amendPostRequest', { postId: Number(p.id), clientId, text: text.value, vitals: p.vitals, urgent: p.urgent })
            : await S.conn.request('retractPostRequest', { postId: Number(p.id), clientId, reason: text.value });
          addPost(r.post);
          dlg.close();
          S.onChange('post');
        } catch (err) { msg.textContent = errText(err); }
      },
    }, h('h2', { id: 'chg-h' }, what === 'amend' ? t('amend') : t('retract')),
    field(what === 'amend' ? t('text') : t('reason'), text), msg,
    h('p', { class: 'row' }, h('button', { type: 'submit' }, t('save')),
      h('button', { type: 'button', class: 'secondary', onclick: () => dlg.close() }, t('close')))));
  document.body.append(dlg);
  dlg.addEventListener('close', () => dlg.remove());
  dlg.showModal();
}

function pendingView(item) {
  return h('article', { class: 'card post pending', 'data-client-id': item.clientId, 'aria-label': t('notSent') },
    h('p', { class: 'badges' }, h('span', { class: 'badge pending' }, t('notSent')),
      item.urgent ? h('span', { class: 'badge urgent' }, `⚠ ${t('urgent')}`) : null,
      h('span', { class: 'badge' }, t(`kind.${item.kind}`))),
    h('p', { class: 'help' }, item.error ? `${t('failed')}: ${item.error}` : t('notSentHelp')),
    h('p', { class: 'text' }, item.text),
    item.photos.length ? h('p', { class: 'help' }, `${t('photos')}: ${item.photos.length}`) : null,
    item.error ? h('button', { type: 'button', class: 'secondary', onclick: async () => { await outbox.del(item.clientId); S.onChange('outbox'); } }, t('remove')) : null);
}

export async function board(main, code) {
  const b = boardOf(code);
  const pt = S.patients.find((x) => x.code === code);
  const title = h('h1', { id: 'board-h' }, pt ? pt.name : code);
  const pend = h('div', { class: 'pending-list', 'aria-live': 'polite' });
  const list = h('div', { class: 'board', role: 'feed', 'aria-labelledby': 'board-h', 'aria-busy': 'false' });
  const olderBtn = h('button', { type: 'button', class: 'secondary', hidden: true, onclick: () => older() }, t('older'));
  main.append(h('div', { class: 'titlebar' }, title,
    h('p', { class: 'row' }, h('a', { href: `#/post/${encodeURIComponent(code)}`, class: 'button' }, t('post')),
      h('a', { href: `#/sheet/${encodeURIComponent(code)}`, class: 'button secondary' }, t('sheet')),
      h('a', { href: '#/patients', class: 'button secondary' }, t('back')))),
  pend, list, olderBtn);

  const draw = async () => {
    clear(list);
    const posts = [...b.posts.values()].sort((x, y) => Number(y.seq) - Number(x.seq));
    if (!posts.length) list.append(h('p', { class: 'help' }, t('noPosts')));
    for (const p of posts) list.append(postView(p, code));
    olderBtn.hidden = !b.more;
    if (posts.length) S.seen.set(code, Math.max(S.seen.get(code) || 0, Number(posts[0].seq)));
    // An entry whose post is already here (its event came before the
    // answer) is not shown twice.
    const ids = new Set(posts.map((x) => x.clientId));
    const items = (await outbox.all()).filter((x) => x.patient === code && S.user && x.login === S.user.login &&
                                                 !ids.has(x.clientId));
    clear(pend);
    for (const it of items) pend.append(pendingView(it));
  };
  const older = async () => {
    try {
      const tl = await S.conn.request('timelineRequest', { patient: code, beforeSeq: b.oldest, limit: 20 });
      for (const p of tl.posts) addPost(p);
      if (tl.posts.length) b.oldest = Number(tl.posts[tl.posts.length - 1].seq);
      b.more = tl.more;
      draw();
    } catch (err) { status(errText(err), 'error'); }
  };
  S.onChange = (what, x) => {
    if (what === 'ack' && x && x.patient !== code) return;
    if (what === 'post' && x && x.patient !== code) return;
    draw();
  };
  draw();
  if (!b.loaded) {
    try {
      const tl = await S.conn.request('timelineRequest', { patient: code, limit: 20 });
      for (const p of tl.posts) addPost(p);
      b.oldest = tl.posts.length ? Number(tl.posts[tl.posts.length - 1].seq) : 0;
      b.more = tl.more;
      b.loaded = true;
      if (!pt) { // opened by break-glass, or not yet listed
        try { const g = await S.conn.request('getPatientRequest', { patient: code }); title.textContent = g.patient.name; } catch { /* no name */ }
      }
      draw();
    } catch (err) { status(errText(err), 'error'); }
  }
}

// ------------------------------------------------------------ sheet

export async function sheet(main, code) {
  const sec = h('section', { 'aria-labelledby': 'sheet-h' }, h('h1', { id: 'sheet-h' }, t('sheet')));
  main.append(sec);
  try {
    const r = await S.conn.request('getPatientRequest', { patient: code });
    const p = r.patient;
    sec.append(h('div', { class: 'card' }, h('h2', {}, p.name, p.kana ? ` (${p.kana})` : ''),
      h('dl', { class: 'facts' },
        h('dt', {}, t('birth')), h('dd', {}, p.birthDate || '—'),
        h('dt', {}, t('area')), h('dd', {}, p.area || '—'),
        h('dt', {}, t('summary')), h('dd', { class: 'text' }, p.summary || '—'),
        h('dt', {}, t('wishes')), h('dd', { class: 'text' }, p.wishes || '—'))),
    h('ul', { class: 'sheet' }, r.sheet.map((m) => h('li', { class: 'card' },
      h('h3', {}, m.teamRole, m.primary ? h('span', { class: 'badge' }, ` ${t('primary')}`) : null,
        m.readOnly ? h('span', { class: 'badge' }, ` ${t('readOnly')}`) : null),
      h('dl', { class: 'facts' },
        h('dt', {}, t('name')), h('dd', {}, m.user ? m.user.displayName : ''),
        h('dt', {}, t('profession')), h('dd', {}, m.user ? t(`prof.${m.user.profession}`) : ''),
        h('dt', {}, t('org')), h('dd', {}, m.user && m.user.organisation ? m.user.organisation.name : '—'),
        h('dt', {}, t('period')), h('dd', {}, `${m.validFrom || '…'} – ${m.validUntil || '…'}`),
        h('dt', {}, t('contact')), h('dd', {}, m.contact || '—'))))),
    h('p', {}, h('a', { href: `#/board/${encodeURIComponent(code)}`, class: 'button secondary' }, t('back'))));
  } catch (err) { sec.append(h('p', { class: 'err', role: 'alert' }, errText(err))); }
}

// ------------------------------------------------------------ break-glass

export function breakglass(main) {
  const code = h('input', { autocapitalize: 'none', required: true });
  const reason = h('textarea', { rows: '3', required: true, minlength: '10' });
  const totp = h('input', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6' });
  const msg = h('p', { class: 'err', role: 'alert' });
  main.append(h('section', { class: 'card narrow', 'aria-labelledby': 'bg-h' }, h('h1', { id: 'bg-h' }, t('breakglass')),
    h('p', {}, t('bgHelp')),
    h('form', {
      novalidate: true, // our check counts as the server does (no spaces)
      onsubmit: async (e) => {
        e.preventDefault();
        setErr(reason, '');
        if (reason.value.replace(/[\s\u00a0\u3000]/g, '').length < 10) { setErr(reason, t('bgReason')); return; }
        try {
          const r = await S.conn.request('breakGlassRequest', { patient: code.value.trim(), reason: reason.value, totpCode: totp.value.trim() });
          status(t('bgUntil', fmtTime(r.expiresAtMs)), 'warn');
          // Watch again: the board just opened is now one I may read.
          try { await catchUp(); } catch { /* the next 'up' does it */ }
          location.hash = `#/board/${encodeURIComponent(code.value.trim())}`;
        } catch (err) { msg.textContent = errText(err); }
      },
    }, field(t('patientCode'), code), field(t('bgReason'), reason), field(t('code'), totp, t('codeHelp')), msg,
    h('button', { type: 'submit', class: 'danger' }, t('bgBtn')))));
}
