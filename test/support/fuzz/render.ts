// Every subsystem rendered as the engine renders it (engine.ts #render: each
// subsystem in order, its firewall contribution gathered, the firewall last
// with all of them), then everything that leaves the agent as text: the
// daemons' files (nginx.conf with no member and with every monitored member
// held down), swanctl.conf and strongswan.conf (of either data path),
// keepalived.conf and conntrackd.conf, the iptables-restore documents, the `ip -batch` lines of
// the interfaces and routes planners, sysctls, the host name, what the
// metadata proxy sends upstream. Each is checked line by line against the
// grammar of grammar.ts.
import { pino } from 'pino';
import type { ConfigModel } from '../../../contract/index.js';
import { dnsmasqPaths } from '../../../appliance/drivers/dhcp/driver.js';
import type { DhcpDesired } from '../../../appliance/drivers/dhcp/render.js';
import { restoreDocument, type FirewallRules } from '../../../appliance/drivers/firewall/render.js';
import { replaceText, tableDefinition } from '../../../appliance/drivers/firewall/nft.js';
import type { HostnameDesired } from '../../../appliance/drivers/hostname/render.js';
import { nginxFiles, nginxSettings, workerUser } from '../../../appliance/drivers/loadbalancer/driver.js';
import type { LoadBalancerDesired } from '../../../appliance/drivers/loadbalancer/render.js';
import { createSubsystems } from '../../../appliance/drivers/index.js';
import { interfaceSysctls, planInterfaces, type LiveLink } from '../../../appliance/drivers/interfaces/plan.js';
import type { InterfacesDesired } from '../../../appliance/drivers/interfaces/render.js';
import { planRoutes } from '../../../appliance/drivers/routes/plan.js';
import type { RoutesDesired } from '../../../appliance/drivers/routes/render.js';
import type { RoutingDesired } from '../../../appliance/drivers/routing/render.js';
import type { SysctlDesired } from '../../../appliance/drivers/sysctl/render.js';
import type { ArpDesired } from '../../../appliance/drivers/arp/render.js';
import { haSettings } from '../../../appliance/drivers/ha/driver.js';
import type { HaDesired } from '../../../appliance/drivers/ha/render.js';
import { strongswanConf, strongswanPaths } from '../../../appliance/drivers/vpn/driver.js';
import type { VpnDesired } from '../../../appliance/drivers/vpn/render.js';
import type { AnySubsystem, FirewallContribution, FirewallRenderHost } from '../../../appliance/engine/subsystem.js';
import { DaemonRegistry } from '../../../appliance/host/daemons.js';
import { InterfaceNames } from '../../../appliance/host/interfaces.js';
import type { MetadataProxyState } from '../../../appliance/metadata-proxy/state.js';
import { FakeRunner } from '../fake-runner.js';
import {
  BIRD_KINDS,
  birdBraceProblems,
  checkFile,
  checkIptables,
  NFT_FIP_KINDS,
  nginxKinds,
  DNSMASQ_HOSTS_KINDS,
  DNSMASQ_OPTIONS_KINDS,
  dnsmasqConfKinds,
  dnsmasqTagsProblems,
  headerValueProblem,
  hostnameProblem,
  IP_BATCH_KINDS,
  ipBatchHopProblems,
  addressProblem,
  interfaceProblem,
  ipv4Problem,
  strongswanConfKinds,
  keepalivedKinds,
  conntrackdKinds,
  SWANCTL_KINDS,
  SYSCTL_KINDS,
  upstreamProblem,
  type BadLine,
  type RenderedFile,
} from './grammar.js';

/** Never created: rendering only names paths below it. */
const STATE_DIR = '/var/lib/astara-fuzz-never-created';
/** The lab router's naming (ge2 is eth2): what the grammar's `<if>` expects. */
export const FUZZ_HOST = { realName: (generic: string) => generic.replace('ge', 'eth') };

export interface RenderedOutput {
  readonly files: readonly RenderedFile[];
  readonly hostname: string;
  readonly metadata: MetadataProxyState;
  readonly arp: ArpDesired;
}

export type RenderOutcome =
  | { readonly ok: true; readonly output: RenderedOutput }
  /** A renderer that refused on purpose, naming what it refused (the DHCP renderer's second line of defence). */
  | { readonly ok: false; readonly subsystem: string; readonly refusal: string };

/** The DHCP renderer refuses a host name dnsmasq would misread, naming the allocation (dhcp/render.ts dhcpHostName). */
const DHCP_REFUSAL = /^\/networks\/\d+\/(?:address_)?allocations\/\d+\/hostname \([0-9a-f:]{17}\): /;

export class EngineRenderer {
  readonly #subsystems: AnySubsystem[];

  constructor() {
    this.#subsystems = createSubsystems({
      stateDir: STATE_DIR,
      interfaces: new InterfaceNames(new FakeRunner()),
      daemons: new DaemonRegistry(),
      logger: pino({ level: 'silent' }),
    });
  }

  /** Render every subsystem; a renderer that throws anything but a named refusal throws on. */
  render(model: ConfigModel): RenderOutcome {
    const contributions: FirewallContribution[] = [];
    const host: FirewallRenderHost = { ...FUZZ_HOST, contributions };
    const desired = new Map<string, unknown>();
    const ordered = [...this.#subsystems.filter((s) => !s.collectsFirewall), ...this.#subsystems.filter((s) => s.collectsFirewall)];
    for (const subsystem of ordered) {
      let state: unknown;
      try {
        state = subsystem.render(model, host);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (subsystem.name === 'dhcp' && DHCP_REFUSAL.test(message)) return { ok: false, subsystem: subsystem.name, refusal: message };
        throw new Error(`the ${subsystem.name} renderer threw: ${message}`, { cause: error });
      }
      desired.set(subsystem.name, state);
      const rules = subsystem.firewall?.(state, model, host);
      if (rules && rules.length > 0) contributions.push({ subsystem: subsystem.name, rules });
    }
    return { ok: true, output: textOf(desired) };
  }

  /** The metadata proxy holds an upstream connection pool from its creation. */
  async close(): Promise<void> {
    for (const subsystem of this.#subsystems) await subsystem.stop?.();
  }
}

function textOf(desired: ReadonlyMap<string, unknown>): RenderedOutput {
  const get = <T>(name: string) => desired.get(name) as T;
  const dnsmasq = get<DhcpDesired>('dhcp');
  const firewall = get<FirewallRules>('firewall');
  const interfaces = get<InterfacesDesired>('interfaces');
  // Links as a fresh host has them (down, no address): the plan then holds every line it can write.
  const live: LiveLink[] = interfaces.interfaces.map((i) => ({ ifname: i.device, flags: [], mtu: 1500, addr_info: [] }));
  const batch = [...planInterfaces(interfaces, live).steps, ...planRoutes(get<RoutesDesired>('routes'), [], []).steps].map((s) => s.line);
  const sysctls = Object.entries({ ...get<SysctlDesired>('sysctl'), ...interfaceSysctls(interfaces) }).map(([k, v]) => `${k}=${v}`);
  const lines = (list: readonly string[]) => (list.length > 0 ? `${list.join('\n')}\n` : '');
  // nginx.conf as the subsystem writes it, with no member held down and with every monitored one held down.
  const loadBalancer = get<LoadBalancerDesired>('loadbalancer');
  const settings = nginxSettings(STATE_DIR, workerUser());
  const nginx = (down: ReadonlySet<string>) => nginxFiles(loadBalancer, down, settings)?.['nginx.conf'] ?? '';
  const vpn = get<VpnDesired>('vpn');
  const strongswan = strongswanPaths(STATE_DIR);
  // charon runs only with a connection to carry: strongswan.conf is written only then.
  const charonConf = (dataPath: 'kernel' | 'libipsec') => (vpn.swanctl === undefined ? '' : strongswanConf(strongswan, dataPath, vpn.dpdTimeout));
  return {
    files: [
      { name: 'dnsmasq.conf', text: dnsmasq.config ?? '' },
      { name: 'dnsmasq hosts', text: dnsmasq.hosts },
      { name: 'dnsmasq options', text: dnsmasq.options },
      { name: 'bird.conf', text: get<RoutingDesired>('routing').config },
      { name: 'nginx.conf', text: nginx(new Set()) },
      { name: 'nginx.conf, members held down', text: nginx(new Set(loadBalancer.plan?.targets.map((t) => t.key))) },
      { name: 'keepalived.conf', text: get<HaDesired>('ha').keepalived ?? '' },
      { name: 'conntrackd.conf', text: get<HaDesired>('ha').conntrackd ?? '' },
      { name: 'swanctl.conf', text: vpn.swanctl ?? '' },
      { name: 'strongswan.conf, kernel', text: charonConf('kernel') },
      { name: 'strongswan.conf, libipsec', text: charonConf('libipsec') },
      { name: 'iptables-restore', text: restoreDocument(firewall.v4, { checksumFill: true }) },
      { name: 'ip6tables-restore', text: restoreDocument(firewall.v6, { checksumFill: true }) },
      { name: 'nft -f (floating IPs)', text: replaceText(tableDefinition(firewall.fip)) },
      { name: 'ip -batch', text: lines(batch) },
      { name: 'sysctl', text: lines(sysctls) },
    ],
    hostname: get<HostnameDesired>('hostname').hostname,
    metadata: get<MetadataProxyState>('metadata-proxy'),
    arp: get<ArpDesired>('arp'),
  };
}

/** Every line of everything rendered that a valid document could not produce. */
export function injectedLines(output: RenderedOutput): BadLine[] {
  const file = (name: string) => output.files.find((f) => f.name === name)!;
  const ha = haSettings(STATE_DIR);
  const bad: BadLine[] = [
    ...checkFile(file('dnsmasq.conf'), dnsmasqConfKinds(dnsmasqPaths(STATE_DIR))),
    ...checkFile(file('dnsmasq hosts'), DNSMASQ_HOSTS_KINDS),
    ...checkFile(file('dnsmasq options'), DNSMASQ_OPTIONS_KINDS),
    ...dnsmasqTagsProblems(file('dnsmasq.conf').text, file('dnsmasq options').text),
    ...checkFile(file('bird.conf'), BIRD_KINDS, birdBraceProblems),
    ...checkFile(file('nginx.conf'), nginxKinds(`${STATE_DIR}/nginx`), birdBraceProblems),
    ...checkFile(file('nginx.conf, members held down'), nginxKinds(`${STATE_DIR}/nginx`), birdBraceProblems),
    ...checkFile(file('keepalived.conf'), keepalivedKinds(ha.fifo), birdBraceProblems),
    ...checkFile(file('conntrackd.conf'), conntrackdKinds(ha.lockFile, ha.socket), birdBraceProblems),
    ...checkFile(file('swanctl.conf'), SWANCTL_KINDS, birdBraceProblems),
    ...checkFile(file('strongswan.conf, kernel'), strongswanConfKinds(`${STATE_DIR}/strongswan`), birdBraceProblems),
    ...checkFile(file('strongswan.conf, libipsec'), strongswanConfKinds(`${STATE_DIR}/strongswan`), birdBraceProblems),
    ...checkIptables(file('iptables-restore'), 4),
    ...checkIptables(file('ip6tables-restore'), 6),
    ...checkFile(file('nft -f (floating IPs)'), NFT_FIP_KINDS, birdBraceProblems),
    ...checkFile(file('ip -batch'), IP_BATCH_KINDS, ipBatchHopProblems),
    ...checkFile(file('sysctl'), SYSCTL_KINDS),
  ];
  const value = (name: string, text: string, why: string | undefined) => why && bad.push({ file: name, line: 0, text, why });
  value('hostname', output.hostname, hostnameProblem(output.hostname));
  value('metadata upstream', output.metadata.upstream, upstreamProblem(output.metadata.upstream));
  for (const listener of output.metadata.listeners) {
    value('metadata listener', listener.address, ipv4Problem(listener.address));
    for (const header of [listener.networkId, listener.tenantId, ...Object.values(listener.instances)]) value('metadata header', header, headerValueProblem(header));
  }
  for (const n of output.arp.neighbours) {
    const text = `${n.device} ${n.address} ${n.mac}`;
    value('neighbour', text, interfaceProblem(n.device) ?? addressProblem(n.address) ?? (/^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/.test(n.mac) ? undefined : 'not a MAC'));
  }
  for (const address of output.arp.floating) value('gratuitous ARP', address, ipv4Problem(address));
  return bad;
}
