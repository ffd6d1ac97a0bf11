// The outbox page (#/outbox): the transactions signed while the node could
// not be reached (outbox.js), each with what it is and where it stands:
// waiting, accepted, "accepted — committed at height H", or "refused:
// <reason>". It is drawn again whenever an item changes.

import { h, fill, amount, short } from '../dom.js';
import { lang, t } from '../i18n.js';
import { timeText } from '../offline.js';

export function render(app, params, signal) {
  const root = h('div', { id: 'outbox-page' });
  const card = section(app, signal);
  fill(root, card);
  return root;
}

/** The outbox as a card (the outbox page, and below the transfer page). */
export function section(app, signal) {
  const list = h('ul', { class: 'outbox', id: 'outbox-list' });
  const card = h('section', { class: 'card', id: 'outbox' },
    h('h2', {}, t('outbox.title')),
    h('p', { class: 'muted' }, t('outbox.intro')),
    list,
    h('div', { class: 'row' }, h('button', {
      type: 'button', class: 'secondary', id: 'outbox-retry', onclick: () => app.outbox?.retryNow(),
    }, t('outbox.retry'))));
  const draw = async () => {
    let items = [];
    try {
      items = app.outbox ? await app.outbox.items() : [];
    } catch {
      // no IndexedDB: nothing kept
    }
    if (signal.aborted) return;
    card.dataset.count = items.length;
    // "Submit now" only while something waits to be submitted.
    card.querySelector('#outbox-retry')?.toggleAttribute('hidden', !items.some((it) => it.state === 'waiting'));
    if (items.length === 0) {
      fill(list, h('li', { class: 'muted', id: 'outbox-empty' }, t('outbox.empty')));
      return;
    }
    fill(list, items.map((it) => item(app, it)));
  };
  if (app.outbox) {
    const on = () => draw();
    app.outbox.addEventListener('change', on);
    signal.addEventListener('abort', () => app.outbox.removeEventListener('change', on));
  }
  draw();
  return card;
}

function stateText(it) {
  switch (it.state) {
    case 'waiting': return t('outbox.waiting', { tries: it.tries ?? 0 });
    case 'accepted': return t(it.duplicate ? 'outbox.acceptedBefore' : 'outbox.accepted');
    case 'committed': return t('outbox.committed', { height: it.height });
    case 'failed': return t('outbox.failed', { height: it.height, code: it.code, log: it.log ?? '' });
    case 'refused': return t('outbox.refused', { reason: it.reason ?? '' });
    default: return it.state;
  }
}

function item(app, it) {
  const cls = { committed: 'done', refused: 'error', failed: 'error' }[it.state] ?? 'notice';
  const open = it.state === 'waiting' || it.state === 'accepted';
  return h('li', { class: 'outbox-item', id: `outbox-${it.hash}`, data: { state: it.state, hash: it.hash, height: it.height ?? '' } },
    h('div', {},
      h('strong', {}, t('outbox.transfer', { amount: amount(it.amount, lang()) })), ' ',
      h('code', { title: it.from }, short(it.from, 10)), ' → ', h('code', { title: it.to }, short(it.to, 10)), ' ',
      h('span', { class: 'muted' }, t('outbox.details', { nonce: it.nonce, time: timeText(it.added, lang()) }))),
    it.memo ? h('div', { class: 'muted' }, it.memo) : null,
    h('div', { class: 'mono muted' }, t('outbox.hash', { hash: short(it.hash, 16) })),
    h('p', { class: `${cls} outbox-state`, role: 'status' }, stateText(it)),
    open ? null : h('button', {
      type: 'button', class: 'secondary outbox-remove', onclick: () => app.outbox.remove(it.hash),
    }, t('outbox.remove')));
}
