import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { buildProgram, StandaloneProxy } from './cli.js';

const logger = pino({ level: 'silent' });

describe('astara-metadata-proxy', { timeout: 30_000 }, () => {
  it('documents its options', () => {
    const help = buildProgram().helpInformation();
    for (const option of ['--config <file>', '--max-header-size', '--upstream-timeout', '--max-per-source', '--log-level']) {
      assert.ok(help.includes(option), option);
    }
  });

  it('applies the state file, reloads it, and keeps the running state when it turns invalid', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'astara-mdp-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'state.json');
    const listener = { networkId: 'n1', ifname: 'ge2', address: '127.0.0.2', port: 0, tenantId: 't', instances: { '127.0.0.10': 'd1' }, sources: ['127.0.0.0/8'] };
    await writeFile(file, JSON.stringify({ upstream: 'http://[::1]:9697', listeners: [listener] }));

    const standalone = new StandaloneProxy(file, logger);
    t.after(() => standalone.proxy.close());
    const first = await standalone.start();
    assert.deepEqual(first.opened, ['127.0.0.2|0']);

    await writeFile(file, JSON.stringify({ upstream: 'http://[::1]:9697', listeners: [{ ...listener, networkId: 'n2', address: '127.0.0.3' }] }));
    const second = await standalone.reload();
    assert.deepEqual(second && { opened: second.opened, closed: second.closed }, { opened: ['127.0.0.3|0'], closed: ['127.0.0.2|0'] });

    await writeFile(file, '{"upstream": 5}');
    assert.equal(await standalone.reload(), undefined);
    assert.deepEqual(standalone.proxy.listeners().map((l) => l.networkId), ['n2']);

    await writeFile(file, 'not json');
    await assert.rejects(new StandaloneProxy(file, logger).start(), new RegExp(`${file}: .*JSON`));
  });
});
