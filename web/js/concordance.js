// Concordance: a word or phrase in either language; every unit that holds
// it, newest first, each occurrence highlighted, a page at a time.

import * as api from './api.js';
import { h, replace, append, marked, date, dirOf, memoryPicker } from './dom.js';
import { t } from './i18n.js';

let last = { text: '', lang: '' };

export function render(view, app, _args, options = {}) {
  const box = h('input', { id: 'concordance-text', type: 'search', 'data-box': true, dir: 'auto', placeholder: t('concordance.placeholder'), 'aria-label': t('concordance.text') });
  box.value = options.memory ? '' : last.text;
  const lang = h('select', { id: 'concordance-lang', 'aria-label': t('field.lang') },
    h('option', { value: '' }, t('lang.either')), h('option', { value: 'ar' }, t('lang.ar')), h('option', { value: 'en' }, t('lang.en')));
  lang.value = last.lang;
  const picker = options.memory ? null : memoryPicker(app.session.memories, 'concordance-memory', t);
  const hits = h('section', { id: 'hits' });
  const more = h('button', { type: 'button', id: 'concordance-more', class: 'hidden' }, t('concordance.more'));
  let token = '';

  async function search(next) {
    if (!box.value.trim()) return;
    if (!options.memory) {
      last.text = box.value;
      last.lang = lang.value;
    }
    try {
      const answer = await api.call('POST', 'concordance', {
        text: box.value,
        lang: lang.value,
        memories: options.memory ? [options.memory] : picker.chosen(),
        page_size: 20,
        page_token: next ? token : '',
      });
      token = answer.next_page_token;
      if (!next) hits.replaceChildren();
      if (!next && !answer.hits.length) hits.append(h('p', { class: 'muted', id: 'no-hits' }, t('concordance.none')));
      append(hits, answer.hits.map((hit) => hitCard(hit, options.onOpen)));
      more.classList.toggle('hidden', !token);
      app.say(t('concordance.shown', { n: hits.querySelectorAll('.hit').length }));
    } catch (err) {
      app.fail(err);
    }
  }
  more.addEventListener('click', () => search(true));
  const form = h('form', { class: 'search row', id: 'concordance-form', onsubmit: (e) => { e.preventDefault(); search(false); } },
    box, lang, h('button', { type: 'submit', class: 'primary', id: 'concordance-go' }, t('concordance.go')));
  const parts = [form, picker, hits, more];
  if (options.into) {
    append(options.into, parts);
  } else {
    replace(view, h('h1', {}, t('nav.concordance')), parts);
    if (last.text) search(false);
    box.focus();
  }
}

/** One unit with the phrase: the side it was found in with each occurrence marked, the other side. */
export function hitCard(hit, onOpen) {
  const u = hit.unit;
  const other = hit.lang === 'ar' ? 'en' : 'ar';
  const text = (lang) => (lang === 'ar' ? u.arabic : u.english);
  const spans = hit.spans.map(([start, end]) => ({ start, end, cls: 'hit-span' }));
  const open = onOpen ? h('button', { type: 'button', class: 'open', onclick: () => onOpen(u) }, t('units.open')) : h('a', { href: `#/units/${u.id}`, class: 'open' }, t('units.open'));
  return h('article', { class: 'hit', 'data-unit': u.id },
    h('div', { class: 'pair' },
      h('div', { class: 'side' }, marked(text(hit.lang), spans, { dir: dirOf(hit.lang), lang: hit.lang, class: 'found' })),
      h('div', { class: 'side' }, marked(text(other), [], { dir: dirOf(other), lang: other }))),
    h('div', { class: 'meta-line muted' }, h('bdi', { dir: 'auto' }, u.memory), ' · ', date(u.changed_at_ms || u.created_at_ms, document.documentElement.lang), u.domain ? [' · ', h('bdi', { dir: 'auto' }, u.domain)] : null, ' ', open));
}
