// Governance transactions, built and signed in the browser exactly as Go
// builds them (internal/app/tx: gov.go, action.go, action_text.go;
// docs/FORMATS.md, "Transactions"): apply (2), decide (3), create (5),
// join (6), option (7), comment (8), vote (9), freeze (10), review (11),
// challenge (12). Each has one signer, the sender. The envelope is tx.js's:
//
//   body   = version:u8 (=1) ‖ type:u8 ‖ sender:[32] ‖ nonce:u64 ‖ payload:bytes
//   tx     = body ‖ count:u8 (=1) ‖ signature:[64]
//   signed = "mass/tx/v1" ‖ 0x00 ‖ len(chain id):u8 ‖ chain id ‖ body
//
// Fields:
//   ident   = bytes: 1–32 of a-z 0-9 _ -, a letter first
//   desire  = meeting:u64 (ms) ‖ publicity:u64 (ms) ‖ capacity:u16
//   option  = title:bytes ‖ count:u8 (0–8) ‖ action × count
//   action  = kind:u8 ‖ fields (parseAction reads the text form)
//
// Building checks what Go's decoder checks, so that what the page signs is
// what every node can decode; the rules of the state (who may, when) are
// the node's.

import { concat, fromHex, sha256, toHex, u32Bytes, u64Bytes, utf8Bytes } from './light/bytes.js';
import { TxError, VERSION, MAX_PAYLOAD } from './tx.js';
import { checkParams, itemText } from './saleparams.js';

export const TYPE = Object.freeze({
  apply: 2, decide: 3, leave: 4, create: 5, join: 6, option: 7, comment: 8, vote: 9, freeze: 10, review: 11, challenge: 12,
});

export const MAX_NAME = 64;
export const MAX_NOTE = 1024;
export const MAX_TITLE = 200;
export const MAX_BODY = 16 << 10;
export const MAX_OPTIONS = 32;
export const MAX_ACTIONS = 8;
export const MAX_COMMENT = 2048;
export const MAX_IDENT = 32;
export const MAX_WINDOW = 366 * 24 * 3600 * 1000;
export const MIN_CAPACITY = 2;
export const MAX_CAPACITY = 1024;
const MAX_U64 = (1n << 64n) - 1n;

/** The treasury's ID (first 20 bytes of H("mass/key/treasury")); filled by treasuryID(). */
let treasury = null;

async function treasuryID() {
  if (treasury === null) treasury = (await sha256(utf8Bytes('mass/key/treasury'))).slice(0, 20);
  return treasury;
}

const u8 = (v) => new Uint8Array([v]);
function u16(v) {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, v);
  return b;
}
const bytesField = (b) => concat(u32Bytes(b.length), b);

function u64(v, what) {
  let x;
  try {
    x = BigInt(v);
  } catch {
    throw new TxError(`${what} is not a whole number`);
  }
  if (x < 0n || x > MAX_U64) throw new TxError(`${what} is not an unsigned 64-bit number`);
  return x;
}

function hexBytes(v, size, what) {
  if (v instanceof Uint8Array) {
    if (v.length !== size) throw new TxError(`${what}: ${v.length} bytes, want ${size}`);
    return v;
  }
  try {
    return fromHex(String(v).trim().toLowerCase(), what, size);
  } catch (e) {
    throw new TxError(e.message);
  }
}

function hasControl(s, multiline) {
  for (const c of s) {
    const cp = c.codePointAt(0);
    const control = cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
    if (control && !(multiline && (c === '\n' || c === '\t'))) return true;
  }
  return false;
}

/** Checks a text as tx.CheckText: 1…max bytes of UTF-8 without control characters. */
export function checkText(s, max, multiline, what) {
  const b = utf8Bytes(s);
  if (b.length === 0 || b.length > max) throw new TxError(`${what}: a text of ${b.length} bytes (1 to ${max})`);
  if (hasControl(s, multiline)) throw new TxError(`${what}: a control character`);
  return b;
}

/** Checks an identifier as tx.CheckIdent. */
export function checkIdent(s, what = 'identifier') {
  if (typeof s !== 'string' || !/^[a-z][a-z0-9_-]{0,31}$/.test(s)) {
    throw new TxError(`${what} "${s}": 1 to ${MAX_IDENT} of a-z, 0-9, _ or -, a letter first`);
  }
  return utf8Bytes(s);
}

/** Checks a member's name as tx.CheckName. */
export function checkName(s) {
  const b = utf8Bytes(s);
  if (b.length === 0 || b.length > MAX_NAME) throw new TxError(`a name has 1 to ${MAX_NAME} bytes, not ${b.length}`);
  if (hasControl(s, false)) throw new TxError('a name has a control character');
  if (/^\p{White_Space}/u.test(s)) throw new TxError('a name starts with a space');
  if (/\p{White_Space}$/u.test(s)) throw new TxError('a name ends with a space');
  return b;
}

/** A desire: {meeting, publicity} in ms, capacity; checked as Go's readDesire. */
export function desire({ meeting, publicity, capacity }) {
  const m = u64(meeting, 'the meeting window');
  const p = u64(publicity, 'the publicity window');
  const c = Number(capacity);
  if (m === 0n || m > BigInt(MAX_WINDOW)) throw new TxError('meeting window out of 1 … 366 days');
  if (p === 0n || p > BigInt(MAX_WINDOW)) throw new TxError('publicity window out of 1 … 366 days');
  if (!Number.isInteger(c) || c < MIN_CAPACITY || c > MAX_CAPACITY) throw new TxError(`capacity out of ${MIN_CAPACITY} … ${MAX_CAPACITY}`);
  return concat(u64Bytes(m), u64Bytes(p), u16(c));
}

// ---- actions: the text form (docs/GOVERNANCE.md, "Execution and actions") ----

const ACTIONS = {
  add_member: 1, remove_member: 2, confirm_join: 3, add_node: 4, remove_node: 5, set_param: 6, add_domain: 7,
  mint: 8, pay: 9, set_version: 10, appoint: 11, dismiss: 12, remove_domain: 13, rename_domain: 14, open_sale: 15,
};

const USAGE = {
  add_member: 'add_member <account> <name>', remove_member: 'remove_member <account>', confirm_join: 'confirm_join <account>',
  add_node: 'add_node <key> [address …]', remove_node: 'remove_node <key>', set_param: 'set_param <domain> <parameter> <value>',
  add_domain: 'add_domain <domain>', mint: 'mint <account> <amount>', pay: 'pay <account> <amount>',
  set_version: 'set_version <version> <height>', appoint: 'appoint <role> <member> <term>', dismiss: 'dismiss <role>',
  remove_domain: 'remove_domain <domain>', rename_domain: 'rename_domain <domain> <new name>',
  open_sale: 'open_sale <item> <supply> <per request> <start> <window> <max age> <difficulty> <price> <max requests>',
};

/** The parameters of a domain, in their record's order, with their units. */
export const PARAMS = [
  'active_limit', 'max_queued', 'queue_expiry', 'meeting_min', 'meeting_max', 'publicity_min', 'publicity_max',
  'capacity_min', 'capacity_max', 'publicity_unit', 'publicity_floor', 'publicity_ceiling', 'review_window',
  'aggregate', 'gather_min',
];
const DURATION_PARAMS = new Set(['queue_expiry', 'gather_min', 'meeting_min', 'meeting_max', 'publicity_min', 'publicity_max',
  'publicity_unit', 'publicity_floor', 'publicity_ceiling', 'review_window']);

/** Whether a parameter is a duration (ms). */
export function isDuration(param) {
  return DURATION_PARAMS.has(param);
}

const HEX = /^[0-9a-fA-F]+$/;
const SIMPLE_ESCAPES = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34 };

/**
 * The text of a Go double-quoted string (q, quotes included) as
 * strconv.Unquote reads it: the escapes \a \b \f \n \r \t \v \\ \",
 * \xHH and \ooo (bytes), \uHHHH and \UHHHHHHHH (code points, not
 * surrogates); no newline. Bytes that are not UTF-8 together are refused.
 */
function goUnquote(q, at) {
  const bad = () => new TxError(`an invalid quoted string at ${at}`);
  const out = [];
  const body = q.slice(1, -1);
  for (let i = 0; i < body.length;) {
    const c = body[i];
    if (c === '\n' || c === '"') throw bad();
    if (c !== '\\') {
      const cp = body.codePointAt(i);
      if (cp >= 0xd800 && cp < 0xe000) throw bad(); // a lone surrogate: not UTF-8
      out.push(...utf8Bytes(String.fromCodePoint(cp)));
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) throw bad();
    if (e in SIMPLE_ESCAPES) {
      out.push(SIMPLE_ESCAPES[e]);
      i += 2;
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const n = { x: 2, u: 4, U: 8 }[e];
      const h = body.slice(i + 2, i + 2 + n);
      if (h.length !== n || !HEX.test(h)) throw bad();
      const v = parseInt(h, 16);
      if (e === 'x') out.push(v);
      else if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) throw bad();
      else out.push(...utf8Bytes(String.fromCodePoint(v)));
      i += 2 + n;
    } else if (e >= '0' && e <= '7') {
      const o = body.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(o) || parseInt(o, 8) > 255) throw bad();
      out.push(parseInt(o, 8));
      i += 4;
    } else {
      throw bad();
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(new Uint8Array(out));
  } catch {
    throw new TxError(`a quoted string at ${at} that is not UTF-8`);
  }
}

/** Go's unicode.IsSpace. */
const SPACE = /\p{White_Space}/u;

/** Splits a line into words: runs of non-spaces, or Go double-quoted strings (tx's splitWords). */
function splitWords(s) {
  const out = [];
  let i = 0;
  while (i < s.length) {
    if (SPACE.test(s[i])) {
      i++;
    } else if (s[i] === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
      if (j >= s.length) throw new TxError(`an unterminated quoted string at ${i}`);
      const w = goUnquote(s.slice(i, j + 1), i);
      i = j + 1;
      if (i < s.length && !SPACE.test(s[i])) throw new TxError(`a quoted string is followed by "${s[i]}", not a space`);
      out.push(w);
    } else {
      let j = i;
      while (j < s.length && !SPACE.test(s[j])) j++;
      out.push(s.slice(i, j));
      i = j;
    }
  }
  return out;
}

function number(s, what) {
  if (!/^(0|[1-9][0-9]*)$/.test(s)) throw new TxError(`${what} "${s}" is not a whole number`);
  const v = BigInt(s);
  if (v > MAX_U64) throw new TxError(`${what} "${s}" is too large`);
  return v;
}

const UNITS = [['d', 86_400_000n], ['h', 3_600_000n], ['m', 60_000n], ['s', 1000n], ['ms', 1n]];

/** A duration as tx.ParseDuration: milliseconds, or e.g. 90s, 10m, 1h30m, 7d. Returns BigInt ms. */
export function parseDuration(s) {
  if (/^(0|[1-9][0-9]*)$/.test(s)) return number(s, 'a duration');
  const bad = new TxError(`"${s}" is not a duration (milliseconds, or e.g. 90s, 10m, 1h30m, 7d)`);
  if (s === '') throw bad;
  let total = 0n;
  let next = 0;
  let rest = s;
  while (rest !== '') {
    const m = rest.match(/^[0-9]+/);
    if (!m || (m[0].length > 1 && m[0][0] === '0')) throw bad;
    const n = BigInt(m[0]);
    rest = rest.slice(m[0].length);
    let u = -1;
    for (let i = next; i < UNITS.length; i++) {
      const name = UNITS[i][0];
      if (rest.startsWith(name) && !(name === 'm' && rest.startsWith('ms'))) {
        u = i;
        break;
      }
    }
    if (u < 0) throw bad;
    rest = rest.slice(UNITS[u][0].length);
    next = u + 1;
    total += n * UNITS[u][1];
    if (total > MAX_U64) throw new TxError(`"${s}" is too long`);
  }
  return total;
}

/** A duration in ms for people, as tx.FormatDuration: 1h30m, 5s, 0. */
export function formatDuration(ms) {
  let v = BigInt(ms);
  if (v === 0n) return '0';
  let out = '';
  for (const [name, unit] of UNITS) {
    const n = v / unit;
    if (n > 0n) {
      out += `${n}${name}`;
      v %= unit;
    }
  }
  return out;
}

async function accountWord(s, what, names) {
  if (s === 'treasury') return treasuryID();
  if (/^[0-9a-fA-F]{40}$/.test(s)) return fromHex(s.toLowerCase(), what, 20);
  if (/^[0-9a-fA-F]{64}$/.test(s)) return (await sha256(fromHex(s.toLowerCase(), what, 32))).slice(0, 20);
  const byName = names?.(s);
  if (byName) return fromHex(byName, what, 20);
  throw new TxError(`${what} "${s}" is not an account: an ID (40 hex digits), a public key (64 hex digits), a member's name or treasury`);
}

function keyWord(s, what) {
  if (/^[0-9a-fA-F]{64}$/.test(s)) return fromHex(s.toLowerCase(), what, 32);
  throw new TxError(`${what} "${s}" is not a public key (64 hex digits)`);
}

/**
 * Parses an action's text form (`pay <account> 100`, `set_param general
 * aggregate median`, `add_domain budget` …) into its encoding, kind:u8 ‖
 * fields. names(word) may give the ID (hex) of a member named so. Throws
 * TxError with the usage.
 */
export async function parseAction(line, names = null) {
  const words = splitWords(line);
  if (words.length === 0) throw new TxError('an empty action');
  const name = words[0];
  const kind = ACTIONS[name];
  if (kind === undefined) throw new TxError(`unknown action "${name}" (${Object.keys(ACTIONS).join(', ')})`);
  const args = words.slice(1);
  let i = 0;
  const next = (what) => {
    if (i >= args.length) throw new TxError(`${name}: ${what} is missing (${USAGE[name]})`);
    return args[i++];
  };
  const fields = [];
  try {
    switch (name) {
      case 'add_member': {
        fields.push(await accountWord(next('the account'), 'the account', names));
        fields.push(bytesField(checkName(next('the name'))));
        break;
      }
      case 'remove_member':
      case 'confirm_join':
        fields.push(await accountWord(next('the account'), 'the account', names));
        break;
      case 'add_node': {
        fields.push(keyWord(next('the key'), 'the key'));
        const addrs = args.slice(i);
        i = args.length;
        if (addrs.length > 8) throw new TxError(`${addrs.length} addresses, at most 8`);
        fields.push(u8(addrs.length));
        for (const a of addrs) {
          const b = utf8Bytes(a);
          if (b.length === 0 || b.length > 256) throw new TxError('an address has 1 to 256 bytes');
          fields.push(bytesField(b));
        }
        break;
      }
      case 'remove_node':
        fields.push(keyWord(next('the key'), 'the key'));
        break;
      case 'set_param': {
        const domain = next('the domain');
        const param = next('the parameter');
        const value = next('the value');
        fields.push(bytesField(checkIdent(domain, 'the domain')), bytesField(checkIdent(param, 'the parameter')));
        // An unknown parameter parses (as a count), as in Go: the node refuses it when executed.
        let v;
        if (param === 'aggregate') {
          v = { mean: 0n, median: 1n }[value];
          if (v === undefined) throw new TxError(`aggregate "${value}": mean or median`);
        } else if (isDuration(param)) {
          v = parseDuration(value);
        } else {
          v = number(value, 'the value');
        }
        fields.push(u64Bytes(v));
        break;
      }
      case 'add_domain':
      case 'remove_domain':
        fields.push(bytesField(checkIdent(next('the domain'), 'the domain')));
        break;
      case 'rename_domain': {
        const from = next('the domain');
        const to = next('the new name');
        if (from === to) throw new TxError('the new name is the same');
        fields.push(bytesField(checkIdent(from, 'the domain')), bytesField(checkIdent(to, 'the new name')));
        break;
      }
      case 'mint':
      case 'pay': {
        fields.push(await accountWord(next('the account'), 'the account', names));
        const v = number(next('the amount'), 'the amount');
        if (v === 0n) throw new TxError('an amount of 0');
        fields.push(u64Bytes(v));
        break;
      }
      case 'set_version': {
        const v = number(next('the version'), 'the version');
        const h = number(next('the height'), 'the height');
        if (v === 0n || v > 0xffffffffn) throw new TxError('the version is 1 … 2^32-1');
        if (h === 0n) throw new TxError('a height of 0');
        fields.push(u32Bytes(Number(v)), u64Bytes(h));
        break;
      }
      case 'appoint': {
        fields.push(bytesField(checkIdent(next('the role'), 'the role')));
        fields.push(await accountWord(next('the member'), 'the member', names));
        const term = parseDuration(next('the term'));
        if (term === 0n || term > BigInt(MAX_WINDOW)) throw new TxError('a term out of 1 ms … 366 days');
        fields.push(u64Bytes(term));
        break;
      }
      case 'dismiss':
        fields.push(bytesField(checkIdent(next('the role'), 'the role')));
        break;
      case 'open_sale': {
        const count = (what, max) => {
          const v = number(next(what), what);
          if (v > BigInt(max)) throw new TxError(`${what} ${v} is over ${max}`);
          return Number(v);
        };
        const item = next('the item');
        const p = {
          item, supply: count('the supply', 0xffffffff), perRequest: count('the items per request', 0xffffffff),
          start: parseDuration(next('the start')), window: parseDuration(next('the window')), maxAge: parseDuration(next('the max age')),
          difficulty: count('the difficulty', 255), price: number(next('the price'), 'the price'), maxRequests: count('the max requests', 0xffffffff),
        };
        if (i < args.length) break; // Go counts the arguments before it checks them
        const b = utf8Bytes(item);
        try {
          itemText(b, 'sale');
          checkParams(p, 'sale');
        } catch (e) {
          throw new TxError(e.message);
        }
        fields.push(bytesField(b), u32Bytes(p.supply), u32Bytes(p.perRequest), u64Bytes(p.start), u64Bytes(p.window), u64Bytes(p.maxAge),
          u8(p.difficulty), u64Bytes(p.price), u32Bytes(p.maxRequests));
        break;
      }
      default:
        throw new TxError(`unknown action "${name}"`);
    }
  } catch (e) {
    if (e instanceof TxError && !e.message.startsWith(`${name}:`)) throw new TxError(`${name}: ${e.message} (${USAGE[name]})`);
    throw e;
  }
  if (i < args.length) throw new TxError(`${name}: ${args.length} arguments, not ${i} (${USAGE[name]})`);
  return concat(u8(kind), ...fields);
}

/**
 * An option's encoding: title, then its actions, each given as its text
 * form (parsed here) or as already encoded bytes.
 */
export async function option({ title, actions = [] }, names = null) {
  const tb = checkText(title, MAX_TITLE, false, 'the option title');
  if (actions.length > MAX_ACTIONS) throw new TxError(`${actions.length} actions, at most ${MAX_ACTIONS}`);
  const encoded = [];
  for (const a of actions) encoded.push(a instanceof Uint8Array ? a : await parseAction(a, names));
  return concat(bytesField(tb), u8(encoded.length), ...encoded);
}

// ---- payloads ----

function proposalID(v) {
  return u64Bytes(u64(v, 'the proposal'));
}

/** Builds the payload of a governance transaction of kind from its fields. */
export async function payload(kind, f, names = null) {
  switch (kind) {
    case 'apply': {
      const note = utf8Bytes(f.note ?? '');
      if (note.length > MAX_NOTE) throw new TxError(`a note of ${note.length} bytes, limit ${MAX_NOTE}`);
      return concat(bytesField(checkName(f.name ?? '')), bytesField(note));
    }
    case 'decide':
      return concat(hexBytes(f.applicant, 20, 'the applicant'), u8(f.accept ? 1 : 0));
    case 'leave':
      return new Uint8Array(0);
    case 'create': {
      const body = f.body ?? '';
      const bb = body === '' ? new Uint8Array(0) : checkText(body, MAX_BODY, true, 'the body');
      const opts = f.options ?? [];
      if (opts.length === 0 || opts.length > MAX_OPTIONS) throw new TxError(`${opts.length} options: 1 to ${MAX_OPTIONS}`);
      const encoded = [];
      for (const o of opts) encoded.push(await option(o, names));
      return concat(bytesField(checkIdent(f.domain, 'the domain')), bytesField(checkText(f.title ?? '', MAX_TITLE, false, 'the title')),
        bytesField(bb), u8(encoded.length), ...encoded, desire(f.desire));
    }
    case 'join':
      return concat(proposalID(f.proposal), desire(f.desire));
    case 'option':
      return concat(proposalID(f.proposal), await option(f.option, names));
    case 'comment':
      return concat(proposalID(f.proposal), bytesField(checkText(f.text ?? '', MAX_COMMENT, true, 'the comment')));
    case 'vote': {
      const approve = [...(f.approve ?? [])].map(Number);
      if (approve.length === 0 || approve.length > MAX_OPTIONS) throw new TxError('approve 1 to 32 options');
      for (let i = 0; i < approve.length; i++) {
        if (!Number.isInteger(approve[i]) || approve[i] < 0 || approve[i] >= MAX_OPTIONS || (i > 0 && approve[i] <= approve[i - 1])) {
          throw new TxError('the options approved are indexes below 32, strictly increasing');
        }
      }
      const round = Number(f.round);
      const meeting = Number(f.meeting);
      if (!Number.isInteger(round) || round < 1 || round > 255) throw new TxError('a round is 1 … 255');
      if (!Number.isInteger(meeting) || meeting < 0 || meeting > 0xffff) throw new TxError('a meeting is 0 … 65535');
      return concat(proposalID(f.proposal), u8(round), u16(meeting), u8(approve.length), Uint8Array.from(approve));
    }
    case 'freeze':
      return proposalID(f.proposal);
    case 'review': {
      const freeze = Number(f.freeze);
      if (!Number.isInteger(freeze) || freeze < 1 || freeze > 255) throw new TxError('a freeze is 1 … 255');
      return concat(proposalID(f.proposal), u8(freeze), u8(f.lift ? 1 : 0));
    }
    case 'challenge':
      return concat(hexBytes(f.target, 20, 'the target'), bytesField(checkIdent(f.domain, 'the domain')),
        bytesField(checkText(f.reason ?? '', MAX_BODY, true, 'the reason')), desire(f.desire));
    default:
      throw new TxError(`unknown governance transaction "${kind}"`);
  }
}

/**
 * An unsigned governance transaction: {type, kind, sender (bytes), nonce
 * (BigInt), payload (bytes), sigs: []}. sender is a public key (hex or
 * bytes); fields as payload() takes them.
 */
export async function build(kind, { sender, nonce, ...fields }, names = null) {
  const type = TYPE[kind];
  if (type === undefined) throw new TxError(`unknown governance transaction "${kind}"`);
  const p = await payload(kind, fields, names);
  if (p.length > MAX_PAYLOAD) throw new TxError(`a payload of ${p.length} bytes, limit ${MAX_PAYLOAD}`);
  return { type, kind, sender: hexBytes(sender, 32, 'the sender'), nonce: u64(nonce, 'the nonce'), payload: p, sigs: [] };
}

/** The body: the transaction without its signature. */
export function body(t) {
  return concat(u8(VERSION), u8(t.type), t.sender, u64Bytes(t.nonce), bytesField(t.payload));
}

/** Signs with sign (an async function of the message returning 64 bytes); returns the signed transaction. */
export async function sign(chainID, t, sign) {
  const sig = new Uint8Array(await sign(message(chainID, t)));
  if (sig.length !== 64) throw new TxError('a signature of the wrong size');
  return { ...t, sigs: [sig] };
}

/** What the sender signs: "mass/tx/v1" ‖ 0x00 ‖ len(chain id) ‖ chain id ‖ body. */
export function message(chainID, t) {
  const id = utf8Bytes(chainID);
  if (id.length === 0 || id.length > 64) throw new TxError(`chain id of ${id.length} bytes`);
  return concat(utf8Bytes('mass/tx/v1\x00'), u8(id.length), id, body(t));
}

/** The canonical encoding, with its signature. */
export function encode(t) {
  return concat(body(t), u8(t.sigs.length), ...t.sigs);
}

/** The hash (hex). */
export async function hash(t) {
  return toHex(await sha256(encode(t)));
}

/** The typed route a transaction of kind is posted to (POST), or /v1/txs. */
export function route(kind, proposal) {
  switch (kind) {
    case 'create': return '/v1/proposals';
    case 'join': return `/v1/proposals/${proposal}/join`;
    case 'option': return `/v1/proposals/${proposal}/options`;
    case 'comment': return `/v1/proposals/${proposal}/comments`;
    case 'vote': return `/v1/proposals/${proposal}/votes`;
    case 'freeze': return `/v1/proposals/${proposal}/freeze`;
    case 'review': return `/v1/proposals/${proposal}/review`;
    case 'challenge': return '/v1/challenges';
    default: return '/v1/txs';
  }
}
