// The router driver over the local network provider: the router's `ha` as
// the resource's request, and the document of a single appliance or of an HA
// member.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { validateDocument } from '../../contract/index.js';
import type { ResourceRef } from '../core/events.js';
import { LocalNetworkProvider } from '../providers/local/network.js';
import { parseResourceFile } from '../providers/local/resource-file.js';
import type { ResourceView } from '../providers/local/view.js';
import { RouterDriver } from './router.js';

const OPTIONS = { managementNetworkId: 'mgmt-net', managementPrefix: 'fdca:3ba5:a17a:acda::/64' };
const TENANT = '0123456789abcdef0123456789abcdef';
const REF: ResourceRef = { driver: 'router', id: 'router-1', tenantId: TENANT };
const PEER = 'fdca:3ba5:a17a:acda::7';

function file(ha: boolean | undefined) {
  return {
    networks: [{ id: 'ext-net', 'router:external': true }, { id: 'net-a' }],
    subnets: [
      { id: 'ext-v4', network_id: 'ext-net', cidr: '192.0.2.0/24', ip_version: 4, gateway_ip: '192.0.2.1', enable_dhcp: false },
      { id: 'a-v4', network_id: 'net-a', cidr: '198.51.100.0/26', ip_version: 4, gateway_ip: '198.51.100.1' },
    ],
    ports: [
      {
        id: 'a-rtr',
        network_id: 'net-a',
        mac_address: 'fa:16:3e:00:0a:01',
        fixed_ips: [{ subnet_id: 'a-v4', ip_address: '198.51.100.1' }],
        device_owner: 'network:router_interface',
        device_id: 'router-1',
      },
    ],
    routers: [
      {
        id: 'router-1',
        tenant_id: TENANT,
        external_gateway_info: { network_id: 'ext-net', external_fixed_ips: [{ subnet_id: 'ext-v4', ip_address: '192.0.2.10' }] },
        ...(ha === undefined ? {} : { ha }),
      },
    ],
  };
}

function viewOf(document: unknown): ResourceView {
  const result = parseResourceFile(JSON.stringify(document), 'r.json', OPTIONS);
  if (!result.ok) assert.fail(JSON.stringify(result.problems));
  return result.view;
}

function setup(ha: boolean | undefined) {
  let view = viewOf(file(ha));
  const network = new LocalNetworkProvider(() => view, pino({ level: 'silent' }));
  const driver = new RouterDriver(REF, () => ({
    network,
    servicePort: 5000,
    asn: 64512,
    neighborAsn: 64512,
    providerRulesPath: '/nonexistent/provider_rules.json',
    ipsecVpn: false,
    orchestrator: { address: 'fdca:3ba5:a17a:acda::1', metadata_port: 9697, host: 'orch-1' },
    log: pino({ level: 'silent' }),
  }));
  return { driver, network, setHa: (next: boolean) => (view = viewOf(file(next))) };
}

const INTERFACES = new Map([
  ['mgmt-net', 'ge0'],
  ['ext-net', 'ge1'],
  ['net-a', 'ge2'],
]);

describe('RouterDriver', () => {
  it("asks for a pair exactly when the router's ha is true, as of the last refresh", async () => {
    const { driver, setHa } = setup(true);
    assert.equal(driver.isHa, false, 'nothing is known before the first refresh');
    await driver.refresh();
    assert.equal(driver.isHa, true);
    setHa(false);
    assert.equal(driver.isHa, true, 'an edit is seen at the next refresh');
    await driver.refresh();
    assert.equal(driver.isHa, false);
    const plain = setup(undefined);
    await plain.driver.refresh();
    assert.equal(plain.driver.isHa, false, 'ha defaults to false');
  });

  it("builds an HA member's document with its peering, and the single appliance's without, whatever the router's ha", async () => {
    const { driver, network } = setup(true);
    await driver.refresh();
    const managementPort = await network.ensureManagementPort(REF, 1);
    const member = await driver.buildConfig(managementPort, INTERFACES, { peers: [PEER], priority: 50 });
    assert.equal(member.ha_resource, true);
    assert.deepEqual(member.ha_config, { peers: [PEER], priority: 50 });
    assert.deepEqual(Object.keys(member).slice(-2), ['vpn', 'ha_config'], 'ha_config last, as the original added it');
    assert.deepEqual(
      member.networks?.map((n) => [n.network_type, n.interface.addresses]),
      [
        ['management', [`${managementPort.fixed_ips[0]!.ip_address}/64`]],
        ['external', ['192.0.2.10/24']],
        ['internal', ['198.51.100.1/26']],
      ],
      "the router's own addresses: both members carry them",
    );
    const result = validateDocument(member);
    assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.errors));

    // A router edited to ha: true and not rebuilt yet still runs one appliance, which must not be told it is in a pair.
    const single = await driver.buildConfig(await network.ensureManagementPort(REF, 0), INTERFACES);
    assert.equal(single.ha_resource, false);
    assert.equal('ha_config' in single, false);
  });
});
