import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prefixEnd } from './etcd.js';

const decoded = (base64: string): number[] => [...Buffer.from(base64, 'base64')];

describe('prefixEnd', () => {
  it('is the prefix with its last byte one higher: every key that starts with it sorts below', () => {
    assert.deepEqual(decoded(prefixEnd('/astara/g/members/')), [...Buffer.from('/astara/g/members0')]);
  });

  it('works on the UTF-8 bytes of the prefix', () => {
    assert.deepEqual(decoded(prefixEnd('a\u00ff')), [0x61, 0xc3, 0xc0]);
  });
});
