// The load-balancer subsystem (`services.loadbalancer`): one supervised
// nginx (driver.ts) serving what render.ts plans, the firewall opening only
// the listener ports on the VIP (firewall.ts), and the active health
// monitors (monitor.ts), whose verdicts reach nginx here: a member they hold
// down is re-rendered `down` and nginx reloaded, in the engine's queue so it
// never interleaves with an apply, and without touching the plan or the
// persisted document. The status of every listener and member (status.ts)
// and the traffic counters (counters.ts, firewall.ts) are read from here by
// the API.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Applied, Subsystem } from '../../engine/subsystem.js';
import { DaemonLifecycle, supervisedDaemon, type DaemonControl } from '../../host/daemon-config.js';
import type { CommandRunner } from '../../host/exec.js';
import type { DriverEnvironment } from '../index.js';
import { RequestCounter } from './counters.js';
import { nginxDefinition, nginxFiles, nginxSettings, workerUser } from './driver.js';
import { listenerConnections, loadBalancerFirewall } from './firewall.js';
import { MemberMonitors, type HealthChange, type MonitorTarget } from './monitor.js';
import { heldDown, renderLoadBalancer, type LoadBalancerDesired, type LoadBalancerPlan } from './render.js';
import { StatusBook, type LoadBalancerStatus } from './status.js';

/** What the subsystem needs of the active health monitors (monitor.ts's MemberMonitors). */
export interface HealthMonitors {
  update(targets: readonly MonitorTarget[]): void;
  snapshot(): ReadonlyMap<string, HealthChange>;
  stop(): void;
}

export interface LoadBalancerOptions {
  /** The health monitors, told of every change; by default the real probes. */
  readonly monitors?: (onChange: (change: HealthChange) => void) => HealthMonitors;
  /** The nginx process; by default one the supervisor runs. */
  readonly nginx?: DaemonControl;
  readonly now?: () => number;
}

export interface ListenerTraffic {
  readonly listener_id: string;
  readonly protocol_port: number;
  /** New connections its firewall rule accepted since the firewall last changed. */
  readonly connections: number;
  /** HTTP requests since the agent started (null for TCP and HTTPS listeners, which nginx passes as bytes). */
  readonly requests: number | null;
}

export interface LoadBalancerSubsystem extends Subsystem<LoadBalancerDesired> {
  /** Every listener's and member's operating status; undefined without a load balancer. */
  status(): LoadBalancerStatus | undefined;
  /** Connections and requests of every open listener. */
  traffic(runner: CommandRunner): Promise<ListenerTraffic[]>;
}

/** After a reload for a health change failed, the next try. */
const HEALTH_RETRY_MS = 5000;
/** How often the request logs are kept small, whether or not the metrics are read. */
const TRIM_EVERY_MS = 30_000;

export function createLoadBalancerSubsystem(env: DriverEnvironment, options: LoadBalancerOptions = {}): LoadBalancerSubsystem {
  const logger = env.logger.child({ subsystem: 'loadbalancer' });
  const settings = nginxSettings(env.stateDir, workerUser());
  const definition = nginxDefinition(env.stateDir);
  const nginx = options.nginx ? new DaemonLifecycle(definition, options.nginx) : supervisedDaemon(definition, env.daemons, logger);
  const now = options.now ?? Date.now;
  const exclusive = env.exclusive ?? ((task) => task());
  const requests = new RequestCounter(settings.requestLog);
  const book = new StatusBook();
  /** What nginx serves: the plan of the last apply that was persisted. */
  let committed: LoadBalancerDesired = { plan: undefined };
  /** The members held down in the live nginx.conf. */
  let down: ReadonlySet<string> = new Set();
  /** The engine's command runner, as its last check or apply gave it. */
  let runner: CommandRunner | undefined;
  let followQueued = false;
  /** Set once the agent stops: a health change then changes nothing. */
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let trimTimer: NodeJS.Timeout | undefined;

  const monitors = (options.monitors ?? ((onChange) => new MemberMonitors({ logger, onChange })))(() => {
    book.observe(committed.plan, monitors.snapshot(), now());
    queueFollow();
  });

  /** The members of `desired` held down now: a member no longer monitored is let go. */
  const heldFor = (desired: LoadBalancerDesired): ReadonlySet<string> => {
    const monitored = new Set(desired.plan?.targets.map((t) => t.key));
    return new Set([...down].filter((key) => monitored.has(key)));
  };

  function queueFollow(): void {
    if (followQueued) return;
    followQueued = true;
    exclusive(async () => {
      followQueued = false;
      await followHealth();
    }).catch((error: unknown) => logger.error({ err: error }, 'following the health monitors failed'));
  }

  /** Make the live nginx.conf hold down exactly the members the monitors say are down. */
  async function followHealth(): Promise<void> {
    clearTimeout(retryTimer);
    const plan = committed.plan;
    if (!plan || !runner || stopped) return;
    const wanted = heldDown(plan, monitors.snapshot());
    if (sameMembers(wanted, down)) return;
    const files = nginxFiles(committed, wanted, settings);
    const started = performance.now();
    try {
      await nginx.check(files, runner);
      const applied = await nginx.apply(files, { runner, logger });
      await applied.commit?.();
      down = wanted;
      logger.info({ held_down: [...wanted], duration_ms: Math.round(performance.now() - started) }, 'nginx follows the health monitors');
    } catch (error) {
      logger.error({ err: error, retry_in_ms: HEALTH_RETRY_MS }, 'nginx could not take a member health change; it keeps its configuration');
      retryTimer = setTimeout(queueFollow, HEALTH_RETRY_MS).unref();
    }
  }

  function commit(desired: LoadBalancerDesired, held: ReadonlySet<string>): void {
    committed = desired;
    down = held;
    monitors.update(desired.plan?.targets ?? []);
    book.observe(desired.plan, monitors.snapshot(), now());
    dropRequestLogs(httpPorts(desired.plan));
    if (desired.plan && !trimTimer) trimTimer = setInterval(() => requests.count(httpPorts(committed.plan)), TRIM_EVERY_MS).unref();
    if (!desired.plan) {
      clearInterval(trimTimer);
      trimTimer = undefined;
    }
    // A member whose reload failed before this apply is still to be followed.
    if (desired.plan && !sameMembers(heldDown(desired.plan, monitors.snapshot()), held)) queueFollow();
  }

  /** Remove the request logs of HTTP listeners that are gone (the listeners of `ports` keep theirs). */
  function dropRequestLogs(ports: readonly number[]): void {
    for (const name of listNames(settings.dir)) {
      const port = /^requests-(\d+)\.log$/.exec(name)?.[1];
      if (port !== undefined && !ports.includes(Number(port))) rmSync(join(settings.dir, name), { force: true });
    }
  }

  return {
    name: 'loadbalancer',
    render: (model) => renderLoadBalancer(model),
    firewall: (desired, model, host) => loadBalancerFirewall(desired.plan, model, host),
    check(desired, context) {
      runner = context.runner;
      return nginx.check(nginxFiles(desired, heldFor(desired), settings), context.runner);
    },
    async apply(desired, context): Promise<Applied<never>> {
      runner = context.runner;
      const held = heldFor(desired);
      const applied = await nginx.apply(nginxFiles(desired, held, settings), context);
      return {
        ...applied,
        commit: async () => {
          await applied.commit?.();
          commit(desired, held);
        },
      };
    },
    stop: async () => {
      stopped = true;
      monitors.stop();
      clearTimeout(retryTimer);
      clearInterval(trimTimer);
      await nginx.stop();
    },
    status: () => book.document,
    async traffic(commands) {
      const plan = committed.plan;
      if (!plan) return [];
      const open = plan.listeners.filter((l) => l.enabled);
      const save = await commands.read([plan.loadBalancer.vip.family === 4 ? 'iptables-save' : 'ip6tables-save', '-c', '-t', 'filter'], { allowFailure: true });
      const connections = listenerConnections(save.stdout);
      const counted = requests.count(httpPorts(plan));
      return open.map((l) => ({
        listener_id: l.listener.id,
        protocol_port: l.listener.port,
        connections: connections.get(l.listener.port) ?? 0,
        requests: l.context === 'http' ? (counted.get(l.listener.port) ?? 0) : null,
      }));
    },
  };
}

function sameMembers(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((key) => b.has(key));
}

function httpPorts(plan: LoadBalancerPlan | undefined): number[] {
  return (plan?.listeners ?? []).filter((l) => l.enabled && l.context === 'http').map((l) => l.listener.port);
}

function listNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
