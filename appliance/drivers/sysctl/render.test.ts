import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigModel } from '../../../contract/index.js';
import { renderSysctls } from './render.js';

describe('renderSysctls', () => {
  it('turns on IPv4 and IPv6 forwarding and nothing else', () => {
    assert.deepEqual(renderSysctls({} as ConfigModel), { 'net/ipv4/ip_forward': '1', 'net/ipv6/conf/all/forwarding': '1' });
  });
});
