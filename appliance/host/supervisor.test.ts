// The supervisor with real (small) processes: what it records, how it
// restarts, a daemon that cannot start and comes back once the cause is gone,
// children that die with the agent, and leftovers of an earlier agent.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Daemon, endLeftoverDaemons, isRunning, RECORD_FILE, type DaemonSpec } from './supervisor.js';

const logger = pino({ level: 'silent' });

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; !(await check()); delay = Math.min(delay * 2, 100)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

describe('Daemon', () => {
  let dir: string;
  let flag: string;
  let daemons: Daemon[];
  const others: ChildProcess[] = [];

  /** A daemon that logs "ready" and stays up, or exits 3 at start-up while `flag` is missing. */
  const daemon = (overrides: Partial<DaemonSpec> = {}): Daemon => {
    const made = new Daemon(
      {
        name: 'fake',
        argv: ['sh', '-c', `test -e ${flag} || { echo "no flag at ${flag}" >&2; exit 3; }; echo ready; exec sleep 1000`],
        logFile: join(dir, 'fake', 'fake.log'),
        recordFile: join(dir, 'fake', RECORD_FILE),
        ready: { logLine: /^ready$/m },
        ...overrides,
      },
      logger,
    );
    daemons.push(made);
    return made;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'astara-supervisor-'));
    flag = join(dir, 'flag');
    await writeFile(flag, '');
    daemons = [];
  });
  afterEach(async () => {
    for (const d of daemons) await d.stop();
    for (const child of others.splice(0)) if (child.pid !== undefined && isRunning(child.pid)) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the daemon as its own command line, a child of the agent, and records it', async () => {
    const d = daemon();
    await d.start();
    const pid = d.pid!;
    assert.deepEqual(cmdline(pid), ['sleep', '1000'], 'setpriv executed the daemon in its place');
    assert.equal(parentOf(pid), process.pid);
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'fake', RECORD_FILE), 'utf8')), { pid, argv: d.spec.argv });
    const status = d.status();
    assert.equal(status.running, true);
    assert.equal(status.pid, pid);
    assert.equal(status.restarts, 0);
    assert.equal(status.last_error, null);
    assert.equal(d.wanted, true);

    await d.stop();
    assert.equal(isRunning(pid), false);
    assert.equal(existsSync(join(dir, 'fake', RECORD_FILE)), false);
    assert.deepEqual({ ...d.status(), started_at: null }, { name: 'fake', running: false, pid: null, restarts: 0, started_at: null, last_error: null });
    assert.equal(d.wanted, false);
  });

  it('restarts a daemon that dies, and says why it was down', async () => {
    const d = daemon();
    await d.start();
    const first = d.pid!;
    process.kill(first, 'SIGKILL');
    await waitFor('the supervisor to see it die', () => d.status().last_error !== null);
    assert.equal(d.status().last_error, 'exited (signal SIGKILL)');
    await waitFor('a new copy', () => d.running && d.pid !== first);
    assert.equal(d.status().restarts, 1);
    assert.equal(d.status().last_error, null, 'running again');
  });

  it('keeps trying a daemon that cannot start, shows it down meanwhile, and it comes back once the cause is gone', async () => {
    await rm(flag);
    const d = daemon();
    await assert.rejects(d.start(), /fake exited during start-up \(exit code 3\): no flag at/);
    assert.equal(d.running, false);
    assert.equal(d.wanted, true);
    await waitFor('two more tries', () => d.status().restarts >= 2);
    const down = d.status();
    assert.equal(down.running, false);
    assert.equal(down.pid, null);
    assert.match(down.last_error ?? '', /exit code 3.*no flag at/);

    await writeFile(flag, '');
    await waitFor('the daemon to come back by itself', () => d.running, 15_000);
    assert.equal(d.status().last_error, null);
    assert.match(readFileSync(join(dir, 'fake', 'fake.log'), 'utf8'), /ready/);
  });

  it('runs what the daemon needs before each start, also the tries after a crash', async () => {
    let prepared = 0;
    // The daemon starts only once its flag is made again: what a stale lock file's removal is to conntrackd.
    const d = daemon({
      beforeStart: async () => {
        prepared++;
        await writeFile(flag, '');
      },
    });
    await rm(flag);
    await d.start();
    assert.equal(prepared, 1);
    await rm(flag);
    process.kill(d.pid!, 'SIGKILL');
    await waitFor('the supervisor to start it again', () => prepared === 2 && d.running);
    assert.equal(d.status().restarts, 1);
  });

  it('tries no more once stopped', async () => {
    await rm(flag);
    const d = daemon();
    await assert.rejects(d.start());
    await d.stop();
    const restarts = d.status().restarts;
    await writeFile(flag, '');
    // Longer than the first retry's delay.
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(d.running, false);
    assert.equal(d.status().restarts, restarts);
    assert.equal(d.status().last_error, null, 'stopped on purpose is not an error');
  });

  it('fails a start whose daemon never gets ready, and ends it', async () => {
    let probes = 0;
    const d = daemon({
      ready: {
        probe: () => {
          probes++;
          return Promise.reject(new Error('probe broke'));
        },
      },
    });
    await assert.rejects(d.start(), /probe broke/);
    assert.ok(probes > 0);
    assert.equal(d.running, false);
    assert.match(d.status().last_error ?? '', /probe broke/);
  });

  it('is killed by the kernel when the agent dies (SIGKILL)', async () => {
    const supervisor = fileURLToPath(new URL('./supervisor.ts', import.meta.url));
    const script = [
      `import { Daemon } from ${JSON.stringify(supervisor)};`,
      `const d = new Daemon({ name: 'orphan', argv: ['sleep', '1000'], logFile: ${JSON.stringify(join(dir, 'o.log'))}, recordFile: ${JSON.stringify(join(dir, 'o.json'))} }, { info() {}, warn() {}, error() {}, debug() {} });`,
      'await d.start();',
      'console.log(d.pid);',
      'setInterval(() => undefined, 1000);',
    ].join('\n');
    const agent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    others.push(agent);
    const pid = await new Promise<number>((resolve, reject) => {
      agent.stdout.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
      agent.once('exit', () => reject(new Error('the agent exited')));
    });
    assert.ok(isRunning(pid));
    assert.equal(parentOf(pid), agent.pid);
    agent.kill('SIGKILL');
    await waitFor('the daemon to die with the agent', () => !isRunning(pid), 5000);
  });
});

describe('endLeftoverDaemons', () => {
  let dir: string;
  const leftovers: ChildProcess[] = [];

  const leftover = async (folder: string, argv: string[], recorded = argv): Promise<number> => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    leftovers.push(child);
    await new Promise((resolve) => child.once('spawn', resolve));
    await mkdir(join(dir, folder), { recursive: true });
    await writeFile(join(dir, folder, RECORD_FILE), JSON.stringify({ pid: child.pid, argv: recorded }));
    return child.pid!;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'astara-leftovers-'));
  });
  afterEach(async () => {
    for (const child of leftovers.splice(0)) if (child.pid !== undefined && isRunning(child.pid)) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('ends each daemon recorded under the state directory, and only those whose command line matches', async () => {
    const ours = await leftover('dnsmasq', ['sleep', '1001']);
    const recycled = await leftover('bird', ['sleep', '1002'], ['bird', '-f']);
    await writeFile(join(dir, 'not-a-folder.json'), JSON.stringify({ pid: recycled, argv: ['sleep', '1002'] }));
    await endLeftoverDaemons(dir, logger);
    await waitFor('the leftover to be gone', () => !isRunning(ours));
    assert.equal(isRunning(recycled), true, 'a pid that runs something else now is left alone');
    assert.equal(existsSync(join(dir, 'dnsmasq', RECORD_FILE)), false);
    assert.equal(existsSync(join(dir, 'bird', RECORD_FILE)), false);
  });

  it('is what a daemon does before its first start: it ends the copy its record names', async () => {
    const argv = ['sleep', '1003'];
    const old = await leftover('fake', argv);
    const d = new Daemon({ name: 'fake', argv, logFile: join(dir, 'fake', 'fake.log'), recordFile: join(dir, 'fake', RECORD_FILE) }, logger);
    try {
      await d.start();
      assert.equal(isRunning(old), false);
      assert.notEqual(d.pid, old);
    } finally {
      await d.stop();
    }
  });
});
