// A few DOM helpers for the app's pages: building elements, and reading
// what a member typed or chose.

/**
 * Makes an element: h('p', {id: 'x', class: 'note', onclick: f}, 'text', child…).
 * A prop starting with "on" is an event listener, "data" takes an object
 * of data attributes, anything else is an attribute (false or null: left
 * out). Children are strings, nodes, arrays of them, or null (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'data') {
      for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
    } else if (k === 'value') {
      el.value = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces the children of el. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A short form of a long hex string: its first and last digits. */
export function short(hex, n = 8) {
  return hex.length <= 2 * n + 1 ? hex : `${hex.slice(0, n)}…${hex.slice(-4)}`;
}

/** A u64 (BigInt) for people: digits grouped by the page's language. */
export function amount(v, lang) {
  return BigInt(v).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-US');
}

/** The text of a File, or null. */
export function readFile(file) {
  return file ? file.text() : Promise.resolve(null);
}
