// Analyze an article: its segments with their best matches, the words per
// match band as a table and a bar chart (SVG), and the pretranslation to
// download.

import * as api from './api.js';
import { h, replace, svg, marked, band, dirOf, download, memoryPicker } from './dom.js';
import { t } from './i18n.js';

let last = { text: '', answer: null };

export function render(view, app) {
  const box = h('textarea', { id: 'article', 'data-box': true, dir: 'auto', rows: 8, placeholder: t('analyze.placeholder'), 'aria-label': t('analyze.text') });
  box.value = last.text;
  const lang = h('select', { id: 'analyze-lang', 'aria-label': t('field.lang') },
    h('option', { value: '' }, t('lang.auto')), h('option', { value: 'ar' }, t('lang.ar')), h('option', { value: 'en' }, t('lang.en')));
  const minScore = h('input', { id: 'analyze-min', type: 'number', min: 50, max: 101, value: 75 });
  const picker = memoryPicker(app.session.memories, 'analyze-memory', t);
  const out = h('section', { id: 'analysis' });
  const body = () => ({ text: box.value, lang: lang.value, memories: picker.chosen(), min_score: Number(minScore.value) || 75 });
  const run = async (e) => {
    e.preventDefault();
    last.text = box.value;
    if (!box.value.trim()) return;
    app.say(t('analyze.running'));
    try {
      last.answer = await api.call('POST', 'analyze', body());
      show(out, last.answer);
      app.say(t('analyze.done', { n: last.answer.total_segments, words: last.answer.total_words }), 'ok');
    } catch (err) {
      app.fail(err);
    }
  };
  const pretranslation = async () => {
    try {
      download(await api.fetchBlob('POST', 'pretranslate', body()), 'pretranslation.tsv');
    } catch (err) {
      app.fail(err);
    }
  };
  replace(view, h('h1', {}, t('nav.analyze')),
    h('form', { id: 'analyze-form', class: 'search', onsubmit: run }, box,
      h('div', { class: 'row options' }, h('label', {}, t('field.lang'), ' ', lang), h('label', {}, t('field.fill_from'), ' ', minScore),
        h('button', { type: 'submit', class: 'primary', id: 'analyze-go' }, t('analyze.go')),
        h('button', { type: 'button', id: 'pretranslate', onclick: pretranslation }, t('analyze.download'))),
      picker),
    out);
  if (last.answer) show(out, last.answer);
}

function show(out, a) {
  const percent = (words) => (a.total_words ? (100 * words) / a.total_words : 0);
  const table = h('table', { id: 'bands', class: 'summary' },
    h('thead', {}, h('tr', {}, h('th', {}, t('analyze.band')), h('th', {}, t('analyze.segments')), h('th', {}, t('analyze.words')), h('th', {}, '%'))),
    h('tbody', {}, a.bands.map((b) => h('tr', { 'data-band': b.name },
      h('th', {}, t(`bandname.${b.name}`)), h('td', { class: 'num' }, String(b.segments)), h('td', { class: 'num' }, String(b.words)), h('td', { class: 'num' }, percent(b.words).toFixed(1))))),
    h('tfoot', {}, h('tr', {}, h('th', {}, t('analyze.total')), h('td', { class: 'num', id: 'total-segments' }, String(a.total_segments)), h('td', { class: 'num', id: 'total-words' }, String(a.total_words)), h('td', { class: 'num' }, '100'))));
  const segments = h('ol', { id: 'segments', class: 'segments' }, a.segments.map((s) => {
    const best = s.best;
    const target = best ? (best.repaired ? best.repaired.text : best.target) : '';
    const other = best ? (best.lang === 'ar' ? 'en' : 'ar') : 'en';
    return h('li', { class: `segment ${best ? band(best.score) : 'band-none'}`, 'data-band': s.band },
      h('div', { class: 'side' }, h('bdi', { dir: 'auto' }, s.text)),
      best ? h('div', { class: 'side' }, h('span', { class: 'score' }, String(best.score)), ' ', marked(target, [], { dir: dirOf(other), lang: other, class: 'target' })) : h('div', { class: 'side muted' }, t('analyze.no_match')));
  }));
  replace(out, h('div', { class: 'analysis-top' }, table, chart(a)), h('h2', {}, t('analyze.segments')), segments);
}

/** Words per band as horizontal bars. */
function chart(a) {
  const width = 360;
  const row = 26;
  const label = 110;
  const max = Math.max(1, ...a.bands.map((b) => b.words));
  const rtl = document.documentElement.dir === 'rtl';
  const el = svg('svg', { id: 'band-chart', viewBox: `0 0 ${width} ${row * a.bands.length + 8}`, role: 'img', 'aria-label': t('analyze.chart') });
  a.bands.forEach((b, i) => {
    const y = 4 + i * row;
    const w = ((width - label - 50) * b.words) / max;
    const x = rtl ? width - label - w : label;
    el.append(
      svg('text', { x: rtl ? width - 4 : 4, y: y + 16, class: 'chart-label', 'text-anchor': rtl ? 'end' : 'start', text: t(`bandname.${b.name}`) }),
      svg('rect', { x, y: y + 3, width: Math.max(w, 0.5), height: row - 8, class: `bar bar-${b.name.replace(/[^a-z0-9]/g, '')}`, 'data-words': b.words }),
      svg('text', { x: rtl ? x - 4 : x + w + 4, y: y + 16, class: 'chart-value', 'text-anchor': rtl ? 'end' : 'start', text: String(b.words) }));
  });
  return el;
}
