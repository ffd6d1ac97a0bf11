// The outbox: transactions signed while the node could not be reached.
// When a submission fails because the node is unreachable (a network
// error, not a refusal), the fully signed transaction is kept here, in the
// IndexedDB database "mass-outbox" of the page's origin, with what it is
// (type, from, to, amount, memo, nonce, hash). When the network returns
// (the browser's "online" event, and a retry with backoff meanwhile: 1 s,
// doubling, at most maxBackoffMs) each waiting item is submitted in the
// order it was signed, and followed to its block. Each item ends
//
//   committed   the node accepted it and it is in block H (code 0)
//   failed      in block H, but its execution failed (code, log)
//   refused     the node refused it (its reason); a 409 "duplicate" is not a
//               refusal: the node has it already, and its status is looked up
//
// and stays listed until the member removes it. Its nonce is held (the
// transfer page does not offer it again) while it waits, and let go when
// it is committed or refused (nonces.js).
//
// One outbox runs per page; two tabs may both submit an item, which the
// node takes once (the second gets "duplicate").

import { release } from './nonces.js';
import { unreachable } from './offline.js';

const DB = 'mass-outbox';
const STORE = 'items';

/** The states an item may be in. */
export const WAITING = 'waiting'; // not accepted by a node yet
export const ACCEPTED = 'accepted'; // a node holds it; not in a block yet
export const COMMITTED = 'committed';
export const FAILED = 'failed';
export const REFUSED = 'refused';

const OPEN = new Set([WAITING, ACCEPTED]);

let dbp = null;

function open() {
  if (dbp === null) {
    dbp = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => {
        const s = req.result.createObjectStore(STORE, { keyPath: 'hash' });
        s.createIndex('chain', 'chain');
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error('outbox: the database is blocked'));
    });
    dbp.catch(() => { dbp = null; });
  }
  return dbp;
}

async function run(mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = fn(tx.objectStore(STORE));
    let result;
    req.onsuccess = () => { result = req.result; };
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** The outbox of one node (node.js's Node); emits "change" when an item changes. */
export class Outbox extends EventTarget {
  #chain = '';
  #timer = 0;
  #backoff = 0;
  #running = null;
  #again = false;
  #following = new Set();
  #started = false;

  constructor(node, { minBackoffMs = 1_000, maxBackoffMs = 10_000 } = {}) {
    super();
    this.node = node;
    this.minBackoffMs = minBackoffMs;
    this.maxBackoffMs = maxBackoffMs;
    this.#backoff = minBackoffMs;
  }

  /** The network (chain ID) whose items are listed and submitted. */
  setChain(chainID) {
    this.#chain = String(chainID);
  }

  #changed() {
    this.dispatchEvent(new Event('change'));
  }

  /**
   * Keeps a signed transaction: {type ("transfer"), bytes (Uint8Array),
   * hash (hex), from, to (public keys, hex), amount, nonce (BigInt or
   * string), memo}. Schedules a submission.
   */
  async add(item) {
    const rec = {
      hash: item.hash,
      chain: this.#chain,
      type: item.type ?? 'transfer',
      bytes: item.bytes,
      from: item.from,
      to: item.to ?? '',
      amount: String(item.amount ?? ''),
      nonce: String(item.nonce),
      memo: item.memo ?? '',
      added: Date.now(),
      state: WAITING,
      tries: 0,
    };
    const old = await run('readonly', (s) => s.get(rec.hash));
    if (old && old.state !== REFUSED) return old; // kept already
    await run('readwrite', (s) => s.put(rec));
    this.#changed();
    this.#schedule(this.#backoff);
    return rec;
  }

  /** The items of this network, oldest first. */
  async items() {
    const all = await run('readonly', (s) => s.index('chain').getAll(this.#chain));
    return all.sort((a, b) => a.added - b.added);
  }

  /** Removes an item (any state: a waiting one is then never submitted, and its nonce is let go). */
  async remove(hash) {
    const it = await run('readonly', (s) => s.get(hash));
    await run('readwrite', (s) => s.delete(hash));
    if (it && OPEN.has(it.state)) release(it.chain, it.from, it.nonce);
    this.#changed();
  }

  /** The nonces (BigInt) held by open items of sender. */
  async heldNonces(sender) {
    try {
      return new Set((await this.items()).filter((i) => i.from === sender && OPEN.has(i.state)).map((i) => BigInt(i.nonce)));
    } catch {
      return new Set();
    }
  }

  /** Starts submitting: now, at each "online" event, and with backoff while items wait. */
  start() {
    if (this.#started) return;
    this.#started = true;
    addEventListener('online', () => this.retryNow());
    this.retryNow();
  }

  /** Submits the waiting items now (and resets the backoff). */
  retryNow() {
    this.#backoff = this.minBackoffMs;
    this.#schedule(0);
  }

  #schedule(ms) {
    if (!this.#started) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.flush(), ms);
  }

  async #put(rec) {
    await run('readwrite', (s) => s.put(rec));
    this.#changed();
  }

  /** Submits every waiting item, looks up the accepted ones; resolves when done with this round. */
  flush() {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#flush().catch(() => false).then((down) => {
      this.#running = null;
      if (this.#again) {
        this.#again = false;
        this.#schedule(0);
      } else if (down) {
        this.#schedule(this.#backoff);
        this.#backoff = Math.min(this.#backoff * 2, this.maxBackoffMs);
      } else {
        this.#backoff = this.minBackoffMs;
      }
    });
    return this.#running;
  }

  // Returns true when items still wait (the node is down, or an accepted
  // item is not in a block yet and not followed).
  async #flush() {
    let more = false;
    for (const it of await this.items()) {
      if (!OPEN.has(it.state)) continue;
      if (it.state === WAITING) {
        it.tries++;
        it.lastTry = Date.now();
        let sub;
        try {
          sub = await this.node.submit(it.bytes);
        } catch (e) {
          if (unreachable(e)) {
            await this.#put(it);
            return true; // the next ones would fail alike
          }
          it.state = REFUSED;
          it.reason = e.message;
          it.code = e.code ?? '';
          it.status = e.status ?? 0;
          release(it.chain, it.from, it.nonce);
          await this.#put(it);
          continue;
        }
        it.state = ACCEPTED;
        it.duplicate = !!sub.duplicate;
        await this.#put(it);
      }
      // Accepted: in a block already (a duplicate may be), or to follow.
      let st;
      try {
        st = await this.node.txStatus(it.hash);
      } catch (e) {
        if (unreachable(e)) return true;
        st = { status: 'pending' };
      }
      if (st?.status === 'committed') {
        await this.#done(it, st);
      } else if (st === null && !this.#following.has(it.hash)) {
        it.state = WAITING; // the node no longer knows it: submit it again
        await this.#put(it);
        more = true;
      } else {
        this.#follow(it);
      }
    }
    return more;
  }

  async #done(it, st) {
    it.height = Number(st.height);
    it.code = st.code ?? 0;
    it.log = st.log ?? '';
    it.state = it.code === 0 ? COMMITTED : FAILED;
    release(it.chain, it.from, it.nonce);
    await this.#put(it);
  }

  #follow(it) {
    if (this.#following.has(it.hash)) return;
    this.#following.add(it.hash);
    this.node.follow(it.hash).then(async (r) => {
      this.#following.delete(it.hash);
      if (r.state === 'committed') {
        const cur = await run('readonly', (s) => s.get(it.hash));
        if (cur && cur.state === ACCEPTED) await this.#done(cur, r);
      } else {
        this.#schedule(this.#backoff); // not in a block in time: look again
      }
    }, () => {
      this.#following.delete(it.hash);
      this.#schedule(this.#backoff);
    });
  }
}
