// Pieces several pages share: the unlock form, the verification badge,
// messages for errors, and the label of a key.

import { ProofError, RemoteError } from '../light.js';
import { WalletError } from '../wallet.js';
import { NodeError } from '../node.js';
import { TxError } from '../tx.js';
import { h, fill, short } from '../dom.js';
import { t } from '../i18n.js';

/** A message for an error, in the page's language where the error has a code. */
export function errorText(e) {
  if (e instanceof WalletError) return t(`walletError.${e.code}`, { message: e.message });
  if (e instanceof ProofError) return t('proof.failed', { check: e.check, message: e.message });
  if (e instanceof RemoteError) {
    return e.status === 0 ? t('node.unreachable', { message: e.message }) : t('node.answered', { message: e.message });
  }
  if (e instanceof NodeError) {
    return e.status === 0 ? t('node.unreachable', { message: e.message }) : t('node.refused', { message: e.message, code: e.code });
  }
  if (e instanceof TxError) return t('tx.invalid', { message: e.message });
  return String(e?.message ?? e);
}

/** An error paragraph (role alert), empty until set with showError. */
export function errorBox(id) {
  return h('p', { id, class: 'error', role: 'alert', hidden: true });
}

/** Shows e (an error, or null to clear) in an errorBox. */
export function showError(box, e) {
  if (e === null) {
    box.hidden = true;
    fill(box);
    return;
  }
  box.hidden = false;
  fill(box, errorText(e));
}

/**
 * Runs fn while the button shows busy; errors go to box. Returns fn's
 * result, or undefined when it threw.
 */
export async function busy(button, box, fn) {
  button.disabled = true;
  if (box) showError(box, null);
  try {
    return await fn();
  } catch (e) {
    if (box) showError(box, e);
    else throw e;
    return undefined;
  } finally {
    button.disabled = false;
  }
}

/**
 * The passphrase form that unlocks the wallet; onDone runs once it is
 * unlocked. id prefixes the elements' ids.
 */
export function unlockForm(app, onDone, id = 'unlock') {
  const input = h('input', { type: 'password', id: `${id}-passphrase`, autocomplete: 'current-password', required: true });
  const err = errorBox(`${id}-error`);
  const button = h('button', { type: 'submit', id: `${id}-button` }, t('wallet.unlock'));
  return h('form', {
    id: `${id}-form`,
    onsubmit: async (ev) => {
      ev.preventDefault();
      await busy(button, err, async () => {
        await app.wallet.unlock(input.value);
        input.value = '';
        onDone?.();
      });
    },
  }, h('label', {}, t('wallet.passphrase'), input), h('div', { class: 'row' }, button), err);
}

/**
 * The badge of a verified record: "verified at height H by nodes [..] of N",
 * or of a failure.
 */
export function verifiedBadge(r) {
  return h('span', { class: 'badge verified', id: 'badge', data: { state: 'verified', height: r.height } },
    '✓ ', t('verified', { height: r.height, signers: r.signers.join(' '), nodes: r.nodes }));
}

/** The badge of a failure to verify or to reach the node. */
export function failureBadge(e) {
  const state = e instanceof ProofError ? 'failed' : 'unreachable';
  const text = e instanceof ProofError ? t('proof.failedShort', { check: e.check }) : errorText(e);
  return h('span', { class: `badge ${state}`, id: 'badge', data: { state } }, state === 'failed' ? '✗ ' : '', text);
}

/** How a key is named on a page: the wallet's label and the verified name, then the short key. */
export function keyName({ label, name, key }) {
  const parts = [];
  if (name) parts.push(h('strong', {}, name));
  if (label && label !== name) parts.push(h('span', { class: 'muted' }, ` (${label})`));
  parts.push(' ', h('code', { title: key }, short(key, 10)));
  return h('span', {}, parts);
}

/** Reads at a commit wait this long, so that a burst of blocks makes one read. */
export const DEBOUNCE_MS = 250;

/**
 * Has a page read again at each commit the node announces (debounced;
 * seen(ev) is told of the commit first, if given) and when the browser is
 * back online, until signal aborts. Returns schedule(ms): read once in ms,
 * in place of a read already scheduled (the pages' retries use it too).
 */
export function readAgainOnCommit(app, read, signal, seen = null) {
  let timer = 0;
  const schedule = (ms) => {
    clearTimeout(timer);
    timer = setTimeout(read, ms);
  };
  const off = app.node.onCommit((ev) => {
    seen?.(ev);
    schedule(DEBOUNCE_MS);
  });
  const online = () => schedule(0);
  addEventListener('online', online);
  signal.addEventListener('abort', () => {
    off();
    clearTimeout(timer);
    removeEventListener('online', online);
  });
  return schedule;
}
