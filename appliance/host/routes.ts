// The kernel's main routing table as `ip -j route` shows it, and the `ip
// -batch` lines that recreate a route from that form. Shared by the routes
// subsystem and by the interfaces subsystem's undo (removing an interface's
// last address makes the kernel drop every route through it; undo puts them
// back).
import type { CommandRunner } from './exec.js';

/** One entry of `ip -j route show`, the fields the agent reads, plus the family it was read as. */
export interface LiveRoute {
  readonly family: 4 | 6;
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly type?: string;
  readonly protocol?: string;
  readonly scope?: string;
  readonly metric?: number;
  readonly prefsrc?: string;
  readonly flags?: readonly string[];
  readonly nexthops?: readonly unknown[];
}

/** Both families of the main table, read with two commands run side by side. */
export async function readRoutes(runner: CommandRunner): Promise<LiveRoute[]> {
  const [v4, v6] = await Promise.all(
    ([4, 6] as const).map(async (family) => {
      const { stdout } = await runner.read(['ip', '-j', `-${family}`, 'route', 'show', 'table', 'main']);
      return (JSON.parse(stdout || '[]') as Omit<LiveRoute, 'family'>[]).map((r) => ({ ...r, family }));
    }),
  );
  return [...v4!, ...v6!];
}

/** `default` as a prefix of the right family: `ip -batch` lines cannot carry `-4`/`-6`. */
export function destinationArg(family: 4 | 6, dst: string): string {
  return dst === 'default' ? (family === 4 ? '0.0.0.0/0' : '::/0') : dst;
}

/** The metric the kernel gives a route added without one. */
export function defaultMetric(family: 4 | 6): number {
  return family === 4 ? 0 : 1024;
}

/** What the kernel keys a route on (with the table): type, destination, metric. */
export function routeSlot(route: LiveRoute): string {
  return `${route.family} ${route.dst} ${route.metric ?? defaultMetric(route.family)}`;
}

/** A route's full identity, to tell whether a snapshot's route is still there. */
export function routeIdentity(route: LiveRoute): string {
  return `${routeSlot(route)} ${route.type ?? 'unicast'} ${route.gateway ?? ''} ${route.dev ?? ''}`;
}

/**
 * Routes worth recreating: not the kernel's own (it adds those back with the
 * address), not learned from router advertisements, not multipath (not
 * expressible from this form).
 */
export function isRecreatable(route: LiveRoute): boolean {
  return route.protocol !== 'kernel' && route.protocol !== 'ra' && route.nexthops === undefined;
}

/** The `ip -batch` line that puts `route` back as it was shown. */
export function replaceLine(route: LiveRoute): string {
  const words = ['route', 'replace'];
  if (route.type !== undefined && route.type !== 'unicast') words.push(route.type);
  words.push(destinationArg(route.family, route.dst));
  if (route.gateway !== undefined) words.push('via', route.gateway);
  if (route.dev !== undefined) words.push('dev', route.dev);
  if (route.protocol !== undefined && route.protocol !== 'boot') words.push('proto', route.protocol);
  if (route.scope !== undefined && route.scope !== 'global') words.push('scope', route.scope);
  words.push('metric', String(route.metric ?? defaultMetric(route.family)));
  if (route.prefsrc !== undefined) words.push('src', route.prefsrc);
  if (route.flags?.includes('onlink')) words.push('onlink');
  return words.join(' ');
}
