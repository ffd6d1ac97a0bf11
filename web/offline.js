// The last verified state, kept for when the node cannot be reached: every
// verified answer a page shows (an account, the organization, a proposal)
// is saved here with the height it was verified at and that block's time,
// in the IndexedDB database "mass-offline" of the page's origin, one
// record per (network, kind, key). When the node is unreachable a page
// shows the saved record labelled "offline — verified at height H, <time>",
// never as fresh. Nothing here is a secret: these are the values the light
// client proved, as they were then.
//
//   saveVerified('account', idOrKey, result, result.height, Number(result.time));
//   const s = await loadVerified('account', idOrKey); // {value, height, timeMs, savedMs} or null
//
// A record is replaced only by one of the same height or higher. Values
// are kept by structured clone (BigInt and Uint8Array included).

import { h } from './dom.js';
import { lang, t } from './i18n.js';

const DB = 'mass-offline';
const STORE = 'verified';

let chain = '';
let dbp = null;

/** Names the network (its chain ID) whose records are read and written. */
export function setChain(chainID) {
  chain = String(chainID ?? '');
}

function open() {
  if (dbp === null) {
    dbp = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error('offline: the database is blocked'));
    });
    dbp.catch(() => { dbp = null; });
  }
  return dbp;
}

function id(kind, key) {
  return `${chain}\u0000${kind}\u0000${String(key).toLowerCase()}`;
}

function request(store, fn) {
  return new Promise((resolve, reject) => {
    const req = fn(store);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * Saves a verified value (anything structured clone takes) of kind ("account",
 * "organization", "proposal" …) under key, verified at height, whose
 * block's time is timeMs (ms since 1970). Resolves to true when saved,
 * false when a record of a higher height is kept. Never throws: the offline
 * copy is a convenience.
 */
export async function saveVerified(kind, key, value, height, timeMs) {
  try {
    const db = await open();
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, 'readwrite');
      const store = tx.objectStore(STORE);
      const k = id(kind, key);
      let saved = false;
      const get = store.get(k);
      get.onsuccess = () => {
        if (get.result && get.result.height > Number(height)) return;
        store.put({ kind, key: String(key).toLowerCase(), chain, value, height: Number(height), timeMs: Number(timeMs), savedMs: Date.now() }, k);
        saved = true;
      };
      tx.oncomplete = () => resolve(saved);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } catch {
    return false;
  }
}

/** The saved record of kind and key: {kind, key, value, height, timeMs, savedMs}, or null. */
export async function loadVerified(kind, key) {
  try {
    const db = await open();
    const r = await request(db.transaction(STORE, 'readonly').objectStore(STORE), (s) => s.get(id(kind, key)));
    return r ?? null;
  } catch {
    return null;
  }
}

/** Removes every saved record (of every network). */
export async function clearVerified() {
  const db = await open();
  await request(db.transaction(STORE, 'readwrite').objectStore(STORE), (s) => s.clear());
}

/**
 * Says whether an error means the node could not be reached (as opposed to
 * a refusal or a failed proof): a RemoteError or NodeError of status 0, or
 * 502, 503 or 504 (a proxy or gateway in front of a node that is down).
 */
export function unreachable(e) {
  return (e?.name === 'RemoteError' || e?.name === 'NodeError') && [0, 502, 503, 504].includes(e.status);
}

/** A time (ms) for people, in the page's language. */
export function timeText(ms, lang) {
  return new Date(Number(ms)).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'medium', timeStyle: 'medium' });
}

/** The badge of a saved state shown offline: "offline — verified at height H, <time>" (never as fresh). */
export function offlineBadge(saved) {
  return h('span', { class: 'badge offline', id: 'badge', data: { state: 'offline', height: saved.height, time: saved.timeMs } },
    '⚠ ', t('offline.label', { height: saved.height, time: timeText(saved.timeMs, lang()) }));
}
