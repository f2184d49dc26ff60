import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigModel } from '../../../contract/index.js';
import { renderHostname } from './render.js';

const model = (hostname: string) => ({ hostname }) as ConfigModel;

describe('renderHostname', () => {
  it('uses the document hostname as is when the kernel can hold it', () => {
    assert.deepEqual(renderHostname(model('ak-router.example.org')), { hostname: 'ak-router.example.org' });
    const exactly64 = `${'a'.repeat(30)}.${'b'.repeat(33)}`;
    assert.equal(exactly64.length, 64);
    assert.equal(renderHostname(model(exactly64)).hostname, exactly64);
  });

  it('falls back to the first label of a name longer than 64 characters', () => {
    const long = `router-1.${'x'.repeat(60)}.example.org`;
    assert.deepEqual(renderHostname(model(long)), { hostname: 'router-1' });
  });
});
