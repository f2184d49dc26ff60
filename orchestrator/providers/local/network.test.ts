// The local NetworkProvider over a parsed view, and the deterministic ports it
// synthesizes (a restarted orchestrator must find the same appliances).
/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-explicit-any */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { contains, parseAddress, parseCidr } from '../../../contract/ip.js';
import type { ResourceRef } from '../../core/events.js';
import { deterministicMac, deterministicPortId, eui64Address, LocalNetworkProvider } from './network.js';
import { parseResourceFile } from './resource-file.js';
import type { ResourceView } from './view.js';

const PREFIX = 'fdca:3ba5:a17a:acda::/64';
const OPTIONS = { managementNetworkId: 'mgmt-net', managementPrefix: PREFIX };
const ROUTER: ResourceRef = { driver: 'router', id: 'router-1', tenantId: 'tenant-1' };
const logger = pino({ level: 'silent' });

function port(id: string, networkId: string, subnetId: string, address: string, mac: string, owner: string, deviceId: string): any {
  return { id, network_id: networkId, mac_address: mac, fixed_ips: [{ subnet_id: subnetId, ip_address: address }], device_owner: owner, device_id: deviceId };
}

/** router-1 with two interfaces (in file order b, a) and a synthesized gateway; router-2 with a gateway port in the file. */
function baseDocument(): any {
  return {
    networks: [{ id: 'ext-net', 'router:external': true }, { id: 'net-a' }, { id: 'net-b' }],
    subnets: [
      { id: 'ext-v4', network_id: 'ext-net', cidr: '192.0.2.0/24', ip_version: 4, gateway_ip: '192.0.2.1' },
      { id: 'a-v4', network_id: 'net-a', cidr: '198.51.100.0/26', ip_version: 4 },
      { id: 'a-v6', network_id: 'net-a', cidr: '2001:db8:a::/64', ip_version: 6 },
      { id: 'b-v4', network_id: 'net-b', cidr: '198.51.100.64/26', ip_version: 4 },
    ],
    ports: [
      port('b-rtr', 'net-b', 'b-v4', '198.51.100.65', 'fa:16:3e:00:0b:01', 'network:router_interface', 'router-1'),
      port('a-guest', 'net-a', 'a-v4', '198.51.100.10', 'fa:16:3e:00:0a:10', 'compute:nova', 'server-a'),
      port('a-rtr', 'net-a', 'a-v4', '198.51.100.1', 'fa:16:3e:00:0a:01', 'network:router_interface', 'router-1'),
      port('gw-2', 'ext-net', 'ext-v4', '192.0.2.20', 'fa:16:3e:00:ee:02', 'network:router_gateway', 'router-2'),
    ],
    routers: [
      { id: 'router-1', tenant_id: 'tenant-1', external_gateway_info: { network_id: 'ext-net', external_fixed_ips: [{ subnet_id: 'ext-v4', ip_address: '192.0.2.10' }] } },
      { id: 'router-2', tenant_id: 'tenant-2', external_gateway_info: { network_id: 'ext-net' } },
      { id: 'router-3', tenant_id: 'tenant-1' },
    ],
    floatingips: [
      { id: 'fip-1', floating_ip_address: '192.0.2.50', floating_network_id: 'ext-net', port_id: 'a-guest' },
      { id: 'fip-free', floating_ip_address: '192.0.2.51', floating_network_id: 'ext-net' },
    ],
  };
}

function viewOf(document: unknown): ResourceView {
  const result = parseResourceFile(JSON.stringify(document), 'r.json', OPTIONS);
  if (!result.ok) assert.fail(JSON.stringify(result.problems, null, 1));
  return result.view;
}

function provider(document: unknown = baseDocument()): LocalNetworkProvider {
  const view = viewOf(document);
  return new LocalNetworkProvider(() => view, logger);
}

describe('deterministic ports', () => {
  test('the same key gives the same id and MAC; another key others', () => {
    assert.equal(deterministicPortId('mgmt:router:r1:0'), deterministicPortId('mgmt:router:r1:0'));
    assert.equal(deterministicMac('mgmt:router:r1:0'), deterministicMac('mgmt:router:r1:0'));
    assert.notEqual(deterministicPortId('mgmt:router:r1:0'), deterministicPortId('mgmt:router:r1:1'));
    assert.notEqual(deterministicMac('mgmt:router:r1:0'), deterministicMac('mgmt:router:r1:1'));
  });

  test('ids look like version-4 UUIDs', () => {
    for (const key of ['a', 'b', 'gateway:router-1']) {
      assert.match(deterministicPortId(key), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  test('MACs are unicast and locally administered', () => {
    for (const key of ['a', 'b', 'c', 'mgmt:router:r1:0']) {
      const mac = deterministicMac(key);
      assert.match(mac, /^fa(?::[0-9a-f]{2}){5}$/);
      const first = parseInt(mac.slice(0, 2), 16);
      assert.equal(first & 0x01, 0, 'unicast');
      assert.equal(first & 0x02, 0x02, 'locally administered');
    }
  });

  test('EUI-64 addresses are what SLAAC gives, inside the prefix', () => {
    assert.equal(eui64Address(PREFIX, 'fa:16:3e:4d:bf:12'), 'fdca:3ba5:a17a:acda:f816:3eff:fe4d:bf12');
    assert.equal(eui64Address('2001:db8:a::/48', '02:00:00:00:00:01'), '2001:db8:a::ff:fe00:1');
    const address = eui64Address(PREFIX, deterministicMac('x'));
    assert.ok(contains(parseCidr(PREFIX)!, parseAddress(address)!));
    assert.match(address, /^fdca:3ba5:a17a:acda:f8[0-9a-f]{2}:[0-9a-f]{1,2}ff:fe[0-9a-f]{2}:[0-9a-f]{1,4}$/);
  });

  test('EUI-64 needs an IPv6 prefix of /64 or shorter and a MAC', () => {
    assert.throws(() => eui64Address('fdca:3ba5:a17a:acda::/80', 'fa:16:3e:4d:bf:12'), /\/64 or shorter/);
    assert.throws(() => eui64Address('198.51.100.0/24', 'fa:16:3e:4d:bf:12'), /IPv6/);
    assert.throws(() => eui64Address(PREFIX, 'fa:16:3e'), /not a MAC/);
  });
});

describe('LocalNetworkProvider', () => {
  test('lists routers with their tenants, and finds the first router of a tenant', async () => {
    const network = provider();
    assert.deepEqual(await network.listRouters(), [
      { driver: 'router', id: 'router-1', tenantId: 'tenant-1' },
      { driver: 'router', id: 'router-2', tenantId: 'tenant-2' },
      { driver: 'router', id: 'router-3', tenantId: 'tenant-1' },
    ]);
    assert.equal(await network.routerForTenant('tenant-1'), 'router-1');
    assert.equal(await network.routerForTenant('tenant-9'), undefined);
    assert.equal(network.managementNetworkId, 'mgmt-net');
  });

  test('a router detail has its interfaces in file order and associated floating IPs only', async () => {
    const detail = (await provider().getRouter('router-1'))!;
    assert.deepEqual(
      detail.interfaces.map((p) => p.id),
      ['b-rtr', 'a-rtr'],
    );
    assert.deepEqual(
      detail.floatingIps.map((f) => f.id),
      ['fip-1'],
    );
    assert.equal(await provider().getRouter('router-x'), undefined);
  });

  test('a gateway port is synthesized from external_fixed_ips, the same every time', async () => {
    const gateway = (await provider().getRouter('router-1'))!.gatewayPort!;
    assert.equal(gateway.id, deterministicPortId('gateway:router-1'));
    assert.equal(gateway.mac_address, deterministicMac('gateway:router-1'));
    assert.equal(gateway.network_id, 'ext-net');
    assert.equal(gateway.device_owner, 'network:router_gateway');
    assert.equal(gateway.device_id, 'router-1');
    assert.deepEqual(gateway.fixed_ips, [{ subnet_id: 'ext-v4', ip_address: '192.0.2.10' }]);
    assert.deepEqual((await provider().getRouter('router-1'))!.gatewayPort, gateway);
  });

  test("the file's gateway port wins; a router without a gateway has none", async () => {
    assert.equal((await provider().getRouter('router-2'))!.gatewayPort?.id, 'gw-2');
    assert.equal((await provider().getRouter('router-3'))!.gatewayPort, undefined);
  });

  test('a gateway without addresses and without a port gives no gateway port', async () => {
    const document = baseDocument();
    document.ports.pop();
    const network = provider(document);
    assert.equal((await network.getRouter('router-2'))!.gatewayPort, undefined);
  });

  test('a network comes with its subnets in file order', async () => {
    const network = provider();
    const detail = (await network.getNetwork('net-a'))!;
    assert.deepEqual(
      detail.subnets.map((s) => s.id),
      ['a-v4', 'a-v6'],
    );
    assert.equal((await network.getNetwork('mgmt-net'))!.subnets[0]!.cidr, PREFIX);
    assert.equal(await network.getNetwork('net-x'), undefined);
  });

  test('network ports are the file order, then synthesized gateway ports', async () => {
    const network = provider();
    assert.deepEqual(
      (await network.listNetworkPorts('net-a')).map((p) => p.id),
      ['a-guest', 'a-rtr'],
    );
    assert.deepEqual(
      (await network.listNetworkPorts('ext-net')).map((p) => p.id),
      ['gw-2', deterministicPortId('gateway:router-1')],
    );
  });

  test('the management port is deterministic, on the management network, addressed by EUI-64', async () => {
    const network = provider();
    const port = await network.ensureManagementPort(ROUTER, 0);
    assert.deepEqual(await provider().ensureManagementPort(ROUTER, 0), port);
    assert.equal(port.id, deterministicPortId('mgmt:router:router-1:0'));
    assert.equal(port.mac_address, deterministicMac('mgmt:router:router-1:0'));
    assert.equal(port.network_id, 'mgmt-net');
    assert.equal(port.name, 'ASTARA:MGT:router-1');
    assert.equal(port.device_id, 'router-1');
    assert.equal(port.device_owner, 'network:astara');
    assert.deepEqual(port.fixed_ips, [{ subnet_id: 'mgmt-net-subnet', ip_address: eui64Address(PREFIX, port.mac_address) }]);
    assert.ok(contains(parseCidr(PREFIX)!, parseAddress(port.fixed_ips[0]!.ip_address)!));
    assert.equal(network.managementInterface(port), `${port.fixed_ips[0]!.ip_address}/64`);

    const second = await network.ensureManagementPort(ROUTER, 1);
    assert.notEqual(second.id, port.id);
    assert.notEqual(second.mac_address, port.mac_address);
    assert.notEqual(second.fixed_ips[0]!.ip_address, port.fixed_ips[0]!.ip_address);
  });

  test('appliances plug the logical ports themselves', async () => {
    const network = provider();
    const logical = (await network.getRouter('router-1'))!.interfaces[0]!;
    assert.equal(await network.ensureAppliancePort(ROUTER, logical), logical);
    assert.equal(network.appliancePortMatches(logical, { ...logical }), true);
    assert.equal(network.appliancePortMatches(logical, { ...logical, mac_address: 'fa:16:3e:00:0b:02' }), false);
    assert.equal(network.appliancePortMatches(logical, { ...logical, network_id: 'net-a' }), false);
    assert.equal(network.appliancePortMatches(logical, { ...logical, id: 'other' }), false);
    await network.deleteAppliancePorts(ROUTER);
  });

  test('HA members plug ports of their own: one per member and logical port, same network, own MAC, no address, the same after a restart', async () => {
    const network = provider();
    const detail = (await network.getRouter('router-1'))!;
    const logical = detail.interfaces[0]!;
    const zero = await network.ensureAppliancePort(ROUTER, logical, 0);
    const one = await network.ensureAppliancePort(ROUTER, logical, 1);
    for (const member of [zero, one]) {
      assert.equal(member.network_id, logical.network_id);
      assert.notEqual(member.id, logical.id);
      assert.notEqual(member.mac_address, logical.mac_address);
      assert.match(member.mac_address, /^fa(:[0-9a-f]{2}){5}$/);
      assert.deepEqual(member.fixed_ips, []);
      assert.equal(member.name, 'ASTARA:VRRP:router-1');
      assert.equal(member.device_id, 'router-1');
    }
    assert.notEqual(zero.id, one.id);
    assert.notEqual(zero.mac_address, one.mac_address);
    const gateway = await network.ensureAppliancePort(ROUTER, detail.gatewayPort!, 0);
    assert.notEqual(gateway.id, zero.id);
    assert.deepEqual(await provider().ensureAppliancePort(ROUTER, logical, 1), one, 'a restarted orchestrator derives the same port');

    assert.equal(network.appliancePortMatches(zero, logical, 0), true);
    assert.equal(network.appliancePortMatches(zero, logical, 1), false, "the other member's port");
    assert.equal(network.appliancePortMatches(zero, logical), false, 'the single appliance plugs the logical port');
    assert.equal(network.appliancePortMatches(logical, logical, 0), false);
    assert.equal(network.appliancePortMatches({ ...zero, network_id: 'net-a' }, { ...logical, network_id: 'net-a' }, 0), true, 'follows the logical port to its network');
    assert.equal(network.appliancePortMatches(zero, { ...logical, network_id: 'net-a' }, 0), false, 'a port moved to another network is plugged again');
    assert.equal(network.appliancePortMatches({ ...zero, mac_address: 'fa:16:3e:00:0b:02' }, logical, 0), false);
  });

  test('lists load balancers with their projects, gives one with its parts, and finds the first of a tenant', async () => {
    const document = baseDocument();
    document.loadbalancers = [
      { id: 'lb-1', project_id: 'tenant-2', vip_subnet_id: 'b-v4', vip_address: '198.51.100.70' },
      { id: 'lb-2', tenant_id: 'tenant-1', vip_port_id: 'a-guest' },
    ];
    document.listeners = [{ id: 'listener-1', loadbalancer_id: 'lb-2', protocol: 'TCP', protocol_port: 22 }];
    const network = provider(document);
    assert.deepEqual(await network.listLoadBalancers(), [
      { driver: 'loadbalancer', id: 'lb-1', tenantId: 'tenant-2' },
      { driver: 'loadbalancer', id: 'lb-2', tenantId: 'tenant-1' },
    ]);
    assert.equal(await network.loadBalancerForTenant('tenant-1'), 'lb-2');
    assert.equal(await network.loadBalancerForTenant('tenant-9'), undefined);
    const detail = (await network.getLoadBalancer('lb-2'))!;
    assert.equal(detail.vipPort.id, 'a-guest', "the file's port is the VIP port");
    assert.deepEqual(
      detail.listeners.map((l) => l.id),
      ['listener-1'],
    );
    assert.equal(await network.getLoadBalancer('lb-9'), undefined);
    // The appliance plugs the VIP port itself.
    const lb: ResourceRef = { driver: 'loadbalancer', id: 'lb-2', tenantId: 'tenant-1' };
    assert.equal(await network.ensureAppliancePort(lb, detail.vipPort), detail.vipPort);
  });

  test('a status report is only logged, at debug', async () => {
    const records: { level: number; status?: string }[] = [];
    const view = viewOf(baseDocument());
    const network = new LocalNetworkProvider(() => view, pino({ level: 'debug' }, { write: (line: string) => records.push(JSON.parse(line) as { level: number }) }));
    await network.updateStatus(ROUTER, 'ACTIVE');
    assert.deepEqual(
      records.map((r) => [r.level, r.status]),
      [[20, 'ACTIVE']],
    );
  });

  test('answers from the current view each time', async () => {
    let view = viewOf(baseDocument());
    const network = new LocalNetworkProvider(() => view, logger);
    assert.ok(await network.getRouter('router-3'));
    const document = baseDocument();
    document.routers.pop();
    view = viewOf(document);
    assert.equal(await network.getRouter('router-3'), undefined);
  });
});
