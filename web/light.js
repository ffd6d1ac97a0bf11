// The Mass light client for the browser.
//
// Starting from the genesis file alone (its chain ID and first node set),
// it verifies segments of block headers and their certificates, following
// every change of the node set, then proofs of records (accounts, the
// organization) against the state root of any height it verified. It is
// the JavaScript twin of the Go package light/ and follows docs/FORMATS.md,
// "The light client": SHA-256 and Ed25519 by WebCrypto, integers as BigInt.
//
// Every failure throws a ProofError whose `check` names the check that
// failed; a page shows "proof failed: <message>" and never the data. A
// proof at a height not verified yet throws UnknownHeightError (a
// ProofError too). A node that cannot be reached or answers an HTTP error
// throws RemoteError.
//
//   const client = await LightClient.fromGenesis(genesisJSON);
//   const remote = new Remote('');            // this page's node
//   const acct = await client.fetchAccount(remote, idOrPublicKey);
//   // acct.account.name, acct.balance (BigInt), acct.height, acct.signers …

import { MAX_U64, equalBytes, fromHex, toHex, utf8Bytes, utf8String } from './light/bytes.js';
import {
  MAX_CHAIN_ID, MAX_NODES, checkNodeSet, decodeCertificate, decodeHeader, headerHash, nodeSetHash,
  verifyCertificate,
} from './light/chain.js';
import { weakKeyReason } from './light/ed25519.js';
import { Check, ProofError, RemoteError, UnknownHeightError } from './light/errors.js';
import { decodeProof, foldProof } from './light/smt.js';
import { accountID, decodeAccount, decodeOrganization, organizationKey } from './light/state.js';

export { Check, ProofError, RemoteError, UnknownHeightError };

/** The most headers of one segment (Go: light.MaxSegment). */
export const MAX_SEGMENT = 10_000;
/** The headers asked for at once by sync (Go: light.PageSize; the API's limit). */
export const PAGE_SIZE = 1000;
/** The largest answer read from a node, in characters. */
export const MAX_ANSWER = 64 << 20;

/**
 * Parses JSON, keeping integers exact: a number that is not a safe
 * integer but is written as one becomes a BigInt (u64 sums above 2^53).
 * Uses JSON.parse's source text access (Chromium 114+, Firefox 135+).
 */
export function parseJSON(text) {
  try {
    return JSON.parse(text, (key, value, context) => {
      if (typeof value !== 'number' || Number.isSafeInteger(value)) return value;
      const src = context?.source;
      if (src === undefined) {
        throw new ProofError(Check.UNSUPPORTED, 'this browser cannot read exact integers from JSON');
      }
      return /^-?[0-9]+$/.test(src) ? BigInt(src) : value;
    });
  } catch (e) {
    if (e instanceof ProofError) throw e;
    throw new ProofError(Check.ENCODING, `not JSON: ${e.message}`);
  }
}

function encodingError(message) {
  return new ProofError(Check.ENCODING, message);
}

function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An exact u64 from a JSON value (BigInt, or a Number that is a safe integer). */
function toU64(v, what) {
  if (typeof v === 'bigint' && v >= 0n && v <= MAX_U64) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw encodingError(`${what} is not an exact unsigned 64-bit integer (parse answers with parseJSON)`);
}

function optionalString(v, what) {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw encodingError(`${what} is not a string`);
  return v;
}

/** Decodes a segment as GET /v1/headers answers it (Go: light.Segment's UnmarshalJSON). */
function decodeSegment(seg) {
  if (!isObject(seg) || !Array.isArray(seg.headers)) throw encodingError('a segment has no "headers" array');
  if (seg.headers.length > MAX_SEGMENT) {
    throw encodingError(`${seg.headers.length} headers, limit ${MAX_SEGMENT}`);
  }
  const headers = seg.headers.map((x, i) => decodeHeader(fromHex(x, `header ${i}`)));
  const certificates = new Map(); // height (BigInt) → certificate
  const certs = seg.certificates ?? {};
  if (!isObject(certs)) throw encodingError('"certificates" is not an object');
  const certEntries = Object.entries(certs);
  if (certEntries.length > headers.length) {
    throw encodingError(`${certEntries.length} certificates for ${headers.length} headers`);
  }
  for (const [hs, x] of certEntries) {
    const height = /^[0-9]+$/.test(hs) ? BigInt(hs) : -1n;
    if (height < 0n || height > MAX_U64 || certificates.has(height)) {
      throw encodingError(`certificate height "${hs}"`);
    }
    certificates.set(height, decodeCertificate(fromHex(x, 'certificate')));
  }
  const nodeSets = new Map(); // hash hex → keys
  const sets = seg.node_sets ?? {};
  if (!isObject(sets)) throw encodingError('"node_sets" is not an object');
  const setEntries = Object.entries(sets);
  if (setEntries.length > headers.length) {
    throw encodingError(`${setEntries.length} node sets for ${headers.length} headers`);
  }
  for (const [hs, keys] of setEntries) {
    const hash = toHex(fromHex(hs, 'node set hash', 32));
    if (nodeSets.has(hash)) throw encodingError(`node set ${hash} given twice`);
    if (!Array.isArray(keys)) throw encodingError(`node set ${hash} is not an array`);
    if (keys.length > MAX_NODES) throw encodingError(`a node set of ${keys.length} keys`);
    nodeSets.set(hash, keys.map((k) => fromHex(k, 'node key', 32)));
  }
  return { headers, certificates, nodeSets };
}

/** Decodes a record's answer with its proof (Go: light.Leaf's UnmarshalJSON). */
async function decodeLeaf(j) {
  if (!isObject(j)) throw encodingError('the answer has no proof');
  const found = j.found ?? false;
  if (typeof found !== 'boolean') throw encodingError('"found" is not a boolean');
  const l = { height: toU64(j.height ?? 0, 'height'), found, sum: toU64(j.sum ?? 0, 'sum'), value: null };
  l.key = fromHex(j.key, 'key', 20);
  const value = optionalString(j.value, 'value');
  if (found) {
    l.value = fromHex(value, 'value');
  } else if (value !== '' || l.sum !== 0n) {
    throw new ProofError(Check.ABSENT_WITH_VALUE, 'an absent record with a value or sum');
  }
  l.proof = await decodeProof(fromHex(optionalString(j.proof, 'proof'), 'proof'));
  l.header = decodeHeader(fromHex(optionalString(j.header, 'header'), 'header'));
  l.certificate = decodeCertificate(fromHex(optionalString(j.certificate, 'certificate'), 'certificate'));
  return l;
}

/** The proof object of an API answer ({"height", …, "proof": {…}}), parsing text. */
function proofOf(answer) {
  const a = typeof answer === 'string' ? parseJSON(answer) : answer;
  if (!isObject(a) || !isObject(a.proof)) throw encodingError('the answer has no proof');
  return a.proof;
}

/** A key given as bytes or hex. */
function bytesOf(v, what) {
  return v instanceof Uint8Array ? v : fromHex(v, what);
}

/** Validates a genesis as Go's genesis.Validate does; returns its node keys. */
function validateGenesis(g) {
  const bad = (m) => new ProofError(Check.GENESIS, `genesis: ${m}`);
  if (!isObject(g)) throw bad('not a JSON object');
  if (typeof g.chain_id !== 'string') throw bad('no chain_id');
  const chainID = utf8Bytes(g.chain_id);
  if (chainID.length === 0 || chainID.length > MAX_CHAIN_ID) {
    throw bad(`chain id "${g.chain_id}" must have 1 to ${MAX_CHAIN_ID} bytes`);
  }
  if (!Array.isArray(g.nodes) || g.nodes.length === 0 || g.nodes.length > MAX_NODES) {
    throw bad(`${g.nodes?.length ?? 0} nodes, want 1 to ${MAX_NODES}`);
  }
  for (const f of ['window', 'batch_size']) {
    if (g[f] !== undefined && !(Number.isSafeInteger(g[f]) && g[f] >= 0)) throw bad(`${f} is not a count`);
  }
  const app = g.application ?? '';
  if (!['', 'org', 'kv', 'raw'].includes(app)) throw bad(`application "${app}": want "org", "kv" or "raw"`);
  const agreement = g.agreement ?? '';
  if (!['', 'quadratic', 'bracha'].includes(agreement)) {
    throw bad(`agreement "${agreement}": want "quadratic" or "bracha"`);
  }
  const seen = new Set();
  const keys = g.nodes.map((n, i) => {
    let k;
    try {
      k = fromHex(n?.key, `node ${i}'s key`, 32);
    } catch (e) {
      throw bad(e.message);
    }
    const why = weakKeyReason(k);
    if (why !== null) throw bad(`node ${i}: ${why}`);
    if (seen.has(n.key.toLowerCase())) throw bad(`node ${i}: key listed twice`);
    seen.add(n.key.toLowerCase());
    return k;
  });
  return { chainID, keys };
}

/**
 * A light client of one chain. It keeps the node set in force and, for each
 * verified height, the header hash, state root and time (the JS twin of
 * Go's light.Client). Methods that verify throw ProofError and leave the
 * client unchanged on failure.
 */
export class LightClient {
  #chainID; // bytes
  #eras; // [{from, keys, hash}], in order; the last is in force next
  #headers = []; // headers[i] is height i+1: {hash, root, time, batch}
  #queue = Promise.resolve(); // serializes segment verifications
  #syncing = Promise.resolve(); // serializes syncs

  constructor(chainID, eras) {
    this.#chainID = chainID;
    this.#eras = eras;
  }

  /** Starts a client at the genesis (an object or its JSON text): the only trust. */
  static async fromGenesis(genesis) {
    const g = typeof genesis === 'string' ? parseJSON(genesis) : genesis;
    const { chainID, keys } = validateGenesis(g);
    return new LightClient(chainID, [{ from: 1, keys, hash: await nodeSetHash(keys) }]);
  }

  /** The chain the client follows. */
  get chainID() {
    return utf8String(this.#chainID);
  }

  /** The latest verified height (0 before any). */
  get height() {
    return this.#headers.length;
  }

  #unknown(height) {
    return new UnknownHeightError(`light: height not verified yet: ${height} (verified up to ${this.height})`);
  }

  #era(height) {
    if (height < 1n || height > BigInt(this.height + 1)) throw this.#unknown(height);
    for (let i = this.#eras.length - 1; i >= 0; i--) {
      if (BigInt(this.#eras[i].from) <= height) return this.#eras[i];
    }
    throw new Error('light: no era covers height 1'); // not reached
  }

  #verified(height) {
    if (height < 1n || height > BigInt(this.height)) throw this.#unknown(height);
    return this.#headers[Number(height) - 1];
  }

  /** The node set (hex keys, in order) that certifies block height (up to height+1). */
  nodeSet(height) {
    return this.#era(BigInt(height)).keys.map(toHex);
  }

  /** The verified state root after block height, hex. */
  stateRoot(height) {
    return toHex(this.#verified(BigInt(height)).root);
  }

  /** The verified hash of the header at height, hex. */
  headerHash(height) {
    return toHex(this.#verified(BigInt(height)).hash);
  }

  /** The verified batch hash of the block at height (its transactions' hash), hex. */
  batchHash(height) {
    return toHex(this.#verified(BigInt(height)).batch);
  }

  /** The node sets and the first height each certifies: [{from, hash, nodes}]. */
  eras() {
    return this.#eras.map((e) => ({ from: e.from, hash: toHex(e.hash), nodes: e.keys.length }));
  }

  /**
   * Verifies a segment (the answer of GET /v1/headers, as an object or its
   * text) following the latest verified height and, if every check passes,
   * extends the client with it. Returns {from, to}.
   */
  verifySegment(segment) {
    const run = this.#queue.then(() => this.#verifySegment(segment));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #verifySegment(segment) {
    const seg = decodeSegment(typeof segment === 'string' ? parseJSON(segment) : segment);
    const n = seg.headers.length;
    if (n === 0) throw new ProofError(Check.SEGMENT, 'an empty segment');
    const hashes = await Promise.all(seg.headers.map(headerHash));
    const start = this.height;
    let cur = this.#eras[this.#eras.length - 1];
    const newEras = [];
    const added = [];
    let prev = start > 0 ? this.#headers[start - 1] : null;
    for (let i = 0; i < n; i++) {
      const h = seg.headers[i];
      const height = start + i + 1;
      this.#checkLink(h, height, prev);
      const changes = !equalBytes(h.nextNodes, cur.hash);
      if (changes || i === n - 1) {
        const cert = seg.certificates.get(BigInt(height));
        if (cert === undefined) {
          const why = changes ? 'a header that changes the node set' : 'the last header of a segment';
          throw new ProofError(Check.CERTIFICATE_MISSING, `no certificate for header ${height}, ${why}`);
        }
        await verifyCertificate(cert, h, hashes[i], cur.keys);
      }
      if (changes) {
        const keys = seg.nodeSets.get(toHex(h.nextNodes));
        if (keys === undefined) {
          throw new ProofError(Check.NODE_SET_MISSING,
            `header ${height} changes the node set to ${toHex(h.nextNodes)}, which the segment lacks`);
        }
        await checkNodeSet(keys, h.nextNodes);
        cur = { from: height + 1, keys, hash: h.nextNodes };
        newEras.push(cur);
      }
      prev = { hash: hashes[i], root: h.stateRoot, time: h.time, batch: h.batchHash };
      added.push(prev);
    }
    this.#headers.push(...added);
    this.#eras.push(...newEras);
    return { from: start + 1, to: this.height };
  }

  /** Checks a header's chain, height, link and time against the previous one. */
  #checkLink(h, height, prev) {
    if (!equalBytes(h.chainID, this.#chainID)) {
      throw new ProofError(Check.CHAIN_ID,
        `header ${height} is of chain "${utf8String(h.chainID)}", not "${this.chainID}"`);
    }
    if (h.height !== BigInt(height)) {
      throw new ProofError(Check.HEIGHT, `header of height ${h.height} where ${height} is next`);
    }
    if (prev === null && !equalBytes(h.prev, new Uint8Array(32))) {
      throw new ProofError(Check.LINK, 'the first header links to a previous one');
    }
    if (prev !== null && !equalBytes(h.prev, prev.hash)) {
      throw new ProofError(Check.LINK, `header ${height} does not link to header ${height - 1}`);
    }
    if (prev !== null && h.time < prev.time) {
      throw new ProofError(Check.TIME, `header ${height} goes back in time`);
    }
  }

  /**
   * Verifies a record's answer with its proof (the "proof" object of an
   * API answer, Go's light.Leaf): the header is the verified one of its
   * height, the certificate certifies it under that height's set, and the
   * proof leads to the header's state root with the value and sum (found)
   * or with the key absent. Returns what was proven: {height, time, key,
   * found, value (bytes or null), sum, supply, headerHash, stateRoot,
   * signers, nodes}.
   */
  async verifyLeaf(leaf) {
    return this.#verifyLeaf(await decodeLeaf(typeof leaf === 'string' ? parseJSON(leaf) : leaf));
  }

  async #verifyLeaf(l) {
    const want = this.#verified(l.height);
    const hash = await headerHash(l.header);
    if (l.header.height !== l.height || !equalBytes(hash, want.hash)) {
      throw new ProofError(Check.HEADER, `the answer's header is not the verified header of height ${l.height}`);
    }
    const era = this.#era(l.height);
    await verifyCertificate(l.certificate, l.header, hash, era.keys);
    const { root, total } = await foldProof(l.proof, l.key, l.found ? l.value : null, l.sum);
    if (!equalBytes(root, l.header.stateRoot)) {
      throw new ProofError(Check.STATE_ROOT, `the proof does not lead to the state root of height ${l.height}`);
    }
    return {
      height: Number(l.height),
      time: l.header.time,
      key: toHex(l.key),
      found: l.found,
      value: l.value,
      sum: l.sum,
      supply: total,
      headerHash: toHex(hash),
      stateRoot: toHex(l.header.stateRoot),
      signers: l.certificate.votes.map((v) => v.signer),
      nodes: era.keys.length,
    };
  }

  /**
   * Verifies an answer of GET /v1/accounts/{id}?prove=1 (object or text)
   * about an account, given as its ID (40 hex digits or 20 bytes) or its
   * public key (64 hex digits or 32 bytes). Returns the proven leaf (see
   * verifyLeaf) with `account` ({id, role, flags, applying, frozen,
   * suspended, nonce, used, name, balance}) or null when proven absent, and
   * `balance` (BigInt; 0 when absent). The answer's unproven "account"
   * field is ignored.
   */
  async verifyAccount(answer, account) {
    const l = await decodeLeaf(proofOf(answer));
    let id = bytesOf(account, 'account');
    if (id.length === 32) id = await accountID(id);
    if (id.length !== 20) throw encodingError('an account is an ID (20 bytes) or a public key (32)');
    if (!equalBytes(l.key, id)) {
      throw new ProofError(Check.KEY, `the answer is about key ${toHex(l.key)}, not account ${toHex(id)}`);
    }
    const v = await this.#verifyLeaf(l);
    if (!v.found) return { ...v, account: null, balance: 0n };
    return { ...v, account: { id: toHex(id), ...decodeAccount(v.value), balance: v.sum }, balance: v.sum };
  }

  /**
   * Verifies an answer of GET /v1/organization?prove=1 (object or text).
   * Returns the proven leaf with `organization` ({name, policy, members,
   * supervisors, applicants}).
   */
  async verifyOrganization(answer) {
    const l = await decodeLeaf(proofOf(answer));
    const key = await organizationKey();
    if (!equalBytes(l.key, key)) {
      throw new ProofError(Check.KEY, `the answer is about key ${toHex(l.key)}, not the organization`);
    }
    const v = await this.#verifyLeaf(l);
    if (!v.found) throw new ProofError(Check.RECORD, 'the organization record is absent');
    return { ...v, organization: decodeOrganization(v.value) };
  }

  /**
   * Verifies the chain up to height, asking remote for PAGE_SIZE headers at
   * a time. Calls run one after another, so that pages verifying several
   * records at once never ask for the same headers twice (a segment that
   * no longer follows the verified height would be refused).
   */
  sync(remote, height) {
    const run = this.#syncing.then(() => this.#sync(remote, height));
    this.#syncing = run.catch(() => {});
    return run;
  }

  async #sync(remote, height) {
    while (this.height < height) {
      const from = this.height + 1;
      const to = Math.min(height, from + PAGE_SIZE - 1);
      await this.verifySegment(await remote.segment(from, to));
    }
  }

  /**
   * Asks remote for an account with its proof (at height, 0 for the
   * latest), verifies the headers up to the proof's height if needed, and
   * verifies the answer (see verifyAccount).
   */
  async fetchAccount(remote, account, height = 0) {
    const answer = await remote.account(account, height);
    await this.#syncTo(remote, answer);
    return this.verifyAccount(answer, account);
  }

  /** As fetchAccount, for the organization record. */
  async fetchOrganization(remote, height = 0) {
    const answer = await remote.organization(height);
    await this.#syncTo(remote, answer);
    return this.verifyOrganization(answer);
  }

  async #syncTo(remote, answer) {
    const h = toU64(proofOf(answer).height ?? 0, 'height');
    if (h > BigInt(this.height) && h <= BigInt(Number.MAX_SAFE_INTEGER)) await this.sync(remote, Number(h));
  }
}

/**
 * Remote asks a node's HTTP API for headers and proofs. It trusts nothing:
 * every answer goes through a LightClient.
 */
export class Remote {
  /**
   * @param {string} base the API's address ("" for this page's origin)
   * @param {{timeoutMs?: number, fetch?: typeof fetch}} options
   */
  constructor(base = '', { timeoutMs = 30_000, fetch: f } = {}) {
    this.base = base.replace(/\/+$/, '');
    this.timeoutMs = timeoutMs;
    this.fetch = f ?? ((...args) => globalThis.fetch(...args));
  }

  /** GETs path and parses the answer with parseJSON. */
  async get(path) {
    let resp;
    let text;
    try {
      resp = await this.fetch(this.base + path, { signal: AbortSignal.timeout(this.timeoutMs) });
      text = await resp.text();
    } catch (e) {
      throw new RemoteError(`light: asking ${this.base || 'the node'} for ${path}: ${e.message}`);
    }
    if (text.length > MAX_ANSWER) throw new RemoteError(`light: the answer to ${path} is over ${MAX_ANSWER} bytes`);
    if (!resp.ok) {
      let e = null;
      try {
        e = JSON.parse(text)?.error;
      } catch {
        // not JSON: the status says it
      }
      if (e?.message) throw new RemoteError(`light: ${path}: ${e.message} (${e.code})`, resp.status, e.code ?? '');
      throw new RemoteError(`light: ${path}: HTTP ${resp.status}`, resp.status);
    }
    try {
      return parseJSON(text);
    } catch (e) {
      throw new ProofError(Check.ENCODING, `the answer to ${path} is not the expected JSON: ${e.message}`);
    }
  }

  /** The headers from..to with what verifying them needs. */
  segment(from, to) {
    return this.get(`/v1/headers?from=${from}&to=${to}`);
  }

  /** An account (ID or public key, hex or bytes) with its proof, at height (0: the latest). */
  account(account, height = 0) {
    const id = account instanceof Uint8Array ? toHex(account) : account;
    return this.get(`/v1/accounts/${encodeURIComponent(id)}?prove=1${height ? `&height=${height}` : ''}`);
  }

  /** The organization record with its proof, at height (0: the latest). */
  organization(height = 0) {
    return this.get(`/v1/organization?prove=1${height ? `&height=${height}` : ''}`);
  }

  /** The node's status (unverified: a hint of the latest certified height). */
  status() {
    return this.get('/v1/status');
  }
}
