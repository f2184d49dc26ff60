// The real OpenStack control plane of the OpenStack provider's tests
// (scripts/openstack.sh: RabbitMQ, MariaDB, Keystone, neutron-server on
// 127.0.0.1), and plain REST calls to it for the tests' own set-up, made
// without the provider under test.
//
// Each test file calls openStackUp() first (idempotent: a few milliseconds
// when everything already runs) and openStackRelease() last, which stops the
// services unless ASTARA_OPENSTACK_KEEP=1: scripts/run-tests.sh sets it, so the
// whole suite pays the start-up once, and stops them after the last file.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { request } from 'undici';
import { REPO } from './agent.js';
import { run, waitFor } from './exec.js';

export const KEYSTONE_URL = 'http://127.0.0.1:5000';
export const NEUTRON_URL = 'http://127.0.0.1:9696';
export const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672/';
/** With openStackUpWithNova(). */
export const NOVA_URL = 'http://127.0.0.1:8774/v2.1';
export const GLANCE_URL = 'http://127.0.0.1:9292';
/** Keystone, Neutron, RabbitMQ, Nova (relayed whether or not it runs: nothing connects to it then). */
const SERVICE_PORTS = [5000, 9696, 5672, 8774];
/** Keystone's token lifetime in the test back-end (scripts/openstack/keystone.conf). */
export const TOKEN_LIFETIME_S = 30;

export interface Account {
  readonly username: string;
  readonly password: string;
  readonly projectName: string;
}

/** Admin in the `service` project: what the orchestrator runs as. */
export const ORCHESTRATOR: Account = { username: 'orchestrator', password: 'orchestrator-secret', projectName: 'service' };
export const ADMIN: Account = { username: 'admin', password: 'admin-secret', projectName: 'admin' };
/** An ordinary tenant (member of `demo`). */
export const DEMO: Account = { username: 'demo', password: 'demo-secret', projectName: 'demo' };

/** The orchestrator's `[keystone_authtoken]` section: its own account on the test Keystone. */
export const ORCHESTRATOR_AUTH = {
  auth_url: KEYSTONE_URL,
  username: ORCHESTRATOR.username,
  password: ORCHESTRATOR.password,
  project_name: ORCHESTRATOR.projectName,
  user_domain_name: 'Default',
  project_domain_name: 'Default',
} as const;

const SCRIPT = join(REPO, 'scripts', 'openstack.sh');

export async function openStackUp(): Promise<void> {
  await run(['bash', SCRIPT, 'up'], { timeoutMs: 300_000 });
}

/** Placement, Glance and Nova (the fake compute driver) too. */
export async function openStackUpWithNova(): Promise<void> {
  await run(['bash', SCRIPT, 'up', '--nova'], { timeoutMs: 300_000 });
}

export async function openStackRelease(): Promise<void> {
  if (process.env['ASTARA_OPENSTACK_KEEP'] === '1') return;
  await run(['bash', SCRIPT, 'down'], { timeoutMs: 180_000 });
}

export interface RestAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Record<string, string | string[] | undefined>;
}

export async function rest(method: string, url: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}): Promise<RestAnswer> {
  const response = await request(url, {
    method: method as 'GET',
    headers: { ...(token === undefined ? {} : { 'x-auth-token': token }), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: text === '' ? undefined : (JSON.parse(text) as unknown), headers: response.headers };
}

const TOKEN_REUSE_MS = (TOKEN_LIFETIME_S * 1000) / 3;
const tokens = new Map<string, { token: string; at: number }>();

/** A project-scoped token of `account`, reused while it is young: tokens live only TOKEN_LIFETIME_S seconds here. */
export async function freshToken(account: Account): Promise<string> {
  const cached = tokens.get(account.username);
  if (cached && Date.now() - cached.at < TOKEN_REUSE_MS) return cached.token;
  const token = await tokenOf(account);
  tokens.set(account.username, { token, at: Date.now() });
  return token;
}

/** A new project-scoped token of `account`. */
export async function tokenOf(account: Account): Promise<string> {
  const answer = await rest('POST', `${KEYSTONE_URL}/v3/auth/tokens`, undefined, {
    auth: {
      identity: { methods: ['password'], password: { user: { name: account.username, domain: { id: 'default' }, password: account.password } } },
      scope: { project: { name: account.projectName, domain: { id: 'default' } } },
    },
  });
  const token = answer.headers['x-subject-token'];
  if (answer.status !== 201 || typeof token !== 'string') throw new Error(`no token for ${account.username}: HTTP ${answer.status}`);
  return token;
}

/** A Neutron call as `account` that must succeed; its JSON answer. */
export async function neutron<T = Record<string, unknown>>(account: Account, method: string, path: string, body?: unknown): Promise<T> {
  const answer = await rest(method, `${NEUTRON_URL}/v2.0${path}`, await freshToken(account), body);
  if (answer.status >= 300) throw new Error(`${method} ${path}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as T;
}

/** A Nova call as `account` that must succeed (at microversion `version`: 2.3 shows admins a server's user data); its JSON answer. */
export async function nova<T = Record<string, unknown>>(account: Account, method: string, path: string, body?: unknown, version = '2.3'): Promise<T> {
  const answer = await rest(method, `${NOVA_URL}${path}`, await freshToken(account), body, { 'openstack-api-version': `compute ${version}` });
  if (answer.status >= 300) throw new Error(`${method} ${path}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as T;
}

/** A public Glance image named `name` holding `data` (the fake compute driver boots anything). */
export async function uploadImage(account: Account, name: string, data: Buffer): Promise<string> {
  const token = await freshToken(account);
  const created = await rest('POST', `${GLANCE_URL}/v2/images`, token, { name, disk_format: 'raw', container_format: 'bare', visibility: 'public' });
  if (created.status !== 201) throw new Error(`image ${name}: HTTP ${created.status} ${JSON.stringify(created.body)}`);
  const id = (created.body as Identified).id;
  const upload = await request(`${GLANCE_URL}/v2/images/${id}/file`, { method: 'PUT', headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' }, body: data });
  await upload.body.dump();
  if (upload.statusCode !== 204) throw new Error(`image ${name} upload: HTTP ${upload.statusCode}`);
  return id;
}

/** Every Glance image and Nova flavor named with `prefix`, deleted. */
export async function deleteNamedImagesAndFlavors(admin: Account, prefix: string): Promise<void> {
  const token = await freshToken(admin);
  const images = (await rest('GET', `${GLANCE_URL}/v2/images?limit=1000`, token)).body as { images: { id: string; name: string }[] };
  for (const image of images.images.filter((i) => i.name.startsWith(prefix))) await rest('DELETE', `${GLANCE_URL}/v2/images/${image.id}`, token);
  const flavors = await nova<{ flavors: { id: string; name: string }[] }>(admin, 'GET', '/flavors?is_public=None');
  for (const flavor of flavors.flavors.filter((f) => f.name.startsWith(prefix))) await nova(admin, 'DELETE', `/flavors/${flavor.id}`);
}

interface Identified {
  readonly id: string;
}

/** An admin-made external (flat) network with one subnet without DHCP. */
export async function createExternalNetwork(admin: Account, name: string, cidr: string, gateway: string): Promise<{ networkId: string; subnetId: string }> {
  const network = await neutron<{ network: Identified }>(admin, 'POST', '/networks', {
    network: { name, 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'external' },
  });
  const subnet = await neutron<{ subnet: Identified }>(admin, 'POST', '/subnets', {
    subnet: { name: `${name}-subnet`, network_id: network.network.id, ip_version: 4, cidr, gateway_ip: gateway, enable_dhcp: false },
  });
  return { networkId: network.network.id, subnetId: subnet.subnet.id };
}

/** Every floating IP, router and network named with `prefix` (with their ports), deleted in dependency order. */
export async function deleteNamed(admin: Account, prefix: string): Promise<void> {
  const named = async (collection: string, key: string) =>
    (await neutron<Record<string, { id: string; name?: string; description?: string }[]>>(admin, 'GET', `/${collection}`))[key]!.filter(
      (item) => (item.name ?? '').startsWith(prefix) || (item.description ?? '').startsWith(prefix),
    );
  for (const fip of await named('floatingips', 'floatingips')) await neutron(admin, 'DELETE', `/floatingips/${fip.id}`);
  for (const router of await named('routers', 'routers')) {
    const ports = await neutron<{ ports: { id: string; device_owner: string }[] }>(admin, 'GET', `/ports?device_id=${router.id}`);
    for (const port of ports.ports.filter((p) => p.device_owner === 'network:router_interface')) {
      await neutron(admin, 'PUT', `/routers/${router.id}/remove_router_interface`, { port_id: port.id });
    }
    await neutron(admin, 'DELETE', `/routers/${router.id}`);
  }
  for (const network of await named('networks', 'networks')) {
    // Every port left on it: guests', and the orchestrator's own if a test stopped before their router was deleted.
    const ports = await neutron<{ ports: { id: string; device_owner: string }[] }>(admin, 'GET', `/ports?network_id=${network.id}`);
    for (const port of ports.ports.filter((p) => !p.device_owner.startsWith('network:router_') && p.device_owner !== 'network:floatingip')) {
      await neutron(admin, 'DELETE', `/ports/${port.id}`);
    }
    await neutron(admin, 'DELETE', `/networks/${network.id}`);
  }
}

/**
 * The OpenStack services' ports on 127.0.0.1 inside network namespace `ns`
 * (an orchestrator under test runs there), relayed to the host's 127.0.0.1
 * where scripts/openstack.sh runs them. Returns the function that stops the relay.
 */
export async function relayServicesInto(ns: string): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'os-relay-'));
  const script = join(REPO, 'test', 'harness', 'openstack-relay.mjs');
  const children: ResultPromise[] = [];
  const startSide = async (argv: string[], side: string) => {
    const log = join(dir, `${side}.log`);
    const child = execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore', stdout: { file: log }, stderr: { file: log } });
    children.push(child);
    await waitFor(`the ${side} side of the OpenStack relay`, async () => (await readFile(log, 'utf8').catch(() => '')).includes('ready'), 10_000);
  };
  const stop = async () => {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports = SERVICE_PORTS.map(String);
    await startSide([process.execPath, script, 'host', dir, ...ports], 'host');
    await startSide(['nsenter', `--net=/run/netns/${ns}`, '--', process.execPath, script, 'namespace', dir, ...ports], 'namespace');
  } catch (error) {
    await stop();
    throw error;
  }
  return stop;
}
