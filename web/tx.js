// Transactions, built and signed in the browser exactly as Go builds them
// (internal/app/tx; docs/FORMATS.md, "Transactions"):
//
//   tx     = version:u8 (=1) ‖ type:u8 ‖ sender:[32] ‖ nonce:u64 ‖ payload:bytes (≤ 32 KiB)
//            ‖ count:u8 ‖ count × signature:[64]
//   body   = tx up to and including the payload
//   signed = "mass/tx/v1" ‖ 0x00 ‖ len(chain id):u8 ‖ chain id ‖ body
//
// A transfer's payload is to:[32] ‖ amount:u64 (> 0) ‖ memo:bytes (≤ 256);
// it is signed by the sender, then by the recipient, over the same bytes.
// A transaction's hash is SHA-256 of its whole encoding. This module
// handles transfers, the only type with two signers (the one the app
// passes between people); decoding is as strict as Go's.

import { Reader, concat, equalBytes, fromHex, sha256, toHex, u32Bytes, u64Bytes, utf8Bytes } from './light/bytes.js';
import { verifySignature, weakKeyReason } from './light/ed25519.js';
import { ProofError } from './light/errors.js';

export const VERSION = 1;
export const TYPE_TRANSFER = 1;
export const MAX_SIZE = 64 << 10;
export const MAX_PAYLOAD = 32 << 10;
export const MAX_SIGS = 8;
export const MAX_MEMO = 256;
export const MAX_CHAIN_ID = 64;
const MAX_U64 = (1n << 64n) - 1n;

const TX_TAG = utf8Bytes('mass/tx/v1\x00');

/** A transaction that cannot be built or decoded; the message says why. */
export class TxError extends Error {
  constructor(message) {
    super(message);
    this.name = 'TxError';
  }
}

function key32(v, what) {
  const b = v instanceof Uint8Array ? v : fromHexOr(v, what, 32);
  if (b.length !== 32) throw new TxError(`${what}: ${b.length} bytes, want 32`);
  return b;
}

function fromHexOr(s, what, size) {
  try {
    return fromHex(s, what, size);
  } catch (e) {
    throw new TxError(e.message);
  }
}

function u64(v, what) {
  let x;
  try {
    x = BigInt(v);
  } catch {
    throw new TxError(`${what} is not a whole number`);
  }
  if (x < 0n || x > MAX_U64) throw new TxError(`${what} is not an unsigned 64-bit number`);
  return x;
}

/**
 * An unsigned transfer: sender and to are public keys (32 bytes or 64 hex
 * digits), nonce and amount BigInt (or what BigInt takes), memo a string
 * (its UTF-8 bytes) or bytes.
 */
export function transfer({ sender, nonce, to, amount, memo = '' }) {
  const t = {
    type: TYPE_TRANSFER,
    sender: key32(sender, 'sender'),
    nonce: u64(nonce, 'nonce'),
    to: key32(to, 'recipient'),
    amount: u64(amount, 'amount'),
    memo: memo instanceof Uint8Array ? memo.slice() : utf8Bytes(memo),
    sigs: [],
  };
  if (t.amount === 0n) throw new TxError('a transfer of 0');
  if (t.memo.length > MAX_MEMO) throw new TxError(`the memo has ${t.memo.length} bytes, limit ${MAX_MEMO}`);
  if (equalBytes(t.sender, t.to)) throw new TxError('a transfer to its own sender');
  return t;
}

/** The keys that sign, in order: the sender, then the recipient. */
export function signers(t) {
  return [t.sender, t.to];
}

function payload(t) {
  return concat(t.to, u64Bytes(t.amount), u32Bytes(t.memo.length), t.memo);
}

/** The body: the transaction without its signatures. */
export function body(t) {
  const p = payload(t);
  return concat(new Uint8Array([VERSION, t.type]), t.sender, u64Bytes(t.nonce), u32Bytes(p.length), p);
}

/** What every signer signs: "mass/tx/v1" ‖ 0x00 ‖ len(chain id) ‖ chain id ‖ body. */
export function signedMessage(chainID, t) {
  const id = utf8Bytes(chainID);
  if (id.length === 0 || id.length > MAX_CHAIN_ID) throw new TxError(`chain id of ${id.length} bytes`);
  return concat(TX_TAG, new Uint8Array([id.length]), id, body(t));
}

/** The canonical encoding, with the signatures made so far. */
export function encode(t) {
  return concat(body(t), new Uint8Array([t.sigs.length]), ...t.sigs);
}

/** The transaction's hash (hex): SHA-256 of its encoding. */
export async function hash(t) {
  return toHex(await sha256(encode(t)));
}

/** Whether every signer has signed. */
export function complete(t) {
  return t.sigs.length === signers(t).length;
}

/** The public key that signs next, or null when complete. */
export function nextSigner(t) {
  return complete(t) ? null : signers(t)[t.sigs.length];
}

/**
 * Appends the next signature, made by sign (an async function of the
 * message returning 64 bytes) for publicKey, which must be the next signer.
 * Returns a new transaction; t is unchanged.
 */
export async function addSignature(chainID, t, publicKey, sign) {
  const want = nextSigner(t);
  if (want === null) throw new TxError('already signed by both parties');
  if (!equalBytes(want, key32(publicKey, 'signer'))) {
    throw new TxError(`signature ${t.sigs.length + 1} must be by ${toHex(want)}, not ${toHex(key32(publicKey, 'signer'))}`);
  }
  const sig = new Uint8Array(await sign(signedMessage(chainID, t)));
  if (sig.length !== 64) throw new TxError('a signature of the wrong size');
  return { ...t, sigs: [...t.sigs, sig] };
}

/**
 * Checks the signatures the transaction has (for this chain); returns the
 * index of the first that does not verify, or -1.
 */
export async function checkSignatures(chainID, t) {
  const msg = signedMessage(chainID, t);
  const keys = signers(t);
  for (let i = 0; i < t.sigs.length; i++) {
    if (!(await verifySignature(keys[i], msg, t.sigs[i]))) return i;
  }
  return -1;
}

/**
 * Decodes a transfer (bytes or hex) as Go's tx.Unmarshal does, or, with
 * partial, as tx.UnmarshalPartial (fewer signatures than needed, while it
 * passes between its signers). Throws TxError.
 */
export function decode(raw, { partial = false } = {}) {
  const b = typeof raw === 'string' ? fromHexOr(raw.trim(), 'the transaction', -1) : raw;
  if (b.length > MAX_SIZE) throw new TxError(`${b.length} bytes, limit ${MAX_SIZE}`);
  try {
    const r = new Reader(b, 'transaction');
    const version = r.u8('version');
    if (version !== VERSION) throw new TxError(`version ${version}, want ${VERSION}`);
    const type = r.u8('type');
    const sender = r.raw(32, 'sender');
    const nonce = r.u64('nonce');
    const p = r.bytes(MAX_PAYLOAD, 'payload');
    const n = r.u8('signature count');
    if (n > MAX_SIGS) throw new TxError(`${n} signatures, limit ${MAX_SIGS}`);
    const sigs = [];
    for (let i = 0; i < n; i++) sigs.push(r.raw(64, 'signature'));
    r.done();
    if (type !== TYPE_TRANSFER) throw new TxError(`a transaction of type ${type}: this page reads transfers only`);
    const pr = new Reader(p, 'transfer payload');
    const to = pr.raw(32, 'to');
    const amount = pr.u64('amount');
    const memo = pr.bytes(MAX_MEMO, 'memo');
    pr.done();
    if (amount === 0n) throw new TxError('a transfer of 0');
    const t = { type, sender, nonce, to, amount, memo, sigs };
    for (const k of signers(t)) {
      const why = weakKeyReason(k);
      if (why !== null) throw new TxError(`a signer's key: ${why}`);
    }
    if (n !== 2 && !(partial && n < 2)) throw new TxError(`${n} signatures, a transfer needs 2`);
    return t;
  } catch (e) {
    if (e instanceof ProofError) throw new TxError(e.message);
    throw e;
  }
}
