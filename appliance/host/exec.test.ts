import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandRunner } from './exec.js';

describe('CommandRunner', () => {
  it('records the commands of an apply, except background ones', async () => {
    const runner = new CommandRunner();
    runner.setRecording(true);
    await runner.change(['true']);
    await runner.change(['true'], { background: true });
    await runner.read(['true']);
    assert.deepEqual(
      runner.takeRecords().map((r) => r.mutating),
      [true, false],
    );
    runner.setRecording(false);
  });

  it('tells when no apply is running, after the one that ends', async () => {
    const runner = new CommandRunner();
    await runner.idle();
    runner.setRecording(true);
    const order: string[] = [];
    const idle = runner.idle().then(() => order.push('idle'));
    runner.setRecording(false);
    order.push('ended');
    await Promise.resolve();
    order.push('answered');
    await idle;
    assert.deepEqual(order, ['ended', 'answered', 'idle']);
  });
});

describe('runProcess', () => {
  it('says when a command was killed at its time limit', async () => {
    const runner = new CommandRunner();
    const result = await runner.read(['sleep', '5'], { timeoutMs: 100, allowFailure: true });
    assert.notEqual(result.exitCode, 0);
    assert.match(result.stderr, /killed after its time limit of 0\.1 s/);
    await assert.rejects(runner.read(['sleep', '5'], { timeoutMs: 100 }), /killed after its time limit/);
  });
});
