// The hostname subsystem: the host's name from the document. The current name
// is read from /proc (no command), so an unchanged name costs nothing; the
// agent's UTS namespace is the one changed (the whole host on a VM, the
// agent's own namespace in the test harness).
import type { Subsystem } from '../../engine/subsystem.js';
import type { CommandRunner } from '../../host/exec.js';
import type { DriverEnvironment } from '../index.js';
import { readSysctl } from '../../host/sysctl.js';
import { renderHostname, type HostnameDesired } from './render.js';

export function createHostnameSubsystem(_env: DriverEnvironment): Subsystem<HostnameDesired> {
  return {
    name: 'hostname',
    render: (model) => renderHostname(model),
    async apply(desired, { runner, logger }) {
      const current = await readSysctl('kernel/hostname');
      if (current === desired.hostname) return { changed: false };
      await setHostname(runner, desired.hostname);
      logger.info({ from: current, to: desired.hostname }, 'host name set');
      return {
        changed: true,
        undo: async () => {
          if (current !== undefined) await setHostname(runner, current);
        },
      };
    },
  };
}

function setHostname(runner: CommandRunner, name: string) {
  return runner.change(['hostname', name]);
}
