// Reading governance with proofs: every answer of the governance routes
// asked with ?prove=1 carries one proof per record its view is built from
// (the view's `records`, in order); each is verified here by the light
// client (verifyLeaf) at the answer's height, or the read fails with the
// ProofError and the page shows "proof failed", not the data.
//
// Then the view is rebuilt from the proven records alone (govrecords.js,
// as Go's orgapp builds it) and the node's view must be exactly that one:
// a field that differs, or a record the view needs without a proof, is a
// ProofError too. The pages show only the rebuilt view; names are taken
// from the proven account records (a name no proven record holds is not
// shown).

import { Check, ProofError } from './light.js';
import { decodeAccount } from './light/state.js';
import { checkView, commentsView, executorsView, governanceView, proposalListView, proposalView, recordReader } from './govrecords.js';

/**
 * GETs path (with ?prove=1 added), verifies the headers up to its height
 * and every proof, and checks that the proofs are of the records the view
 * names. records(answer) gives that list. Returns {answer, height,
 * time (the proven header's, ms), signers, nodes, values (Map key hex → bytes,
 * null if proven absent), names (Map ID hex → name, from the proven account
 * records)}.
 */
export async function fetchProven(app, path, records) {
  const sep = path.includes('?') ? '&' : '?';
  const answer = await app.remote.get(`${path}${sep}prove=1`);
  const want = records(answer) ?? [];
  const proofs = answer.proofs ?? [];
  if (!Array.isArray(want) || !Array.isArray(proofs) || proofs.length !== want.length) {
    throw new ProofError(Check.ENCODING, `${proofs.length ?? 0} proofs for ${want.length ?? 0} records`);
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
    if (v.found && v.value[0] === 0x01) {
      try {
        names.set(v.key, decodeAccount(v.value).name);
      } catch {
        // not an account: no name
      }
    }
    last = v;
  }
  return { answer, height, time: Number(last?.time ?? Date.now()), signers: last?.signers ?? [], nodes: last?.nodes ?? 0, values, names };
}

/** What a page keeps of a proven read (and saves for offline): no answer, no values. */
function kept(r, extra) {
  return { height: r.height, time: r.time, signers: r.signers, nodes: r.nodes, names: r.names, ...extra };
}

/**
 * Reads a proposal (GET /v1/proposals/{id}?prove=1), verified, and
 * rebuilds its view from the proven records; the node's view must be the
 * same. Returns {proposal (the rebuilt view), record (the decoded
 * proposal record), height, time, signers, nodes, names}.
 */
export async function fetchProposal(app, id) {
  const r = await fetchProven(app, `/v1/proposals/${encodeURIComponent(id)}`, (a) => a.proposal?.records);
  const { view, record } = await proposalView(recordReader(r.values), id);
  checkView(r.answer.proposal, view, `proposal ${id}`);
  return kept(r, { proposal: view, record });
}

/**
 * Reads the registry, the domains and the executors (GET
 * /v1/governance?prove=1), verified, and rebuilds them from the proven
 * records: the proofs are of the registry's record, the domains', then
 * the executors' record and the accounts it names, each once. Returns the
 * proven read with `governance` and `executors` (the rebuilt views).
 */
export async function fetchGovernance(app) {
  const named = (a) => [a.governance?.record, ...(a.governance?.domains ?? []).map((d) => d.record)];
  const r = await fetchProven(app, '/v1/governance', (a) => {
    const n = named(a);
    const ps = Array.isArray(a.proofs) ? a.proofs : [];
    return [...n, ...ps.slice(n.length).map((p) => p?.key)];
  });
  const v = await governanceView(recordReader(r.values));
  checkView(r.answer.governance, v, 'governance view');
  const e = await executorsView(recordReader(r.values));
  const want = [...new Set([...named(r.answer), ...e.records].map((k) => String(k).toLowerCase()))];
  const have = r.answer.proofs.map((p) => String(p.key).toLowerCase());
  if (have.length !== want.length || have.some((k, i) => k !== want[i])) {
    throw new ProofError(Check.RECORD, `the governance answer's proofs are of ${have.length} records, its views are read from ${want.length}`);
  }
  checkView({ executors: r.answer.executors ?? [] }, { executors: e.executors }, 'executors');
  return kept(r, { governance: v, executors: e.executors });
}

/** Reads a page of a domain's proposals (GET /v1/proposals?domain=…), verified and rebuilt: `list`. */
export async function fetchProposals(app, domain, page = 0) {
  const r = await fetchProven(app, `/v1/proposals?domain=${encodeURIComponent(domain)}&page=${page}`, (a) => a.list?.records);
  const l = await proposalListView(recordReader(r.values), domain, page);
  checkView(r.answer.list, l, `list of domain ${domain}`);
  return kept(r, { list: l });
}

/**
 * Reads the executors (GET /v1/executors?prove=1), verified and rebuilt:
 * `executors`. The answer names no records: its proofs must be of the
 * ones the rebuilt view reads (the executors' record, then the accounts
 * named), in that order.
 */
export async function fetchExecutors(app) {
  const r = await fetchProven(app, '/v1/executors', (a) => (Array.isArray(a.proofs) ? a.proofs : []).map((p) => p?.key));
  const v = await executorsView(recordReader(r.values));
  checkView({ executors: r.answer.executors, records: r.answer.proofs.map((p) => String(p.key).toLowerCase()) }, v, 'executors');
  return kept(r, { executors: v.executors });
}

/**
 * Reads the first page of a proposal's comments (GET
 * /v1/proposals/{id}/comments?prove=1), verified and rebuilt: `comments`
 * [{index, author, name, time, text}] and `total` (the proven count).
 */
export async function fetchComments(app, id) {
  const r = await fetchProven(app, `/v1/proposals/${encodeURIComponent(id)}/comments`, (a) => a.records);
  const v = await commentsView(recordReader(r.values), id, 0);
  checkView({ comments: r.answer.comments, records: r.answer.records }, { comments: v.comments, records: v.records }, `comments of proposal ${id}`);
  return kept(r, { comments: v.comments, total: v.proposal.comments });
}

/** A member's name from the proven records, or null. */
export function nameOf(r, id) {
  const n = r.names.get(String(id).toLowerCase());
  return n ? n : null;
}
