// The sysctl subsystem: forwarding on (see render.ts for what is set and why).
import type { Subsystem } from '../../engine/subsystem.js';
import type { DriverEnvironment } from '../index.js';
import { restoreSysctls, writeSysctls } from '../../host/sysctl.js';
import { renderSysctls, type SysctlDesired } from './render.js';

export function createSysctlSubsystem(_env: DriverEnvironment): Subsystem<SysctlDesired> {
  return {
    name: 'sysctl',
    render: (model) => renderSysctls(model),
    async apply(desired, { runner, logger }) {
      const previous = await writeSysctls(runner, desired, logger);
      const changed = Object.keys(previous).length > 0;
      return changed ? { changed, undo: () => restoreSysctls(runner, previous) } : { changed };
    },
  };
}
