// The wallet page: set the wallet up with a passphrase, unlock and lock
// it, make or import keys (the CLI's key files), label, export and remove
// them, and choose the account the other pages act for.

import { MIN_PASSPHRASE, WalletError } from '../wallet.js';
import { h, fill, readFile, short } from '../dom.js';
import { t } from '../i18n.js';
import { busy, errorBox, showError, unlockForm } from './common.js';

export function render(app, _params, signal) {
  const root = h('div', { id: 'wallet-page' });
  const draw = () => fill(root, page(app));
  const off = app.wallet?.onChange(draw);
  signal.addEventListener('abort', () => off?.());
  draw();
  return root;
}

function page(app) {
  if (!app.wallet) {
    return h('section', { class: 'card' }, h('p', { class: 'error' }, t('wallet.unavailable', { message: app.walletError ?? '' })));
  }
  if (!app.wallet.exists) return createCard(app);
  const out = [lockCard(app), accountsCard(app)];
  if (app.wallet.unlocked) out.push(newKeyCard(app), importCard(app));
  return out;
}

function createCard(app) {
  const p1 = h('input', { type: 'password', id: 'new-passphrase', autocomplete: 'new-password', minlength: MIN_PASSPHRASE, required: true });
  const p2 = h('input', { type: 'password', id: 'new-passphrase2', autocomplete: 'new-password', required: true });
  const err = errorBox('wallet-error');
  const button = h('button', { type: 'submit', id: 'create-wallet' }, t('wallet.create'));
  return h('section', { class: 'card', id: 'wallet-create' },
    h('h2', {}, t('wallet.title')),
    h('p', {}, t('wallet.intro')),
    h('form', {
      onsubmit: async (ev) => {
        ev.preventDefault();
        await busy(button, err, async () => {
          if (p1.value !== p2.value) throw new Error(t('wallet.mismatch'));
          await app.wallet.create(p1.value);
        });
      },
    },
    h('label', {}, t('wallet.newPassphrase', { min: MIN_PASSPHRASE }), p1),
    h('label', {}, t('wallet.repeatPassphrase'), p2),
    h('div', { class: 'row' }, button, h('span', { class: 'muted' }, t('wallet.kdfNote'))),
    err));
}

function lockCard(app) {
  if (!app.wallet.unlocked) {
    return h('section', { class: 'card', id: 'wallet-locked' },
      h('h2', {}, t('wallet.title')),
      h('p', {}, t('wallet.lockedIntro')),
      unlockForm(app, null));
  }
  return h('section', { class: 'card row', id: 'wallet-unlocked' },
    h('span', { class: 'badge verified' }, t('wallet.unlocked')),
    h('span', { class: 'muted' }, t('wallet.autoLock')),
    h('button', { type: 'button', id: 'lock', class: 'secondary', onclick: () => app.wallet.lock() }, t('wallet.lock')));
}

function accountsCard(app) {
  const list = h('ul', { class: 'accounts', id: 'accounts' }, h('li', { class: 'muted' }, '…'));
  const err = errorBox('accounts-error');
  app.wallet.accounts().then((accts) => {
    if (accts.length === 0) {
      fill(list, h('li', { class: 'muted' }, t('wallet.noAccounts')));
      return;
    }
    if (!accts.some((a) => a.public === app.current)) app.current = accts[0].public;
    fill(list, accts.map((a) => accountItem(app, a, err)));
  }, (e) => showError(err, e));
  return h('section', { class: 'card' }, h('h3', {}, t('wallet.accounts')), list, err);
}

function accountItem(app, a, err) {
  const current = a.public === app.current;
  const exportButton = h('button', {
    type: 'button', class: 'secondary export', disabled: !app.wallet.unlocked,
    onclick: () => busy(exportButton, err, async () => download(`${a.label || short(a.id)}.json`, await app.wallet.exportKeyFile(a.public))),
  }, t('wallet.export'));
  const removeButton = h('button', {
    type: 'button', class: 'danger remove', disabled: !app.wallet.unlocked,
    onclick: () => busy(removeButton, err, async () => {
      if (removeButton.dataset.armed !== 'yes') { // a second click removes
        removeButton.dataset.armed = 'yes';
        fill(removeButton, t('wallet.removeConfirm'));
        return;
      }
      await app.wallet.remove(a.public);
      if (app.current === a.public) app.current = null;
    }),
  }, t('wallet.remove'));
  const renameInput = h('input', { value: a.label, maxlength: 64, class: 'rename-input' });
  return h('li', { class: `account${current ? ' current' : ''}`, data: { public: a.public, id: a.id } },
    h('div', { class: 'row' },
      h('span', { class: 'label' }, a.label || t('wallet.unlabelled')),
      current ? h('span', { class: 'badge pending' }, t('wallet.current')) : null),
    h('div', { class: 'mono' }, t('wallet.publicKey'), ': ', a.public),
    h('div', { class: 'mono muted' }, t('wallet.id'), ': ', a.id),
    h('div', { class: 'row' },
      h('a', { href: `#/account/${a.public}`, class: 'view', onclick: () => { app.current = a.public; } }, t('wallet.view')),
      h('a', { href: `#/transfer?from=${a.public}`, class: 'send', onclick: () => { app.current = a.public; } }, t('wallet.send')),
      current ? null : h('button', { type: 'button', class: 'secondary use', onclick: () => { app.current = a.public; app.refresh(); } }, t('wallet.use')),
      exportButton, removeButton),
    h('details', {}, h('summary', {}, t('wallet.rename')),
      h('form', {
        class: 'row',
        onsubmit: (ev) => {
          ev.preventDefault();
          app.wallet.rename(a.public, renameInput.value).catch((e) => showError(err, e));
        },
      }, renameInput, h('button', { type: 'submit' }, t('wallet.save')))));
}

function newKeyCard(app) {
  const label = h('input', { id: 'new-label', maxlength: 64, placeholder: t('wallet.labelPlaceholder') });
  const err = errorBox('new-error');
  const button = h('button', { type: 'submit', id: 'generate' }, t('wallet.generate'));
  return h('section', { class: 'card' },
    h('h3', {}, t('wallet.newKey')),
    h('form', {
      onsubmit: async (ev) => {
        ev.preventDefault();
        await busy(button, err, async () => {
          const a = await app.wallet.generate(label.value);
          app.current = a.public;
        });
      },
    }, h('label', {}, t('wallet.label'), label), h('div', { class: 'row' }, button), err));
}

function importCard(app) {
  const file = h('input', { type: 'file', id: 'import-file', accept: '.json,application/json' });
  const text = h('textarea', { id: 'import-text', placeholder: '{"seed": "…", "public": "…"}', spellcheck: 'false' });
  const label = h('input', { id: 'import-label', maxlength: 64, placeholder: t('wallet.labelPlaceholder') });
  const err = errorBox('import-error');
  const done = h('p', { id: 'import-done', class: 'done', hidden: true });
  const button = h('button', { type: 'submit', id: 'import' }, t('wallet.import'));
  return h('section', { class: 'card' },
    h('h3', {}, t('wallet.importTitle')),
    h('p', { class: 'muted' }, t('wallet.importIntro')),
    h('form', {
      onsubmit: async (ev) => {
        ev.preventDefault();
        done.hidden = true;
        await busy(button, err, async () => {
          const fromFile = await readFile(file.files?.[0]);
          const content = fromFile ?? text.value;
          if (!content.trim()) throw new WalletError('bad_key_file', t('wallet.importNothing'));
          const name = label.value || (file.files?.[0]?.name ?? '').replace(/\.json$/i, '');
          const a = await app.wallet.importKeyFile(content, name);
          app.current = a.public;
        });
      },
    },
    h('label', {}, t('wallet.importFile'), file),
    h('label', {}, t('wallet.importPaste'), text),
    h('label', {}, t('wallet.label'), label),
    h('div', { class: 'row' }, button), err, done));
}

/** Offers text as a file download. */
function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
