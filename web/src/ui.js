// The one way this client makes DOM: h(tag, attrs, ...children). Children
// that are strings become text nodes, so text from the server is always
// shown as text: nothing here (or anywhere in src/) sets innerHTML.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'hidden' || k === 'disabled' || k === 'required' || k === 'checked' ||
             k === 'multiple' || k === 'selected') el[k] = Boolean(v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  add(el, children);
  return el;
}
function add(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) add(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}
export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

// A labelled form field: label, control, and a place for its error.
let ids = 0;
export function field(label, control, help) {
  const id = control.id || `f${++ids}`;
  control.id = id;
  const err = h('p', { class: 'err', id: `${id}-err`, role: 'alert' });
  const kids = [h('label', { for: id }, label)];
  if (help) {
    const hid = `${id}-help`;
    kids.push(h('p', { class: 'help', id: hid }, help));
    control.setAttribute('aria-describedby', `${hid} ${id}-err`);
  } else {
    control.setAttribute('aria-describedby', `${id}-err`);
  }
  kids.push(control, err);
  return h('div', { class: 'field' }, kids);
}
export function setErr(control, msg) {
  const err = document.getElementById(`${control.id}-err`);
  if (err) err.textContent = msg || '';
  if (msg) control.setAttribute('aria-invalid', 'true');
  else control.removeAttribute('aria-invalid');
}

// UTF-8 byte length, and a cut to at most n bytes on a character
// boundary: the protocol's limits are in bytes (proto/renkei.proto, top).
const enc = new TextEncoder();
export function byteLen(s) { return enc.encode(s).length; }
export function cutBytes(s, n) {
  let out = '';
  for (const ch of s) {
    if (byteLen(out + ch) > n) break;
    out += ch;
  }
  return out;
}
