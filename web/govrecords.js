// The governance records decoded in the browser, and the views rebuilt
// from them, as Go does (internal/app/gov/records.go decodes, keys.go
// names the keys; internal/app/orgapp/govview.go builds the views:
// ProposalViewOf, ProposalListOf, GovernanceViewOf, ExecutorsViewOf,
// CommentsOf). docs/FORMATS.md ("Records") gives the encodings.
//
// Decoding is as strict as Go's: a wrong kind, a truncated record,
// trailing bytes, a count or a value out of its bounds, an identifier or
// a text that is not one, an action Go's ReadAction refuses — each throws
// ProofError("record"). u64 and i64 values are BigInt; u8, u16 and u32
// are Numbers; IDs, keys and seeds are lowercase hex. A record's fields
// are Go's, in lowerCamelCase (Proposal.PublicityMin → publicityMin).
//
// The views are the Go views' JSON, field for field (the same names, the
// same fields left out when empty), with u64 and i64 as BigInt. Each is
// built by reading records through get(key hex) → the proven value
// (Uint8Array), null if proven absent; get throws if the record has no
// proof. Accounts are read through name(id), which gives the proven
// account's name, '' for an account proven absent or without a proof (the
// page then shows the ID), and records which accounts were proven, as Go's
// names does, so that the view's `records` can be rebuilt too.

import { Check, ProofError } from './light/errors.js';
import { Reader, concat, sha256, toHex, u32Bytes, u64Bytes, utf8Bytes, utf8String } from './light/bytes.js';
import { weakKeyReason } from './light/ed25519.js';
import { decodeAccount } from './light/state.js';
import { readParams } from './saleparams.js';
import { PARAMS, MAX_ACTIONS, MAX_BODY, MAX_COMMENT, MAX_IDENT, MAX_NAME, MAX_OPTIONS, MAX_TITLE, MAX_WINDOW, formatDuration } from './govtx.js';

// Limits (internal/app/gov/records.go).
export const MAX_DOMAINS = 32;
export const MAX_ACTIVE = 16;
export const MAX_QUEUE = 64;
export const MAX_PARTICIPANTS = 1024;
export const MAX_COMMENTS = 1024;
export const MAX_FREEZES = 4;
export const MAX_EXECUTORS = 64;
export const PAGE_SIZE = 256;
export const MAX_REASON = 512;
export const MAX_ROUNDS = MAX_OPTIONS + 1;
export const NO_WINNER = 0xff;
/** The comments of one answer of GET /v1/proposals/{id}/comments (apijson.MaxComments). */
export const COMMENTS_PAGE = 100;
const MAX_ADDRS = 8;
const MAX_ADDR = 256;

/** Record kinds: a governance record's first byte. */
export const KIND = Object.freeze({
  registry: 0x10, domain: 0x11, page: 0x12, text: 0x13, proposal: 0x14, option: 0x15, roster: 0x16, round: 0x17,
  meeting: 0x18, ballot: 0x19, review: 0x1a, comment: 0x1b, executors: 0x1c, challenge: 0x1d,
});

/** Proposal states by their code (1 … 11). */
export const STATES = ['', 'queued', 'meeting', 'voting', 'publicity', 'review', 'executed', 'failed', 'cancelled', 'expired', 'no_votes', 'dropped'];

const malformed = (what, why) => new ProofError(Check.RECORD, `${what}: ${why}`);

// ---- keys ----

const u8b = (v) => new Uint8Array([v]);
function u16b(v) {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, v);
  return b;
}

/** G(tag, fields): the first 20 bytes of H("mass/gov/" ‖ tag ‖ 0x00 ‖ fields), hex. */
export async function govKey(tag, fields) {
  return toHex((await sha256(concat(utf8Bytes(`mass/gov/${tag}\x00`), fields))).slice(0, 20));
}

/** N(name): the first 20 bytes of H("mass/key/" ‖ name), hex. */
export async function namedKeyHex(name) {
  return toHex((await sha256(utf8Bytes(`mass/key/${name}`))).slice(0, 20));
}

/** The keys of the governance records (hex), as internal/app/gov/keys.go. */
export const keys = {
  registry: () => namedKeyHex('gov'),
  executors: () => namedKeyHex('executors'),
  domain: (name) => govKey('domain', utf8Bytes(name)),
  page: (serial, n) => govKey('page', concat(u32Bytes(n), u32Bytes(serial))),
  proposal: (id) => govKey('proposal', u64Bytes(BigInt(id))),
  text: (id) => govKey('text', u64Bytes(BigInt(id))),
  option: (id, i) => govKey('option', concat(u64Bytes(BigInt(id)), u8b(i))),
  roster: (id) => govKey('roster', u64Bytes(BigInt(id))),
  round: (id, r) => govKey('round', concat(u64Bytes(BigInt(id)), u8b(r))),
  meeting: (id, r, m) => govKey('meeting', concat(u64Bytes(BigInt(id)), u8b(r), u16b(m))),
  comment: (id, n) => govKey('comment', concat(u64Bytes(BigInt(id)), u32Bytes(n))),
};

// ---- checks shared with the transactions' decoder (internal/app/tx) ----

const IDENT = /^[a-z][a-z0-9_-]*$/;

function validUTF8(b) {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

/** Whether a code point is a control character (Go's unicode.IsControl: Cc). */
const isControl = (cp) => cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
const SPACE = /^\p{White_Space}$/u;

/** tx.CheckText: 1 … max bytes of UTF-8, no control character (but \n and \t when multiline). */
function textOK(b, max, multiline) {
  if (b.length === 0 || b.length > max || !validUTF8(b)) return false;
  for (const c of utf8String(b)) {
    if (isControl(c.codePointAt(0)) && !(multiline && (c === '\n' || c === '\t'))) return false;
  }
  return true;
}

/** tx.CheckName: 1 … 64 bytes of UTF-8, no control character, no space first or last. */
function nameOK(b) {
  if (b.length === 0 || b.length > MAX_NAME || !validUTF8(b)) return false;
  const s = utf8String(b);
  const cps = [...s];
  if (cps.some((c) => isControl(c.codePointAt(0)))) return false;
  return !SPACE.test(cps[0]) && !SPACE.test(cps[cps.length - 1]);
}

/** An identifier (≤ 32 bytes of a-z 0-9 _ -, a letter first), as readIdent. */
function ident(r, what) {
  const b = r.bytes(MAX_IDENT, what);
  const s = utf8String(b);
  if (!IDENT.test(s) || utf8Bytes(s).length !== b.length) r.fail('not an identifier', what);
  return s;
}

const id20 = (r, what) => toHex(r.raw(20, what));

function reader(value, kind, what) {
  if (!(value instanceof Uint8Array)) throw malformed(what, 'no value');
  const r = new Reader(value, what, Check.RECORD);
  if (r.u8('kind') !== kind) r.fail(`kind is not ${what}`, 'kind');
  return r;
}

/** n strictly increasing option indexes below 32, as Go's increasing. */
function increasing(r, n, what) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const x = r.u8(what);
    if (x >= MAX_OPTIONS || (i > 0 && x <= out[i - 1])) r.fail(`${what}s not strictly increasing below 32`, what);
    out.push(x);
  }
  return out;
}

// ---- actions: decoding (tx.ReadAction) and the text form (Action.String) ----

const ACTION_NAMES = ['', 'add_member', 'remove_member', 'confirm_join', 'add_node', 'remove_node', 'set_param', 'add_domain',
  'mint', 'pay', 'set_version', 'appoint', 'dismiss', 'remove_domain', 'rename_domain', 'open_sale'];

let treasuryHex = null;

/** Reads an action (kind:u8 ‖ fields) and checks it as tx.ReadAction; returns {kind, name, fields…}. */
function readAction(r) {
  const kind = r.u8('action kind');
  const name = ACTION_NAMES[kind];
  if (!name) r.fail('unknown action kind', 'action kind');
  const a = { kind, name };
  const bad = (why) => { throw malformed('action', `${name}: ${why}`); };
  switch (name) {
    case 'add_member': {
      a.id = id20(r, 'member');
      const b = r.bytes(MAX_NAME, 'name');
      if (!nameOK(b)) bad('not a name');
      a.name_ = utf8String(b);
      break;
    }
    case 'remove_member':
    case 'confirm_join':
      a.id = id20(r, 'member');
      break;
    case 'add_node': {
      const key = r.raw(32, 'node key');
      a.key = toHex(key);
      const n = r.u8('addresses');
      if (n > MAX_ADDRS) r.fail('more than 8 addresses', 'addresses');
      a.addrs = [];
      for (let i = 0; i < n; i++) {
        const s = r.bytes(MAX_ADDR, 'address');
        if (s.length === 0 || !validUTF8(s)) r.fail('an empty or non-UTF-8 address', 'address');
        a.addrs.push(utf8String(s));
      }
      if (weakKeyReason(key) !== null) bad(weakKeyReason(key));
      break;
    }
    case 'remove_node':
      a.key = toHex(r.raw(32, 'node key'));
      break;
    case 'set_param':
      a.domain = ident(r, 'domain');
      a.param = ident(r, 'parameter');
      a.value = r.u64('value');
      break;
    case 'add_domain':
    case 'remove_domain':
      a.domain = ident(r, 'domain');
      break;
    case 'rename_domain':
      a.domain = ident(r, 'domain');
      a.newName = ident(r, 'new name');
      if (a.domain === a.newName) bad('renamed to itself');
      break;
    case 'mint':
    case 'pay':
      a.to = id20(r, 'to');
      a.amount = r.u64('amount');
      if (a.amount === 0n) bad('an amount of 0');
      break;
    case 'set_version':
      a.version = r.u32('version');
      a.height = r.u64('height');
      if (a.version === 0 || a.height === 0n) bad('version and height must be above 0');
      break;
    case 'appoint':
      a.role = ident(r, 'role');
      a.member = id20(r, 'member');
      a.term = r.u64('term');
      if (a.term === 0n || a.term > BigInt(MAX_WINDOW)) bad(`a term of ${a.term} ms`);
      break;
    case 'dismiss':
      a.role = ident(r, 'role');
      break;
    case 'open_sale':
      a.params = readParams(r, 'action: open_sale: sale');
      break;
    default:
      r.fail('unknown action kind', 'action kind');
  }
  return a;
}

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const PRINT = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
/** Go's unicode.IsGraphic: IsPrint's classes and the space separators (Zs). */
const GRAPHIC = /^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]$/u;
const ESCAPES = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };

/** strconv.Quote of valid UTF-8. */
export function goQuote(s) {
  let out = '"';
  for (const c of s) {
    const cp = c.codePointAt(0);
    if (c === '"' || c === '\\') out += `\\${c}`;
    else if (PRINT.test(c)) out += c;
    else if (ESCAPES[c]) out += ESCAPES[c];
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** An argument of the text form, quoted only when it must be (tx's word). */
function word(s) {
  if (s === '' || s.startsWith('"')) return goQuote(s);
  for (const c of s) {
    if (SPACE.test(c) || !GRAPHIC.test(c)) return goQuote(s);
  }
  return s;
}

const account = (id) => (id === treasuryHex ? 'treasury' : id);

const DURATION_PARAMS = new Set(['queue_expiry', 'gather_min', 'meeting_min', 'meeting_max', 'publicity_min', 'publicity_max',
  'publicity_unit', 'publicity_floor', 'publicity_ceiling', 'review_window']);

/** tx.FormatParamValue. */
function paramValue(param, v) {
  if (DURATION_PARAMS.has(param)) return formatDuration(v);
  if (param === 'aggregate' && v < 2n) return ['mean', 'median'][Number(v)];
  return String(v);
}

/** An action's text form, as Go's Action.String (e.g. "pay treasury 100"). */
export function actionText(a) {
  let args;
  switch (a.name) {
    case 'add_member': args = [account(a.id), a.name_]; break;
    case 'remove_member': case 'confirm_join': args = [account(a.id)]; break;
    case 'add_node': args = [a.key, ...a.addrs]; break;
    case 'remove_node': args = [a.key]; break;
    case 'set_param': args = [a.domain, a.param, paramValue(a.param, a.value)]; break;
    case 'add_domain': case 'remove_domain': args = [a.domain]; break;
    case 'rename_domain': args = [a.domain, a.newName]; break;
    case 'mint': case 'pay': args = [account(a.to), String(a.amount)]; break;
    case 'set_version': args = [String(a.version), String(a.height)]; break;
    case 'appoint': args = [a.role, account(a.member), formatDuration(a.term)]; break;
    case 'dismiss': args = [a.role]; break;
    case 'open_sale': {
      const p = a.params;
      args = [p.item, String(p.supply), String(p.perRequest), formatDuration(p.start), formatDuration(p.window), formatDuration(p.maxAge),
        String(p.difficulty), String(p.price), String(p.maxRequests)];
      break;
    }
    default: throw malformed('action', `kind ${a.kind}`);
  }
  return [a.name, ...args.map(word)].join(' ');
}

/** Fills in the treasury's ID, which the actions' text form names "treasury"; call once before decoding options. */
export async function ready() {
  if (treasuryHex === null) treasuryHex = await namedKeyHex('treasury');
}

// ---- the records ----

/** 0x10: {nextID, supply, nextDomain, domains}. */
export function decodeRegistry(value) {
  const r = reader(value, KIND.registry, 'the registry');
  const g = { nextID: r.u64('next'), supply: r.u64('supply'), nextDomain: r.u32('next domain'), domains: [] };
  const n = r.u8('domains');
  if (n > MAX_DOMAINS) r.fail('domains', 'domains');
  for (let i = 0; i < n; i++) g.domains.push(ident(r, 'domain'));
  r.done();
  return g;
}

// The domain parameters' bounds (gov.ParamDefs): [min, max].
const SECOND = 1000n;
const WINDOW = BigInt(MAX_WINDOW);
const BOUNDS = {
  active_limit: [1n, BigInt(MAX_ACTIVE)], max_queued: [1n, BigInt(MAX_QUEUE)], queue_expiry: [SECOND, WINDOW],
  meeting_min: [SECOND, WINDOW], meeting_max: [SECOND, WINDOW], publicity_min: [SECOND, WINDOW], publicity_max: [SECOND, WINDOW],
  capacity_min: [2n, 1024n], capacity_max: [2n, 1024n], publicity_unit: [0n, WINDOW], publicity_floor: [0n, WINDOW],
  publicity_ceiling: [0n, WINDOW], review_window: [SECOND, WINDOW], aggregate: [0n, 1n], gather_min: [0n, WINDOW],
};

/** 0x11: {name, serial, params (by name), total, queue [{id, created, participants}], active [{id, deadline}]}. */
export function decodeDomain(value) {
  const r = reader(value, KIND.domain, 'a domain');
  const d = { name: ident(r, 'name'), serial: r.u32('serial'), params: {} };
  if (r.u8('parameters') !== PARAMS.length) r.fail('parameter count', 'parameters');
  for (const p of PARAMS) d.params[p] = r.u64(p);
  d.total = r.u64('total');
  const q = r.u8('queued');
  if (q > MAX_QUEUE) r.fail('queued', 'queued');
  d.queue = [];
  for (let i = 0; i < q; i++) d.queue.push({ id: r.u64('id'), created: r.i64('created'), participants: r.u16('participants') });
  const a = r.u8('active');
  if (a > MAX_ACTIVE) r.fail('active', 'active');
  d.active = [];
  for (let i = 0; i < a; i++) d.active.push({ id: r.u64('id'), deadline: r.i64('deadline') });
  r.done();
  const p = d.params;
  for (const name of PARAMS) {
    if (p[name] < BOUNDS[name][0] || p[name] > BOUNDS[name][1]) throw malformed(`domain ${d.name}`, `parameter ${name} = ${p[name]} is out of its bounds`);
  }
  for (const [lo, hi] of [['meeting_min', 'meeting_max'], ['publicity_min', 'publicity_max'], ['capacity_min', 'capacity_max'], ['publicity_floor', 'publicity_ceiling']]) {
    if (p[lo] > p[hi]) throw malformed(`domain ${d.name}`, `parameter ${lo} is above ${hi}`);
  }
  if (p.gather_min >= p.queue_expiry) throw malformed(`domain ${d.name}`, 'gather_min is not below queue_expiry');
  return d;
}

/** 0x12: {ids} (1 … 256). */
export function decodePage(value) {
  const r = reader(value, KIND.page, 'a page');
  const n = r.u16('count');
  if (n === 0 || n > PAGE_SIZE) r.fail('count', 'count');
  const ids = [];
  for (let i = 0; i < n; i++) ids.push(r.u64('id'));
  r.done();
  return { ids };
}

const ZERO_ID = '0'.repeat(40);

/** 0x13: {kind (0 proposal, 1 challenge), author, created, domain, title, body, target}. */
export function decodeText(value) {
  const r = reader(value, KIND.text, 'a text');
  const t = { kind: r.u8('kind'), author: id20(r, 'author'), created: r.i64('created') };
  t.domain = ident(r, 'domain');
  t.title = utf8String(r.bytes(MAX_TITLE, 'title'));
  t.body = utf8String(r.bytes(MAX_BODY, 'body'));
  t.target = id20(r, 'target');
  if (t.kind > 1 || (t.kind === 0 && t.target !== ZERO_ID)) r.fail('kind or target', 'kind');
  r.done();
  return t;
}

/** 0x14: the proposal's changing state; state is its name ("voting" …). */
export function decodeProposal(value) {
  const r = reader(value, KIND.proposal, 'a proposal');
  const p = { id: r.u64('id'), domain: ident(r, 'domain') };
  const state = r.u8('state');
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
  p.publicityMin = r.u64('publicity min');
  p.publicity = r.u64('publicity');
  p.freezes = r.u8('freezes');
  p.freezer = id20(r, 'freezer');
  p.lift = r.u32('lift');
  p.cancel = r.u32('cancel');
  p.remaining = r.u64('remaining');
  p.closed = r.i64('closed');
  p.reason = utf8String(r.bytes(MAX_REASON, 'reason'));
  if (state < 1 || state > 11 || p.options > MAX_OPTIONS || p.participants > MAX_PARTICIPANTS || p.comments > MAX_COMMENTS
      || p.round > MAX_ROUNDS || p.freezes > MAX_FREEZES || (p.winner !== NO_WINNER && p.winner >= p.options)) {
    r.fail('a field out of range', 'fields');
  }
  p.state = STATES[state];
  r.done();
  return p;
}

/** 0x15: {author, added, option: {title, actions: [text form]}}. */
export function decodeOption(value) {
  if (treasuryHex === null) throw new Error('govrecords: ready() was not awaited');
  const r = reader(value, KIND.option, 'an option');
  const o = { author: id20(r, 'author'), added: r.i64('added') };
  const title = r.bytes(MAX_TITLE, 'option title');
  const n = r.u8('actions');
  if (!textOK(title, MAX_TITLE, false)) throw malformed('an option', 'the title is not a text');
  if (n > MAX_ACTIONS) r.fail('more than 8 actions', 'actions');
  const actions = [];
  for (let i = 0; i < n; i++) actions.push(actionText(readAction(r)));
  r.done();
  o.option = { title: utf8String(title), actions };
  return o;
}

/** 0x16: {participants: [{member, desire: {meeting, publicity, capacity}, joined}]} (1 … 1024). */
export function decodeRoster(value) {
  const r = reader(value, KIND.roster, 'a roster');
  const n = r.u16('count');
  if (n === 0 || n > MAX_PARTICIPANTS) r.fail('count', 'count');
  const participants = [];
  for (let i = 0; i < n; i++) {
    const member = id20(r, 'member');
    const desire = { meeting: r.u64('meeting'), publicity: r.u64('publicity'), capacity: r.u16('capacity') };
    participants.push({ member, desire, joined: r.i64('joined') });
  }
  r.done();
  return { participants };
}

/** 0x17: {number, start, end, seed, plenary, options, meetings, assign, ended, winners}. */
export function decodeRound(value) {
  const r = reader(value, KIND.round, 'a round');
  const ro = { number: r.u8('number'), start: r.i64('start'), end: r.i64('end'), seed: toHex(r.raw(32, 'seed')) };
  const plenary = r.u8('plenary');
  if (plenary > 1) r.fail('not a boolean', 'plenary');
  ro.plenary = plenary === 1;
  const n = r.u8('options');
  if (n === 0 || n > MAX_OPTIONS) r.fail('options', 'options');
  ro.options = increasing(r, n, 'option');
  ro.meetings = r.u16('meetings');
  const np = r.u16('positions');
  if (np > MAX_PARTICIPANTS || ro.meetings === 0 || ro.meetings > Math.max(np, 1)) r.fail('positions or meetings', 'positions');
  ro.assign = [];
  for (let i = 0; i < np; i++) {
    const m = r.u16('meeting');
    if (m >= ro.meetings) r.fail('meeting', 'meeting');
    ro.assign.push(m);
  }
  const ended = r.u8('ended');
  if (ended > 1) r.fail('not a boolean', 'ended');
  ro.ended = ended === 1;
  const w = r.u8('winners');
  if (w > ro.options.length || (w > 0 && !ro.ended)) r.fail('winners', 'winners');
  ro.winners = increasing(r, w, 'winner');
  r.done();
  return ro;
}

/** 0x18: {members (roster positions), ballots, tally (approvals by the round's options), winner}. */
export function decodeMeeting(value) {
  const r = reader(value, KIND.meeting, 'a meeting');
  const n = r.u16('members');
  if (n === 0 || n > MAX_PARTICIPANTS) r.fail('members', 'members');
  const m = { members: [] };
  for (let i = 0; i < n; i++) {
    const p = r.u16('position');
    if (i > 0 && p <= m.members[i - 1]) r.fail('positions not increasing', 'position');
    m.members.push(p);
  }
  m.ballots = r.u16('ballots');
  const k = r.u8('options');
  if (k === 0 || k > MAX_OPTIONS || m.ballots > n) r.fail('options or ballots', 'options');
  m.tally = [];
  for (let i = 0; i < k; i++) {
    const t = r.u16('approvals');
    if (t > m.ballots) r.fail('approvals above ballots', 'approvals');
    m.tally.push(t);
  }
  m.winner = r.u8('winner');
  r.done();
  return m;
}

/** 0x19: {meeting, time, approve}. */
export function decodeBallot(value) {
  const r = reader(value, KIND.ballot, 'a ballot');
  const b = { meeting: r.u16('meeting'), time: r.i64('time') };
  const n = r.u8('count');
  if (n === 0 || n > MAX_OPTIONS) r.fail('count', 'count');
  b.approve = increasing(r, n, 'option');
  r.done();
  return b;
}

/** 0x1a: {lift, time}. */
export function decodeReviewBallot(value) {
  const r = reader(value, KIND.review, 'a review ballot');
  const lift = r.u8('lift');
  if (lift > 1) r.fail('not a boolean', 'lift');
  const b = { lift: lift === 1, time: r.i64('time') };
  r.done();
  return b;
}

/** 0x1b: {author, time, text}. */
export function decodeComment(value) {
  const r = reader(value, KIND.comment, 'a comment');
  const c = { author: id20(r, 'author'), time: r.i64('time'), text: utf8String(r.bytes(MAX_COMMENT, 'text')) };
  r.done();
  return c;
}

/** 0x1c: {list: [{role, member, proposal, since, until}]}, roles strictly increasing. */
export function decodeExecutors(value) {
  const r = reader(value, KIND.executors, 'the executors');
  const n = r.u8('count');
  if (n > MAX_EXECUTORS) r.fail('count', 'count');
  const list = [];
  for (let i = 0; i < n; i++) {
    const x = { role: ident(r, 'role'), member: id20(r, 'member'), proposal: r.u64('proposal'), since: r.i64('since'), until: r.i64('until') };
    if (i > 0 && x.role <= list[i - 1].role) r.fail('roles not increasing', 'role');
    list.push(x);
  }
  r.done();
  return { list };
}

/** 0x1d: {proposal}. */
export function decodeChallenge(value) {
  const r = reader(value, KIND.challenge, 'a challenge');
  const c = { proposal: r.u64('proposal') };
  r.done();
  return c;
}

// ---- the views (internal/app/orgapp/govview.go) ----

/**
 * A record reader over proven values (Map key hex → bytes, or null for a
 * record proven absent): get(key) throws if the record has no proof;
 * name(id) gives an account's name and keeps the keys of the accounts
 * read, in order (orgapp's names).
 */
export function recordReader(values) {
  const seen = new Map();
  const accounts = [];
  return {
    get(key, what) {
      if (!values.has(key)) throw new ProofError(Check.RECORD, `the view needs ${what} (record ${key}), and the answer has no proof of it`);
      return values.get(key);
    },
    name(id) {
      if (seen.has(id)) return seen.get(id);
      let name = '';
      const v = values.get(id);
      if (v) {
        try {
          name = decodeAccount(v).name;
          accounts.push(id);
        } catch {
          // as Go: a record that is not an account gives no name
        }
      }
      seen.set(id, name);
      return name;
    },
    accounts: () => [...accounts],
  };
}

/** A record the view must find (Go's must): absent is a corrupt state. */
function must(rd, key, decode, what) {
  const v = rd.get(key, what);
  if (v === null) throw new ProofError(Check.RECORD, `${what} is missing`);
  try {
    return decode(v);
  } catch (e) {
    if (e instanceof ProofError) throw e;
    throw new ProofError(Check.RECORD, `${what}: ${e.message}`);
  }
}

/** A record whose absence means "not found" (Go's readOr); returns null then. */
function readOr(rd, key, decode, what) {
  const v = rd.get(key, what);
  return v === null ? null : decode(v);
}

/** Thrown when the record a read is about is proven absent (Go's gov.ErrNotFound). */
export class NotFoundError extends Error {
  constructor(what) {
    super(`${what} (proven absent)`);
    this.name = 'NotFoundError';
  }
}

const winnerOf = (w) => (w === NO_WINNER ? undefined : w);
const omit = (v) => (v === 0n || v === 0 || v === '' || v === false ? undefined : v);

/** Drops the fields that are undefined (Go's omitempty). */
function clean(o) {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/**
 * Rebuilds a proposal's view (orgapp.ProposalViewOf) from proven records:
 * the ProposalView's JSON, with `records`. Also returns the decoded
 * proposal record. Throws NotFoundError if the proposal is proven absent.
 */
export async function proposalView(rd, id) {
  await ready();
  id = BigInt(id);
  const pk = await keys.proposal(id);
  const p = readOr(rd, pk, decodeProposal, `proposal ${id}`);
  if (p === null) throw new NotFoundError(`no proposal ${id}`);
  const t = must(rd, await keys.text(id), decodeText, "a proposal's text");
  const roster = must(rd, await keys.roster(id), decodeRoster, 'a roster');
  const records = [pk, await keys.text(id), await keys.roster(id)];
  const options = [];
  for (let i = 0; i < p.options; i++) {
    const k = await keys.option(id, i);
    options.push(must(rd, k, decodeOption, 'an option'));
    records.push(k);
  }
  const rounds = [];
  for (let n = 1; n <= p.round; n++) {
    const k = await keys.round(id, n);
    const round = must(rd, k, decodeRound, 'a round');
    records.push(k);
    const meetings = [];
    for (let m = 0; m < round.meetings; m++) {
      const mk = await keys.meeting(id, n, m);
      meetings.push(must(rd, mk, decodeMeeting, 'a meeting'));
      records.push(mk);
    }
    rounds.push({ round, meetings });
  }
  const nm = (x) => omit(rd.name(x));
  const v = {
    id: p.id, kind: 'proposal', domain: p.domain, author: t.author, author_name: nm(t.author), target: undefined, target_name: undefined,
    title: t.title, body: omit(t.body), created: t.created, state: p.state,
  };
  if (t.kind === 1) {
    v.kind = 'challenge';
    v.target = t.target;
    v.target_name = nm(t.target);
  }
  v.options = options.length ? options.map((o, i) => clean({
    index: i, title: o.option.title, author: o.author, author_name: nm(o.author), added: o.added, actions: o.option.actions,
  })) : null;
  v.participants = roster.participants.length;
  v.roster = roster.participants.map((x, i) => clean({
    position: i, member: x.member, name: nm(x.member), meeting_window: x.desire.meeting, publicity_window: x.desire.publicity,
    capacity: x.desire.capacity, joined: x.joined,
  }));
  Object.assign(v, {
    comments: p.comments, activated: omit(p.activated), deadline: omit(p.deadline), meeting_window: omit(p.window),
    capacity: omit(p.capacity), round: omit(p.round),
  });
  v.rounds = rounds.length ? rounds.map(({ round, meetings }) => clean({
    round: round.number, start: round.start, end: round.end, seed: round.seed, plenary: round.plenary, options: round.options,
    ended: round.ended, winners: round.winners.length ? round.winners : undefined,
    meetings: meetings.length ? meetings.map((mt, m) => {
      const members = [];
      const names = [];
      for (const pos of mt.members) {
        if (pos < roster.participants.length) {
          const mid = roster.participants[pos].member;
          members.push(mid);
          names.push(rd.name(mid));
        }
      }
      const tally = mt.tally.map((n, i) => {
        if (i >= round.options.length) throw new ProofError(Check.RECORD, `a meeting of round ${round.number} tallies more options than the round has`);
        return { option: round.options[i], approvals: n };
      });
      return clean({ index: m, members, names, ballots: mt.ballots, tally: tally.length ? tally : null, winner: winnerOf(mt.winner) });
    }) : null,
  })) : undefined;
  Object.assign(v, {
    winner: winnerOf(p.winner), supporters: omit(p.supporters), members_at_publicity: omit(p.members), publicity_min: omit(p.publicityMin),
    publicity: omit(p.publicity), freezes: omit(p.freezes), review: undefined, closed: omit(p.closed), reason: omit(p.reason),
  });
  if (p.freezes > 0) {
    v.review = clean({ freeze: p.freezes, freezer: p.freezer, freezer_name: nm(p.freezer), lift: p.lift, cancel: p.cancel, remaining: p.remaining });
  }
  v.records = [...records, ...rd.accounts()];
  return { view: clean(v), record: p };
}

/** Rebuilds page n of a domain's proposal list (orgapp.ProposalListOf). */
export async function proposalListView(rd, domain, n) {
  const dk = await keys.domain(domain);
  const d = readOr(rd, dk, decodeDomain, `domain ${domain}`);
  if (d === null) throw new NotFoundError(`no domain "${domain}"`);
  const pages = Number((((d.total + 255n) & ((1n << 64n) - 1n)) / 256n) & 0xffffffffn);
  const l = { domain, page: n, pages, total: d.total, proposals: [], records: [dk] };
  if (n >= pages) return l;
  const pk = await keys.page(d.serial, n);
  const page = readOr(rd, pk, decodePage, `page ${n} of domain ${domain}`);
  if (page === null) throw new NotFoundError(`no page ${n} of domain ${d.name}`);
  l.records.push(pk);
  for (const id of page.ids) {
    const k = await keys.proposal(id);
    const p = readOr(rd, k, decodeProposal, `proposal ${id}`);
    if (p === null) throw new NotFoundError(`no proposal ${id}`);
    const t = must(rd, await keys.text(id), decodeText, "a proposal's text");
    l.proposals.push(clean({ id, kind: t.kind === 1 ? 'challenge' : 'proposal', title: t.title, state: p.state, participants: p.participants,
      round: omit(p.round), deadline: omit(p.deadline) }));
    l.records.push(k, await keys.text(id));
  }
  return l;
}

/** A domain's view (orgapp.DomainJSON). */
async function domainView(d) {
  return { name: d.name, serial: d.serial, params: { ...d.params }, total: d.total, queue: d.queue.map((q) => ({ ...q })),
    active: d.active.map((a) => ({ ...a })), record: await keys.domain(d.name) };
}

/** Rebuilds the registry's view with every domain (orgapp.GovernanceViewOf). */
export async function governanceView(rd) {
  const rk = await keys.registry();
  const reg = readOr(rd, rk, decodeRegistry, 'the registry');
  if (reg === null) throw new NotFoundError('no registry');
  const v = { next_proposal: reg.nextID, supply: reg.supply, domains: [], record: rk };
  for (const name of reg.domains) {
    const d = readOr(rd, await keys.domain(name), decodeDomain, `domain ${name}`);
    if (d === null) throw new NotFoundError(`no domain ${name}`);
    v.domains.push(await domainView(d));
  }
  return v;
}

/** Rebuilds the executors' view (orgapp.ExecutorsViewOf): {executors, records}. */
export async function executorsView(rd) {
  const ek = await keys.executors();
  const e = readOr(rd, ek, decodeExecutors, 'the executors');
  if (e === null) throw new NotFoundError('no executors record');
  const executors = e.list.map((x) => clean({ role: x.role, member: x.member, name: omit(rd.name(x.member)), proposal: x.proposal, since: x.since, until: x.until }));
  return { executors, records: [ek, ...rd.accounts()] };
}

/**
 * Rebuilds a page of a proposal's comments (orgapp.CommentsOf, at most
 * COMMENTS_PAGE from index from) and the records it is read from, as
 * apijson.CommentRecords lists them: the proposal's, its text's, each
 * comment's, then each author's account (once, proven present or absent).
 */
export async function commentsView(rd, id, from = 0) {
  id = BigInt(id);
  const pk = await keys.proposal(id);
  const p = readOr(rd, pk, decodeProposal, `proposal ${id}`);
  if (p === null) throw new NotFoundError(`no proposal ${id}`);
  must(rd, await keys.text(id), decodeText, "a proposal's text");
  const records = [pk, await keys.text(id)];
  const authors = [];
  const comments = [];
  for (let n = from; n < p.comments && comments.length < COMMENTS_PAGE; n++) {
    const k = await keys.comment(id, n);
    const c = readOr(rd, k, decodeComment, `comment ${n} of proposal ${id}`);
    if (c === null) throw new NotFoundError(`no comment ${n} of proposal ${id}`);
    records.push(k);
    if (!authors.includes(c.author)) authors.push(c.author);
    comments.push({ index: n, author: c.author, name: undefined, time: c.time, text: c.text });
  }
  for (const a of authors) rd.get(a, `the account of ${a}`);
  for (const c of comments) {
    c.name = omit(rd.name(c.author));
    clean(c);
  }
  return { comments, records: [...records, ...authors], proposal: p };
}

// ---- comparing a node's view with the rebuilt one ----

/**
 * The path of the first field where a node's view (parsed by parseJSON:
 * small integers as Numbers, large ones as BigInt) differs from the
 * rebuilt one, or null if they agree. A field one has and the other does
 * not is a difference.
 */
export function viewDiff(node, built, path = '') {
  if (typeof built === 'bigint' || typeof built === 'number') {
    if ((typeof node !== 'bigint' && typeof node !== 'number') || (typeof node === 'number' && !Number.isInteger(node))) return path || '.';
    return BigInt(node) === BigInt(built) ? null : path || '.';
  }
  if (Array.isArray(built)) {
    if (!Array.isArray(node) || node.length !== built.length) return path || '.';
    for (let i = 0; i < built.length; i++) {
      const d = viewDiff(node[i], built[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (built !== null && typeof built === 'object') {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return path || '.';
    for (const k of new Set([...Object.keys(built), ...Object.keys(node)])) {
      if (!(k in built) || !(k in node)) return `${path}.${k}`;
      const d = viewDiff(node[k], built[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return node === built ? null : path || '.';
}

/** Throws ProofError("record") if a node's view is not the one rebuilt from the proven records. */
export function checkView(node, built, what) {
  const d = viewDiff(node, built);
  if (d !== null) throw new ProofError(Check.RECORD, `the node's ${what} is not what the proven records say (at ${d})`);
}
