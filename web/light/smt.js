// The sparse Merkle sum tree's proofs (docs/FORMATS.md, "The state: a
// sparse Merkle sum tree" → "Proofs"; Go: internal/smt, proof.go and
// hash.go): the compact encoding, decoded strictly, and the verification
// that folds a proof up to a root hash and sum.

import { MAX_U64, concat, equalBytes, sha256, toHex, u64Bytes } from './bytes.js';
import { Check, ProofError } from './errors.js';

/** Bits of a key, and the greatest depth of a leaf. */
export const KEY_BITS = 160;
/** The largest value of a leaf, in bytes. */
export const MAX_VALUE = 64 << 10;
/** The size of the largest encoded proof. */
export const MAX_PROOF_SIZE = 3 + KEY_BITS / 8 + KEY_BITS * (32 + 8) + 20 + 8 + 32;

/** What a proof's path ends at. */
export const Terminal = Object.freeze({ EMPTY: 0, LEAF: 1, OTHER: 2 });

let emptyHash = null;

/** The hash of the empty subtree: H(0x00). */
export async function emptySubtreeHash() {
  emptyHash ??= await sha256(Uint8Array.of(0x00));
  return emptyHash;
}

/** H(0x01 ‖ key ‖ sum:u64 ‖ valueHash). */
export function leafHashOf(key, sum, valueHash) {
  return sha256(concat(Uint8Array.of(0x01), key, u64Bytes(sum), valueHash));
}

/** H(0x02 ‖ left ‖ leftSum:u64 ‖ right ‖ rightSum:u64). */
export function innerHash(left, leftSum, right, rightSum) {
  return sha256(concat(Uint8Array.of(0x02), left, u64Bytes(leftSum), right, u64Bytes(rightSum)));
}

/** Bit i of a key, most significant first. */
export function keyBit(key, i) {
  return (key[i >> 3] >> (7 - (i & 7))) & 1;
}

function sharesPrefix(a, b, n) {
  for (let i = 0; i < n; i++) if (keyBit(a, i) !== keyBit(b, i)) return false;
  return true;
}

function proofError(message) {
  return new ProofError(Check.ENCODING, `proof: ${message}`);
}

/**
 * Decodes a compact proof, refusing every encoding the Go nodes would not
 * produce: an unknown format or kind, more than 160 siblings, bitmap bits
 * set beyond them, a written sibling that is the empty subtree, truncated
 * or trailing bytes. Siblings are {hash, sum} (sum a BigInt), null where
 * the sibling is the empty subtree.
 */
export async function decodeProof(b) {
  if (b.length > MAX_PROOF_SIZE) throw proofError(`${b.length} bytes (at most ${MAX_PROOF_SIZE})`);
  if (b.length < 3) throw proofError('truncated header');
  if (b[0] !== 0x01) throw proofError(`format ${b[0]}`);
  const terminal = b[1];
  if (terminal > Terminal.OTHER) throw proofError(`terminal kind ${terminal}`);
  const d = b[2];
  if (d > KEY_BITS) throw proofError(`${d} siblings (at most ${KEY_BITS})`);
  const bitmapLen = (d + 7) >> 3;
  let off = 3;
  if (b.length - off < bitmapLen) throw proofError('truncated bitmap');
  const bitmap = b.subarray(off, off + bitmapLen);
  off += bitmapLen;
  if ((d & 7) !== 0 && (bitmap[bitmapLen - 1] & (0xff >> (d & 7))) !== 0) {
    throw proofError(`bitmap bits set beyond ${d} siblings`);
  }
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const empty = await emptySubtreeHash();
  const siblings = [];
  for (let i = 0; i < d; i++) {
    if ((bitmap[i >> 3] & (0x80 >> (i & 7))) === 0) {
      siblings.push(null);
      continue;
    }
    if (b.length - off < 40) throw proofError(`truncated sibling at depth ${i}`);
    const s = { hash: b.slice(off, off + 32), sum: view.getBigUint64(off + 32) };
    off += 40;
    if (s.sum === 0n && equalBytes(s.hash, empty)) throw proofError(`empty sibling written out at depth ${i}`);
    siblings.push(s);
  }
  const proof = { terminal, siblings };
  if (terminal === Terminal.OTHER) {
    if (b.length - off < 60) throw proofError('truncated other leaf');
    proof.otherKey = b.slice(off, off + 20);
    proof.otherSum = view.getBigUint64(off + 20);
    proof.otherValueHash = b.slice(off + 28, off + 60);
    off += 60;
  }
  if (off !== b.length) throw proofError(`${b.length - off} trailing bytes`);
  return proof;
}

/**
 * Folds a proof up from its terminal and returns {root, total}: the root
 * hash and sum it implies for key holding value with sum (value a
 * Uint8Array), or for key absent (value null). Throws ProofError("proof")
 * when the proof cannot prove that claim (as Go's smt.Proof.Verify).
 */
export async function foldProof(proof, key, value, sum) {
  const d = proof.siblings.length;
  const fail = (m) => new ProofError(Check.PROOF, m);
  if (value !== null && (value.length === 0 || value.length > MAX_VALUE)) {
    throw fail(`a value of ${value.length} bytes (1 to ${MAX_VALUE} allowed)`);
  }
  if (value !== null && proof.terminal !== Terminal.LEAF) {
    throw fail(`a proof of exclusion cannot prove key ${toHex(key)} present`);
  }
  if (value === null && proof.terminal === Terminal.LEAF) {
    throw fail(`a proof of inclusion cannot prove key ${toHex(key)} absent`);
  }
  let cur;
  let curSum;
  switch (proof.terminal) {
    case Terminal.LEAF:
      cur = await leafHashOf(key, sum, await sha256(value));
      curSum = sum;
      break;
    case Terminal.EMPTY:
      cur = await emptySubtreeHash();
      curSum = 0n;
      break;
    default: // Terminal.OTHER
      if (equalBytes(proof.otherKey, key)) throw fail(`the other leaf is key ${toHex(key)} itself`);
      if (!sharesPrefix(proof.otherKey, key, d)) {
        throw fail(`the other leaf ${toHex(proof.otherKey)} is off the path of key ${toHex(key)}`);
      }
      cur = await leafHashOf(proof.otherKey, proof.otherSum, proof.otherValueHash);
      curSum = proof.otherSum;
  }
  const empty = await emptySubtreeHash();
  for (let i = d - 1; i >= 0; i--) {
    const s = proof.siblings[i] ?? { hash: empty, sum: 0n };
    const total = curSum + s.sum;
    if (total > MAX_U64) throw fail(`the sums overflow in the proof at depth ${i}`);
    cur = keyBit(key, i) === 0 ? await innerHash(cur, curSum, s.hash, s.sum) : await innerHash(s.hash, s.sum, cur, curSum);
    curSum = total;
  }
  return { root: cur, total: curSum };
}
