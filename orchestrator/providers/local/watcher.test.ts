// The resource file watcher on real files in a temporary directory: the two
// ways editors save, invalid edits, unchanged rewrites and the safety poll.
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { waitFor } from '../../../test/harness/exec.js';
import type { Event } from '../../core/events.js';
import type { ResourceView } from './view.js';
import { ResourceFileWatcher, type ResourceFileWatcherOptions } from './watcher.js';

const OPTIONS = { managementNetworkId: 'mgmt-net', managementPrefix: 'fdca:3ba5:a17a:acda::/64' };

interface Router {
  readonly id: string;
  readonly tenant: string;
  readonly name?: string;
}

/** A file of routers without ports: enough to see CREATE / UPDATE / DELETE. */
const fileOf = (routers: readonly Router[]): string =>
  stringify({ routers: routers.map((r) => ({ id: r.id, tenant_id: r.tenant, ...(r.name ? { name: r.name } : {}) })) });

const ROUTER_1: Router = { id: 'router-1', tenant: 'tenant-1' };
const ROUTER_2: Router = { id: 'router-2', tenant: 'tenant-2' };

interface LogRecord {
  readonly level: number;
  readonly msg: string;
  readonly problems?: readonly { path: string; message: string }[];
}

let directory: string;
let path: string;
/** What the watcher did, in order: `view router-1,router-2` for onView, `create router-1 -> tenant-1` for a delivery. */
let happenings: string[];
let records: LogRecord[];
let watcher: ResourceFileWatcher | undefined;

function makeWatcher(options: Partial<ResourceFileWatcherOptions> = {}): ResourceFileWatcher {
  const logger = pino({ level: 'debug' }, { write: (line: string) => records.push(JSON.parse(line) as LogRecord) });
  watcher = new ResourceFileWatcher({
    path,
    parseOptions: OPTIONS,
    logger,
    debounceMs: 20,
    onView: (view: ResourceView) => {
      happenings.push(`view ${[...view.routers.keys()].join(',')}`);
    },
    ...options,
  });
  return watcher;
}

const deliver = (target: string, event: Event): void => {
  happenings.push(`${event.crud} ${event.resource.id} -> ${target}`);
};

async function started(initial: readonly Router[], options: Partial<ResourceFileWatcherOptions> = {}): Promise<ResourceFileWatcher> {
  await writeFile(path, fileOf(initial));
  const source = makeWatcher(options);
  const result = await source.load();
  assert.ok(result.ok);
  await source.start(deliver);
  // start() checks at once for edits made since load(): let that check pass first.
  await until('the check at start', () => records.some((r) => r.msg.includes('content unchanged')));
  records.length = 0;
  return source;
}

async function until(what: string, check: () => boolean): Promise<void> {
  await waitFor(what, check, 10_000);
}

describe('ResourceFileWatcher', () => {
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'astara-watch-'));
    path = join(directory, 'resources.yaml');
    happenings = [];
    records = [];
  });

  afterEach(async () => {
    await watcher?.stop();
    watcher = undefined;
    await rm(directory, { recursive: true, force: true });
  });

  test('load() reads the file, makes it the current view, and delivers nothing', async () => {
    await writeFile(path, fileOf([ROUTER_1]));
    const source = makeWatcher();
    const result = await source.load();
    assert.ok(result.ok);
    assert.deepEqual([...source.current!.routers.keys()], ['router-1']);
    assert.deepEqual(source.lastProblems, []);
    assert.deepEqual(happenings, []);
  });

  test('load() of an invalid file returns its problems and has no view', async () => {
    await writeFile(path, 'routers:\n  - id: router 1\n');
    const source = makeWatcher();
    const result = await source.load();
    assert.equal(result.ok, false);
    assert.equal(source.current, undefined);
    assert.deepEqual(
      source.lastProblems.map((p) => p.path),
      ['/routers/0/id', '/routers/0/tenant_id'],
    );
  });

  test('an in-place rewrite becomes events, after the view hook', async () => {
    await started([ROUTER_1]);
    await writeFile(path, fileOf([{ ...ROUTER_1, name: 'renamed' }]));
    await until('the update', () => happenings.length >= 2);
    assert.deepEqual(happenings, ['view router-1', 'update router-1 -> tenant-1']);
  });

  test('a new file renamed over the old one becomes events', async () => {
    const source = await started([ROUTER_1]);
    const temporary = join(directory, '.resources.yaml.swp');
    await writeFile(temporary, fileOf([ROUTER_1, ROUTER_2]));
    await rename(temporary, path);
    await until('the create', () => happenings.length >= 2);
    assert.deepEqual(happenings, ['view router-1,router-2', 'create router-2 -> tenant-2']);
    assert.deepEqual([...source.current!.routers.keys()], ['router-1', 'router-2']);
  });

  test('an invalid edit is logged and ignored; the next valid edit is diffed against the last valid view', async () => {
    const source = await started([ROUTER_1]);
    const before = source.current;
    await writeFile(path, fileOf([ROUTER_1]).replace('router-1', 'router 1'));
    await until('the warning', () => records.some((r) => r.msg.includes('invalid')));
    const warning = records.find((r) => r.msg.includes('invalid'))!;
    assert.equal(warning.level, 40);
    assert.deepEqual(
      warning.problems?.map((p) => p.path),
      ['/routers/0/id'],
    );
    assert.deepEqual(
      source.lastProblems.map((p) => p.path),
      ['/routers/0/id'],
    );
    assert.equal(source.current, before);
    assert.deepEqual(happenings, []);

    await writeFile(path, fileOf([ROUTER_1, ROUTER_2]));
    await until('the create', () => happenings.length >= 2);
    assert.deepEqual(happenings, ['view router-1,router-2', 'create router-2 -> tenant-2']);
    assert.deepEqual(source.lastProblems, []);
  });

  test('a rewrite with the same bytes does nothing', async () => {
    await started([ROUTER_1]);
    await writeFile(path, fileOf([ROUTER_1]));
    await until('the unchanged read', () => records.some((r) => r.msg.includes('content unchanged')));
    assert.deepEqual(happenings, []);
  });

  test('a file emptied for good deletes every router', async () => {
    await started([ROUTER_1, ROUTER_2]);
    await writeFile(path, '');
    await until('the deletes', () => happenings.length >= 3);
    assert.deepEqual(happenings, ['view ', 'delete router-1 -> tenant-1', 'delete router-2 -> tenant-2']);
  });

  test('a file emptied for a moment in the middle of a save changes nothing', async () => {
    await started([ROUTER_1], { debounceMs: 200 });
    await writeFile(path, '');
    await until('the first empty read', () => records.some((r) => r.msg.includes('emptied')));
    await writeFile(path, fileOf([ROUTER_1]));
    await until('the read of the saved file', () => records.some((r) => r.msg.includes('content unchanged')));
    assert.deepEqual(happenings, []);
  });

  test('an edit between load() and start() is delivered at start', async () => {
    await writeFile(path, fileOf([ROUTER_1]));
    const source = makeWatcher();
    await source.load();
    await writeFile(path, fileOf([]));
    await source.start(deliver);
    await until('the delete', () => happenings.length >= 2);
    assert.deepEqual(happenings, ['view ', 'delete router-1 -> tenant-1']);
  });

  test('a file created after start becomes events (the directory is watched)', async () => {
    const source = makeWatcher();
    assert.equal((await source.load()).ok, false, 'a missing file is refused');
    await source.start(deliver);
    await writeFile(path, fileOf([ROUTER_2]));
    await until('the create', () => happenings.length >= 2);
    assert.deepEqual(happenings, ['view router-2', 'create router-2 -> tenant-2']);
  });

  test('the safety poll finds a change the watch did not announce in time', async () => {
    // The watch's debounce is far beyond the test: only the poll can see the edit.
    await started([ROUTER_1], { debounceMs: 60_000, pollMs: 50 });
    await writeFile(path, fileOf([ROUTER_1, ROUTER_2]));
    await until('the create', () => happenings.length >= 2);
    assert.deepEqual(happenings, ['view router-1,router-2', 'create router-2 -> tenant-2']);
  });

  test('the view hook is told whether config reload asked for the read: an edit is not one', async () => {
    const reloads: boolean[] = [];
    const source = await started([ROUTER_1], { onView: (_view: ResourceView, reload: boolean) => void reloads.push(reload) });
    await writeFile(path, fileOf([ROUTER_1, ROUTER_2]));
    await until('the edit', () => reloads.length === 1);
    await source.reload();
    assert.deepEqual(reloads, [false, true]);
  });

  test('reload() reads now and returns the result', async () => {
    const source = await started([ROUTER_1], { debounceMs: 60_000 });
    await writeFile(path, fileOf([ROUTER_2]));
    const result = await source.reload();
    assert.ok(result.ok);
    assert.deepEqual(happenings, ['view router-2', 'create router-2 -> tenant-2', 'delete router-1 -> tenant-1']);

    await writeFile(path, 'routers: [');
    const invalid = await source.reload();
    assert.equal(invalid.ok, false);
    assert.deepEqual([...source.current!.routers.keys()], ['router-2']);
    assert.equal(source.lastProblems[0]!.path, '');
  });
});
