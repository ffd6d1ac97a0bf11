// Ed25519 for the light client: the checks on keys and signatures that
// docs/FORMATS.md ("Keys, IDs and signatures") asks for beyond what
// WebCrypto does, and signature verification with WebCrypto.
//
// - A key that names a party (a node of a set, here) must decode to a
//   curve point and must not be of small order: checkStrong decompresses
//   it as ZIP-215 does (a non-canonical y is reduced, x = 0 with the sign
//   bit set is accepted) and multiplies it by the cofactor, with BigInt.
// - A signature's S must be canonical (S < ℓ): checked here, whatever the
//   browser's Ed25519 does.
// - The signature itself is verified by WebCrypto (crypto.subtle.verify,
//   "Ed25519"). WebCrypto's equation is RFC 8032's cofactorless one, which
//   accepts a subset of what ZIP-215 (the cofactored equation of the Go
//   nodes) accepts: every signature of an honest signer verifies under
//   both, and the browser never accepts a signature that Go refuses. Only a
//   signature crafted by a faulty node (a torsion component in R or in its
//   own key, a non-canonical R) may pass in Go and fail here; at most f such
//   votes exist, so a certificate with more than 2f+1 votes still passes.

import { Check, ProofError } from './errors.js';

const P = (1n << 255n) - 19n;
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

function mod(a) {
  const r = a % P;
  return r >= 0n ? r : r + P;
}

function pow(b, e) {
  let r = 1n;
  b = mod(b);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return r;
}

const D = mod(-121665n * pow(121666n, P - 2n));
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

/** The little-endian integer of bytes. */
function littleEndian(b) {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]);
  return x;
}

/**
 * Decompresses a 32-byte point encoding as ZIP-215 (and the Go nodes'
 * curve25519-voi) do: y is reduced modulo p, x is the root of sign given
 * by the top bit. Returns null when y is not the y of a curve point.
 */
export function decodePoint(b) {
  const c = b.slice();
  const sign = c[31] >> 7;
  c[31] &= 0x7f;
  const y = mod(littleEndian(c));
  const yy = (y * y) % P;
  const u = mod(yy - 1n); // x² = u / v
  const v = mod(D * yy + 1n);
  const v3 = (v * v % P) * v % P;
  const v7 = (v3 * v3 % P) * v % P;
  let x = (u * v3 % P) * pow(u * v7 % P, (P - 5n) / 8n) % P;
  const vxx = (v * x % P) * x % P;
  if (vxx !== u) {
    if (vxx !== mod(-u)) return null; // u / v has no square root
    x = (x * SQRT_M1) % P;
  }
  if (x & 1n) x = P - x; // the nonnegative (even) root
  if (sign) x = mod(-x);
  return { x, y };
}

/** Doubles a point in extended coordinates (a = −1; complete). */
function double([X, Y, Z]) {
  const A = (X * X) % P;
  const B = (Y * Y) % P;
  const C = (2n * Z * Z) % P;
  const E = mod((X + Y) * (X + Y) - A - B);
  const G = mod(B - A);
  const F = mod(G - C);
  const H = mod(-A - B);
  return [(E * F) % P, (G * H) % P, (F * G) % P];
}

/** Whether a point is of small order: [8]P is the identity. */
export function isSmallOrder({ x, y }) {
  let p = [x, y, 1n];
  for (let i = 0; i < 3; i++) p = double(p);
  const [X, Y, Z] = p;
  return X === 0n && Y === Z;
}

const strongKeys = new Set();

/**
 * Checks a public key as the Go nodes' crypto.PublicKey.CheckStrong does;
 * returns null if it is strong, else why not.
 */
export function weakKeyReason(key) {
  const hex = Array.from(key, (x) => x.toString(16).padStart(2, '0')).join('');
  if (strongKeys.has(hex)) return null;
  const pt = decodePoint(key);
  if (pt === null) return `${hex} is not a point of the curve`;
  if (isSmallOrder(pt)) return `${hex} is a point of small order: anyone could sign for it`;
  if (strongKeys.size >= 1 << 16) strongKeys.clear();
  strongKeys.add(hex);
  return null;
}

/** Whether a signature's S (its last 32 bytes, little-endian) is below ℓ. */
export function canonicalS(sig) {
  return littleEndian(sig.subarray(32, 64)) < L;
}

const importedKeys = new Map(); // hex → Promise<CryptoKey | null>

function importKey(key) {
  const hex = Array.from(key, (x) => x.toString(16).padStart(2, '0')).join('');
  let k = importedKeys.get(hex);
  if (k === undefined) {
    k = globalThis.crypto.subtle
      .importKey('raw', key, { name: 'Ed25519' }, false, ['verify'])
      .catch((e) => {
        if (e?.name === 'NotSupportedError') throw unsupported();
        return null; // a key the browser refuses: its signatures fail
      });
    if (importedKeys.size >= 4096) importedKeys.clear();
    importedKeys.set(hex, k);
  }
  return k;
}

function unsupported() {
  return new ProofError(Check.UNSUPPORTED,
    'this browser has no WebCrypto Ed25519 (or the page is not a secure context): nothing can be verified');
}

/**
 * Verifies an Ed25519 signature (64 bytes) by key (32 bytes) over msg.
 * Resolves to a boolean; throws ProofError("unsupported") if the browser
 * cannot verify Ed25519 at all.
 */
export async function verifySignature(key, msg, sig) {
  if (!globalThis.crypto?.subtle) throw unsupported();
  if (sig.length !== 64 || !canonicalS(sig)) return false;
  const k = await importKey(key);
  if (k === null) return false;
  try {
    return await globalThis.crypto.subtle.verify({ name: 'Ed25519' }, k, sig, msg);
  } catch (e) {
    if (e?.name === 'NotSupportedError') throw unsupported();
    return false;
  }
}
