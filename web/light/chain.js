// Headers, node sets and certificates (docs/FORMATS.md, "Blocks, node
// sets and certificates"; Go: internal/chain, block.go and
// certificate.go).

import { Reader, concat, equalBytes, sha256, toHex, u32Bytes, utf8Bytes } from './bytes.js';
import { verifySignature, weakKeyReason } from './ed25519.js';
import { Check, ProofError } from './errors.js';

/** The longest chain ID, in bytes. */
export const MAX_CHAIN_ID = 64;
/** The most votes a certificate may carry. */
export const MAX_VOTES = 1024;
/** The most nodes in a node set. */
export const MAX_NODES = 1024;

const HEADER_TAG = utf8Bytes('mass/header/v1\x00');
const BLOCK_TAG = utf8Bytes('mass/block/v1\x00');
const NODES_TAG = utf8Bytes('mass/nodes/v1\x00');

/**
 * Decodes a header. The raw bytes are kept: decoding is strict, so they
 * are the one canonical encoding, the bytes hashed and signed.
 */
export function decodeHeader(raw) {
  const r = new Reader(raw, 'header');
  const h = {
    raw,
    chainID: r.bytes(MAX_CHAIN_ID, 'chain id'),
    height: r.u64('height'),
    prev: r.raw(32, 'prev'),
    epoch: r.u64('epoch'),
    time: r.i64('time'),
    batchHash: r.raw(32, 'batch hash'),
    stateRoot: r.raw(32, 'state root'),
    nextNodes: r.raw(32, 'next nodes'),
  };
  r.done();
  return h;
}

/** The block hash: H("mass/header/v1" ‖ 0x00 ‖ header). */
export function headerHash(header) {
  return sha256(concat(HEADER_TAG, header.raw));
}

/** Decodes a certificate (it does not verify it). */
export function decodeCertificate(raw) {
  const r = new Reader(raw, 'certificate');
  const c = { height: r.u64('height'), blockHash: r.raw(32, 'block hash'), votes: [] };
  const n = r.count(MAX_VOTES, 'vote count');
  for (let i = 0; i < n; i++) c.votes.push({ signer: r.u16('signer'), sig: r.raw(64, 'signature') });
  r.done();
  return c;
}

/** The hash of a node set: H("mass/nodes/v1" ‖ 0x00 ‖ count:u32 ‖ keys). */
export function nodeSetHash(keys) {
  return sha256(concat(NODES_TAG, u32Bytes(keys.length), ...keys));
}

/** The votes a certificate needs from a set of n nodes: 2f+1, f = ⌊(n−1)/3⌋. */
export function quorum(n) {
  return 2 * Math.floor((n - 1) / 3) + 1;
}

/**
 * Verifies the certificate of a header (hash its block hash) under a node
 * set (an array of 32-byte keys): right height and hash, at least a quorum
 * of votes, signers strictly increasing and in the set, every signature
 * valid over "mass/block/v1" ‖ 0x00 ‖ header.
 */
export async function verifyCertificate(cert, header, hash, keys) {
  if (cert.height !== header.height || !equalBytes(cert.blockHash, hash)) {
    throw new ProofError(Check.CERTIFICATE_HEADER,
      `certificate for height ${cert.height} ${toHex(cert.blockHash)} does not match block ${header.height} ${toHex(hash)}`);
  }
  const need = quorum(keys.length);
  if (cert.votes.length < need) {
    throw new ProofError(Check.CERTIFICATE_QUORUM,
      `certificate of height ${cert.height} has ${cert.votes.length} signers, needs ${need}`);
  }
  cert.votes.forEach((v, i) => {
    if (i > 0 && v.signer <= cert.votes[i - 1].signer) {
      throw new ProofError(Check.CERTIFICATE_SIGNERS,
        `certificate of height ${cert.height}: signers not strictly increasing (duplicate or unsorted)`);
    }
    if (v.signer >= keys.length) {
      throw new ProofError(Check.CERTIFICATE_SIGNERS, `signer ${v.signer} of ${keys.length} nodes`);
    }
  });
  const msg = concat(BLOCK_TAG, header.raw);
  const valid = await Promise.all(cert.votes.map((v) => verifySignature(keys[v.signer], msg, v.sig)));
  const bad = cert.votes.filter((_, i) => !valid[i]).map((v) => v.signer);
  if (bad.length > 0) {
    const who = bad.length === 1 ? `node ${bad[0]}` : `nodes [${bad.join(' ')}]`;
    throw new ProofError(Check.CERTIFICATE_SIGNATURE, `certificate of height ${cert.height}, ${who}: bad signature`);
  }
}

/**
 * Checks a node set a header changes to (as Go's light.checkSet): 1 to
 * 1,024 keys, hashing to want, each key a strong curve point, none twice.
 */
export async function checkNodeSet(keys, want) {
  if (keys.length === 0 || keys.length > MAX_NODES) {
    throw new ProofError(Check.NODE_SET_INVALID, `a node set of ${keys.length} nodes`);
  }
  const got = await nodeSetHash(keys);
  if (!equalBytes(got, want)) {
    throw new ProofError(Check.NODE_SET_HASH, `the node set given for ${toHex(want)} hashes to ${toHex(got)}`);
  }
  const seen = new Set();
  for (const k of keys) {
    const why = weakKeyReason(k);
    if (why !== null) throw new ProofError(Check.NODE_SET_INVALID, `node set ${toHex(want)}: ${why}`);
    const hex = toHex(k);
    if (seen.has(hex)) throw new ProofError(Check.NODE_SET_INVALID, `node set ${toHex(want)} lists a key twice`);
    seen.add(hex);
  }
}
