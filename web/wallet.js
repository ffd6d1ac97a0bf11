// The wallet: the member's ed25519 keys, kept in this browser's IndexedDB,
// each seed encrypted under one passphrase.
//
// - Keys are made by WebCrypto (Ed25519 generateKey) or imported from a
//   key file, the CLI's {"seed": "<64 hex>", "public": "<64 hex>"} (the
//   seed decides; "public", when present, must match it).
// - The passphrase is never stored. PBKDF2-SHA-256 over it with a random
//   16-byte salt and ITERATIONS iterations gives an AES-GCM 256 key, which
//   stays in memory (not extractable) while the wallet is unlocked and is
//   dropped when it locks or the page closes.
// - Each seed is stored as AES-GCM(key, random 12-byte IV, seed) with the
//   public key in the additional data, so a record cannot be moved to
//   another key. A constant encrypted the same way (a "check") tells a
//   wrong passphrase from a right one.
// - Stored in clear: each account's public key, label and creation time,
//   and the salt and iteration count, so that the accounts can be shown
//   (and verified) while the wallet is locked.
//
// WebCrypto cannot import a raw ed25519 seed: a seed is imported as PKCS#8
// (PKCS8_PREFIX ‖ seed, RFC 8410) and a generated key exported as PKCS#8
// to get its seed. A signing key is imported, used and dropped for each
// signature.

import { concat, equalBytes, fromHex, sha256, toHex, utf8Bytes } from './light/bytes.js';

/** PBKDF2 iterations for a new wallet (OWASP's figure for PBKDF2-SHA-256, 2023). */
export const ITERATIONS = 600_000;
/** The shortest passphrase accepted. */
export const MIN_PASSPHRASE = 8;
/** The longest label of an account, in characters. */
export const MAX_LABEL = 64;

/** The fixed DER prefix of an ed25519 private key in PKCS#8 (RFC 8410), before the 32-byte seed. */
export const PKCS8_PREFIX = fromHex('302e020100300506032b657004220420', 'PKCS#8 prefix');

const DB_NAME = 'mass-wallet';
const DB_VERSION = 1;
const CHECK_TEXT = utf8Bytes('mass/wallet/v1 check');
const CHECK_AAD = utf8Bytes('mass/wallet/v1/check');
const SEED_AAD = utf8Bytes('mass/wallet/v1/seed\x00');

/**
 * A wallet error. code is one of: no_wallet, exists, locked,
 * wrong_passphrase, weak_passphrase, bad_key_file, key_mismatch,
 * duplicate, unknown_account, bad_label, unsupported.
 */
export class WalletError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'WalletError';
    this.code = code;
  }
}

function subtle() {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new WalletError('unsupported', 'this page has no WebCrypto: open it over https or from localhost');
  return s;
}

// IndexedDB, as promises.

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function openDB(name) {
  const r = indexedDB.open(name, DB_VERSION);
  r.onupgradeneeded = () => {
    const db = r.result;
    if (!db.objectStoreNames.contains('meta')) db.createObjectStore('meta');
    if (!db.objectStoreNames.contains('accounts')) db.createObjectStore('accounts', { keyPath: 'public' });
  };
  return request(r);
}

/** Runs fn(stores) in one transaction over the named stores; resolves when it commits. */
function transact(db, names, mode, fn) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(names, mode);
    const stores = Object.fromEntries(names.map((n) => [n, tx.objectStore(n)]));
    let out;
    Promise.resolve(fn(stores)).then((v) => { out = v; }, (e) => {
      try {
        tx.abort();
      } catch {
        // finished already: nothing to undo
      }
      reject(e);
    });
    tx.oncomplete = () => resolve(out);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('wallet: transaction aborted'));
  });
}

// Keys.

/** The PKCS#8 encoding of a 32-byte seed. */
function pkcs8Of(seed) {
  return concat(PKCS8_PREFIX, seed);
}

function base64url(s) {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

/** The public key (32 bytes) of a seed, by WebCrypto. */
export async function publicKeyOfSeed(seed) {
  const k = await subtle().importKey('pkcs8', pkcs8Of(seed), { name: 'Ed25519' }, true, ['sign']);
  const jwk = await subtle().exportKey('jwk', k);
  return base64url(jwk.x);
}

/** Signs message with a seed (a fresh, non-extractable key, used once). */
export async function signWithSeed(seed, message) {
  const k = await subtle().importKey('pkcs8', pkcs8Of(seed), { name: 'Ed25519' }, false, ['sign']);
  return new Uint8Array(await subtle().sign({ name: 'Ed25519' }, k, message));
}

/** A new key by WebCrypto: {seed, public}. */
async function generateKey() {
  const pair = await subtle().generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const der = new Uint8Array(await subtle().exportKey('pkcs8', pair.privateKey));
  if (der.length !== 48 || !equalBytes(der.subarray(0, 16), PKCS8_PREFIX)) {
    throw new WalletError('unsupported', 'this browser exports ed25519 keys in an unexpected PKCS#8 form');
  }
  return { seed: der.slice(16), public: new Uint8Array(await subtle().exportKey('raw', pair.publicKey)) };
}

/** An account's ID (hex): the first 20 bytes of SHA-256 of its public key. */
export async function accountID(publicKey) {
  return toHex((await sha256(publicKey instanceof Uint8Array ? publicKey : fromHex(publicKey, 'public key', 32))).slice(0, 20));
}

/**
 * Reads a key file's text: {"seed": "<64 hex>", "public": "<64 hex>"}.
 * Returns {seed, public} (bytes); throws WalletError.
 */
export async function parseKeyFile(text) {
  let j;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new WalletError('bad_key_file', `not a key file (JSON): ${e.message}`);
  }
  if (typeof j !== 'object' || j === null || typeof j.seed !== 'string' || !/^[0-9a-fA-F]{64}$/.test(j.seed)) {
    throw new WalletError('bad_key_file', 'not a key file: want {"seed": "<64 hex digits>", "public": "<64 hex digits>"}');
  }
  const seed = fromHex(j.seed, 'seed', 32);
  const pub = await publicKeyOfSeed(seed);
  if (j.public !== undefined && j.public !== '' && String(j.public).toLowerCase() !== toHex(pub)) {
    throw new WalletError('key_mismatch',
      `"public" is ${j.public}, but the seed's public key is ${toHex(pub)}: the file was edited or mixed up`);
  }
  return { seed, public: pub };
}

/** A key file's text, as Go's home.SaveKey writes it. */
export function keyFileText(seed, publicKey) {
  return `${JSON.stringify({ seed: toHex(seed), public: toHex(publicKey) }, null, 2)}\n`;
}

function checkLabel(label) {
  const l = String(label ?? '').trim();
  if (l.length > MAX_LABEL) throw new WalletError('bad_label', `a label has at most ${MAX_LABEL} characters`);
  return l;
}

/**
 * The wallet of this browser. Open it with Wallet.open(); every method
 * that reads a seed needs it unlocked.
 */
export class Wallet {
  #db;
  #key = null; // the AES-GCM key while unlocked
  #vault = null; // the meta record: {version, salt, iterations, check: {iv, data}}
  #listeners = new Set();

  constructor(db, vault) {
    this.#db = db;
    this.#vault = vault;
  }

  /** Opens (creating if needed) the wallet database of this origin. */
  static async open(name = DB_NAME) {
    const db = await openDB(name);
    db.onversionchange = () => db.close(); // a newer app in another tab upgrades the database
    const vault = await transact(db, ['meta'], 'readonly', (s) => request(s.meta.get('vault')));
    return new Wallet(db, vault ?? null);
  }

  /** Whether a wallet (a passphrase) has been set up. */
  get exists() {
    return this.#vault !== null;
  }

  /** Whether the seeds can be used now. */
  get unlocked() {
    return this.#key !== null;
  }

  /** Calls fn() whenever the wallet locks, unlocks or its accounts change; returns the unsubscribe. */
  onChange(fn) {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #changed() {
    for (const fn of this.#listeners) fn();
  }

  static async #derive(passphrase, salt, iterations) {
    const base = await subtle().importKey('raw', utf8Bytes(passphrase), 'PBKDF2', false, ['deriveKey']);
    return subtle().deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base,
      { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  }

  async #encrypt(data, aad) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: aad }, this.#key, data);
    return { iv, data: new Uint8Array(ct) };
  }

  async #decrypt(box, aad, key = this.#key) {
    return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: box.iv, additionalData: aad }, key, box.data));
  }

  /** Sets the wallet up with a passphrase (and unlocks it). */
  async create(passphrase, { iterations = ITERATIONS } = {}) {
    if (this.exists) throw new WalletError('exists', 'this browser has a wallet already');
    if (typeof passphrase !== 'string' || passphrase.length < MIN_PASSPHRASE) {
      throw new WalletError('weak_passphrase', `a passphrase has at least ${MIN_PASSPHRASE} characters`);
    }
    const salt = crypto.getRandomValues(new Uint8Array(16));
    this.#key = await Wallet.#derive(passphrase, salt, iterations);
    const check = await this.#encrypt(CHECK_TEXT, CHECK_AAD);
    const vault = { version: 1, kdf: 'PBKDF2-SHA-256', salt, iterations, cipher: 'AES-GCM-256', check };
    await transact(this.#db, ['meta'], 'readwrite', (s) => request(s.meta.put(vault, 'vault')));
    this.#vault = vault;
    this.#changed();
  }

  /** Unlocks the wallet; a wrong passphrase throws WalletError('wrong_passphrase'). */
  async unlock(passphrase) {
    if (!this.exists) throw new WalletError('no_wallet', 'this browser has no wallet yet');
    const key = await Wallet.#derive(String(passphrase), this.#vault.salt, this.#vault.iterations);
    let text;
    try {
      text = await this.#decrypt(this.#vault.check, CHECK_AAD, key);
    } catch {
      throw new WalletError('wrong_passphrase', 'wrong passphrase');
    }
    if (!equalBytes(text, CHECK_TEXT)) throw new WalletError('wrong_passphrase', 'wrong passphrase');
    this.#key = key;
    this.#changed();
  }

  /** Forgets the key: the seeds cannot be used until unlock. */
  lock() {
    if (this.#key === null) return;
    this.#key = null;
    this.#changed();
  }

  #needUnlocked() {
    if (!this.exists) throw new WalletError('no_wallet', 'this browser has no wallet yet');
    if (!this.unlocked) throw new WalletError('locked', 'the wallet is locked');
  }

  /** The accounts, oldest first: [{public, id, label, created}] (hex). */
  async accounts() {
    const rows = await transact(this.#db, ['accounts'], 'readonly', (s) => request(s.accounts.getAll()));
    rows.sort((a, b) => a.created - b.created);
    return Promise.all(rows.map(async (r) => ({ public: r.public, id: await accountID(r.public), label: r.label, created: r.created })));
  }

  /** The account of a public key (hex), or null. */
  async account(publicKey) {
    return (await this.accounts()).find((a) => a.public === String(publicKey).toLowerCase()) ?? null;
  }

  async #store(seed, pub, label) {
    const l = checkLabel(label);
    const hex = toHex(pub);
    const box = await this.#encrypt(seed, concat(SEED_AAD, pub));
    const row = { public: hex, label: l, created: Date.now(), seed: box };
    await transact(this.#db, ['accounts'], 'readwrite', async (s) => {
      if ((await request(s.accounts.getKey(hex))) !== undefined) {
        throw new WalletError('duplicate', `the wallet holds the key ${hex} already`);
      }
      await request(s.accounts.add(row));
    });
    this.#changed();
    return { public: hex, id: await accountID(pub), label: l, created: row.created };
  }

  /** Makes a new key and keeps it under label. */
  async generate(label) {
    this.#needUnlocked();
    const k = await generateKey();
    try {
      return await this.#store(k.seed, k.public, label);
    } finally {
      k.seed.fill(0);
    }
  }

  /** Imports a key file's text (see parseKeyFile) under label. */
  async importKeyFile(text, label) {
    this.#needUnlocked();
    const k = await parseKeyFile(text);
    try {
      return await this.#store(k.seed, k.public, label);
    } finally {
      k.seed.fill(0);
    }
  }

  /** Renames an account. */
  async rename(publicKey, label) {
    const l = checkLabel(label);
    await transact(this.#db, ['accounts'], 'readwrite', async (s) => {
      const row = await request(s.accounts.get(String(publicKey).toLowerCase()));
      if (!row) throw new WalletError('unknown_account', `no account ${publicKey} in the wallet`);
      row.label = l;
      await request(s.accounts.put(row));
    });
    this.#changed();
  }

  /** Removes an account and its seed from the wallet (needs it unlocked). */
  async remove(publicKey) {
    this.#needUnlocked();
    await transact(this.#db, ['accounts'], 'readwrite', (s) => request(s.accounts.delete(String(publicKey).toLowerCase())));
    this.#changed();
  }

  async #seed(publicKey) {
    this.#needUnlocked();
    const hex = String(publicKey).toLowerCase();
    const row = await transact(this.#db, ['accounts'], 'readonly', (s) => request(s.accounts.get(hex)));
    if (!row) throw new WalletError('unknown_account', `no account ${hex} in the wallet`);
    try {
      return await this.#decrypt(row.seed, concat(SEED_AAD, fromHex(hex, 'public key', 32)));
    } catch {
      throw new WalletError('wrong_passphrase', `the seed of ${hex} does not decrypt under this passphrase`);
    }
  }

  /** The key file's text of an account (its seed in clear: for the member to keep). */
  async exportKeyFile(publicKey) {
    const seed = await this.#seed(publicKey);
    try {
      return keyFileText(seed, fromHex(String(publicKey).toLowerCase(), 'public key', 32));
    } finally {
      seed.fill(0);
    }
  }

  /** Signs message with an account's key: 64 bytes. */
  async sign(publicKey, message) {
    const seed = await this.#seed(publicKey);
    try {
      return await signWithSeed(seed, message);
    } finally {
      seed.fill(0);
    }
  }
}
