// The orchestrator's options: an INI file in the oslo.config style, with the
// original's option names and defaults where they still mean something.
// parseOptions() is the pure part (text in, typed options or every problem
// out); loadOptions() adds the file system.
import { constants, existsSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ini from 'ini';
import ipaddr from 'ipaddr.js';
import { contains, parseAddress, parseCidr, type ParsedCidr } from '../contract/ip.js';
import { DEFAULT_API_PORT, DEFAULT_METADATA_PORT, DEFAULT_STATE_DIR } from '../contract/defaults.js';
import type { OrchestratorOptions } from './options-types.js';
import { endpointInterfaceOf } from './providers/openstack/keystone.js';
import { amqpUrlsOf, redactedUrl } from './providers/openstack/transport.js';

export const DEFAULT_CONFIG_FILE = '/etc/astara/orchestrator.ini';

export type SectionName = 'DEFAULT' | 'router' | 'loadbalancer' | 'local' | 'appliance_tls' | 'coordination' | 'keystone_authtoken';

const SECTIONS: readonly SectionName[] = ['DEFAULT', 'router', 'loadbalancer', 'local', 'appliance_tls', 'coordination', 'keystone_authtoken'];

export interface OptionDoc {
  readonly section: SectionName;
  readonly name: string;
  /** The default as it would be written in the file; undefined when there is none or it is computed. */
  readonly default: string | undefined;
  /** How a computed default is found (`the host name`), for the docs. */
  readonly computedDefault?: string;
  readonly description: string;
  /** Older names still accepted, with a warning. */
  readonly aliases?: readonly { readonly section: SectionName; readonly name: string }[];
}

interface OptionSpec extends OptionDoc {
  /** The value in effect, as `describeOptions` shows it; absent for options another one shows (`provider`). */
  readonly show?: (options: OrchestratorOptions) => string | number | boolean | undefined;
}

const KNOWN_DRIVERS: readonly string[] = ['router', 'loadbalancer'];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
// The contract's rules for the values that end up in every appliance document.
const ID_RULE = /^[A-Za-z0-9_.:-]{1,255}$/;
// eslint-disable-next-line no-control-regex -- control characters are what the rule excludes
const SAFE_TEXT_RULE = /^[^\u0000-\u001f\u007f"'\\`{};$#]{1,255}$/;
// A day: long enough for any period or timeout, and far below the 24.8 days
// beyond which Node fires a timer at once.
const MAX_SECONDS = 86_400;

const spec = (
  section: SectionName,
  name: string,
  defaultValue: string | undefined,
  description: string,
  extra: Partial<Pick<OptionSpec, 'computedDefault' | 'aliases' | 'show'>> = {},
): OptionSpec => ({ section, name, default: defaultValue, description, ...extra });

const SPECS: readonly OptionSpec[] = [
  spec('DEFAULT', 'host', undefined, 'This orchestrator\'s name, sent to appliances as `orchestrator.host`.', {
    computedDefault: 'the host name',
    show: (o) => o.host,
  }),
  spec('DEFAULT', 'provider', 'local', 'Sets both network_provider and compute_provider: `local` or `openstack` (Neutron and Nova: see docs/openstack.md).'),
  spec('DEFAULT', 'network_provider', undefined, 'Where routers, networks and ports come from: `local` (the resource file) or `openstack` (Neutron).', {
    computedDefault: 'provider',
    show: (o) => o.networkProvider,
  }),
  spec('DEFAULT', 'compute_provider', undefined, 'What boots and stops appliances: `local` (namespaces on this host) or `nova` (Nova servers; `openstack` is the same; needs network_provider = openstack).', {
    computedDefault: 'provider',
    show: (o) => o.computeProvider,
  }),
  spec('DEFAULT', 'log_level', 'info', 'One of fatal, error, warn, info, debug, trace.', { show: (o) => o.logLevel }),
  spec('DEFAULT', 'state_path', DEFAULT_STATE_DIR, 'Where the orchestrator keeps its state (and, with the local provider, each appliance\'s).', {
    show: (o) => o.statePath,
  }),
  spec('DEFAULT', 'health_check_period', '60', 'Seconds between health polls of every resource.', { show: (o) => o.healthCheckPeriodS }),
  spec('DEFAULT', 'alive_timeout', '3', 'Seconds an appliance has to answer a status request.', { show: (o) => o.aliveTimeoutS }),
  spec('DEFAULT', 'config_timeout', '90', 'Seconds an appliance has to apply a pushed configuration.', { show: (o) => o.configTimeoutS }),
  spec('DEFAULT', 'max_retries', '3', 'Attempts of a status request or a configuration push before giving up.', { show: (o) => o.maxRetries }),
  spec('DEFAULT', 'retry_delay', '1', 'Seconds between those attempts.', { show: (o) => o.retryDelayS }),
  spec('DEFAULT', 'reboot_error_threshold', '5', 'Failed boots in a row before a resource goes to ERROR.', { show: (o) => o.rebootErrorThreshold }),
  spec('DEFAULT', 'error_state_cooldown', '30', 'Seconds a resource in ERROR is left alone before a new attempt.', {
    show: (o) => o.errorStateCooldownS,
  }),
  spec('DEFAULT', 'boot_timeout', '600', 'Seconds an appliance has to answer after it was booted.', { show: (o) => o.bootTimeoutS }),
  spec('DEFAULT', 'hotplug_timeout', '10', 'Seconds an interface plug or unplug may take.', { show: (o) => o.hotplugTimeoutS }),
  spec('DEFAULT', 'queue_warning_threshold', '100', 'Events waiting for one resource before a warning is logged.', {
    show: (o) => o.queueWarningThreshold,
  }),
  spec('DEFAULT', 'num_worker_processes', '16', 'Worker shards; tenants are spread over them.', { show: (o) => o.numWorkerProcesses }),
  spec('DEFAULT', 'num_worker_threads', '4', 'Resources handled at once per shard.', { show: (o) => o.numWorkerThreads }),
  spec('DEFAULT', 'enabled_drivers', 'router', 'Comma-separated resource kinds to manage: `router`, `loadbalancer`.', {
    show: (o) => o.enabledDrivers.join(', '),
  }),
  spec('DEFAULT', 'api_listen', '::1', 'Address of the admin API (the original listened on 0.0.0.0; loopback is the safe default).', {
    show: (o) => o.apiListen,
  }),
  spec(
    'DEFAULT',
    'admin_token_file',
    undefined,
    'File holding the bearer token the admin API and the console require (`Authorization: Bearer <token>`) on every route but the console\'s static files; required when api_listen is not a loopback address.',
    { show: (o) => o.adminTokenFile },
  ),
  spec('DEFAULT', 'api_port', '44250', 'Port of the admin API.', { aliases: [{ section: 'DEFAULT', name: 'rug_api_port' }], show: (o) => o.apiPort }),
  spec('DEFAULT', 'astara_metadata_port', String(DEFAULT_METADATA_PORT), 'Port the orchestrator answers the appliances\' metadata proxies on.', {
    show: (o) => o.astaraMetadataPort,
  }),
  spec('DEFAULT', 'management_network_id', 'a57a0000-0000-4000-8000-000000000000', 'Id of the network every appliance\'s first interface is on.', {
    show: (o) => o.managementNetworkId,
  }),
  spec(
    'DEFAULT',
    'management_prefix',
    'fdca:3ba5:a17a:acda::/64',
    'IPv6 /64 of the management network (appliance addresses are EUI-64 addresses of their MACs in it).',
    { show: (o) => o.managementPrefix },
  ),
  spec('DEFAULT', 'asn', '64512', 'BGP AS number of the appliances.', { show: (o) => o.asn }),
  spec('DEFAULT', 'neighbor_asn', '64512', 'BGP AS number of their upstream neighbour.', { show: (o) => o.neighborAsn }),
  spec('DEFAULT', 'provider_rules_path', '/etc/astara/provider_rules.json', 'JSON file whose `labels` go into every router document.', {
    show: (o) => o.providerRulesPath,
  }),
  spec('router', 'mgt_service_port', String(DEFAULT_API_PORT), 'Port of the router appliances\' agent API.', {
    aliases: [
      { section: 'DEFAULT', name: 'akanda_mgt_service_port' },
      { section: 'router', name: 'akanda_mgt_service_port' },
    ],
    show: (o) => o.router.mgtServicePort,
  }),
  spec('router', 'image_uuid', undefined, 'Image router appliances boot (compute providers with images).', {
    aliases: [{ section: 'DEFAULT', name: 'router_image_uuid' }],
    show: (o) => o.router.imageUuid,
  }),
  spec('router', 'instance_flavor', undefined, 'Nova flavor (id) router appliances boot with; required with compute_provider = nova.', {
    aliases: [{ section: 'DEFAULT', name: 'router_instance_flavor' }],
    show: (o) => o.router.instanceFlavor,
  }),
  spec('router', 'ipsec_vpn', 'false', 'Put each router\'s VPNaaS services (site-to-site IPsec) into its document; off, routers get no VPN.', {
    show: (o) => o.router.ipsecVpn,
  }),
  spec('loadbalancer', 'mgt_service_port', String(DEFAULT_API_PORT), 'Port of the load balancer appliances\' agent API.', {
    show: (o) => o.loadbalancer.mgtServicePort,
  }),
  spec('loadbalancer', 'image_uuid', undefined, 'Image load balancer appliances boot (compute providers with images).', { show: (o) => o.loadbalancer.imageUuid }),
  spec('loadbalancer', 'instance_flavor', undefined, 'Nova flavor (id) load balancer appliances boot with (compute_provider = nova).', { show: (o) => o.loadbalancer.instanceFlavor }),
  spec('appliance_tls', 'ca_file', undefined, 'CA that signed the appliances\' server certificates (all three options or none: HTTPS to appliances).', {
    show: (o) => o.applianceTls?.caFile,
  }),
  spec('appliance_tls', 'cert_file', undefined, 'The orchestrator\'s client certificate for the appliances.', {
    show: (o) => o.applianceTls?.certFile,
  }),
  spec('appliance_tls', 'key_file', undefined, 'Its private key.', { show: (o) => o.applianceTls?.keyFile }),
  spec('local', 'resources', undefined, 'Resource file (YAML or JSON, Neutron shapes); required with the local provider.', {
    show: (o) => o.local.resources,
  }),
  spec('local', 'management_address', undefined, 'The orchestrator\'s address on the management bridge; inside management_prefix.', {
    computedDefault: 'the management prefix\'s ::1',
    show: (o) => o.local.managementAddress,
  }),
  spec('local', 'agent_command', undefined, 'Command that starts an appliance agent (whitespace-separated words).', {
    computedDefault: 'the repository\'s bin/astara-appliance',
    show: (o) => o.local.agentCommand.join(' '),
  }),
  spec('local', 'stop_appliances_on_exit', 'false', 'Stop every appliance when the orchestrator stops (otherwise they keep running and are adopted).', {
    show: (o) => o.local.stopAppliancesOnExit,
  }),
  spec('local', 'agent_tls_cert', undefined, 'Server certificate handed to every agent (all three agent_tls options or none).', {
    show: (o) => o.local.agentTls?.certFile,
  }),
  spec('local', 'agent_tls_key', undefined, 'Its private key.', { show: (o) => o.local.agentTls?.keyFile }),
  spec('local', 'agent_tls_client_ca', undefined, 'CA the agents require their clients\' certificates to be signed by.', {
    show: (o) => o.local.agentTls?.clientCaFile,
  }),
  spec('local', 'appliances_path', undefined, 'Where the appliances\' records and agent state live; cluster members on one host share it, so whichever owns a router finds its appliance.', {
    computedDefault: 'state_path/appliances',
    show: (o) => o.local.appliancesPath,
  }),
  spec('DEFAULT', 'hash_partition_exponent', '5', 'Each cluster member has 2^this partitions on the hash ring.', { show: (o) => o.hashPartitionExponent }),
  spec('coordination', 'enabled', 'false', 'Share the resources among the orchestrators of group_id (a hash ring over the live members, kept in etcd).', {
    show: (o) => o.coordination.enabled,
  }),
  spec('coordination', 'url', 'etcd3+http://127.0.0.1:2379', 'The etcd cluster: comma-separated `etcd3+http://host:port` endpoints (the scheme may be left out after the first).', {
    show: (o) => o.coordination.endpoints.map((e) => `etcd3+${e}`).join(','),
  }),
  spec('coordination', 'group_id', 'astara.orchestrator', 'The group the orchestrators that share resources join.', { show: (o) => o.coordination.groupId }),
  spec('coordination', 'heartbeat_interval', '1', 'Seconds between renewals of this member\'s etcd lease.', { show: (o) => o.coordination.heartbeatIntervalS }),
  spec('coordination', 'lease_ttl', '10', 'Seconds after its last renewal that a silent member is dropped and its resources move (at least 2, above heartbeat_interval).', {
    show: (o) => o.coordination.leaseTtlS,
  }),
  // The OpenStack provider's, with oslo's names (docs/openstack.md).
  spec('DEFAULT', 'transport_url', undefined, 'RabbitMQ that carries Neutron\'s notifications: `rabbit://user:password@host:port/vhost` (hosts comma-separated); required with network_provider = openstack.', {
    show: (o) => o.openstack.transportUrls.map(redactedUrl).join(','),
  }),
  spec('DEFAULT', 'auth_region', undefined, 'Region of the service catalogue whose endpoints are used (any region when not set).', { show: (o) => o.openstack.authRegion }),
  spec('DEFAULT', 'endpoint_type', 'publicURL', 'Which catalogue endpoints are used: publicURL, internalURL or adminURL (or public, internal, admin).', {
    show: (o) => o.openstack.endpointType,
  }),
  spec('DEFAULT', 'management_subnet_id', undefined, 'Neutron subnet of the management ports (on management_network_id); Neutron chooses when not set.', {
    show: (o) => o.openstack.managementSubnetId,
  }),
  spec('keystone_authtoken', 'auth_url', undefined, 'Keystone, e.g. http://keystone:5000 (or its /v3); required with network_provider = openstack.', { show: (o) => o.openstack.authUrl }),
  spec('keystone_authtoken', 'username', undefined, 'The orchestrator\'s Keystone user (admin in its project: it reads every tenant\'s resources).', {
    show: (o) => o.openstack.username,
  }),
  spec('keystone_authtoken', 'password', undefined, 'Its password.', { show: (o) => (o.openstack.password === '' ? '' : '***') }),
  spec('keystone_authtoken', 'project_name', undefined, 'The project its token is scoped to.', { show: (o) => o.openstack.projectName }),
  spec('keystone_authtoken', 'user_domain_name', 'Default', 'Domain of the user.', { show: (o) => o.openstack.userDomainName }),
  spec('keystone_authtoken', 'project_domain_name', 'Default', 'Domain of the project.', { show: (o) => o.openstack.projectDomainName }),
];

/** Every option, for the docs and `--help`. */
export const OPTION_DOCS: readonly OptionDoc[] = SPECS;

export class OptionsError extends Error {
  constructor(
    readonly problems: readonly string[],
    /** Warnings found on the way (an unknown option is often a misspelt one the problems name). */
    readonly warnings: readonly string[] = [],
  ) {
    super(problems.join('\n'));
    this.name = 'OptionsError';
  }
}

const label = (section: string, name: string): string => `[${section}] ${name}`;

// bin/astara-appliance of the repository this module belongs to. It runs from
// orchestrator/ under tsx and from dist/orchestrator/ once built, so the root
// is found by walking up to package.json rather than by a fixed depth.
const DEFAULT_AGENT_COMMAND: readonly string[] = (() => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return [join(dir, 'bin', 'astara-appliance')];
    if (dirname(dir) === dir) return ['astara-appliance'];
  }
})();

/** Raw option values by label, with the warnings and problems of reading the file's structure. */
interface RawOptions {
  readonly values: Map<string, string>;
  readonly warnings: string[];
  readonly problems: string[];
}

function collect(parsed: Record<string, unknown>): RawOptions {
  const values = new Map<string, string>();
  const warnings: string[] = [];
  const problems: string[] = [];
  const known = new Map(SPECS.map((s) => [label(s.section, s.name), s]));
  const aliases = new Map(SPECS.flatMap((s) => (s.aliases ?? []).map((a) => [label(a.section, a.name), s] as const)));
  const fromAlias = new Set<string>();

  for (const [sectionName, content] of Object.entries(parsed)) {
    if (content === null || typeof content !== 'object' || Array.isArray(content)) {
      problems.push(`option ${sectionName} is outside any section (put it under [DEFAULT])`);
      continue;
    }
    if (!(SECTIONS as readonly string[]).includes(sectionName)) {
      warnings.push(`unknown section [${sectionName}]`);
      continue;
    }
    for (const [name, value] of Object.entries(content as Record<string, unknown>)) {
      const where = label(sectionName, name);
      // ini nests `[a.b]` sections and turns `name[]` keys into lists.
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        warnings.push(`unknown section [${sectionName}.${name}]`);
        continue;
      }
      const target = known.get(where) ?? aliases.get(where);
      if (!target) {
        warnings.push(`unknown option ${where}`);
        continue;
      }
      if (Array.isArray(value)) {
        problems.push(`${where}: give it once, as \`${name} = value\` (a list is comma-separated)`);
        continue;
      }
      const key = label(target.section, target.name);
      const text = typeof value === 'string' ? value.trim() : String(value);
      if (known.has(where)) {
        if (fromAlias.delete(key)) warnings.push(`${key} is also given by its deprecated name; ${key} wins`);
        values.set(key, text);
      } else if (values.has(key)) {
        warnings.push(`${where} is deprecated and ignored: ${key} is given too`);
      } else {
        warnings.push(`${where} is deprecated: use ${key}`);
        values.set(key, text);
        fromAlias.add(key);
      }
    }
  }
  return { values, warnings, problems };
}

/** Typed reads of the raw values; each problem is recorded and a placeholder returned (the caller throws). */
class Reader {
  constructor(
    private readonly values: ReadonlyMap<string, string>,
    readonly problems: string[],
  ) {}

  /** The value given in the file, or the option's own default. */
  raw(section: SectionName, name: string): string | undefined {
    return this.values.get(label(section, name)) ?? SPECS.find((s) => s.section === section && s.name === name)?.default;
  }

  given(section: SectionName, name: string): boolean {
    return this.values.has(label(section, name));
  }

  problem(section: SectionName, name: string, message: string): void {
    this.problems.push(`${label(section, name)}: ${message}`);
  }

  /** A value that is absent when empty. */
  optional(section: SectionName, name: string): string | undefined {
    const value = this.raw(section, name);
    return value === undefined || value === '' ? undefined : value;
  }

  integer(section: SectionName, name: string, min: number, max: number): number {
    const value = this.raw(section, name) ?? '';
    if (!/^[+-]?\d+$/.test(value)) {
      this.problem(section, name, `must be a whole number, not "${value}"`);
      return NaN;
    }
    return this.inRange(section, name, Number(value), min, max);
  }

  /** A duration in seconds; decimals allowed. `positive`: zero is not allowed either. */
  seconds(section: SectionName, name: string, positive: boolean): number {
    const value = this.raw(section, name) ?? '';
    if (!/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/.test(value)) {
      this.problem(section, name, `must be a number of seconds, not "${value}"`);
      return NaN;
    }
    const seconds = Number(value);
    if (positive && seconds <= 0) {
      this.problem(section, name, `must be more than 0 seconds, not ${value}`);
      return NaN;
    }
    return this.inRange(section, name, seconds, 0, MAX_SECONDS);
  }

  port(section: SectionName, name: string): number {
    return this.integer(section, name, 1, 65535);
  }

  boolean(section: SectionName, name: string): boolean {
    const value = (this.raw(section, name) ?? '').toLowerCase();
    if (['true', 'yes', '1'].includes(value)) return true;
    if (['false', 'no', '0'].includes(value)) return false;
    this.problem(section, name, `must be true or false (yes/no, 1/0), not "${value}"`);
    return false;
  }

  /** A path; relative ones are relative to the directory of the file they were read from. */
  path(section: SectionName, name: string, base: string): string | undefined {
    const value = this.optional(section, name);
    return value === undefined ? undefined : resolve(base, value);
  }

  private inRange(section: SectionName, name: string, value: number, min: number, max: number): number {
    if (value < min || value > max) {
      this.problem(section, name, `must be between ${min} and ${max}, not ${value}`);
      return NaN;
    }
    return value;
  }
}

/** The provider named; undefined (and a problem) for an unknown one. */
function provider(reader: Reader, name: 'network_provider' | 'compute_provider'): 'local' | 'openstack' | undefined {
  const value = reader.given('DEFAULT', name) ? reader.raw('DEFAULT', name) : reader.raw('DEFAULT', 'provider');
  const where = reader.given('DEFAULT', name) ? name : 'provider';
  if (value === 'local') return 'local';
  // Nova is OpenStack's compute service: `compute_provider = nova` says which.
  if (value === 'openstack' || (value === 'nova' && name === 'compute_provider')) return 'openstack';
  reader.problem('DEFAULT', where, where === 'compute_provider' ? `must be local or nova (or openstack), not "${value ?? ''}"` : `must be local or openstack, not "${value ?? ''}"`);
  return undefined;
}

/** `[keystone_authtoken]` and the OpenStack `[DEFAULT]` options; the ones without a default are required with the openstack network provider. */
function openStackOptions(reader: Reader, required: boolean): OrchestratorOptions['openstack'] {
  const need = (section: SectionName, name: string): string => {
    const value = reader.optional(section, name);
    if (value === undefined && required) reader.problem(section, name, 'is required with network_provider = openstack');
    return value ?? '';
  };
  const transport = need('DEFAULT', 'transport_url');
  let transportUrls: string[] = [];
  try {
    transportUrls = transport === '' ? [] : amqpUrlsOf(transport);
  } catch (error) {
    reader.problem('DEFAULT', 'transport_url', (error as Error).message);
  }
  const endpointTypeText = reader.raw('DEFAULT', 'endpoint_type') ?? '';
  const endpointType = endpointInterfaceOf(endpointTypeText);
  if (endpointType === undefined) reader.problem('DEFAULT', 'endpoint_type', `must be publicURL, internalURL or adminURL, not "${endpointTypeText}"`);
  const authUrl = need('keystone_authtoken', 'auth_url');
  if (authUrl !== '' && !/^https?:\/\/[^/\s]+(\/\S*)?$/.test(authUrl)) reader.problem('keystone_authtoken', 'auth_url', `must be an http:// or https:// URL, not "${authUrl}"`);
  return {
    transportUrls,
    authRegion: reader.optional('DEFAULT', 'auth_region'),
    endpointType: endpointType ?? 'public',
    managementSubnetId: identifier(reader, 'DEFAULT', 'management_subnet_id'),
    authUrl,
    username: need('keystone_authtoken', 'username'),
    password: need('keystone_authtoken', 'password'),
    projectName: need('keystone_authtoken', 'project_name'),
    userDomainName: need('keystone_authtoken', 'user_domain_name'),
    projectDomainName: need('keystone_authtoken', 'project_domain_name'),
  };
}

function logLevel(reader: Reader): OrchestratorOptions['logLevel'] {
  const value = (reader.raw('DEFAULT', 'log_level') ?? '').toLowerCase();
  const level = value === 'warning' ? 'warn' : value;
  const found = LOG_LEVELS.find((l) => l === level);
  if (!found) reader.problem('DEFAULT', 'log_level', `must be one of ${LOG_LEVELS.join(', ')}, not "${value}"`);
  return found ?? 'info';
}

function hostName(reader: Reader): string {
  const value = reader.raw('DEFAULT', 'host') ?? hostname();
  if (!SAFE_TEXT_RULE.test(value)) {
    reader.problem('DEFAULT', 'host', 'must be 1 to 255 characters without control characters or any of " \' \\ ` { } ; $ #');
  }
  return value;
}

function identifier(reader: Reader, section: SectionName, name: string): string | undefined {
  const value = reader.optional(section, name);
  if (value !== undefined && !ID_RULE.test(value)) {
    reader.problem(section, name, 'must be 1 to 255 letters, digits or any of _ . : -');
  }
  return value;
}

function enabledDrivers(reader: Reader): string[] {
  const drivers = (reader.raw('DEFAULT', 'enabled_drivers') ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '');
  if (drivers.length === 0) reader.problem('DEFAULT', 'enabled_drivers', 'must name at least one driver');
  for (const driver of drivers) {
    if (!KNOWN_DRIVERS.includes(driver)) reader.problem('DEFAULT', 'enabled_drivers', `unknown driver "${driver}" (known: ${KNOWN_DRIVERS.join(', ')})`);
  }
  return [...new Set(drivers)];
}

function address(reader: Reader, section: SectionName, name: string): string {
  const value = reader.raw(section, name) ?? '';
  const parsed = parseAddress(value);
  if (!parsed) reader.problem(section, name, `must be an IPv4 or IPv6 address, not "${value}"`);
  return parsed?.text ?? value;
}

/** Whether only this host can reach an address (`::1`, 127.0.0.0/8, `::ffff:127.0.0.1`); a wildcard reaches every interface. */
function isLoopback(listen: string): boolean {
  return ipaddr.process(listen).range() === 'loopback';
}

/** `[coordination]`: the etcd endpoints as `http://host:port` (only plain HTTP: no TLS options yet). */
function coordinationOptions(reader: Reader): OrchestratorOptions['coordination'] {
  const url = reader.raw('coordination', 'url') ?? '';
  const endpoints: string[] = [];
  for (const [index, part] of url.split(',').map((p) => p.trim()).entries()) {
    const match = /^(?:(etcd3\+http|[a-z0-9+]+):\/\/)?([^/\s]+):(\d{1,5})\/?$/.exec(part);
    const scheme = match?.[1] ?? (index > 0 ? 'etcd3+http' : undefined);
    const port = Number(match?.[3]);
    if (!match || scheme !== 'etcd3+http' || port < 1 || port > 65535) {
      reader.problem('coordination', 'url', `must be etcd3+http://host:port endpoints separated by commas, not "${part}"`);
      continue;
    }
    endpoints.push(`http://${match[2]!}:${match[3]!}`);
  }
  const heartbeatIntervalS = reader.seconds('coordination', 'heartbeat_interval', true);
  const leaseTtlS = reader.integer('coordination', 'lease_ttl', 2, 3600);
  if (leaseTtlS <= heartbeatIntervalS) reader.problem('coordination', 'lease_ttl', `must be more than heartbeat_interval (${heartbeatIntervalS} s), not ${leaseTtlS}`);
  const groupId = reader.raw('coordination', 'group_id') ?? '';
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(groupId)) reader.problem('coordination', 'group_id', `must be 1 to 100 letters, digits, '_', '.' or '-', not "${groupId}"`);
  return { enabled: reader.boolean('coordination', 'enabled'), endpoints, groupId, heartbeatIntervalS, leaseTtlS };
}

function managementPrefix(reader: Reader): ParsedCidr | undefined {
  const value = reader.raw('DEFAULT', 'management_prefix') ?? '';
  const cidr = parseCidr(value);
  if (cidr?.family !== 6 || cidr.prefix !== 64 || cidr.cidr !== cidr.network) {
    // Appliance management addresses are EUI-64 addresses made from their MACs, as SLAAC would.
    reader.problem('DEFAULT', 'management_prefix', `must be an IPv6 network with prefix length 64 (such as fdca:3ba5:a17a:acda::/64), not "${value}"`);
    return undefined;
  }
  return cidr;
}

function managementAddress(reader: Reader, prefix: ParsedCidr | undefined): string {
  const value = reader.optional('local', 'management_address');
  if (value === undefined) {
    if (!prefix) return '';
    const bytes = prefix.addr.toByteArray();
    bytes[15] = 1;
    return ipaddr.fromByteArray(bytes).toString();
  }
  const parsed = parseAddress(value);
  if (parsed?.family !== 6) reader.problem('local', 'management_address', `must be an IPv6 address, not "${value}"`);
  else if (prefix && !contains(prefix, parsed)) reader.problem('local', 'management_address', `${value} is not inside management_prefix ${prefix.network}`);
  return parsed?.text ?? value;
}

/** All of a group of path options or none of them. */
function allOrNone<K extends string>(
  reader: Reader,
  section: SectionName,
  names: Record<K, string>,
  base: string,
): Record<K, string> | undefined {
  const entries = Object.entries(names) as [K, string][];
  const paths = entries.map(([key, name]) => [key, reader.path(section, name, base)] as const);
  const missing = entries.filter((_, i) => paths[i]?.[1] === undefined).map(([, name]) => name);
  if (missing.length === entries.length) return undefined;
  for (const name of missing) {
    reader.problem(section, name, `is required when any of ${entries.map(([, n]) => n).join(', ')} is set`);
  }
  if (missing.length > 0) return undefined;
  return Object.fromEntries(paths) as Record<K, string>;
}

/**
 * Reads the options from the text of an INI file. Throws OptionsError naming
 * every invalid option; unknown sections and options are warnings.
 * `file` is where the text came from: relative paths in it are relative to
 * its directory (to the working directory without one).
 */
export function parseOptions(text: string, file?: string): { options: OrchestratorOptions; warnings: string[] } {
  const { values, warnings, problems } = collect(ini.parse(text));
  const reader = new Reader(values, problems);
  const base = file === undefined ? process.cwd() : dirname(resolve(file));

  const networkChoice = provider(reader, 'network_provider');
  // An unknown provider is its own problem: it needs no resource file.
  const networkProvider = networkChoice ?? 'openstack';
  const computeChoice = provider(reader, 'compute_provider');
  const computeProvider = computeChoice === 'openstack' ? 'nova' : 'local';
  if (computeChoice === 'openstack' && networkChoice === 'local') {
    reader.problem('DEFAULT', 'compute_provider', 'nova needs network_provider = openstack: Nova plugs Neutron\'s ports');
  }
  const prefix = managementPrefix(reader);
  const resources = reader.path('local', 'resources', base);
  if (resources === undefined && networkProvider === 'local') {
    reader.problem('local', 'resources', 'is required with the local provider (the resource file, YAML or JSON)');
  }
  const applianceTls = allOrNone(reader, 'appliance_tls', { caFile: 'ca_file', certFile: 'cert_file', keyFile: 'key_file' }, base);
  const agentTls = allOrNone(reader, 'local', { certFile: 'agent_tls_cert', keyFile: 'agent_tls_key', clientCaFile: 'agent_tls_client_ca' }, base);
  // The orchestrator speaks HTTPS to the agents exactly when the agents it starts serve it.
  if (computeProvider === 'local' && (applianceTls === undefined) !== (agentTls === undefined)) {
    problems.push(
      '[appliance_tls] and [local] agent_tls_cert, agent_tls_key, agent_tls_client_ca must be set together with the local provider: the orchestrator uses HTTPS exactly when the agents it starts serve it',
    );
  }
  const agentCommand = reader.optional('local', 'agent_command')?.split(/\s+/) ?? DEFAULT_AGENT_COMMAND;
  const coordination = coordinationOptions(reader);
  if (coordination.enabled && reader.boolean('local', 'stop_appliances_on_exit')) {
    reader.problem('local', 'stop_appliances_on_exit', 'cannot be true with [coordination] enabled: the other members adopt a stopping member\'s appliances');
  }
  const apiListen = address(reader, 'DEFAULT', 'api_listen');
  const adminTokenFile = reader.path('DEFAULT', 'admin_token_file', base);
  // An address that is not one is reported by itself.
  if (adminTokenFile === undefined && ipaddr.isValid(apiListen) && !isLoopback(apiListen)) {
    reader.problem('DEFAULT', 'admin_token_file', `is required when api_listen (${apiListen}) is not a loopback address: anyone who reaches the admin API could rebuild every appliance`);
  }
  const managementNetworkId = identifier(reader, 'DEFAULT', 'management_network_id');
  if (managementNetworkId === undefined) reader.problem('DEFAULT', 'management_network_id', 'must not be empty');

  const options: OrchestratorOptions = {
    configFile: file === undefined ? undefined : resolve(file),
    host: hostName(reader),
    networkProvider,
    computeProvider,
    logLevel: logLevel(reader),
    statePath: reader.path('DEFAULT', 'state_path', base) ?? '',
    healthCheckPeriodS: reader.seconds('DEFAULT', 'health_check_period', true),
    aliveTimeoutS: reader.seconds('DEFAULT', 'alive_timeout', true),
    configTimeoutS: reader.seconds('DEFAULT', 'config_timeout', true),
    maxRetries: reader.integer('DEFAULT', 'max_retries', 1, 100),
    retryDelayS: reader.seconds('DEFAULT', 'retry_delay', false),
    rebootErrorThreshold: reader.integer('DEFAULT', 'reboot_error_threshold', 1, 1000),
    errorStateCooldownS: reader.seconds('DEFAULT', 'error_state_cooldown', false),
    bootTimeoutS: reader.seconds('DEFAULT', 'boot_timeout', true),
    hotplugTimeoutS: reader.seconds('DEFAULT', 'hotplug_timeout', true),
    queueWarningThreshold: reader.integer('DEFAULT', 'queue_warning_threshold', 1, 1_000_000),
    numWorkerProcesses: reader.integer('DEFAULT', 'num_worker_processes', 1, 1024),
    numWorkerThreads: reader.integer('DEFAULT', 'num_worker_threads', 1, 1024),
    enabledDrivers: enabledDrivers(reader),
    apiListen,
    adminTokenFile,
    apiPort: reader.port('DEFAULT', 'api_port'),
    astaraMetadataPort: reader.port('DEFAULT', 'astara_metadata_port'),
    managementNetworkId: managementNetworkId ?? '',
    managementPrefix: prefix?.network ?? '',
    asn: reader.integer('DEFAULT', 'asn', 1, 4_294_967_295),
    neighborAsn: reader.integer('DEFAULT', 'neighbor_asn', 1, 4_294_967_295),
    providerRulesPath: reader.path('DEFAULT', 'provider_rules_path', base) ?? '',
    router: {
      mgtServicePort: reader.port('router', 'mgt_service_port'),
      imageUuid: identifier(reader, 'router', 'image_uuid'),
      instanceFlavor: identifier(reader, 'router', 'instance_flavor'),
      ipsecVpn: reader.boolean('router', 'ipsec_vpn'),
    },
    loadbalancer: {
      mgtServicePort: reader.port('loadbalancer', 'mgt_service_port'),
      imageUuid: identifier(reader, 'loadbalancer', 'image_uuid'),
      instanceFlavor: identifier(reader, 'loadbalancer', 'instance_flavor'),
    },
    applianceTls,
    local: {
      resources: resources ?? '',
      managementAddress: managementAddress(reader, prefix),
      agentCommand,
      stopAppliancesOnExit: reader.boolean('local', 'stop_appliances_on_exit'),
      agentTls,
      appliancesPath: reader.path('local', 'appliances_path', base) ?? join(reader.path('DEFAULT', 'state_path', base) ?? '', 'appliances'),
    },
    hashPartitionExponent: reader.integer('DEFAULT', 'hash_partition_exponent', 0, 16),
    coordination,
    openstack: openStackOptions(reader, networkChoice === 'openstack'),
  };
  // `provider` stands for two options, so its problem would come twice.
  if (problems.length > 0) throw new OptionsError([...new Set(problems)], warnings);
  return { options, warnings };
}

/**
 * Reads the options from `file`, or from /etc/astara/orchestrator.ini when it
 * exists, or the defaults. Warnings go to `onWarning`; every problem, including
 * a TLS file that cannot be read, comes out in one OptionsError.
 */
export async function loadOptions(
  file: string | undefined,
  onWarning: (warning: string) => void = (warning) => process.emitWarning(warning, 'OptionsWarning'),
): Promise<OrchestratorOptions> {
  let text = '';
  let source = file;
  try {
    text = await readFile(file ?? DEFAULT_CONFIG_FILE, 'utf8');
    source = file ?? DEFAULT_CONFIG_FILE;
  } catch (error) {
    if (file !== undefined || (error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new OptionsError([`cannot read the configuration file ${file ?? DEFAULT_CONFIG_FILE}: ${(error as Error).message}`]);
    }
  }
  let parsed: { options: OrchestratorOptions; warnings: string[] };
  try {
    parsed = parseOptions(text, source);
  } catch (error) {
    if (error instanceof OptionsError) error.warnings.forEach(onWarning);
    throw error;
  }
  parsed.warnings.forEach(onWarning);
  const { options } = parsed;
  const files: [string, string | undefined][] = [
    ['[DEFAULT] admin_token_file', options.adminTokenFile],
    ['[appliance_tls] ca_file', options.applianceTls?.caFile],
    ['[appliance_tls] cert_file', options.applianceTls?.certFile],
    ['[appliance_tls] key_file', options.applianceTls?.keyFile],
    ['[local] agent_tls_cert', options.local.agentTls?.certFile],
    ['[local] agent_tls_key', options.local.agentTls?.keyFile],
    ['[local] agent_tls_client_ca', options.local.agentTls?.clientCaFile],
  ];
  const unreadable = await Promise.all(
    files.map(async ([where, path]) => {
      if (path === undefined) return undefined;
      try {
        await access(path, constants.R_OK);
        return undefined;
      } catch (error) {
        return `${where}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
      }
    }),
  );
  const problems = unreadable.filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw new OptionsError(problems);
  return options;
}

/** `[section] name = value` for every option in effect (paths only: the options hold no secret). */
export function describeOptions(options: OrchestratorOptions): string[] {
  return SPECS.flatMap((s) => (s.show ? [`${label(s.section, s.name)} = ${String(s.show(options) ?? '')}`] : []));
}
