import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { validateDocument, ValidationMemo, type ConfigModel } from '../../../contract/index.js';
import { dhcpHostName, renderDhcp, type DnsmasqPaths } from './render.js';

type Doc = Record<string, unknown> & { networks: NetDoc[] };
type NetDoc = Record<string, unknown> & { subnets: SubnetDoc[]; allocations: Record<string, unknown>[]; interface: Record<string, unknown> };
type SubnetDoc = Record<string, unknown>;

const LAB_DOC = JSON.parse(readFileSync(new URL('../../../test/fixtures/documents/harness-router.json', import.meta.url), 'utf8')) as Doc;
const PATHS: DnsmasqPaths = { hosts: '/s/dnsmasq/hosts', options: '/s/dnsmasq/options', leases: '/s/dnsmasq/leases' };
/** The lab's real names: geN is ethN. */
const HOST = { realName: (generic: string) => generic.replace('ge', 'eth') };

/** The lab document with its tenant allocations pinned, so these tests do not follow fixture edits. */
function labDoc(): Doc {
  const doc = structuredClone(LAB_DOC);
  const pinned: Record<string, Record<string, unknown>[]> = {
    ge2: [{ mac_address: '02:00:00:00:02:0a', ip_addresses: { '198.51.100.10': true, 'fd00:a::10': true }, hostname: 'host-a', device_id: 'a' }],
    ge3: [{ mac_address: '02:00:00:00:03:0b', ip_addresses: { '198.51.100.74': true, 'fd00:b::10': true }, hostname: 'host-b', device_id: 'b' }],
  };
  for (const network of doc.networks) network.allocations = pinned[network.interface.ifname as string] ?? network.allocations;
  return doc;
}

function modelOf(doc: Doc): ConfigModel {
  const result = validateDocument(doc);
  assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.errors));
  return result.model;
}

function tenantA(doc: Doc): NetDoc {
  return doc.networks.find((n) => (n.interface.ifname as string) === 'ge2')!;
}

function linesOf(text: string): string[] {
  return text.split('\n').filter(Boolean);
}

describe('renderDhcp', () => {
  it('renders the lab document: tenant interfaces, static ranges, one host per allocation, options per subnet', () => {
    const desired = renderDhcp(modelOf(labDoc()), HOST, PATHS);
    assert.equal(
      desired.config,
      [
        '# dnsmasq of the astara agent: DHCP only (no DNS), on tenant interfaces only.',
        '# Written by the agent; a change here restarts dnsmasq.',
        'port=0',
        'no-resolv',
        'no-hosts',
        'pid-file=',
        'log-facility=-',
        'user=root',
        'group=',
        'bind-interfaces',
        'interface=eth2',
        'interface=eth3',
        'except-interface=eth0',
        'except-interface=eth1',
        'dhcp-authoritative',
        'dhcp-lease-max=65535',
        'dhcp-leasefile=/s/dnsmasq/leases',
        'dhcp-hostsfile=/s/dnsmasq/hosts',
        'dhcp-optsfile=/s/dnsmasq/options',
        'dhcp-range=set:ge2-s0,198.51.100.0,static,255.255.255.192,86400s',
        'dhcp-range=set:ge2-s1,fd00:a::,static,64,86400s',
        'dhcp-range=set:ge3-s0,198.51.100.64,static,255.255.255.192,86400s',
        'dhcp-range=set:ge3-s1,fd00:b::,static,64,86400s',
        '',
      ].join('\n'),
    );
    assert.equal(desired.hosts, '02:00:00:00:02:0a,198.51.100.10,[fd00:a::10],host-a\n02:00:00:00:03:0b,198.51.100.74,[fd00:b::10],host-b\n');
    assert.equal(
      desired.options,
      'tag:ge2-s0,option:router,198.51.100.1\ntag:ge2-s0,option:dns-server,192.0.2.53\n' +
        'tag:ge3-s0,option:router,198.51.100.65\ntag:ge3-s0,option:dns-server,192.0.2.53\n',
    );
  });

  it('is pure: the same model gives the same text, and real names come from the host', () => {
    const model = modelOf(labDoc());
    assert.deepEqual(renderDhcp(model, HOST, PATHS), renderDhcp(model, HOST, PATHS));
    const other = renderDhcp(model, { realName: (g) => `ens${g.slice(2)}` }, PATHS);
    assert.match(other.config!, /^interface=ens2$/m);
    assert.doesNotMatch(other.config!, /eth/);
  });

  it('runs no dnsmasq when no tenant subnet has DHCP, even if management or external subnets ask for it', () => {
    const doc = labDoc();
    for (const network of doc.networks) {
      const tenant = network.network_type === 'internal';
      for (const subnet of network.subnets) subnet.dhcp_enabled = !tenant;
    }
    assert.deepEqual(renderDhcp(modelOf(doc), HOST, PATHS), { config: undefined, hosts: '', options: '' });
  });

  it('serves only the DHCP-enabled subnets and listens only where one is', () => {
    const doc = labDoc();
    tenantA(doc).subnets[1]!.dhcp_enabled = false;
    for (const subnet of doc.networks.find((n) => (n.interface.ifname as string) === 'ge3')!.subnets) subnet.dhcp_enabled = false;
    const desired = renderDhcp(modelOf(doc), HOST, PATHS);
    assert.deepEqual(
      linesOf(desired.config!).filter((l) => /^(interface|dhcp-range)=/.test(l)),
      ['interface=eth2', 'dhcp-range=set:ge2-s0,198.51.100.0,static,255.255.255.192,86400s'],
    );
    // host-a's IPv6 address is no longer served; host-b's network has no DHCP at all.
    assert.equal(desired.hosts, '02:00:00:00:02:0a,198.51.100.10,host-a\n');
  });

  it('sends host routes as option 121 with the default route through the gateway (RFC 3442)', () => {
    const doc = labDoc();
    tenantA(doc).subnets[0]!.host_routes = [
      { destination: '198.51.100.128/26', nexthop: '198.51.100.2' },
      { destination: '203.0.113.7/32', nexthop: '198.51.100.3' },
    ];
    const options = linesOf(renderDhcp(modelOf(doc), HOST, PATHS).options);
    assert.ok(
      options.includes('tag:ge2-s0,option:classless-static-route,198.51.100.128/26,198.51.100.2,203.0.113.7/32,198.51.100.3,0.0.0.0/0,198.51.100.1'),
      options.join('\n'),
    );
  });

  it('adds no second default route when a host route is the default', () => {
    const doc = labDoc();
    tenantA(doc).subnets[0]!.host_routes = [{ destination: '0.0.0.0/0', nexthop: '198.51.100.5' }];
    const options = linesOf(renderDhcp(modelOf(doc), HOST, PATHS).options);
    assert.ok(options.includes('tag:ge2-s0,option:classless-static-route,0.0.0.0/0,198.51.100.5'), options.join('\n'));
  });

  it('suppresses the router option and adds no default route for a subnet without a gateway', () => {
    const doc = labDoc();
    const subnet = tenantA(doc).subnets[0]!;
    subnet.gateway_ip = '';
    subnet.host_routes = [{ destination: '198.51.100.128/26', nexthop: '198.51.100.2' }];
    const options = linesOf(renderDhcp(modelOf(doc), HOST, PATHS).options).filter((l) => l.startsWith('tag:ge2-s0,'));
    assert.deepEqual(options, [
      'tag:ge2-s0,option:router',
      'tag:ge2-s0,option:dns-server,192.0.2.53',
      'tag:ge2-s0,option:classless-static-route,198.51.100.128/26,198.51.100.2',
    ]);
  });

  it('gives each family its own DNS servers, IPv6 in DHCPv6 form', () => {
    const doc = labDoc();
    tenantA(doc).subnets[0]!.dns_nameservers = ['192.0.2.53', '192.0.2.54'];
    tenantA(doc).subnets[1]!.dns_nameservers = ['2001:db8:e::53', '2001:db8:e::54'];
    const options = linesOf(renderDhcp(modelOf(doc), HOST, PATHS).options);
    assert.ok(options.includes('tag:ge2-s0,option:dns-server,192.0.2.53,192.0.2.54'));
    assert.ok(options.includes('tag:ge2-s1,option6:dns-server,[2001:db8:e::53],[2001:db8:e::54]'));
  });

  it("sends the network's MTU when it has one", () => {
    const doc = labDoc();
    tenantA(doc).interface.mtu = 1450;
    const options = linesOf(renderDhcp(modelOf(doc), HOST, PATHS).options);
    assert.ok(options.includes('tag:ge2-s0,option:mtu,1450'));
    assert.ok(!options.some((l) => l.startsWith('tag:ge3-s0,option:mtu')));
  });

  it('serves one address per family of the DHCP addresses, short hostnames, and skips allocations with none', () => {
    const doc = labDoc();
    tenantA(doc).allocations = [
      { mac_address: '02:00:00:00:02:01', ip_addresses: { '198.51.100.11': false, 'fd00:a::11': true }, hostname: 'fd00-a--11.local', device_id: 'd1' },
      { mac_address: '02:00:00:00:02:02', ip_addresses: { '198.51.100.12': true, '198.51.100.13': true }, device_id: 'd2' },
      { mac_address: '02:00:00:00:02:03', ip_addresses: { '198.51.100.14': false }, hostname: 'not-served', device_id: 'd3' },
    ];
    const hosts = linesOf(renderDhcp(modelOf(doc), HOST, PATHS).hosts).filter((l) => l.startsWith('02:00:00:00:02:'));
    assert.deepEqual(hosts, ['02:00:00:00:02:01,[fd00:a::11],fd00-a--11', '02:00:00:00:02:02,198.51.100.12']);
  });

  it("never offers the router's own address: its port's allocation (as orchestrators send it) gets no host line", () => {
    const doc = labDoc();
    tenantA(doc).allocations.push({ mac_address: '02:00:00:00:0f:01', ip_addresses: { '198.51.100.1': true }, device_id: 'router' });
    const hosts = renderDhcp(modelOf(doc), HOST, PATHS).hosts;
    assert.doesNotMatch(hosts, /02:00:00:00:0f:01|198\.51\.100\.1\b/);
    assert.match(hosts, /198\.51\.100\.10/);
  });

  it('writes MACs in lower case and IPv6 canonically', () => {
    const doc = labDoc();
    tenantA(doc).allocations = [{ mac_address: '02:00:00:00:02:AB', ip_addresses: { 'FD00:A:0::0:20': true }, hostname: 'x', device_id: 'd' }];
    const hosts = linesOf(renderDhcp(modelOf(doc), HOST, PATHS).hosts);
    assert.equal(hosts[0], '02:00:00:00:02:ab,[fd00:a::20],x');
  });
});

/**
 * The lab model with tenant A's allocation given `hostname` after
 * validation, so the renderer is tested on its own whatever the contract
 * refuses: it is the second line of defence.
 */
function withHostname(hostname: string): ConfigModel {
  const model = modelOf(labDoc());
  return {
    ...model,
    networks: model.networks.map((n) => (n.ifname === 'ge2' ? { ...n, allocations: n.allocations.map((a) => ({ ...a, hostname })) } : n)),
  };
}

describe('host names dnsmasq would read as something else', () => {
  // dnsmasq takes the fields of a hosts-file line by their look (option.c):
  // digits with or without a unit are a lease time, `ignore` means "never
  // answer", `infinite` an infinite lease, a dotted quad an address.
  const ambiguous = ['ignore', 'infinite', 'IGNORE', 'Infinite', '5m', '300', '12h', '1w', '2d', '90s', '0', '192.0.2.7', '10.example', '5M.local'];

  for (const hostname of ambiguous) {
    it(`refuses to write ${JSON.stringify(hostname)}, naming the allocation`, () => {
      assert.throws(
        () => renderDhcp(withHostname(hostname), HOST, PATHS),
        (error: Error) => {
          assert.match(error.message, /^\/networks\/2\/allocations\/0\/hostname \(02:00:00:00:02:0a\): /);
          assert.ok(error.message.includes(JSON.stringify(hostname)), error.message);
          assert.match(error.message, /a dnsmasq keyword|a lease time/);
          return true;
        },
      );
    });
  }

  it('refuses a first label that is not a plain host name label (separators, control characters, unicode)', () => {
    for (const hostname of ['a,ignore', 'a b', 'tag:x', 'id:*', '[fd00::1]', 'a\nb', '-a', 'a-', 'ä', '#x', `${'a'.repeat(64)}.local`]) {
      assert.throws(() => renderDhcp(withHostname(hostname), HOST, PATHS), /not a host name label/, hostname);
    }
  });

  it('writes names that only look close to a keyword or a lease time', () => {
    for (const [hostname, name] of [
      ['192-168-0-3.local', '192-168-0-3'],
      ['m', 'm'],
      ['s', 's'],
      ['host5m', 'host5m'],
      ['5m-guest', '5m-guest'],
      ['0x10', '0x10'],
      ['1e5', '1e5'],
      ['ignored', 'ignored'],
      ['infinity', 'infinity'],
    ] as const) {
      assert.equal(dhcpHostName(hostname, 'here'), name);
      assert.match(renderDhcp(withHostname(hostname), HOST, PATHS).hosts, new RegExp(`^02:00:00:00:02:0a,198\\.51\\.100\\.10,\\[fd00:a::10\\],${name}$`, 'm'));
    }
  });

  it('writes no name field for an allocation without a hostname', () => {
    assert.equal(dhcpHostName(undefined, 'here'), undefined);
    assert.equal(dhcpHostName('.local', 'here'), undefined);
  });
});

describe('the hosts file after a delta', () => {
  it('renders a changed network anew beside the unchanged network it keeps, as a fresh model renders', () => {
    const memo = new ValidationMemo();
    const validated = (doc: Doc) => {
      const result = validateDocument(structuredClone(doc), undefined, memo);
      assert.ok(result.ok);
      return result.model;
    };
    const first = validated(labDoc());
    assert.equal(renderDhcp(first, HOST, PATHS).hosts, '02:00:00:00:02:0a,198.51.100.10,[fd00:a::10],host-a\n02:00:00:00:03:0b,198.51.100.74,[fd00:b::10],host-b\n');
    const changed = labDoc();
    tenantA(changed).allocations[0]!.hostname = 'host-c';
    const second = validated(changed);
    // The memo hands back tenant B's model: its lines are the ones rendered for the first document.
    assert.equal(second.networks[3], first.networks[3]);
    assert.notEqual(second.networks[2], first.networks[2]);
    const hosts = renderDhcp(second, HOST, PATHS).hosts;
    assert.equal(hosts, '02:00:00:00:02:0a,198.51.100.10,[fd00:a::10],host-c\n02:00:00:00:03:0b,198.51.100.74,[fd00:b::10],host-b\n');
    assert.equal(hosts, renderDhcp(modelOf(changed), HOST, PATHS).hosts);
  });
});
