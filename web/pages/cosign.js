// The cosign page (#cosign=<hex>): a transfer passed between its signers.
// It decodes the transaction and shows what is signed (from, to, amount,
// memo, nonce, with the verified names of both parties), checks the
// signatures it has for this network, lets the next signer sign with the
// wallet's key, and, once both have signed, lets either submit it: the
// node's refusal is shown with its reason at once; then "committed at
// height H" when the block comes (the commit events, or a poll), checked
// against the certified header; or a notice if it is not included in time.

import { toHex } from '../light/bytes.js';
import { checkSignatures, complete, decode, encode, hash, nextSigner, addSignature } from '../tx.js';
import { verifyInclusion } from '../node.js';
import { release } from '../nonces.js';
import { h, fill, amount, short } from '../dom.js';
import { lang, t } from '../i18n.js';
import { busy, errorBox, errorText, keyName, unlockForm } from './common.js';
import { cosignLink } from './transfer.js';
import { unreachable } from '../offline.js';

/** How long the page waits for a committed block to be certified, to check inclusion. */
const INCLUSION_TRIES = 40;
const INCLUSION_WAIT_MS = 250;

export function render(app, [hex], signal) {
  const root = h('div', { id: 'cosign-page' });
  draw(app, root, hex, signal).catch((e) => fill(root, h('section', { class: 'card' },
    h('p', { class: 'error', id: 'cosign-error', role: 'alert' }, errorText(e)))));
  return root;
}

async function draw(app, root, hex, signal) {
  const tx = decode(hex, { partial: true });
  if (!app.client) throw new Error(t('noGenesis', { why: app.genesisError ?? '' }));
  const chainID = app.client.chainID;
  const bad = await checkSignatures(chainID, tx);
  if (bad >= 0) throw new Error(t('cosign.badSignature', { n: bad + 1, chain: chainID }));
  const accts = app.wallet ? await app.wallet.accounts().catch(() => []) : [];
  if (signal.aborted) return;
  const from = toHex(tx.sender);
  const to = toHex(tx.to);
  const labelOf = (k) => accts.find((a) => a.public === k)?.label ?? '';
  const fromName = h('span', {}, keyName({ label: labelOf(from), key: from }));
  const toName = h('span', {}, keyName({ label: labelOf(to), key: to }));
  // The verified names of both parties, as they come.
  for (const [key, el] of [[from, fromName], [to, toName]]) {
    app.client.fetchAccount(app.remote, key).then((r) => {
      if (r.account?.name) fill(el, keyName({ label: labelOf(key), name: r.account.name, key }));
    }, () => {});
  }
  const memo = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(tx.memo);
  const done = complete(tx);
  const sigNote = done ? t('cosign.signedBoth') : t('cosign.signedSender');
  const view = h('section', { class: 'card', id: 'tx-view', data: { complete: done ? 'yes' : 'no' } },
    h('h2', {}, done ? t('cosign.titleComplete') : t('cosign.title')),
    h('dl', { class: 'fields' },
      h('dt', {}, t('transfer.from')), h('dd', { id: 'tx-from', data: { key: from } }, fromName),
      h('dt', {}, t('transfer.to')), h('dd', { id: 'tx-to', data: { key: to } }, toName),
      h('dt', {}, t('transfer.amount')), h('dd', { id: 'tx-amount', class: 'big', data: { value: tx.amount.toString() } }, amount(tx.amount, lang())),
      h('dt', {}, t('transfer.memo')), h('dd', { id: 'tx-memo' }, memo || h('span', { class: 'muted' }, t('cosign.noMemo'))),
      h('dt', {}, t('transfer.nonce')), h('dd', { id: 'tx-nonce' }, tx.nonce.toString()),
      h('dt', {}, t('cosign.signatures')), h('dd', { id: 'tx-signatures', data: { count: tx.sigs.length } }, sigNote),
      h('dt', {}, t('cosign.network')), h('dd', { class: 'mono' }, chainID),
      done ? [h('dt', {}, t('cosign.hash')), h('dd', { id: 'tx-hash', class: 'mono' }, await hash(tx))] : null));
  fill(root, view, done ? submitCard(app, tx, chainID, signal) : cosignCard(app, tx, chainID, accts));
}

function cosignCard(app, tx, chainID, accts) {
  const next = toHex(nextSigner(tx));
  const mine = accts.find((a) => a.public === next);
  const link = cosignLink(encode(tx));
  const share = [
    h('p', {}, h('a', { href: link, id: 'cosign-share' }, t('cosign.shareLink'))),
    h('textarea', { readonly: true, rows: 3, id: 'cosign-hex' }, toHex(encode(tx))),
  ];
  if (!mine) {
    return h('section', { class: 'card', id: 'cosign-wait' },
      h('p', { class: 'notice' }, t('cosign.notMine', { key: short(next, 12) })), share);
  }
  if (!app.wallet.unlocked) {
    return h('section', { class: 'card', id: 'cosign-unlock' },
      h('p', {}, t('cosign.unlockToSign', { label: mine.label || short(mine.id) })),
      unlockForm(app, () => app.refresh(), 'cosign-unlock'));
  }
  const err = errorBox('cosign-error');
  const button = h('button', {
    type: 'button', id: 'cosign',
    onclick: () => busy(button, err, async () => {
      const signed = await addSignature(chainID, tx, next, (m) => app.wallet.sign(next, m));
      history.replaceState(null, '', `#cosign=${toHex(encode(signed))}`);
      app.refresh();
    }),
  }, t('cosign.sign', { label: mine.label || short(mine.id) }));
  return h('section', { class: 'card' }, h('p', {}, t('cosign.check')), h('div', { class: 'row' }, button), err);
}

function submitCard(app, tx, chainID, signal) {
  const bytes = encode(tx);
  const sender = toHex(tx.sender);
  const status = h('p', { id: 'tx-status', role: 'status', hidden: true });
  const inclusion = h('p', { id: 'tx-inclusion', hidden: true });
  const after = h('div', { class: 'row', id: 'tx-after' });
  const setStatus = (state, cls, text) => {
    status.hidden = false;
    status.dataset.state = state;
    status.className = cls;
    fill(status, text);
  };
  const follow = async (hashHex) => {
    setStatus('pending', 'notice', t('tx.pending', { hash: short(hashHex, 12) }));
    const r = await app.node.follow(hashHex);
    if (signal.aborted) return;
    if (r.state === 'timeout') {
      setStatus('timeout', 'notice', t('tx.timeout', { seconds: app.node.followTimeoutMs / 1000 }));
      fill(after, h('button', { type: 'button', class: 'secondary', id: 'follow-again', onclick: () => follow(hashHex) }, t('tx.checkAgain')));
      return;
    }
    release(chainID, sender, tx.nonce); // in a block: used, or failed and free again
    if (r.code !== 0) {
      setStatus('failed', 'error', t('tx.failedInBlock', { height: r.height, code: r.code, log: r.log }));
      return;
    }
    status.dataset.height = r.height;
    setStatus('committed', 'done', t('tx.committed', { height: r.height }));
    fill(after,
      h('a', { href: `#/account/${sender}` }, t('tx.viewSender')),
      h('a', { href: `#/account/${toHex(tx.to)}`, id: 'view-recipient' }, t('tx.viewRecipient')));
    checkInclusion(app, r.height, bytes, inclusion, signal);
  };
  const err = errorBox('submit-error');
  const button = h('button', {
    type: 'button', id: 'submit',
    onclick: () => busy(button, err, async () => {
      setStatus('submitting', 'notice', t('tx.submitting'));
      let sub;
      try {
        sub = await app.node.submit(bytes);
      } catch (e) {
        if (unreachable(e) && app.outbox) {
          // Kept, and submitted when the node can be reached again.
          await app.outbox.add({
            type: 'transfer', bytes, hash: await hash(tx), from: sender, to: toHex(tx.to),
            amount: tx.amount, nonce: tx.nonce, memo: new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(tx.memo),
          });
          button.hidden = true;
          setStatus('outbox', 'notice', [t('outbox.kept'), ' ', h('a', { href: '#/outbox', id: 'to-outbox' }, t('outbox.title'))]);
          return;
        }
        setStatus('refused', 'error', errorText(e));
        if (e.status === 400) release(chainID, sender, tx.nonce);
        return;
      }
      button.hidden = true;
      await follow(sub.hash);
    }),
  }, t('cosign.submit'));
  return h('section', { class: 'card', id: 'submit-card' },
    h('p', {}, t('cosign.ready')),
    h('div', { class: 'row' }, button, h('a', { href: cosignLink(bytes), id: 'signed-link' }, t('cosign.signedLink'))),
    err, status, inclusion, after);
}

/** Checks the committed transaction against the certified header of its block, as soon as it is certified. */
async function checkInclusion(app, height, bytes, el, signal) {
  for (let i = 0; i < INCLUSION_TRIES && !signal.aborted; i++) {
    let ok;
    try {
      ok = await verifyInclusion(app.node, app.client, app.remote, height, bytes);
    } catch (e) {
      el.hidden = false;
      el.className = 'error';
      el.dataset.state = 'failed';
      fill(el, errorText(e));
      return;
    }
    if (ok !== null) {
      el.hidden = false;
      el.dataset.state = ok ? 'verified' : 'failed';
      el.className = ok ? 'done' : 'error';
      fill(el, ok ? t('tx.included', { height }) : t('tx.notIncluded', { height }));
      return;
    }
    await new Promise((r) => setTimeout(r, INCLUSION_WAIT_MS));
  }
}
