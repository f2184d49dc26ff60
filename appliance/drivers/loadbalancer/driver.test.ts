// nginx on the daemon lifecycle of appliance/host/: the real `nginx -t` on
// what the renderer writes, and a fake nginx process that logs what the real
// one logs (the supervisor itself is tested in host/supervisor.test.ts).
/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { validateDocument } from '../../../contract/index.js';
import { FakeRunner } from '../../../test/support/fake-runner.js';
import { DaemonLifecycle, type DaemonControl } from '../../host/daemon-config.js';
import { CommandRunner } from '../../host/exec.js';
import { checkable, nginxDefinition, nginxFiles, nginxSettings, workerUser, type NginxFile } from './driver.js';
import { renderLoadBalancer, type LoadBalancerDesired } from './render.js';

const logger = pino({ level: 'silent' });
const NOTES = readFileSync(new URL('../../../test/fixtures/documents/loadbalancer-notes-8.2.json', import.meta.url), 'utf8');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function desired(edit: (lb: any, doc: any) => void = () => undefined): LoadBalancerDesired {
  const doc = JSON.parse(NOTES);
  // Unprivileged ports: `nginx -t` binds them (on loopback, see checkable), also when the tests do not run as root.
  doc.services.loadbalancer.listeners[0].protocol_port = 18080;
  doc.services.loadbalancer.listeners[1].protocol_port = 15432;
  edit(doc.services.loadbalancer, doc);
  const result = validateDocument(doc);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return renderLoadBalancer(result.model);
}

describe('what nginx -t reads', () => {
  it('has every listening address replaced by the loopback address of its family, and nothing else changed', () => {
    const text = 'http {\n  server {\n    listen 198.51.100.10:80;\n  }\n  server {\n    listen [2001:db8::10]:443;\n  }\n  upstream pool_0 {\n    server 198.51.100.21:8080 weight=1;\n  }\n}\n';
    assert.equal(checkable(text), text.replace('198.51.100.10:80', '127.0.0.1:80').replace('[2001:db8::10]:443', '[::1]:443'));
  });
});

describe('nginx settings', () => {
  it('run the workers as nobody where the user namespace maps it, else as root', () => {
    assert.equal(workerUser('         0          0 4294967295\n', '         0          0 4294967295\n'), 'nobody nogroup');
    assert.equal(workerUser('         0       1000          1\n', '         0       1000          1\n'), 'root root');
    assert.equal(workerUser('', ''), 'root root');
  });

  it('refuse a state directory that would change the directives it is written into', () => {
    for (const dir of ['/var/lib/astara state', '/var/lib/a;b', '/var/lib/{x}', "/var/lib/it's", '/var/lib/$x', 'relative']) {
      assert.throws(() => nginxSettings(dir, 'root root'), /cannot be written into nginx\.conf/, dir);
    }
    assert.equal(nginxSettings('/var/lib/astara', 'root root').requestLog(80), '/var/lib/astara/nginx/requests-80.log');
  });
});

describe('nginx -t on the rendered configuration', () => {
  let stateDir: string;
  beforeEach(async () => (stateDir = await mkdtemp(join(tmpdir(), 'astara-nginx-'))));
  afterEach(() => rm(stateDir, { recursive: true, force: true }));

  const lifecycle = () => new DaemonLifecycle(nginxDefinition(stateDir), new FakeNginx(join(stateDir, 'nginx', 'nginx.log')));
  const settings = () => nginxSettings(stateDir, workerUser());

  it('accepts every shape the renderer writes, IPv4 and IPv6', async () => {
    const shapes: [string, LoadBalancerDesired, ReadonlySet<string>][] = [
      ['the notes document', desired(), new Set()],
      ['every member held down', desired(), new Set(desired().plan!.targets.map((t) => t.key))],
      ['a disabled load balancer', desired((lb) => (lb.admin_state_up = false)), new Set()],
      ['pools without members', desired((lb) => lb.listeners.forEach((l: { default_pool: { members: unknown[] } }) => (l.default_pool.members = []))), new Set()],
      [
        'an IPv6 VIP and members',
        desired((lb, doc) => {
          doc.networks[0].interface.addresses.push('2001:db8:1b::10/64');
          doc.networks[0].subnets.push({ cidr: '2001:db8:1b::/64', gateway_ip: '2001:db8:1b::1', dhcp_enabled: false, dns_nameservers: [], host_routes: [] });
          lb.vip_address = '2001:db8:1b::10';
          lb.listeners[0].default_pool.members[0].address = '2001:db8:1b::21';
        }),
        new Set(),
      ],
    ];
    for (const [name, state, down] of shapes) {
      await assert.doesNotReject(lifecycle().check(nginxFiles(state, down, settings()), new CommandRunner()), name);
    }
  });

  it('refuses what nginx refuses, with its message', async () => {
    const files = nginxFiles(desired(), new Set(), settings())!;
    const broken = { 'nginx.conf': files['nginx.conf'].replace('keepalive 256;', 'keepalive sixteen;') };
    await assert.rejects(lifecycle().check(broken, new CommandRunner()), /nginx refused the configuration: .*invalid value "sixteen"/);
  });
});

/** Records what the lifecycle asks of nginx, and logs on SIGHUP what the old worker of a real one logs. */
class FakeNginx implements DaemonControl {
  running = false;
  wanted = false;
  readonly calls: string[] = [];

  constructor(private readonly log: string) {}

  start(): Promise<void> {
    this.calls.push('start');
    this.running = this.wanted = true;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.calls.push('stop');
    this.running = this.wanted = false;
    return Promise.resolve();
  }

  signal(name: NodeJS.Signals): void {
    this.calls.push(name);
    if (name === 'SIGHUP') appendFileSync(this.log, '[notice] 10#10: reconfiguring\n[notice] 11#11: gracefully shutting down\n');
  }
}

describe('nginx on the daemon lifecycle', () => {
  let stateDir: string;
  let nginx: FakeNginx;
  let lifecycle: DaemonLifecycle<NginxFile>;
  const runner = new FakeRunner();
  const settings = () => nginxSettings(stateDir, 'root root');
  const apply = async (state: LoadBalancerDesired, down: ReadonlySet<string> = new Set()) => {
    const applied = await lifecycle.apply(nginxFiles(state, down, settings()), { runner, logger });
    await applied.commit?.();
    return applied;
  };
  const onDisk = () => readFile(join(stateDir, 'nginx', 'nginx.conf'), 'utf8').catch(() => undefined);

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'astara-nginx-'));
    nginx = new FakeNginx(join(stateDir, 'nginx', 'nginx.log'));
    lifecycle = new DaemonLifecycle(nginxDefinition(stateDir), nginx);
  });
  afterEach(() => rm(stateDir, { recursive: true, force: true }));

  it('starts nginx on the first document, reloads it by SIGHUP for every change, and runs nothing for the same text', async () => {
    assert.equal((await apply(desired())).changed, true);
    assert.deepEqual(nginx.calls, ['start']);
    assert.equal((await apply(desired())).changed, false);
    const down = new Set([desired().plan!.targets[0]!.key]);
    assert.equal((await apply(desired(), down)).changed, true);
    assert.equal((await apply(desired((lb) => lb.listeners.pop()), down)).changed, true);
    assert.deepEqual(nginx.calls, ['start', 'SIGHUP', 'SIGHUP']);
    assert.doesNotMatch((await onDisk())!, /load_module/, 'the stream module goes with the last stream listener, by a reload');
  });

  it('stops nginx and removes its file when the document has no load balancer; an undo brings back the file and a reload', async () => {
    await apply(desired());
    const first = await onDisk();
    const changed = await lifecycle.apply(nginxFiles(desired((lb) => (lb.listeners[0].admin_state_up = false)), new Set(), settings()), { runner, logger });
    assert.notEqual(await onDisk(), first);
    await changed.undo!();
    assert.equal(await onDisk(), first);
    assert.deepEqual(nginx.calls, ['start', 'SIGHUP', 'SIGHUP']);
    await apply({ plan: undefined });
    assert.equal(await onDisk(), undefined);
    assert.deepEqual(nginx.calls.slice(-1), ['stop']);
  });
});
