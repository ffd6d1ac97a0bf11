// The Organization page: the organization's verified record (name,
// policy, members, supervisors, applicants), its members and applicants
// with their names and roles (every record proven, the list checked
// complete against the organization's counts: members.js), the acting
// member's verified role, an application to join (a guest), and the
// decision on an application (a supervisor, under the supervisor policy:
// from the applicant's row, or by ID).

import { h, fill, short } from '../dom.js';
import { t } from '../i18n.js';
import { errorText, failureBadge, verifiedBadge } from './common.js';
import { fetchMembers } from '../members.js';
import { act, actorPicker, field, person, statusLine, walletAccounts } from './govcommon.js';

export function render(app, _params, signal) {
  const root = h('div', { id: 'org-page' });
  draw(app, root, signal);
  return root;
}

async function draw(app, root, signal) {
  const card = h('section', { class: 'card', id: 'org-card', data: { state: 'loading' } }, h('h2', {}, t('nav.org')), h('p', { class: 'muted' }, t('account.verifying')));
  fill(root, card);
  if (!app.client) {
    fill(card, h('p', { class: 'error' }, t('noGenesis', { why: app.genesisError ?? '' })));
    return;
  }
  let o;
  try {
    o = await app.client.fetchOrganization(app.remote);
  } catch (e) {
    card.dataset.state = 'failed';
    fill(card, h('h2', {}, t('nav.org')), failureBadge(e));
    return;
  }
  if (signal.aborted) return;
  const org = o.organization;
  card.dataset.state = 'verified';
  fill(card, h('h2', {}, org.name), h('div', {}, verifiedBadge(o)),
    h('dl', { class: 'fields' },
      h('dt', {}, t('org.policy')), h('dd', { id: 'org-policy' }, t(`org.policy.${org.policy}`)),
      h('dt', {}, t('org.members')), h('dd', { id: 'org-members' }, org.members.toString()),
      h('dt', {}, t('org.supervisors')), h('dd', { id: 'org-supervisors' }, org.supervisors.toString()),
      h('dt', {}, t('org.applicants')), h('dd', { id: 'org-applicants' }, org.applicants.toString())),
    h('p', { class: 'muted' }, t('org.rolesNote')));

  // The members, listed at the organization's verified height.
  const list = { result: null, myRole: 'none', onDecide: null };
  const membersCard = h('section', { class: 'card', id: 'org-members-card', data: { state: 'loading' } },
    h('h3', {}, t('org.membersTitle')), h('p', { class: 'muted' }, t('org.membersLoading')));
  root.append(membersCard);
  const drawMembers = () => drawList(membersCard, org, list);
  fetchMembers(app.client, app.remote, { height: o.height }).then((r) => {
    list.result = r;
    if (!signal.aborted) drawMembers();
  }, (e) => {
    if (signal.aborted) return;
    membersCard.dataset.state = 'failed';
    fill(membersCard, h('h3', {}, t('org.membersTitle')), h('div', {}, failureBadge(e)),
      h('p', { class: 'error', id: 'org-members-error' }, errorText(e)));
  });

  const accts = await walletAccounts(app);
  if (signal.aborted) return;
  if (accts.length === 0) {
    root.append(h('section', { class: 'card' }, h('p', {}, t('transfer.noAccounts'), ' ', h('a', { href: '#/wallet' }, t('nav.wallet')))));
    return;
  }
  const actor = actorPicker(app, accts, signal, 'org-actor');
  const me = h('div', { id: 'org-me' });
  const readMe = async () => {
    try {
      const r = await app.client.fetchAccount(app.remote, actor.pub());
      const a = r.account;
      fill(me, h('span', {}, person(r.key, a?.name), ' · ', h('span', { id: 'my-role', data: { value: a?.role ?? 'none' } }, a ? t(`role.${a.role}`) : t('org.noAccount')),
        a?.applying ? [' · ', t('account.applying')] : null, ' '), verifiedBadge(r));
      list.myRole = a?.role ?? 'none';
    } catch (e) {
      fill(me, failureBadge(e));
      list.myRole = 'none';
    }
    // Apply is for those who are not members; decide for supervisors.
    const role = list.myRole;
    root.querySelector('#apply-form')?.toggleAttribute('hidden', role === 'member' || role === 'supervisor');
    root.querySelector('#decide-form')?.toggleAttribute('hidden', role !== 'supervisor');
    if (list.result && !signal.aborted) drawMembers();
  };
  actor.el.querySelector('select').addEventListener('change', readMe);
  readMe();

  // Apply (a guest).
  const name = h('input', { id: 'apply-name', maxlength: 64, autocomplete: 'off' });
  const note = h('textarea', { id: 'apply-note', rows: 2 });
  const applyStatus = statusLine('apply-status');
  const applyButton = h('button', { type: 'submit', id: 'apply' }, t('org.apply'));
  // Decide (a supervisor).
  const applicant = h('input', { id: 'decide-applicant', spellcheck: 'false', placeholder: t('org.applicantID'), pattern: '[0-9a-fA-F]{40}' });
  const decideStatus = statusLine('decide-status');
  const decide = (accept) => async () => {
    await act(app, actor, 'decide', { applicant: applicant.value.trim(), accept }, decideStatus);
    readMe();
  };
  list.onDecide = (id, accept) => {
    applicant.value = id;
    applicant.scrollIntoView?.({ block: 'center' });
    return decide(accept)();
  };
  root.append(h('section', { class: 'card', id: 'org-act' },
    h('h3', {}, t('org.act')), actor.el, me,
    h('form', {
      id: 'apply-form',
      onsubmit: async (ev) => {
        ev.preventDefault();
        applyButton.disabled = true;
        await act(app, actor, 'apply', { name: name.value, note: note.value }, applyStatus);
        applyButton.disabled = false;
        readMe();
      },
    }, h('h4', {}, t('org.applyTitle')), h('p', { class: 'muted' }, t('org.applyIntro')),
    field(t('org.applyName'), name), field(t('org.applyNote'), note), h('div', { class: 'row' }, applyButton), applyStatus),
    h('div', { id: 'decide-form' }, h('h4', {}, t('org.decideTitle')), h('p', { class: 'muted' }, t('org.decideIntro')),
      field(t('org.applicant'), applicant),
      h('div', { class: 'row' },
        h('button', { type: 'button', id: 'decide-accept', onclick: decide(true) }, t('org.accept')),
        h('button', { type: 'button', id: 'decide-refuse', class: 'secondary', onclick: decide(false) }, t('org.refuse'))),
      decideStatus)));
}

/**
 * Draws the verified member list: a row per member or applicant (name,
 * role, ID), the completeness check, and for a supervisor under the
 * supervisor policy the decision buttons of each applicant.
 */
function drawList(card, org, list) {
  const r = list.result;
  const decides = org.policy === 'supervisor' && list.myRole === 'supervisor' && list.onDecide !== null;
  card.dataset.state = 'complete';
  card.dataset.members = String(r.counts.members);
  card.dataset.applicants = String(r.counts.applicants);
  const rows = r.members.map((m) => h('tr', {
    id: `member-${m.id}`, class: m.applying ? 'applicant' : null,
    data: { id: m.id, role: m.role, applying: m.applying ? 'yes' : 'no' },
  },
  h('td', { class: 'member-name' }, m.name || '—'),
  h('td', { class: 'member-role' }, t(`role.${m.role}`), m.applying ? [' · ', h('span', { class: 'pending' }, t('org.membersApplying'))] : null),
  h('td', { class: 'mono', title: m.id }, short(m.id, 10)),
  h('td', {}, decides && m.applying ? h('span', { class: 'row' },
    h('button', { type: 'button', class: 'small decide-accept', onclick: () => list.onDecide(m.id, true) }, t('org.accept')),
    h('button', { type: 'button', class: 'small secondary decide-refuse', onclick: () => list.onDecide(m.id, false) }, t('org.refuse'))) : null)));
  fill(card, h('h3', {}, t('org.membersTitle')),
    h('div', {}, verifiedBadge(r)),
    h('p', { class: 'done', id: 'org-members-complete' }, '✓ ', t('org.membersComplete', { members: r.counts.members, applicants: r.counts.applicants })),
    r.members.length === 0 ? h('p', { class: 'muted' }, t('org.membersEmpty')) : h('table', { class: 'members', id: 'org-member-list' },
      h('thead', {}, h('tr', {}, ['org.membersName', 'org.membersRole', 'org.membersID', decides ? 'org.membersDecide' : null]
        .map((k) => h('th', {}, k ? t(k) : '')))),
      h('tbody', {}, rows)));
}
