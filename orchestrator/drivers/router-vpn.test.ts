// The router driver over the local provider with VPNaaS in the resource file:
// `[router] ipsec_vpn` decides whether the router's services reach its
// document, and the document the driver builds passes the agent's contract.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { validateDocument } from '../../contract/index.js';
import type { ResourceRef } from '../core/events.js';
import { LocalNetworkProvider } from '../providers/local/network.js';
import { parseResourceFile } from '../providers/local/resource-file.js';
import { RouterDriver } from './router.js';

const OPTIONS = { managementNetworkId: 'mgmt-net', managementPrefix: 'fdca:3ba5:a17a:acda::/64' };
const REF: ResourceRef = { driver: 'router', id: 'router-1', tenantId: 'tenant-1' };
const PSK = 'driver-test-psk';

const FILE = {
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
  routers: [{ id: 'router-1', tenant_id: 'tenant-1', external_gateway_info: { network_id: 'ext-net', external_fixed_ips: [{ subnet_id: 'ext-v4', ip_address: '192.0.2.10' }] } }],
  vpnservices: [{ id: 'vpn-1', router_id: 'router-1', subnet_id: 'a-v4', external_v4_ip: '192.0.2.10' }],
  ikepolicies: [{ id: 'ike-1', ike_version: 'v2' }],
  ipsecpolicies: [{ id: 'ipsec-1' }],
  ipsec_site_connections: [
    { id: 'site-1', vpnservice_id: 'vpn-1', ikepolicy_id: 'ike-1', ipsecpolicy_id: 'ipsec-1', peer_address: '203.0.113.2', peer_cidrs: ['198.51.100.64/26'], psk: PSK },
  ],
};

const INTERFACES = new Map([
  ['mgmt-net', 'ge0'],
  ['ext-net', 'ge1'],
  ['net-a', 'ge2'],
]);

async function documentWith(ipsecVpn: boolean) {
  const result = parseResourceFile(JSON.stringify(FILE), 'r.json', OPTIONS);
  if (!result.ok) assert.fail(JSON.stringify(result.problems));
  const network = new LocalNetworkProvider(() => result.view, pino({ level: 'silent' }));
  const driver = new RouterDriver(REF, () => ({
    network,
    servicePort: 5000,
    asn: 64512,
    neighborAsn: 64512,
    providerRulesPath: '/nonexistent/provider_rules.json',
    ipsecVpn,
    orchestrator: { address: 'fdca:3ba5:a17a:acda::1', metadata_port: 9697, host: 'orch-1' },
    log: pino({ level: 'silent' }),
  }));
  await driver.refresh();
  return driver.buildConfig(await network.ensureManagementPort(REF, 0), INTERFACES);
}

describe('RouterDriver with VPNaaS', () => {
  it('[router] ipsec_vpn off: the document has no VPN, whatever the file has', async () => {
    assert.deepEqual((await documentWith(false)).vpn, {});
  });

  it("[router] ipsec_vpn on: the router's service and its connection, with Neutron's defaults, pass the agent's contract", async () => {
    const document = await documentWith(true);
    const [service] = document.vpn?.ipsec ?? [];
    assert.equal(service?.id, 'vpn-1');
    assert.equal(service.subnet_id, 'a-v4');
    const [connection] = service.ipsec_connections;
    assert.equal(connection?.psk, PSK);
    assert.deepEqual(connection.peer_cidrs, ['198.51.100.64/26']);
    assert.equal(connection.local_ep_group, null);
    assert.deepEqual(connection.ikepolicy.lifetime, { units: 'seconds', value: 3600 });
    assert.equal(connection.ipsecpolicy.pfs, 'group5');
    const result = validateDocument(document);
    assert.ok(result.ok, JSON.stringify(result));
    const model = result.model.vpn[0]?.connections[0];
    assert.deepEqual(model?.localCidrs.map((c) => c.network), ['198.51.100.0/26'], "the service's subnet is the local side");
    assert.equal(model?.ike.version, 'v2');
  });
});
