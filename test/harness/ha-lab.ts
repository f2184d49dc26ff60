// A lab for HA router pairs: two appliances (`ra`, `rb`), each running the
// real agent, whose interfaces join shared bridges (one per network) in a
// switch namespace, with the orchestrator's side, the upstream and two
// guests on the same bridges. Only documentation ranges are used.
//
//   bridge   ra      rb      others
//   brm      eth0    eth0    mgmt m0 fdca:3ba5:a17a:acda::1 (management; ra ::2, rb ::3)
//   bre      eth1    eth1    ext ext0 192.0.2.1 2001:db8:e::1 203.0.113.1 (upstream)
//   bra      eth2    eth2    ta eth0 (guest on tenant network A)
//   brb      eth3    eth3    tb eth0 (guest on tenant network B)
//
// Each member gets the lab document (harness-router.json) with its own MACs
// and management address, `ha_resource` and the other as its peer; guest A
// has no floating IP (it reaches the upstream through source NAT to the
// router's address), guest B has 203.0.113.11.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { Agent, REPO } from './agent.js';
import { run, spawnInNs, waitFor } from './exec.js';
import { LAB, Topology, alive, signal } from './topology.js';

export type Member = 'ra' | 'rb';
export const MEMBERS: readonly Member[] = ['ra', 'rb'];

export const HA = {
  management: { ra: 'fdca:3ba5:a17a:acda::2', rb: 'fdca:3ba5:a17a:acda::3' } as Readonly<Record<Member, string>>,
  orchestrator: LAB.mgmtPeer,
  macs: {
    ra: ['02:00:00:00:01:00', '02:00:00:00:01:01', '02:00:00:00:01:02', '02:00:00:00:01:03'],
    rb: ['02:00:00:00:04:00', '02:00:00:00:04:01', '02:00:00:00:04:02', '02:00:00:00:04:03'],
  } as Readonly<Record<Member, readonly string[]>>,
  guestA: '198.51.100.10',
  guestB: '198.51.100.74',
  floatingB: '203.0.113.11',
  routerExternal: '192.0.2.2',
  /** Every address the pair shares, as `ip` shows them on the master. */
  shared: ['192.0.2.2/24', '2001:db8:e::2/64', '203.0.113.11/24', '198.51.100.1/26', 'fd00:a::1/64', '198.51.100.65/26', 'fd00:b::1/64'],
} as const;

/** The switch's port of each member's interface: `<member letter><interface index>`. */
const port = (member: Member, index: number) => `${member.charAt(1)}${index}`;
const BRIDGES = ['brm', 'bre', 'bra', 'brb'] as const;

export interface HaStatus {
  readonly state: string;
  readonly since: string;
  readonly peer: string;
}

export interface FlowEvent {
  readonly at: number;
  readonly event: 'open' | 'echo' | 'error' | 'close' | 'reply';
  readonly conn?: number;
  readonly seq?: number;
  /** When the datagram a UDP reply answers was sent. */
  readonly sent?: number;
  readonly message?: string;
}

/** A flow client or server of flow.mjs, running in a namespace until stopped. */
export class Flow {
  constructor(
    readonly process: ResultPromise,
    readonly logFile: string,
  ) {}

  async events(): Promise<FlowEvent[]> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    // The text after the last line break is a line still being written.
    return text.split('\n').slice(0, -1).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as FlowEvent);
  }

  async stop(): Promise<void> {
    const pid = this.process.pid;
    if (pid !== undefined) signal(pid, 'SIGKILL');
    await this.process;
  }
}

export class HaLab {
  readonly agents = new Map<Member, Agent>();
  #flows = 0;

  private constructor(readonly topology: Topology) {}

  static async create(): Promise<HaLab> {
    const end = (ns: string, ifname: string, mac?: string, addresses?: readonly string[]) => ({ ns, ifname, ...(mac ? { mac } : {}), ...(addresses ? { addresses } : {}) });
    const topology = await Topology.create({
      namespaces: ['ra', 'rb', 'sw', 'mgmt', 'ext', 'ta', 'tb'],
      links: [
        ...MEMBERS.flatMap((member) =>
          [0, 1, 2, 3].map((i): [ReturnType<typeof end>, ReturnType<typeof end>] => [
            end(member, `eth${i}`, HA.macs[member][i], i === 0 ? [`${HA.management[member]}/64`] : undefined),
            end('sw', port(member, i)),
          ]),
        ),
        [end('mgmt', 'm0', undefined, [`${HA.orchestrator}/64`]), end('sw', 'm0')],
        [end('ext', 'ext0', undefined, ['192.0.2.1/24', '2001:db8:e::1/64', '203.0.113.1/24']), end('sw', 'x0')],
        [end('ta', 'eth0', LAB.guestMacs.ta), end('sw', 'ga')],
        [end('tb', 'eth0', LAB.guestMacs.tb), end('sw', 'gb')],
      ],
    });
    try {
      for (const bridge of BRIDGES) {
        // No multicast snooping: without a querier on the bridge, neighbour discovery must simply flood.
        await topology.ip('sw', ['link', 'add', bridge, 'type', 'bridge', 'mcast_snooping', '0']);
        await topology.ip('sw', ['link', 'set', bridge, 'up']);
      }
      const enslave = async (portName: string, bridge: string) => topology.ip('sw', ['link', 'set', portName, 'master', bridge]);
      for (const member of MEMBERS) for (const [i, bridge] of BRIDGES.entries()) await enslave(port(member, i), bridge);
      await enslave('m0', 'brm');
      await enslave('x0', 'bre');
      await enslave('ga', 'bra');
      await enslave('gb', 'brb');
    } catch (error) {
      await topology.destroy();
      throw error;
    }
    return new HaLab(topology);
  }

  /** The lab document for `member`: its MACs and management address, the other member as its peer. */
  async document(member: Member, priority: number): Promise<Record<string, unknown>> {
    const doc = JSON.parse(await readFile(join(REPO, 'test/fixtures/documents/harness-router.json'), 'utf8')) as {
      networks: { interface: { lladdr: string; addresses: string[] } }[];
    } & Record<string, unknown>;
    doc.networks.forEach((network, i) => (network.interface.lladdr = HA.macs[member][i]!));
    doc.networks[0]!.interface.addresses = [`${HA.management[member]}/64`];
    const floatingIps = [{ floating_ip: HA.floatingB, fixed_ip: HA.guestB }];
    return { ...doc, floating_ips: floatingIps, ha_resource: true, ha_config: { peers: [HA.management[other(member)]], priority } };
  }

  /** Start (or start again) `member`'s agent on its state directory. */
  async startAgent(member: Member): Promise<Agent> {
    const agent = await Agent.start(this.topology, { role: member, listen: [HA.management[member]], stateDir: join(this.topology.dir, `state-${member}`), clientRole: 'mgmt' });
    this.agents.set(member, agent);
    return agent;
  }

  agent(member: Member): Agent {
    const agent = this.agents.get(member);
    if (!agent) throw new Error(`no agent runs in ${member}`);
    return agent;
  }

  /** The `ha` of `member`'s GET /v1/status/, asked from inside its namespace (it answers whatever the management bridge does). */
  async status(member: Member): Promise<HaStatus | null> {
    const url = `http://[${HA.management[member]}]:5000/v1/status/`;
    const result = await this.topology.exec(member, ['curl', '-sS', '-g', '--max-time', '5', url], { allowFailure: true });
    if (result.exitCode !== 0) return null;
    return (JSON.parse(result.stdout) as { ha: HaStatus | null }).ha;
  }

  async state(member: Member): Promise<string | undefined> {
    return (await this.status(member))?.state;
  }

  async waitForState(member: Member, state: string, timeoutMs = 20_000): Promise<void> {
    await waitFor(`${member} to be ${state}`, async () => (await this.state(member)) === state, timeoutMs);
  }

  /** Every global address on `member`'s data interfaces (eth1-eth3), `address/prefix`, sorted. */
  async sharedAddresses(member: Member): Promise<string[]> {
    const { stdout } = await this.topology.exec(member, ['ip', '-j', 'addr', 'show']);
    const links = JSON.parse(stdout) as { ifname: string; addr_info: { local: string; prefixlen: number; scope: string }[] }[];
    return links
      .filter((l) => /^eth[1-3]$/.test(l.ifname))
      .flatMap((l) => l.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`))
      .sort();
  }

  /** `member`'s conntrackd configuration (its socket is named there). */
  conntrackdConf(member: Member): string {
    return join(this.topology.dir, `state-${member}`, 'conntrackd', 'conntrackd.conf');
  }

  /** Whether the BIRD of `member` sends router advertisements (its live bird.conf has them). */
  async advertises(member: Member): Promise<boolean> {
    const conf = await readFile(join(this.topology.dir, `state-${member}`, 'bird', 'bird.conf'), 'utf8').catch(() => '');
    return conf.includes('protocol radv');
  }

  /** The first instant `check` holds, polled every 10 ms (a measurement: waitFor backs off). */
  async timeUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await check()) return Date.now();
      if (Date.now() > deadline) throw new Error(`not so within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Whether `member` holds every shared address. */
  async holdsAll(member: Member): Promise<boolean> {
    const held = new Set(await this.sharedAddresses(member));
    return HA.shared.every((a) => held.has(a));
  }

  /**
   * A crash of `member`, as the peer sees one: its links go down (nothing
   * leaves it any more, not even the last words of a daemon), then every
   * process in it (the agent, keepalived, conntrackd, dnsmasq, BIRD) is
   * killed outright. Returns the instant the links were down.
   */
  async crash(member: Member): Promise<number> {
    // One batch: every link goes down within the same instant, a few ms at most before `ip` returns.
    const down = [0, 1, 2, 3].map((i) => `link set eth${i} down\n`).join('');
    await run(['ip', '-n', this.topology.ns(member), '-batch', '-'], { input: down });
    const at = Date.now();
    const pids = await this.topology.pids(member);
    for (const pid of pids) signal(pid, 'SIGKILL');
    await waitFor(`the processes of ${member} to die`, () => pids.every((pid) => !alive(pid)), 5000);
    await this.agents.get(member)?.process;
    this.agents.delete(member);
    return at;
  }

  /**
   * `member` boots again after a crash: its connection table and data
   * addresses are gone (the kernel's state does not survive a reboot), its
   * links come up with the management address configured, and its agent
   * starts on the state directory it had (re-applying its document).
   */
  async reboot(member: Member): Promise<Agent> {
    await this.topology.exec(member, ['conntrack', '-F'], { allowFailure: true });
    for (let i = 1; i < 4; i++) await this.topology.ip(member, ['addr', 'flush', 'dev', `eth${i}`, 'scope', 'global']);
    await this.topology.ip(member, ['route', 'flush', 'table', 'main', 'proto', 'keepalived']);
    await this.topology.ip(member, ['-6', 'route', 'flush', 'table', 'main', 'proto', 'keepalived']);
    for (let i = 0; i < 4; i++) await this.topology.ip(member, ['link', 'set', `eth${i}`, 'up']);
    return this.startAgent(member);
  }

  /** Split the management link between the members (they still reach the orchestrator's side), or join it again. */
  async splitManagement(split: boolean): Promise<void> {
    for (const member of MEMBERS) await run(['bridge', '-n', this.topology.ns('sw'), 'link', 'set', 'dev', port(member, 0), 'isolated', split ? 'on' : 'off']);
  }

  /** Start flow.mjs in `role` with `args`; servers are waited for by the caller. */
  flow(role: string, args: readonly string[]): Flow {
    const logFile = join(this.topology.dir, `flow-${role}-${this.#flows++}.log`);
    return new Flow(spawnInNs(this.topology.ns(role), [process.execPath, join(REPO, 'test/harness/flow.mjs'), ...args], logFile), logFile);
  }

  /** The MAC `role` has for `address` in its neighbour table, if any. */
  async neighbourMac(role: string, address: string): Promise<string | undefined> {
    const { stdout } = await this.topology.exec(role, ['ip', '-j', 'neigh', 'show', address]);
    return (JSON.parse(stdout || '[]') as { lladdr?: string }[])[0]?.lladdr;
  }

  async destroy(): Promise<void> {
    for (const agent of this.agents.values()) await agent.stop();
    await this.topology.destroy();
  }
}

export function other(member: Member): Member {
  return member === 'ra' ? 'rb' : 'ra';
}
