// The fair ticket sale in the browser (docs/SALE.md), the JavaScript twin
// of package internal/app/sale and of light/sale.go:
//
// - the records, decoded as strictly as Go (records.go): the registry
//   (0x20), a sale (0x21), a kept request (0x22), a slot (0x23), a result
//   (0x24); truncated or trailing bytes, another kind, counts, states and
//   parameters out of range are refused (ProofError "record");
// - the ask a buyer sends the nodes (ask.go), the request's hash, its
//   encoding and the sale_request transaction (type 14), byte for byte
//   Go's, signatures included; the supervisor's sale_open (type 13);
// - FairTime (the median of 2f+1 stamps), Choose (the earliest valid
//   quorum of a buyer's stamps), the tie-break and order keys;
// - the proof of work of a non-member (pow.go), solved with WebCrypto's
//   SHA-256: bounded, cancellable, with progress;
// - verifySaleOutcome: light/sale.go's VerifySaleOutcome — the sale's,
//   the request's and the result's proofs verified by the light client at
//   one height, and what they say together.
//
// Integers: u64 and i64 are BigInt, u8/u16/u32 Numbers.

import { Reader, concat, equalBytes, fromHex, sha256, toHex, u32Bytes, u64Bytes, utf8Bytes } from './light/bytes.js';
import { verifySignature } from './light/ed25519.js';
import { Check, ProofError } from './light/errors.js';
import { accountID, namedKey } from './light/state.js';
import * as govtx from './govtx.js';
import { TxError } from './tx.js';
import { encodeParams, readParams } from './saleparams.js';

// The parameters' limits, encoding and checks are saleparams.js's.
export { MAX_DIFFICULTY, MAX_ITEM, MAX_KEPT, MAX_MAX_AGE, MAX_SUPPLY, MAX_WINDOW, MIN_MAX_AGE, checkParams, encodeParams } from './saleparams.js';

export const KIND = Object.freeze({ registry: 0x20, sale: 0x21, request: 0x22, slot: 0x23, result: 0x24 });
export const TYPE_SALE_OPEN = 13;
export const TYPE_SALE_REQUEST = 14;

export const MAX_SALE_NODES = 256;
export const MAX_STAMPS = 2 * Math.floor((MAX_SALE_NODES - 1) / 3) + 1;
export const MAX_OPEN = 16;
export const ASK_SIZE = 8 + 32 + 4 + 8 + 64;
export const STATE = Object.freeze({ 1: 'open', 2: 'closed' });

const MAX_U64 = (1n << 64n) - 1n;
const MAX_I64 = (1n << 63n) - 1n;
const DOMAIN_STAMP = 'mass/sale/stamp/v1';
const DOMAIN_ASK = 'mass/sale/ask/v1';

function bad(what, message) {
  return new ProofError(Check.RECORD, `${what}: ${message}`);
}

const u8 = (v) => new Uint8Array([v]);
function u16(v) {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, v);
  return b;
}
function i64Bytes(v) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(v));
  return b;
}
const tagged = (domain, msg) => concat(utf8Bytes(`${domain}\x00`), msg);

function reader(value, kind, what) {
  const r = new Reader(value, what, Check.RECORD);
  const k = r.u8('kind');
  if (k !== kind) throw bad(what, `kind 0x${k.toString(16)} is not ${what}`);
  return r;
}

// ---- records ----

/** The registry: 0x20 ‖ next:u64 ‖ count:u8 (≤ 16) ‖ (id:u64 ‖ due:i64) × count. */
export function decodeRegistry(value) {
  const r = reader(value, KIND.registry, 'the sales registry');
  const g = { next: r.u64('next'), open: [] };
  const n = r.u8('open');
  if (n > MAX_OPEN) throw bad('the sales registry', 'more than MaxOpen open sales');
  for (let i = 0; i < n; i++) g.open.push({ id: r.u64('sale'), due: r.i64('due') });
  r.done();
  return g;
}

function compareBytes(a, b) {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

function readOrderKey(r) {
  return { fair: r.i64('fair time'), tie: r.raw(32, 'tie') };
}

/** Compares order keys {fair (BigInt), tie (32 bytes)}: by fair time, then tie. */
export function compareOrderKeys(a, b) {
  if (a.fair < b.fair) return -1;
  if (a.fair > b.fair) return 1;
  return compareBytes(a.tie, b.tie);
}

/** A sale's record (0x21; see docs/SALE.md, "Records"). */
export function decodeSale(value) {
  const what = 'a sale';
  const r = reader(value, KIND.sale, what);
  const s = { id: r.u64('id'), opener: r.raw(20, 'opener'), proposal: r.u64('proposal') };
  s.params = readParams(r, what);
  s.opens = r.i64('opens');
  s.closes = r.i64('closes');
  const n = r.u16('nodes');
  if (n === 0 || n > MAX_SALE_NODES) throw bad(what, 'nodes out of 1 … MaxSaleNodes');
  s.nodes = [];
  for (let i = 0; i < n; i++) {
    const k = r.raw(32, 'node');
    if (i > 0 && compareBytes(k, s.nodes[i - 1]) <= 0) throw bad(what, 'nodes not in increasing order');
    s.nodes.push(k);
  }
  s.state = r.u8('state');
  s.kept = r.u32('kept');
  s.accepted = r.u64('accepted');
  s.evicted = r.u64('evicted');
  s.seed = r.raw(32, 'seed');
  s.sold = r.u32('sold');
  s.winners = r.u32('winners');
  s.unpaid = r.u32('unpaid');
  s.cut = readOrderKey(r);
  if (s.state !== 1 && s.state !== 2) throw bad(what, 'state');
  if (s.closes <= s.opens) throw bad(what, 'window');
  if (s.kept > s.params.maxRequests || s.sold > s.params.supply) throw bad(what, 'counters');
  r.done();
  return s;
}

/** f = (n−1)/3 of a sale's node set. */
export function saleF(s) {
  return Math.floor((s.nodes.length - 1) / 3);
}

/** The stamps a request carries: 2f+1. */
export function quorum(s) {
  return 2 * saleF(s) + 1;
}

/** The block time from which a sale is allocated: closes + max_age, saturating. */
export function due(s) {
  const d = s.closes + s.params.maxAge;
  return d > MAX_I64 ? MAX_I64 : d;
}

/** Reads a request (ReadRequest): sale:u64 ‖ buyer:[32] ‖ quantity:u32 ‖ nonce:u64 ‖ count:u8 ‖ (node:[32] ‖ time:i64 ‖ sig:[64]) × count. */
function readRequest(r, what) {
  const q = { sale: r.u64('sale'), buyer: r.raw(32, 'buyer'), quantity: r.u32('quantity'), nonce: r.u64('nonce'), stamps: [] };
  const n = r.u8('stamps');
  if (n === 0 || n > MAX_STAMPS) throw bad(what, 'stamps out of 1 … MaxStamps');
  for (let i = 0; i < n; i++) q.stamps.push({ node: r.raw(32, 'stamp node'), time: r.i64('stamp time'), sig: r.raw(64, 'stamp signature') });
  if (q.quantity === 0) throw bad(what, 'a quantity of 0');
  return q;
}

/** A kept request (0x22): request ‖ member:u8 (0 or 1) ‖ fair:i64. */
export function decodeKept(value) {
  const what = 'a request';
  const r = reader(value, KIND.request, what);
  const request = readRequest(r, what);
  const m = r.u8('member');
  if (m > 1) throw bad(what, 'member is not 0 or 1');
  const k = { request, member: m === 1, fair: r.i64('fair time') };
  r.done();
  return k;
}

/** A slot (0x23): fair:i64 ‖ identity:[20] ‖ quantity:u32 (> 0). */
export function decodeSlot(value) {
  const r = reader(value, KIND.slot, 'a slot');
  const s = { fair: r.i64('fair time'), identity: r.raw(20, 'identity'), quantity: r.u32('quantity') };
  if (s.quantity === 0) throw bad('a slot', 'quantity 0');
  r.done();
  return s;
}

/** A result (0x24): rank:u32 (≥ 1) ‖ granted:u32 ‖ paid:u64 ‖ fair:i64 ‖ tie:[32]. */
export function decodeResult(value) {
  const r = reader(value, KIND.result, 'a result');
  const res = { rank: r.u32('rank'), granted: r.u32('granted'), paid: r.u64('paid') };
  res.key = readOrderKey(r);
  if (res.rank === 0) throw bad('a result', 'rank 0');
  r.done();
  return res;
}

// ---- keys ----

async function saleRecordKey(tag, fields) {
  return (await sha256(concat(utf8Bytes(`mass/sale/${tag}\x00`), fields))).slice(0, 20);
}

/** The registry's key: N("sales"). */
export function registryKey() {
  return namedKey('sales');
}

/** A sale's key. */
export function saleKey(id) {
  return saleRecordKey('sale', u64Bytes(BigInt(id)));
}

/** An identity's kept request's key. */
export function requestKey(id, identity) {
  return saleRecordKey('request', concat(u64Bytes(BigInt(id)), identity));
}

/** An identity's result's key. */
export function resultKey(id, identity) {
  return saleRecordKey('result', concat(u64Bytes(BigInt(id)), identity));
}

// ---- requests, asks, stamps ----

function chainBytes(chainID) {
  const b = utf8Bytes(chainID);
  if (b.length === 0 || b.length > 64) throw new TxError(`a chain id of ${b.length} bytes`);
  return concat(u8(b.length), b);
}

/** The request hash the nodes stamp: SHA-256("mass/sale/request/v1" ‖ 0x00 ‖ len(chain) ‖ chain ‖ sale ‖ buyer ‖ quantity:u32 ‖ nonce:u64). */
export function requestHash(chainID, q) {
  return sha256(concat(utf8Bytes('mass/sale/request/v1\x00'), chainBytes(chainID), u64Bytes(BigInt(q.sale)), q.buyer,
    u32Bytes(q.quantity), u64Bytes(BigInt(q.nonce))));
}

/** A request's encoding (Request.MarshalTo). */
export function encodeRequest(q) {
  const parts = [u64Bytes(BigInt(q.sale)), q.buyer, u32Bytes(q.quantity), u64Bytes(BigInt(q.nonce)), u8(q.stamps.length)];
  for (const s of q.stamps) parts.push(s.node, i64Bytes(s.time), s.sig);
  return concat(...parts);
}

/** The ask's encoding (Ask.Marshal): sale ‖ buyer ‖ quantity ‖ nonce ‖ sig, 116 bytes. */
export function encodeAsk(a) {
  return concat(u64Bytes(BigInt(a.sale)), a.buyer, u32Bytes(a.quantity), u64Bytes(BigInt(a.nonce)), a.sig);
}

/** Decodes an ask as UnmarshalAsk (trailing bytes and a quantity of 0 refused). */
export function decodeAsk(b) {
  const r = new Reader(b, 'ask', Check.ENCODING);
  const a = { sale: r.u64('sale'), buyer: r.raw(32, 'buyer'), quantity: r.u32('quantity'), nonce: r.u64('nonce'), sig: r.raw(64, 'signature') };
  if (a.quantity === 0) throw new ProofError(Check.ENCODING, 'ask: a quantity of 0');
  r.done();
  return a;
}

/** Checks a request's fields as a builder must (the decoder's rules and the u64 range). */
function checkFields(q) {
  for (const [v, what] of [[q.sale, 'the sale'], [q.nonce, 'the nonce']]) {
    if (typeof v !== 'bigint' || v < 0n || v > MAX_U64) throw new TxError(`${what} is not an unsigned 64-bit number`);
  }
  if (!(q.buyer instanceof Uint8Array) || q.buyer.length !== 32) throw new TxError('the buyer is not a 32-byte key');
  if (!Number.isInteger(q.quantity) || q.quantity < 1 || q.quantity > 0xffffffff) throw new TxError('a quantity of 1 … 2^32−1');
}

/**
 * The buyer's signed ask for stamps of its request {sale, buyer, quantity,
 * nonce} (SignAsk): sign is an async function of the message returning 64
 * bytes. Returns {sale, buyer, quantity, nonce, sig, hash}.
 */
export async function signAsk(chainID, q, sign) {
  checkFields(q);
  const hash = await requestHash(chainID, q);
  const sig = new Uint8Array(await sign(tagged(DOMAIN_ASK, hash)));
  if (sig.length !== 64) throw new TxError('a signature of the wrong size');
  return { sale: q.sale, buyer: q.buyer, quantity: q.quantity, nonce: q.nonce, sig, hash };
}

/** What a node signs for a stamp (StampMessage): len(chain) ‖ chain ‖ sale:u64 ‖ hash:[32] ‖ time:i64. */
export function stampMessage(chainID, sale, hash, time) {
  return concat(chainBytes(chainID), u64Bytes(BigInt(sale)), hash, i64Bytes(time));
}

/** Whether a stamp's signature verifies for a request hash. */
export function verifyStamp(chainID, sale, hash, s) {
  return verifySignature(s.node, tagged(DOMAIN_STAMP, stampMessage(chainID, sale, hash, s.time)), s.sig);
}

/** Fair time: the (f+1)-th smallest of 2f+1 stamp times (BigInt), their median. */
export function fairTime(times) {
  const s = [...times].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return s[Math.floor(s.length / 2)];
}

/**
 * Choose as Go's sale.Choose: from the stamps gathered (any order; some
 * invalid, duplicated or by non-nodes), the quorum earliest valid stamps
 * of distinct nodes of the sale within its window, in increasing order of
 * node key. A node's first valid stamp counts; a stamp by a node already
 * seen is skipped before its signature is checked, as in Go. Throws
 * TxError when fewer than a quorum qualify.
 */
export async function choose(sale, chainID, hash, stamps) {
  const valid = [];
  const seen = new Set();
  const nodes = new Set(sale.nodes.map(toHex));
  for (const st of stamps) {
    const k = toHex(st.node);
    if (seen.has(k) || !nodes.has(k) || st.time < sale.opens || st.time >= sale.closes) continue;
    if (!(await verifyStamp(chainID, sale.id, hash, st))) continue;
    seen.add(k);
    valid.push(st);
  }
  const q = quorum(sale);
  if (valid.length < q) throw new TxError(`${valid.length} valid stamps of distinct nodes, a request needs ${q}`);
  valid.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : compareBytes(a.node, b.node)));
  return valid.slice(0, q).sort((a, b) => compareBytes(a.node, b.node));
}

/** The tie-break of an identity under a seed: SHA-256("mass/sale/tie/v1" ‖ 0x00 ‖ seed ‖ identity). */
export function tie(seed, identity) {
  return sha256(concat(utf8Bytes('mass/sale/tie/v1\x00'), seed, identity));
}

// ---- transactions ----

/**
 * The sale_request transaction (type 14) of a request with its stamps,
 * signed by the buyer: nonce 0, sender the buyer. Returns the signed
 * transaction ({type, sender, nonce, payload, sigs}); govtx.encode and
 * govtx.hash give its bytes and hash.
 */
export async function saleRequestTx(chainID, q, sign) {
  checkFields(q);
  if (q.stamps.length === 0 || q.stamps.length > MAX_STAMPS) throw new TxError(`${q.stamps.length} stamps, 1 … ${MAX_STAMPS}`);
  const t = { type: TYPE_SALE_REQUEST, sender: q.buyer, nonce: 0n, payload: encodeRequest(q), sigs: [] };
  return govtx.sign(chainID, t, sign);
}

/** The sale_open transaction (type 13) of a supervisor: the parameters, at the sender's nonce, signed. */
export async function saleOpenTx(chainID, { sender, nonce, params }, sign) {
  let payload;
  try {
    payload = encodeParams(params);
  } catch (e) {
    throw new TxError(e.message);
  }
  const t = { type: TYPE_SALE_OPEN, sender, nonce: BigInt(nonce), payload, sigs: [] };
  return govtx.sign(chainID, t, sign);
}

// ---- proof of work ----

function powInput(chainID, sale, key) {
  return concat(utf8Bytes('mass/sale/pow/v1\x00'), chainBytes(chainID), u64Bytes(BigInt(sale)), key, new Uint8Array(8));
}

/** The leading zero bits of a hash. */
export function leadingZeros(h) {
  let n = 0;
  for (const b of h) {
    if (b === 0) {
      n += 8;
      continue;
    }
    return n + Math.clz32(b) - 24;
  }
  return n;
}

/** SHA-256 of the proof-of-work input of a key for a sale at nonce. */
export function powHash(chainID, sale, key, nonce) {
  const b = powInput(chainID, sale, key);
  new DataView(b.buffer).setBigUint64(b.length - 8, BigInt(nonce));
  return sha256(b);
}

/** The proof of work was not found (limit reached) or was cancelled. */
export class PoWError extends Error {
  constructor(message, cancelled = false) {
    super(message);
    this.name = 'PoWError';
    this.cancelled = cancelled;
  }
}

/**
 * Finds the smallest nonce from start on whose proof-of-work hash has
 * difficulty leading zero bits (as Go's SolvePoW), trying at most limit
 * nonces, batch at a time; progress({tried, limit}) after each batch;
 * signal (an AbortSignal) cancels. Resolves to the nonce (BigInt).
 */
export async function solvePoW(chainID, sale, key, difficulty, { start = 0n, limit = 1n << 24n, batch = 512, progress = null, signal = null } = {}) {
  const base = powInput(chainID, sale, key);
  const subtle = globalThis.crypto.subtle;
  let tried = 0n;
  while (tried < limit) {
    if (signal?.aborted) throw new PoWError('cancelled', true);
    const n = Number(limit - tried < BigInt(batch) ? limit - tried : BigInt(batch));
    const work = [];
    for (let i = 0; i < n; i++) {
      const b = base.slice();
      new DataView(b.buffer).setBigUint64(b.length - 8, BigInt.asUintN(64, BigInt(start) + tried + BigInt(i)));
      work.push(subtle.digest('SHA-256', b));
    }
    const hashes = await Promise.all(work);
    for (let i = 0; i < n; i++) {
      if (leadingZeros(new Uint8Array(hashes[i])) >= difficulty) return BigInt.asUintN(64, BigInt(start) + tried + BigInt(i));
    }
    tried += BigInt(n);
    progress?.({ tried, limit });
  }
  throw new PoWError(`no proof of work of ${difficulty} bits within ${limit} nonces`);
}

// ---- the outcome, proven ----

/**
 * Verifies a buyer's outcome in a sale as light/sale.go's
 * VerifySaleOutcome: proofs are the three answers (the "proofs" of GET
 * /v1/sales/{id}/buyers/{account}?prove=1: the sale's record, the buyer's
 * kept request, its result), each verified by client at one height; then
 * what they say together. id is BigInt, buyer the account ID (20 bytes).
 * Returns {sale (decoded), closed, won, unpaid, outcome ("open", "won",
 * "unpaid", "lost"), rank, granted, paid, kept, request, member, quantity,
 * fair, stamps, tie, height, time, signers, nodes}. Throws ProofError.
 */
export async function verifySaleOutcome(client, id, buyer, proofs) {
  if (!Array.isArray(proofs) || proofs.length !== 3) throw new ProofError(Check.ENCODING, 'the answer has not the three proofs of a buyer');
  const want = [await saleKey(id), await requestKey(id, buyer), await resultKey(id, buyer)];
  for (let i = 0; i < 3; i++) {
    if (String(proofs[i]?.key ?? '').toLowerCase() !== toHex(want[i])) {
      throw new ProofError(Check.KEY, `the answers are not of sale ${id}'s records for ${toHex(buyer)}`);
    }
  }
  if (String(proofs[0].height) !== String(proofs[1].height) || String(proofs[0].height) !== String(proofs[2].height)) {
    throw new ProofError(Check.HEIGHT, 'the answers are of different heights');
  }
  const recs = [];
  for (const p of proofs) recs.push(await client.verifyLeaf(p));
  if (!recs[0].found) throw new ProofError(Check.RECORD, `no sale ${id} at height ${recs[0].height}`);
  const sl = decodeSale(recs[0].value);
  if (sl.id !== BigInt(id)) throw new ProofError(Check.RECORD, `sale ${id}'s record is of sale ${sl.id}`);
  const o = {
    sale: sl, closed: sl.state === 2, won: false, unpaid: false, rank: 0, granted: 0, paid: 0n, kept: false, request: null,
    member: false, quantity: 0, fair: 0n, stamps: [], tie: new Uint8Array(32),
    height: recs[0].height, time: recs[0].time, signers: recs[0].signers, nodes: recs[0].nodes,
  };
  if (o.closed) o.tie = await tie(sl.seed, buyer);
  if (recs[1].found) {
    const k = decodeKept(recs[1].value);
    if (!equalBytes(await accountID(k.request.buyer), buyer) || k.request.sale !== sl.id) {
      throw new ProofError(Check.RECORD, `the kept request is not ${toHex(buyer)}'s in sale ${id}`);
    }
    if (k.request.stamps.length !== quorum(sl) || fairTime(k.request.stamps.map((s) => s.time)) !== k.fair) {
      throw new ProofError(Check.RECORD, `the kept request's fair time is not the median of its ${k.request.stamps.length} stamps`);
    }
    Object.assign(o, { kept: true, request: k.request, member: k.member, quantity: k.request.quantity, fair: k.fair, stamps: k.request.stamps });
  }
  const key = { fair: o.fair, tie: o.tie };
  if (recs[2].found) {
    const res = decodeResult(recs[2].value);
    if (!o.closed || !equalBytes(res.key.tie, o.tie) || (o.kept && res.key.fair !== o.fair) || (res.granted > 0 && compareOrderKeys(res.key, sl.cut) > 0)) {
      throw new ProofError(Check.RECORD, "a result that is not the buyer's, or after the cut-off");
    }
    Object.assign(o, { rank: res.rank, granted: res.granted, paid: res.paid, won: res.granted > 0, unpaid: res.granted === 0 });
  } else if (o.closed && o.kept) {
    if (sl.sold !== sl.params.supply || compareOrderKeys(key, sl.cut) <= 0) {
      throw new ProofError(Check.RECORD, 'a kept request without a result, not after the cut-off of a sold-out sale');
    }
  }
  o.outcome = o.won ? 'won' : o.unpaid ? 'unpaid' : o.closed ? 'lost' : 'open';
  return o;
}

/** Hex of 32 bytes, or a key given as hex, as bytes. */
export function keyBytes(v, what = 'key') {
  return v instanceof Uint8Array ? v : fromHex(String(v).toLowerCase(), what, 32);
}
