// Reading the sales with proofs, and asking the nodes for stamps.
//
// Every read asks with ?prove=1 and verifies, with the light client, the
// proof of each record it shows at the answer's height (the headers up to
// it first); the records are decoded here (salerecords.js) and only the
// decoded values are shown. The node's unproven view must say the same as
// the proven record (its canonical encoding, its outcome), or the read is
// a ProofError ("proof failed"), and nothing of it is shown.

import { Check, ProofError, RemoteError } from './light.js';
import { fromHex, toHex } from './light/bytes.js';
import { decodeRegistry, decodeSale, registryKey, saleKey, verifySaleOutcome } from './salerecords.js';

/** The recent sales the list shows besides the open ones. */
export const RECENT = 10;

async function syncTo(app, height) {
  if (height > app.client.height) await app.client.sync(app.remote, height);
}

/** Verifies an answer's single proof, of key (bytes), at its height. */
async function proven(app, answer, key, what) {
  const p = answer?.proof;
  if (!p || typeof p !== 'object') throw new ProofError(Check.ENCODING, `${what}: the answer has no proof`);
  if (String(p.key ?? '').toLowerCase() !== toHex(key)) throw new ProofError(Check.KEY, `${what}: the proof is of key ${p.key}, not ${toHex(key)}`);
  if (String(p.height) !== String(answer.height)) throw new ProofError(Check.HEIGHT, `${what}: the proof is at height ${p.height}, not ${answer.height}`);
  await syncTo(app, Number(p.height));
  return app.client.verifyLeaf(p);
}

function meta(v) {
  return { height: v.height, time: Number(v.time), signers: v.signers, nodes: v.nodes };
}

/** The record the node's view carries must be the proven one. */
function sameRecord(view, value, what) {
  if (String(view?.record ?? '').toLowerCase() !== toHex(value)) {
    throw new ProofError(Check.RECORD, `${what}: the node's view is not of the proven record`);
  }
}

/**
 * A sale's record at height (0: the latest), verified: {sale (decoded),
 * height, time, signers, nodes}. A sale proven absent is a RemoteError
 * 404 from the node (it answers not_found).
 */
export async function fetchSale(app, id, height = 0) {
  const a = await app.remote.get(`/v1/sales/${encodeURIComponent(id)}?prove=1${height ? `&height=${height}` : ''}`);
  const v = await proven(app, a, await saleKey(BigInt(id)), `sale ${id}`);
  if (!v.found) throw new ProofError(Check.RECORD, `sale ${id} is absent at height ${v.height}`);
  const sale = decodeSale(v.value);
  if (sale.id !== BigInt(id)) throw new ProofError(Check.RECORD, `sale ${id}'s record is of sale ${sale.id}`);
  sameRecord(a.sale, v.value, `sale ${id}`);
  return { sale, ...meta(v) };
}

/**
 * The registry and the sales it names — the open ones and the RECENT
 * latest — each verified at the registry's height: {registry: {next,
 * open}, sales: [decoded, newest first], height, time, signers, nodes}.
 */
export async function fetchSales(app) {
  const a = await app.remote.get('/v1/sales?prove=1');
  const v = await proven(app, a, await registryKey(), 'the sales registry');
  const registry = v.found ? decodeRegistry(v.value) : { next: 1n, open: [] };
  const open = Array.isArray(a.open) ? a.open : [];
  if (String(a.next) !== String(registry.next) || open.length !== registry.open.length
    || open.some((d, i) => String(d?.id) !== String(registry.open[i].id) || String(d?.due) !== String(registry.open[i].due))) {
    throw new ProofError(Check.RECORD, "the registry: the node's view is not of the proven record");
  }
  const ids = new Set(registry.open.map((d) => d.id));
  for (let id = registry.next - 1n; id >= 1n && ids.size < registry.open.length + RECENT; id--) ids.add(id);
  const sorted = [...ids].sort((x, y) => (x > y ? -1 : x < y ? 1 : 0));
  const sales = await Promise.all(sorted.map(async (id) => (await fetchSale(app, id, v.height)).sale));
  return { registry, sales, ...meta(v) };
}

/**
 * A buyer's outcome in a sale (GET /v1/sales/{id}/buyers/{account}
 * ?prove=1), verified as VerifySaleOutcome; the node's outcome must be
 * the one proven. buyer is the account ID (hex).
 */
export async function fetchOutcome(app, id, buyer) {
  const a = await app.remote.get(`/v1/sales/${encodeURIComponent(id)}/buyers/${encodeURIComponent(buyer)}?prove=1`);
  const proofs = Array.isArray(a.proofs) ? a.proofs : [];
  if (proofs.length !== 3) throw new ProofError(Check.ENCODING, `${proofs.length} proofs, a buyer's answer has 3`);
  await syncTo(app, Number(proofs[0]?.height ?? 0));
  const o = await verifySaleOutcome(app.client, BigInt(id), fromHex(buyer, 'buyer', 20), proofs);
  if (a.outcome !== o.outcome) throw new ProofError(Check.RECORD, `the node says "${a.outcome}", the proven records "${o.outcome}"`);
  sameRecord(a.sale, fromHex(String(proofs[0].value).toLowerCase(), 'value'), `sale ${id}`);
  return { ...o, time: Number(o.time) };
}

/**
 * Asks a node (base: its API's origin, '' for this page's) for a stamp of
 * an ask (its 116 bytes). Resolves to {ok: true, stamp: {node, time, sig,
 * hash}} (bytes; time BigInt) or {ok: false, status, code, message}.
 */
export async function askStamp(base, id, askBytes, timeoutMs = 10_000) {
  let resp;
  let j = null;
  try {
    resp = await fetch(`${base}/v1/sales/${encodeURIComponent(id)}/stamps`, {
      method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: askBytes, signal: AbortSignal.timeout(timeoutMs),
    });
    j = JSON.parse(await resp.text());
  } catch (e) {
    if (!resp) return { ok: false, status: 0, code: 'unreachable', message: e?.message ?? String(e) };
  }
  if (!resp.ok) {
    return { ok: false, status: resp.status, code: j?.error?.code ?? `HTTP ${resp.status}`, message: j?.error?.message ?? '' };
  }
  try {
    if (!Number.isSafeInteger(j?.time)) throw new Error('the time is not an integer');
    return {
      ok: true,
      stamp: { node: fromHex(j.node, 'node', 32), time: BigInt(j.time), sig: fromHex(j.signature, 'signature', 64), hash: fromHex(j.hash, 'hash', 32) },
    };
  } catch (e) {
    return { ok: false, status: resp.status, code: 'malformed', message: e?.message ?? String(e) };
  }
}

export { RemoteError };
