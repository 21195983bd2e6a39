// Import a TMX, TSV or CSV file (chosen, or dropped on the page) into a
// memory, with a live progress bar (bytes, units read, stored, rejected)
// from the server's progress events, the summary at the end and the
// rejected units to download; export memories as TMX.

import * as api from './api.js';
import { h, replace, download, memoryPicker } from './dom.js';
import { t } from './i18n.js';
import { exportMemories } from './memories.js';

export function render(view, app) {
  const parts = [h('h1', {}, t('nav.import'))];
  const canImport = app.session.write_everywhere || app.writable().length > 0;
  if (canImport) parts.push(importForm(app));
  else parts.push(h('p', { class: 'muted', id: 'no-import' }, t('import.not_allowed')));
  parts.push(exportForm(app));
  replace(view, parts);
}

function importForm(app) {
  const names = h('datalist', { id: 'memory-names' }, app.writable().map((m) => h('option', { value: m.name })));
  const memory = h('input', { id: 'import-memory', list: 'memory-names', dir: 'auto', required: !app.session.write_everywhere, placeholder: t('import.memory_hint') });
  const policy = h('select', { id: 'import-policy' },
    h('option', { value: 'add' }, t('policy.add')), h('option', { value: 'overwrite' }, t('policy.overwrite')), h('option', { value: 'keep_newest' }, t('policy.keep_newest')));
  const input = h('input', { type: 'file', id: 'import-file', accept: '.tmx,.xml,.tsv,.txt,.csv' });
  const drop = h('div', { id: 'drop-zone', class: 'drop', tabindex: 0 }, t('import.drop'));
  const bar = h('progress', { id: 'import-progress', max: 1, value: 0 });
  const counts = h('p', { id: 'import-counts', class: 'counts' });
  const result = h('section', { id: 'import-result' });
  let file = null;

  const choose = (f) => {
    file = f;
    drop.textContent = f ? t('import.chosen', { name: f.name, kb: Math.ceil(f.size / 1024) }) : t('import.drop');
  };
  input.addEventListener('change', () => choose(input.files[0] || null));
  drop.addEventListener('click', () => input.click());
  drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); input.click(); } });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files.length) choose(e.dataTransfer.files[0]);
  });

  async function run(e) {
    e.preventDefault();
    if (!file) {
      app.say(t('import.no_file'), 'error');
      return;
    }
    const format = (file.name.split('.').pop() || '').toLowerCase();
    const query = new URLSearchParams({ memory: memory.value.trim(), policy: policy.value, name: file.name, format: ['tmx', 'xml', 'tsv', 'txt', 'csv'].includes(format) ? format : '' });
    result.replaceChildren();
    bar.value = 0;
    bar.max = file.size || 1;
    counts.textContent = t('import.sending');
    let events = 0;
    try {
      await api.upload(`import?${query}`, file, (event) => {
        events += 1;
        if (event.progress) {
          const p = event.progress;
          bar.max = p.total_bytes || 1;
          bar.value = p.bytes;
          bar.dataset.events = String(events);
          counts.textContent = t('import.progress', p);
        } else if (event.summary) {
          bar.value = bar.max;
          summary(result, event.summary, event.rejected_tmx, file.name);
          app.say(t('import.done', event.summary), event.summary.rejected ? 'warn' : 'ok');
        } else if (event.error) {
          app.say(event.error, 'error');
          result.append(h('p', { class: 'error', id: 'import-error' }, event.error));
        }
      });
      // The memories' counts changed, and maybe their list.
      await app.refresh();
      document.getElementById('export-form')?.replaceWith(exportForm(app));
    } catch (err) {
      app.fail(err);
      result.append(h('p', { class: 'error', id: 'import-error' }, err.message));
    }
  }

  return h('form', { id: 'import-form', class: 'card', onsubmit: run },
    h('h2', {}, t('import.title')),
    names,
    h('div', { class: 'row' }, h('label', {}, t('field.memory'), ' ', memory), h('label', {}, t('field.policy'), ' ', policy)),
    drop, input,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', id: 'import-go' }, t('import.go'))),
    bar, counts, result);
}

function summary(into, s, rejectedTmx, name) {
  const rows = [['read', s.read], ['added', s.added], ['updated', s.updated], ['duplicates', s.duplicates], ['rejected', s.rejected]];
  into.append(h('table', { id: 'import-summary', class: 'summary' },
    h('tbody', {}, rows.map(([k, v]) => h('tr', { 'data-count': k }, h('th', {}, t(`import.${k}`)), h('td', { class: 'num' }, String(v)))))));
  if (s.stopped) into.append(h('p', { class: 'error', id: 'import-stopped' }, h('bdi', { dir: 'auto' }, s.stopped)));
  if (s.rejections.length) {
    into.append(h('h3', {}, t('import.rejections')),
      h('ul', { id: 'rejections' }, s.rejections.map((r) => h('li', {}, t('import.line', { line: r.line }), ' ', r.tuid ? h('code', {}, r.tuid) : null, ' ', h('bdi', { dir: 'auto' }, r.reason)))));
    const list = s.rejections.map((r) => `${r.line}\t${r.tuid}\t${r.reason.replace(/[\t\n]/g, ' ')}`).join('\n');
    const stem = name.replace(/\.[^.]*$/, '');
    const buttons = h('div', { class: 'row' });
    if (rejectedTmx) {
      buttons.append(h('button', { type: 'button', id: 'download-rejected', onclick: () => download(new Blob([rejectedTmx], { type: 'application/x-tmx+xml' }), `${stem}.rejected.tmx`) }, t('import.download_rejected')));
    }
    buttons.append(h('button', { type: 'button', id: 'download-reasons', onclick: () => download(new Blob([`line\ttuid\treason\n${list}\n`], { type: 'text/tab-separated-values' }), `${stem}.rejected.tsv`) }, t('import.download_reasons')));
    into.append(buttons);
  }
}

function exportForm(app) {
  const picker = memoryPicker(app.session.memories, 'export-memory', t);
  return h('form', { id: 'export-form', class: 'card', onsubmit: (e) => {
    e.preventDefault();
    const chosen = picker.chosen();
    exportMemories(app, chosen);
  } }, h('h2', {}, t('export.title')), h('p', { class: 'muted' }, t('export.explain')), picker,
  h('button', { type: 'submit', class: 'primary', id: 'export-go' }, t('export.go')));
}
