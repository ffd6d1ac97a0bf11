// The node's write side, for the app: submitting a transaction (POST
// /v1/txs), and following it to its block through the commit events (GET
// /v1/events, server-sent events) with a poll of GET /v1/txs/{hash} as a
// fallback. What the node says here is its word, not a proof: the app
// checks inclusion against a certified header (verifyInclusion) and shows
// the verified accounts after the commit.

import { concat, sha256, toHex, u32Bytes, utf8Bytes } from './light/bytes.js';

/** How long a transaction is followed before the app says it was not included. */
export const FOLLOW_TIMEOUT_MS = 30_000;
/** The poll of GET /v1/txs/{hash} while following. */
export const POLL_MS = 2_000;

/** The node refused a request; code is the API's ("rejected", "duplicate" …), status the HTTP status (0: unreachable). */
export class NodeError extends Error {
  constructor(message, status = 0, code = '') {
    super(message);
    this.name = 'NodeError';
    this.status = status;
    this.code = code;
  }
}

async function errorOf(resp) {
  let e = null;
  try {
    e = (await resp.json())?.error;
  } catch {
    // not JSON: the status says it
  }
  return new NodeError(e?.message ?? `HTTP ${resp.status}`, resp.status, e?.code ?? '');
}

/** Node talks to one node's API (base "" for this page's origin). */
export class Node {
  #source = null; // the shared EventSource, while someone listens
  #listeners = new Set();
  #watching = false; // pagehide and pageshow are listened to

  constructor(base = '', { timeoutMs = 15_000, followTimeoutMs = FOLLOW_TIMEOUT_MS } = {}) {
    this.base = base.replace(/\/+$/, '');
    this.timeoutMs = timeoutMs; // of one request
    this.followTimeoutMs = followTimeoutMs; // how long follow waits for a block
  }

  async #fetch(path, init = {}) {
    try {
      return await fetch(this.base + path, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      throw new NodeError(`the node cannot be reached: ${e.message}`);
    }
  }

  /**
   * Submits a transaction's bytes. Resolves to {hash} when the node holds
   * it (202), or when it knew it already (409 duplicate: {hash, duplicate:
   * true}); throws NodeError with the node's reason otherwise (400
   * rejected: the application's reason).
   */
  async submit(bytes) {
    const resp = await this.#fetch('/v1/txs', {
      method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: bytes,
    });
    if (resp.status === 202) return { hash: (await resp.json()).hash };
    const err = await errorOf(resp);
    if (err.code === 'duplicate') return { hash: toHex(await sha256(bytes)), duplicate: true };
    throw err;
  }

  /** GET /v1/txs/{hash}: {status: "committed", height, code, log} or {status: "pending"}; null if unknown (404). */
  async txStatus(hash) {
    const resp = await this.#fetch(`/v1/txs/${hash}`);
    if (resp.status === 404) return null;
    if (!resp.ok) throw await errorOf(resp);
    return resp.json();
  }

  /** GET /v1/blocks/{height}: the certified block, or null if not certified yet (404). */
  async block(height) {
    const resp = await this.#fetch(`/v1/blocks/${height}`);
    if (resp.status === 404) return null;
    if (!resp.ok) throw await errorOf(resp);
    return resp.json();
  }

  /**
   * Calls fn(event) for every commit event ({height, hash, time_ms, txs,
   * results}) until the returned function is called. One EventSource
   * serves every listener; it closes with the last, and when the page
   * goes (pagehide: a stream left open may hold one of the browser's few
   * connections to the node until the node ends it, which with the
   * service worker in control made a later load wait a minute), to open
   * again if the page comes back from the back-forward cache.
   */
  onCommit(fn) {
    this.#listeners.add(fn);
    if (!this.#watching) {
      this.#watching = true;
      addEventListener('pagehide', () => this.#close());
      addEventListener('pageshow', (ev) => {
        if (ev.persisted && this.#listeners.size > 0) this.#open();
      });
    }
    this.#open();
    return () => {
      this.#listeners.delete(fn);
      if (this.#listeners.size === 0) this.#close();
    };
  }

  #open() {
    if (this.#source !== null) return;
    this.#source = new EventSource(`${this.base}/v1/events`);
    this.#source.addEventListener('commit', (m) => {
      let ev;
      try {
        ev = JSON.parse(m.data);
      } catch {
        return;
      }
      for (const l of [...this.#listeners]) l(ev);
    });
  }

  #close() {
    this.#source?.close();
    this.#source = null;
  }

  /**
   * Follows a transaction until it is in a block: resolves to {state:
   * "committed", height, code, log}, or {state: "timeout"} after timeoutMs
   * (this.followTimeoutMs unless given). Listens to the commit events and
   * polls GET /v1/txs/{hash} meanwhile (a commit may come before the stream
   * opens, or the stream may drop).
   */
  follow(hash, { timeoutMs = this.followTimeoutMs, pollMs = POLL_MS } = {}) {
    return new Promise((resolve) => {
      let done = false;
      let timer = 0;
      let poller = 0;
      const finish = (r) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearTimeout(poller);
        stop();
        resolve(r);
      };
      const stop = this.onCommit((ev) => {
        const i = (ev.txs ?? []).indexOf(hash);
        if (i < 0) return;
        const res = ev.results?.[i];
        finish({ state: 'committed', height: ev.height, code: res?.code ?? 0, log: res?.log ?? '' });
      });
      const poll = async () => {
        try {
          const st = await this.txStatus(hash);
          if (st?.status === 'committed') {
            finish({ state: 'committed', height: st.height, code: st.code ?? 0, log: st.log ?? '' });
            return;
          }
        } catch {
          // the events may still come; the timeout ends it
        }
        if (!done) poller = setTimeout(poll, pollMs);
      };
      poll();
      timer = setTimeout(() => finish({ state: 'timeout' }), timeoutMs);
    });
  }
}

/** A block's batch hash: H("mass/batch/v1" ‖ 0x00 ‖ count:u32 ‖ (len:u32 ‖ tx) × count). */
export function batchHash(txs) {
  const parts = [utf8Bytes('mass/batch/v1\x00'), u32Bytes(txs.length)];
  for (const t of txs) parts.push(u32Bytes(t.length), t);
  return sha256(concat(...parts));
}

function base64Bytes(s) {
  const b = atob(s);
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

/**
 * Checks that the transaction tx (bytes) is in the block at height, against
 * the header the light client verified: the block's transactions hash to
 * the certified header's batch hash and hold tx. Resolves to true, false
 * when the block lacks it or does not match, or null when the height is not
 * certified yet. Syncs the client's headers as needed.
 */
export async function verifyInclusion(node, client, remote, height, tx) {
  const b = await node.block(height);
  if (b === null) return null;
  await client.sync(remote, height);
  const txs = (b.txs ?? []).map(base64Bytes);
  const want = client.batchHash(height);
  if (toHex(await batchHash(txs)) !== want) return false;
  const hex = toHex(tx);
  return txs.some((t) => t.length === tx.length && toHex(t) === hex);
}
