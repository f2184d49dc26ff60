// The VPN subsystem (issue 13): the router's IPsec site connections by one
// supervised strongSwan charon (driver.ts) loaded with what render.ts plans,
// the firewall opening IKE and ESP on the external interface only while a
// VPN is configured (firewall.ts), and the status of every connection read
// back from charon (status.ts) for the API.
import { readFile } from 'node:fs/promises';
import type { Applied, Subsystem } from '../../engine/subsystem.js';
import { supervisedDaemon } from '../../host/daemon-config.js';
import type { CommandRunner } from '../../host/exec.js';
import type { DriverEnvironment } from '../index.js';
import { detectDataPath, loadAll, strongswanConf, strongswanDefinition, strongswanPaths, swanctl, type DataPath } from './driver.js';
import { vpnFirewall } from './firewall.js';
import { renderVpn, type VpnDesired } from './render.js';
import { connectionStatuses, parseListSas, type VpnStatus } from './status.js';

export type { VpnDesired } from './render.js';

/** The last bytes of charon's log read for the reasons a connection is down. */
const LOG_TAIL_BYTES = 256 * 1024;

export interface VpnSubsystem extends Subsystem<VpnDesired> {
  /** Every configured connection's SAs and counters; undefined without a VPN. */
  status(runner: CommandRunner): Promise<VpnStatus | undefined>;
}

export function createVpnSubsystem(env: DriverEnvironment): VpnSubsystem {
  const logger = env.logger.child({ subsystem: 'vpn' });
  const paths = strongswanPaths(env.stateDir);
  const definition = strongswanDefinition(env.stateDir);
  const charon = supervisedDaemon(definition, env.daemons, logger);
  let dataPath: DataPath | undefined;
  /** What charon was last given (the plan of the last apply). */
  let current: VpnDesired | undefined;

  /**
   * After a load: ends the SAs of connections charon holds but the plan no longer has (unloading a connection
   * leaves them up), and initiates the initiating connections charon already had that hold no IKE SA: loading
   * a connection whose only change is its secret (a fixed PSK) does not run its start action again.
   */
  const settle = async (desired: VpnDesired, previous: VpnDesired | undefined, runner: CommandRunner) => {
    const listed = await runner.read(swanctl(paths, '--list-sas', '--raw'), { allowFailure: true });
    if (listed.exitCode !== 0) return;
    const held = new Set(parseListSas(listed.stdout).map((sa) => sa.name));
    const wanted = new Set(desired.connections.map((c) => c.name));
    for (const name of held) {
      if (!wanted.has(name)) await runner.change(swanctl(paths, '--terminate', '--ike', name, '--force', '--timeout', '5'), { allowFailure: true });
    }
    const loadedBefore = new Set(previous?.connections.map((c) => c.name));
    for (const c of desired.connections) {
      // --timeout detaches: charon goes on initiating while the peer is away.
      if (c.startAction === 'start' && loadedBefore.has(c.name) && !held.has(c.name)) await runner.change(swanctl(paths, '--initiate', '--child', c.name, '--timeout', '1'), { allowFailure: true });
    }
  };

  return {
    name: 'vpn',
    render: (model) => renderVpn(model),
    firewall: (desired) => vpnFirewall(desired),
    async apply(desired, context): Promise<Applied<never>> {
      if (desired.swanctl === undefined) {
        // The daemon lifecycle's apply (no files: stop), not Function.prototype.apply.
        // eslint-disable-next-line prefer-spread
        const stopped = await charon.apply(undefined, context);
        if (stopped.changed) current = desired;
        return stopped;
      }
      dataPath ??= await detectDataPath(context.runner);
      if (current === undefined) logger.info({ dataPath }, 'IPsec data path');
      const files = { 'strongswan.conf': strongswanConf(paths, dataPath, desired.dpdTimeout), 'swanctl.conf': desired.swanctl };
      const previous = current;
      const applied = await charon.apply(files, context);
      if (!applied.changed) return applied;
      try {
        // A started charon has no connection yet; a reloaded one has them already (loading twice changes nothing).
        const loaded = await context.runner.change(loadAll(paths), { allowFailure: true });
        if (loaded.exitCode !== 0) throw new Error(`swanctl --load-all failed: ${(loaded.stderr || loaded.stdout).trim().split('\n').slice(-3).join('; ')}`);
        // A new strongswan.conf restarted charon: it ran every start action on loading.
        const restarted = previous?.swanctl === undefined || strongswanConf(paths, dataPath, previous.dpdTimeout) !== files['strongswan.conf'];
        await settle(desired, restarted ? undefined : previous, context.runner);
      } catch (error) {
        await applied.undo?.();
        throw error;
      }
      current = desired;
      return {
        changed: true,
        undo: async () => {
          await applied.undo?.();
          current = previous;
          if (previous?.swanctl !== undefined) await context.runner.change(loadAll(paths), { allowFailure: true });
        },
        ...(applied.commit ? { commit: applied.commit } : {}),
      };
    },
    stop: () => charon.stop(),
    async status(runner) {
      if (current === undefined || !current.configured) return undefined;
      if (current.connections.length === 0) return { data_path: dataPath ?? null, connections: [] };
      const listed = await runner.read(swanctl(paths, '--list-sas', '--raw'), { allowFailure: true });
      const log = await tail(definition.folder.log);
      return { data_path: dataPath ?? null, connections: connectionStatuses(current.connections, listed.exitCode === 0 ? listed.stdout : '', log, Date.now()) };
    },
  };
}

async function tail(path: string): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.length > LOG_TAIL_BYTES ? text.slice(-LOG_TAIL_BYTES) : text;
  } catch {
    return '';
  }
}
