// Bytes: hex, concatenation, SHA-256 and the canonical decoding of
// docs/FORMATS.md (big-endian fixed-width integers, `bytes` = u32 length ‖
// bytes; truncated input, trailing bytes and lengths over their limit are
// refused). u64 values are BigInt, never lossy Numbers.

import { Check, ProofError } from './errors.js';

/** The largest u64. */
export const MAX_U64 = (1n << 64n) - 1n;

const utf8 = new TextEncoder();
const hexDigits = /^[0-9a-fA-F]*$/;

/** UTF-8 bytes of a string. */
export function utf8Bytes(s) {
  return utf8.encode(s);
}

/** A string from UTF-8 bytes, a leading U+FEFF kept (as Go's string(b)); invalid sequences become U+FFFD. */
export function utf8String(b) {
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(b);
}

/**
 * Decodes hex (lower or upper case). size −1 accepts any length; a wrong
 * length or a character that is not hex throws ProofError("encoding").
 */
export function fromHex(s, what, size = -1) {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !hexDigits.test(s)) {
    throw new ProofError(Check.ENCODING, `${what} is not hex`);
  }
  const b = new Uint8Array(s.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(s.substr(2 * i, 2), 16);
  if (size >= 0 && b.length !== size) {
    throw new ProofError(Check.ENCODING, `${what} has ${b.length} bytes, want ${size}`);
  }
  return b;
}

/** Lowercase hex of bytes. */
export function toHex(b) {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Whether two byte arrays are equal. */
export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The concatenation of byte arrays. */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A u32, big-endian. */
export function u32Bytes(v) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v);
  return b;
}

/** A u64 (BigInt), big-endian. */
export function u64Bytes(v) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v);
  return b;
}

/** SHA-256 of bytes (WebCrypto). */
export async function sha256(b) {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    throw new ProofError(Check.UNSUPPORTED,
      'this page has no WebCrypto (crypto.subtle): open it over https or from localhost, nothing can be verified');
  }
  return new Uint8Array(await subtle.digest('SHA-256', b));
}

/**
 * Reader decodes one canonical encoding; every failure throws a
 * ProofError (check "encoding" unless told) naming the object, the field
 * and the offset.
 */
export class Reader {
  /**
   * @param {Uint8Array} buf
   * @param {string} object what is decoded ("header", "certificate" …)
   * @param {string} check the ProofError check of a failure
   */
  constructor(buf, object, check = Check.ENCODING) {
    this.check = check;
    this.buf = buf;
    this.off = 0;
    this.object = object;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(why, what) {
    throw new ProofError(this.check, `${this.object}: ${why} at offset ${this.off} (${what})`);
  }

  take(n, what) {
    if (this.buf.length - this.off < n) this.fail('truncated', what);
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }

  u8(what) {
    return this.take(1, what)[0];
  }

  u16(what) {
    this.take(2, what);
    return this.view.getUint16(this.off - 2);
  }

  u32(what) {
    this.take(4, what);
    return this.view.getUint32(this.off - 4);
  }

  /** A u64 as BigInt. */
  u64(what) {
    this.take(8, what);
    return this.view.getBigUint64(this.off - 8);
  }

  /** An i64 (two's complement) as BigInt. */
  i64(what) {
    this.take(8, what);
    return this.view.getBigInt64(this.off - 8);
  }

  /** Exactly n bytes (a copy). */
  raw(n, what) {
    return this.take(n, what).slice();
  }

  /** A length-prefixed byte string of at most max bytes (a copy). */
  bytes(max, what) {
    const n = this.u32(what);
    if (n > max) this.fail(`${n} bytes, limit ${max}`, what);
    return this.raw(n, what);
  }

  /** A u32 element count of at most max. */
  count(max, what) {
    const n = this.u32(what);
    if (n > max) this.fail(`count ${n}, limit ${max}`, what);
    return n;
  }

  /** Refuses trailing bytes. */
  done() {
    if (this.off !== this.buf.length) {
      throw new ProofError(this.check, `${this.object}: ${this.buf.length - this.off} trailing bytes`);
    }
  }
}
