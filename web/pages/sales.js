// The sales page (#/sales): the open sales and the recent ones, each read
// with its proof at the registry's height and decoded in the browser
// (saleread.js), with the badge "verified at height H by nodes [..] of N";
// and, for a supervisor, a small form that opens a sale (sale_open, type
// 13, signed here and posted to /v1/txs): once committed, the page finds
// the new sale as the CLI does — a sale absent from the registry before
// the block and present after it, whose opener is the signer — and opens
// it. The page reads again at each commit.

import { ProofError } from '../light.js';
import { accountID } from '../light/state.js';
import { fromHex, toHex } from '../light/bytes.js';
import { h, fill } from '../dom.js';
import { t } from '../i18n.js';
import * as govtx from '../govtx.js';
import { TxError } from '../tx.js';
import { fetchSale, fetchSales } from '../saleread.js';
import { saleOpenTx } from '../salerecords.js';
import { errorText, failureBadge, readAgainOnCommit } from './common.js';
import { actorPicker, countdown, field, provenBadge, signAndFollow, statusLine, walletAccounts, when } from './govcommon.js';


export function render(app, params, signal) {
  const root = h('div', { id: 'sales-page' });
  draw(app, root, signal);
  return root;
}

/** A sale's phase in block time now: upcoming, window, allocating (after the window, before its block) or closed. */
export function phaseOf(sale, now) {
  if (sale.state === 2) return 'closed';
  const n = BigInt(Math.floor(now));
  if (n < sale.opens) return 'upcoming';
  if (n < sale.closes) return 'window';
  return 'allocating';
}

/** The phase's words. */
export function phaseText(p) {
  return { upcoming: t('sale.phaseUpcoming'), window: t('sale.phaseWindow'), allocating: t('sale.phaseAllocating'), closed: t('sale.phaseClosed') }[p];
}

/** The deadline of a phase: the window's start or end, or the allocation (due); null once closed. */
export function deadlineOf(sale, phase) {
  return { upcoming: sale.opens, window: sale.closes, allocating: sale.closes + sale.params.maxAge }[phase] ?? null;
}

async function draw(app, root, signal) {
  const list = h('section', { class: 'card', id: 'sales', data: { state: 'loading' } }, h('h2', {}, t('nav.sales')), h('p', { class: 'muted' }, t('account.verifying')));
  const open = h('div', { id: 'sale-open' });
  fill(root, list, open);
  if (!app.client) {
    fill(list, h('p', { class: 'error' }, t('noGenesis', { why: app.genesisError ?? '' })));
    return;
  }
  let generation = 0;
  const read = async () => {
    const g = ++generation;
    let r;
    try {
      r = await fetchSales(app);
    } catch (e) {
      if (g !== generation || signal.aborted) return;
      list.dataset.state = e instanceof ProofError ? 'failed' : 'unreachable';
      fill(list, h('h2', {}, t('nav.sales')), h('div', {}, failureBadge(e)), h('p', { class: 'error', role: 'alert', id: 'sales-error' }, errorText(e)));
      return;
    }
    if (g !== generation || signal.aborted) return;
    showList(list, r, signal);
  };
  readAgainOnCommit(app, read, signal);
  const accts = await walletAccounts(app);
  if (accts.length && !signal.aborted) fill(open, openForm(app, accts, signal));
  await read();
}

function showList(el, r, signal) {
  el.dataset.state = 'verified';
  el.dataset.height = r.height;
  el.dataset.next = String(r.registry.next);
  const now = r.time;
  fill(el, h('h2', {}, t('nav.sales')), h('div', {}, provenBadge(r)),
    h('p', { class: 'muted' }, t('sale.listIntro', { open: r.registry.open.length })),
    r.sales.length === 0 ? h('p', { id: 'sales-empty' }, t('sale.none')) : h('table', { id: 'sales-table' },
      h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, t('sale.item')), h('th', {}, t('sale.supply')), h('th', {}, t('sale.price')),
        h('th', {}, t('sale.window')), h('th', {}, t('sale.state')), h('th', {}, t('sale.sold')))),
      h('tbody', {}, r.sales.map((s) => {
        const phase = phaseOf(s, now);
        const deadline = deadlineOf(s, phase);
        return h('tr', { id: `sale-row-${s.id}`, class: 'sale-row', data: { id: String(s.id), phase } },
          h('td', {}, h('a', { href: `#/sale/${s.id}` }, `#${s.id}`)),
          h('td', { class: 'sale-item' }, h('a', { href: `#/sale/${s.id}` }, s.params.item)),
          h('td', {}, String(s.params.supply)),
          h('td', {}, String(s.params.price)),
          h('td', {}, when(s.opens), ' – ', when(s.closes)),
          h('td', { class: 'sale-phase' }, phaseText(phase), deadline !== null ? [' · ', countdown(deadline, now, signal, `sale-countdown-${s.id}`)] : null),
          h('td', {}, `${s.sold} / ${s.params.supply}`));
      }))));
}

/** The supervisor's form to open a sale (sale_open). */
function openForm(app, accts, signal) {
  const actor = actorPicker(app, accts, signal, 'open-actor');
  const input = (id, value, type = 'text') => h('input', { id, type, value });
  const item = input('open-item', '');
  const supply = input('open-supply', '10', 'number');
  const per = input('open-per', '1', 'number');
  const start = input('open-start', '0');
  const window = input('open-window', '10m');
  const maxAge = input('open-max-age', '30s');
  const difficulty = input('open-difficulty', '12', 'number');
  const price = input('open-price', '0', 'number');
  const maxReq = input('open-max-requests', '1000', 'number');
  const status = statusLine('open-status');
  const button = h('button', { type: 'submit', id: 'open-sale' }, t('sale.openButton'));
  const whole = (el, what) => {
    if (!/^(0|[1-9][0-9]*)$/.test(el.value.trim())) throw new TxError(`${what}: ${el.value}`);
    return BigInt(el.value.trim());
  };
  const u32 = (el, what) => {
    const v = whole(el, what);
    if (v > 0xffffffffn) throw new TxError(`${what}: ${v}`);
    return Number(v);
  };
  const submit = async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    try {
      await openSale(app, actor, () => ({
        item: item.value, supply: u32(supply, t('sale.supply')), perRequest: u32(per, t('sale.perRequest')), start: govtx.parseDuration(start.value.trim()),
        window: govtx.parseDuration(window.value.trim()), maxAge: govtx.parseDuration(maxAge.value.trim()), difficulty: Number(whole(difficulty, t('sale.difficulty'))),
        price: whole(price, t('sale.price')), maxRequests: u32(maxReq, t('sale.maxRequests')),
      }), status);
    } finally {
      button.disabled = false;
    }
  };
  return h('section', { class: 'card', id: 'open-card' }, h('h3', {}, t('sale.openTitle')), h('p', { class: 'muted' }, t('sale.openIntro')),
    h('form', { id: 'open-form', onsubmit: submit }, actor.el,
      field(t('sale.item'), item), h('div', { class: 'row' }, field(t('sale.supply'), supply), field(t('sale.perRequest'), per), field(t('sale.price'), price)),
      h('div', { class: 'row' }, field(t('sale.start'), start), field(t('sale.windowLength'), window), field(t('sale.maxAge'), maxAge, t('sale.maxAgeHint'))),
      h('div', { class: 'row' }, field(t('sale.difficulty'), difficulty, t('sale.difficultyHint')), field(t('sale.maxRequests'), maxReq)),
      h('div', { class: 'row' }, button), status));
}

/** Signs, submits and follows a sale_open; once committed, finds the sale and opens its page. */
async function openSale(app, actor, params, status) {
  const r = await signAndFollow(app, actor, status, {
    build: (sender, nonce) => ({ sender, nonce, params: params() }),
    sign: (b, signer) => saleOpenTx(app.client.chainID, { sender: fromHex(b.sender, 'key', 32), nonce: b.nonce, params: b.params }, signer),
    submit: (bytes) => app.node.submit(bytes),
  });
  if (r.state !== 'committed') return;
  try {
    const id = await findOpened(app, r.height, toHex(await accountID(fromHex(actor.pub(), 'key', 32))));
    if (id !== null) app.go(`#/sale/${id}`);
  } catch (e) {
    fill(status, [t('tx.committed', { height: r.height }), ' · ', errorText(e)]);
  }
}

/** The sale opened at height by opener (ID hex): new in the registry at height, its record's opener. */
async function findOpened(app, height, opener) {
  await app.client.sync(app.remote, height);
  const registryAt = async (hh) => {
    const a = await app.remote.get(`/v1/sales?height=${hh}`);
    return BigInt(a.next);
  };
  const before = height > 1 ? await registryAt(height - 1) : 1n;
  const after = await registryAt(height);
  for (let id = after - 1n; id >= before; id--) {
    const s = await fetchSale(app, id, height);
    if (toHex(s.sale.opener) === opener) return id;
  }
  return null;
}
