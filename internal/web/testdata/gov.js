// The browser side of the governance module tests (gov_test.go):
// governance transactions built and signed by /govtx.js, the duration
// and action parsers, the governance records decoded and the views
// rebuilt by /govrecords.js.
// Each export takes one JSON argument and returns JSON text (bytes as
// hex, BigInts as decimal strings).

import { fromHex, toHex } from '/light/bytes.js';
import * as govtx from '/govtx.js';
import { publicKeyOfSeed, signWithSeed } from '/wallet.js';

function plain(v) {
  return JSON.stringify(v, (_, x) => {
    if (typeof x === 'bigint') return x.toString();
    if (x instanceof Uint8Array) return toHex(x);
    return x;
  });
}

/** Builds and signs each case ({kind, nonce, fields}) with the seed: [{tx, body, hash} or {error}]. */
export async function signGov({ chainID, seed, cases }) {
  const s = fromHex(seed, 'seed', 32);
  const sender = await publicKeyOfSeed(s);
  const out = [];
  for (const c of cases) {
    try {
      const unsigned = await govtx.build(c.kind, { sender, nonce: c.nonce, ...c.fields });
      const signed = await govtx.sign(chainID, unsigned, (m) => signWithSeed(s, m));
      out.push({ tx: govtx.encode(signed), body: govtx.body(signed), hash: await govtx.hash(signed) });
    } catch (e) {
      out.push({ error: String(e?.message ?? e) });
    }
  }
  return plain(out);
}

/** Parses each action's text: its encoding (hex) or the error. */
export async function parseActions(lines) {
  const out = [];
  for (const l of lines) {
    try {
      out.push({ hex: await govtx.parseAction(l) });
    } catch (e) {
      out.push({ error: String(e?.message ?? e) });
    }
  }
  return plain(out);
}

/**
 * The text form govrecords.js writes of each action encoding (hex), read
 * as the only action of an option record: the text or the error.
 */
export async function actionTexts(hexes) {
  const recs = await import('/govrecords.js');
  const { concat, u32Bytes } = await import('/light/bytes.js');
  await recs.ready();
  return plain(hexes.map((h) => {
    try {
      const rec = concat(new Uint8Array([recs.KIND.option]), new Uint8Array(28), u32Bytes(1), new Uint8Array([0x74, 1]), fromHex(h, 'action'));
      return { text: recs.decodeOption(rec).option.actions[0] };
    } catch (e) {
      return { error: String(e?.message ?? e) };
    }
  }));
}

/** Parses and formats durations. */
export async function durations(list) {
  return plain(list.map((s) => {
    try {
      const v = govtx.parseDuration(s);
      return { ms: v, text: govtx.formatDuration(v) };
    } catch (e) {
      return { error: String(e?.message ?? e) };
    }
  }));
}

// ---- governance records and views (gov_records_test.go) ----

/** JSON text with BigInts as exact JSON numbers and bytes as hex. */
function exact(v) {
  return JSON.stringify(v, (_, x) => {
    if (typeof x === 'bigint') return JSON.rawJSON(x.toString());
    if (x instanceof Uint8Array) return toHex(x);
    return x;
  });
}

/** Decodes each {kind, hex} with govrecords.js's decoder of that kind: the value (u64s as strings) or {error}. */
export async function decodeRecords(cases) {
  const recs = await import('/govrecords.js');
  await recs.ready();
  const decoders = {
    registry: recs.decodeRegistry, domain: recs.decodeDomain, page: recs.decodePage, text: recs.decodeText, proposal: recs.decodeProposal,
    option: recs.decodeOption, roster: recs.decodeRoster, round: recs.decodeRound, meeting: recs.decodeMeeting, ballot: recs.decodeBallot,
    review: recs.decodeReviewBallot, comment: recs.decodeComment, executors: recs.decodeExecutors, challenge: recs.decodeChallenge,
  };
  return plain(cases.map(({ kind, hex }) => {
    try {
      return { value: decoders[kind](fromHex(hex, 'record')) };
    } catch (e) {
      return { error: `${e?.name}: ${e?.check ?? ''}: ${e?.message ?? e}` };
    }
  }));
}

/**
 * Rebuilds the views from records ({values: {key: hex or null}, reads:
 * [{view, args, node (the node's view, JSON text)}]}): for each read, the
 * view rebuilt (exact JSON) or the error, and where the node's view
 * differs from it (checkView's message), if it does.
 */
export async function rebuildViews({ values, reads }) {
  const recs = await import('/govrecords.js');
  const { parseJSON } = await import('/light.js');
  const m = new Map(Object.entries(values).map(([k, v]) => [k, v === null ? null : fromHex(v, k)]));
  const out = [];
  for (const { view, args, node } of reads) {
    const rd = recs.recordReader(m);
    try {
      let built;
      switch (view) {
        case 'proposal': built = (await recs.proposalView(rd, BigInt(args[0]))).view; break;
        case 'list': built = await recs.proposalListView(rd, args[0], args[1]); break;
        case 'governance': built = await recs.governanceView(rd); break;
        case 'executors': built = await recs.executorsView(rd); break;
        case 'comments': {
          const c = await recs.commentsView(rd, BigInt(args[0]), args[1]);
          built = { comments: c.comments, records: c.records };
          break;
        }
        default: throw new Error(`no view ${view}`);
      }
      let diff = '';
      try {
        recs.checkView(parseJSON(node), built, view);
      } catch (e) {
        diff = `${e.name}: ${e.check}: ${e.message}`;
      }
      out.push({ view: exact(built), diff });
    } catch (e) {
      out.push({ error: `${e?.name}: ${e?.check ?? ''}: ${e?.message ?? e}` });
    }
  }
  return JSON.stringify(out);
}
