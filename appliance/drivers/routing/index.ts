// The routing subsystem (spec section 6, "Routing"): BGP towards the external
// gateway and router advertisements on tenant networks, by one supervised
// BIRD 2. Decisions are explained in render.ts (with bird.conf.hbs beside
// it); how BIRD runs is its definition in driver.ts, and the daemon
// lifecycle of appliance/host/ does the rest. On an HA pair member BIRD
// follows the VRRP state (router advertisements from the master only): a
// change of state reloads it with the other file of the last applied
// document, in the engine's queue so it never interleaves with an apply.
import type { Applied, Subsystem } from '../../engine/subsystem.js';
import { supervisedDaemon } from '../../host/daemon-config.js';
import type { CommandRunner } from '../../host/exec.js';
import type { DriverEnvironment } from '../index.js';
import { birdDefinition } from './driver.js';
import { routingFirewall } from './firewall.js';
import { renderRouting, type RoutingDesired } from './render.js';

/** After a reload for a VRRP state change failed, the next try. */
const FOLLOW_RETRY_MS = 5000;

export function createRoutingSubsystem(env: DriverEnvironment): Subsystem<RoutingDesired> {
  const logger = env.logger.child({ subsystem: 'routing' });
  const bird = supervisedDaemon(birdDefinition(env.stateDir), env.daemons, logger);
  const exclusive = env.exclusive ?? ((task) => task());
  /** What BIRD serves: the desired state of the last apply that was persisted. */
  let committed: RoutingDesired | undefined;
  /** The engine's command runner, as its last check or apply gave it. */
  let runner: CommandRunner | undefined;
  let followQueued = false;
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;

  const fileOf = (desired: RoutingDesired) => ({ 'bird.conf': desired.backupConfig !== undefined && !env.vrrp?.master ? desired.backupConfig : desired.config });

  function queueFollow(): void {
    if (followQueued || stopped) return;
    followQueued = true;
    exclusive(async () => {
      followQueued = false;
      await followVrrp();
    }).catch((error: unknown) => logger.error({ err: error }, 'following the VRRP state failed'));
  }

  /** Make the live bird.conf the one the VRRP state asks for. */
  async function followVrrp(): Promise<void> {
    clearTimeout(retryTimer);
    if (!committed?.backupConfig || !runner || stopped) return;
    const files = fileOf(committed);
    try {
      await bird.check(files, runner);
      const applied = await bird.apply(files, { runner, logger });
      await applied.commit?.();
      if (applied.changed) logger.info({ advertising: env.vrrp?.master ?? false }, 'BIRD follows the VRRP state');
    } catch (error) {
      logger.error({ err: error, retry_in_ms: FOLLOW_RETRY_MS }, 'BIRD could not take a VRRP state change; it keeps its configuration');
      retryTimer = setTimeout(queueFollow, FOLLOW_RETRY_MS).unref();
    }
  }

  env.vrrp?.onChange(queueFollow);

  return {
    name: 'routing',
    render: renderRouting,
    firewall: (desired, model, host) => routingFirewall(desired.plan, model, host),
    check(desired, context) {
      runner = context.runner;
      return bird.check(fileOf(desired), context.runner);
    },
    async apply(desired, context): Promise<Applied<never>> {
      runner = context.runner;
      const applied = await bird.apply(fileOf(desired), context);
      return {
        ...applied,
        commit: async () => {
          await applied.commit?.();
          committed = desired;
          // A state change during the apply may have been followed with the previous document.
          if (desired.backupConfig !== undefined) queueFollow();
        },
      };
    },
    stop: async () => {
      stopped = true;
      clearTimeout(retryTimer);
      await bird.stop();
    },
  };
}
