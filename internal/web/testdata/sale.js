// The browser side of the sale's module tests (sale_modules_test.go): the
// records decoded, the ask and the sale_request built and signed, FairTime,
// Choose, the proof of work and the outcome check of /salerecords.js.
// Each export takes one JSON argument and returns JSON text (bytes as hex,
// integers as decimal strings).

import { fromHex, toHex } from '/light/bytes.js';
import { LightClient } from '/light.js';
import * as govtx from '/govtx.js';
import * as sale from '/salerecords.js';
import { publicKeyOfSeed, signWithSeed } from '/wallet.js';

function plain(v) {
  return JSON.stringify(v, (_, x) => {
    if (typeof x === 'bigint') return x.toString();
    if (x instanceof Uint8Array) return toHex(x);
    if (typeof x === 'number') return String(x);
    if (typeof x === 'boolean') return x ? 'true' : 'false';
    return x;
  });
}

function failure(e) {
  return { error: String(e?.message ?? e), check: e?.check ?? '' };
}

const stampsOf = (list) => list.map((s) => ({ node: fromHex(s.node, 'node', 32), time: BigInt(s.time), sig: fromHex(s.sig, 'sig', 64) }));

function saleView(s) {
  const p = s.params;
  return {
    id: s.id, opener: s.opener, proposal: s.proposal, item: p.item, supply: p.supply, perRequest: p.perRequest, start: p.start,
    window: p.window, maxAge: p.maxAge, difficulty: p.difficulty, price: p.price, maxRequests: p.maxRequests, opens: s.opens,
    closes: s.closes, nodes: s.nodes, state: s.state, kept: s.kept, accepted: s.accepted, evicted: s.evicted, seed: s.seed,
    sold: s.sold, winners: s.winners, unpaid: s.unpaid, cutFair: s.cut.fair, cutTie: s.cut.tie,
  };
}

function requestView(q) {
  return { sale: q.sale, buyer: q.buyer, quantity: q.quantity, nonce: q.nonce, stamps: q.stamps };
}

/** Decodes each {kind, hex}: the decoded value, or {error, check}. */
export async function decodeRecords(cases) {
  const out = [];
  for (const c of cases) {
    try {
      const b = fromHex(c.hex, 'record');
      switch (c.kind) {
        case 'registry': out.push({ value: sale.decodeRegistry(b) }); break;
        case 'sale': out.push({ value: saleView(sale.decodeSale(b)) }); break;
        case 'request': {
          const k = sale.decodeKept(b);
          // Encoding again must give the same bytes.
          const again = toHex(sale.encodeRequest(k.request));
          out.push({ value: { ...requestView(k.request), member: k.member, fair: k.fair }, again });
          break;
        }
        case 'slot': out.push({ value: sale.decodeSlot(b) }); break;
        case 'result': {
          const r = sale.decodeResult(b);
          out.push({ value: { rank: r.rank, granted: r.granted, paid: r.paid, fair: r.key.fair, tie: r.key.tie } });
          break;
        }
        case 'ask': out.push({ value: requestView({ ...sale.decodeAsk(b), stamps: [] }) }); break;
        default: throw new Error(`unknown kind ${c.kind}`);
      }
    } catch (e) {
      out.push(failure(e));
    }
  }
  return plain(out);
}

/**
 * For each request {sale, quantity, nonce, stamps} of the seed's key: the
 * ask (hex), the request hash, the sale_request transaction and its hash.
 */
export async function buildRequests({ chainID, seed, cases }) {
  const s = fromHex(seed, 'seed', 32);
  const buyer = await publicKeyOfSeed(s);
  const sign = (m) => signWithSeed(s, m);
  const out = [];
  for (const c of cases) {
    try {
      const q = { sale: BigInt(c.sale), buyer, quantity: Number(c.quantity), nonce: BigInt(c.nonce) };
      const ask = await sale.signAsk(chainID, q, sign);
      const t = await sale.saleRequestTx(chainID, { ...q, stamps: stampsOf(c.stamps) }, sign);
      out.push({ ask: sale.encodeAsk(ask), hash: ask.hash, tx: govtx.encode(t), txHash: await govtx.hash(t) });
    } catch (e) {
      out.push(failure(e));
    }
  }
  return plain(out);
}

/** A sale_open of the seed's key: the transaction's bytes, or the error. */
export async function buildOpens({ chainID, seed, cases }) {
  const s = fromHex(seed, 'seed', 32);
  const sender = await publicKeyOfSeed(s);
  const out = [];
  for (const c of cases) {
    try {
      const p = c.params;
      const params = {
        item: p.item, supply: Number(p.supply), perRequest: Number(p.perRequest), start: BigInt(p.start), window: BigInt(p.window),
        maxAge: BigInt(p.maxAge), difficulty: Number(p.difficulty), price: BigInt(p.price), maxRequests: Number(p.maxRequests),
      };
      const t = await sale.saleOpenTx(chainID, { sender, nonce: BigInt(c.nonce), params }, (m) => signWithSeed(s, m));
      out.push({ tx: govtx.encode(t) });
    } catch (e) {
      out.push(failure(e));
    }
  }
  return plain(out);
}

/** The record keys of {id, identity}: registry, sale, request, result. */
export async function keys({ id, identity }) {
  const who = fromHex(identity, 'identity', 20);
  return plain({
    registry: await sale.registryKey(), sale: await sale.saleKey(BigInt(id)), request: await sale.requestKey(BigInt(id), who),
    result: await sale.resultKey(BigInt(id), who), tie: await sale.tie(new Uint8Array(32).fill(7), who),
  });
}

/** FairTime of each list of times. */
export async function fairTimes(lists) {
  return plain(lists.map((l) => sale.fairTime(l.map(BigInt))));
}

/** Choose for each case {sale (record hex), chainID, hash, stamps}: the chosen stamps, or the error. */
export async function chooseStamps(cases) {
  const out = [];
  for (const c of cases) {
    try {
      const s = sale.decodeSale(fromHex(c.sale, 'sale'));
      out.push({ stamps: await sale.choose(s, c.chainID, fromHex(c.hash, 'hash', 32), stampsOf(c.stamps)) });
    } catch (e) {
      out.push(failure(e));
    }
  }
  return plain(out);
}

/** Solves each proof of work {chainID, sale, key, difficulty, start, limit}: the nonce and the progress calls, or the error. */
export async function solve(cases) {
  const out = [];
  for (const c of cases) {
    let calls = 0;
    try {
      const ctl = new AbortController();
      if (c.cancel) ctl.abort();
      const nonce = await sale.solvePoW(c.chainID, BigInt(c.sale), fromHex(c.key, 'key', 32), Number(c.difficulty),
        { start: BigInt(c.start), limit: BigInt(c.limit), batch: 64, progress: () => { calls++; }, signal: ctl.signal });
      const h = await sale.powHash(c.chainID, BigInt(c.sale), fromHex(c.key, 'key', 32), nonce);
      out.push({ nonce, zeros: sale.leadingZeros(h), calls });
    } catch (e) {
      out.push({ ...failure(e), cancelled: !!e?.cancelled });
    }
  }
  return plain(out);
}

/**
 * Verifies outcomes: a client from the genesis verifies the segment, then
 * each case {id, buyer, proofs} (the three proofs as the API gives them).
 */
export async function outcomes({ genesis, segment, cases }) {
  const c = await LightClient.fromGenesis(genesis);
  await c.verifySegment(segment);
  const out = [];
  for (const k of cases) {
    try {
      const o = await sale.verifySaleOutcome(c, BigInt(k.id), fromHex(k.buyer, 'buyer', 20), JSON.parse(k.proofs));
      out.push({
        outcome: o.outcome, closed: o.closed, won: o.won, unpaid: o.unpaid, rank: o.rank, granted: o.granted, paid: o.paid, kept: o.kept,
        quantity: o.quantity, fair: o.fair, tie: o.tie, height: o.height, stamps: o.stamps.map((s) => ({ node: s.node, time: s.time })),
      });
    } catch (e) {
      out.push(failure(e));
    }
  }
  return plain(out);
}
