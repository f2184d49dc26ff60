import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createAdminApp } from '../api/admin.js';
import { OrchestratorMetrics } from '../api/metrics.js';
import { UnknownTargetError, type OrchestratorControl, type ResourceDetailView, type ResourceView, type WorkersView } from '../core/control.js';
import type { CommandBody } from '../core/events.js';
import { applianceShellArgv, main, processContext, TOKEN_VARIABLE, tokenFileFromConfig, urlFromConfig, type CtlContext } from './ctl.js';

const LOCAL: ResourceDetailView = {
  id: 'r1',
  driver: 'router',
  tenant_id: 'tenant-a',
  state: 'CalcAction',
  instance_state: 'configured',
  action: 'poll',
  queue_length: 0,
  boot_attempts: 1,
  ha: { requested: false, pair: false },
  appliances: [
    { name: 'ak-router-r1', id: 'i1', status: 'ACTIVE', health: 'answering', management_address: 'fdca::5', booted_at: '2024-05-01T10:00:00.000Z', ha: null, details: { namespace: 'ak-router-r1', agent_pid: 4242 } },
  ],
  last_push: { at: new Date(Date.now() - 5000).toISOString(), ok: true, duration_ms: 120, generation: 3, error: null },
  last_error: null,
  debug: { enabled: true, scope: 'tenant', reason: 'upgrade' },
  shard: 1,
  last_document: { hostname: 'ak-router-r1' },
  transitions: [{ at: '2024-05-01T10:00:04.000Z', from: 'CalcAction', to: 'ConfigureInstance', action: 'update', instance_state: 'up' }],
};

const CLOUD: ResourceDetailView = {
  ...LOCAL,
  id: 'r2',
  instance_state: 'booting',
  appliances: [{ name: 'ak-router-r2', id: 'i2', status: 'BUILD', health: 'booting', management_address: 'fdca::9', booted_at: '2024-05-01T10:00:00.000Z', ha: null, details: {} }],
  last_push: null,
  debug: { enabled: false, scope: null, reason: null },
  transitions: [],
};

const PAIR: ResourceDetailView = {
  ...LOCAL,
  id: 'r3',
  ha: { requested: true, pair: true },
  appliances: [
    {
      name: 'ak-router-r3_0',
      id: 'i30',
      status: 'ACTIVE',
      health: 'answering',
      management_address: 'fdca::30',
      booted_at: '2024-05-01T10:00:00.000Z',
      ha: { state: 'MASTER', since: '2024-05-01T10:00:03.000Z', peer: 'fdca::31' },
      details: { namespace: 'ak-router-r3_0', agent_pid: 4300 },
    },
    { name: 'ak-router-r3_1', id: 'i31', status: 'ACTIVE', health: 'silent', management_address: 'fdca::31', booted_at: '2024-05-01T10:00:01.000Z', ha: { state: 'unknown', since: null, peer: null }, details: {} },
  ],
};

/** Routers whose `ha` was switched and that were not rebuilt yet. */
const HALF_DONE: ResourceDetailView[] = [
  { ...LOCAL, id: 'r4', ha: { requested: true, pair: false } },
  { ...PAIR, id: 'r5', ha: { requested: false, pair: true } },
];

const WORKERS: WorkersView = {
  shards: [{ index: 0, queue_length: 2, runners_busy: 1, runners: [{ index: 0, status: 'updating r1' }, { index: 1, status: 'waiting for task' }], resources: 2, tenants: 1 }],
  global_debug: { enabled: false, scope: null, reason: null },
  tenants_in_debug: [{ id: 'tenant-a', reason: 'upgrade' }],
  resources_in_debug: [],
};

function summary(detail: ResourceDetailView): ResourceView {
  const { last_document: _document, transitions: _transitions, ...view } = detail;
  return view;
}

class FakeControl implements OrchestratorControl {
  readonly bodies: CommandBody[] = [];

  command(body: CommandBody): Promise<void> {
    this.bodies.push(body);
    if (body.resource_id === 'ghost') return Promise.reject(new UnknownTargetError('no resource ghost'));
    return Promise.resolve();
  }

  listResources(): ResourceView[] {
    return [summary(LOCAL), summary(CLOUD)];
  }

  getResource(id: string): ResourceDetailView | undefined {
    return [LOCAL, CLOUD, PAIR, ...HALF_DONE].find((r) => r.id === id);
  }

  workers(): WorkersView {
    return WORKERS;
  }
}

interface Run {
  readonly status: number;
  readonly out: string;
  readonly err: string;
  readonly ran: (readonly string[])[];
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

describe('astara-ctl', { timeout: 30_000 }, () => {
  const control = new FakeControl();
  const server = createServer(createAdminApp({ control, metrics: new OrchestratorMetrics(), logger: pino({ level: 'silent' }) }));
  let url = '';
  let port = 0;
  let dir = '';

  before(async () => {
    port = await listen(server);
    url = `http://127.0.0.1:${port}`;
    dir = await mkdtemp(join(tmpdir(), 'astara-ctl-'));
  });
  after(async () => {
    server.close();
    server.closeAllConnections();
    await rm(dir, { recursive: true, force: true });
  });

  async function run(args: readonly string[], options: { childStatus?: number; alive?: boolean } = {}): Promise<Run> {
    let out = '';
    let err = '';
    const ran: (readonly string[])[] = [];
    const context: CtlContext = {
      out: (text) => (out += text),
      err: (text) => (err += text),
      runInteractive: (argv) => {
        ran.push(argv);
        return Promise.resolve(options.childStatus ?? 0);
      },
      processAlive: () => options.alive ?? true,
      shell: '/bin/bash',
    };
    const status = await main(['node', 'astara-ctl', ...args], context);
    return { status, out, err, ran };
  }

  const commands: [string[], CommandBody][] = [
    [['poll'], { command: 'poll' }],
    [['config', 'reload'], { command: 'config-reload' }],
    [['global', 'debug', 'enable', '--reason', 'maintenance window'], { command: 'global-debug', enabled: 1, reason: 'maintenance window' }],
    [['global', 'debug', 'disable'], { command: 'global-debug', enabled: 0 }],
    [['resource', 'rebuild', 'R1'], { command: 'resource-rebuild', resource_id: 'r1', tenant_id: '*' }],
    [['resource', 'rebuild', 'r1', '--image-uuid', 'img-1', '--reason', 'new/image'], { command: 'resource-rebuild', resource_id: 'r1', tenant_id: '*', image_uuid: 'img-1', reason: 'new/image' }],
    [['resource', 'rebuild', 'r1', '--image_uuid', 'img-2'], { command: 'resource-rebuild', resource_id: 'r1', tenant_id: '*', image_uuid: 'img-2' }],
    [['resource', 'update', 'r1'], { command: 'resource-update', resource_id: 'r1', tenant_id: '*' }],
    [['resource', 'debug', 'r1', '--reason', 'looking at it'], { command: 'resource-debug', resource_id: 'r1', tenant_id: '*', reason: 'looking at it' }],
    [['resource', 'manage', 'r1'], { command: 'resource-manage', resource_id: 'r1', tenant_id: '*' }],
    [['tenant', 'debug', 'tenant-a', '--reason', '100% sure'], { command: 'tenant-debug', tenant_id: 'tenant-a', reason: '100% sure' }],
    [['tenant', 'manage', 'tenant-a'], { command: 'tenant-manage', tenant_id: 'tenant-a' }],
  ];
  for (const [args, body] of commands) {
    it(`${args.join(' ')} sends ${body.command}`, async () => {
      control.bodies.length = 0;
      const result = await run(['--url', url, ...args]);
      assert.equal(result.status, 0, result.err);
      assert.deepEqual(control.bodies, [body]);
      assert.equal(result.err, '');
    });
  }

  for (const verb of ['rebuild', 'update', 'debug', 'manage']) {
    it(`router ${verb} works and says it is deprecated`, async () => {
      control.bodies.length = 0;
      const result = await run(['router', verb, 'R1', '--reason', 'why', '--url', url]);
      assert.equal(result.status, 0, result.err);
      assert.deepEqual(control.bodies, [{ command: `router-${verb}`, router_id: 'r1', reason: 'why' }]);
      assert.equal(result.err, `astara-ctl: "router ${verb}" is deprecated; use "resource ${verb}"\n`);
    });
  }

  it('workers debug sends the command and prints the workers', async () => {
    control.bodies.length = 0;
    const result = await run(['--url', url, 'workers', 'debug']);
    assert.equal(result.status, 0, result.err);
    assert.deepEqual(control.bodies, [{ command: 'workers-debug' }]);
    assert.match(result.out, /^shard 0: 2 resources, 1 tenants, queue 2, runners busy 1\/2$/m);
    assert.match(result.out, /^ {2}runner 0: updating r1$/m);
    assert.match(result.out, /^Debugging tenant: tenant-a \(reason: upgrade\)$/m);
    assert.match(result.out, /^No resources in debug mode$/m);
    const json = await run(['--url', url, 'workers', 'debug', '--json']);
    assert.deepEqual(JSON.parse(json.out), WORKERS);
  });

  it('list prints a table of every resource, or JSON', async () => {
    const result = await run(['--url', url, 'list']);
    assert.equal(result.status, 0, result.err);
    const [header, first, second] = result.out.trimEnd().split('\n');
    assert.match(header!, /^ID\s+DRIVER\s+TENANT\s+STATE\s+INSTANCE\s+ADDRESS\s+LAST PUSH\s+DEBUG$/);
    assert.match(first!, /^r1\s+router\s+tenant-a\s+CalcAction\s+configured\s+fdca::5\s+ok \ds ago\s+tenant$/);
    assert.match(second!, /^r2\s+router\s+tenant-a\s+CalcAction\s+booting\s+fdca::9\s+-\s+-$/);
    const json = await run(['list', '--json', '--url', url]);
    assert.deepEqual(JSON.parse(json.out), [summary(LOCAL), summary(CLOUD)]);
  });

  it('show prints the resource and its recent transitions, or JSON', async () => {
    const result = await run(['--url', url, 'show', 'R1']);
    assert.equal(result.status, 0, result.err);
    assert.match(result.out, /^instance state: +configured$/m);
    assert.match(result.out, /^debug: +tenant \(reason: upgrade\)$/m);
    assert.match(result.out, /^last push: +ok \ds ago \(.*, 120 ms, generation 3\)$/m);
    assert.match(result.out, /^ {2}agent_pid: +4242$/m);
    assert.match(result.out, /^recent transitions:\n {2}AT +FROM +TO +ACTION +INSTANCE\n {2}2024-05-01T10:00:04.000Z +CalcAction +ConfigureInstance +update +up$/m);
    assert.match(result.out, /^appliance ak-router-r1: +ACTIVE, answering, fdca::5, id i1, booted 2024-05-01T10:00:00.000Z$/m);
    assert.doesNotMatch(result.out, /^ha:|VRRP/m, 'nothing about HA for a single appliance');
    const json = await run(['--url', url, 'show', 'r1', '--json']);
    assert.deepEqual(JSON.parse(json.out), LOCAL);
  });

  it('show lists both members of an HA pair with their health and VRRP state, and says when a rebuild is pending', async () => {
    const pair = await run(['--url', url, 'show', 'r3']);
    assert.equal(pair.status, 0, pair.err);
    assert.match(pair.out, /^ha: +pair$/m);
    assert.match(pair.out, /^appliance ak-router-r3_0: +ACTIVE, answering, fdca::30, VRRP MASTER since 2024-05-01T10:00:03.000Z \(peer fdca::31\), id i30, booted 2024-05-01T10:00:00.000Z$/m);
    assert.match(pair.out, /^appliance ak-router-r3_1: +ACTIVE, silent, fdca::31, VRRP unknown, id i31, booted 2024-05-01T10:00:01.000Z$/m);
    assert.deepEqual(JSON.parse((await run(['--url', url, 'show', 'r3', '--json'])).out), PAIR);
    assert.match((await run(['--url', url, 'show', 'r4'])).out, /^ha: +one appliance \(the router asks for a pair: a rebuild makes it one\)$/m);
    assert.match((await run(['--url', url, 'show', 'r5'])).out, /^ha: +pair \(the router no longer asks for one: a rebuild makes it one appliance\)$/m);
  });

  it('fails with a clear message when the orchestrator is unreachable', async () => {
    const closed = createServer();
    const closedPort = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    for (const args of [['poll'], ['list'], ['show', 'r1'], ['resource', 'rebuild', 'r1']]) {
      const result = await run(['--url', `http://127.0.0.1:${closedPort}`, ...args]);
      assert.notEqual(result.status, 0);
      assert.equal(result.out, '');
      assert.match(result.err, new RegExp(`^astara-ctl: cannot reach the orchestrator at http://127\\.0\\.0\\.1:${closedPort}: .*ECONNREFUSED.*\\n$`));
    }
  });

  it('fails with the API message for an unknown id', async () => {
    const command = await run(['--url', url, 'resource', 'update', 'ghost']);
    assert.equal(command.status, 1);
    assert.equal(command.err, 'astara-ctl: unknown target: no resource ghost\n');
    const show = await run(['--url', url, 'show', 'ghost']);
    assert.equal(show.status, 1);
    assert.equal(show.err, 'astara-ctl: no such resource: ghost is not a resource the orchestrator manages\n');
  });

  it('reads the URL from the orchestrator INI file', async () => {
    const file = join(dir, 'orchestrator.ini');
    await writeFile(file, `[DEFAULT]\nhost = here\napi_listen = 127.0.0.1\napi_port = ${port}\n\n[local]\nresources = /dev/null\n`);
    const result = await run(['--config-file', file, 'list', '--json']);
    assert.equal(result.status, 0, result.err);
    assert.equal((JSON.parse(result.out) as unknown[]).length, 2);
    const missing = await run(['--config-file', join(dir, 'nope.ini'), 'poll']);
    assert.equal(missing.status, 1);
    assert.match(missing.err, /^astara-ctl: cannot read .*nope\.ini: /);
  });

  it('turns listen addresses into the URL a client reaches', () => {
    assert.equal(urlFromConfig('[DEFAULT]\napi_listen = ::\napi_port = 5555\n', 'f'), 'http://[::1]:5555');
    assert.equal(urlFromConfig('[DEFAULT]\napi_listen = 0.0.0.0\n', 'f'), 'http://127.0.0.1:44250');
    assert.equal(urlFromConfig('[DEFAULT]\napi_listen = fdca::1\n', 'f'), 'http://[fdca::1]:44250');
    assert.equal(urlFromConfig('[DEFAULT]\nhost = x\n', 'f'), 'http://[::1]:44250');
    assert.equal(urlFromConfig('[DEFAULT]\nrug_api_port = 6000\n', 'f'), 'http://[::1]:6000');
    assert.throws(() => urlFromConfig('[DEFAULT]\napi_port = many\n', 'orchestrator.ini'), /orchestrator\.ini: api_port is not a port number: many/);
  });

  it('ssh enters the appliance namespace through the live agent, or ip netns exec, or ssh for cloud appliances', async () => {
    const shell = await run(['--url', url, 'ssh', 'r1']);
    assert.equal(shell.status, 0, shell.err);
    assert.deepEqual(shell.ran, [['nsenter', '--target', '4242', '--net', '--mount', '--uts', '--', '/bin/bash']]);

    const command = await run(['--url', url, 'ssh', 'r1', 'ip', '-6', 'addr', 'show'], { alive: false });
    assert.deepEqual(command.ran, [['ip', 'netns', 'exec', 'ak-router-r1', 'ip', '-6', 'addr', 'show']]);

    const separated = await run(['--url', url, 'ssh', 'r1', '--', 'curl', '--url', 'x'], { alive: false });
    assert.deepEqual(separated.ran, [['ip', 'netns', 'exec', 'ak-router-r1', 'curl', '--url', 'x']]);

    const cloud = await run(['--url', url, 'ssh', 'r2', 'uptime']);
    assert.deepEqual(cloud.ran, [['ssh', 'astara@fdca::9', 'uptime']]);

    const failing = await run(['--url', url, 'ssh', 'r2', 'false'], { childStatus: 3 });
    assert.equal(failing.status, 3);

    const ghost = await run(['--url', url, 'ssh', 'ghost']);
    assert.equal(ghost.status, 1);
    assert.deepEqual(ghost.ran, []);
  });

  it('ssh needs an appliance with somewhere to go', () => {
    assert.throws(() => applianceShellArgv({ ...CLOUD, appliances: [] }, [], undefined, () => true), /r2 has no appliance/);
    const unaddressed = { ...CLOUD.appliances[0]!, management_address: null };
    assert.throws(() => applianceShellArgv({ ...CLOUD, appliances: [unaddressed] }, [], undefined, () => true), /no management address/);
    assert.deepEqual(applianceShellArgv(LOCAL, [], undefined, () => false), ['ip', 'netns', 'exec', 'ak-router-r1', '/bin/sh']);
  });

  it('runs interactive children with their exit status, and says when one cannot start', async () => {
    const { runInteractive } = processContext();
    assert.equal(await runInteractive(['sh', '-c', 'exit 3']), 3);
    assert.equal(await runInteractive(['true']), 0);
    await assert.rejects(runInteractive(['/nonexistent/astara-shell']), /cannot run \/nonexistent\/astara-shell: /);
    assert.equal(process.listenerCount('SIGINT'), 0);
  });

  it('browse --dump prints the table once', async () => {
    const result = await run(['--url', url, 'browse', '--dump']);
    assert.equal(result.status, 0, result.err);
    const lines = result.out.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^ID\s+TENANT\s+STATE\s+INSTANCE\s+ADDRESS\s+LAST PUSH\s+DEBUG$/);
    assert.match(lines[1]!, /^r1\s+tenant-a\s+CalcAction\s+configured\s+fdca::5/);
  });

  it('says what each command does in --help, and refuses bad usage', async () => {
    const help = await run(['resource', 'rebuild', '--help']);
    assert.equal(help.status, 0);
    assert.match(help.out, /replace the appliance/);
    assert.match(help.out, /--image-uuid <id>/);
    const top = await run(['--help']);
    for (const name of ['poll', 'workers', 'config', 'global', 'resource', 'router', 'tenant', 'list', 'show', 'ssh', 'browse']) {
      assert.match(top.out, new RegExp(`^ {2}${name}\\b`, 'm'), name);
    }
    const bad = await run(['--url', url, 'global', 'debug', 'maybe']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.err, /enable, disable/);
    const badUrl = await run(['--url', 'ftp://x', 'poll']);
    assert.equal(badUrl.status, 1);
    assert.match(badUrl.err, /--url must be http or https/);
  });
});

describe('astara-ctl against an orchestrator with admin_token_file', { timeout: 30_000 }, () => {
  const control = new FakeControl();
  const server = createServer(createAdminApp({ control, metrics: new OrchestratorMetrics(), logger: pino({ level: 'silent' }), adminToken: 's3cret' }));
  let port = 0;
  let dir = '';

  before(async () => {
    port = await listen(server);
    dir = await mkdtemp(join(tmpdir(), 'astara-ctl-token-'));
  });
  after(async () => {
    server.close();
    server.closeAllConnections();
    await rm(dir, { recursive: true, force: true });
  });

  async function run(args: readonly string[], env?: string): Promise<{ status: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const context: CtlContext = { out: (text) => (out += text), err: (text) => (err += text), runInteractive: () => Promise.resolve(0), processAlive: () => true, shell: '/bin/bash' };
    assert.equal(TOKEN_VARIABLE, 'ASTARA_ADMIN_TOKEN');
    const saved = process.env.ASTARA_ADMIN_TOKEN;
    if (env === undefined) delete process.env.ASTARA_ADMIN_TOKEN;
    else process.env.ASTARA_ADMIN_TOKEN = env;
    try {
      const status = await main(['node', 'astara-ctl', ...args], context);
      return { status, out, err };
    } finally {
      if (saved === undefined) delete process.env.ASTARA_ADMIN_TOKEN;
      else process.env.ASTARA_ADMIN_TOKEN = saved;
    }
  }

  it('is refused without the token, and the command is not run', async () => {
    const result = await run(['--url', `http://127.0.0.1:${port}`, 'resource', 'rebuild', 'r1']);
    assert.equal(result.status, 1);
    assert.match(result.err, /^astara-ctl: unauthorized: .*admin_token_file/);
    assert.deepEqual(control.bodies, []);
  });

  it('sends the token from --token-file, from the environment, or from the config file\'s admin_token_file', async () => {
    await writeFile(join(dir, 'token'), 's3cret\n');
    const fromFile = await run(['--url', `http://127.0.0.1:${port}`, '--token-file', join(dir, 'token'), 'resource', 'rebuild', 'r1']);
    assert.equal(fromFile.status, 0, fromFile.err);
    const fromEnv = await run(['--url', `http://127.0.0.1:${port}`, 'list', '--json'], 's3cret');
    assert.equal(fromEnv.status, 0, fromEnv.err);
    await writeFile(join(dir, 'orchestrator.ini'), `[DEFAULT]\napi_listen = 127.0.0.1\napi_port = ${port}\nadmin_token_file = token\n`);
    const fromConfig = await run(['--config-file', join(dir, 'orchestrator.ini'), 'poll']);
    assert.equal(fromConfig.status, 0, fromConfig.err);
    assert.deepEqual(
      control.bodies.map((b) => b.command),
      ['resource-rebuild', 'poll'],
    );
    const wrong = await run(['--url', `http://127.0.0.1:${port}`, 'poll'], 'wrong');
    assert.equal(wrong.status, 1);
  });

  it('reads admin_token_file relative to the config file', () => {
    assert.equal(tokenFileFromConfig('[DEFAULT]\nadmin_token_file = secret/token\n', '/etc/astara/orchestrator.ini'), '/etc/astara/secret/token');
    assert.equal(tokenFileFromConfig('[DEFAULT]\nhost = x\n', '/etc/astara/orchestrator.ini'), undefined);
  });
});
