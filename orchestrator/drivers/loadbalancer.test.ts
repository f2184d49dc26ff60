// The load balancer driver over the local network provider: what its appliance
// plugs, the document it is pushed, and the statuses it reports.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { validateDocument } from '../../contract/index.js';
import type { ResourceRef } from '../core/events.js';
import { BOOTING, CONFIGURED, DOWN, ERROR, GONE, REPLUG, RESTART, UP, type InstanceState } from '../core/instance-state.js';
import { LocalNetworkProvider, vipPortId } from '../providers/local/network.js';
import { parseResourceFile } from '../providers/local/resource-file.js';
import type { ResourceView } from '../providers/local/view.js';
import { LoadBalancerDriver } from './loadbalancer.js';

const OPTIONS = { managementNetworkId: 'mgmt-net', managementPrefix: 'fdca:3ba5:a17a:acda::/64' };
const TENANT = '0123456789abcdef0123456789abcdef';
const REF: ResourceRef = { driver: 'loadbalancer', id: 'lb-1', tenantId: TENANT };

const FILE = {
  networks: [{ id: 'lb-net', mtu: 1450 }],
  subnets: [{ id: 'lb-v4', network_id: 'lb-net', cidr: '198.51.100.0/24', ip_version: 4, gateway_ip: '198.51.100.1' }],
  loadbalancers: [{ id: 'lb-1', project_id: TENANT, name: 'web', vip_subnet_id: 'lb-v4', vip_address: '198.51.100.10', provisioning_status: 'ACTIVE' }],
  listeners: [{ id: 'http-80', loadbalancer_id: 'lb-1', protocol: 'HTTP', protocol_port: 80, default_pool_id: 'web-pool' }],
  pools: [{ id: 'web-pool', loadbalancer_id: 'lb-1', protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' }],
  members: [
    { id: 'web-1', pool_id: 'web-pool', address: '198.51.100.21', protocol_port: 8080, weight: 3 },
    { id: 'web-2', pool_id: 'web-pool', address: '198.51.100.22', protocol_port: 8080 },
  ],
  healthmonitors: [{ id: 'web-mon', pool_id: 'web-pool', type: 'HTTP', delay: 2, timeout: 1, max_retries: 2, url_path: '/healthz' }],
};

function viewOf(document: unknown): ResourceView {
  const result = parseResourceFile(JSON.stringify(document), 'r.json', OPTIONS);
  if (!result.ok) assert.fail(JSON.stringify(result.problems));
  return result.view;
}

function setup(document: unknown = FILE) {
  let view = viewOf(document);
  const statuses: string[] = [];
  const network = new LocalNetworkProvider(() => view, pino({ level: 'silent' }));
  network.updateStatus = (_resource, status) => {
    statuses.push(status);
    return Promise.resolve();
  };
  const driver = new LoadBalancerDriver(REF, () => ({ network, servicePort: 5001 }));
  return { driver, network, statuses, setView: (next: unknown) => (view = viewOf(next)) };
}

describe('LoadBalancerDriver', () => {
  it('names its appliance ak-loadbalancer-<id>, one appliance, on the [loadbalancer] agent port', () => {
    const { driver } = setup();
    assert.equal(driver.name, 'ak-loadbalancer-lb-1');
    assert.equal(driver.isHa, false);
    assert.equal(driver.servicePort, 5001);
  });

  it('plugs the VIP port only, with its network\'s MTU; nothing once the load balancer is gone', async () => {
    const { driver, setView } = setup();
    assert.equal(driver.ports.length, 0, 'nothing before the first refresh');
    assert.equal(await driver.refresh(), true);
    const [vip, ...others] = driver.ports;
    assert.deepEqual(others, []);
    assert.equal(vip?.id, vipPortId('lb-1'));
    assert.equal(vip.network_id, 'lb-net');
    assert.deepEqual(vip.fixed_ips, [{ subnet_id: 'lb-v4', ip_address: '198.51.100.10' }]);
    assert.deepEqual(await driver.mtus(), { 'lb-net': 1450 });
    setView({ ...FILE, loadbalancers: [], listeners: [], pools: [], members: [], healthmonitors: [] });
    assert.equal(await driver.refresh(), false);
    assert.equal(driver.ports.length, 0);
  });

  it('builds the document of the load balancer the agent contract accepts, with the appliance\'s interfaces', async () => {
    const { driver, network } = setup();
    await driver.refresh();
    const managementPort = await network.ensureManagementPort(REF, 0);
    const document = await driver.buildConfig(managementPort, new Map([['mgmt-net', 'ge0'], ['lb-net', 'ge1']]));
    assert.equal(document.hostname, `ak-loadbalancer-${TENANT}`);
    assert.deepEqual(
      document.networks?.map((n) => [n.network_type, n.interface.ifname, n.interface.addresses]),
      [
        ['loadbalancer', 'ge1', ['198.51.100.10/24']],
        ['management', 'ge0', [`${managementPort.fixed_ips[0]!.ip_address}/64`]],
      ],
    );
    const lb = document.services!.loadbalancer!;
    assert.equal(lb.status, 'ACTIVE');
    const pool = lb.listeners[0]!.default_pool!;
    assert.deepEqual(
      pool.members.map((m) => [m.address, m.weight]),
      [
        ['198.51.100.21', 3],
        ['198.51.100.22', 1],
      ],
    );
    assert.deepEqual(pool.healthmonitor, {
      id: 'web-mon',
      tenant_id: TENANT,
      type: 'HTTP',
      delay: 2,
      timeout: 1,
      max_retries: 2,
      http_method: 'GET',
      url_path: '/healthz',
      expected_codes: '200',
      admin_state_up: true,
    });
    const result = validateDocument(document);
    assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.errors));
  });

  it('refuses to build for a load balancer that no longer exists', async () => {
    const { driver, network } = setup({ ...FILE, loadbalancers: [], listeners: [], pools: [], members: [], healthmonitors: [] });
    await assert.rejects(driver.buildConfig(await network.ensureManagementPort(REF, 0), new Map()), /load balancer lb-1 no longer exists/);
  });

  it('reports Octavia\'s statuses, each change once, and nothing for states without one', async () => {
    const { driver, statuses } = setup();
    const states: InstanceState[] = [DOWN, BOOTING, UP, UP, CONFIGURED, REPLUG, RESTART, GONE, CONFIGURED, ERROR];
    for (const state of states) await driver.synchronizeState(state);
    assert.deepEqual(statuses, ['DOWN', 'PENDING_CREATE', 'ACTIVE', 'PENDING_UPDATE', 'ACTIVE', 'ERROR']);
  });
});
