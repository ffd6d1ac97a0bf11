// The app's service worker: it keeps the app's files (and the network's
// genesis) in the browser, so that the app opens without the node, and
// serves them from there first, fetching each again in the background to
// pick up a node's upgrade at the next load.
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
  'pages/account.js',
  'pages/common.js',
  'pages/cosign.js',
  'pages/gov.js',
  'pages/govcommon.js',
  'pages/govproposal.js',
  'pages/network.js',
  'pages/org.js',
  'pages/outbox.js',
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

async function precache() {
  const cache = await caches.open(CACHE);
  await Promise.all(FILES.map(async (f) => {
    const url = new URL(f, self.location).href;
    try {
      const resp = await fetch(url, { cache: 'no-cache' });
      if (resp.ok) {
        await cache.put(url, resp);
        return;
      }
      if (!OPTIONAL.has(f)) throw new Error(`${f}: HTTP ${resp.status}`);
    } catch (e) {
      if (!OPTIONAL.has(f)) throw e;
    }
  }));
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
    const update = refresh(cache, url);
    if (hit) {
      ev.waitUntil(update.catch(() => {})); // in the background; offline is fine
      return hit;
    }
    return update;
  })());
});
