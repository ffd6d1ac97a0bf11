// A sale's page (#/sale/<id>): the sale (item, supply, per request, price,
// proof of work, window with a countdown in block time, state, counters,
// node set) and, for the wallet's current account, its request and
// outcome — all from the three records of GET /v1/sales/{id}/buyers/
// {account}?prove=1, verified by the light client and checked together as
// light/sale.go's VerifySaleOutcome does (salerecords.js), with the badge
// "verified at height H by nodes [..] of N"; a proof that fails shows
// "proof failed" and none of the sale's data. Without a wallet account the
// sale's record alone is read (GET /v1/sales/{id}?prove=1).
//
// The request flow: the buyer's ask is signed with the wallet; a
// non-member solves the proof of work first (bounded, with progress, and a
// Cancel button); every node of the sale's node set is asked for a stamp at
// its API address (the genesis file's, as the network page reads them;
// this page's own node at its origin), each answer shown as it comes (the
// stamp's time, or the node's reason); the 2f+1 earliest valid stamps are
// chosen (Choose, as Go's), the sale_request transaction built and signed,
// submitted and followed to "committed at height H"; then the outcome is
// read again at each commit, until the sale is allocated.

import { ProofError } from '../light.js';
import { accountID } from '../light/state.js';
import { fromHex, toHex } from '../light/bytes.js';
import { h, fill, short } from '../dom.js';
import { t } from '../i18n.js';
import * as govtx from '../govtx.js';
import { askStamp, fetchOutcome, fetchSale } from '../saleread.js';
import { PoWError, choose, encodeAsk, quorum, saleF, saleRequestTx, signAsk, solvePoW } from '../salerecords.js';
import { errorText, failureBadge, readAgainOnCommit } from './common.js';
import { countdown, dur, field, govErrorText, provenBadge, statusLine, walletAccounts, when } from './govcommon.js';
import { apiBase } from './network.js';
import { deadlineOf, phaseOf, phaseText } from './sales.js';

/** The most nonces tried for a proof of work: 2^(difficulty+4), at most 2^28. */
const POW_SLACK = 4n;
const POW_MAX = 1n << 28n;

export function render(app, [id], signal) {
  const root = h('div', { id: 'sale-page' });
  draw(app, root, id, signal);
  return root;
}

/** A time (BigInt ms) with its milliseconds, for stamps. */
function stampTime(ms) {
  const d = new Date(Number(ms));
  return Number.isNaN(d.getTime()) ? String(ms) : `${d.toLocaleTimeString()}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

async function draw(app, root, id, signal) {
  const view = h('section', { class: 'card', id: 'sale', data: { state: 'loading', id } }, h('p', { class: 'muted' }, t('account.verifying')));
  const mine = h('section', { class: 'card', id: 'sale-mine', hidden: true });
  const request = h('section', { class: 'card', id: 'sale-request', hidden: true });
  fill(root, view, mine, request);
  if (!app.client) {
    fill(view, h('p', { class: 'error' }, t('noGenesis', { why: app.genesisError ?? '' })));
    return;
  }
  const accts = await walletAccounts(app);
  const me = accts.find((a) => a.public === app.current) ?? accts[0] ?? null;
  const buyer = me ? toHex(await accountID(fromHex(me.public, 'key', 32))) : null;
  let last = null;
  let generation = 0;
  let form = null;
  const read = async () => {
    const g = ++generation;
    let r;
    try {
      r = buyer ? await fetchOutcome(app, id, buyer) : await fetchSale(app, id);
    } catch (e) {
      if (g !== generation || signal.aborted) return;
      view.dataset.state = e instanceof ProofError ? 'failed' : 'unreachable';
      delete view.dataset.phase;
      fill(view, h('h2', {}, `#${id}`), h('div', {}, failureBadge(e)), h('p', { class: 'error', role: 'alert', id: 'sale-error' }, errorText(e)));
      mine.hidden = true;
      fill(mine);
      request.hidden = true;
      last = null;
      return;
    }
    if (g !== generation || signal.aborted) return;
    last = r;
    showSale(view, r, signal);
    if (buyer) {
      showMine(mine, r, me);
      const phase = phaseOf(r.sale, r.time);
      const canAsk = !r.kept && r.sale.state === 1 && phase !== 'allocating';
      if (canAsk && form === null) form = requestForm(app, id, me, () => last, read, signal);
      request.hidden = !canAsk && !(form && form.busy());
      if (form && !request.contains(form.el)) fill(request, form.el);
      form?.setKept(r.kept);
    }
  };
  readAgainOnCommit(app, read, signal);
  await read();
}

/** The sale's record, decoded from its proof. */
function showSale(el, r, signal) {
  const s = r.sale;
  const p = s.params;
  const phase = phaseOf(s, r.time);
  const deadline = deadlineOf(s, phase);
  el.dataset.state = 'verified';
  el.dataset.phase = phase;
  el.dataset.height = r.height;
  fill(el,
    h('h2', {}, `#${s.id} `, h('span', { id: 'sale-item' }, p.item)),
    h('div', {}, provenBadge(r)),
    h('dl', { class: 'fields' },
      h('dt', {}, t('sale.state')), h('dd', { id: 'sale-phase', data: { value: phase } }, phaseText(phase),
        deadline !== null ? [' · ', countdown(deadline, r.time, signal, 'sale-countdown')] : null),
      h('dt', {}, t('sale.supply')), h('dd', { id: 'sale-supply', data: { value: p.supply } }, String(p.supply)),
      h('dt', {}, t('sale.perRequest')), h('dd', { id: 'sale-per' }, String(p.perRequest)),
      h('dt', {}, t('sale.price')), h('dd', { id: 'sale-price', data: { value: String(p.price) } }, String(p.price)),
      h('dt', {}, t('sale.window')), h('dd', { id: 'sale-window' }, when(s.opens), ' – ', when(s.closes), ' (', dur(p.window), ')'),
      h('dt', {}, t('sale.allocation')), h('dd', {}, when(s.closes + p.maxAge), ' ', h('span', { class: 'muted' }, t('sale.allocationHint', { age: dur(p.maxAge) }))),
      h('dt', {}, t('sale.difficulty')), h('dd', { id: 'sale-difficulty' }, p.difficulty === 0 ? t('sale.membersOnly') : t('sale.powBits', { bits: p.difficulty })),
      h('dt', {}, t('sale.nodes')), h('dd', { id: 'sale-nodes' }, t('sale.nodesText', { n: s.nodes.length, quorum: quorum(s), f: saleF(s) })),
      h('dt', {}, t('sale.counters')), h('dd', { id: 'sale-counters' }, t('sale.countersText', { kept: s.kept, max: p.maxRequests, accepted: String(s.accepted), evicted: String(s.evicted) })),
      s.state === 2 ? [h('dt', {}, t('sale.sold')), h('dd', { id: 'sale-sold', data: { value: s.sold } }, t('sale.soldText', { sold: s.sold, supply: p.supply, winners: s.winners, unpaid: s.unpaid }))] : null));
}

/** My request and outcome (r from fetchOutcome). */
function showMine(el, r, me) {
  el.hidden = false;
  const outcome = {
    won: t('sale.outcomeWon', { granted: r.granted, rank: r.rank, paid: String(r.paid) }),
    unpaid: t('sale.outcomeUnpaid', { rank: r.rank }),
    lost: r.kept ? t('sale.outcomeLost') : t('sale.outcomeNone'),
    open: r.kept ? t('sale.outcomeOpen') : t('sale.outcomeNoRequest'),
  }[r.outcome];
  const nodes = r.sale.nodes.map(toHex);
  el.dataset.outcome = r.outcome;
  el.dataset.kept = r.kept ? 'yes' : 'no';
  el.dataset.height = r.height;
  fill(el, h('h3', {}, t('sale.mine', { who: me.label || short(me.public) })),
    h('div', {}, provenBadge(r, 'mine-badge')),
    h('p', { id: 'sale-outcome', data: { value: r.outcome } }, outcome),
    r.kept ? [
      h('p', { id: 'sale-kept' }, t('sale.keptText', { quantity: r.quantity, fair: stampTime(r.fair), member: r.member ? t('sale.asMember') : t('sale.withPoW') })),
      h('table', { id: 'sale-kept-stamps' }, h('thead', {}, h('tr', {}, h('th', {}, t('sale.node')), h('th', {}, t('sale.stampTime')))),
        h('tbody', {}, r.stamps.map((s) => h('tr', { data: { node: toHex(s.node), time: String(s.time) } },
          h('td', { class: 'mono', title: toHex(s.node) }, `${nodes.indexOf(toHex(s.node))} · ${short(toHex(s.node), 8)}`), h('td', {}, stampTime(s.time)))))),
    ] : null);
}

/** The addresses of the genesis nodes' APIs, by key (hex). */
function genesisAddrs(app) {
  const m = new Map();
  for (const n of app.genesis?.nodes ?? []) if (n?.key && n.api) m.set(String(n.key).toLowerCase(), n.api);
  return m;
}

/**
 * The request form and flow for the wallet account me. latest() is the
 * last verified read ({sale, …}); reread() reads the page again.
 */
function requestForm(app, id, me, latest, reread, signal) {
  const quantity = h('input', { id: 'sale-quantity', type: 'number', min: 1, value: '1' });
  const pass = h('input', { type: 'password', id: 'sale-passphrase', autocomplete: 'current-password' });
  const passLabel = h('label', {}, t('transfer.passphrase'), pass);
  const showPass = () => { passLabel.hidden = !app.wallet || app.wallet.unlocked; };
  const offWallet = app.wallet?.onChange(showPass);
  if (offWallet) signal.addEventListener('abort', offWallet);
  showPass();
  const button = h('button', { type: 'submit', id: 'sale-request-button' }, t('sale.requestButton'));
  const cancel = h('button', { type: 'button', id: 'sale-cancel', class: 'secondary', hidden: true }, t('sale.cancel'));
  const pow = h('p', { id: 'sale-pow', hidden: true, role: 'status' });
  const stamps = h('tbody', {});
  const stampTable = h('table', { id: 'sale-stamps', hidden: true },
    h('thead', {}, h('tr', {}, h('th', {}, t('sale.node')), h('th', {}, t('sale.address')), h('th', {}, t('sale.answer')))), stamps);
  const chosen = h('p', { id: 'sale-chosen', hidden: true });
  const status = statusLine('sale-status');
  let running = false;
  let abort = null;
  cancel.addEventListener('click', () => abort?.abort());
  signal.addEventListener('abort', () => abort?.abort());
  const set = (el, state, cls, text) => {
    el.hidden = false;
    el.dataset.state = state;
    el.className = cls;
    fill(el, text);
  };
  const run = async (ev) => {
    ev.preventDefault();
    if (running) return;
    running = true;
    button.disabled = true;
    abort = new AbortController();
    try {
      await flow();
    } catch (e) {
      set(status, e instanceof PoWError && e.cancelled ? 'cancelled' : 'invalid', 'error', e instanceof PoWError && e.cancelled ? t('sale.cancelled') : govErrorText(e));
    } finally {
      running = false;
      button.disabled = false;
      cancel.hidden = true;
    }
  };
  const flow = async () => {
    const r = latest();
    if (!r) throw new Error(t('sale.notVerified'));
    const s = r.sale;
    const chainID = app.client.chainID;
    const pub = me.public;
    const key = fromHex(pub, 'key', 32);
    const q = Number(quantity.value);
    if (!Number.isInteger(q) || q < 1 || q > s.params.perRequest) throw new Error(t('sale.badQuantity', { max: s.params.perRequest }));
    fill(stamps);
    stampTable.hidden = true;
    chosen.hidden = true;
    pow.hidden = true;
    set(status, 'checking', 'notice', t('sale.checking'));
    // A member needs no proof of work: its role, verified.
    const acct = await app.client.fetchAccount(app.remote, pub);
    const member = acct.account?.role === 'member' || acct.account?.role === 'supervisor';
    let nonce = 0n;
    if (!member) {
      if (s.params.difficulty === 0) throw new Error(t('sale.membersOnlyRefused'));
      const d = s.params.difficulty;
      const limit = (1n << (BigInt(d) + POW_SLACK)) < POW_MAX ? 1n << (BigInt(d) + POW_SLACK) : POW_MAX;
      cancel.hidden = false;
      set(pow, 'solving', 'notice', t('sale.powSolving', { bits: d, tried: 0, limit: String(limit) }));
      const started = Date.now();
      nonce = await solvePoW(chainID, s.id, key, d, {
        limit, signal: abort.signal,
        progress: ({ tried }) => set(pow, 'solving', 'notice', t('sale.powSolving', { bits: d, tried: String(tried), limit: String(limit) })),
      });
      cancel.hidden = true;
      set(pow, 'solved', 'done', t('sale.powSolved', { bits: d, nonce: String(nonce), seconds: ((Date.now() - started) / 1000).toFixed(1) }));
    }
    if (!app.wallet.unlocked) {
      await app.wallet.unlock(pass.value);
      pass.value = '';
    }
    const sign = (m) => app.wallet.sign(pub, m);
    const ask = await signAsk(chainID, { sale: s.id, buyer: key, quantity: q, nonce }, sign);
    const body = encodeAsk(ask);
    // Every node of the sale's set, at its address.
    set(status, 'stamping', 'notice', t('sale.stamping', { n: s.nodes.length }));
    const addrs = genesisAddrs(app);
    let selfKey = '';
    try {
      selfKey = String((await app.remote.status())?.key ?? '').toLowerCase();
    } catch {
      // this node's key is a convenience: the genesis gives the others
    }
    stampTable.hidden = false;
    const got = [];
    await Promise.all(s.nodes.map(async (k, i) => {
      const hex = toHex(k);
      const base = addrs.has(hex) ? apiBase(addrs.get(hex)) : hex === selfKey ? '' : null;
      const cell = h('td', { class: 'answer' }, t('sale.asking'));
      const row = h('tr', { id: `stamp-${i}`, data: { node: hex, state: 'asking' } },
        h('td', { class: 'mono', title: hex }, `${i} · ${short(hex, 8)}`), h('td', { class: 'mono' }, base === null ? t('net.noAddr') : base || t('sale.thisNode')), cell);
      stamps.append(row);
      if (base === null) {
        row.dataset.state = 'noaddr';
        fill(cell, t('sale.noAddress'));
        return;
      }
      const a = await askStamp(base, s.id, body);
      if (!a.ok) {
        row.dataset.state = a.status === 0 ? 'unreachable' : 'refused';
        row.dataset.code = a.code;
        fill(cell, h('span', { class: 'error' }, a.status === 0 ? t('sale.unreachable', { message: a.message }) : t('sale.refusedBy', { code: a.code, message: a.message })));
        return;
      }
      const st = a.stamp;
      if (toHex(st.node) !== hex || toHex(st.hash) !== toHex(ask.hash)) {
        row.dataset.state = 'wrong';
        fill(cell, h('span', { class: 'error' }, t('sale.wrongStamp')));
        return;
      }
      row.dataset.state = 'stamped';
      row.dataset.time = String(st.time);
      fill(cell, t('sale.stampedAt', { time: stampTime(st.time) }));
      got.push(st);
    }));
    let picked;
    try {
      picked = await choose(s, chainID, ask.hash, got);
    } catch (e) {
      throw new Error(t('sale.tooFewStamps', { message: e.message, quorum: quorum(s) }));
    }
    for (const st of picked) stamps.querySelector(`tr[data-node="${toHex(st.node)}"]`)?.classList.add('chosen');
    for (const st of picked) {
      const row = stamps.querySelector(`tr[data-node="${toHex(st.node)}"]`);
      if (row) row.dataset.chosen = 'yes';
    }
    set(chosen, 'chosen', 'notice', t('sale.chosen', { n: picked.length, quorum: quorum(s) }));
    const txn = await saleRequestTx(chainID, { sale: s.id, buyer: key, quantity: q, nonce, stamps: picked }, sign);
    const hash = await govtx.hash(txn);
    set(status, 'submitting', 'notice', t('tx.submitting'));
    try {
      await app.node.submit(govtx.encode(txn));
    } catch (e) {
      set(status, 'refused', 'error', govErrorText(e));
      return;
    }
    set(status, 'pending', 'notice', t('tx.pending', { hash: short(hash, 12) }));
    const f = await app.node.follow(hash);
    if (signal.aborted) return;
    if (f.state === 'timeout') {
      set(status, 'timeout', 'notice', t('tx.timeout', { seconds: app.node.followTimeoutMs / 1000 }));
      return;
    }
    status.dataset.height = f.height;
    if (f.code !== 0) {
      set(status, 'failed', 'error', t('tx.failedInBlock', { height: f.height, code: f.code, log: f.log }));
      return;
    }
    set(status, 'committed', 'done', t('tx.committed', { height: f.height }));
    reread();
  };
  const el = h('form', { id: 'sale-request-form', onsubmit: run }, h('h3', {}, t('sale.requestTitle')), h('p', { class: 'muted' }, t('sale.requestIntro')),
    h('div', { class: 'row' }, field(t('sale.quantity'), quantity), passLabel), h('div', { class: 'row' }, button, cancel), pow, stampTable, chosen, status);
  return {
    el,
    busy: () => running || (status.dataset.state ?? '') !== '',
    // Once a request of mine is kept, another is refused: no button.
    setKept: (kept) => { button.hidden = kept; },
  };
}
