// The local provider's appliances: one network namespace per appliance, its
// interfaces veth pairs whose host ends sit on the networks' bridges, and the
// real agent running inside, detached, so it outlives the orchestrator. What
// was booted is recorded under the state directory and always checked against
// the system before it is believed: that is how a restarted orchestrator adopts
// the appliances that kept running, without rebooting any of them.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { isApplianceOf } from '../../core/driver.js';
import type { ResourceRef } from '../../core/events.js';
import type { NeutronPort } from '../../model/neutron.js';
import type { BootRequest, ComputeProvider, InstanceInfo, InstanceStatus } from '../types.js';
import { ip, ipJson, isMissingFile, messageOf, NETNS_DIR, runCommand, writeJsonAtomic } from './commands.js';
import { bridgeName, tapName } from './host.js';

const AGENT_BINARY = 'astara-appliance';
const CONFIGURE_BINARY = 'astara-configure-management';
const RECORD_FILE = 'instance.json';
/** First boot starts a Node process: seconds on a loaded two-core machine. */
const CONFIGURE_TIMEOUT_MS = 60_000;
/** What destroy keeps, of its time budget, for SIGKILL to take effect. */
const KILL_WAIT_MS = 2000;
const POLL_MS = 20;
/** How long a boot that finds the namespace made waits for the record its booter writes next. */
const RECORD_WAIT_MS = 2000;
/** How long undoing a failed boot may take: its agent, if it started at all, has nothing to stop yet. */
const UNDO_TIMEOUT_MS = 10_000;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface AgentTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile: string;
}

export interface LocalComputeOptions {
  /** `<state_path>/appliances`: one directory per appliance. */
  readonly stateDir: string;
  /** The agent's command; default `<package>/bin/astara-appliance`. */
  readonly agentCommand?: readonly string[];
  /** The first-boot command; default `astara-configure-management` beside the agent command's program. */
  readonly configureCommand?: readonly string[];
  /** The orchestrator's network namespace, where the bridges are; default the current one. */
  readonly hostNetns?: string;
  readonly logger: Logger;
  readonly agentTls?: AgentTls;
}

/** A port as plugged: the appliance's name for it and the host end of its veth pair. */
export interface PluggedPort {
  readonly port: NeutronPort;
  readonly interface: string;
  readonly hostInterface: string;
}

const pluggedAs = (port: NeutronPort, ifname: string): PluggedPort => ({ port, interface: ifname, hostInterface: tapName(port.id) });

/** `<stateDir>/<name>/instance.json`. */
export interface InstanceRecord {
  readonly id: string;
  readonly name: string;
  readonly bootedAt: number;
  readonly resource: ResourceRef;
  readonly management: PluggedPort;
  readonly ports: readonly PluggedPort[];
  /**
   * The agent's pid and its start time (`/proc/<pid>/stat` field 22), so a
   * recycled pid is never taken for it; null while the boot is under way (the
   * record is written as soon as the namespace is made, so another
   * orchestrator that takes the resource over meanwhile sees the boot).
   */
  readonly agent: { readonly pid: number; readonly startTime: number } | null;
}

// ---------------------------------------------------------------------------
// Pure parts.

/** The directory holding `bin/astara-appliance`: the sources (run by tsx) and the build in dist/ both sit below it. */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'bin', AGENT_BINARY))) return dir;
    if (dirname(dir) === dir) throw new Error(`no bin/${AGENT_BINARY} in ${from} or any directory above it`);
  }
}

export const defaultAgentCommand = (): string[] => [join(packageRoot(), 'bin', AGENT_BINARY)];

/** `astara-configure-management` beside the agent's program (its last argument, after any interpreter). */
export function configureCommandFor(agentCommand: readonly string[]): string[] {
  const program = agentCommand[agentCommand.length - 1];
  if (program === undefined || basename(program) !== AGENT_BINARY) {
    throw new Error(`cannot find the first-boot command beside agent command "${agentCommand.join(' ')}" (it does not end in ${AGENT_BINARY}): give configureCommand`);
  }
  return [...agentCommand.slice(0, -1), join(dirname(program), CONFIGURE_BINARY)];
}

/** The lowest `ethN` not in use, as the kernel names a new NIC. */
export function nextInterfaceName(used: Iterable<string>): string {
  const taken = new Set(used);
  let n = 0;
  while (taken.has(`eth${n}`)) n++;
  return `eth${n}`;
}

/** Namespace names become file names under /run/netns and directory names under the state directory. */
const INSTANCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$/;

/** The process state and start time from the text of `/proc/<pid>/stat`. */
export function parseProcStat(text: string): { state: string; startTime: number } | undefined {
  // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = Number(fields[19]);
  if (!state || !Number.isSafeInteger(startTime)) return undefined;
  return { state, startTime };
}

/** `ip link add` arguments for one veth pair: the host end on the network's bridge, the appliance end in the namespace. */
export function vethArgs(port: NeutronPort, ifname: string, namespace: string, mtu: number | undefined): string[] {
  const mtuArgs = mtu === undefined ? [] : ['mtu', String(mtu)];
  return [
    'link', 'add', tapName(port.id), ...mtuArgs, 'master', bridgeName(port.network_id), 'up',
    'type', 'veth', 'peer', 'name', ifname, 'address', port.mac_address, ...mtuArgs, 'netns', namespace,
  ];
}

export interface AgentLaunch {
  readonly namespace: string;
  readonly initScript: string;
  readonly agentCommand: readonly string[];
  readonly stateDir: string;
  readonly port: number;
  readonly tls: AgentTls | undefined;
}

/**
 * The agent's command line: inside the namespace, in private mount and UTS
 * namespaces, through the init script. No `--listen`: the agent listens on the
 * address the first-boot command recorded, as on a real appliance.
 */
export function agentArgv(launch: AgentLaunch): string[] {
  const { tls } = launch;
  return [
    'ip', 'netns', 'exec', launch.namespace, 'unshare', '--mount', '--uts', '--propagation', 'private', '--',
    'sh', launch.initScript, ...launch.agentCommand, 'serve', '--state-dir', launch.stateDir, '--port', String(launch.port),
    ...(tls ? ['--tls-cert', tls.certFile, '--tls-key', tls.keyFile, '--tls-client-ca', tls.clientCaFile] : []),
  ];
}

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw new Error(`${what} is not a non-empty string`);
  return value;
}

function requireInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error(`${what} is not a non-negative integer`);
  return value;
}

function parsePort(value: unknown, what: string): NeutronPort {
  if (typeof value !== 'object' || value === null) throw new Error(`${what} is not an object`);
  const port = value as Record<string, unknown>;
  for (const field of ['id', 'network_id', 'mac_address']) requireString(port[field], `${what}.${field}`);
  if (!Array.isArray(port.fixed_ips)) throw new Error(`${what}.fixed_ips is not a list`);
  return value as NeutronPort;
}

function parsePlugged(value: unknown, what: string): PluggedPort {
  if (typeof value !== 'object' || value === null) throw new Error(`${what} is not an object`);
  const plugged = value as Record<string, unknown>;
  return {
    port: parsePort(plugged.port, `${what}.port`),
    interface: requireString(plugged.interface, `${what}.interface`),
    hostInterface: requireString(plugged.hostInterface, `${what}.hostInterface`),
  };
}

/** Check a record read back from disk; throws naming the file and the field. */
export function parseInstanceRecord(value: unknown, source: string): InstanceRecord {
  try {
    if (typeof value !== 'object' || value === null) throw new Error('not a JSON object');
    const record = value as Record<string, unknown>;
    const resource = record.resource as Record<string, unknown> | null | undefined;
    if (typeof resource !== 'object' || resource === null) throw new Error('resource is not an object');
    const agent = record.agent as Record<string, unknown> | null | undefined;
    if (typeof agent !== 'object') throw new Error('agent is not an object or null');
    if (!Array.isArray(record.ports)) throw new Error('ports is not a list');
    return {
      id: requireString(record.id, 'id'),
      name: requireString(record.name, 'name'),
      bootedAt: requireInteger(record.bootedAt, 'bootedAt'),
      resource: {
        driver: requireString(resource.driver, 'resource.driver'),
        id: requireString(resource.id, 'resource.id'),
        tenantId: typeof resource.tenantId === 'string' ? resource.tenantId : '',
      },
      management: parsePlugged(record.management, 'management'),
      ports: record.ports.map((p, i) => parsePlugged(p, `ports[${i}]`)),
      agent: agent === null ? null : { pid: requireInteger(agent.pid, 'agent.pid'), startTime: requireInteger(agent.startTime, 'agent.startTime') },
    };
  } catch (error) {
    throw new Error(`${source}: ${messageOf(error)}`);
  }
}

// ---------------------------------------------------------------------------
// Processes.

function procStat(pid: number): { state: string; startTime: number } | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** A zombie counts as gone: it holds no socket or address any more. */
const isRunning = (pid: number): boolean => {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z';
};

const isAgentRunning = (agent: NonNullable<InstanceRecord['agent']>): boolean => {
  const stat = procStat(agent.pid);
  return stat !== undefined && stat.state !== 'Z' && stat.startTime === agent.startTime;
};

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** Poll `check` until it holds or `deadline` (ms since the epoch) passes; true when it held. */
async function pollUntil(check: () => boolean, deadline: number): Promise<boolean> {
  for (;;) {
    if (check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

const namespaceExists = (name: string): boolean => existsSync(join(NETNS_DIR, name));

async function namespacePids(name: string): Promise<number[]> {
  const { stdout } = await runCommand(['ip', 'netns', 'pids', name], { allowFailure: true });
  return stdout.split(/\s+/).filter(Boolean).map(Number);
}

// ---------------------------------------------------------------------------

export class LocalCompute implements ComputeProvider {
  readonly #stateDir: string;
  readonly #agentCommand: readonly string[];
  readonly #configureCommand: readonly string[];
  readonly #initScript: string;
  readonly #hostNetns: string | undefined;
  readonly #logger: Logger;
  readonly #agentTls: AgentTls | undefined;

  constructor(options: LocalComputeOptions) {
    this.#stateDir = options.stateDir;
    this.#agentCommand = options.agentCommand ?? defaultAgentCommand();
    if (this.#agentCommand.length === 0) throw new Error('agentCommand is empty');
    this.#configureCommand = options.configureCommand ?? configureCommandFor(this.#agentCommand);
    this.#initScript = join(packageRoot(), 'orchestrator', 'providers', 'local', 'appliance-init.sh');
    this.#hostNetns = options.hostNetns;
    this.#logger = options.logger;
    this.#agentTls = options.agentTls;
  }

  async listInstances(name: string): Promise<InstanceInfo[]> {
    return (await this.#records((candidate) => isApplianceOf(candidate, name))).map((record) => this.#info(record));
  }

  async listAllInstances(): Promise<InstanceInfo[]> {
    return (await this.#records(() => true)).map((record) => this.#info(record));
  }

  async getInstance(id: string): Promise<InstanceInfo | undefined> {
    const record = (await this.#records(() => true)).find((r) => r.id === id);
    return record && this.#info(record);
  }

  async boot(request: BootRequest): Promise<InstanceInfo> {
    const { name } = request;
    if (!INSTANCE_NAME.test(name)) throw new Error(`boot: ${JSON.stringify(name)} is not usable as a namespace name`);
    const log = this.#logger.child({ resource: request.resource.id, instance: name });
    if (namespaceExists(name)) return this.#adoptBooting(name, log);
    const agentStateDir = this.#agentStateDir(name);
    const hostInterfaces: string[] = [];
    let namespaceMade = false;
    let step = 'create the namespace';
    try {
      await runCommand(['ip', 'netns', 'add', name]);
      namespaceMade = true;
      step = 'prepare the state directory';
      // Whatever an earlier appliance of this name left there must not be re-applied by the new agent.
      await rm(this.#instanceDir(name), { recursive: true, force: true });
      await mkdir(agentStateDir, { recursive: true });
      step = 'record the boot';
      const [management, ...ports] = [request.managementPort, ...request.ports].map((port, index) => pluggedAs(port, `eth${index}`));
      const booting: InstanceRecord = { id: randomUUID(), name, bootedAt: Date.now(), resource: request.resource, management: management!, ports, agent: null };
      await writeJsonAtomic(this.#recordPath(name), booting);
      step = 'bring lo up';
      await ip(name, ['link', 'set', 'lo', 'up']);

      const plugged: PluggedPort[] = [];
      for (const [index, port] of [request.managementPort, ...request.ports].entries()) {
        step = `plug port ${port.id} (network ${port.network_id}) as eth${index}`;
        plugged.push(await this.#plug(name, port, `eth${index}`, request.mtus[port.network_id]));
        hostInterfaces.push(tapName(port.id));
      }

      step = 'configure the management interface';
      const managementMtu = request.mtus[request.managementPort.network_id];
      await runCommand(
        [
          'ip', 'netns', 'exec', name, ...this.#configureCommand, request.managementPort.mac_address, request.managementInterface,
          '--state-dir', agentStateDir, ...(managementMtu === undefined ? [] : ['--mtu', String(managementMtu)]),
        ],
        { timeoutMs: CONFIGURE_TIMEOUT_MS },
      );

      step = 'start the agent';
      const agent = await this.#startAgent(name, request.servicePort, log);

      step = 'record the instance';
      const record: InstanceRecord = { ...booting, management: plugged[0]!, ports: plugged.slice(1), agent };
      await writeJsonAtomic(this.#recordPath(name), record);
      log.info({ instance_id: record.id, agent_pid: agent.pid, ports: ports.map((p) => p.port.id) }, 'appliance booted');
      return { ...this.#info(record), status: 'BUILD' };
    } catch (error) {
      const failure = new Error(`boot ${name}: ${step}: ${messageOf(error)}`);
      if (namespaceMade) {
        await this.#teardown(name, hostInterfaces, Date.now() + UNDO_TIMEOUT_MS).catch((undoError: unknown) => {
          log.error({ err: undoError }, 'could not undo a failed boot');
        });
      }
      log.error({ err: failure }, 'boot failed');
      throw failure;
    }
  }

  async destroy(instances: readonly InstanceInfo[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const failures: string[] = [];
    await Promise.all(
      instances.map(async (instance) => {
        try {
          const record = await this.#readRecord(instance.name).catch(() => undefined);
          const plugged = [instance.managementPort, ...instance.ports, record?.management.port, ...(record?.ports ?? []).map((p) => p.port)];
          const hostInterfaces = [...new Set(plugged.filter((p) => p !== undefined).map((p) => tapName(p.id)))];
          await this.#teardown(instance.name, hostInterfaces, deadline);
          this.#logger.info({ resource: record?.resource.id, instance: instance.name, instance_id: instance.id }, 'appliance destroyed');
        } catch (error) {
          failures.push(`${instance.name}: ${messageOf(error)}`);
        }
      }),
    );
    if (failures.length > 0) throw new Error(`destroy: ${failures.join('; ')}`);
  }

  async attachInterface(instance: InstanceInfo, port: NeutronPort, mtu: number | undefined): Promise<InstanceInfo> {
    const record = await this.#runningRecord(instance, 'attach');
    const existing = [record.management, ...record.ports].find((p) => p.port.id === port.id);
    if (existing) throw new Error(`attach: port ${port.id} is already plugged into ${record.name} as ${existing.interface}`);
    const links = await ipJson<{ ifname: string }>(record.name, ['link', 'show']);
    const ifname = nextInterfaceName([...links.map((l) => l.ifname), record.management.interface, ...record.ports.map((p) => p.interface)]);
    let plugged: PluggedPort;
    try {
      plugged = await this.#plug(record.name, port, ifname, mtu);
    } catch (error) {
      throw new Error(`attach ${record.name}: plug port ${port.id} (network ${port.network_id}) as ${ifname}: ${messageOf(error)}`);
    }
    const updated: InstanceRecord = { ...record, ports: [...record.ports, plugged] };
    try {
      await writeJsonAtomic(this.#recordPath(record.name), updated);
    } catch (error) {
      await this.#deleteHostInterfaces([plugged.hostInterface]).catch(() => undefined);
      throw new Error(`attach ${record.name}: record port ${port.id}: ${messageOf(error)}`);
    }
    this.#logger.info({ resource: record.resource.id, instance: record.name, port: port.id, interface: ifname }, 'interface attached');
    return this.#info(updated);
  }

  async detachInterface(instance: InstanceInfo, port: NeutronPort): Promise<InstanceInfo> {
    const record = await this.#runningRecord(instance, 'detach');
    if (record.management.port.id === port.id) throw new Error(`detach ${record.name}: port ${port.id} is the management port`);
    const plugged = record.ports.find((p) => p.port.id === port.id);
    try {
      await this.#deleteHostInterfaces([plugged?.hostInterface ?? tapName(port.id)]);
    } catch (error) {
      throw new Error(`detach ${record.name}: unplug port ${port.id}: ${messageOf(error)}`);
    }
    if (!plugged) return this.#info(record);
    const updated: InstanceRecord = { ...record, ports: record.ports.filter((p) => p !== plugged) };
    await writeJsonAtomic(this.#recordPath(record.name), updated);
    this.#logger.info({ resource: record.resource.id, instance: record.name, port: port.id, interface: plugged.interface }, 'interface detached');
    return this.#info(updated);
  }

  // -------------------------------------------------------------------------

  /**
   * A boot of an appliance whose namespace exists: when another orchestrator
   * is booting it (a cluster rebalance gave this one the resource meanwhile),
   * the boot under way is taken over as it is, still booting, and checked as
   * any boot is; anything else (an appliance that finished booting, which a
   * listing adopts, or a namespace of no boot) is refused. The boot's record
   * follows its namespace by a few file operations: it is waited for.
   */
  async #adoptBooting(name: string, log: Logger): Promise<InstanceInfo> {
    let record: InstanceRecord | undefined;
    const deadline = Date.now() + RECORD_WAIT_MS;
    for (;;) {
      record = await this.#readRecord(name).catch(() => undefined);
      if (record || Date.now() >= deadline || !namespaceExists(name)) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    if (record?.agent !== null || !namespaceExists(name)) throw new Error(`boot ${name}: namespace ${name} already exists: destroy the instance first`);
    log.info({ instance_id: record.id }, 'appliance already booting (another orchestrator started it): taken over');
    return this.#info(record);
  }

  #instanceDir(name: string): string {
    return join(this.#stateDir, name);
  }

  #agentStateDir(name: string): string {
    return join(this.#instanceDir(name), 'state');
  }

  #logFile(name: string): string {
    return join(this.#agentStateDir(name), 'agent.log');
  }

  #recordPath(name: string): string {
    return join(this.#instanceDir(name), RECORD_FILE);
  }

  #info(record: InstanceRecord): InstanceInfo {
    const status: InstanceStatus = record.agent === null ? 'BUILD' : isAgentRunning(record.agent) ? 'ACTIVE' : 'ERROR';
    return {
      id: record.id,
      name: record.name,
      status,
      bootedAt: record.bootedAt,
      managementPort: record.management.port,
      ports: record.ports.map((p) => p.port),
      details: { namespace: record.name, agent_pid: record.agent?.pid ?? null, state_dir: this.#agentStateDir(record.name), log_file: this.#logFile(record.name) },
    };
  }

  async #readRecord(name: string): Promise<InstanceRecord | undefined> {
    const path = this.#recordPath(name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (isMissingFile(error)) return undefined;
      throw error;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new Error(`${path}: not JSON (${messageOf(error)})`);
    }
    return parseInstanceRecord(value, path);
  }

  /**
   * The records of the instances whose names pass `wanted`, each checked
   * against the system: a record whose namespace is gone is removed with the
   * rest of its directory. A directory without a record is a boot that has
   * not written it yet (it does just after making the namespace).
   */
  async #records(wanted: (name: string) => boolean): Promise<InstanceRecord[]> {
    let names: string[];
    try {
      names = (await readdir(this.#stateDir)).filter(wanted);
    } catch (error) {
      if (isMissingFile(error)) return [];
      throw error;
    }
    const records: InstanceRecord[] = [];
    for (const name of names) {
      let record: InstanceRecord | undefined;
      try {
        record = await this.#readRecord(name);
      } catch (error) {
        this.#logger.error({ instance: name, err: error }, 'unreadable appliance record skipped');
        continue;
      }
      if (!record) continue;
      if (!namespaceExists(record.name)) {
        await rm(this.#instanceDir(name), { recursive: true, force: true });
        this.#logger.warn({ resource: record.resource.id, instance: record.name, instance_id: record.id }, 'appliance namespace is gone: record removed');
        continue;
      }
      records.push(record);
    }
    return records;
  }

  /** The record of `instance`, which must still be the one running under its name. */
  async #runningRecord(instance: InstanceInfo, action: string): Promise<InstanceRecord> {
    const record = await this.#readRecord(instance.name);
    if (!record || record.id !== instance.id || !namespaceExists(instance.name)) {
      throw new Error(`${action}: instance ${instance.name} (${instance.id}) does not exist`);
    }
    return record;
  }

  async #plug(namespace: string, port: NeutronPort, ifname: string, mtu: number | undefined): Promise<PluggedPort> {
    await ip(this.#hostNetns, vethArgs(port, ifname, namespace, mtu));
    return pluggedAs(port, ifname);
  }

  /**
   * Start the agent in its own session, output appended to its log, not
   * waited for: it must outlive this process. `ip netns exec`, `unshare` and
   * the init script each exec the next, so the pid spawned is the agent's.
   */
  async #startAgent(name: string, port: number, log: Logger): Promise<NonNullable<InstanceRecord['agent']>> {
    const argv = agentArgv({
      namespace: name,
      initScript: this.#initScript,
      agentCommand: this.#agentCommand,
      stateDir: this.#agentStateDir(name),
      port,
      tls: this.#agentTls,
    });
    const output = await open(this.#logFile(name), 'a');
    try {
      // A clean environment, as on a real appliance: nothing of the orchestrator's own (credentials included) leaks in.
      const env = { PATH: process.env.PATH ?? DEFAULT_PATH, LC_ALL: 'C' };
      const [file, ...args] = argv;
      const child = spawn(file!, args, { detached: true, stdio: ['ignore', output.fd, output.fd], env });
      await once(child, 'spawn');
      child.unref();
      child.on('error', (error) => log.error({ err: error }, 'agent process error'));
      child.on('exit', (code, signalName) => log.info({ code, signal: signalName }, 'agent exited'));
      const pid = child.pid;
      const stat = pid === undefined ? undefined : procStat(pid);
      if (pid === undefined || stat === undefined || stat.state === 'Z') throw new Error(`the agent exited at once (see ${this.#logFile(name)})`);
      return { pid, startTime: stat.startTime };
    } finally {
      await output.close();
    }
  }

  /**
   * Stop every process in the namespace (by pid, never by name), unplug, delete
   * the namespace and the instance's directory. Already-gone parts are fine.
   */
  async #teardown(name: string, hostInterfaces: readonly string[], deadline: number): Promise<void> {
    if (namespaceExists(name)) {
      const terminated = await namespacePids(name);
      for (const pid of terminated) signal(pid, 'SIGTERM');
      await pollUntil(() => terminated.every((pid) => !isRunning(pid)), deadline - KILL_WAIT_MS);
      // Again from the namespace: a daemon may have been restarted meanwhile.
      const killed = await namespacePids(name);
      for (const pid of killed) signal(pid, 'SIGKILL');
      await pollUntil(() => killed.every((pid) => !isRunning(pid)), Math.max(deadline, Date.now() + KILL_WAIT_MS));
      const left = (await namespacePids(name)).filter(isRunning);
      if (left.length > 0) throw new Error(`processes ${left.join(', ')} in namespace ${name} did not exit`);
    }
    // The host ends before the namespace: deleting one end of a veth pair
    // removes both at once, while a deleted namespace takes its veths with it
    // only later, in the kernel's background clean-up.
    await this.#deleteHostInterfaces(hostInterfaces);
    if (namespaceExists(name)) {
      await runCommand(['ip', 'netns', 'del', name], { allowFailure: true });
      if (namespaceExists(name)) throw new Error(`namespace ${name} could not be deleted`);
    }
    await rm(this.#instanceDir(name), { recursive: true, force: true });
  }

  /** Delete those of `names` that exist in the host namespace; fails if one is still there afterwards. */
  async #deleteHostInterfaces(names: readonly string[]): Promise<void> {
    const present = async () => {
      const links = new Set((await ipJson<{ ifname: string }>(this.#hostNetns, ['link', 'show', 'type', 'veth'])).map((l) => l.ifname));
      return names.filter((name) => links.has(name));
    };
    const existing = await present();
    if (existing.length === 0) return;
    // One at a time and failures allowed: a veth may vanish with its namespace between the listing and the delete.
    for (const name of existing) await ip(this.#hostNetns, ['link', 'del', 'dev', name], { allowFailure: true });
    const left = await present();
    if (left.length > 0) throw new Error(`host interfaces ${left.join(', ')} could not be deleted`);
  }
}
