// Boot test of the appliance image (npm run test:image).
//
// Builds build/astara.qcow2 with diskimage-builder (or reuses one newer than
// every input), boots it under QEMU in software emulation with user-mode
// networking and a config drive (label config-2) whose user data carries the
// management MAC and address the way the original orchestrator wrote it, then
// talks to the agent through a port forwarded on 127.0.0.1 only.
//
// Settings (environment):
//   ASTARA_IMAGE=PATH.qcow2   boot this image (PATH.vmlinuz/.initrd beside it); never build
//   ASTARA_IMAGE_REBUILD=1    build even when build/astara.qcow2 is fresh
//   ASTARA_QEMU_ACCEL=...     QEMU accelerator (default tcg,thread=multi)
//   ASTARA_BOOT_TIMEOUT=S     seconds to wait for the agent (default 420)
//   ASTARA_IMAGE_KEEP=1       keep the work directory (console log, config drive)
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEFAULT_IMAGE = join(ROOT, 'build', 'astara.qcow2');
const BOOT_TIMEOUT_MS = Number(process.env.ASTARA_BOOT_TIMEOUT ?? 420) * 1000;
const ACCEL = process.env.ASTARA_QEMU_ACCEL ?? 'tcg,thread=multi';
/** Pace between two attempts of a poll whose attempts already wait on the guest. */
const POLL_INTERVAL_MS = 500;

// Documentation addresses only (RFC 5737): QEMU's user network is moved from
// its default (a 10/8 network) to 192.0.2.0/24; the appliance gets .15 from the
// config drive, QEMU's virtual host is .2.
const GUEST_NET = '192.0.2.0/24';
const QEMU_HOST = '192.0.2.2';
const MANAGEMENT_ADDRESS = '192.0.2.15';
const MANAGEMENT_PREFIX = 24;
// 52:54:00 is QEMU's locally administered prefix.
const MANAGEMENT_MAC = '52:54:00:a5:7a:01';
// The default MTU of astara-configure-management (spec section 7).
const MANAGEMENT_MTU = 1280;

// Everything that goes into the image: a newer file means the image is stale.
const IMAGE_INPUTS = ['elements', 'diskimage-builder', 'bin', 'appliance', 'contract', 'package.json', 'package-lock.json'];

interface Timings {
  buildSeconds?: number;
  bootToApiSeconds?: number;
}
const timings: Timings = {};

function log(message: string): void {
  process.stderr.write(`[image] ${message}\n`);
}

function findTool(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin'])) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} not found: run npm run image once (it installs the host tools) or apt-get install it`);
}

/** Runs a short command (argument array); throws with its output on failure. */
function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}${result.stdout}`);
}

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of await readdir(path)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    newest = Math.max(newest, await newestMtime(join(path, entry)));
  }
  return newest;
}

async function imageIsFresh(image: string): Promise<boolean> {
  const info = await stat(image).catch(() => undefined);
  if (!info) return false;
  for (const suffix of ['.vmlinuz', '.initrd']) if (!existsSync(image.replace(/\.qcow2$/, suffix))) return false;
  let newest = 0;
  for (const input of IMAGE_INPUTS) newest = Math.max(newest, await newestMtime(join(ROOT, input)));
  return info.mtimeMs > newest;
}

/** npm run image, with the full log in build/image-build.log and the phases on stderr. */
async function buildImage(): Promise<void> {
  await mkdir(join(ROOT, 'build'), { recursive: true });
  const logPath = join(ROOT, 'build', 'image-build.log');
  const logFile = createWriteStream(logPath);
  const started = Date.now();
  log(`building the image (log: ${logPath})`);
  const child = spawn('bash', [join(ROOT, 'diskimage-builder', 'build-image.sh')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const onData = (chunk: Buffer) => {
    logFile.write(chunk);
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-6000);
    for (const line of text.split('\n')) {
      const phase = /dib-run-parts Running \S+\/([a-z-]+\.d\/\S+)/.exec(line) ?? /^(build-image: .*)/.exec(line);
      if (phase) log(`  ${phase[1]}`);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  await new Promise((resolve) => logFile.end(resolve));
  if (code !== 0) throw new Error(`the image build failed (exit ${code}); see ${logPath}. Last output:\n${tail}`);
  timings.buildSeconds = (Date.now() - started) / 1000;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** The user data the original orchestrator passed (format_userdata), for this test's MAC and address. */
function userData(): string {
  return [
    '#cloud-config',
    '',
    'cloud_config_modules:',
    '  - emit_upstart',
    '  - set_hostname',
    '  - locale',
    '  - set-passwords',
    '  - timezone',
    '  - disable-ec2-metadata',
    '  - runcmd',
    '',
    "output: {all: '| tee -a /var/log/cloud-init-output.log'}",
    '',
    'debug:',
    '  - verbose: true',
    '',
    'bootcmd:',
    `  - /usr/local/bin/astara-configure-management ${MANAGEMENT_MAC} ${MANAGEMENT_ADDRESS}/${MANAGEMENT_PREFIX}`,
    '',
    'users:',
    '  - name: astara',
    '    gecos: Astara',
    '    groups: users',
    '    shell: /bin/bash',
    '    sudo: ALL=(ALL) NOPASSWD:ALL',
    '    lock-passwd: true',
    '    ssh-authorized-keys: []',
    '',
    'final_message: "Astara appliance is running"',
    '',
  ].join('\n');
}

/** An OpenStack config drive as Nova writes it in vfat format (label config-2), built without mounting. */
async function makeConfigDrive(dir: string): Promise<string> {
  const image = join(dir, 'config-drive.vfat');
  const content = join(dir, 'config-drive');
  await mkdir(content, { recursive: true });
  const uuid = randomUUID();
  await writeFile(join(content, 'meta_data.json'), JSON.stringify({ uuid, name: 'astara-image-test', hostname: 'astara-image-test', availability_zone: 'nova', launch_index: 0 }));
  await writeFile(join(content, 'user_data'), userData());
  run('truncate', ['-s', '4M', image]);
  run(findTool('mkfs.vfat'), ['-n', 'config-2', image]);
  const mtools = ['-i', image];
  run(findTool('mmd'), [...mtools, '::openstack', '::openstack/latest']);
  run(findTool('mcopy'), [...mtools, join(content, 'meta_data.json'), '::openstack/latest/meta_data.json']);
  run(findTool('mcopy'), [...mtools, join(content, 'user_data'), '::openstack/latest/user_data']);
  return image;
}

/** One QMP command over the monitor socket. */
function qmp(socketPath: string, command: string, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`QMP ${command}: no answer`));
    }, timeoutMs);
    let buffer = '';
    let stage = 0;
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const message = JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>;
        buffer = buffer.slice(newline + 1);
        if ('QMP' in message && stage === 0) {
          stage = 1;
          socket.write(`${JSON.stringify({ execute: 'qmp_capabilities' })}\n`);
        } else if ('return' in message && stage === 1) {
          stage = 2;
          socket.write(`${JSON.stringify({ execute: command })}\n`);
        } else if (('return' in message || 'error' in message) && stage === 2) {
          clearTimeout(timer);
          socket.end();
          if ('error' in message) reject(new Error(`QMP ${command}: ${JSON.stringify(message.error)}`));
          else resolve();
        }
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

class Guest {
  readonly started = Date.now();
  exited = false;
  exitCode: number | null = null;
  private readonly killOnExit = () => this.process.kill('SIGKILL');

  private constructor(
    readonly process: ChildProcess,
    readonly apiPort: number,
    readonly sshPort: number,
    readonly qmpSocket: string,
    readonly consoleLog: string,
  ) {
    process.once('exit', (code) => {
      this.exited = true;
      this.exitCode = code;
    });
    // Whatever happens to the test process, QEMU does not outlive it.
    globalThis.process.once('exit', this.killOnExit);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      globalThis.process.once(signal, () => {
        this.process.kill('SIGKILL');
        globalThis.process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
      });
    }
  }

  static async start(image: string, configDrive: string, workDir: string): Promise<Guest> {
    const apiPort = await freePort();
    const sshPort = await freePort();
    const qmpSocket = join(workDir, 'qmp.sock');
    const consoleLog = join(workDir, 'console.log');
    const base = image.replace(/\.qcow2$/, '');
    const netdev = [
      'user',
      'id=n0',
      `net=${GUEST_NET}`,
      `host=${QEMU_HOST}`,
      'ipv6=off',
      // The guest reaches neither the host nor the outside; forwards still work.
      'restrict=on',
      `hostfwd=tcp:127.0.0.1:${apiPort}-${MANAGEMENT_ADDRESS}:5000`,
      `hostfwd=tcp:127.0.0.1:${sshPort}-${MANAGEMENT_ADDRESS}:22`,
    ].join(',');
    const args = [
      '-accel', ACCEL,
      '-smp', '2',
      '-m', '1024',
      '-display', 'none',
      '-no-reboot',
      '-kernel', `${base}.vmlinuz`,
      '-initrd', `${base}.initrd`,
      '-append', 'root=LABEL=cloudimg-rootfs rw console=ttyS0,115200 panic=-1 net.ifnames=0',
      '-drive', `file=${image},if=virtio,format=qcow2,snapshot=on`,
      '-drive', `file=${configDrive},if=virtio,format=raw,readonly=on`,
      '-netdev', netdev,
      '-device', `virtio-net-pci,netdev=n0,mac=${MANAGEMENT_MAC}`,
      '-serial', `file:${consoleLog}`,
      '-monitor', 'none',
      '-qmp', `unix:${qmpSocket},server=on,wait=off`,
    ];
    const qemu = findTool('qemu-system-x86_64');
    log(`starting ${qemu} ${args.join(' ')}`);
    const child = spawn(qemu, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000);
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.once('exit', (code) => {
      if (code !== 0 && stderr) log(`qemu stderr: ${stderr.trim()}`);
    });
    return new Guest(child, apiPort, sshPort, qmpSocket, consoleLog);
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.apiPort}${path}`;
  }

  consoleTail(lines = 60): string {
    if (!existsSync(this.consoleLog)) return '(no console output)';
    return readFileSync(this.consoleLog, 'utf8').replace(/\r/g, '').split('\n').slice(-lines).join('\n');
  }

  /** Polls GET /v1/base/ until it answers 200; returns the seconds since QEMU started. */
  async waitForApi(timeoutMs: number): Promise<number> {
    const deadline = this.started + timeoutMs;
    let lastError = '';
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`QEMU exited (${this.exitCode}) before the agent answered. Console:\n${this.consoleTail()}`);
      try {
        const response = await fetch(this.url('/v1/base/'), { signal: AbortSignal.timeout(5000) });
        await response.text();
        if (response.status === 200) return (Date.now() - this.started) / 1000;
        lastError = `HTTP ${response.status}`;
      } catch (error) {
        lastError = error instanceof Error ? `${error.message}${error.cause instanceof Error ? `: ${error.cause.message}` : ''}` : String(error);
      }
      // Each attempt already waits for the guest (connect or timeout); pace the rest.
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
    throw new Error(`the agent did not answer within ${timeoutMs / 1000}s (last: ${lastError}). Console:\n${this.consoleTail()}`);
  }

  /** ACPI power-off (when graceful), then QMP quit, then SIGKILL: QEMU is gone when this returns. */
  async stop(graceful: boolean): Promise<void> {
    const waitExit = (ms: number) =>
      new Promise<boolean>((resolve) => {
        if (this.exited) {
          resolve(true);
          return;
        }
        const timer = setTimeout(() => resolve(false), ms);
        this.process.once('exit', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    const started = Date.now();
    try {
      if (graceful && !this.exited) await qmp(this.qmpSocket, 'system_powerdown');
      if (graceful && (await waitExit(60_000))) log(`guest powered off in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    } catch (error) {
      log(`power-off failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!this.exited) {
      await qmp(this.qmpSocket, 'quit').catch(() => undefined);
      if (!(await waitExit(5000))) {
        this.process.kill('SIGKILL');
        await waitExit(5000);
      }
    }
    globalThis.process.removeListener('exit', this.killOnExit);
  }
}

async function getJson(guest: Guest, path: string): Promise<unknown> {
  const response = await fetch(guest.url(path), { signal: AbortSignal.timeout(30_000) });
  const body = await response.text();
  assert.equal(response.status, 200, `GET ${path}: ${body}`);
  assert.match(response.headers.get('content-type') ?? '', /application\/json/);
  return JSON.parse(body) as unknown;
}

interface ApiInterface {
  ifname: string;
  lladdr: string;
  mtu: number;
  state: string;
  addresses: string[];
}

/** Reads the SSH identification line, retrying while sshd starts (host keys are made at first boot). */
async function sshBanner(port: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const banner = await new Promise<string>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      let data = '';
      const done = () => {
        socket.destroy();
        resolve(data);
      };
      socket.setTimeout(5000, done);
      socket.on('data', (chunk) => {
        data += chunk.toString('latin1');
        if (data.includes('\n')) done();
      });
      socket.on('error', done);
      socket.on('close', done);
    });
    if (banner.startsWith('SSH-')) return banner.trim();
    last = banner;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error(`no SSH banner on the management address (last: ${JSON.stringify(last)})`);
}

describe('appliance image under QEMU', { timeout: 60 * 60 * 1000 }, () => {
  let guest: Guest | undefined;
  let workDir = '';
  let image = process.env.ASTARA_IMAGE ?? DEFAULT_IMAGE;
  let failed = false;

  before(async () => {
    try {
      await startGuest();
    } catch (error) {
      failed = true;
      throw error;
    }
  });

  async function startGuest(): Promise<void> {
    if (process.env.ASTARA_IMAGE) {
      log(`using ${image} (ASTARA_IMAGE)`);
    } else if (process.env.ASTARA_IMAGE_REBUILD !== '1' && (await imageIsFresh(image))) {
      log(`reusing ${image}: newer than every input (ASTARA_IMAGE_REBUILD=1 rebuilds)`);
    } else {
      await buildImage();
      image = DEFAULT_IMAGE;
    }
    const size = statSync(image).size;
    log(`image size: ${(size / 1024 / 1024).toFixed(1)} MiB (${size} bytes)`);
    assert.ok(size < 400 * 1000 * 1000, `the compressed qcow2 must stay under 400 MB, it is ${size} bytes`);

    workDir = await mkdtemp(join(tmpdir(), 'astara-image-'));
    const configDrive = await makeConfigDrive(workDir);
    guest = await Guest.start(image, configDrive, workDir);
    log(`waiting for the agent on 127.0.0.1:${guest.apiPort} (console: ${guest.consoleLog})`);
    timings.bootToApiSeconds = await guest.waitForApi(BOOT_TIMEOUT_MS);
    log(`agent answered ${timings.bootToApiSeconds.toFixed(1)}s after QEMU started`);
  }

  after(async () => {
    // A guest that never came up may not handle the ACPI button yet: quit at once.
    await guest?.stop(timings.bootToApiSeconds !== undefined);
    const summary = [
      `build time: ${timings.buildSeconds === undefined ? 'not built (reused)' : `${timings.buildSeconds.toFixed(0)}s`}`,
      `image size: ${existsSync(image) ? `${(statSync(image).size / 1024 / 1024).toFixed(1)} MiB` : 'none'}`,
      `boot-to-API: ${timings.bootToApiSeconds === undefined ? 'did not answer' : `${timings.bootToApiSeconds.toFixed(1)}s`}`,
    ].join(', ');
    log(summary);
    console.log(`# image test: ${summary}`);
    if (!workDir) return;
    if (failed || process.env.ASTARA_IMAGE_KEEP === '1') log(`kept ${workDir} (console.log, config drive)`);
    else await rm(workDir, { recursive: true, force: true });
  });

  const step = (name: string, body: () => Promise<void>): void => {
    void it(name, async () => {
      try {
        assert.ok(guest, 'the guest did not start');
        await body();
      } catch (error) {
        failed = true;
        if (guest) log(`console tail:\n${guest.consoleTail(40)}`);
        throw error;
      }
    });
  };

  step('GET /v1/base/ answers', async () => {
    const response = await fetch(guest!.url('/v1/base/'), { signal: AbortSignal.timeout(30_000) });
    assert.equal(response.status, 200);
    assert.ok((await response.text()).trim().length > 0);
  });

  step('lists the virtio NIC as ge0 with the MAC QEMU was given', async () => {
    const body = (await getJson(guest!, '/v1/system/interfaces')) as { interfaces: ApiInterface[] };
    const ge0 = body.interfaces.find((i) => i.ifname === 'ge0');
    assert.ok(ge0, `no ge0 in ${JSON.stringify(body)}`);
    assert.equal(ge0.lladdr.toLowerCase(), MANAGEMENT_MAC);
    assert.ok(!body.interfaces.some((i) => i.ifname === 'lo'), 'lo must not get a generic name');
  });

  step('applied the management configuration from the config drive', async () => {
    // The forwarded port targets the management address: an answer at all
    // means the address is configured and the agent listens on it.
    const body = (await getJson(guest!, '/v1/system/interface/ge0')) as { interface: ApiInterface };
    const ge0 = body.interface;
    assert.equal(ge0.lladdr.toLowerCase(), MANAGEMENT_MAC);
    assert.ok(ge0.addresses.includes(`${MANAGEMENT_ADDRESS}/${MANAGEMENT_PREFIX}`), `ge0 addresses: ${ge0.addresses.join(', ')}`);
    assert.equal(ge0.state, 'up');
    assert.equal(ge0.mtu, MANAGEMENT_MTU);
  });

  step('sshd answers on the management address', async () => {
    const banner = await sshBanner(guest!.sshPort, 120_000);
    assert.match(banner, /^SSH-2\.0-OpenSSH/);
  });

  step('accepts a configuration and returns it', async () => {
    const document = {
      hostname: 'astara-image-test',
      tenant_id: 'image-test',
      asn: 64512,
      neighbor_asn: 64512,
      networks: [
        {
          network_id: 'image-test-management',
          network_type: 'management',
          interface: { ifname: 'ge0', lladdr: MANAGEMENT_MAC, addresses: [`${MANAGEMENT_ADDRESS}/${MANAGEMENT_PREFIX}`] },
          v4_conf_service: 'static',
          subnets: [
            { id: 'image-test-management-v4', cidr: GUEST_NET, gateway_ip: '', dhcp_enabled: false, dns_nameservers: [], host_routes: [] },
          ],
          allocations: [],
        },
      ],
      floating_ips: [],
      labels: {},
      vpn: {},
    };
    const put = await fetch(guest!.url('/v1/system/config'), {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(document),
      signal: AbortSignal.timeout(120_000),
    });
    const putBody = await put.text();
    assert.equal(put.status, 200, `PUT /v1/system/config: ${putBody}`);
    const accepted = (JSON.parse(putBody) as { configuration: unknown }).configuration;

    const got = (await getJson(guest!, '/v1/system/config')) as { configuration: typeof document };
    assert.deepEqual(got.configuration, accepted);
    assert.equal(got.configuration.hostname, document.hostname);
    assert.equal(got.configuration.networks[0]?.network_id, 'image-test-management');
    assert.deepEqual(got.configuration.networks[0]?.interface.addresses, [`${MANAGEMENT_ADDRESS}/${MANAGEMENT_PREFIX}`]);

    // Still reachable on the management address after the apply.
    const base = await fetch(guest!.url('/v1/base/'), { signal: AbortSignal.timeout(30_000) });
    assert.equal(base.status, 200);
  });
});
