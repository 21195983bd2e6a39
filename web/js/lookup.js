// Look up: a text, its language (detected, or chosen), options; each match
// with its score in its band's colour, its memory and metadata, the words
// that differ between the text and the stored source highlighted (from the
// explanation's edits), the target with its repaired placeables marked, the
// penalties and warnings, and a copy button. Keys: "/" the box, Enter
// looks up, ↓/↑ move through the matches, "c" copies the chosen one.

import * as api from './api.js';
import { h, replace, marked, band, date, dirOf, typing, copy, memoryPicker } from './dom.js';
import { t } from './i18n.js';

let last = { text: '', lang: '', asked: '', result: null };
let appRef = null;
let selected = 0;

export function render(view, app) {
  appRef = app;
  const box = h('textarea', { id: 'lookup-text', 'data-box': true, dir: 'auto', rows: 3, placeholder: t('lookup.placeholder'), 'aria-label': t('lookup.text') });
  box.value = last.text;
  const lang = h('select', { id: 'lookup-lang', 'aria-label': t('field.lang') },
    h('option', { value: '' }, t('lang.auto')), h('option', { value: 'ar' }, t('lang.ar')), h('option', { value: 'en' }, t('lang.en')));
  lang.value = last.lang;
  const minScore = h('input', { id: 'lookup-min', type: 'number', min: 1, max: 100, value: 50 });
  const count = h('input', { id: 'lookup-count', type: 'number', min: 1, max: 100, value: 10 });
  const domain = h('input', { id: 'lookup-domain', type: 'text', dir: 'auto', size: 10 });
  const client = h('input', { id: 'lookup-client', type: 'text', dir: 'auto', size: 10 });
  const project = h('input', { id: 'lookup-project', type: 'text', dir: 'auto', size: 10 });
  const picker = memoryPicker(app.session.memories, 'lookup-memory', t);
  const results = h('section', { id: 'matches', 'aria-live': 'polite' });
  const detected = h('span', { id: 'detected', class: 'muted' });

  async function run(event) {
    event?.preventDefault();
    last.text = box.value;
    last.lang = lang.value;
    if (!box.value.trim()) return;
    app.say(t('lookup.searching'));
    try {
      const answer = await api.call('POST', 'lookup', {
        text: box.value,
        lang: lang.value,
        memories: picker.chosen(),
        min_score: Number(minScore.value) || undefined,
        max_results: Number(count.value) || undefined,
        filters: { domain: domain.value, client: client.value, project: project.value },
      });
      last.result = answer;
      last.asked = box.value;
      selected = 0;
      show(results, answer, app);
      detected.textContent = t('lookup.detected', { lang: t(`lang.${answer.lang}`) });
      app.say(t('lookup.found', { n: answer.matches.length }));
    } catch (err) {
      app.fail(err);
    }
  }

  box.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) run(event);
    if (event.key === 'ArrowDown' && event.altKey) {
      event.preventDefault();
      choose(0);
    }
  });
  const form = h('form', { id: 'lookup-form', class: 'search', onsubmit: run },
    box,
    h('div', { class: 'row options' },
      h('label', {}, t('field.lang'), ' ', lang),
      h('label', {}, t('field.min_score'), ' ', minScore),
      h('label', {}, t('field.max_results'), ' ', count),
      h('label', {}, t('field.domain'), ' ', domain),
      h('label', {}, t('field.client'), ' ', client),
      h('label', {}, t('field.project'), ' ', project),
      h('button', { type: 'submit', id: 'lookup-go', class: 'primary' }, t('lookup.go')),
      detected),
    picker,
    h('p', { class: 'hint' }, t('lookup.keys')));
  replace(view, h('h1', {}, t('nav.lookup')), form, results);
  if (last.result) show(results, last.result, app);
  box.focus();
}

/** The match cards of an answer. */
function show(results, answer, app) {
  if (!answer.matches.length) {
    replace(results, h('p', { class: 'muted', id: 'no-match' }, t('lookup.none')));
    return;
  }
  replace(results, answer.matches.map((m, i) => card(m, i, app)));
  mark();
}

const QUERY_KINDS = ['normalized', 'variant', 'placeable', 'substitute', 'insert'];
const SOURCE_KINDS = ['normalized', 'variant', 'placeable', 'substitute', 'delete'];

function card(m, i, app) {
  const targetLang = m.lang === 'ar' ? 'en' : 'ar';
  const rangesOf = (side, kinds) => m.edits
    .filter((e) => e[side] && kinds.includes(e.kind))
    .map((e) => ({ start: e[side][0], end: e[side][1], cls: `edit-${e.kind}`, title: t(`edit.${e.kind}`) }));
  const target = m.repaired
    ? marked(m.repaired.text, m.repaired.changed.map(([start, end]) => ({ start, end, cls: 'repaired', title: t('lookup.repaired') })), { dir: dirOf(targetLang), class: 'target', lang: targetLang })
    : marked(m.target, [], { dir: dirOf(targetLang), class: 'target', lang: targetLang });
  const u = m.unit;
  const meta = [
    [t('field.memory'), u.memory],
    [t('field.created_by'), u.changed_by || u.created_by],
    [t('field.when'), date(u.changed_at_ms || u.created_at_ms, document.documentElement.lang)],
    [t('field.domain'), u.domain],
    [t('field.document'), u.source_document],
  ].filter(([, v]) => v);
  const copyButton = h('button', { type: 'button', class: 'copy', onclick: () => copyMatch(i, app) }, t('lookup.copy'));
  return h('article', { class: `match ${band(m.score)}`, tabindex: 0, 'data-index': i, 'data-unit': u.id, onfocus: () => { selected = i; mark(); } },
    h('div', { class: 'match-head' },
      h('span', { class: 'score', title: t('lookup.score') }, String(m.score)),
      h('dl', { class: 'meta' }, meta.map(([k, v]) => [h('dt', {}, k), h('dd', {}, h('bdi', { dir: 'auto' }, v))])),
      h('a', { href: `#/units/${u.id}`, class: 'open', title: t('lookup.open_title') }, app.canWrite(u.memory) ? t('lookup.fix') : t('units.open')),
      copyButton),
    h('div', { class: 'pair' },
      h('div', { class: 'side' }, h('span', { class: 'label' }, t('lookup.source')),
        marked(m.source, rangesOf('source', SOURCE_KINDS), { dir: dirOf(m.lang), class: 'source', lang: m.lang })),
      h('div', { class: 'side' }, h('span', { class: 'label' }, m.repaired ? t('lookup.repaired_target') : t('lookup.target')), target)),
    h('div', { class: 'side query-diff' }, h('span', { class: 'label' }, t('lookup.your_text')),
      marked(lastText(), rangesOf('query', QUERY_KINDS), { dir: dirOf(m.lang), class: 'query', lang: m.lang })),
    m.penalties.length ? h('ul', { class: 'penalties' }, m.penalties.map((p) => h('li', { 'data-kind': p.kind }, h('b', {}, `−${p.points}`), ' ', h('bdi', { dir: 'auto' }, p.reason)))) : null,
    m.warnings.length ? h('ul', { class: 'warnings' }, m.warnings.map((w) => h('li', { 'data-kind': w.kind }, '⚠ ', h('bdi', { dir: 'auto' }, w.message)))) : null);
}

function lastText() {
  return last.asked;
}

function cards() {
  return Array.from(document.querySelectorAll('#matches .match'));
}

function mark() {
  cards().forEach((c, i) => c.classList.toggle('selected', i === selected));
}

function choose(i) {
  const all = cards();
  if (!all.length) return;
  selected = Math.max(0, Math.min(all.length - 1, i));
  all[selected].focus();
  mark();
}

async function copyMatch(i, app) {
  const m = last.result?.matches[i];
  if (!m) return;
  const text = m.repaired ? m.repaired.text : m.target;
  await copy(text);
  app.say(t('lookup.copied', { text }));
}

document.addEventListener('keydown', (event) => {
  if (document.getElementById('view')?.dataset.screen !== 'lookup' || typing(event)) return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === 'ArrowDown' || event.key === 'j') {
    event.preventDefault();
    choose(selected + 1);
  } else if (event.key === 'ArrowUp' || event.key === 'k') {
    event.preventDefault();
    choose(selected - 1);
  } else if (event.key === 'c') {
    event.preventDefault();
    copyMatch(selected, appRef);
  }
});
