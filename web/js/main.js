// The app: the session (who the key is, which memories it may read and
// write), the screens by URL fragment (#/lookup, #/memories/NAME…), the
// key prompt, the interface language, and the keyboard shortcuts.

import * as api from './api.js';
import { h, replace, typing } from './dom.js';
import { t, uiLang, setUiLang, translatePage } from './i18n.js';
import * as lookup from './lookup.js';
import * as concordance from './concordance.js';
import * as memories from './memories.js';
import * as importer from './import.js';
import * as analyze from './analyze.js';

const screens = { lookup, concordance, memories, units: memories, import: importer, analyze };

export const app = {
  /** GET session: {key, memories: [{name, units, write, admin}], write_everywhere, admin_everywhere}. */
  session: null,
  /** Memories the key may write to. */
  writable() {
    return (this.session?.memories || []).filter((m) => m.write);
  },
  canWrite(memory) {
    return Boolean(this.session?.write_everywhere || this.session?.memories.find((m) => m.name === memory)?.write);
  },
  canAdmin(memory) {
    return Boolean(this.session?.admin_everywhere || this.session?.memories.find((m) => m.name === memory)?.admin);
  },
  /** A message in the status line. */
  say(message, kind = 'info') {
    const status = document.getElementById('status');
    status.textContent = message;
    status.className = `status ${kind}`;
  },
  /** An error in the status line, naming its field. */
  fail(err) {
    this.say(err.message || String(err), 'error');
  },
  async refresh() {
    try {
      this.session = await api.call('GET', 'session');
      showWho();
      return true;
    } catch (err) {
      if (err.status !== 401) this.fail(err);
      return false;
    }
  },
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
};

function showWho() {
  const who = document.getElementById('who');
  who.textContent = app.session?.key ? t('key.as', { name: app.session.key }) : '';
}

async function route() {
  const view = document.getElementById('view');
  const [name, ...args] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const screen = screens[name] ? name : 'lookup';
  document.querySelectorAll('#nav a').forEach((a) => {
    const current = a.dataset.screen === screen || (screen === 'units' && a.dataset.screen === 'memories');
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  if (!app.session) {
    replace(view, h('p', { class: 'muted' }, t('session.needed')));
    return;
  }
  view.dataset.screen = screen;
  try {
    await screens[screen].render(view, app, name === 'units' ? ['unit', ...args] : args);
  } catch (err) {
    app.fail(err);
  }
}

// The key prompt: shown when the server refuses the request for want of a
// (good) key.
function askKey(message) {
  const dialog = document.getElementById('key-dialog');
  document.getElementById('key-error').textContent = api.key() ? message : '';
  if (!dialog.open) dialog.showModal();
  document.getElementById('key-input').focus();
}

async function useKey(event) {
  event.preventDefault();
  const input = document.getElementById('key-input');
  api.setKey(input.value.trim());
  input.value = '';
  document.getElementById('key-dialog').close();
  if (await app.refresh()) route();
}

function switchLanguage() {
  setUiLang(uiLang() === 'ar' ? 'en' : 'ar');
  applyLanguage();
  route();
}

function applyLanguage() {
  const lang = uiLang();
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === 'ar' ? 'rtl' : 'ltr';
  translatePage(document);
  const toggle = document.getElementById('ui-lang');
  toggle.textContent = lang === 'ar' ? 'English' : 'العربية';
  toggle.lang = lang === 'ar' ? 'en' : 'ar';
  showWho();
}


function shortcuts(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey) return;
  // "/": the current screen's main box.
  if (event.key === '/' && !typing(event)) {
    const box = document.querySelector('#view [data-box]');
    if (box) {
      event.preventDefault();
      box.focus();
      box.select?.();
    }
  }
  // Alt+1…5: the screens.
  if (event.altKey && /^[1-5]$/.test(event.key)) {
    const link = document.querySelectorAll('#nav a')[Number(event.key) - 1];
    if (link) {
      event.preventDefault();
      location.hash = link.getAttribute('href');
    }
  }
}

async function start() {
  applyLanguage();
  api.onRefused(askKey);
  document.getElementById('key-form').addEventListener('submit', useKey);
  document.getElementById('key-button').addEventListener('click', () => askKey(''));
  document.getElementById('key-forget').addEventListener('click', () => {
    api.setKey('');
    app.session = null;
    showWho();
    document.getElementById('key-dialog').close();
    askKey('');
    route();
  });
  document.getElementById('ui-lang').addEventListener('click', switchLanguage);
  document.addEventListener('keydown', shortcuts);
  window.addEventListener('hashchange', route);
  await app.refresh();
  route();
}

start();
