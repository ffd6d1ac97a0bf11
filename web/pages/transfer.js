// The transfer page: the sender's half of the two-party flow. The sender
// chooses one of the wallet's accounts, the recipient's public key, the
// amount and a memo; the page reads the sender's verified account for its
// lowest unused nonce, builds the transfer (tx.js), signs it with the
// wallet's key, and gives a link (#cosign=<hex>) or the hex for the
// recipient, who cosigns it on the cosign page; either then submits.

import { toHex } from '../light/bytes.js';
import { weakKeyReason } from '../light/ed25519.js';
import { MAX_MEMO, TxError, addSignature, encode, transfer } from '../tx.js';
import { nextNonce, reserve, reserved } from '../nonces.js';
import { h, fill, amount, short } from '../dom.js';
import { lang, t } from '../i18n.js';
import { busy, errorBox, failureBadge, showError, verifiedBadge } from './common.js';
import { loadVerified, offlineBadge, saveVerified, unreachable } from '../offline.js';
import { section as outboxSection } from './outbox.js';

export function render(app, [query], signal) {
  const root = h('div', { id: 'transfer-page' });
  draw(app, root, new URLSearchParams(query ?? ''), signal);
  return root;
}

/** The link that opens the cosign page for a transaction's bytes. */
export function cosignLink(bytes) {
  return `${location.origin}${location.pathname}#cosign=${toHex(bytes)}`;
}

async function draw(app, root, params, signal) {
  const accts = app.wallet ? await app.wallet.accounts().catch(() => []) : [];
  if (signal.aborted) return;
  if (accts.length === 0) {
    fill(root, h('section', { class: 'card', id: 'transfer' }, h('h2', {}, t('transfer.title')),
      h('p', {}, t('transfer.noAccounts'), ' ', h('a', { href: '#/wallet' }, t('nav.wallet')))));
    return;
  }
  if (!app.client) {
    fill(root, h('section', { class: 'card', id: 'transfer' }, h('p', { class: 'error' }, t('noGenesis', { why: app.genesisError ?? '' }))));
    return;
  }
  const chainID = app.client.chainID;
  const want = (params.get('from') ?? app.current ?? '').toLowerCase();
  const from = h('select', { id: 'from' }, accts.map((a) => h('option', { value: a.public, selected: a.public === want },
    `${a.label || short(a.id)} · ${short(a.public)}`)));
  const fromState = h('div', { id: 'from-state', class: 'row' });
  const to = h('input', { id: 'to', list: 'to-list', required: true, spellcheck: 'false', autocomplete: 'off', placeholder: t('transfer.toPlaceholder'), value: params.get('to') ?? '' });
  const toList = h('datalist', { id: 'to-list' }, accts.map((a) => h('option', { value: a.public }, a.label || short(a.id))));
  const amountIn = h('input', { id: 'amount', required: true, inputmode: 'numeric', pattern: '[0-9]+', autocomplete: 'off' });
  const memo = h('input', { id: 'memo', autocomplete: 'off', placeholder: t('transfer.memoPlaceholder', { max: MAX_MEMO }) });
  const nonce = h('input', { id: 'nonce', inputmode: 'numeric', pattern: '[0-9]+', autocomplete: 'off' });
  const passphrase = h('input', { type: 'password', id: 'sign-passphrase', autocomplete: 'current-password' });
  const passLabel = h('label', { id: 'sign-unlock' }, t('transfer.passphrase'), passphrase);
  const err = errorBox('transfer-error');
  const button = h('button', { type: 'submit', id: 'sign' }, t('transfer.sign'));
  const result = h('section', { class: 'card', id: 'signed', hidden: true });

  const showLock = () => { passLabel.hidden = app.wallet.unlocked; };
  const off = app.wallet.onChange(showLock);
  signal.addEventListener('abort', off);
  showLock();

  const readSender = async () => {
    const pub = from.value;
    app.current = pub;
    nonce.value = '';
    fill(fromState, h('span', { class: 'muted' }, t('account.verifying')));
    // The nonces held: by transfers signed here, and by the outbox's.
    const held = async () => new Set([...reserved(chainID, pub), ...(await app.outbox?.heldNonces(pub) ?? [])]);
    const show = (r, badge, heldNow) => {
      const n = nextNonce(r.account, heldNow);
      nonce.value = n === null ? '' : n.toString();
      fill(fromState,
        h('span', {}, t('transfer.balance'), ' ', h('strong', { id: 'from-balance', data: { value: r.balance.toString() } }, amount(r.balance, lang()))),
        h('span', { class: 'muted' }, t('transfer.nextNonce', { nonce: n === null ? '—' : n.toString() })),
        badge);
      if (n === null) showError(err, new Error(t('transfer.noNonce')));
    };
    try {
      const r = await app.client.fetchAccount(app.remote, pub);
      saveVerified('account', pub, r, r.height, Number(r.time));
      const heldNow = await held();
      if (from.value !== pub || signal.aborted) return;
      show(r, verifiedBadge(r), heldNow);
    } catch (e) {
      // Offline: the nonce from the last verified state (the held ones skipped).
      const saved = unreachable(e) ? await loadVerified('account', pub) : null;
      const heldNow = saved ? await held() : null;
      if (from.value !== pub || signal.aborted) return;
      if (saved) show(saved.value, offlineBadge(saved), heldNow);
      else fill(fromState, failureBadge(e));
    }
  };
  from.addEventListener('change', readSender);

  const sign = async () => {
    const pub = from.value;
    const toKey = to.value.trim().toLowerCase();
    if (/^[0-9a-f]{40}$/.test(toKey)) throw new Error(t('transfer.toIsID'));
    if (!/^[0-9a-f]{64}$/.test(toKey)) throw new Error(t('transfer.toBad'));
    const weak = weakKeyReason(Uint8Array.from(toKey.match(/../g), (x) => parseInt(x, 16)));
    if (weak !== null) throw new TxError(weak);
    if (!/^[0-9]+$/.test(amountIn.value.trim())) throw new Error(t('transfer.amountBad'));
    if (!/^[0-9]+$/.test(nonce.value.trim())) throw new Error(t('transfer.nonceBad'));
    const tx = transfer({ sender: pub, nonce: nonce.value.trim(), to: toKey, amount: amountIn.value.trim(), memo: memo.value });
    if (!app.wallet.unlocked) {
      await app.wallet.unlock(passphrase.value);
      passphrase.value = '';
    }
    const signed = await addSignature(chainID, tx, pub, (m) => app.wallet.sign(pub, m));
    reserve(chainID, pub, signed.nonce);
    const bytes = encode(signed);
    const link = cosignLink(bytes);
    const recipient = accts.find((a) => a.public === toKey);
    result.hidden = false;
    fill(result,
      h('h3', {}, t('transfer.signedTitle')),
      h('p', {}, t('transfer.signedIntro', { amount: amount(signed.amount, lang()), nonce: signed.nonce.toString() })),
      h('p', {}, h('a', { id: 'cosign-link', href: link }, t('transfer.cosignLink'))),
      h('label', {}, t('transfer.cosignText'), h('textarea', { id: 'cosign-hex', readonly: true, rows: 4 }, toHex(bytes))),
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'secondary', onclick: () => navigator.clipboard?.writeText(link) }, t('transfer.copyLink')),
        recipient ? h('span', { class: 'muted' }, t('transfer.recipientHere', { label: recipient.label || short(recipient.id) })) : null));
    readSender(); // the next transfer takes the next nonce
  };

  fill(root,
    h('section', { class: 'card', id: 'transfer' },
      h('h2', {}, t('transfer.title')),
      h('p', { class: 'muted' }, t('transfer.intro')),
      h('form', {
        id: 'transfer-form',
        onsubmit: async (ev) => {
          ev.preventDefault();
          await busy(button, err, sign);
        },
      },
      h('label', {}, t('transfer.from'), from),
      fromState,
      h('label', {}, t('transfer.to'), to, toList),
      h('label', {}, t('transfer.amount'), amountIn),
      h('label', {}, t('transfer.memo'), memo),
      h('details', {}, h('summary', {}, t('transfer.advanced')), h('label', {}, t('transfer.nonce'), nonce)),
      passLabel,
      h('div', { class: 'row' }, button),
      err)),
    result,
    outboxSection(app, signal));
  readSender();
}
