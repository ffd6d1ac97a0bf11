// The browser side of the app's module tests (app_test.go): transfers
// built and signed by /tx.js with keys imported by /wallet.js, decoding,
// the wallet's storage, and the i18n tables. Each export takes one JSON
// argument and returns JSON text (BigInts as decimal strings, bytes as
// hex) for the Go test to compare with Go's own results.

import { fromHex, toHex } from '/light/bytes.js';
import * as tx from '/tx.js';
import { Wallet, publicKeyOfSeed, signWithSeed } from '/wallet.js';
import { STRINGS } from '/i18n.js';

function plain(v) {
  return JSON.stringify(v, (_, x) => {
    if (typeof x === 'bigint') return x.toString();
    if (x instanceof Uint8Array) return toHex(x);
    return x;
  });
}

function errorOf(e) {
  return { name: e?.name ?? 'Error', code: e?.code ?? '', message: String(e?.message ?? e) };
}

/** Another chain ID of the same length (the last character changed). */
function otherChain(id) {
  return id.slice(0, -1) + (id.endsWith('x') ? 'y' : 'x');
}

/**
 * Builds a transfer from the sender's seed to `to` and signs it with the
 * sender's seed, then with the recipient's (cosignSeed): {sender, partial,
 * full, hash, signed} in hex.
 */
export async function signTransfer({ chainID, seed, cosignSeed, to, amount, memo, nonce }) {
  const senderSeed = fromHex(seed, 'seed', 32);
  const sender = await publicKeyOfSeed(senderSeed);
  const unsigned = tx.transfer({ sender, nonce, to, amount, memo: fromHex(memo, 'memo') });
  const partial = await tx.addSignature(chainID, unsigned, sender, (m) => signWithSeed(senderSeed, m));
  const recipientSeed = fromHex(cosignSeed, 'seed', 32);
  const full = await tx.addSignature(chainID, partial, await publicKeyOfSeed(recipientSeed), (m) => signWithSeed(recipientSeed, m));
  return plain({
    sender,
    partial: tx.encode(partial),
    full: tx.encode(full),
    hash: await tx.hash(full),
    signed: tx.signedMessage(chainID, full),
    bad: await tx.checkSignatures(chainID, full),
    badElsewhere: await tx.checkSignatures(otherChain(chainID), full),
  });
}

/** Decodes a transfer (hex): its fields, or the error. */
export async function decodeTransfer({ hex, partial }) {
  try {
    const t = tx.decode(hex, { partial });
    return plain({ ok: true, sender: t.sender, to: t.to, amount: t.amount, memo: t.memo, nonce: t.nonce, sigs: t.sigs.length });
  } catch (e) {
    return plain({ ok: false, error: errorOf(e) });
  }
}

/** What building refuses: each case's error. */
export async function buildErrors(cases) {
  const out = [];
  for (const c of cases) {
    try {
      tx.transfer({ ...c, memo: c.memo ?? '' });
      out.push(null);
    } catch (e) {
      out.push(errorOf(e));
    }
  }
  return plain(out);
}

async function attempt(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, error: errorOf(e) };
  }
}

/** Reads every record of a store of an IndexedDB database, as stored. */
function rawRecords(dbName, store) {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(dbName);
    r.onerror = () => reject(r.error);
    r.onsuccess = () => {
      const q = r.result.transaction(store).objectStore(store).getAll();
      q.onsuccess = () => { resolve(q.result); r.result.close(); };
      q.onerror = () => reject(q.error);
    };
  });
}

/**
 * Runs the wallet through its life on a database of its own: set up,
 * import, make a key, lock, a wrong passphrase, unlock, export, sign; with
 * what is stored, for the Go test to check what is encrypted.
 */
export async function walletLife({ db, passphrase, keyFile, mismatched, message }) {
  const w = await Wallet.open(db);
  const out = {};
  out.existsBefore = w.exists;
  out.weak = await attempt(() => w.create('short'));
  out.importLocked = await attempt(() => w.importKeyFile(keyFile, 'x'));
  out.create = await attempt(() => w.create(passphrase));
  out.imported = await attempt(() => w.importKeyFile(keyFile, 'alice'));
  out.duplicate = await attempt(() => w.importKeyFile(keyFile, 'again'));
  out.mismatched = await attempt(() => w.importKeyFile(mismatched, 'bad'));
  out.notJSON = await attempt(() => w.importKeyFile('seed=00', 'bad'));
  out.generated = await attempt(() => w.generate('fresh'));
  out.accounts = await w.accounts();
  out.vault = (await rawRecords(db, 'meta'))[0];
  out.records = await rawRecords(db, 'accounts');
  w.lock();
  out.exportLocked = await attempt(() => w.exportKeyFile(out.imported.value.public));
  out.signLocked = await attempt(() => w.sign(out.imported.value.public, fromHex(message, 'message')));
  // A second opening (another tab, a reload) starts locked.
  const again = await Wallet.open(db);
  out.reopenedUnlocked = again.unlocked;
  out.wrong = await attempt(() => again.unlock(`${passphrase}!`));
  out.unlockedAfterWrong = again.unlocked;
  out.right = await attempt(() => again.unlock(passphrase));
  out.exported = await attempt(() => again.exportKeyFile(out.imported.value.public));
  out.exportedFresh = await attempt(() => again.exportKeyFile(out.generated.value.public));
  out.signature = await attempt(() => again.sign(out.imported.value.public, fromHex(message, 'message')));
  out.removed = await attempt(() => again.remove(out.generated.value.public));
  out.accountsAfter = await again.accounts();
  return plain(out);
}

/** The keys of each language's table. */
export async function i18nKeys() {
  return plain(Object.fromEntries(Object.entries(STRINGS).map(([l, s]) => [l, Object.keys(s)])));
}

/**
 * Checks a transaction's inclusion (node.js's verifyInclusion) in the
 * block answer given (null: not certified yet), with a light client
 * started from the genesis that syncs from this page's node.
 */
export async function inclusion({ genesis, height, tx: txHex, block }) {
  const { LightClient, Remote } = await import('/light.js');
  const { verifyInclusion } = await import('/node.js');
  const client = await LightClient.fromGenesis(genesis);
  const node = { block: async () => block };
  try {
    return plain({ ok: true, included: await verifyInclusion(node, client, new Remote(''), height, fromHex(txHex, 'tx')) });
  } catch (e) {
    return plain({ ok: false, error: errorOf(e) });
  }
}
