// Memories and units: the memories with their counts; creating and
// deleting one (confirmed); a memory's units, newest first, and a search
// in them; one unit, its texts and metadata edited or the unit deleted
// (confirmed); conflicts (one source, several translations).

import * as api from './api.js';
import { h, replace, append, date, dirOf, download } from './dom.js';
import { t } from './i18n.js';
import * as concordance from './concordance.js';

export async function render(view, app, args) {
  if (args[0] === 'unit' && args[1]) return unitScreen(view, app, args[1]);
  if (args[0] && args[1] === 'conflicts') return conflictsScreen(view, app, args[0]);
  if (args[0]) return memoryScreen(view, app, args[0]);
  return listScreen(view, app);
}

function listScreen(view, app) {
  const rows = app.session.memories.map((m) => h('tr', { 'data-memory': m.name },
    h('td', {}, h('a', { href: `#/memories/${encodeURIComponent(m.name)}` }, h('bdi', { dir: 'auto' }, m.name))),
    h('td', { class: 'num' }, String(m.units)),
    h('td', {}, h('bdi', { dir: 'auto' }, m.description)),
    h('td', {}, m.admin ? h('button', { type: 'button', class: 'danger delete-memory', onclick: () => deleteMemory(app, m) }, t('memories.delete')) : null)));
  const table = h('table', { id: 'memory-table' },
    h('thead', {}, h('tr', {}, h('th', {}, t('field.memory')), h('th', {}, t('memories.units')), h('th', {}, t('field.description')), h('th', {}))),
    h('tbody', {}, rows));
  const parts = [h('h1', {}, t('nav.memories')), app.session.memories.length ? table : h('p', { class: 'muted' }, t('memories.none'))];
  if (app.session.admin_everywhere) {
    const name = h('input', { id: 'new-memory-name', required: true, dir: 'auto', pattern: '[^/]+' });
    const description = h('input', { id: 'new-memory-description', dir: 'auto' });
    parts.push(h('form', { id: 'create-memory', class: 'row card', onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api.call('POST', 'memories', { name: name.value.trim(), description: description.value });
        app.say(t('memories.created', { name: name.value.trim() }), 'ok');
        await app.refresh();
        listScreen(view, app);
      } catch (err) {
        app.fail(err);
      }
    } }, h('h2', {}, t('memories.new')), h('label', {}, t('field.memory'), ' ', name), h('label', {}, t('field.description'), ' ', description),
    h('button', { type: 'submit', class: 'primary' }, t('memories.create'))));
  }
  replace(view, parts);
}

async function deleteMemory(app, m) {
  if (!window.confirm(t('memories.confirm_delete', { name: m.name, n: m.units }))) return;
  try {
    const answer = await api.call('DELETE', `memories/${encodeURIComponent(m.name)}`);
    app.say(t('memories.deleted', { name: m.name, n: answer.deleted_units }), 'ok');
    await app.refresh();
    app.go('#/memories');
  } catch (err) {
    app.fail(err);
  }
}

function unitRow(u) {
  return h('tr', { 'data-unit': u.id },
    h('td', { lang: 'ar', dir: 'rtl' }, h('bdi', { dir: 'rtl' }, u.arabic)),
    h('td', { lang: 'en', dir: 'ltr' }, h('bdi', { dir: 'ltr' }, u.english)),
    h('td', { class: 'muted' }, date(u.changed_at_ms || u.created_at_ms, document.documentElement.lang)),
    h('td', {}, h('a', { href: `#/units/${u.id}`, class: 'open' }, t('units.open'))));
}

async function memoryScreen(view, app, name) {
  const body = h('tbody', {});
  const table = h('table', { id: 'unit-table' },
    h('thead', {}, h('tr', {}, h('th', {}, t('lang.ar')), h('th', {}, t('lang.en')), h('th', {}, t('field.when')), h('th', {}))), body);
  const older = h('button', { type: 'button', id: 'units-older', class: 'hidden' }, t('units.older'));
  let before = '';
  async function page() {
    try {
      const answer = await api.call('GET', `memories/${encodeURIComponent(name)}/units?limit=50${before ? `&before=${before}` : ''}`);
      append(body, answer.units.map(unitRow));
      before = answer.next_before || '';
      older.classList.toggle('hidden', !before);
    } catch (err) {
      app.fail(err);
    }
  }
  older.addEventListener('click', page);
  const search = h('section', { id: 'memory-search', class: 'card' }, h('h2', {}, t('units.search')));
  const memory = app.session.memories.find((m) => m.name === name);
  replace(view,
    h('p', {}, h('a', { href: '#/memories' }, t('nav.memories'))),
    h('h1', {}, h('bdi', { dir: 'auto' }, name), ' ', h('span', { class: 'muted' }, memory ? t('memories.count', { n: memory.units }) : '')),
    h('p', { class: 'row' },
      h('a', { href: `#/memories/${encodeURIComponent(name)}/conflicts`, id: 'conflicts-link' }, t('conflicts.title')),
      h('button', { type: 'button', id: 'export-one', onclick: () => exportMemories(app, [name]) }, t('export.go'))),
    search, h('h2', {}, t('units.newest')), table, older);
  concordance.render(view, app, [], { memory: name, into: search });
  await page();
}

export async function exportMemories(app, names) {
  try {
    const query = names.map((n) => `memory=${encodeURIComponent(n)}`).join('&');
    const blob = await api.fetchBlob('GET', `export?${query}`);
    download(blob, names.length === 1 ? `${names[0]}.tmx` : 'dhakira.tmx');
    app.say(t('export.done', { bytes: blob.size }), 'ok');
  } catch (err) {
    app.fail(err);
  }
}

const FIELDS = ['arabic', 'english', 'domain', 'client', 'project', 'created_by', 'source_document', 'note'];

async function unitScreen(view, app, id) {
  let unit;
  try {
    unit = await api.call('GET', `units/${encodeURIComponent(id)}`);
  } catch (err) {
    replace(view, h('p', { class: 'error', id: 'unit-error' }, err.message));
    return;
  }
  const writable = app.canWrite(unit.memory);
  const inputs = {};
  const rows = FIELDS.map((field) => {
    const text = field === 'arabic' || field === 'english' || field === 'note';
    const lang = field === 'arabic' ? 'ar' : field === 'english' ? 'en' : null;
    const input = h(text ? 'textarea' : 'input', { id: `unit-${field}`, name: field, dir: lang ? dirOf(lang) : 'auto', lang, rows: text ? 3 : undefined, readonly: !writable });
    input.value = unit[field] || '';
    inputs[field] = input;
    return h('label', { class: 'field' }, h('span', {}, t(`field.${field}`)), input);
  });
  const save = async (e) => {
    e.preventDefault();
    const fields = {};
    for (const f of FIELDS) if (inputs[f].value !== (unit[f] || '')) fields[f] = inputs[f].value;
    if (!Object.keys(fields).length) {
      app.say(t('units.unchanged'));
      return;
    }
    try {
      unit = await api.call('PATCH', `units/${unit.id}`, { fields });
      app.say(t('units.saved', { id: unit.id }), 'ok');
      unitScreen(view, app, unit.id);
    } catch (err) {
      app.fail(err);
      inputs[err.field?.replace(/^(fields|unit)\./, '')]?.focus();
    }
  };
  const remove = async () => {
    if (!window.confirm(t('units.confirm_delete'))) return;
    try {
      await api.call('DELETE', `units/${unit.id}`);
      app.say(t('units.deleted', { id: unit.id }), 'ok');
      await app.refresh();
      app.go(`#/memories/${encodeURIComponent(unit.memory)}`);
    } catch (err) {
      app.fail(err);
    }
  };
  replace(view,
    h('p', {}, h('a', { href: `#/memories/${encodeURIComponent(unit.memory)}` }, h('bdi', { dir: 'auto' }, unit.memory))),
    h('h1', {}, t('units.title', { id: unit.id })),
    h('form', { id: 'unit-form', class: 'card unit-form', onsubmit: save }, rows,
      h('p', { class: 'muted' }, t('units.info', {
        created: date(unit.created_at_ms, document.documentElement.lang),
        changed: date(unit.changed_at_ms, document.documentElement.lang) || '—',
        uses: unit.usage_count,
      })),
      writable ? h('div', { class: 'row' },
        h('button', { type: 'submit', class: 'primary', id: 'unit-save' }, t('units.save')),
        h('button', { type: 'button', class: 'danger', id: 'unit-delete', onclick: remove }, t('units.delete'))) : h('p', { class: 'muted', id: 'read-only' }, t('units.read_only'))));
}

async function conflictsScreen(view, app, name) {
  const answer = await api.call('GET', `conflicts?memory=${encodeURIComponent(name)}`);
  const groups = answer.conflicts.map((c) => {
    const source = c.lang === 'ar' ? 'arabic' : 'english';
    const target = c.lang === 'ar' ? 'english' : 'arabic';
    const other = c.lang === 'ar' ? 'en' : 'ar';
    return h('article', { class: 'card conflict' },
      h('h3', { dir: dirOf(c.lang), lang: c.lang }, h('bdi', {}, c.units[0][source])),
      h('ul', {}, c.units.map((u) => h('li', { 'data-unit': u.id },
        h('bdi', { dir: dirOf(other), lang: other }, u[target]), ' ',
        h('span', { class: 'muted' }, date(u.changed_at_ms || u.created_at_ms, document.documentElement.lang)), ' ',
        h('a', { href: `#/units/${u.id}`, class: 'open' }, app.canWrite(u.memory) ? t('conflicts.resolve') : t('units.open'))))));
  });
  replace(view,
    h('p', {}, h('a', { href: `#/memories/${encodeURIComponent(name)}` }, h('bdi', { dir: 'auto' }, name))),
    h('h1', {}, t('conflicts.title')),
    h('p', { class: 'muted' }, t('conflicts.explain', { n: answer.total })),
    groups.length ? groups : h('p', { class: 'muted', id: 'no-conflicts' }, t('conflicts.none')));
}
