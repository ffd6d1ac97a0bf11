// The network page (#/network): the nodes of the set, and what each says.
//
// The nodes are those of the node set the light client verified (from the
// genesis, followed through every change of set up to the node's
// certified height), with the API address the genesis file gives each
// genesis node. Every 2 s the page reads GET /v1/status of the node it is
// served from and of every other node at its API address (the nodes' APIs
// answer cross-origin requests: CORS): each node's height, certified
// height, era, peers and committed tx/s, or that it cannot be reached. It
// draws the committed tx/s of this page's node over the last 5 minutes as
// a small chart.
//
// What a node says of itself is its word, not a proof. A page served over
// https cannot read an http address (mixed content), and nodes of a later
// set than the genesis' have no known address.

import { h, fill, short } from '../dom.js';
import { lang, t } from '../i18n.js';

/** How often the status is read. */
export const TICK_MS = 2_000;
/** How much history the chart shows. */
export const WINDOW_MS = 5 * 60 * 1000;

// The samples of the chart, kept while the app is open: {t, v} of this origin's node.
const samples = [];

export function render(app, params, signal) {
  const root = h('div', { id: 'network-page' });
  start(app, root, signal);
  return root;
}

async function readStatus(app) {
  const resp = await fetch(`${app.node.base}/v1/status`, { cache: 'no-store', signal: AbortSignal.timeout(Math.min(app.node.timeoutMs, 5_000)) });
  if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
  return resp.json();
}

/** The base URL of a node's API address (host:port, or a URL). */
export function apiBase(addr) {
  if (/^https?:\/\//.test(addr)) return addr.replace(/\/+$/, '');
  const scheme = location.protocol === 'https:' ? 'https:' : 'http:';
  return `${scheme}//${addr}`;
}

/** Reads another node's status (cross-origin): {ok: true, status} or {ok: false, error}. */
async function readOther(addr) {
  try {
    const resp = await fetch(`${apiBase(addr)}/v1/status`, { cache: 'no-store', signal: AbortSignal.timeout(3_000) });
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    const st = await resp.json();
    if (typeof st !== 'object' || st === null || typeof st.height !== 'number') throw new Error('not a status');
    return { ok: true, status: st };
  } catch (e) {
    return { ok: false, error: e?.message ?? String(e) };
  }
}

function genesisAddrs(app) {
  const m = new Map();
  for (const n of app.genesis?.nodes ?? []) if (n?.key) m.set(String(n.key).toLowerCase(), n.api ?? '');
  return m;
}

function start(app, root, signal) {
  const self = h('section', { class: 'card', id: 'net-self', data: { reachable: 'unknown' } });
  const table = h('tbody', {});
  const setNote = h('p', { class: 'muted', id: 'net-set' });
  const chart = h('div', { id: 'net-chart' });
  fill(root,
    h('section', { class: 'card' }, h('h2', {}, t('net.title')), h('p', { class: 'muted' }, t('net.intro'))),
    self,
    h('section', { class: 'card' }, h('h3', {}, t('net.nodes')), setNote,
      h('table', { class: 'nodes', id: 'net-nodes' },
        h('thead', {}, h('tr', {}, ['net.index', 'net.key', 'net.api', 'net.reachable', 'net.height', 'net.certified', 'net.era', 'net.peers', 'net.rate'].map((k) => h('th', {}, t(k))))),
        table),
      h('p', { class: 'muted' }, t('net.statusNote'))),
    h('section', { class: 'card' }, h('h3', {}, t('net.chart')), chart));

  const addrs = genesisAddrs(app);
  let status = null; // the last status of this origin's node
  let ok = false; // whether the last read succeeded
  let error = '';
  let selfKey = ''; // this origin's node's key, once known
  const others = new Map(); // key → {ok, status} or {ok: false, error}
  let synced = false;
  let timer = 0;

  const setKeys = () => {
    if (app.client && app.client.height > 0) return app.client.nodeSet(app.client.height + 1);
    if (app.client) return app.client.nodeSet(1);
    return [...addrs.keys()];
  };

  const draw = () => {
    if (signal.aborted) return;
    self.dataset.reachable = ok ? 'yes' : 'no';
    if (ok) {
      self.dataset.height = status.height;
      self.dataset.certified = status.certified;
      fill(self, h('h3', {}, t('net.self')),
        h('p', { class: 'done', id: 'net-self-state' }, t('net.selfReachable', {
          node: status.member ? status.node : '—', height: status.height, certified: status.certified, era: status.era ?? 0,
          peers: status.peers, rate: rate(status.tx_per_second),
        })),
        h('p', { class: 'muted mono' }, t('net.chain', { chain: status.chain_id })));
    } else {
      fill(self, h('h3', {}, t('net.self')),
        h('p', { class: 'error', id: 'net-self-state' }, t('net.selfUnreachable', { message: error })),
        status ? h('p', { class: 'muted' }, t('net.lastKnown', { height: status.height, certified: status.certified })) : null);
    }
    const keys = setKeys();
    fill(setNote, app.client && app.client.height > 0
      ? t('net.setVerified', { nodes: keys.length, height: app.client.height })
      : t('net.setGenesis', { nodes: keys.length }));
    fill(table, keys.map((k, i) => {
      const mine = k === selfKey;
      const addr = addrs.get(k) ?? '';
      const other = mine ? null : others.get(k);
      const reach = mine ? ok : other?.ok;
      const st = mine ? (ok ? status : null) : other?.ok ? other.status : null;
      const otherKey = st && st.key && String(st.key).toLowerCase() !== k;
      return h('tr', {
        id: `node-${i}`, class: mine ? 'self' : null,
        title: other && !other.ok ? other.error : null,
        data: {
          key: k, reachable: reach === undefined ? 'unknown' : reach ? 'yes' : 'no', height: st?.height ?? '',
          certified: st?.certified ?? '', era: st?.era ?? '', self: mine ? 'yes' : 'no',
        },
      },
      h('td', {}, String(i)),
      h('td', { class: 'mono', title: k }, short(k, 8)),
      h('td', { class: 'mono' }, addr || h('span', { class: 'muted' }, t('net.noAddr'))),
      h('td', { class: `reach ${reach === undefined ? 'muted' : reach ? 'done' : 'error'}` },
        reach === undefined ? t('net.unknown') : reach ? t('net.up') : t('net.down'), mine ? h('small', {}, ` (${t('net.thisNode')})`) : null,
        otherKey ? h('small', { class: 'error' }, ` (${t('net.otherKey')})`) : null),
      h('td', { class: 'height' }, st ? String(st.height) : '—'),
      h('td', {}, st ? String(st.certified) : '—'),
      h('td', {}, st ? String(st.era ?? 0) : '—'),
      h('td', {}, st ? String(st.peers) : '—'),
      h('td', {}, st ? rate(st.tx_per_second) : '—'));
    }));
    fill(chart, drawChart());
  };

  const step = async () => {
    try {
      status = await readStatus(app);
      ok = true;
      error = '';
      if (status.key) selfKey = String(status.key).toLowerCase();
      samples.push({ t: Date.now(), v: Number(status.tx_per_second) || 0 });
      if (!synced && app.client && status.certified > 0) {
        synced = true;
        app.client.sync(app.remote, Number(status.certified)).then(draw, () => { synced = false; });
      }
    } catch (e) {
      ok = false;
      error = e?.message ?? String(e);
    }
    while (samples.length && samples[0].t < Date.now() - WINDOW_MS) samples.shift();
    const rest = setKeys().filter((k) => k !== selfKey && addrs.get(k));
    await Promise.all(rest.map(async (k) => others.set(k, await readOther(addrs.get(k)))));
    draw();
    if (!signal.aborted) timer = setTimeout(step, TICK_MS);
  };
  signal.addEventListener('abort', () => clearTimeout(timer));
  draw();
  step();
}

function rate(v) {
  const n = Number(v) || 0;
  return n.toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-US', { maximumFractionDigits: 2 });
}

const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/** The committed tx/s of the last WINDOW_MS, as an SVG polyline. */
function drawChart() {
  const W = 600;
  const H = 120;
  const now = Date.now();
  const max = Math.max(1, ...samples.map((s) => s.v));
  const pts = samples.map((s) => `${(((s.t - (now - WINDOW_MS)) / WINDOW_MS) * W).toFixed(1)},${(H - (s.v / max) * (H - 10)).toFixed(1)}`);
  const last = samples.at(-1);
  return [
    svg('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', height: H, role: 'img', 'aria-label': t('net.chart'), id: 'net-svg', class: 'chart' },
      svg('rect', { x: 0, y: 0, width: W, height: H, fill: 'none', stroke: 'currentColor', 'stroke-opacity': 0.2 }),
      svg('text', { x: 4, y: 12, 'font-size': 11, fill: 'currentColor' }, t('net.chartMax', { max: rate(max) })),
      svg('polyline', { points: pts.join(' '), fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5, id: 'net-line', 'data-points': samples.length })),
    h('p', { class: 'muted', id: 'net-rate' }, last ? t('net.rateNow', { rate: rate(last.v) }) : t('net.noSamples')),
  ];
}
