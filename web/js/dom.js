// Building the page from data. Stored text is only ever inserted as text
// (textContent, text nodes), never as HTML: a unit that holds markup shows
// it as characters.

/** An element with attributes (`class`, `dir`, `on…` handlers, others as
 * attributes) and children (nodes, or strings as text nodes). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      el.className = value;
    } else if (name === 'text') {
      el.textContent = value;
    } else if (name === 'value') {
      el.value = value;
    } else if (name === 'checked' || name === 'disabled' || name === 'selected') {
      el[name] = Boolean(value);
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Removes every child of `el`, then appends `children`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'text') el.textContent = value;
    else el.setAttribute(name, String(value));
  }
  for (const child of children) el.append(child);
  return el;
}

/** The direction of a text in a language code. */
export function dirOf(lang) {
  return lang === 'ar' ? 'rtl' : 'ltr';
}

/**
 * `text` as an element whose parts in `ranges` ({start, end, cls, title} in
 * Unicode code points, end exclusive, as the server counts characters) are
 * `<mark>`s with that class. The element isolates its direction (`dir`, or
 * `auto`): Latin names and numbers inside Arabic keep their order.
 */
export function marked(text, ranges, attrs = {}) {
  const chars = Array.from(text);
  const sorted = [...ranges].filter((r) => r && r.end > r.start).sort((a, b) => a.start - b.start);
  const el = h('bdi', { dir: 'auto', ...attrs });
  let at = 0;
  for (const r of sorted) {
    if (r.start < at) continue;
    if (r.start > at) el.append(document.createTextNode(chars.slice(at, r.start).join('')));
    const mark = h('mark', { class: r.cls, title: r.title });
    mark.textContent = chars.slice(r.start, r.end).join('');
    el.append(mark);
    at = r.end;
  }
  if (at < chars.length) el.append(document.createTextNode(chars.slice(at).join('')));
  return el;
}

/** Saves `blob` as a file named `name`. */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, class: 'hidden' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** A date in milliseconds as the interface's language writes it. */
export function date(ms, lang) {
  if (!ms) return '';
  return new Date(Number(ms)).toLocaleString(lang === 'ar' ? 'ar' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

/** The colour band of a score. */
export function band(score) {
  if (score >= 100) return 'band-exact';
  if (score >= 95) return 'band-95';
  if (score >= 85) return 'band-85';
  if (score >= 75) return 'band-75';
  return 'band-50';
}

/** Whether a key went to a text field (then shortcuts stay out of the way). */
export function typing(event) {
  const el = event.target;
  return el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement || Boolean(el?.isContentEditable);
}

/** Copies `text` to the clipboard. */
export async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (_) {
    const area = h('textarea', { class: 'offscreen' });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
}

/** Checkboxes for choosing memories; `chosen()` gives the names ticked. */
export function memoryPicker(memories, name, t) {
  const box = h('fieldset', { class: 'memories' }, h('legend', {}, t('field.memories')));
  for (const m of memories) {
    box.append(h('label', {}, h('input', { type: 'checkbox', name, value: m.name }), ' ', h('bdi', { dir: 'auto' }, m.name)));
  }
  if (!memories.length) box.append(h('span', { class: 'muted' }, t('memories.none')));
  box.chosen = () => Array.from(box.querySelectorAll('input:checked')).map((i) => i.value);
  return box;
}
