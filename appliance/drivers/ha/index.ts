// The ha subsystem (`ha_resource`, `ha_config`): a router pair sharing its
// addresses by VRRP (keepalived) with its connection state kept in sync
// (conntrackd). render.ts takes the decisions and explains them; driver.ts
// says how both daemons run under the daemon lifecycle of appliance/host/;
// state.ts reads keepalived's state changes from its notify FIFO. Here the
// state reaches what follows it: conntrackd is told at once (commit the
// synchronised connections on becoming master), and the shared VrrpState
// tells the routing subsystem and the API.
//
// Applied early (after the sysctls, before the interfaces and routes): a
// document turning HA off first stops keepalived, which takes its addresses
// and routes away as it stops, and only then do the interfaces and routes
// subsystems put the single router's back; one turning HA on starts
// keepalived, which removes the single router's addresses as it starts
// (as backup), before the interfaces subsystem learns to leave them alone.
import type { Applied, Subsystem } from '../../engine/subsystem.js';
import { DaemonLifecycle, supervisedDaemon, type DaemonControl } from '../../host/daemon-config.js';
import type { CommandRunner } from '../../host/exec.js';
import { VrrpState, type VrrpStatus } from '../../host/vrrp.js';
import type { DriverEnvironment } from '../index.js';
import { conntrackdCommands, conntrackdDefinition, haSettings, keepalivedDefinition, resyncRequest } from './driver.js';
import { haFirewall } from './firewall.js';
import { renderHa, type HaDesired, type HaPlan } from './render.js';
import { NotifyFifo, pairState, type InstanceState } from './state.js';

export interface HaOptions {
  /** The daemons; by default ones the supervisor runs. */
  readonly keepalived?: DaemonControl;
  readonly conntrackd?: DaemonControl;
  /** When a backup asks for the master's connections again; by default RESYNC_AGAIN_MS. */
  readonly resyncAgainMs?: readonly number[];
  /** Runs `send` after `delayMs`, returning its cancellation; by default a timer (tests drive it by hand). */
  readonly schedule?: (send: () => void, delayMs: number) => () => void;
}

export interface HaSubsystem extends Subsystem<HaDesired> {
  /** The member's VRRP state for GET /v1/status and /metrics; undefined on a single router. */
  status(): VrrpStatus | undefined;
}

const CONNTRACKD_TIMEOUT_MS = 30_000;
/**
 * A backup asks the master for its connections again this long after it
 * became backup: a member that has just come back may lose its first
 * requests (its management link has just come up, or the master is busy
 * taking over itself), and nothing resends them. All within the preemption
 * delay, so a member taking over again has the whole table.
 */
export const RESYNC_AGAIN_MS = [2000, 6000] as const;

export function createHaSubsystem(env: DriverEnvironment, options: HaOptions = {}): HaSubsystem {
  const logger = env.logger.child({ subsystem: 'ha' });
  const settings = haSettings(env.stateDir);
  const keepalivedSpec = keepalivedDefinition(env.stateDir);
  const conntrackdSpec = conntrackdDefinition(env.stateDir);
  const keepalived = options.keepalived ? new DaemonLifecycle(keepalivedSpec, options.keepalived) : supervisedDaemon(keepalivedSpec, env.daemons, logger);
  const conntrackd = options.conntrackd ? new DaemonLifecycle(conntrackdSpec, options.conntrackd) : supervisedDaemon(conntrackdSpec, env.daemons, logger);
  const keepalivedRuns = () => (options.keepalived ?? env.daemons.get('keepalived'))?.running ?? false;
  const vrrp = env.vrrp ?? new VrrpState();
  /** Each instance's last state keepalived reported. */
  const reported = new Map<string, InstanceState>();
  /** The plan keepalived runs now (undefined on a single router). */
  let live: HaPlan | undefined;
  /** The engine's command runner, as its last check or apply gave it. */
  let runner: CommandRunner | undefined;
  /** conntrackd's commands, one state change after the other. */
  let told: Promise<unknown> = Promise.resolve();
  let pendingResyncs: (() => void)[] = [];
  const schedule = options.schedule ?? ((send: () => void, delayMs: number) => {
    const timer = setTimeout(send, delayMs).unref();
    return () => { clearTimeout(timer); };
  });

  const fifo = new NotifyFifo(settings.fifo, ({ instance, state }) => {
    reported.set(instance, state);
    follow();
  });

  /** Publish the member's state; tell conntrackd when it changed. */
  function follow(): void {
    const plan = live;
    const before = vrrp.status?.state;
    const state = plan ? pairState(plan.instances.map((i) => i.name), reported) : undefined;
    vrrp.set(state, plan?.peer);
    if (state === before || !plan || plan.instances.length === 0) return;
    logger.info({ from: before ?? null, to: state ?? null }, 'VRRP state changed');
    cancelResyncs();
    if (state === 'MASTER' || state === 'BACKUP' || state === 'FAULT') tellConntrackd(conntrackdCommands(state, settings.conntrackdConf));
    if (state === 'BACKUP') pendingResyncs = (options.resyncAgainMs ?? RESYNC_AGAIN_MS).map((delay) => schedule(() => { tellConntrackd([resyncRequest(settings.conntrackdConf)]); }, delay));
  }

  function cancelResyncs(): void {
    for (const cancel of pendingResyncs) cancel();
    pendingResyncs = [];
  }

  function tellConntrackd(commandList: readonly (readonly string[])[]): void {
    const commands = runner;
    if (!commands) return;
    told = told.then(async () => {
      for (const argv of commandList) {
        // Not part of any apply: it must not wait for one, nor count in its report.
        const result = await commands.change(argv, { allowFailure: true, background: true, timeoutMs: CONNTRACKD_TIMEOUT_MS });
        if (result.exitCode !== 0) logger.warn({ command: argv.join(' '), error: (result.stderr || result.stdout).trim() }, 'conntrackd did not take a state change');
      }
    });
  }

  function use(plan: HaPlan | undefined): void {
    if (!plan) reported.clear();
    live = plan;
    follow();
  }

  return {
    name: 'ha',
    render: (model, host) => renderHa(model, host, settings),
    firewall: (_desired, model) => haFirewall(model.ha),
    check(desired, context) {
      runner = context.runner;
      return keepalived.check(desired.keepalived === undefined ? undefined : { 'keepalived.conf': desired.keepalived }, context.runner);
    },
    async apply(desired, context): Promise<Applied<never>> {
      runner = context.runner;
      const previous = live;
      // Read before keepalived starts, so that its first state is known.
      if (desired.keepalived !== undefined) await fifo.start(context.runner);
      // conntrackd first: keepalived's first MASTER commits through it.
      const synced = await conntrackd.apply(desired.conntrackd === undefined ? undefined : { 'conntrackd.conf': desired.conntrackd }, context);
      let vrrpApplied: Applied<never>;
      try {
        vrrpApplied = await keepalived.apply(desired.keepalived === undefined ? undefined : { 'keepalived.conf': desired.keepalived }, context);
      } catch (error) {
        await synced.undo?.().catch((undoError: unknown) => logger.error({ err: undoError }, 'restoring conntrackd failed'));
        throw error;
      }
      use(desired.plan);
      if (!synced.changed && !vrrpApplied.changed) return { changed: false };
      return {
        changed: true,
        // keepalived, reconfigured, may take or hand over the shared addresses, and the routes through them with them.
        unsettling: true,
        undo: async () => {
          await vrrpApplied.undo?.();
          await synced.undo?.();
          use(previous);
        },
        commit: async () => {
          await synced.commit?.();
          await vrrpApplied.commit?.();
        },
      };
    },
    stop: async () => {
      cancelResyncs();
      // keepalived first: as it stops it gives the addresses up and tells the peer to take them at once.
      await keepalived.stop();
      fifo.stop();
      await conntrackd.stop();
      await told;
    },
    status: () => {
      const status = vrrp.status;
      if (!status || !live || live.instances.length === 0 || keepalivedRuns()) return status;
      return { ...status, state: 'STOP' };
    },
  };
}
