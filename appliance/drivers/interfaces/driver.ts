// Makes the live interfaces match: per-interface sysctls (one `sysctl -w`
// when any differs), then every link and address change in one `ip -batch`,
// then connection-tracking entries of IPv4 addresses that went away.
import type { Logger } from 'pino';
import type { Applied } from '../../engine/subsystem.js';
import type { CommandRunner } from '../../host/exec.js';
import { CONCURRENCY, mapLimited } from '../../host/concurrency.js';
import { isRecreatable, readRoutes, replaceLine, routeIdentity, type LiveRoute } from '../../host/routes.js';
import { restoreSysctls, writeSysctls } from '../../host/sysctl.js';
import { runBatch, runForced, undoSteps } from '../../host/ip-batch.js';
import { interfaceSysctls, linksLeftBy, planInterfaces, type LiveLink } from './plan.js';
import type { InterfacesDesired } from './render.js';

/**
 * `previous`: what the last apply left, given when the host is verified to
 * still hold it. With the same interfaces and settings, the difference is
 * planned from it (one address added costs one line, not a read of every
 * address); the per-interface sysctls, the same as then, are not read again.
 */
export async function applyInterfaces(desired: InterfacesDesired, runner: CommandRunner, logger: Logger, previous?: InterfacesDesired): Promise<Applied<never>> {
  const leftBy = previous ? linksLeftBy(previous, desired) : undefined;
  const live = leftBy ?? (JSON.parse((await runner.read(['ip', '-j', 'addr', 'show'])).stdout) as LiveLink[]);
  const plan = planInterfaces(desired, live);

  // DAD settings first, so that addresses added below are not left tentative.
  const previousSysctls = leftBy ? {} : await writeSysctls(runner, interfaceSysctls(desired), logger);
  // Deleting addresses can make the kernel drop routes (all of an interface's
  // when its last IPv4 address goes); keep them to put back on undo.
  const routesBefore = plan.deletesAddresses ? await readRoutes(runner) : [];

  // What else undo puts back besides the batch's own steps.
  const restoreRest = async () => {
    await restoreSysctls(runner, previousSysctls);
    if (routesBefore.length > 0) await restoreRoutes(runner, routesBefore, logger);
  };
  try {
    await runBatch(runner, plan.steps, logger);
  } catch (error) {
    await restoreRest().catch((undoError: unknown) => logger.error({ err: undoError }, 'undo after a failed interface batch failed'));
    throw error;
  }
  if (plan.steps.length > 0) logger.info({ changes: plan.steps.map((s) => s.line) }, 'interfaces changed');
  await flushConntrack(runner, plan.removedV4, logger);

  const changed = plan.steps.length > 0 || Object.keys(previousSysctls).length > 0;
  const undo = async () => {
    await undoSteps(runner, plan.steps, logger);
    await restoreRest();
  };
  return changed ? { changed, undo, unsettling: plan.deletesAddresses || plan.changesLinks } : { changed };
}

/** Put back every route of the snapshot that is missing now (only those the kernel would not recreate itself). */
async function restoreRoutes(runner: CommandRunner, before: readonly LiveRoute[], logger: Logger): Promise<void> {
  const now = new Set((await readRoutes(runner)).map(routeIdentity));
  const missing = before.filter((r) => isRecreatable(r) && !now.has(routeIdentity(r)));
  const failed = await runForced(runner, missing.map(replaceLine));
  if (failed) logger.warn({ error: failed }, 'some routes could not be put back');
}

// Every way an address appears in a connection: as the original source or
// destination (traffic of the router itself, or to it, or to a floating IP
// before DNAT), as the reply source (traffic DNATed to it) or the reply
// destination (traffic SNATed to it).
const CONNTRACK_FILTERS = ['--orig-src', '--orig-dst', '--reply-src', '--reply-dst'] as const;

/**
 * Forget the connections of addresses the router no longer has, so NATed
 * flows re-evaluate instead of leaking out with a stale address. The filters
 * of one address run one after the other (one entry can match several);
 * addresses run side by side. A failure is logged, not fatal: a connection
 * table that cannot be flushed does not make the addresses wrong.
 */
async function flushConntrack(runner: CommandRunner, addresses: readonly string[], logger: Logger): Promise<void> {
  await mapLimited(addresses, CONCURRENCY, async (address) => {
    for (const filter of CONNTRACK_FILTERS) {
      const argv = ['conntrack', '-D', filter, address];
      const result = await runner.change(argv, { allowFailure: true });
      // conntrack exits 1 when it found nothing to delete.
      if (result.exitCode !== 0 && !/0 flow entries/.test(result.stderr)) {
        logger.warn({ command: argv.join(' '), error: result.stderr.trim() }, 'could not flush connection tracking entries');
      }
    }
  });
}

/** Processes started side by side at most: enough to hide their start-up cost on a small machine. */
