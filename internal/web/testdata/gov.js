// The browser side of the governance module tests (gov_test.go):
// governance transactions built and signed by /govtx.js, the duration
// and action parsers, and the proposal record decoder of /govread.js.
// Each export takes one JSON argument and returns JSON text (bytes as
// hex, BigInts as decimal strings).

import { fromHex, toHex } from '/light/bytes.js';
import * as govtx from '/govtx.js';
import { publicKeyOfSeed, signWithSeed } from '/wallet.js';

function plain(v) {
  return JSON.stringify(v, (_, x) => {
    if (typeof x === 'bigint') return x.toString();
    if (x instanceof Uint8Array) return toHex(x);
    return x;
  });
}

/** Builds and signs each case ({kind, nonce, fields}) with the seed: [{tx, body, hash} or {error}]. */
export async function signGov({ chainID, seed, cases }) {
  const s = fromHex(seed, 'seed', 32);
  const sender = await publicKeyOfSeed(s);
  const out = [];
  for (const c of cases) {
    try {
      const unsigned = await govtx.build(c.kind, { sender, nonce: c.nonce, ...c.fields });
      const signed = await govtx.sign(chainID, unsigned, (m) => signWithSeed(s, m));
      out.push({ tx: govtx.encode(signed), body: govtx.body(signed), hash: await govtx.hash(signed) });
    } catch (e) {
      out.push({ error: String(e?.message ?? e) });
    }
  }
  return plain(out);
}

/** Parses each action's text: its encoding (hex) or the error. */
export async function parseActions(lines) {
  const out = [];
  for (const l of lines) {
    try {
      out.push({ hex: await govtx.parseAction(l) });
    } catch (e) {
      out.push({ error: String(e?.message ?? e) });
    }
  }
  return plain(out);
}

/** Parses and formats durations. */
export async function durations(list) {
  return plain(list.map((s) => {
    try {
      const v = govtx.parseDuration(s);
      return { ms: v, text: govtx.formatDuration(v) };
    } catch (e) {
      return { error: String(e?.message ?? e) };
    }
  }));
}
