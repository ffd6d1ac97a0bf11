// The members' app: the shell (navigation, hash routes, language), the one
// light client every page verifies with, the wallet and the node.
//
// Routes:   #/wallet  #/account[/<public key or ID>]  #/transfer[?from=<public key>]
//           #cosign=<hex of a transfer, signed by some of its signers>
//           #/org  #/governance[?domain=D]  #/proposal/<id>  #/sales  #/sale/<id>  #/outbox  #/network
//
// The light client starts from the genesis file the node serves at
// /genesis.json, the one thing it trusts; without it nothing is shown as
// verified.

import { LightClient, Remote } from './light.js';
import { Wallet } from './wallet.js';
import { Node } from './node.js';
import { h, fill } from './dom.js';
import { LANGS, lang, setLang, t } from './i18n.js';
import * as walletPage from './pages/wallet.js';
import * as accountPage from './pages/account.js';
import * as transferPage from './pages/transfer.js';
import * as cosignPage from './pages/cosign.js';
import * as orgPage from './pages/org.js';
import * as govPage from './pages/gov.js';
import * as proposalPage from './pages/govproposal.js';
import * as outboxPage from './pages/outbox.js';
import * as networkPage from './pages/network.js';
import * as salesPage from './pages/sales.js';
import * as salePage from './pages/sale.js';
import { Outbox } from './outbox.js';
import { loadVerified, saveVerified, setChain, timeText, unreachable } from './offline.js';

/** The wallet locks after this long without a key press or a click. */
const IDLE_LOCK_MS = 15 * 60 * 1000;

const NAV = ['wallet', 'account', 'transfer', 'org', 'governance', 'sales', 'network'];

const routes = [
  { nav: 'wallet', re: /^#\/wallet$/, page: walletPage },
  { nav: 'account', re: /^#\/account(?:\/([0-9a-fA-F]{40}|[0-9a-fA-F]{64}))?$/, page: accountPage },
  { nav: 'transfer', re: /^#\/transfer(?:\?(.*))?$/, page: transferPage },
  { nav: 'transfer', re: /^#cosign=([0-9a-fA-F]*)$/, page: cosignPage },
  { nav: 'org', re: /^#\/org$/, page: orgPage },
  { nav: 'governance', re: /^#\/governance(?:\?(.*))?$/, page: govPage },
  { nav: 'governance', re: /^#\/proposal\/([0-9]+)$/, page: proposalPage },
  { nav: 'sales', re: /^#\/sales$/, page: salesPage },
  { nav: 'sales', re: /^#\/sale\/([0-9]+)$/, page: salePage },
  { nav: 'network', re: /^#\/network$/, page: networkPage },
  { nav: 'transfer', re: /^#\/outbox$/, page: outboxPage },
];

/** What every page is given. */
export const app = {
  client: null, // the LightClient, once the genesis is read
  genesisError: null, // why there is no client
  remote: new Remote(''),
  node: new Node(''),
  outbox: null, // the Outbox (outbox.js), once the genesis is read
  genesis: null, // the genesis file, parsed (the nodes' API addresses)
  wallet: null,

  /** The wallet account the pages act for (public key hex), or null. */
  get current() {
    return localStorage.getItem('mass.current');
  },
  set current(pub) {
    if (pub) localStorage.setItem('mass.current', pub);
    else localStorage.removeItem('mass.current');
  },

  /** Goes to a route (a hash). */
  go(hash) {
    if (location.hash === hash) render();
    else location.hash = hash;
  },

  /** Draws the current page again (after a change of language, say). */
  refresh() {
    render();
  },
};

let pageAbort = null;

function route() {
  const hash = location.hash || '#/wallet';
  for (const r of routes) {
    const m = hash.match(r.re);
    if (m) return { ...r, params: m.slice(1) };
  }
  return null;
}

function render() {
  pageAbort?.abort();
  pageAbort = new AbortController();
  const r = route();
  drawNav(r?.nav);
  const main = document.getElementById('view');
  if (r === null) {
    fill(main, h('section', { class: 'card' }, h('p', {}, t('notFound')), h('a', { href: '#/wallet' }, t('nav.wallet'))));
    return;
  }
  try {
    fill(main, r.page.render(app, r.params, pageAbort.signal));
  } catch (e) {
    fill(main, h('p', { class: 'error', role: 'alert' }, String(e?.message ?? e)));
  }
}

function drawNav(active) {
  fill(document.getElementById('nav'), NAV.map((n) => h('a', {
    href: `#/${n}`, id: `nav-${n}`, class: n === active ? 'active' : null,
    'aria-current': n === active ? 'page' : null,
  }, t(`nav.${n}`))));
  const other = LANGS.find((l) => l !== lang());
  fill(document.getElementById('lang'), h('button', {
    type: 'button', id: 'lang-switch', lang: other === 'zh' ? 'zh-CN' : 'en',
    onclick: () => { setLang(other); document.title = t('title'); render(); drawFooter(); },
  }, t(`lang.${other}`)));
  const lock = document.getElementById('lock-state');
  if (app.wallet?.exists) {
    fill(lock, h('span', { class: app.wallet.unlocked ? 'unlocked' : 'locked' },
      app.wallet.unlocked ? t('wallet.unlocked') : t('wallet.locked')));
  } else {
    fill(lock);
  }
}

// Says whether this browser can verify: WebCrypto Ed25519 in a secure
// context, checked on RFC 8032's first test vector (the empty message).
async function canVerify() {
  const hex = (s) => Uint8Array.from(s.match(/../g), (b) => parseInt(b, 16));
  try {
    const key = await crypto.subtle.importKey('raw',
      hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'), { name: 'Ed25519' }, false, ['verify']);
    const sig = hex('e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b');
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, sig, new Uint8Array(0));
  } catch {
    return false;
  }
}

let verifies = null;

function drawFooter() {
  const status = document.getElementById('status');
  if (verifies === null) return;
  status.textContent = verifies ? t('status.ready') : t('status.cannot');
  status.dataset.ready = verifies ? 'yes' : 'no';
  const chain = document.getElementById('chain');
  if (app.client) fill(chain, t('chain', { chain: app.client.chainID }));
  else fill(chain, h('span', { class: 'error' }, t('noGenesis', { why: app.genesisError ?? '' })));
}

async function loadGenesis() {
  try {
    const resp = await fetch('genesis.json', { signal: AbortSignal.timeout(15_000) }); // preloaded by index.html
    if (!resp.ok) throw new Error(`GET genesis.json: HTTP ${resp.status}`);
    const text = await resp.text();
    app.client = await LightClient.fromGenesis(text);
    app.genesis = JSON.parse(text);
    document.documentElement.dataset.chain = app.client.chainID;
  } catch (e) {
    app.genesisError = e.message;
  }
}

/** While the header shows the organization's offline name: the retry. */
let orgRetry = 0;

async function showOrganization() {
  if (!app.client) return;
  clearTimeout(orgRetry);
  orgRetry = 0;
  try {
    const o = await app.client.fetchOrganization(app.remote);
    saveVerified('organization', '', o, o.height, Number(o.time));
    fill(document.getElementById('org'), h('span', { title: t('org.verified', { height: o.height }) }, o.organization.name));
  } catch (e) {
    // the name is a courtesy: the pages say what failed; offline, the last verified one
    const s = unreachable(e) ? await loadVerified('organization', '') : null;
    if (s) fill(document.getElementById('org'), h('span', { class: 'offline', title: t('offline.label', { height: s.height, time: timeText(s.timeMs, lang()) }) }, s.value.organization.name));
    // read again when the node may be back (the browser's online event, or in 10 s)
    if (unreachable(e)) orgRetry = setTimeout(showOrganization, 10_000);
  }
}

function idleLock() {
  let timer = 0;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => app.wallet?.lock(), IDLE_LOCK_MS);
  };
  for (const ev of ['keydown', 'pointerdown']) addEventListener(ev, arm, { passive: true });
  arm();
}

async function main() {
  document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  const [ok] = await Promise.all([canVerify(), loadGenesis()]);
  verifies = ok;
  if (app.client) {
    setChain(app.client.chainID);
    app.outbox = new Outbox(app.node);
    app.outbox.setChain(app.client.chainID);
  }
  try {
    app.wallet = await Wallet.open();
    app.wallet.onChange(() => drawNav(route()?.nav));
  } catch (e) {
    app.walletError = e.message;
  }
  addEventListener('hashchange', render);
  idleLock();
  render();
  drawFooter();
  document.body.dataset.app = 'ready';
  showOrganization();
  addEventListener('online', showOrganization);
  app.outbox?.start();
  registerWorker();
}

// The service worker (sw.js) keeps the app's files, so that the app opens
// when the node cannot be reached.
function registerWorker() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('sw.js').catch((e) => console.warn(`service worker: ${e.message}`));
}

main();
