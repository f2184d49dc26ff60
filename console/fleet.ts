// The fleet view: every resource, counts by appliance state, search and a
// state filter; redrawn (at most once a frame) whenever the live feed brings
// a change.
import type { Resource } from './api.js';
import { age, h, replace, type Child } from './dom.js';
import type { Store } from './store.js';

/** The appliance states worth a colour: red when broken, amber when on the way. */
export function severity(resource: Resource): 'bad' | 'busy' | 'good' {
  if (['error', 'down', 'gone'].includes(resource.instance_state)) return 'bad';
  return resource.instance_state === 'configured' ? 'good' : 'busy';
}

interface Filter {
  search: string;
  state: string;
}

function matches(resource: Resource, filter: Filter): boolean {
  if (filter.state === 'debug' && !resource.debug.enabled) return false;
  if (filter.state === 'errors' && !resource.last_error) return false;
  if (filter.state !== '' && filter.state !== 'debug' && filter.state !== 'errors' && resource.instance_state !== filter.state) return false;
  if (filter.search === '') return true;
  const haystack = [
    resource.id,
    resource.name ?? '',
    resource.driver,
    resource.tenant_id,
    resource.state,
    resource.instance_state,
    resource.owner ?? '',
    resource.last_error?.message ?? '',
    ...resource.appliances.map((a) => a.management_address ?? ''),
  ]
    .join(' ')
    .toLowerCase();
  return filter.search
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => haystack.includes(word));
}

function lastPush(resource: Resource): Child {
  const push = resource.last_push;
  if (!push) return h('span', { class: 'muted' }, 'never');
  return h(
    'span',
    { class: push.ok ? 'ok' : 'bad', title: push.error ?? `generation ${push.generation ?? '?'}` },
    `${push.ok ? 'ok' : 'failed'} · ${age(push.at)} · ${push.duration_ms} ms`,
  );
}

function row(resource: Resource, showOwner: boolean): HTMLTableRowElement {
  const cell = (field: string, ...children: Child[]) => h('td', { data: { field } }, ...children);
  const address = resource.appliances.map((a) => a.management_address).filter(Boolean).join(', ');
  return h(
    'tr',
    { class: `sev-${severity(resource)}`, data: { id: resource.id } },
    cell('id', h('a', { href: `#/resource/${encodeURIComponent(resource.id)}` }, resource.name || resource.id), resource.name ? h('div', { class: 'muted small' }, resource.id) : null),
    cell('driver', resource.driver),
    cell('tenant', resource.tenant_id),
    cell('state', resource.state),
    cell('instance_state', h('span', { class: `pill sev-${severity(resource)}` }, resource.instance_state)),
    showOwner ? cell('owner', resource.owner ?? '') : null,
    cell('address', address),
    cell('last_push', lastPush(resource)),
    cell('last_error', resource.last_error ? h('span', { class: 'bad', title: resource.last_error.at }, resource.last_error.message) : ''),
    cell('debug', resource.debug.enabled ? h('span', { class: 'pill debug', title: resource.debug.scope ?? '' }, `debug${resource.debug.reason ? `: ${resource.debug.reason}` : ''}`) : ''),
  );
}

export function fleetView(store: Store): { element: HTMLElement; dispose: () => void } {
  const filter: Filter = { search: '', state: '' };
  const counts = h('div', { class: 'counts', data: { role: 'counts' } });
  const search = h('input', {
    type: 'search',
    placeholder: 'Search id, name, tenant, address, error…',
    data: { role: 'search' },
    oninput: () => {
      filter.search = search.value.trim();
      schedule();
    },
  });
  const body = h('tbody');
  const head = h('thead');
  const shown = h('span', { class: 'muted', data: { role: 'shown' } });
  const element = h(
    'section',
    { class: 'fleet', data: { view: 'fleet' } },
    counts,
    h('div', { class: 'controls' }, search, shown),
    h('table', { class: 'resources' }, head, body),
  );

  const chip = (label: string, value: string, count: number, kind: string) =>
    h(
      'button',
      {
        class: `chip ${kind}${filter.state === value ? ' selected' : ''}`,
        data: { count: value === '' ? 'all' : value },
        onclick: () => {
          filter.state = filter.state === value ? '' : value;
          schedule();
        },
      },
      h('b', {}, count),
      ` ${label}`,
    );

  const render = () => {
    const resources = [...store.resources.values()];
    const byState = new Map<string, { count: number; kind: string }>();
    for (const r of resources) {
      const entry = byState.get(r.instance_state) ?? { count: 0, kind: `sev-${severity(r)}` };
      entry.count++;
      byState.set(r.instance_state, entry);
    }
    replace(
      counts,
      chip('resources', '', resources.length, ''),
      ...[...byState.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([state, { count, kind }]) => chip(state, state, count, kind)),
      chip('in debug', 'debug', resources.filter((r) => r.debug.enabled).length, 'debug'),
      chip('with errors', 'errors', resources.filter((r) => r.last_error).length, 'sev-bad'),
    );
    // Only a cluster's members name an owner.
    const showOwner = resources.some((r) => typeof r.owner === 'string');
    const columns = ['Resource', 'Driver', 'Tenant', 'State', 'Appliance', ...(showOwner ? ['Owner'] : []), 'Address', 'Last push', 'Last error', 'Debug'];
    replace(head, h('tr', {}, ...columns.map((c) => h('th', {}, c))));
    const visible = resources.filter((r) => matches(r, filter)).sort((a, b) => a.tenant_id.localeCompare(b.tenant_id) || a.id.localeCompare(b.id));
    body.replaceChildren(...visible.map((r) => row(r, showOwner)));
    if (store.loaded && visible.length === 0) body.append(h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, resources.length === 0 ? 'No resources.' : 'No resource matches.')));
    replace(shown, `${visible.length} of ${resources.length} shown`);
  };

  let frame = 0;
  const schedule = () => {
    if (frame === 0) {
      frame = requestAnimationFrame(() => {
        frame = 0;
        render();
      });
    }
  };
  render();
  const unsubscribe = store.subscribe(schedule);
  // Ages ("5 s ago") move on without any change.
  const timer = setInterval(schedule, 5000);
  return {
    element,
    dispose: () => {
      unsubscribe();
      clearInterval(timer);
      cancelAnimationFrame(frame);
    },
  };
}
