// Throwaway network topologies for functional tests: one namespace per host,
// joined by veth pairs created directly inside the namespaces, so the host's
// own network is never touched. Only documentation ranges are used.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunning } from '../../appliance/host/supervisor.js';
import { inNs, run, waitFor } from './exec.js';

export interface LinkEnd {
  readonly ns: string;
  readonly ifname: string;
  readonly mac?: string;
  /** Addresses added without duplicate address detection, so they are usable at once. */
  readonly addresses?: readonly string[];
}

export interface TopologySpec {
  /** Short role names of the namespaces (`router`, `ext`, ...). */
  readonly namespaces: readonly string[];
  readonly links: readonly [LinkEnd, LinkEnd][];
  /** Routes per role, as `ip route add` arguments. */
  readonly routes?: Readonly<Record<string, readonly (readonly string[])[]>>;
}

let counter = 0;

export class Topology {
  private constructor(
    readonly prefix: string,
    readonly dir: string,
    private readonly names: ReadonlyMap<string, string>,
  ) {}

  /** Create every namespace and link; on failure, remove what was made. */
  static async create(spec: TopologySpec): Promise<Topology> {
    const prefix = `ast${process.pid}x${counter++}`;
    const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
    const topology = new Topology(prefix, dir, new Map(spec.namespaces.map((role) => [role, `${prefix}-${role}`])));
    try {
      for (const role of spec.namespaces) {
        await run(['ip', 'netns', 'add', topology.ns(role)]);
        await topology.ip(role, ['link', 'set', 'lo', 'up']);
      }
      for (const [a, b] of spec.links) {
        await topology.ip(a.ns, ['link', 'add', a.ifname, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', topology.ns(b.ns)]);
        for (const end of [a, b]) {
          if (end.mac) await topology.ip(end.ns, ['link', 'set', end.ifname, 'address', end.mac]);
          await topology.ip(end.ns, ['link', 'set', end.ifname, 'up']);
          for (const address of end.addresses ?? []) {
            await topology.ip(end.ns, ['addr', 'add', address, 'dev', end.ifname, ...(address.includes(':') ? ['nodad'] : [])]);
          }
        }
      }
      for (const [role, routes] of Object.entries(spec.routes ?? {})) {
        for (const route of routes) await topology.ip(role, ['route', 'add', ...route]);
      }
    } catch (error) {
      await topology.destroy();
      throw error;
    }
    return topology;
  }

  /** The real namespace name of a role. */
  ns(role: string): string {
    const name = this.names.get(role);
    if (!name) throw new Error(`no namespace ${role} in this topology`);
    return name;
  }

  ip(role: string, args: readonly string[]) {
    return run(['ip', '-n', this.ns(role), ...args]);
  }

  exec(role: string, argv: readonly string[], options?: Parameters<typeof inNs>[2]) {
    return inNs(this.ns(role), argv, options);
  }

  /** Pids of every process living in a namespace of this topology. */
  async pids(role: string): Promise<number[]> {
    const { stdout } = await run(['ip', 'netns', 'pids', this.ns(role)], { allowFailure: true });
    return stdout.split(/\s+/).filter(Boolean).map(Number);
  }

  /**
   * End every process in the namespaces by PID (never by name: other programs
   * on the machine run their own dnsmasq), wait for them, delete the namespaces.
   */
  async destroy(): Promise<void> {
    for (const role of this.names.keys()) {
      const pids = await this.pids(role);
      for (const pid of pids) signal(pid, 'SIGTERM');
      await waitFor(`processes of ${role} to exit`, () => pids.every((pid) => !alive(pid)), 5000).catch(() => {
        for (const pid of pids) signal(pid, 'SIGKILL');
      });
    }
    for (const name of this.names.values()) await run(['ip', 'netns', 'del', name], { allowFailure: true });
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** True while `pid` runs; a zombie counts as gone. */
export const alive = isRunning;

export function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------
// The standard router lab used by most functional tests.
//
//   mgmt  m0  fdca:3ba5:a17a:acda::1/64 ---- eth0 ge0 (management, API on ::2)
//   ext   ext0 192.0.2.1/24 2001:db8:e::1/64 203.0.113.1/24 ---- eth1 ge1 (external)
//   ta    eth0 (guest on tenant network A) ---- eth2 ge2
//   tb    eth0 (guest on tenant network B) ---- eth3 ge3
//
// Only the router's management address is configured by the harness (as
// astara-configure-management would at first boot); the agent configures the rest.

export const LAB = {
  mgmtAddress: 'fdca:3ba5:a17a:acda::2',
  mgmtPeer: 'fdca:3ba5:a17a:acda::1',
  routerMacs: ['02:00:00:00:01:00', '02:00:00:00:01:01', '02:00:00:00:01:02', '02:00:00:00:01:03'],
  guestMacs: { ta: '02:00:00:00:02:0a', tb: '02:00:00:00:03:0b' },
  ext: { v4: '192.0.2.1', v6: '2001:db8:e::1', floatingGateway: '203.0.113.1' },
} as const;

export function routerLab(): Promise<Topology> {
  return Topology.create({
    namespaces: ['router', 'mgmt', 'ext', 'ta', 'tb'],
    links: [
      [
        { ns: 'router', ifname: 'eth0', mac: LAB.routerMacs[0], addresses: [`${LAB.mgmtAddress}/64`] },
        { ns: 'mgmt', ifname: 'm0', addresses: [`${LAB.mgmtPeer}/64`] },
      ],
      [
        { ns: 'router', ifname: 'eth1', mac: LAB.routerMacs[1] },
        { ns: 'ext', ifname: 'ext0', addresses: ['192.0.2.1/24', '2001:db8:e::1/64', '203.0.113.1/24'] },
      ],
      [
        { ns: 'router', ifname: 'eth2', mac: LAB.routerMacs[2] },
        { ns: 'ta', ifname: 'eth0', mac: LAB.guestMacs.ta },
      ],
      [
        { ns: 'router', ifname: 'eth3', mac: LAB.routerMacs[3] },
        { ns: 'tb', ifname: 'eth0', mac: LAB.guestMacs.tb },
      ],
    ],
  });
}
