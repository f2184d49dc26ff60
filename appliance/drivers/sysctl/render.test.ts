import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigModel } from '../../../contract/index.js';
import { renderSysctls } from './render.js';

describe('renderSysctls', () => {
  it('turns on IPv4 and IPv6 forwarding, and leaves binding to absent addresses off, on a single router', () => {
    assert.deepEqual(renderSysctls({} as ConfigModel), {
      'net/ipv4/ip_forward': '1',
      'net/ipv6/conf/all/forwarding': '1',
      'net/ipv4/ip_nonlocal_bind': '0',
      'net/ipv6/ip_nonlocal_bind': '0',
    });
  });

  it('lets an HA pair member bind the addresses keepalived gives it only as master', () => {
    const model = { ha: { peers: [], priority: 100 } } as unknown as ConfigModel;
    assert.deepEqual(renderSysctls(model), {
      'net/ipv4/ip_forward': '1',
      'net/ipv6/conf/all/forwarding': '1',
      'net/ipv4/ip_nonlocal_bind': '1',
      'net/ipv6/ip_nonlocal_bind': '1',
    });
  });
});
