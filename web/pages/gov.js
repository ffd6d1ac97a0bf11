// The Governance page: the domains with their parameters, queues and
// active proposals (each with its countdown), each domain's proposals,
// the executors — every record verified by the light client, every view
// rebuilt from the proven records — and the forms to create a proposal
// and to challenge a member. Offline, the domains last verified are shown
// with the offline badge.
//
// Route: #/governance[?domain=<name>]

import { h, fill } from '../dom.js';
import { t } from '../i18n.js';
import { PARAMS, isDuration, MAX_ACTIONS } from '../govtx.js';
import { ProofError } from '../light.js';
import { fetchExecutors, fetchGovernance, fetchProposals, nameOf } from '../govread.js';
import { loadVerified, offlineBadge, saveVerified, unreachable } from '../offline.js';
import { failureBadge } from './common.js';
import { act, actorPicker, countdown, dur, field, person, provenBadge, statusLine, walletAccounts, when } from './govcommon.js';

export function render(app, [query], signal) {
  const root = h('div', { id: 'gov-page' });
  draw(app, root, new URLSearchParams(query ?? ''), signal);
  return root;
}

function paramText(p, v) {
  if (p === 'aggregate') return Number(v) === 1 ? 'median' : 'mean';
  return isDuration(p) ? dur(v) : String(v);
}

async function draw(app, root, params, signal) {
  const card = h('section', { class: 'card', id: 'gov', data: { state: 'loading' } }, h('h2', {}, t('nav.governance')), h('p', { class: 'muted' }, t('account.verifying')));
  fill(root, card);
  if (!app.client) {
    fill(card, h('p', { class: 'error' }, t('noGenesis', { why: app.genesisError ?? '' })));
    return;
  }
  let g;
  let saved = null;
  try {
    g = await fetchGovernance(app);
    saveVerified('governance', 'domains', g, g.height, g.time);
  } catch (e) {
    if (unreachable(e)) saved = await loadVerified('governance', 'domains');
    if (!saved) {
      card.dataset.state = e instanceof ProofError ? 'failed' : 'unreachable';
      fill(card, h('h2', {}, t('nav.governance')), failureBadge(e));
      return;
    }
    g = saved.value;
  }
  if (signal.aborted) return;
  const blockTime = g.time;
  const domains = g.governance.domains ?? [];
  const chosen = domains.find((d) => d.name === params.get('domain')) ?? domains[0];
  card.dataset.state = saved ? 'offline' : 'verified';
  card.dataset.height = g.height;
  fill(card, h('h2', {}, t('nav.governance')), h('div', {}, saved ? offlineBadge(saved) : provenBadge(g)),
    h('div', { class: 'row', id: 'domain-tabs' }, domains.map((d) => h('a', {
      href: `#/governance?domain=${encodeURIComponent(d.name)}`, class: d === chosen ? 'active' : null, data: { domain: d.name },
    }, d.name))),
    chosen ? domainCard(chosen, saved ? null : blockTime, signal) : h('p', {}, t('gov.noDomains')));
  if (saved) return; // offline: the domains as last verified, nothing else

  const list = h('section', { class: 'card', id: 'proposal-list', data: { state: 'loading' } }, h('h3', {}, t('gov.proposals')));
  const execs = h('section', { class: 'card', id: 'executors', data: { state: 'loading' } }, h('h3', {}, t('gov.executors')));
  root.append(list);
  if (chosen) readList(app, list, chosen.name, signal);
  const accts = await walletAccounts(app);
  if (signal.aborted) return;
  if (accts.length && chosen) root.append(createForm(app, accts, domains, chosen, signal), challengeForm(app, accts, chosen, signal));
  root.append(execs);
  readExecutors(app, execs, signal);
}

function domainCard(d, blockTime, signal) {
  return h('div', { id: 'domain', data: { domain: d.name } },
    h('h3', {}, t('gov.domain', { name: d.name })),
    h('table', { class: 'params' }, h('tbody', {}, PARAMS.map((p) => h('tr', {}, h('th', {}, p), h('td', { data: { param: p } }, paramText(p, d.params[p])))))),
    h('h4', {}, t('gov.queue')),
    d.queue.length === 0 ? h('p', { class: 'muted' }, t('gov.empty')) : h('ul', { id: 'queue' }, d.queue.map((q) => h('li', {},
      h('a', { href: `#/proposal/${q.id}` }, `#${q.id}`), ' · ', t('gov.participants', { n: q.participants }), ' · ', when(q.created)))),
    h('h4', {}, t('gov.active')),
    d.active.length === 0 ? h('p', { class: 'muted' }, t('gov.empty')) : h('ul', { id: 'active' }, d.active.map((a) => h('li', {},
      h('a', { href: `#/proposal/${a.id}` }, `#${a.id}`), ' · ', blockTime === null ? when(a.deadline) : countdown(a.deadline, blockTime, signal, `active-${a.id}-countdown`)))));
}

async function readList(app, el, domain, signal) {
  try {
    const first = await fetchProposals(app, domain, 0);
    const pages = Number(first.list.pages ?? 0);
    const last = pages > 1 ? await fetchProposals(app, domain, pages - 1) : first;
    if (signal.aborted) return;
    const ps = [...(last.list.proposals ?? [])].reverse();
    el.dataset.state = 'verified';
    fill(el, h('h3', {}, t('gov.proposalsOf', { domain })), provenBadge(last, 'list-badge'),
      ps.length === 0 ? h('p', { class: 'muted' }, t('gov.empty')) : h('ul', {}, ps.map((p) => h('li', { class: 'proposal', data: { id: p.id, state: p.state } },
        h('a', { href: `#/proposal/${p.id}` }, `#${p.id} ${p.title}`), ' · ', h('span', { class: `state ${p.state}` }, t(`gov.state.${p.state}`)),
        p.kind === 'challenge' ? [' · ', t('gov.challenge')] : null, ' · ', t('gov.participants', { n: p.participants })))));
  } catch (e) {
    el.dataset.state = 'failed';
    fill(el, h('h3', {}, t('gov.proposals')), failureBadge(e));
  }
}

async function readExecutors(app, el, signal) {
  try {
    const r = await fetchExecutors(app);
    if (signal.aborted) return;
    const ex = r.executors ?? [];
    el.dataset.state = 'verified';
    fill(el, h('h3', {}, t('gov.executors')), provenBadge(r, 'executors-badge'),
      ex.length === 0 ? h('p', { class: 'muted' }, t('gov.noExecutors')) : h('ul', {}, ex.map((x) => h('li', {},
        h('strong', {}, x.role), ' · ', person(x.member, nameOf(r, x.member)), ' · ',
        t('gov.executorTerm', { proposal: x.proposal, until: when(x.until) })))));
  } catch (e) {
    el.dataset.state = 'failed';
    fill(el, h('h3', {}, t('gov.executors')), failureBadge(e));
  }
}

/** The inputs of a desire, with the domain's bounds beside them. */
export function desireInputs(d, prefix) {
  const p = d.params;
  const meeting = h('input', { id: `${prefix}-meeting`, value: dur(p.meeting_min), autocomplete: 'off' });
  const publicity = h('input', { id: `${prefix}-publicity`, value: dur(p.publicity_min), autocomplete: 'off' });
  const capacity = h('input', { id: `${prefix}-capacity`, value: String(p.capacity_min), inputmode: 'numeric', autocomplete: 'off' });
  return {
    el: h('fieldset', { class: 'desire' }, h('legend', {}, t('gov.desire')),
      field(t('gov.meetingWindow'), meeting, t('gov.bounds', { min: dur(p.meeting_min), max: dur(p.meeting_max) })),
      field(t('gov.publicityWindow'), publicity, t('gov.bounds', { min: dur(p.publicity_min), max: dur(p.publicity_max) })),
      field(t('gov.capacity'), capacity, t('gov.bounds', { min: p.capacity_min, max: p.capacity_max }))),
    async value() {
      const { parseDuration } = await import('../govtx.js');
      return { meeting: parseDuration(meeting.value.trim()), publicity: parseDuration(publicity.value.trim()), capacity: Number(capacity.value.trim()) };
    },
  };
}

/** Option inputs: a title and a text area of actions, one a line (at most 8). */
export function optionInputs(prefix, n) {
  const title = h('input', { id: `${prefix}-title-${n}`, class: 'option-title', autocomplete: 'off' });
  const actions = h('textarea', { id: `${prefix}-actions-${n}`, class: 'option-actions', rows: 2, spellcheck: 'false', placeholder: t('gov.actionsPlaceholder', { max: MAX_ACTIONS }) });
  return { el: h('div', { class: 'option-input' }, field(t('gov.optionTitle', { n: n + 1 }), title), field(t('gov.optionActions'), actions)), title, actions };
}

export function optionValue(o) {
  return { title: o.title.value.trim(), actions: o.actions.value.split('\n').map((l) => l.trim()).filter(Boolean) };
}

function createForm(app, accts, domains, chosen, signal) {
  const actor = actorPicker(app, accts, signal, 'create-actor');
  const domain = h('select', { id: 'create-domain' }, domains.map((d) => h('option', { value: d.name, selected: d === chosen }, d.name)));
  const title = h('input', { id: 'create-title', autocomplete: 'off' });
  const body = h('textarea', { id: 'create-body', rows: 4 });
  const options = [optionInputs('create-option', 0), optionInputs('create-option', 1)];
  const optionsEl = h('div', { id: 'create-options' }, options.map((o) => o.el));
  const desire = desireInputs(chosen, 'create');
  const status = statusLine('create-status');
  const button = h('button', { type: 'submit', id: 'create' }, t('gov.create'));
  return h('section', { class: 'card', id: 'create-card' }, h('h3', {}, t('gov.createTitle')),
    h('form', {
      id: 'create-form',
      onsubmit: async (ev) => {
        ev.preventDefault();
        button.disabled = true;
        try {
          const r = await act(app, actor, 'create', {
            domain: domain.value, title: title.value.trim(), body: body.value,
            options: options.map(optionValue).filter((o) => o.title !== '' || o.actions.length), desire: await desire.value().catch((e) => { throw e; }),
          }, status);
          const id = r.info?.proposal;
          if (r.state === 'committed' && id !== undefined && !signal.aborted) app.go(`#/proposal/${id}`);
        } catch (e) {
          status.hidden = false;
          status.dataset.state = 'invalid';
          status.className = 'error';
          fill(status, String(e.message));
        } finally {
          button.disabled = false;
        }
      },
    }, actor.el, field(t('gov.domainLabel'), domain), field(t('gov.titleLabel'), title), field(t('gov.bodyLabel'), body), optionsEl,
    h('button', { type: 'button', class: 'secondary', id: 'add-option', onclick: () => {
      const o = optionInputs('create-option', options.length);
      options.push(o);
      optionsEl.append(o.el);
    } }, t('gov.addOption')),
    desire.el, h('div', { class: 'row' }, button), status));
}

function challengeForm(app, accts, chosen, signal) {
  const actor = actorPicker(app, accts, signal, 'challenge-actor');
  const target = h('input', { id: 'challenge-target', spellcheck: 'false', pattern: '[0-9a-fA-F]{40}', placeholder: t('org.applicantID') });
  const reason = h('textarea', { id: 'challenge-reason', rows: 3 });
  const desire = desireInputs(chosen, 'challenge');
  const status = statusLine('challenge-status');
  const button = h('button', { type: 'submit', id: 'challenge' }, t('gov.challengeSubmit'));
  return h('details', { class: 'card', id: 'challenge-card' }, h('summary', {}, t('gov.challengeTitle')),
    h('form', {
      onsubmit: async (ev) => {
        ev.preventDefault();
        button.disabled = true;
        try {
          const r = await act(app, actor, 'challenge', { target: target.value.trim(), domain: chosen.name, reason: reason.value, desire: await desire.value() }, status);
          if (r.state === 'committed' && r.info?.proposal !== undefined && !signal.aborted) app.go(`#/proposal/${r.info.proposal}`);
        } catch (e) {
          status.hidden = false;
          status.className = 'error';
          fill(status, String(e.message));
        } finally {
          button.disabled = false;
        }
      },
    }, h('p', { class: 'muted' }, t('gov.challengeIntro')), actor.el, field(t('gov.target'), target), field(t('gov.reason'), reason), desire.el,
    h('div', { class: 'row' }, button), status));
}
