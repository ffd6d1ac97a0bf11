// The account page: an account's balance, role, name and nonce, each read
// with its proof and verified in this browser by the light client, with
// the badge "verified at height H by nodes [..] of N". A proof that fails
// is shown as failed, never as data; a node that cannot be reached says
// so. The page reads again at every commit the node announces.

import { ProofError } from '../light.js';
import { h, fill, amount, short } from '../dom.js';
import { lang, t } from '../i18n.js';
import { errorText, failureBadge, readAgainOnCommit, verifiedBadge } from './common.js';
import { loadVerified, offlineBadge, saveVerified, unreachable } from '../offline.js';

/** After a commit at H, reads are retried until the proof is at H at least, this many times. */
const CATCH_UP_TRIES = 20;
/** While the node cannot be reached, reads are tried again after this long, doubling up to OFFLINE_RETRY_MAX_MS. */
const OFFLINE_RETRY_MS = 1_000;
const OFFLINE_RETRY_MAX_MS = 10_000;

export function render(app, [who], signal) {
  const root = h('div', { id: 'account-page' });
  draw(app, root, who?.toLowerCase() ?? null, signal);
  return root;
}

async function draw(app, root, who, signal) {
  const accts = app.wallet ? await app.wallet.accounts().catch(() => []) : [];
  if (signal.aborted) return;
  if (!who) who = accts.find((a) => a.public === app.current)?.public ?? accts[0]?.public ?? null;
  const mine = accts.find((a) => a.public === who || a.id === who) ?? null;
  if (mine) app.current = mine.public;
  const card = h('section', { class: 'card', id: 'account', data: { state: 'loading' } });
  fill(root, chooser(app, accts, who), card);
  if (!who) {
    card.dataset.state = 'none';
    fill(card, h('p', {}, t('account.none'), ' ', h('a', { href: '#/wallet' }, t('nav.wallet'))));
    return;
  }
  if (!app.client) {
    card.dataset.state = 'nogenesis';
    fill(card, h('p', { class: 'error' }, t('noGenesis', { why: app.genesisError ?? '' })));
    return;
  }
  let generation = 0;
  let wantHeight = 0;
  let tries = 0;
  let retryMs = OFFLINE_RETRY_MS;
  const read = async () => {
    const g = ++generation;
    let r;
    let err = null;
    try {
      r = await app.client.fetchAccount(app.remote, who);
    } catch (e) {
      err = e;
    }
    if (g !== generation || signal.aborted) return; // a later read is under way
    if (err && unreachable(err)) {
      // The last verified state, labelled as such; and a read again later.
      const saved = await loadVerified('account', who);
      if (g !== generation || signal.aborted) return;
      if (saved) showAccount(card, who, mine, saved.value, saved);
      else showFailure(card, who, mine, err);
      schedule(retryMs);
      retryMs = Math.min(retryMs * 2, OFFLINE_RETRY_MAX_MS);
      return;
    }
    if (err) {
      showFailure(card, who, mine, err);
      return;
    }
    retryMs = OFFLINE_RETRY_MS;
    saveVerified('account', who, r, r.height, Number(r.time));
    showAccount(card, who, mine, r);
    if (r.height < wantHeight && tries++ < CATCH_UP_TRIES) schedule(300);
  };
  const schedule = readAgainOnCommit(app, read, signal, (ev) => {
    wantHeight = Math.max(wantHeight, Number(ev.height));
    tries = 0;
  });
  fill(card, h('p', { class: 'muted' }, t('account.verifying')));
  await read();
}

function chooser(app, accts, who) {
  const select = h('select', {
    id: 'account-select',
    onchange: () => select.value && app.go(`#/account/${select.value}`),
  }, accts.some((a) => a.public === who || a.id === who) ? null : h('option', { value: '', selected: true }, '—'),
  accts.map((a) => h('option', { value: a.public, selected: a.public === who || a.id === who }, `${a.label || short(a.id)} · ${short(a.id)}`)));
  const input = h('input', { id: 'lookup', placeholder: t('account.lookupPlaceholder'), spellcheck: 'false', pattern: '[0-9a-fA-F]{40}|[0-9a-fA-F]{64}' });
  return h('section', { class: 'card row' },
    accts.length ? h('label', {}, t('account.mine'), select) : null,
    h('form', {
      class: 'row',
      onsubmit: (ev) => {
        ev.preventDefault();
        if (input.value.trim()) app.go(`#/account/${input.value.trim().toLowerCase()}`);
      },
    }, h('label', {}, t('account.lookup'), input), h('button', { type: 'submit', class: 'secondary' }, t('account.show'))));
}

function title(mine) {
  return h('h2', {}, mine?.label || t('account.title'));
}

function showFailure(card, who, mine, e) {
  card.dataset.state = e instanceof ProofError ? 'failed' : 'unreachable';
  fill(card, title(mine), h('div', {}, failureBadge(e)),
    h('p', { class: 'error', role: 'alert', id: 'account-error' }, errorText(e)),
    h('p', { class: 'mono muted' }, who));
}

/** An account verified now, or (offline: the saved record) the last one verified, labelled with its height and time. */
function showAccount(card, who, mine, r, offline = null) {
  const a = r.account;
  card.dataset.state = offline ? 'offline' : a ? 'verified' : 'absent';
  card.dataset.height = r.height;
  const flags = a ? [a.applying && t('account.applying'), a.frozen && t('account.frozen'), a.suspended && t('account.suspended')].filter(Boolean) : [];
  const id = r.key;
  fill(card,
    title(mine),
    h('div', {}, offline ? offlineBadge(offline) : verifiedBadge(r)),
    a === null
      ? h('p', { id: 'absent' }, t('account.absent', { height: r.height }))
      : h('div', {}, h('div', { class: 'muted' }, t('account.balance')),
        h('div', { class: 'big', id: 'balance', data: { value: r.balance.toString() } }, amount(r.balance, lang()))),
    h('dl', { class: 'fields' },
      a === null ? null : [
        h('dt', {}, t('account.name')), h('dd', { id: 'name' }, a.name || h('span', { class: 'muted' }, t('account.noName'))),
        h('dt', {}, t('account.role')), h('dd', { id: 'role', data: { value: a.role } }, t(`role.${a.role}`)),
        h('dt', {}, t('account.nonce')), h('dd', { id: 'nonce', data: { value: a.nonce.toString() } }, a.nonce.toString(),
          h('span', { class: 'muted' }, ` (${t('account.nonceNote')})`)),
        flags.length ? [h('dt', {}, t('account.flags')), h('dd', { id: 'flags' }, flags.join(', '))] : null,
      ],
      h('dt', {}, t('wallet.id')), h('dd', { class: 'mono' }, id),
      who.length === 64 ? [h('dt', {}, t('wallet.publicKey')), h('dd', { class: 'mono' }, who)] : null,
      h('dt', {}, t('account.stateRoot')), h('dd', { class: 'mono muted' }, short(r.stateRoot, 16))),
    mine ? h('div', { class: 'row' }, h('a', { href: `#/transfer?from=${mine.public}`, id: 'send-from' }, t('wallet.send'))) : null);
}
