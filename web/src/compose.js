// The post form: text, kind, visibility, urgent, vital signs (the
// server's ranges, server/care/post.c care_vitals_check, checked here
// first so the nurse sees the mistake at once), photos from the camera or
// the library. A post goes to the outbox first, then is sent: with no
// connection it waits there, shown as "not sent yet".
import { t } from './i18n.js';
import { outbox, newClientId } from './outbox.js';
import { S } from './state.js';
import { h, field, setErr, byteLen } from './ui.js';
import { flush } from './main.js';

// name, proto field, lo, hi, unit, scale (what is typed x scale = sent)
export const VITALS = [
  ['bt', 'temperatureDc', 30.0, 45.0, '℃', 10, '0.1'],
  ['bpSys', 'bpSystolic', 40, 300, 'mmHg', 1, '1'],
  ['bpDia', 'bpDiastolic', 20, 200, 'mmHg', 1, '1'],
  ['pulse', 'pulse', 20, 250, '/min', 1, '1'],
  ['spo2', 'spo2', 50, 100, '%', 1, '1'],
  ['rr', 'respiration', 4, 80, '/min', 1, '1'],
];

export function compose(main, code) {
  const family = S.user && S.user.profession === 10;
  const kind = h('select', {}, [1, 2, 3, 4, 5, 6].map((k) => h('option', { value: String(k) }, t(`kind.${k}`))));
  const vis = h('select', {}, (family ? [1] : [2, 1, 3]).map((v) => h('option', { value: String(v) }, t(`vis.${v}`))));
  const urgent = h('input', { type: 'checkbox', id: 'urgent' });
  const text = h('textarea', { rows: '6' });
  const inputs = {};
  const vitalsBox = h('fieldset', { class: 'vitals-form' }, h('legend', {}, t('vitals')),
    VITALS.map(([name, , lo, hi, unit, , step]) => {
      const inp = h('input', { type: 'number', inputmode: 'decimal', min: String(lo), max: String(hi), step, name });
      inputs[name] = inp;
      return h('div', { class: 'vital' }, field(`${name.startsWith('bp') ? `${t('bp')} ` : ''}${t(name)} (${unit})`, inp));
    }),
    (() => {
      const inp = h('input', { type: 'number', inputmode: 'numeric', min: '0', max: '10', step: '1', name: 'pain' });
      inputs.pain = inp;
      return h('div', { class: 'vital' }, field(t('pain'), inp));
    })());
  const photos = [];
  const previews = h('div', { class: 'thumbs' });
  const addFiles = (files) => {
    for (const f of files) {
      if (!f.type.startsWith('image/')) continue;
      const url = URL.createObjectURL(f);
      const i = photos.push({ name: f.name || 'photo.jpg', type: f.type, blob: f, url }) - 1;
      previews.append(h('figure', { class: 'preview' }, h('img', { src: url, alt: f.name, width: '96', height: '96' }),
        h('button', { type: 'button', class: 'link', onclick: (e) => { photos[i] = null; e.target.parentNode.remove(); URL.revokeObjectURL(url); } }, t('remove'))));
    }
  };
  const cam = h('input', { type: 'file', accept: 'image/*', capture: 'environment', class: 'file', onchange: (e) => addFiles(e.target.files) });
  const lib = h('input', { type: 'file', accept: 'image/jpeg,image/png', multiple: true, class: 'file', onchange: (e) => addFiles(e.target.files) });
  const msg = h('p', { class: 'err', role: 'alert' });

  const check = () => {
    let ok = true;
    const v = {};
    for (const [name, key, lo, hi, , scale] of VITALS) {
      const inp = inputs[name];
      setErr(inp, '');
      if (inp.value === '') continue;
      const x = Number(inp.value);
      if (!Number.isFinite(x) || x < lo || x > hi) { setErr(inp, t('range', t(name), lo, hi)); ok = false; continue; }
      v[key] = Math.round(x * scale);
    }
    if (ok && (!v.bpSystolic) !== (!v.bpDiastolic)) { setErr(inputs.bpDia, t('bpBoth')); ok = false; }
    if (ok && v.bpSystolic && v.bpDiastolic >= v.bpSystolic) { setErr(inputs.bpDia, t('bpOrder')); ok = false; }
    const pain = inputs.pain;
    setErr(pain, '');
    if (pain.value !== '' && !(Number.isInteger(Number(pain.value)) && Number(pain.value) >= 0 && Number(pain.value) <= 10)) {
      setErr(pain, t('range', t('pain'), 0, 10)); ok = false;
    }
    return ok ? v : null;
  };

  main.append(h('section', { 'aria-labelledby': 'post-h' },
    h('h1', { id: 'post-h' }, t('post')),
    h('form', {
      class: 'card compose',
      // The browser's own checks would stop the submit with a bubble in
      // its own words; ours (check()) says which range, in the UI language.
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        msg.textContent = '';
        const v = check();
        if (!v) return;
        let body = text.value;
        // The protocol's Vitals has no pain score: it goes into the text.
        if (inputs.pain.value !== '') body = `${body}${body ? '\n' : ''}${t('painText', Number(inputs.pain.value))}`;
        if (!body.trim()) {
          if (Object.keys(v).length) body = t('kind.2'); else { setErr(text, t('textEmpty')); text.focus(); return; }
        }
        if (byteLen(body) > 16384) { setErr(text, t('textLong')); text.focus(); return; }
        const item = {
          clientId: newClientId(), login: S.user.login, patient: code, createdAt: Date.now(),
          kind: Number(kind.value), visibility: Number(vis.value), urgent: urgent.checked, text: body,
          vitals: Object.keys(v).length ? v : null,
          photos: photos.filter(Boolean).map((p) => ({ name: p.name, type: p.type, blob: p.blob, attachmentId: 0 })),
        };
        await outbox.put(item);
        for (const p of photos) if (p) URL.revokeObjectURL(p.url);
        location.hash = `#/board/${encodeURIComponent(code)}`;
        flush();
      },
    },
    field(t('text'), text),
    h('div', { class: 'row2' }, field(t('kind'), kind), field(t('visibility'), vis)),
    h('div', { class: 'check' }, urgent, h('label', { for: 'urgent' }, t('urgent'))),
    vitalsBox,
    h('fieldset', {}, h('legend', {}, t('photos')),
      h('div', { class: 'row' }, field(t('camera'), cam), field(t('library'), lib)), previews),
    msg,
    h('p', { class: 'row' }, h('button', { type: 'submit' }, t('send')),
      h('a', { href: `#/board/${encodeURIComponent(code)}`, class: 'button secondary' }, t('back'))))));
  kind.addEventListener('change', () => { if (kind.value === '2') inputs.bt.focus(); });
}
