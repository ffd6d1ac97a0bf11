// Reading governance with proofs: every answer of the governance routes
// asked with ?prove=1 carries one proof per record its view is built from
// (the view's `records`, in order); each is verified here by the light
// client (verifyLeaf) at the answer's height, or the read fails with the
// ProofError and the page shows "proof failed", not the data.
//
// The JS does not rebuild the views from the records. It decodes, and
// checks against the view, what is decoded so far: the proposal record
// (id, domain, state, deadline, round, winner, participants), the roster
// (members and their desires, in order), the domain records (name,
// parameters, queue, active), and the account records, from which the
// names are taken (a name the view shows but no proven record holds is
// not shown).

import { Check, ProofError } from './light.js';
import { Reader, concat, sha256, toHex, u64Bytes, utf8Bytes, utf8String } from './light/bytes.js';
import { decodeAccount } from './light/state.js';
import { PARAMS } from './govtx.js';

export const STATES = ['', 'queued', 'meeting', 'voting', 'publicity', 'review', 'executed', 'failed', 'cancelled', 'expired', 'no_votes', 'dropped'];

const mismatch = (what) => new ProofError(Check.RECORD, `the view's ${what} is not what the proven records say`);

/** G(tag, fields): the first 20 bytes of H("mass/gov/" ‖ tag ‖ 0x00 ‖ fields), hex. */
export async function govKey(tag, fields) {
  return toHex((await sha256(concat(utf8Bytes(`mass/gov/${tag}\x00`), fields))).slice(0, 20));
}

/**
 * GETs path (with ?prove=1 added), verifies the headers up to its height
 * and every proof, and checks that the proofs are of the records the view
 * names. records(answer) gives that list. Returns {answer, height,
 * time (the proven header's, ms), signers, nodes, values (Map key hex → bytes), names (Map ID hex →
 * name, from the proven account records)}.
 */
export async function fetchProven(app, path, records) {
  const sep = path.includes('?') ? '&' : '?';
  const answer = await app.remote.get(`${path}${sep}prove=1`);
  const want = records(answer) ?? [];
  const proofs = answer.proofs ?? [];
  if (!Array.isArray(proofs) || proofs.length !== want.length) {
    throw new ProofError(Check.ENCODING, `${proofs.length ?? 0} proofs for ${want.length} records`);
  }
  const height = Number(answer.height);
  if (want.length > 0 && height > app.client.height) await app.client.sync(app.remote, height);
  const values = new Map();
  const names = new Map();
  let last = null;
  for (let i = 0; i < proofs.length; i++) {
    if (String(proofs[i]?.key ?? '').toLowerCase() !== String(want[i]).toLowerCase()) {
      throw new ProofError(Check.KEY, `proof ${i} is about key ${proofs[i]?.key}, not record ${want[i]}`);
    }
    if (Number(proofs[i].height) !== height) throw new ProofError(Check.HEIGHT, `proof ${i} is at height ${proofs[i].height}, not ${height}`);
    const v = await app.client.verifyLeaf(proofs[i]);
    values.set(v.key, v.found ? v.value : null);
    if (v.found && v.value[0] === 0x01) names.set(v.key, decodeAccount(v.value).name);
    last = v;
  }
  return { answer, height, time: Number(last?.time ?? Date.now()), signers: last?.signers ?? [], nodes: last?.nodes ?? 0, values, names };
}

/** Decodes a proposal record (0x14 …). */
export function decodeProposal(value) {
  const r = new Reader(value, 'proposal', Check.RECORD);
  if (r.u8('kind') !== 0x14) throw new ProofError(Check.RECORD, 'not a proposal record');
  const p = { id: r.u64('id'), domain: utf8String(r.bytes(32, 'domain')) };
  p.state = STATES[r.u8('state')] ?? 'unknown';
  p.options = r.u8('options');
  p.participants = r.u16('participants');
  p.comments = r.u32('comments');
  p.activated = r.i64('activated');
  p.deadline = r.i64('deadline');
  p.window = r.u64('window');
  p.capacity = r.u16('capacity');
  p.round = r.u8('round');
  p.winner = r.u8('winner');
  p.supporters = r.u32('supporters');
  p.members = r.u64('members');
  p.publicityMin = r.u64('publicity_min');
  p.publicity = r.u64('publicity');
  p.freezes = r.u8('freezes');
  p.freezer = toHex(r.raw(20, 'freezer'));
  p.lift = r.u32('lift');
  p.cancel = r.u32('cancel');
  p.remaining = r.u64('remaining');
  p.closed = r.i64('closed');
  p.reason = utf8String(r.bytes(512, 'reason'));
  r.done();
  return p;
}

/** Decodes a roster record (0x16 …): [{member, meeting, publicity, capacity, joined}]. */
export function decodeRoster(value) {
  const r = new Reader(value, 'roster', Check.RECORD);
  if (r.u8('kind') !== 0x16) throw new ProofError(Check.RECORD, 'not a roster record');
  const n = r.u16('count');
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push({ member: toHex(r.raw(20, 'member')), meeting: r.u64('meeting'), publicity: r.u64('publicity'), capacity: r.u16('capacity'), joined: r.i64('joined') });
  }
  r.done();
  return out;
}

/** Decodes a domain record (0x11 …). */
export function decodeDomain(value) {
  const r = new Reader(value, 'domain', Check.RECORD);
  if (r.u8('kind') !== 0x11) throw new ProofError(Check.RECORD, 'not a domain record');
  const d = { name: utf8String(r.bytes(32, 'name')), serial: r.u32('serial'), params: {} };
  const n = r.u8('parameters');
  if (n !== PARAMS.length) throw new ProofError(Check.RECORD, `${n} parameters, want ${PARAMS.length}`);
  for (const p of PARAMS) d.params[p] = r.u64(p);
  d.total = r.u64('total');
  d.queue = [];
  for (let i = 0, q = r.u8('queued'); i < q; i++) d.queue.push({ id: r.u64('id'), created: r.i64('created'), participants: r.u16('participants') });
  d.active = [];
  for (let i = 0, a = r.u8('active'); i < a; i++) d.active.push({ id: r.u64('id'), deadline: r.i64('deadline') });
  r.done();
  return d;
}

const big = (v) => BigInt(v ?? 0);

/**
 * Reads a proposal (GET /v1/proposals/{id}?prove=1), verified; checks
 * the view against its proposal and roster records. Returns the proven
 * read with `proposal` (the view), `record` (the decoded proposal record)
 * and `roster` (decoded).
 */
export async function fetchProposal(app, id) {
  const r = await fetchProven(app, `/v1/proposals/${encodeURIComponent(id)}`, (a) => a.proposal?.records);
  const v = r.answer.proposal;
  const pv = r.values.get(await govKey('proposal', u64Bytes(BigInt(id))));
  if (!pv) throw new ProofError(Check.RECORD, `no proven record of proposal ${id}`);
  const p = decodeProposal(pv);
  if (p.id !== big(v.id) || p.state !== v.state || p.domain !== v.domain || p.deadline !== big(v.deadline)
      || p.round !== Number(v.round ?? 0) || (p.winner === 0xff ? v.winner != null : big(p.winner) !== big(v.winner))
      || p.participants !== (v.roster ?? []).length) {
    throw mismatch('proposal');
  }
  const rv = r.values.get(await govKey('roster', u64Bytes(BigInt(id))));
  const roster = rv ? decodeRoster(rv) : [];
  const vr = v.roster ?? [];
  if (roster.length !== vr.length || roster.some((x, i) => x.member !== vr[i].member || x.capacity !== Number(vr[i].capacity)
      || x.meeting !== big(vr[i].meeting_window) || x.publicity !== big(vr[i].publicity_window))) {
    throw mismatch('roster');
  }
  return { ...r, proposal: v, record: p, roster };
}

/**
 * Reads the registry and the domains (GET /v1/governance?prove=1),
 * verified; each domain's parameters, queue and active list are checked
 * against its record. The answer's executors are not used (see
 * fetchExecutors).
 */
export async function fetchGovernance(app) {
  const r = await fetchProven(app, '/v1/governance', (a) => [a.governance?.record, ...(a.governance?.domains ?? []).map((d) => d.record)]);
  for (const d of r.answer.governance.domains ?? []) {
    const val = r.values.get(String(d.record).toLowerCase());
    if (!val) throw new ProofError(Check.RECORD, `no proven record of domain ${d.name}`);
    const rec = decodeDomain(val);
    if (rec.name !== d.name || rec.total !== big(d.total) || PARAMS.some((p) => rec.params[p] !== big(d.params?.[p]))
        || rec.queue.length !== (d.queue ?? []).length || rec.queue.some((q, i) => q.id !== big(d.queue[i].id))
        || rec.active.length !== (d.active ?? []).length || rec.active.some((q, i) => q.id !== big(d.active[i].id) || q.deadline !== big(d.active[i].deadline))) {
      throw mismatch(`domain ${d.name}`);
    }
    d.proven = rec;
  }
  return r;
}

/** Reads a page of a domain's proposals (GET /v1/proposals?domain=…), verified. */
export function fetchProposals(app, domain, page = 0) {
  return fetchProven(app, `/v1/proposals?domain=${encodeURIComponent(domain)}&page=${page}`, (a) => a.list?.records);
}

/**
 * Reads the executors (GET /v1/executors?prove=1), verified: the first
 * proof is of the executors' record (N("executors")), whose roles and
 * members the list must match; the others are the accounts named.
 */
export async function fetchExecutors(app) {
  const key = toHex((await sha256(utf8Bytes('mass/key/executors'))).slice(0, 20));
  const r = await fetchProven(app, '/v1/executors', (a) => (a.proofs ?? []).map((p) => p.key));
  if (String(r.answer.proofs?.[0]?.key).toLowerCase() !== key) throw new ProofError(Check.KEY, 'the first proof is not of the executors record');
  const val = r.values.get(key);
  const list = [];
  if (val) {
    const rd = new Reader(val, 'executors', Check.RECORD);
    if (rd.u8('kind') !== 0x1c) throw new ProofError(Check.RECORD, 'not the executors record');
    for (let i = 0, n = rd.u8('count'); i < n; i++) {
      list.push({ role: utf8String(rd.bytes(32, 'role')), member: toHex(rd.raw(20, 'member')), proposal: rd.u64('proposal'), since: rd.i64('since'), until: rd.i64('until') });
    }
    rd.done();
  }
  const ex = r.answer.executors ?? [];
  if (ex.length !== list.length || list.some((x, i) => x.role !== ex[i].role || x.member !== ex[i].member || x.until !== big(ex[i].until))) {
    throw mismatch('executors');
  }
  return r;
}

/** A member's name from the proven records, or null. */
export function nameOf(r, id) {
  const n = r.names.get(String(id).toLowerCase());
  return n ? n : null;
}
