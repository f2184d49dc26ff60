// Plans of the work without the agent, built with the agent's own renderers
// and planners so that the kernel and the daemons get exactly what the agent
// would give them:
//
// - the floor: one `sysctl -w`, one `ip -batch` with every address and route
//   change, one iptables-restore and one ip6tables-restore of the rendered
//   documents, one `nft -f` of the floating IPs' table, dnsmasq and BIRD started on the rendered files and waited for
//   as the agent waits for them (dnsmasq's "started" line, BIRD's control
//   socket greeting). The metadata proxy (listeners inside the agent) and
//   gratuitous ARP (sent in the background after the answer) have no
//   counterpart.
// - the original appliance's cost model: the same changes, one process per
//   address, route, sysctl, chain and rule (`iptables -A`; floating IPs as
//   the iptables rules the original wrote for them), daemons
//   (re)started on the push.
import { join } from 'node:path';
import { DEFAULT_API_PORT, validateDocument, type ConfigModel } from '../contract/index.js';
import type { RenderHost } from '../appliance/engine/engine.js';
import type { FirewallContribution } from '../appliance/engine/subsystem.js';
import { dhcpFirewall } from '../appliance/drivers/dhcp/firewall.js';
import { renderDhcp } from '../appliance/drivers/dhcp/render.js';
import { replaceText, tableDefinition } from '../appliance/drivers/firewall/nft.js';
import { renderFirewall, restoreDocument, type FirewallRules } from '../appliance/drivers/firewall/render.js';
import { haFirewall } from '../appliance/drivers/ha/firewall.js';
import { metadataFirewall } from '../appliance/drivers/metadata/firewall.js';
import { metadataProxyState } from '../appliance/metadata-proxy/state.js';
import { routingFirewall } from '../appliance/drivers/routing/firewall.js';
import { vpnFirewall } from '../appliance/drivers/vpn/firewall.js';
import { renderVpn } from '../appliance/drivers/vpn/render.js';
import { renderHostname } from '../appliance/drivers/hostname/render.js';
import { interfaceSysctls, planInterfaces, type LiveLink } from '../appliance/drivers/interfaces/plan.js';
import { renderInterfaces } from '../appliance/drivers/interfaces/render.js';
import { planRoutes } from '../appliance/drivers/routes/plan.js';
import { renderRoutes } from '../appliance/drivers/routes/render.js';
import type { LiveRoute } from '../appliance/host/routes.js';
import { renderRouting } from '../appliance/drivers/routing/render.js';
import { renderSysctls } from '../appliance/drivers/sysctl/render.js';
import type { Phase, Plan, Step } from './plan-runner.js';

/** What the router namespace holds before the push, read with `ip -j` from outside. */
export interface LiveState {
  readonly links: readonly LiveLink[];
  readonly routes: readonly LiveRoute[];
}

export interface RenderedWork {
  readonly hostname: string;
  readonly sysctls: Readonly<Record<string, string>>;
  /** `ip -batch` lines: interfaces, then routes. */
  readonly addressLines: readonly string[];
  readonly routeLines: readonly string[];
  readonly firewall: FirewallRules;
  readonly checksumFill: boolean;
  readonly dhcp: ReturnType<typeof renderDhcp>;
  readonly bird: string;
}

/** The generic names of the bench topology: geN is ethN (nothing else is Ethernet-like in it). */
export const BENCH_HOST: RenderHost = { realName: (generic) => `eth${generic.slice(2)}` };

export function modelOf(doc: unknown): ConfigModel {
  const result = validateDocument(doc);
  if (!result.ok) throw new Error(`a generated document does not validate: ${JSON.stringify(result.errors.slice(0, 3))}`);
  return result.model;
}

export function renderWork(doc: unknown, live: LiveState, dir: string, checksumFill: boolean): RenderedWork {
  const model = modelOf(doc);
  const interfaces = renderInterfaces(model, BENCH_HOST);
  return {
    hostname: renderHostname(model).hostname,
    sysctls: { ...renderSysctls(model), ...interfaceSysctls(interfaces) },
    addressLines: planInterfaces(interfaces, live.links).steps.map((s) => s.line),
    routeLines: planRoutes(renderRoutes(model, BENCH_HOST), live.routes, []).steps.map((s) => s.line),
    firewall: renderFirewall(model, { ...BENCH_HOST, contributions: firewallContributions(model) }, { apiPort: DEFAULT_API_PORT }),
    checksumFill,
    dhcp: renderDhcp(model, BENCH_HOST, dnsmasqPaths(dir)),
    bird: renderRouting(model, BENCH_HOST).config,
  };
}

/** What the other subsystems contribute to the firewall, as the engine gathers it from their `firewall()`. */
function firewallContributions(model: ConfigModel): FirewallContribution[] {
  return [
    { subsystem: 'dhcp', rules: dhcpFirewall(model, BENCH_HOST) },
    { subsystem: 'routing', rules: routingFirewall(renderRouting(model, BENCH_HOST).plan, model, BENCH_HOST) },
    { subsystem: 'metadata-proxy', rules: metadataFirewall(metadataProxyState(model), BENCH_HOST) },
    { subsystem: 'vpn', rules: vpnFirewall(renderVpn(model)) },
    { subsystem: 'ha', rules: haFirewall(model.ha) },
  ];
}

function dnsmasqPaths(dir: string) {
  return { hosts: join(dir, 'dnsmasq/hosts'), options: join(dir, 'dnsmasq/options'), leases: join(dir, 'dnsmasq/leases') };
}

/** The daemon steps, started as the agent starts them and considered ready when the agent does. */
function daemonPhases(work: RenderedWork, dir: string): Phase[] {
  const conf = join(dir, 'dnsmasq/dnsmasq.conf');
  const phases: Phase[] = [];
  if (work.dhcp.config !== undefined) {
    const paths = dnsmasqPaths(dir);
    phases.push({
      name: 'dnsmasq',
      steps: [
        { kind: 'write', path: conf, text: work.dhcp.config },
        { kind: 'write', path: paths.hosts, text: work.dhcp.hosts },
        { kind: 'write', path: paths.options, text: work.dhcp.options },
        {
          kind: 'daemon',
          name: 'dnsmasq',
          argv: ['dnsmasq', '--keep-in-foreground', `--conf-file=${conf}`],
          log: join(dir, 'dnsmasq/dnsmasq.log'),
          ready: { logPattern: 'dnsmasq\\[\\d+\\]: started, version' },
        },
      ],
    });
  }
  const bird = join(dir, 'bird');
  phases.push({
    name: 'bird',
    steps: [
      { kind: 'write', path: join(bird, 'bird.conf'), text: work.bird },
      {
        kind: 'daemon',
        name: 'bird',
        argv: ['bird', '-f', '-c', join(bird, 'bird.conf'), '-s', join(bird, 'bird.ctl'), '-P', join(bird, 'bird.pid')],
        log: join(bird, 'bird.log'),
        ready: { socket: join(bird, 'bird.ctl') },
      },
    ],
  });
  return phases;
}

function restoreText(work: RenderedWork, family: 4 | 6): string {
  return restoreDocument(family === 4 ? work.firewall.v4 : work.firewall.v6, { checksumFill: work.checksumFill });
}

export function floorPlan(work: RenderedWork, dir: string): Plan {
  const batch = [...work.addressLines, ...work.routeLines];
  return {
    phases: [
      {
        name: 'hostname+sysctl',
        steps: [
          { kind: 'run', argv: ['hostname', work.hostname] },
          { kind: 'run', argv: ['sysctl', '-q', '-w', ...Object.entries(work.sysctls).map(([k, v]) => `${k}=${v}`)] },
        ],
      },
      { name: 'ip -batch', steps: batch.length > 0 ? [{ kind: 'run', argv: ['ip', '-batch', '-'], input: `${batch.join('\n')}\n` }] : [] },
      {
        name: 'iptables-restore',
        steps: [
          { kind: 'run', argv: ['iptables-restore'], input: restoreText(work, 4) },
          { kind: 'run', argv: ['ip6tables-restore'], input: restoreText(work, 6) },
        ],
      },
      // The floating IPs are an nftables table of their own (appliance/drivers/firewall/nft.ts): one nft -f.
      { name: 'nft -f', steps: [{ kind: 'run', argv: ['nft', '-f', '-'], input: replaceText(tableDefinition(work.firewall.fip)) }] },
      ...daemonPhases(work, dir),
    ],
  };
}

/** Split an iptables-restore rule line into arguments (double quotes group words, as iptables-restore reads them). */
export function ruleArgs(text: string): string[] {
  const args: string[] = [];
  for (const match of text.matchAll(/"([^"]*)"|(\S+)/g)) args.push(match[1] ?? match[2]!);
  return args;
}

/** One process per change, as the original appliance did; `budgetMs` cuts long phases short for extrapolation. */
export function originalPlan(work: RenderedWork, dir: string, budgetMs?: number): Plan {
  const cap = budgetMs === undefined ? {} : { budgetMs };
  const firewall = (family: 4 | 6): Step[] => {
    const command = family === 4 ? 'iptables' : 'ip6tables';
    const rules = family === 4 ? work.firewall.v4 : work.firewall.v6;
    const steps: Step[] = [];
    for (const table of rules.tables) {
      for (const chain of table.chains) steps.push({ kind: 'run', argv: [command, '-t', table.name, '-N', chain] });
      for (const [chain, policy] of Object.entries(table.policies)) steps.push({ kind: 'run', argv: [command, '-t', table.name, '-P', chain, policy] });
      for (const rule of table.rules) {
        if (rule.needs === 'CHECKSUM' && !work.checksumFill) continue;
        steps.push({ kind: 'run', argv: [command, '-t', table.name, ...ruleArgs(rule.text)] });
      }
    }
    return steps;
  };
  // The original wrote each floating IP as iptables rules, one process each:
  // its DNAT and SNAT, and a rule per direction counting its traffic.
  const floatingIps = (): Step[] => {
    const { pairs, externalIf } = work.firewall.fip;
    const steps: Step[] = [];
    for (const family of [4, 6] as const) {
      const command = family === 4 ? 'iptables' : 'ip6tables';
      const bits = family === 4 ? 32 : 128;
      const ofFamily = pairs.filter((p) => p.family === family);
      if (ofFamily.length === 0) continue;
      steps.push(
        { kind: 'run', argv: [command, '-t', 'nat', '-N', 'original-fip-dnat'] },
        { kind: 'run', argv: [command, '-t', 'nat', '-N', 'original-fip-snat'] },
        { kind: 'run', argv: [command, '-t', 'filter', '-N', 'original-fip-acct'] },
      );
      for (const { floating, fixed } of ofFamily) {
        steps.push(
          { kind: 'run', argv: [command, '-t', 'nat', '-A', 'original-fip-dnat', '-d', `${floating}/${bits}`, '-j', 'DNAT', '--to-destination', fixed] },
          { kind: 'run', argv: [command, '-t', 'nat', '-A', 'original-fip-snat', '-s', `${fixed}/${bits}`, '-j', 'SNAT', '--to-source', floating] },
        );
        if (externalIf) {
          steps.push(
            { kind: 'run', argv: [command, '-t', 'filter', '-A', 'original-fip-acct', '-d', `${fixed}/${bits}`, '-i', externalIf] },
            { kind: 'run', argv: [command, '-t', 'filter', '-A', 'original-fip-acct', '-s', `${fixed}/${bits}`, '-o', externalIf] },
          );
        }
      }
    }
    return steps;
  };
  return {
    phases: [
      { name: 'hostname+sysctl', steps: [{ kind: 'run', argv: ['hostname', work.hostname] }, ...Object.entries(work.sysctls).map(([k, v]): Step => ({ kind: 'run', argv: ['sysctl', '-q', '-w', `${k}=${v}`] }))] },
      { name: 'ip (one per address)', steps: work.addressLines.map((line): Step => ({ kind: 'run', argv: ['ip', ...line.split(' ')] })), ...cap },
      { name: 'ip (one per route)', steps: work.routeLines.map((line): Step => ({ kind: 'run', argv: ['ip', ...line.split(' ')] })), ...cap },
      { name: 'iptables -A', steps: firewall(4), ...cap },
      { name: 'ip6tables -A', steps: firewall(6), ...cap },
      { name: 'iptables -A (floating IPs)', steps: floatingIps(), ...cap },
      ...daemonPhases(work, dir),
    ],
  };
}
