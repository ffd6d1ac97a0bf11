// The proposal page: a proposal's state, options with their actions,
// roster, rounds with their sub-meetings and tallies, winner, publicity
// and review, and its comments, each read with its proofs, verified and
// rebuilt from the proven records (govread.js), with
// the countdown to the current deadline in block time; the meeting view
// (the acting member's sub-meeting of the current round and an approval
// ballot over its options); and the actions: join (desired windows and
// capacity, the domain's bounds beside them), add an option, comment,
// vote, freeze, review (lift or cancel). The page reads again at every
// commit the node announces. The last verified proposal and comments are
// kept (offline.js): when the node cannot be reached, they are shown with
// the offline badge ("offline — verified at height H, <time>").
//
// Route: #/proposal/<id>

import { ProofError } from '../light.js';
import { accountID } from '../light/state.js';
import { fromHex, toHex } from '../light/bytes.js';
import { h, fill } from '../dom.js';
import { t } from '../i18n.js';
import { fetchComments, fetchGovernance, fetchProposal, nameOf } from '../govread.js';
import { NO_WINNER, NotFoundError } from '../govrecords.js';
import { loadVerified, offlineBadge, saveVerified, unreachable } from '../offline.js';
import { errorText, failureBadge, readAgainOnCommit } from './common.js';
import { act, actorPicker, countdown, dur, field, person, provenBadge, statusLine, walletAccounts, when } from './govcommon.js';
import { desireInputs, optionInputs, optionValue } from './gov.js';

// Offline, the page reads again after 1 s, doubling up to 10 s (as the account page).
const OFFLINE_RETRY_MS = 1000;
const OFFLINE_RETRY_MAX_MS = 10_000;
const OPEN = new Set(['queued', 'meeting', 'voting', 'publicity', 'review']);

export function render(app, [id], signal) {
  const root = h('div', { id: 'proposal-page' });
  draw(app, root, id, signal);
  return root;
}

async function draw(app, root, id, signal) {
  const view = h('section', { class: 'card', id: 'proposal', data: { state: 'loading', id } }, h('p', { class: 'muted' }, t('account.verifying')));
  const meeting = h('section', { class: 'card', id: 'meeting', hidden: true });
  const actions = h('div', { id: 'proposal-actions' });
  const comments = h('section', { class: 'card', id: 'comments' });
  fill(root, view, meeting, actions, comments);
  if (!app.client) {
    fill(view, h('p', { class: 'error' }, t('noGenesis', { why: app.genesisError ?? '' })));
    return;
  }
  const accts = await walletAccounts(app);
  const actor = accts.length ? actorPicker(app, accts, signal, 'proposal-actor') : null;
  let last = null;
  let domain = null;
  let generation = 0;
  let retryMs = OFFLINE_RETRY_MS;
  const read = async () => {
    const g = ++generation;
    let r;
    try {
      r = await fetchProposal(app, id);
      if (domain === null || domain.name !== r.proposal.domain) {
        const gv = await fetchGovernance(app);
        domain = (gv.governance.domains ?? []).find((d) => d.name === r.proposal.domain) ?? null;
      }
    } catch (e) {
      if (g !== generation || signal.aborted) return;
      if (unreachable(e)) {
        // The last verified state, labelled as such; and a read again later.
        const saved = await loadVerified('proposal', id);
        if (g !== generation || signal.aborted) return;
        if (saved) {
          showProposal(view, saved.value, signal, saved);
          meeting.hidden = true;
          actions.hidden = true;
          const savedComments = await loadVerified('comments', id);
          if (g !== generation || signal.aborted) return;
          showComments(app, comments, id, null, savedComments, savedComments ? null : e, signal);
        } else {
          showFailure(view, id, e);
          meeting.hidden = true;
          fill(actions);
          last = null;
        }
        schedule(retryMs);
        retryMs = Math.min(retryMs * 2, OFFLINE_RETRY_MAX_MS);
        return;
      }
      showFailure(view, id, e);
      meeting.hidden = true;
      fill(actions);
      last = null; // the forms are made again at the next good read
      return;
    }
    if (g !== generation || signal.aborted) return;
    retryMs = OFFLINE_RETRY_MS;
    saveVerified('proposal', id, r, r.height, r.time);
    const first = last === null;
    last = r;
    actions.hidden = false;
    showProposal(view, r, signal);
    await showMeeting(app, meeting, r, actor, signal);
    if (first && actor) fill(actions, actionForms(app, r, domain, actor, () => last, signal));
    if (actor) updateActions(actions, r);
    readComments(app, comments, id, actor, signal);
  };
  const schedule = readAgainOnCommit(app, read, signal);
  if (actor) actor.el.querySelector('select').addEventListener('change', () => last && showMeeting(app, meeting, last, actor, signal));
  await read();
}

/** A proposal that could not be read: why, and none of its data. */
function showFailure(el, id, e) {
  el.dataset.state = e instanceof ProofError ? 'failed' : e instanceof NotFoundError ? 'absent' : 'unreachable';
  delete el.dataset.phase;
  fill(el, h('h2', {}, `#${id}`), h('div', {}, failureBadge(e)), h('p', { class: 'error', role: 'alert', id: 'proposal-error' }, errorText(e)));
}

/**
 * A proposal's view, rebuilt from its proven records (r from
 * fetchProposal); offline, the saved one (r = saved.value) with the
 * offline badge.
 */
function showProposal(el, r, signal, offline = null) {
  const p = r.proposal;
  const rec = r.record;
  const name = (id) => nameOf(r, id);
  el.dataset.state = offline ? 'offline' : 'verified';
  el.dataset.phase = p.state;
  el.dataset.height = r.height;
  const open = OPEN.has(p.state);
  const winner = rec.winner === NO_WINNER ? null : rec.winner;
  fill(el,
    h('h2', {}, `#${p.id} `, h('span', { id: 'proposal-title' }, p.title)),
    h('div', {}, offline ? offlineBadge(offline) : provenBadge(r)),
    h('dl', { class: 'fields' },
      h('dt', {}, t('gov.kind')), h('dd', {}, p.kind === 'challenge' ? t('gov.challenge') : t('gov.proposal')),
      h('dt', {}, t('gov.domainLabel')), h('dd', { id: 'proposal-domain' }, h('a', { href: `#/governance?domain=${encodeURIComponent(p.domain)}` }, p.domain)),
      h('dt', {}, t('gov.author')), h('dd', { id: 'proposal-author' }, person(p.author, name(p.author))),
      p.kind === 'challenge' ? [h('dt', {}, t('gov.target')), h('dd', { id: 'proposal-target' }, person(p.target, name(p.target)))] : null,
      h('dt', {}, t('gov.stateLabel')), h('dd', { id: 'proposal-state', data: { value: p.state } }, t(`gov.state.${p.state}`)),
      open && !offline && rec.deadline > 0n ? [h('dt', {}, t(`gov.deadline.${p.state}`)), h('dd', {}, when(rec.deadline), ' · ', countdown(rec.deadline, r.time, signal, 'deadline-countdown'))] : null,
      p.meeting_window ? [h('dt', {}, t('gov.meetingWindow')), h('dd', {}, dur(p.meeting_window), ' · ', t('gov.capacity'), ' ', String(p.capacity ?? 0))] : null,
      p.round ? [h('dt', {}, t('gov.round')), h('dd', { id: 'proposal-round' }, String(p.round))] : null,
      winner !== null ? [h('dt', {}, t('gov.winner')), h('dd', { id: 'proposal-winner', data: { value: winner } }, p.options?.[winner]?.title ?? `#${winner}`)] : null,
      p.publicity ? [h('dt', {}, t('gov.publicity')), h('dd', { id: 'proposal-publicity' },
        t('gov.publicityText', { publicity: dur(p.publicity), min: dur(p.publicity_min ?? 0), supporters: p.supporters ?? 0, members: p.members_at_publicity ?? 0 }))] : null,
      p.review ? [h('dt', {}, t('gov.review')), h('dd', { id: 'proposal-review' }, t('gov.reviewText', { freeze: p.review.freeze, lift: p.review.lift, cancel: p.review.cancel }),
        ' · ', t('gov.frozenBy'), ' ', person(p.review.freezer, name(p.review.freezer)))] : null,
      rec.closed > 0n ? [h('dt', {}, t('gov.closed')), h('dd', { id: 'proposal-closed' }, when(rec.closed), rec.reason ? ` · ${rec.reason}` : '')] : null),
    p.body ? h('pre', { class: 'body', id: 'proposal-body' }, p.body) : null,
    h('h3', {}, t('gov.options')),
    h('ol', { id: 'options', start: 0 }, (p.options ?? []).map((o) => h('li', { class: `option${o.index === winner ? ' winner' : ''}`, data: { index: o.index } },
      h('strong', { class: 'option-title' }, o.title), ' · ', t('gov.by'), ' ', person(o.author, name(o.author)),
      o.actions.length ? h('ul', { class: 'actions' }, o.actions.map((a) => h('li', {}, h('code', {}, a)))) : h('div', { class: 'muted' }, t('gov.noActions'))))),
    h('h3', {}, t('gov.roster', { n: (p.roster ?? []).length })),
    h('table', { id: 'roster' }, h('thead', {}, h('tr', {}, h('th', {}, t('gov.member')), h('th', {}, t('gov.meetingWindow')), h('th', {}, t('gov.publicityWindow')), h('th', {}, t('gov.capacity')))),
      h('tbody', {}, (p.roster ?? []).map((x) => h('tr', { data: { member: x.member } },
        h('td', {}, person(x.member, name(x.member))), h('td', {}, dur(x.meeting_window)), h('td', {}, dur(x.publicity_window)), h('td', {}, String(x.capacity)))))),
    (p.rounds ?? []).map((rd) => roundView(p, rd, name)));
}

function roundView(p, rd, name) {
  const title = (i) => p.options?.[i]?.title ?? `#${i}`;
  return h('div', { class: 'round', id: `round-${rd.round}`, data: { round: rd.round, ended: rd.ended ? 'yes' : 'no' } },
    h('h3', {}, t('gov.roundTitle', { n: rd.round }), rd.plenary ? ` · ${t('gov.plenary')}` : '', ' · ', rd.ended ? t('gov.roundEnded') : t('gov.roundOpen')),
    rd.ended && rd.winners?.length ? h('p', { class: 'winners', id: `round-${rd.round}-winners` }, t('gov.winners'), ' ', rd.winners.map(title).join(', ')) : null,
    h('div', { class: 'meetings' }, (rd.meetings ?? []).map((m) => h('div', { class: 'submeeting', data: { meeting: m.index } },
      h('h4', {}, t('gov.subMeeting', { n: m.index })),
      h('div', { class: 'members' }, m.members.map((id, i) => [i ? ', ' : '', person(id, name(id))])),
      h('div', { class: 'muted' }, t('gov.ballots', { n: m.ballots })),
      rd.ended ? h('table', { class: 'tally' }, h('tbody', {}, (m.tally ?? []).map((x) => h('tr', { data: { option: x.option, approvals: x.approvals }, class: x.option === m.winner ? 'winner' : null },
        h('td', {}, title(x.option)), h('td', {}, String(x.approvals)))))) : null))));
}

/** The acting member's sub-meeting of the current round, with a ballot. */
async function showMeeting(app, el, r, actor, signal) {
  const p = r.proposal;
  const rd = (p.rounds ?? []).find((x) => x.round === r.record.round);
  if (!actor || !rd || p.state !== 'voting') {
    el.hidden = true;
    return;
  }
  const me = toHex(await accountID(fromHex(actor.pub(), 'key', 32)));
  const m = rd.meetings.find((x) => x.members.includes(me));
  el.hidden = false;
  if (!m) {
    fill(el, h('h3', {}, t('gov.myMeeting')), h('p', { id: 'not-in-meeting' }, t('gov.notInMeeting')));
    return;
  }
  const boxes = rd.options.map((i) => h('input', { type: 'checkbox', value: i, id: `approve-${i}`, class: 'approve', style: 'width:auto;margin:0' }));
  const status = statusLine('vote-status');
  const button = h('button', { type: 'button', id: 'vote' }, t('gov.vote'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    await act(app, actor, 'vote', { proposal: p.id, round: rd.round, meeting: m.index, approve: boxes.filter((b) => b.checked).map((b) => Number(b.value)) }, status);
    button.disabled = false;
  });
  fill(el, h('h3', {}, t('gov.myMeeting')),
    h('p', { id: 'my-meeting', data: { meeting: m.index, round: rd.round } }, t('gov.myMeetingText', { n: m.index, round: rd.round }), ' ',
      m.members.map((id, i) => [i ? ', ' : '', person(id, nameOf(r, id))])),
    countdown(rd.end, r.time, signal, 'round-countdown'),
    h('fieldset', { id: 'ballot' }, h('legend', {}, t('gov.ballot')),
      rd.options.map((i, k) => h('label', { class: 'check', style: 'display:flex;flex-direction:row;gap:.5em;align-items:center' }, boxes[k], ' ', p.options?.[i]?.title ?? `#${i}`))),
    h('div', { class: 'row' }, button), status);
}

function actionForms(app, r, domain, actor, latest, signal) {
  const p = r.proposal;
  const id = p.id;
  const joinStatus = statusLine('join-status');
  const desire = domain ? desireInputs(domain, 'join') : null;
  const joinButton = h('button', { type: 'submit', id: 'join' }, t('gov.join'));
  const opt = optionInputs('new-option', 0);
  const optStatus = statusLine('option-status');
  const freezeStatus = statusLine('freeze-status');
  const reviewStatus = statusLine('review-status');
  const run = (button, fn) => async (ev) => {
    ev?.preventDefault();
    button.disabled = true;
    try {
      await fn();
    } catch (e) {
      fill(joinStatus, String(e.message));
      joinStatus.hidden = false;
      joinStatus.className = 'error';
      joinStatus.dataset.state = 'invalid';
    } finally {
      button.disabled = false;
    }
  };
  const optButton = h('button', { type: 'submit', id: 'add-option-submit' }, t('gov.addOption'));
  const freezeButton = h('button', { type: 'button', id: 'freeze' }, t('gov.freeze'));
  const liftButton = h('button', { type: 'button', id: 'review-lift' }, t('gov.lift'));
  const cancelButton = h('button', { type: 'button', id: 'review-cancel', class: 'secondary' }, t('gov.cancel'));
  freezeButton.addEventListener('click', run(freezeButton, () => act(app, actor, 'freeze', { proposal: id }, freezeStatus)));
  const review = (lift, b) => run(b, () => act(app, actor, 'review', { proposal: id, freeze: latest().record.freezes, lift }, reviewStatus));
  liftButton.addEventListener('click', review(true, liftButton));
  cancelButton.addEventListener('click', review(false, cancelButton));
  return h('section', { class: 'card', id: 'acts' }, h('h3', {}, t('gov.act')), actor.el,
    h('form', { id: 'join-form', class: 'phase-queued phase-meeting', onsubmit: run(joinButton, async () => act(app, actor, 'join', { proposal: id, desire: await desire.value() }, joinStatus)) },
      h('h4', {}, t('gov.joinTitle')), desire?.el, h('div', { class: 'row' }, joinButton), joinStatus),
    h('form', { id: 'option-form', class: 'phase-queued phase-meeting', onsubmit: run(optButton, () => act(app, actor, 'option', { proposal: id, option: optionValue(opt) }, optStatus)) },
      h('h4', {}, t('gov.addOptionTitle')), opt.el, h('div', { class: 'row' }, optButton), optStatus),
    h('div', { id: 'freeze-form', class: 'phase-publicity' }, h('h4', {}, t('gov.freezeTitle')), h('p', { class: 'muted' }, t('gov.freezeIntro')),
      h('div', { class: 'row' }, freezeButton), freezeStatus),
    h('div', { id: 'review-form', class: 'phase-review' }, h('h4', {}, t('gov.reviewTitle')),
      h('div', { class: 'row' }, liftButton, cancelButton), reviewStatus));
}

/** Shows the forms the proposal's phase allows. */
function updateActions(el, r) {
  for (const f of el.querySelectorAll('[class*="phase-"]')) f.hidden = !f.classList.contains(`phase-${r.proposal.state}`);
}

/** Reads the comments, verified (saved for offline), and shows them. */
async function readComments(app, el, id, actor, signal) {
  let r = null;
  let err = null;
  let saved = null;
  try {
    r = await fetchComments(app, id);
    saveVerified('comments', id, r, r.height, r.time);
  } catch (e) {
    err = e;
    if (unreachable(e)) saved = await loadVerified('comments', id);
  }
  if (signal.aborted) return;
  showComments(app, el, id, actor, saved, saved ? null : r ?? err, signal);
}

/**
 * The comments: r, a proven read (fetchComments), or an error; offline,
 * saved (the last verified ones, r null). The form to comment, when there
 * is an actor, is made once and kept across reads.
 */
function showComments(app, el, id, actor, saved, r, signal) {
  const read = saved ? saved.value : r instanceof Error ? null : r;
  let badge;
  if (saved) {
    badge = offlineBadge(saved);
  } else if (read) {
    badge = provenBadge(read);
  } else {
    badge = failureBadge(r ?? new Error(''));
  }
  badge.id = 'comments-badge';
  el.dataset.state = saved ? 'offline' : read ? 'verified' : badge.dataset.state;
  if (read) el.dataset.height = read.height;
  const name = (x) => (read ? nameOf(read, x) : null);
  // The list is drawn again at each read; the form stays where it is (a
  // half-typed comment, the status of one being sent).
  let body = el.querySelector('.comments-body');
  if (!body) {
    body = h('div', { class: 'comments-body' });
    fill(el, body);
  }
  fill(body, h('h3', {}, t('gov.comments', { n: read ? read.total : '?' })), h('div', {}, badge),
    read ? h('ul', { id: 'comment-list' }, (read.comments ?? []).map((c) => h('li', { class: 'comment', data: { index: c.index } },
      person(c.author, name(c.author)), ' · ', when(c.time), h('pre', {}, c.text)))) : null);
  if (actor && !signal.aborted && !el.querySelector('#comment-form')) el.append(commentForm(app, id, actor));
}

/** The form to comment on a proposal. */
function commentForm(app, id, actor) {
  const text = h('textarea', { id: 'comment-text', rows: 2 });
  const status = statusLine('comment-status');
  const button = h('button', { type: 'submit', id: 'comment' }, t('gov.comment'));
  return h('form', {
    id: 'comment-form',
    onsubmit: async (ev) => {
      ev.preventDefault();
      button.disabled = true;
      await act(app, actor, 'comment', { proposal: id, text: text.value }, status);
      button.disabled = false;
    },
  }, field(t('gov.commentLabel'), text), h('div', { class: 'row' }, button), status);
}
