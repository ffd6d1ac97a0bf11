// Errors of the light client.
//
// Every check that fails throws a ProofError: what a node sent does not
// prove what it claims, and a page must show the failure, never the data.
// `check` names the check that failed (a short, stable identifier a page
// or a test can match); `message` says what was wrong, in the words of the
// Go light client (light/) where it has a message for the same failure.

/** A verification failed: the answer must not be shown as data. */
export class ProofError extends Error {
  /**
   * @param {string} check the check that failed, e.g. "certificate_quorum"
   * @param {string} message what was wrong
   */
  constructor(check, message) {
    super(message);
    this.name = 'ProofError';
    this.check = check;
  }
}

/**
 * A proof is for a height the client has not verified yet (Go:
 * light.ErrUnknownHeight). It is a ProofError, so nothing is shown; a page
 * may verify more headers and ask again.
 */
export class UnknownHeightError extends ProofError {
  constructor(message) {
    super('unknown_height', message);
    this.name = 'UnknownHeightError';
  }
}

/**
 * A node answered with an HTTP error or could not be reached: no claim was
 * made, so nothing failed verification (Go: the errors of light.Remote).
 */
export class RemoteError extends Error {
  /**
   * @param {string} message
   * @param {number} status the HTTP status, 0 when the node was not reached
   * @param {string} code the API's error code ("not_found" …), if any
   */
  constructor(message, status = 0, code = '') {
    super(message);
    this.name = 'RemoteError';
    this.status = status;
    this.code = code;
  }
}

/** The identifiers of the checks, as ProofError.check. */
export const Check = Object.freeze({
  UNSUPPORTED: 'unsupported', // the browser lacks WebCrypto Ed25519 or SHA-256
  GENESIS: 'genesis', // the genesis given to the client is not valid
  ENCODING: 'encoding', // an answer does not decode (JSON, hex, binary)
  SEGMENT: 'segment', // an empty or too long segment
  CHAIN_ID: 'chain_id', // a header of another chain
  HEIGHT: 'height', // a header out of sequence
  LINK: 'link', // prev is not the hash of the previous header
  TIME: 'time', // a header earlier than the previous one
  CERTIFICATE_MISSING: 'certificate_missing',
  CERTIFICATE_HEADER: 'certificate_header', // certifies another height or hash
  CERTIFICATE_QUORUM: 'certificate_quorum', // fewer than 2f+1 votes
  CERTIFICATE_SIGNERS: 'certificate_signers', // duplicate, unsorted or unknown signer
  CERTIFICATE_SIGNATURE: 'certificate_signature', // a signature that does not verify
  NODE_SET_MISSING: 'node_set_missing', // a new set the segment lacks
  NODE_SET_HASH: 'node_set_hash', // a set that does not hash to next_nodes
  NODE_SET_INVALID: 'node_set_invalid', // empty, too large, a key twice or weak
  UNKNOWN_HEIGHT: 'unknown_height', // a proof at a height not verified
  HEADER: 'header', // an answer's header is not the verified one
  KEY: 'key', // an answer about another record
  ABSENT_WITH_VALUE: 'absent_with_value', // "found": false with a value or sum
  PROOF: 'proof', // a proof that cannot prove the claim (kind, path, overflow)
  STATE_ROOT: 'state_root', // the proof does not lead to the state root
  RECORD: 'record', // a proven value that is not a valid record
  MEMBERS_ORDER: 'members_order', // a member list out of ID order, twice, or not a member
  MEMBERS_INCOMPLETE: 'members_incomplete', // fewer or more members than the organization counts
});
