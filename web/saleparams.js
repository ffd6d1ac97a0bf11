// A sale's parameters (internal/app/sale/params.go): their limits, their
// encoding and their checks, as Go's Params.MarshalTo, ReadParams and
// Params.Check. Shared by salerecords.js (the sale record, the
// supervisor's sale_open), govrecords.js (the open_sale action decoded)
// and govtx.js (the open_sale action parsed), which import it; it imports
// none of them.
//
//   params = item:bytes ‖ supply:u32 ‖ per_request:u32 ‖ start:u64 ‖
//            window:u64 ‖ max_age:u64 ‖ difficulty:u8 ‖ price:u64 ‖
//            max_requests:u32
//
// As objects: {item, supply, perRequest, start, window, maxAge,
// difficulty, price, maxRequests}, u64 values BigInt, the others Numbers.
// A check that fails throws ProofError("record") naming what was read.

import { concat, u32Bytes, u64Bytes, utf8Bytes } from './light/bytes.js';
import { Check, ProofError } from './light/errors.js';

export const MAX_ITEM = 64;
export const MAX_SUPPLY = 100_000;
export const MAX_KEPT = 100_000;
export const MAX_WINDOW = 366 * 24 * 3600 * 1000;
export const MIN_MAX_AGE = 1000;
export const MAX_MAX_AGE = 3600 * 1000;
export const MAX_DIFFICULTY = 40;

function bad(what, message) {
  return new ProofError(Check.RECORD, `${what}: ${message}`);
}

/** Whether a code point is a control character (Go's unicode.IsControl: Cc). */
function isControl(cp) {
  return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

/** An item's name from its bytes as Go's Params.Check wants it: 1–64 bytes of UTF-8, no control character. */
export function itemText(b, what = 'sale parameters') {
  if (b.length === 0 || b.length > MAX_ITEM) throw bad(what, `the item's name has 1 to ${MAX_ITEM} bytes of UTF-8`);
  let s;
  try {
    s = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
  } catch {
    throw bad(what, `the item's name has 1 to ${MAX_ITEM} bytes of UTF-8`);
  }
  for (const c of s) if (isControl(c.codePointAt(0))) throw bad(what, "the item's name has a control character");
  return s;
}

/** Checks the parameters but the item as Go's Params.Check, in its order; returns p. */
export function checkParams(p, what = 'sale parameters') {
  const fail = (m) => { throw bad(what, m); };
  if (p.supply === 0 || p.supply > MAX_SUPPLY) fail(`a supply of ${p.supply} (1 … ${MAX_SUPPLY})`);
  if (p.perRequest === 0 || p.perRequest > p.supply) fail(`${p.perRequest} per request (1 … the supply ${p.supply})`);
  if (p.start > BigInt(MAX_WINDOW)) fail(`a start of ${p.start} ms (0 … ${MAX_WINDOW})`);
  if (p.window === 0n || p.window > BigInt(MAX_WINDOW)) fail(`a window of ${p.window} ms (1 … ${MAX_WINDOW})`);
  if (p.maxAge < BigInt(MIN_MAX_AGE) || p.maxAge > BigInt(MAX_MAX_AGE)) fail(`a staleness bound of ${p.maxAge} ms (${MIN_MAX_AGE} … ${MAX_MAX_AGE})`);
  if (p.difficulty > MAX_DIFFICULTY) fail(`a difficulty of ${p.difficulty} bits (0 … ${MAX_DIFFICULTY})`);
  if (p.maxRequests < p.supply || p.maxRequests > MAX_KEPT) fail(`${p.maxRequests} requests kept (the supply ${p.supply} … ${MAX_KEPT})`);
  return p;
}

/** Reads parameters from a light/bytes.js Reader and checks them, as Go's ReadParams. */
export function readParams(r, what = 'sale parameters') {
  const item = r.bytes(MAX_ITEM, 'item');
  const p = {
    supply: r.u32('supply'), perRequest: r.u32('per request'), start: r.u64('start'), window: r.u64('window'),
    maxAge: r.u64('max age'), difficulty: r.u8('difficulty'), price: r.u64('price'), maxRequests: r.u32('max requests'),
  };
  p.item = itemText(item, what);
  return checkParams(p, what);
}

/** The parameters' encoding (Params.MarshalTo), checked first as Params.Check. */
export function encodeParams(p, what = 'sale parameters') {
  const item = utf8Bytes(p.item);
  itemText(item, what);
  checkParams(p, what);
  return concat(u32Bytes(item.length), item, u32Bytes(p.supply), u32Bytes(p.perRequest), u64Bytes(p.start), u64Bytes(p.window),
    u64Bytes(p.maxAge), new Uint8Array([p.difficulty]), u64Bytes(p.price), u32Bytes(p.maxRequests));
}
