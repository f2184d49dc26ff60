// What nginx must serve for the document's load balancer, in two pure steps:
// `planLoadBalancer` takes every decision from the model alone (desired =
// f(model)), `nginxConfig` writes a plan as nginx.conf text through the
// handlebars template beside this file, given the members the health
// monitors hold down (text = g(desired, down)): a health change re-renders
// the same plan, it never changes the plan or the persisted document.
// Decisions, and why:
//
// - nginx runs whenever the document has a load balancer, even one that is
//   disabled or has no listener: taking a listener (or everything) out is
//   then a reload, which lets established connections finish, never a stop.
// - HTTP listeners are proxied request by request in the `http` context; TCP
//   listeners and HTTPS ones (passed through, TLS ends at the members) as
//   bytes in the `stream` context, whose module is loaded only when a
//   stream listener exists (nginx loads it on a reload, too).
// - ROUND_ROBIN is nginx's default (smooth weighted); LEAST_CONNECTIONS is
//   `least_conn` (weighted); SOURCE_IP, and SOURCE_IP session persistence
//   whatever the algorithm, is `hash $remote_addr consistent`: a client keeps
//   its member, and a member leaving moves only its own clients.
// - A member that must take no new connection (admin_state_up false on it,
//   weight 0, or held down by its health monitor) stays in its upstream as
//   `down`: nginx sends it nothing new, what it serves finishes, and the
//   hashing of the others is kept. nginx has no weight 0.
// - A listener whose pool cannot take any new connection (no pool, a
//   disabled pool, every member down) keeps its port: HTTP answers 503,
//   stream closes each new connection at once. nginx refuses an upstream
//   whose servers are all down at request time with a 502 and an error line
//   per request; an explicit answer says what is going on.
// - A disabled listener, or every listener of a disabled load balancer, has
//   no server block: its port is closed (and the firewall drops it).
// - Every listener listens on the VIP only (IPv6 in brackets); upstream
//   names are the listener's position (`pool_0`): no name or id from the
//   document reaches the file, only addresses, ports and weights the
//   contract parsed as such.
// - One worker: the appliance has one or two vCPUs and the members are the
//   bottleneck; with one worker `least_conn` and the hash see every
//   connection without a shared memory zone.
import type { ConfigModel, ListenerModel, LoadBalancerModel, ParsedAddress, PoolModel } from '../../../contract/index.js';
import { compileTemplate } from '../../host/template.js';
import type { MonitorTarget } from './monitor.js';
import { nginxConfTemplate } from './nginx.conf.hbs.js';

export type Balance = 'round-robin' | 'least-connections' | 'source-ip';

/** Why a member takes no new connection whatever its health; undefined when it is in rotation. */
export type MemberOut = 'disabled' | 'drained';

export interface MemberPlan {
  /** `poolId/memberId` (`poolId/@N` for a member without id): its health monitor's key. */
  readonly key: string;
  readonly id: string;
  readonly address: ParsedAddress;
  readonly port: number;
  /** As the document gives it (0 drains). */
  readonly weight: number;
  readonly out: MemberOut | undefined;
}

export interface ListenerPlan {
  /** The listener's position in the document: its upstream's name. */
  readonly index: number;
  readonly listener: ListenerModel;
  /** `http` for HTTP listeners, `stream` for TCP and HTTPS (passed through). */
  readonly context: 'http' | 'stream';
  /** Listener and load balancer both enabled: nginx listens. */
  readonly enabled: boolean;
  /** The listener's default pool (a disabled pool's members are all out). */
  readonly pool: PoolModel | undefined;
  readonly balance: Balance;
  readonly members: readonly MemberPlan[];
}

export interface LoadBalancerPlan {
  readonly loadBalancer: LoadBalancerModel;
  readonly listeners: readonly ListenerPlan[];
  /** Every member the active monitors probe: enabled members of enabled pools of enabled listeners, with an enabled monitor. */
  readonly targets: readonly MonitorTarget[];
}

export interface LoadBalancerDesired {
  /** Undefined when the document has no load balancer: then no nginx runs. */
  readonly plan: LoadBalancerPlan | undefined;
}

/** What the host fixes for every nginx.conf the agent writes. */
export interface NginxSettings {
  /** nginx's folder under the state directory. */
  readonly dir: string;
  /** The `user` directive's value: who the workers run as. */
  readonly user: string;
  readonly pidFile: string;
  /** Where nginx may keep temporary files (it needs them declared even when buffering is off). */
  readonly tempDir: string;
  readonly streamModule: string;
  /** The file whose size counts the requests of the HTTP listener on `port` (one byte per request). */
  readonly requestLog: (port: number) => string;
}

export function renderLoadBalancer(model: ConfigModel): LoadBalancerDesired {
  return { plan: model.loadBalancer && planLoadBalancer(model.loadBalancer) };
}

export function planLoadBalancer(lb: LoadBalancerModel): LoadBalancerPlan {
  const targets: MonitorTarget[] = [];
  const listeners = lb.listeners.map((listener, index): ListenerPlan => {
    const enabled = lb.enabled && listener.enabled;
    const pool = listener.pool;
    const members = (pool?.members ?? []).map((member, i): MemberPlan => ({
      key: `${pool!.id}/${member.id || `@${i}`}`,
      id: member.id,
      address: member.address,
      port: member.port,
      weight: member.weight,
      out: !member.enabled || !pool!.enabled ? 'disabled' : member.weight === 0 ? 'drained' : undefined,
    }));
    const monitor = pool?.healthMonitor;
    if (enabled && monitor?.enabled) {
      for (const member of members) if (member.out !== 'disabled') targets.push({ key: member.key, address: member.address, port: member.port, monitor });
    }
    return { index, listener, context: listener.protocol === 'HTTP' ? 'http' : 'stream', enabled, pool, balance: balanceOf(pool), members };
  });
  return { loadBalancer: lb, listeners, targets };
}

function balanceOf(pool: PoolModel | undefined): Balance {
  if (pool?.sessionPersistence?.type === 'SOURCE_IP' || pool?.algorithm === 'SOURCE_IP') return 'source-ip';
  return pool?.algorithm === 'LEAST_CONNECTIONS' ? 'least-connections' : 'round-robin';
}

/** Whether nginx may send `member` new connections, given the members the monitors hold down. */
export function inRotation(member: MemberPlan, down: ReadonlySet<string>): boolean {
  return member.out === undefined && !down.has(member.key);
}

/** The members of `plan` its health monitors hold down (OFFLINE or ERROR), by key. */
export function heldDown(plan: LoadBalancerPlan, health: ReadonlyMap<string, { readonly status: string }>): Set<string> {
  return new Set(plan.targets.filter((t) => (health.get(t.key)?.status ?? 'ONLINE') !== 'ONLINE').map((t) => t.key));
}

interface ServerValues {
  readonly listen: string;
  /** Null when no member can take a new connection: the listener refuses instead. */
  readonly upstream: UpstreamValues | null;
  readonly requestLog: string;
}

interface UpstreamValues {
  readonly name: string;
  readonly leastConnections: boolean;
  readonly sourceIp: boolean;
  readonly servers: readonly { readonly endpoint: string; readonly weight: number; readonly down: boolean }[];
}

interface NginxValues {
  readonly streamModule: string | null;
  readonly user: string;
  readonly pidFile: string;
  readonly tempDir: string;
  readonly http: readonly ServerValues[];
  readonly stream: readonly ServerValues[];
}

const nginxConfFile = compileTemplate<NginxValues>(nginxConfTemplate);

/** The complete nginx.conf for `plan` with the members in `down` held out by their health monitors. */
export function nginxConfig(plan: LoadBalancerPlan, down: ReadonlySet<string>, settings: NginxSettings): string {
  const vip = plan.loadBalancer.vip;
  const servers = (context: ListenerPlan['context']): ServerValues[] =>
    plan.listeners
      .filter((l) => l.enabled && l.context === context)
      .map((l) => ({ listen: endpoint(vip, l.listener.port), upstream: upstreamValues(l, down), requestLog: settings.requestLog(l.listener.port) }));
  const stream = servers('stream');
  return nginxConfFile({
    streamModule: stream.length > 0 ? settings.streamModule : null,
    user: settings.user,
    pidFile: settings.pidFile,
    tempDir: settings.tempDir,
    http: servers('http'),
    stream,
  });
}

function upstreamValues(listener: ListenerPlan, down: ReadonlySet<string>): UpstreamValues | null {
  if (!listener.members.some((m) => inRotation(m, down))) return null;
  return {
    name: `pool_${listener.index}`,
    leastConnections: listener.balance === 'least-connections',
    sourceIp: listener.balance === 'source-ip',
    // nginx takes weights of 1 and more; a drained member is `down` anyway.
    servers: listener.members.map((m) => ({ endpoint: endpoint(m.address, m.port), weight: Math.max(m.weight, 1), down: !inRotation(m, down) })),
  };
}

/** `address:port` as nginx reads it: an IPv6 address in brackets. */
export function endpoint(address: ParsedAddress, port: number): string {
  return address.family === 6 ? `[${address.text}]:${port}` : `${address.text}:${port}`;
}
