// The Organization page: the organization's verified record (name,
// policy, members, supervisors, applicants), the acting member's verified
// role, an application to join (a guest), and the decision on an
// application (a supervisor, under the supervisor policy).

import { h, fill } from '../dom.js';
import { t } from '../i18n.js';
import { failureBadge, verifiedBadge } from './common.js';
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
    } catch (e) {
      fill(me, failureBadge(e));
    }
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
