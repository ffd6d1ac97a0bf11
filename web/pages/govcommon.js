// What the Organization and Governance pages share: the member who acts
// (one of the wallet's accounts, the passphrase if locked), signing and
// submitting a governance transaction to its typed route, following it to
// its block ("committed at height H", with node.js's follow), the badge of
// a proven read, the countdown to a deadline in block time, and names.

import { NodeError } from '../node.js';
import { TxError } from '../tx.js';
import * as govtx from '../govtx.js';
import { nextNonce, release, reserve, reserved } from '../nonces.js';
import { h, fill, short } from '../dom.js';
import { lang, t } from '../i18n.js';
import { timeText } from '../offline.js';
import { errorText } from './common.js';

/** An error's message, governance wording for a transaction that cannot be built. */
export function govErrorText(e) {
  if (e instanceof TxError) return t('gov.invalid', { message: e.message });
  return errorText(e);
}

/** A person: the verified name, or the short ID when there is none (with the ID as title). */
export function person(id, name) {
  const idHex = String(id ?? '');
  return h('span', { class: 'person', title: idHex, data: { id: idHex } },
    name ? h('strong', {}, name) : h('code', {}, short(idHex, 8)));
}

/** A u64 of milliseconds as a duration for people. */
export function dur(ms) {
  const n = BigInt(ms ?? 0);
  // Under a minute with a fraction of a second: "1.5s", not "1s500ms".
  if (n < 60000n && n % 1000n !== 0n) return `${Number(n) / 1000}s`;
  return govtx.formatDuration(n);
}

/** A block time (ms since 1970) for people. */
export function when(ms) {
  const n = Number(ms);
  return n ? timeText(n, lang()) : '—';
}

/**
 * The countdown to deadline (ms, block time): block time is estimated as
 * the proven header's time plus what elapsed here since the read. Updated
 * every second until signal aborts.
 */
export function countdown(deadline, blockTime, signal, id = 'countdown') {
  const el = h('span', { id, class: 'countdown', data: { deadline: String(deadline) } });
  const base = Number(blockTime);
  const read = Date.now();
  const tick = () => {
    const left = Number(deadline) - (base + (Date.now() - read));
    el.dataset.left = String(Math.max(0, Math.round(left / 1000)));
    fill(el, left > 0 ? t('gov.countdown', { left: dur(Math.ceil(left / 1000) * 1000) }) : t('gov.deadlinePassed'));
  };
  tick();
  const timer = setInterval(tick, 1000);
  signal.addEventListener('abort', () => clearInterval(timer));
  return el;
}

/** The badge of a proven governance read. */
export function provenBadge(r, id = 'badge') {
  return h('span', { class: 'badge verified', id, data: { state: 'verified', height: r.height } },
    '✓ ', t('verified', { height: r.height, signers: r.signers.join(' '), nodes: r.nodes }));
}

/**
 * The acting member: a select of the wallet's accounts and, while the
 * wallet is locked, its passphrase. Returns {el, pub(), passphrase}.
 */
export function actorPicker(app, accts, signal, id = 'actor') {
  const select = h('select', { id }, accts.map((a) => h('option', { value: a.public, selected: a.public === app.current },
    `${a.label || short(a.id)} · ${short(a.public)}`)));
  select.addEventListener('change', () => { app.current = select.value; });
  const pass = h('input', { type: 'password', id: `${id}-passphrase`, autocomplete: 'current-password' });
  const passLabel = h('label', {}, t('transfer.passphrase'), pass);
  const show = () => { passLabel.hidden = !app.wallet || app.wallet.unlocked; };
  const off = app.wallet?.onChange(show);
  if (off) signal.addEventListener('abort', off);
  show();
  return {
    el: h('div', { class: 'row actor' }, h('label', {}, t('gov.actingAs'), select), passLabel),
    pub: () => select.value,
    pass,
  };
}

async function post(path, bytes) {
  let resp;
  try {
    resp = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: bytes, signal: AbortSignal.timeout(15_000) });
  } catch (e) {
    throw new NodeError(`the node cannot be reached: ${e.message}`);
  }
  let j = null;
  try {
    j = await resp.json();
  } catch {
    // the status says it
  }
  if (resp.status === 202) return { hash: j?.hash };
  if (j?.error?.code === 'duplicate') return { duplicate: true };
  throw new NodeError(j?.error?.message ?? `HTTP ${resp.status}`, resp.status, j?.error?.code ?? '');
}

/**
 * Signs and submits a governance transaction of kind for the actor, then
 * follows it (signAndFollow). Resolves to {state, height, code, hash, info
 * (GET /v1/txs/{hash}, when committed)}.
 */
export async function act(app, actor, kind, fields, status, names = null) {
  return signAndFollow(app, actor, status, {
    build: (sender, nonce) => govtx.build(kind, { sender, nonce, ...fields }, names),
    sign: (txn, signer) => govtx.sign(app.client.chainID, txn, signer),
    submit: (bytes) => post(govtx.route(kind, fields.proposal), bytes),
  });
}

/**
 * Builds a transaction for the actor with its next nonce (build(sender
 * key hex, nonce) → the unsigned transaction, checked), unlocks the wallet
 * if it must, signs (sign(txn, signer) → the signed transaction, with its
 * nonce), submits (submit(bytes)), then follows it, writing to status (an
 * element whose data-state becomes signing, invalid, submitting, refused,
 * pending, committed, failed or timeout; data-height once in a block). The
 * nonce is held while the transaction may still be taken. Resolves to
 * {state, height, code, hash, info (GET /v1/txs/{hash}, when committed)}.
 */
export async function signAndFollow(app, actor, status, { build, sign, submit }) {
  const set = (state, cls, text) => {
    status.hidden = false;
    status.dataset.state = state;
    status.className = cls;
    fill(status, text);
  };
  set('signing', 'notice', t('tx.submitting'));
  const pub = actor.pub();
  const chainID = app.client.chainID;
  let txn;
  try {
    const acct = await app.client.fetchAccount(app.remote, pub);
    const nonce = nextNonce(acct.account, reserved(chainID, pub));
    if (nonce === null) throw new Error(t('transfer.noNonce'));
    txn = await build(pub, nonce);
    if (!app.wallet.unlocked) {
      await app.wallet.unlock(actor.pass.value);
      actor.pass.value = '';
    }
    txn = await sign(txn, (m) => app.wallet.sign(pub, m));
  } catch (e) {
    set('invalid', 'error', govErrorText(e));
    return { state: 'invalid' };
  }
  const bytes = govtx.encode(txn);
  const hash = await govtx.hash(txn);
  reserve(chainID, pub, txn.nonce);
  set('submitting', 'notice', t('tx.submitting'));
  try {
    await submit(bytes);
  } catch (e) {
    if (e.status === 400) release(chainID, pub, txn.nonce);
    set('refused', 'error', govErrorText(e));
    return { state: 'refused', error: e };
  }
  set('pending', 'notice', t('tx.pending', { hash: short(hash, 12) }));
  const r = await app.node.follow(hash);
  if (r.state === 'timeout') {
    set('timeout', 'notice', t('tx.timeout', { seconds: app.node.followTimeoutMs / 1000 }));
    return { state: 'timeout', hash };
  }
  release(chainID, pub, txn.nonce);
  status.dataset.height = r.height;
  if (r.code !== 0) {
    set('failed', 'error', t('tx.failedInBlock', { height: r.height, code: r.code, log: r.log }));
    return { state: 'failed', hash, ...r };
  }
  set('committed', 'done', t('tx.committed', { height: r.height }));
  const info = await app.node.txStatus(hash).catch(() => null);
  return { state: 'committed', hash, height: r.height, code: 0, info };
}

/** A status line for act(). */
export function statusLine(id) {
  return h('p', { id, hidden: true, role: 'status' });
}

/** The wallet's accounts, or [] (with no wallet). */
export async function walletAccounts(app) {
  return app.wallet ? app.wallet.accounts().catch(() => []) : [];
}

/** A little form field: label and input side by side with a hint. */
export function field(label, input, hint = null) {
  return h('label', {}, label, input, hint ? h('small', { class: 'muted hint' }, hint) : null);
}
