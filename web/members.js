// The organization's members, verified (GET /v1/members?prove=1).
//
// fetchMembers reads every page of the member list at one height (the
// first page's), verifies the organization record's proof in full with the
// light client (header, certificate, path), and each member's proof by its
// path to that verified state root. Each listed record must be a member's
// (role member or supervisor) or an applicant's account, listed once, in
// ID order. The list is complete when it holds as many members and
// applicants as the proven organization record counts: a node that leaves
// one out is caught here (ProofError "members_incomplete"), one that lists
// a guest or lists out of order too ("members_order").

import { Check, ProofError, RemoteError } from './light.js';
import { MAX_U64, equalBytes, fromHex, toHex } from './light/bytes.js';
import { decodeProof, foldProof } from './light/smt.js';
import { decodeAccount, decodeOrganization, organizationKey } from './light/state.js';

/** The members asked for per page (the API's most). */
export const PAGE_LIMIT = 1000;
/** The most pages read for one list. */
export const MAX_PAGES = 200;

function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function u64(v, what) {
  if (typeof v === 'bigint' && v >= 0n && v <= MAX_U64) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw new ProofError(Check.ENCODING, `${what} is not an unsigned 64-bit integer`);
}

const order = (m) => new ProofError(Check.MEMBERS_ORDER, m);

/**
 * Lists the organization's members and applicants from remote, verified
 * with client (a LightClient). Returns the verified organization leaf
 * ({height, signers, nodes, stateRoot, …}) with `organization`,
 * `members` ([{id, name, role, applying, frozen, suspended, balance}], in
 * ID order), `counts` ({members, applicants} as listed) and `complete`
 * (true: it throws otherwise). height 0 is the node's latest.
 */
export async function fetchMembers(client, remote, { height = 0, limit = PAGE_LIMIT, maxPages = MAX_PAGES } = {}) {
  const orgKey = await organizationKey();
  let at = height;
  let after = '';
  let org = null;
  const members = [];
  let last = null; // the last member's key
  for (let page = 0; ; page++) {
    if (page === maxPages) throw new RemoteError(`the member list takes more than ${maxPages} pages`);
    const q = new URLSearchParams({ prove: '1', limit: String(limit) });
    if (at) q.set('height', String(at));
    if (after) q.set('after', after);
    const ans = await remote.get(`/v1/members?${q}`);
    if (!isObject(ans) || !Array.isArray(ans.members) || !Array.isArray(ans.proofs)) {
      throw new ProofError(Check.ENCODING, 'a page of members without its members and proofs');
    }
    if (ans.proofs.length !== ans.members.length + 1) {
      throw new ProofError(Check.ENCODING, `${ans.proofs.length} proofs for the organization and ${ans.members.length} members`);
    }
    const h = Number(u64(ans.height, 'height'));
    if (at && h !== at) throw new ProofError(Check.HEIGHT, `a page of height ${h} in a list of height ${at}`);
    if (!at) {
      at = h;
      if (client.height < h) await client.sync(remote, h);
    }
    // The organization, in full: its header and certificate too.
    const o = await client.verifyLeaf(ans.proofs[0]);
    if (!equalBytes(fromHex(o.key, 'key'), orgKey) || !o.found) {
      throw new ProofError(Check.KEY, 'the first proof of a page is not of the organization record');
    }
    if (org === null) org = { ...o, organization: decodeOrganization(o.value) };
    const root = fromHex(o.stateRoot, 'state root');
    for (let i = 1; i < ans.proofs.length; i++) {
      const p = ans.proofs[i];
      if (!isObject(p) || p.found !== true) throw order(`it lists ${p?.key} as a member, and its proof says there is no such record`);
      if (u64(p.height ?? 0, 'height') !== BigInt(at)) throw new ProofError(Check.HEIGHT, `a proof of height ${p.height} in a page of height ${at}`);
      const key = fromHex(p.key, 'key', 20);
      const value = fromHex(p.value ?? '', 'value');
      const sum = u64(p.sum ?? 0, 'sum');
      const proof = await decodeProof(fromHex(p.proof ?? '', 'proof'));
      const folded = await foldProof(proof, key, value, sum);
      if (!equalBytes(folded.root, root)) {
        throw new ProofError(Check.STATE_ROOT, `the proof of member ${toHex(key)} does not lead to the state root of height ${at}`);
      }
      const a = decodeAccount(value);
      const id = toHex(key);
      if (a.role === 'guest' && !a.applying) throw order(`it lists ${id}, a guest with no application, as a member`);
      if (last !== null && id <= last) throw order(`it lists ${id} after ${last}: out of order, or twice`);
      last = id;
      members.push({ id, name: a.name, role: a.role, applying: a.applying, frozen: a.frozen, suspended: a.suspended, balance: sum });
    }
    const next = ans.next ?? '';
    if (next === '') break;
    const n = toHex(fromHex(next, 'next', 20));
    if ((after && n <= after) || (last !== null && n < last)) throw order(`next ${n} goes back`);
    after = n;
  }
  let m = 0n;
  let ap = 0n;
  for (const x of members) {
    if (x.role !== 'guest') m++;
    if (x.applying) ap++;
  }
  const want = org.organization;
  if (m !== want.members || ap !== want.applicants) {
    throw new ProofError(Check.MEMBERS_INCOMPLETE,
      `the list holds ${m} members and ${ap} applicants; the proven organization record counts ${want.members} and ${want.applicants}`);
  }
  return { ...org, members, counts: { members: m, applicants: ap }, complete: true };
}
