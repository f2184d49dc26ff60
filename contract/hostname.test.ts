// Host names that dnsmasq would read as a lease time, an address or a keyword.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dhcpHostnameProblem } from './hostname.js';

test('dnsmasq keywords, lease times and all-numeric names are refused, with the reason', () => {
  const refused: [string, RegExp][] = [
    ['ignore', /keyword/],
    ['infinite', /keyword/],
    ['Ignore', /keyword/],
    ['300', /lease time/],
    ['5m', /lease time/],
    ['12h', /lease time/],
    ['2d', /lease time/],
    ['1w', /lease time/],
    ['45s', /lease time/],
    ['10M', /lease time/],
    ['198.51.100.7', /numbers only/],
    ['1.2', /numbers only/],
    ['0', /lease time/],
    // dnsmasq is given the first label only.
    ['12h.example', /first label "12h".*lease time/],
    ['ignore.example', /first label "ignore".*keyword/],
    ['10.example', /first label "10".*lease time/],
  ];
  for (const [name, reason] of refused) assert.match(dhcpHostnameProblem(name) ?? 'accepted', reason, name);
});

test('ordinary host names pass, digits included', () => {
  for (const name of ['host-a', '198-51-100-3.local', 'vm-2-17', 'ignored', 'infinite-loop', 'm', 'h1', '5mm', 'h12.example', 'x.198.51.100.7', '300a']) {
    assert.equal(dhcpHostnameProblem(name), undefined, name);
  }
});
