// The records a light client reads (docs/FORMATS.md, "Records"; Go:
// internal/app/state): their keys and the decoding of their values.

import { Reader, sha256, toHex, utf8Bytes, utf8String } from './bytes.js';
import { Check, ProofError } from './errors.js';

/** The most bytes of an account's name. */
export const MAX_NAME = 64;
/** The most bytes of the organization's name. */
export const MAX_ORG_NAME = 128;

/** Role names by their code. */
export const ROLES = Object.freeze(['guest', 'member', 'supervisor']);
/** Policy names by their code (1 and 2). */
export const POLICIES = Object.freeze({ 1: 'supervisor', 2: 'vote' });

const FLAG_APPLYING = 1 << 0;
const FLAG_FROZEN = 1 << 1;
const FLAG_SUSPENDED = 1 << 2;
const FLAGS_KNOWN = FLAG_APPLYING | FLAG_FROZEN | FLAG_SUSPENDED;

/** N(name): the first 20 bytes of H("mass/key/" ‖ name). */
export async function namedKey(name) {
  return (await sha256(utf8Bytes(`mass/key/${name}`))).slice(0, 20);
}

/** The key of the organization record. */
export function organizationKey() {
  return namedKey('organization');
}

/** An account's ID: the first 20 bytes of H(public key). */
export async function accountID(publicKey) {
  return (await sha256(publicKey)).slice(0, 20);
}

function malformed(what, message) {
  return new ProofError(Check.RECORD, `${what}: ${message}`);
}

/**
 * Decodes an account record: 0x01 ‖ role:u8 ‖ flags:u8 ‖ nonce:u64 ‖
 * used:u64 ‖ name:bytes (≤ 64). nonce and used are BigInt.
 */
export function decodeAccount(value) {
  const r = new Reader(value, 'account', Check.RECORD);
  const kind = r.u8('kind');
  if (kind !== 0x01) throw malformed('account', `kind ${kind} is not an account`);
  const roleCode = r.u8('role');
  const flags = r.u8('flags');
  const nonce = r.u64('nonce');
  const used = r.u64('used');
  const name = r.bytes(MAX_NAME, 'name');
  r.done();
  if (roleCode > 2 || (flags & ~FLAGS_KNOWN) !== 0) {
    throw malformed('account', `role ${roleCode}, flags 0x${flags.toString(16)}`);
  }
  return {
    role: ROLES[roleCode],
    roleCode,
    flags,
    applying: (flags & FLAG_APPLYING) !== 0,
    frozen: (flags & FLAG_FROZEN) !== 0,
    suspended: (flags & FLAG_SUSPENDED) !== 0,
    nonce,
    used,
    name: utf8String(name),
    nameHex: toHex(name),
  };
}

/**
 * Decodes the organization record: 0x02 ‖ name:bytes (≤ 128) ‖ policy:u8 ‖
 * members:u64 ‖ supervisors:u64 ‖ applicants:u64 (BigInt).
 */
export function decodeOrganization(value) {
  const r = new Reader(value, 'organization', Check.RECORD);
  const kind = r.u8('kind');
  if (kind !== 0x02) throw malformed('organization', `kind ${kind} is not the organization`);
  const name = r.bytes(MAX_ORG_NAME, 'name');
  const policyCode = r.u8('policy');
  const members = r.u64('members');
  const supervisors = r.u64('supervisors');
  const applicants = r.u64('applicants');
  r.done();
  if (!(policyCode in POLICIES)) throw malformed('organization', `policy ${policyCode}`);
  return {
    name: utf8String(name),
    policy: POLICIES[policyCode],
    policyCode,
    members,
    supervisors,
    applicants,
  };
}
