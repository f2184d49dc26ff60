// Workers and cluster: each shard's queue and runners, the debug flags, and,
// when the resources carry an owner (a cluster of orchestrators), how many
// each member owns.
import { h, replace } from './dom.js';
import type { Store } from './store.js';

export function workersView(store: Store): { element: HTMLElement; dispose: () => void } {
  const element = h('section', { class: 'workers', data: { view: 'workers' } });
  const render = () => {
    const workers = store.workers;
    if (!workers) {
      replace(element, h('p', { class: 'muted' }, 'Waiting for the orchestrator…'));
      return;
    }
    const totals = workers.shards.reduce((t, s) => ({ queue: t.queue + s.queue_length, busy: t.busy + s.runners_busy, runners: t.runners + s.runners.length }), { queue: 0, busy: 0, runners: 0 });
    const owners = new Map<string, number>();
    for (const r of store.resources.values()) if (r.owner !== undefined && r.owner !== null) owners.set(r.owner, (owners.get(r.owner) ?? 0) + 1);
    const cluster = workers.cluster?.enabled ? workers.cluster : undefined;
    // Each member lists only the resources it owns: another member's count is on its own console.
    const members = cluster ? [...new Set([...cluster.members, ...owners.keys()])].sort() : [];
    replace(
      element,
      h('h2', {}, 'Workers'),
      h('p', {}, `${workers.shards.length} shards · ${totals.queue} waiting · ${totals.busy} of ${totals.runners} runners busy`),
      h(
        'table',
        { class: 'shards' },
        h('thead', {}, h('tr', {}, ...['Shard', 'Queue', 'Runners busy', 'Resources', 'Tenants', 'Runners'].map((c) => h('th', {}, c)))),
        h(
          'tbody',
          {},
          ...workers.shards.map((s) =>
            h(
              'tr',
              { data: { shard: String(s.index) } },
              h('td', {}, s.index),
              h('td', { data: { field: 'queue_length' } }, s.queue_length),
              h('td', { data: { field: 'runners_busy' } }, `${s.runners_busy} / ${s.runners.length}`),
              h('td', {}, s.resources),
              h('td', {}, s.tenants),
              h('td', { class: 'small' }, s.runners.filter((r) => r.status !== 'waiting for task').map((r) => `#${r.index} ${r.status}`).join(' · ') || 'idle'),
            ),
          ),
        ),
      ),
      h('h3', {}, 'Debug'),
      h(
        'ul',
        {},
        h('li', {}, `Global: ${workers.global_debug.enabled ? `on${workers.global_debug.reason ? ` (${workers.global_debug.reason})` : ''}` : 'off'}`),
        ...workers.tenants_in_debug.map((t) => h('li', {}, `Tenant ${t.id}${t.reason ? `: ${t.reason}` : ''}`)),
        ...workers.resources_in_debug.map((r) => h('li', {}, `Resource ${r.id}${r.reason ? `: ${r.reason}` : ''}`)),
      ),
      cluster
        ? h(
            'div',
            { data: { role: 'cluster' } },
            h('h3', {}, 'Cluster'),
            h(
              'p',
              {},
              `This member: ${cluster.host} · ${cluster.members.length} members · ${cluster.rebalances} rebalances · `,
              cluster.connected ? h('span', { class: 'ok' }, 'coordination connected') : h('span', { class: 'bad' }, `coordination lost${cluster.problem ? `: ${cluster.problem}` : ''}`),
            ),
            h(
              'table',
              { class: 'owners' },
              h('thead', {}, h('tr', {}, h('th', {}, 'Member'), h('th', {}, 'Resources owned'))),
              h(
                'tbody',
                {},
                ...members.map((member) =>
                  h('tr', { data: { member } }, h('td', {}, member, member === cluster.host ? ' (this one)' : ''), h('td', {}, member === cluster.host ? (owners.get(member) ?? 0) : 'see its console')),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'Not clustered: this orchestrator owns every resource.'),
    );
  };
  render();
  const unsubscribe = store.subscribe(render);
  return { element, dispose: unsubscribe };
}
