// The browser side of the tests of package internal/web: it runs the light
// client (/light.js) on answers the Go test hands it and returns what was
// proven, or which check failed, as JSON text (BigInts as decimal strings,
// bytes as hex) for the Go test to compare with Go's light client.

import { LightClient, ProofError, Remote } from '/light.js';
import { fromHex, toHex } from '/light/bytes.js';
import { canonicalS, verifySignature, weakKeyReason } from '/light/ed25519.js';

/** JSON text of v: BigInt as a decimal string, bytes as hex. */
function plain(v) {
  return JSON.stringify(v, (_, x) => {
    if (typeof x === 'bigint') return x.toString();
    if (x instanceof Uint8Array) return toHex(x);
    return x;
  });
}

/** What a failure says: its class, check and message. */
function errorOf(e) {
  if (e instanceof ProofError) return { name: e.name, check: e.check, message: e.message };
  return { name: e?.name ?? 'Error', check: '', message: String(e?.message ?? e) };
}

/** The proven values of a step, in the shape the Go test builds too. */
function summary(kind, r) {
  switch (kind) {
    case 'segment':
      return { from: r.from, to: r.to };
    case 'account': {
      const a = r.account;
      return {
        height: r.height, found: r.found, balance: r.balance, supply: r.supply, signers: r.signers,
        nodes: r.nodes, nonce: a?.nonce ?? '', used: a?.used ?? '', name: a?.name ?? '', role: a?.role ?? '',
        flags: a?.flags ?? 0,
      };
    }
    case 'organization': {
      const o = r.organization;
      return {
        height: r.height, found: r.found, supply: r.supply, signers: r.signers, nodes: r.nodes, name: o.name,
        policy: o.policy, members: o.members, supervisors: o.supervisors, applicants: o.applicants,
      };
    }
  }
  throw new Error(`unknown step kind ${kind}`);
}

async function step(client, s) {
  switch (s.kind) {
    case 'segment':
      return client.verifySegment(s.answer);
    case 'account':
      return client.verifyAccount(s.answer, s.account);
    case 'organization':
      return client.verifyOrganization(s.answer);
  }
  throw new Error(`unknown step kind ${s.kind}`);
}

/**
 * Runs a scenario {genesis, steps: [{kind, answer, account}]}: a client
 * from the genesis text, then each step (answers as JSON text) until one
 * fails. Returns {steps: [{ok, result} | {ok: false, error}], height, eras}.
 */
export async function run(scenario) {
  const out = { steps: [] };
  let client;
  try {
    client = await LightClient.fromGenesis(scenario.genesis);
  } catch (e) {
    out.genesisError = errorOf(e);
    return plain(out);
  }
  for (const s of scenario.steps ?? []) {
    try {
      out.steps.push({ ok: true, result: summary(s.kind, await step(client, s)) });
    } catch (e) {
      out.steps.push({ ok: false, error: errorOf(e) });
      break;
    }
  }
  out.height = client.height;
  out.eras = client.eras();
  return plain(out);
}

/**
 * Fetches from this page's node: the account (at the latest height) and
 * the organization, verifying the headers they need. Returns their
 * summaries and the client's height.
 */
export async function fetchRun({ genesis, account }) {
  const client = await LightClient.fromGenesis(genesis);
  const remote = new Remote('');
  const acct = await client.fetchAccount(remote, account);
  const org = await client.fetchOrganization(remote);
  return plain({ account: summary('account', acct), organization: summary('organization', org), height: client.height });
}

/**
 * Asks this page's node for an account at a height and returns how the
 * client failed: {name, check, status, code}.
 */
export async function fetchError({ genesis, account, height }) {
  const client = await LightClient.fromGenesis(genesis);
  try {
    await client.fetchAccount(new Remote(''), account, height);
  } catch (e) {
    return plain({ ...errorOf(e), status: e.status ?? 0, code: e.code ?? '' });
  }
  return plain({ name: 'none' });
}

/** For each key (hex): null if strong, else why not (as Go's CheckStrong). */
export function weakKeys(keys) {
  return plain(keys.map((k) => weakKeyReason(fromHex(k, 'key', 32))));
}

/**
 * For each {key, msg, sig} (hex): whether the signature verifies, and
 * whether its S is canonical (checked by the client itself, whatever the
 * browser's Ed25519 does).
 */
export async function verifySignatures(items) {
  const sigs = items.map((x) => fromHex(x.sig, 'sig'));
  const ok = await Promise.all(items.map((x, i) => verifySignature(fromHex(x.key, 'key'), fromHex(x.msg, 'msg'), sigs[i])));
  return plain({ ok, canonical: sigs.map(canonicalS) });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/**
 * Times the verification of a segment and then of an account answer, each
 * run on a fresh client from the genesis; and, from this page's node, the
 * fetch and verification of the headers 1..height and of the account at
 * height. Returns the medians and maxima in milliseconds.
 */
export async function bench({ genesis, segment, answer, account, height, runs }) {
  const seg = [];
  const acct = [];
  const fetched = [];
  for (let i = 0; i < runs; i++) {
    const client = await LightClient.fromGenesis(genesis);
    const t0 = performance.now();
    await client.verifySegment(segment);
    const t1 = performance.now();
    await client.verifyAccount(answer, account);
    const t2 = performance.now();
    seg.push(t1 - t0);
    acct.push(t2 - t1);

    const fresh = await LightClient.fromGenesis(genesis);
    const remote = new Remote('');
    const t3 = performance.now();
    await fresh.sync(remote, height);
    await fresh.fetchAccount(remote, account, height);
    fetched.push(performance.now() - t3);
  }
  return plain({
    segmentMedian: median(seg), segmentMax: Math.max(...seg),
    accountMedian: median(acct), accountMax: Math.max(...acct),
    fetchMedian: median(fetched), fetchMax: Math.max(...fetched),
  });
}
