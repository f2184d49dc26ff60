// One resource: what the orchestrator knows (state, push, error, debug), the
// actions, its recent transitions, what its appliances say of themselves,
// its traffic over the last hour and the last document pushed (secrets
// redacted by the API). Re-read whenever the live feed says it changed.
import { command, getJson, Unauthorized, type ApplianceStatus, type Resource, type ResourceDetail, type Traffic, type Verb } from './api.js';
import { trafficChart } from './chart.js';
import { age, h, replace, type Child } from './dom.js';
import { severity } from './fleet.js';
import type { Store } from './store.js';

const REFRESH_MS = 10_000;

function field(label: string, key: string, ...value: Child[]): HTMLElement[] {
  return [h('dt', {}, label), h('dd', { data: { field: key } }, ...value)];
}

/** A value an agent reported, as indented JSON text. */
function json(value: unknown): HTMLElement {
  return h('pre', { class: 'json' }, JSON.stringify(value, null, 2));
}

function summary(resource: Resource, name: string | null | undefined): HTMLElement {
  const push = resource.last_push;
  return h(
    'dl',
    { class: 'summary' },
    ...field('Name', 'name', name ?? ''),
    ...field('Driver', 'driver', resource.driver),
    ...field('Tenant', 'tenant', resource.tenant_id),
    ...field('State', 'state', resource.state),
    ...field('Appliance', 'instance_state', h('span', { class: `pill sev-${severity(resource)}` }, resource.instance_state)),
    ...(typeof resource.owner === 'string' ? field('Owner', 'owner', resource.owner) : []),
    ...field('Shard', 'shard', resource.shard),
    ...field('Boot attempts', 'boot_attempts', resource.boot_attempts),
    ...field('HA', 'ha', resource.ha.pair ? 'pair' : 'single', resource.ha.requested !== resource.ha.pair ? ` (${resource.ha.requested ? 'pair' : 'single'} after a rebuild)` : ''),
    ...field(
      'Last push',
      'last_push',
      push ? h('span', { class: push.ok ? 'ok' : 'bad' }, `${push.ok ? 'ok' : 'failed'} ${age(push.at)} (${push.at}), ${push.duration_ms} ms${push.generation === null ? '' : `, generation ${push.generation}`}${push.error ? `: ${push.error}` : ''}`) : 'never',
    ),
    ...field('Last error', 'last_error', resource.last_error ? h('span', { class: 'bad' }, `${resource.last_error.message} (${age(resource.last_error.at)})`) : 'none'),
    ...field(
      'Debug',
      'debug',
      resource.debug.enabled ? h('span', { class: 'pill debug' }, `debug (${resource.debug.scope ?? ''})${resource.debug.reason ? `: ${resource.debug.reason}` : ''}`) : 'managed',
    ),
  );
}

function appliances(resource: Resource): HTMLElement {
  return h(
    'table',
    { class: 'appliances' },
    h('thead', {}, h('tr', {}, ...['Appliance', 'Status', 'Health', 'Address', 'Booted', 'VRRP', 'Agent pid'].map((c) => h('th', {}, c)))),
    h(
      'tbody',
      {},
      ...resource.appliances.map((a) =>
        h(
          'tr',
          { data: { appliance: a.name } },
          h('td', {}, a.name),
          h('td', {}, a.status),
          h('td', { data: { field: 'health' } }, a.health),
          h('td', {}, a.management_address ?? ''),
          h('td', { title: a.booted_at }, age(a.booted_at)),
          h('td', {}, a.ha ? `${a.ha.state}${a.ha.since ? ` since ${age(a.ha.since)}` : ''}` : ''),
          h('td', { data: { field: 'agent_pid' } }, typeof a.details.agent_pid === 'number' ? a.details.agent_pid : ''),
        ),
      ),
    ),
  );
}

function timeline(detail: ResourceDetail): HTMLElement {
  const items = [...detail.transitions].reverse();
  if (items.length === 0) return h('p', { class: 'muted' }, 'No transitions yet.');
  return h(
    'ol',
    { class: 'timeline', data: { role: 'timeline' } },
    ...items.map((t) => h('li', {}, h('time', { title: t.at }, new Date(t.at).toLocaleTimeString()), ` ${t.from} → ${t.to}`, h('span', { class: 'muted' }, ` ${t.action} · ${t.instance_state}`))),
  );
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

const text = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : '');
const records = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.filter(isRecord) : []);

function table(columns: readonly string[], rows: readonly (readonly string[])[], role: string): HTMLElement {
  return h(
    'table',
    { class: 'small', data: { role } },
    h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', {}, c)))),
    h('tbody', {}, ...rows.map((cells) => h('tr', {}, ...cells.map((c) => h('td', {}, c))))),
  );
}

/** Each daemon the agent supervises: running or not, restarts, why it is down. */
function daemons(value: unknown): HTMLElement | null {
  const list = records(value);
  if (list.length === 0) return null;
  return table(
    ['Daemon', 'Running', 'Pid', 'Restarts', 'Last error'],
    list.map((d) => [text(d.name), d.running === true ? 'yes' : 'no', text(d.pid), text(d.restarts), text(d.last_error)]),
    'daemons',
  );
}

/** Listeners and their members, with the operating status the agent gives each and why. */
function loadBalancer(value: unknown): HTMLElement | null {
  if (!isRecord(value)) return null;
  const rows: string[][] = [[`load balancer ${text(value.name)}`, text(value.vip_address), text(value.operating_status), text(value.reason)]];
  for (const listener of records(value.listeners)) {
    rows.push([`listener ${text(listener.name)}`, `${text(listener.protocol)} :${text(listener.protocol_port)}`, text(listener.operating_status), text(listener.reason)]);
    for (const member of records(listener.members)) rows.push([`  member (weight ${text(member.weight)})`, `${text(member.address)}:${text(member.protocol_port)}`, text(member.operating_status), text(member.reason)]);
  }
  return table(['', 'Address', 'Status', 'Why'], rows, 'loadbalancer');
}

/** Each IPsec connection: IKE and child SA states, traffic, why it is down. */
function vpn(value: unknown): HTMLElement | null {
  if (!isRecord(value)) return null;
  return table(
    ['Connection', 'Peer', 'IKE', 'Child SA', 'Bytes in / out', 'Why not up'],
    records(value.connections).map((c) => [text(c.name) || text(c.id), text(c.peer), text(c.ike_state), text(c.child_state), `${text(c.bytes_in)} / ${text(c.bytes_out)}`, text(c.reason)]),
    'vpn',
  );
}

const reachable = (value: unknown): string => (value === true ? 'reachable' : value === false ? 'not reachable' : '');

/** The agent's status: the facts an operator looks for first, then all of it. */
function applianceStatus(statuses: readonly ApplianceStatus[]): HTMLElement {
  return h(
    'div',
    { class: 'agent-status' },
    ...statuses.map((s) => {
      const status = isRecord(s.status) ? s.status : undefined;
      const ha = status && isRecord(status.ha) ? status.ha : undefined;
      return h(
        'article',
        { data: { agent: s.name } },
        h('h4', {}, s.name),
        s.error ? h('p', { class: 'bad' }, s.error) : null,
        status
          ? h(
              'dl',
              { class: 'summary' },
              ...field('Generation', 'generation', typeof status.generation === 'number' ? status.generation : ''),
              ...field('Uptime', 'uptime', typeof status.uptime_s === 'number' ? `${status.uptime_s} s` : ''),
              ...field('Degraded', 'degraded', status.degraded ? JSON.stringify(status.degraded) : 'no'),
              ...field('IPv4 gateway', 'gateway_v4', reachable(status.v4)),
              ...field('IPv6 gateway', 'gateway_v6', reachable(status.v6)),
              ...field('HA', 'agent_ha', ha ? `${text(ha.state)}${ha.since ? ` since ${age(text(ha.since))}` : ''}${ha.peer ? `, peer ${text(ha.peer)}` : ''}` : 'single'),
            )
          : null,
        status ? daemons(status.daemons) : null,
        s.loadbalancer ? h('div', {}, h('h5', {}, 'Load balancer'), loadBalancer(s.loadbalancer)) : null,
        s.vpn ? h('div', {}, h('h5', {}, 'VPN'), vpn(s.vpn)) : null,
        status ? h('details', {}, h('summary', {}, 'Everything the agent reports'), json(status)) : null,
        s.loadbalancer ? h('details', {}, h('summary', {}, 'The load balancer status as reported'), json(s.loadbalancer)) : null,
        s.vpn ? h('details', {}, h('summary', {}, 'The VPN status as reported'), json(s.vpn)) : null,
      );
    }),
  );
}

export function resourceView(store: Store, id: string, onUnauthorized: () => void): { element: HTMLElement; dispose: () => void } {
  const message = h('p', { class: 'message', data: { role: 'message' } });
  const head = h('div', { class: 'resource-head' });
  const status = h('div', { class: 'status-section' });
  const charts = h('div', { class: 'charts' });
  const agents = h('div', {}, h('p', { class: 'muted' }, 'Asking the appliances…'));
  const document = h('div');
  const transitions = h('div');
  const reason = h('input', { type: 'text', placeholder: 'reason (for debug)', data: { role: 'reason' } });

  const act = async (verb: Verb) => {
    replace(message, `${verb}…`);
    try {
      await command(verb, id, verb === 'debug' ? reason.value.trim() || undefined : undefined);
      replace(message, h('span', { class: 'ok' }, `${verb}: accepted`));
      void refresh();
    } catch (error) {
      if (error instanceof Unauthorized) onUnauthorized();
      replace(message, h('span', { class: 'bad' }, `${verb}: ${(error as Error).message}`));
    }
  };
  const button = (verb: Verb, label: string, title: string) => h('button', { class: `action ${verb}`, title, data: { action: verb }, onclick: () => void act(verb) }, label);
  const actions = h(
    'div',
    { class: 'actions' },
    button('rebuild', 'Rebuild', 'Stop the appliance and boot a new one'),
    button('update', 'Update', 'Build the document again and push it if it changed'),
    reason,
    button('debug', 'Debug', 'Leave it alone until "manage" (with the reason given)'),
    button('manage', 'Manage', 'Take it out of debug mode'),
  );
  const element = h(
    'section',
    { class: 'resource', data: { view: 'resource', id } },
    h('p', {}, h('a', { href: '#/' }, '← Fleet')),
    head,
    actions,
    message,
    h('div', { class: 'columns' }, h('div', {}, h('h3', {}, 'Orchestrator'), status), h('div', {}, h('h3', {}, 'Recent transitions'), transitions)),
    h('h3', {}, 'Traffic, last hour'),
    charts,
    h('h3', {}, 'The appliances say'),
    agents,
    h('h3', {}, 'Last pushed document'),
    document,
  );

  let disposed = false;
  const refresh = async () => {
    let detail: ResourceDetail;
    try {
      detail = await getJson<{ resource: ResourceDetail }>(`/v1/resources/${encodeURIComponent(id)}`).then((b) => b.resource);
    } catch (error) {
      if (error instanceof Unauthorized) onUnauthorized();
      replace(head, h('h2', {}, id), h('p', { class: 'bad' }, (error as Error).message));
      return;
    }
    if (disposed) return;
    const name = store.resources.get(id)?.name;
    replace(head, h('h2', { data: { role: 'title' } }, name || id), name ? h('p', { class: 'muted' }, id) : null);
    replace(status, summary(detail, name), appliances(detail));
    replace(transitions, timeline(detail));
    replace(document, detail.last_document === null ? h('p', { class: 'muted' }, 'Nothing pushed since the orchestrator started.') : json(detail.last_document));
  };
  const refreshAgents = async () => {
    try {
      const { appliances: statuses } = await getJson<{ appliances: ApplianceStatus[] }>(`/v1/resources/${encodeURIComponent(id)}/appliance`);
      if (!disposed) replace(agents, statuses.length === 0 ? h('p', { class: 'muted' }, 'No appliance.') : applianceStatus(statuses));
    } catch (error) {
      if (!disposed) replace(agents, h('p', { class: 'bad' }, (error as Error).message));
    }
  };
  const refreshTraffic = async () => {
    try {
      const { traffic } = await getJson<{ traffic: Traffic }>(`/v1/resources/${encodeURIComponent(id)}/traffic`);
      if (disposed) return;
      const width = Math.max(320, Math.min(900, charts.clientWidth || 640));
      replace(charts, trafficChart('Interfaces', traffic.at, traffic.interfaces, width), trafficChart('Floating IPs', traffic.at, traffic.floating_ips, width));
    } catch (error) {
      if (!disposed) replace(charts, h('p', { class: 'bad' }, (error as Error).message));
    }
  };

  void refresh();
  void refreshAgents();
  void refreshTraffic();
  let pending: number | undefined;
  const unsubscribe = store.subscribe((changed) => {
    if (changed !== 'all' && !changed.has(id)) return;
    // Several changes in a row make one read.
    pending ??= window.setTimeout(() => {
      pending = undefined;
      void refresh();
      void refreshAgents();
    }, 150);
  });
  // What the agents say and their counters move without the orchestrator's view changing.
  const timer = setInterval(() => {
    void refreshTraffic();
    void refreshAgents();
  }, REFRESH_MS);
  return {
    element,
    dispose: () => {
      disposed = true;
      unsubscribe();
      clearInterval(timer);
      if (pending !== undefined) clearTimeout(pending);
    },
  };
}
