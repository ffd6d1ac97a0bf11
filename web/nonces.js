// Nonces for the transactions this browser signs (docs/FORMATS.md,
// "Nonces"): an account may use any nonce in N … N+64 not used yet, where N
// is its lowest unused nonce and bit i of `used` marks nonce N+1+i as
// used. A transfer signed here but not yet in a block (waiting for its
// cosignature, or submitted) holds its nonce in a reservation, kept in
// localStorage for an hour, so that the next transfer takes another one.

/** How far above N a nonce may be (the window). */
export const WINDOW = 64;
/** How long a reservation lasts, in ms. */
export const RESERVE_MS = 60 * 60 * 1000;

function storageKey(chainID, sender) {
  return `mass.nonces.${chainID}.${sender}`;
}

function load(chainID, sender) {
  try {
    const rows = JSON.parse(localStorage.getItem(storageKey(chainID, sender)) ?? '[]');
    return Array.isArray(rows) ? rows.filter((r) => r.until > Date.now()) : [];
  } catch {
    return [];
  }
}

function save(chainID, sender, rows) {
  if (rows.length === 0) localStorage.removeItem(storageKey(chainID, sender));
  else localStorage.setItem(storageKey(chainID, sender), JSON.stringify(rows));
}

/** The nonces (BigInt) this browser holds for sender (public key hex). */
export function reserved(chainID, sender) {
  return new Set(load(chainID, sender).map((r) => BigInt(r.nonce)));
}

/** Holds nonce for sender for RESERVE_MS. */
export function reserve(chainID, sender, nonce) {
  const rows = load(chainID, sender).filter((r) => BigInt(r.nonce) !== BigInt(nonce));
  rows.push({ nonce: String(nonce), until: Date.now() + RESERVE_MS });
  save(chainID, sender, rows);
}

/** Lets nonce go (its transaction is in a block, or was refused). */
export function release(chainID, sender, nonce) {
  save(chainID, sender, load(chainID, sender).filter((r) => BigInt(r.nonce) !== BigInt(nonce)));
}

/**
 * The lowest nonce the account can use that this browser does not hold:
 * account is the verified record ({nonce, used} as BigInt; null when the
 * account does not exist yet, whose next nonce is 0). Null when the whole
 * window is taken.
 */
export function nextNonce(account, held = new Set()) {
  const n = account?.nonce ?? 0n;
  const used = account?.used ?? 0n;
  if (!held.has(n)) return n;
  for (let i = 0n; i < BigInt(WINDOW); i++) {
    const c = n + 1n + i;
    if (((used >> i) & 1n) === 0n && !held.has(c)) return c;
  }
  return null;
}
