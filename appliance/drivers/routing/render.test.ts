import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { validateDocument, type ConfigModel } from '../../../contract/index.js';
import { fnv1a32 } from '../../host/names.js';
import { birdConfig, planRouting, renderRouting, routerId } from './render.js';

interface SubnetDoc {
  cidr: string;
  gateway_ip: string;
  dhcp_enabled: boolean;
  dns_nameservers: string[];
}
interface NetDoc {
  network_type: string;
  interface: { addresses: string[] };
  subnets: SubnetDoc[];
  allocations: { ip_addresses: Record<string, boolean> }[];
}
interface Doc {
  networks: NetDoc[];
  asn: number;
  neighbor_asn: number;
  default_v4_gateway: string;
  floating_ips: unknown[];
  static_routes: unknown[];
}

const harness = JSON.parse(readFileSync(new URL('../../../test/fixtures/documents/harness-router.json', import.meta.url), 'utf8')) as Doc;
const host = { realName: (generic: string) => `eth${generic.slice(2)}` };

function model(edit: (doc: Doc) => void = () => undefined): ConfigModel {
  const doc = structuredClone(harness);
  edit(doc);
  const result = validateDocument(doc);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.model;
}

/** Tenant A on a global prefix (2001:db8:a::/64), tenant B left on its ULA. */
function globalTenantA(doc: Doc): void {
  const a = doc.networks[2]!;
  a.interface.addresses = ['198.51.100.1/26', '2001:db8:a::1/64'];
  a.subnets[1] = { ...a.subnets[1]!, cidr: '2001:db8:a::/64', gateway_ip: '2001:db8:a::1', dhcp_enabled: false, dns_nameservers: ['2001:db8:e::53', '192.0.2.53'] };
  a.allocations[0]!.ip_addresses = { '198.51.100.10': true, '2001:db8:a::10': true };
}

describe('routing plan', () => {
  it('peers with each external IPv6 gateway and exports only global internal prefixes with a gateway', () => {
    const plan = planRouting(model(globalTenantA), host);
    assert.deepEqual(plan.bgp, [{ name: 'upstream1', neighbor: '2001:db8:e::1', localAddress: '2001:db8:e::2', localAs: 64512, neighborAs: 64512 }]);
    assert.deepEqual(plan.exported, [{ prefix: '2001:db8:a::/64', interface: 'eth2' }]);
  });

  it('never exports ULA, gatewayless or isolated-network prefixes', () => {
    const plan = planRouting(
      model((doc) => {
        globalTenantA(doc);
        doc.networks[2]!.subnets[1]!.gateway_ip = '';
        const b = doc.networks[3]!;
        b.network_type = 'isolated';
        b.interface.addresses = ['198.51.100.65/26', '2001:db8:b::1/64'];
        b.subnets[1] = { ...b.subnets[1]!, cidr: '2001:db8:b::/64', gateway_ip: '2001:db8:b::1' };
        b.allocations[0]!.ip_addresses = { '198.51.100.74': true, '2001:db8:b::10': true };
      }),
      host,
    );
    assert.deepEqual(plan.exported, []);
    assert.equal(plan.radv.length, 2, 'both tenant networks still get router advertisements');
    assert.match(birdConfig(plan), /export none;/);
    assert.doesNotMatch(birdConfig(plan), /TENANT_PREFIXES|protocol static/);
  });

  it('has no BGP session without an external IPv6 gateway or without a local address in its subnet', () => {
    assert.deepEqual(planRouting(model((doc) => (doc.networks[1]!.subnets[1]!.gateway_ip = '')), host).bgp, []);
    assert.deepEqual(planRouting(model((doc) => (doc.networks[1]!.interface.addresses = ['192.0.2.2/24'])), host).bgp, []);
  });

  it('advertises each tenant IPv6 prefix, autonomous unless the subnet uses DHCPv6, with IPv6 DNS servers as RDNSS', () => {
    const plan = planRouting(model(globalTenantA), host);
    assert.deepEqual(plan.radv, [
      { interface: 'eth2', managed: false, prefixes: [{ prefix: '2001:db8:a::/64', autonomous: true }], rdnss: ['2001:db8:e::53'] },
      { interface: 'eth3', managed: true, prefixes: [{ prefix: 'fd00:b::/64', autonomous: false }], rdnss: [] },
    ]);
  });

  it('covers every interface but the management one with the direct protocol', () => {
    assert.deepEqual(planRouting(model(), host).directInterfaces, ['eth1', 'eth2', 'eth3']);
  });

  it('takes the router id from the first external IPv4 address, else a stable hash', () => {
    assert.equal(routerId(model()), '192.0.2.2');
    const v6only = model((doc) => {
      doc.networks[1]!.interface.addresses = ['2001:db8:e::2/64'];
      doc.default_v4_gateway = '';
      doc.floating_ips = [];
    });
    const hash = fnv1a32('2001:db8:e::2');
    assert.equal(routerId(v6only), [hash >>> 24, (hash >>> 16) & 255, (hash >>> 8) & 255, hash & 255].join('.'));
    assert.equal(routerId(v6only), routerId(v6only));
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
  });

  it('refuses a real interface name that BIRD would read as a pattern', () => {
    assert.throws(() => planRouting(model(), { realName: (g) => (g === 'ge2' ? 'eth*' : g) }), /cannot be written/);
  });
});

describe('bird.conf', () => {
  it('renders the sessions, the export filter and the advertisements', () => {
    const text = renderRouting(
      model((doc) => {
        globalTenantA(doc);
        doc.neighbor_asn = 65000;
      }),
      host,
    ).config;
    for (const line of [
      'router id 192.0.2.2;',
      'log stderr all;',
      '  interface "eth1", "eth2", "eth3";',
      '  ipv6 { import all; export none; };',
      '  ipv4 { import all; export none; };',
      'define TENANT_PREFIXES = [ 2001:db8:a::/64 ];',
      '  route 2001:db8:a::/64 via "eth2";',
      'protocol bgp upstream1 {',
      '  description "eBGP to the external gateway 2001:db8:e::1";',
      '  local 2001:db8:e::2 as 64512;',
      '  neighbor 2001:db8:e::1 as 65000;',
      '    export filter upstream_export;',
      '    next hop self;',
      '  interface "eth2" {',
      '    prefix 2001:db8:a::/64 { autonomous yes; };',
      '    rdnss { ns 2001:db8:e::53; };',
      '  interface "eth3" {',
      '    managed yes;',
      '    prefix fd00:b::/64 { autonomous no; };',
      '    prefix ::/0 { skip yes; };',
    ]) {
      assert.ok(text.split('\n').includes(line), `missing line ${JSON.stringify(line)} in:\n${text}`);
    }
    assert.doesNotMatch(text, /fd00:b::\/64 via|192\.0\.2\.53/);
    assert.ok(!text.includes('"eth0"'), 'the management interface is never named');
  });

  it('has a second file without router advertisements for an HA pair member that is not master, and none for a single router', () => {
    assert.equal(renderRouting(model(), host).backupConfig, undefined);
    const pair = renderRouting(
      model((doc) => Object.assign(doc, { ha_resource: true, ha_config: { peers: ['fdca:3ba5:a17a:acda::3'] } })),
      host,
    );
    assert.match(pair.config, /^protocol radv tenants \{$/m);
    assert.equal(pair.backupConfig, birdConfig({ ...pair.plan, radv: [] }));
    assert.doesNotMatch(pair.backupConfig, /radv/);
  });

  it('is the same text for the same model, so a re-push changes nothing', () => {
    assert.equal(renderRouting(model(globalTenantA), host).config, renderRouting(model(globalTenantA), host).config);
  });

  it('is a device/direct/kernel-only configuration when there is nothing to announce', () => {
    const text = renderRouting(
      model((doc) => {
        doc.networks = doc.networks.slice(0, 2);
        doc.networks[1]!.subnets[1]!.gateway_ip = '';
        doc.floating_ips = [];
        doc.static_routes = [];
      }),
      host,
    ).config;
    assert.match(text, /protocol device/);
    assert.match(text, /protocol kernel kernel6/);
    assert.doesNotMatch(text, /protocol (bgp|radv|static)/);
  });
});

describe('bird -p', () => {
  const bird = spawnSync('bird', ['--version']);
  it('accepts every rendered variant', { skip: bird.error ? 'bird is not installed' : false }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'routing-render-'));
    try {
      const variants = [
        model(),
        model(globalTenantA),
        model((doc) => {
          globalTenantA(doc);
          doc.neighbor_asn = 4200000000;
        }),
        model((doc) => {
          doc.networks = doc.networks.slice(0, 1);
          doc.default_v4_gateway = '';
          doc.floating_ips = [];
          doc.static_routes = [];
        }),
      ];
      for (const [i, variant] of variants.entries()) {
        const file = join(dir, `bird${i}.conf`);
        writeFileSync(file, renderRouting(variant, host).config);
        const result = spawnSync('bird', ['-p', '-c', file], { encoding: 'utf8' });
        assert.equal(result.status, 0, `variant ${i}: ${result.stderr}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
