// The app's service worker: it keeps the app's files (and the network's
// genesis) in the browser, so that the app opens without the node, and
// serves them from there first. At each load of the page it asks the node
// for the page again, in the background: the node sends with every file
// the app's version (X-Mass-App-Version, a hash of all its files), and
// when the page's differs from the kept one, every file is fetched again,
// so a node's upgrade is used from the load after. The genesis is fetched
// again at each load. (Fetching every file again at every load, as this
// worker first did, made a load with the worker slower than one without.)
//
// It handles only the files of FILES, by GET, of its own origin. The
// node's API (/v1/…) is never touched here: the pages decide what to do
// when the node cannot be reached (the last verified state, the outbox).
// internal/web's test checks that FILES holds every file the app loads.
//
// The cache's name is derived from FILES: a new list makes a new cache and
// the old ones are deleted once this worker is active.

const FILES = [
  './', // index.html (the file server sends /index.html to /)
  'app.css',
  'app.js',
  'i18n.js',
  'dom.js',
  'wallet.js',
  'node.js',
  'tx.js',
  'nonces.js',
  'govtx.js',
  'govread.js',
  'govrecords.js',
  'offline.js',
  'outbox.js',
  'light.js',
  'members.js',
  'saleparams.js',
  'salerecords.js',
  'saleread.js',
  'pages/account.js',
  'pages/common.js',
  'pages/cosign.js',
  'pages/gov.js',
  'pages/govcommon.js',
  'pages/govproposal.js',
  'pages/network.js',
  'pages/org.js',
  'pages/outbox.js',
  'pages/sale.js',
  'pages/sales.js',
  'pages/transfer.js',
  'pages/wallet.js',
  'light/bytes.js',
  'light/chain.js',
  'light/ed25519.js',
  'light/errors.js',
  'light/smt.js',
  'light/state.js',
  'genesis.json',
];

/** Files the app still works without (a node serving no genesis says so). */
const OPTIONAL = new Set(['genesis.json']);

function fnv1a(s) {
  let x = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    x ^= s.charCodeAt(i);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x.toString(16).padStart(8, '0');
}

const CACHE = `mass-app-${fnv1a(FILES.join('\n'))}`;
const URLS = new Map(FILES.map((f) => [new URL(f, self.location).href, f]));

/** The header in which the node gives the app's version with each file. */
const VERSION = 'X-Mass-App-Version';
/** The page, whose version stands for the kept files'. */
const PAGE = new URL('./', self.location).href;

/**
 * Fetches every file (bypassing the HTTP cache's freshness) and keeps it;
 * the page last, so that its version is the kept files' only once all
 * are. Fails if a file other than OPTIONAL's cannot be fetched.
 */
async function precache() {
  const cache = await caches.open(CACHE);
  const get = async (f) => {
    const url = new URL(f, self.location).href;
    try {
      const resp = await fetch(url, { cache: 'no-cache' });
      if (resp.ok) return [url, resp];
      if (!OPTIONAL.has(f)) throw new Error(`${f}: HTTP ${resp.status}`);
    } catch (e) {
      if (!OPTIONAL.has(f)) throw e;
    }
    return null;
  };
  const got = (await Promise.all(FILES.map(get))).filter((x) => x !== null);
  for (const [url, resp] of got) {
    if (url !== PAGE) await cache.put(url, resp);
  }
  const page = got.find(([url]) => url === PAGE);
  if (page) await cache.put(PAGE, page[1]);
}

self.addEventListener('install', (ev) => {
  ev.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('mass-app-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

/** Fetches url again and keeps the answer if it is a good one. */
async function refresh(cache, url) {
  const resp = await fetch(url, { cache: 'no-cache' });
  if (resp.ok) await cache.put(url, resp.clone());
  return resp;
}

/**
 * Asks for the page again; if the app's version it comes with is not the
 * kept page's (or the node sends none), fetches every file again.
 */
async function update(kept) {
  const resp = await fetch(PAGE, { cache: 'no-cache' });
  if (!resp.ok) return;
  const v = resp.headers.get(VERSION);
  if (v !== null && v === kept.headers.get(VERSION)) return;
  await precache();
}

self.addEventListener('fetch', (ev) => {
  const req = ev.request;
  if (req.method !== 'GET') return;
  const u = new URL(req.url);
  u.hash = '';
  u.search = '';
  const url = u.href;
  if (!URLS.has(url)) return; // the API and anything else: the network's
  ev.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(url);
    if (!hit) return refresh(cache, url);
    // In the background; offline is fine.
    if (url === PAGE) ev.waitUntil(update(hit).catch(() => {}));
    else if (OPTIONAL.has(URLS.get(url))) ev.waitUntil(refresh(cache, url).catch(() => {}));
    return hit;
  })());
});
