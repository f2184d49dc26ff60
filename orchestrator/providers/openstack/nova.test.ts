import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseUserData } from '../../../appliance/management/configure.js';
import type { NeutronPort } from '../../model/neutron.js';
import type { BootRequest } from '../types.js';
import { applianceUserData, instanceFrom, instanceStatusOf, isInstanceNamed, serverCreateBody, serverNameFilter } from './nova.js';

const port = (id: string, networkId: string, mac: string): NeutronPort => ({
  id,
  network_id: networkId,
  mac_address: mac,
  fixed_ips: [{ subnet_id: `sub-${id}`, ip_address: '198.51.100.7' }],
  device_id: '',
  device_owner: '',
});
const MANAGEMENT = port('mgt', 'mgt-net', 'FA:16:3E:00:00:01');
const EXTERNAL = port('ext', 'ext-net', 'fa:16:3e:00:00:02');
const INTERNAL = port('int', 'int-net', 'fa:16:3e:00:00:03');

const REQUEST: BootRequest = {
  name: 'ak-router-r1',
  resource: { driver: 'router', id: 'r1', tenantId: 't1' },
  managementPort: MANAGEMENT,
  managementInterface: 'fd00:a::5/64',
  ports: [EXTERNAL, INTERNAL],
  mtus: {},
  imageId: 'image-1',
  servicePort: 5000,
};

describe('Nova request bodies and user data', () => {
  it('boots the image and flavor with the management port first, a config drive and the user data', () => {
    const body = serverCreateBody(REQUEST, 'image-1', 'flavor-1') as { server: Record<string, unknown> };
    assert.equal(body.server['name'], 'ak-router-r1');
    assert.equal(body.server['imageRef'], 'image-1');
    assert.equal(body.server['flavorRef'], 'flavor-1');
    assert.equal(body.server['config_drive'], true);
    assert.deepEqual(body.server['networks'], [{ port: 'mgt' }, { port: 'ext' }, { port: 'int' }]);
    const userData = Buffer.from(String(body.server['user_data']), 'base64').toString();
    assert.equal(userData, applianceUserData(MANAGEMENT.mac_address, 'fd00:a::5/64'));
  });

  it('writes user data the appliance\'s management command reads back: the MAC and address/prefix', () => {
    const text = applianceUserData('FA:16:3E:00:00:01', 'fd00:a::5/64');
    assert.match(text, /^#cloud-config\n/);
    assert.deepEqual(parseUserData(text), { mac: 'fa:16:3e:00:00:01', address: 'fd00:a::5/64' });
    // The image's built-in fallback greps for the command with its two arguments.
    assert.match(text, /astara-configure-management fa:16:3e:00:00:01 fd00:a::5\/64/);
  });
});

describe('Nova servers as instances', () => {
  it('maps Nova\'s statuses onto the core\'s', () => {
    assert.equal(instanceStatusOf('ACTIVE'), 'ACTIVE');
    assert.equal(instanceStatusOf('ERROR'), 'ERROR');
    assert.equal(instanceStatusOf('BUILD'), 'BUILD');
    assert.equal(instanceStatusOf('HARD_REBOOT'), 'BUILD');
    assert.equal(instanceStatusOf('SHUTOFF'), 'SHUTOFF');
    assert.equal(instanceStatusOf('SUSPENDED'), 'SHUTOFF');
  });

  it('matches the name or an HA member\'s name_<n>, nothing longer, with regular expression characters escaped', () => {
    assert.ok(isInstanceNamed('ak-router-r1', 'ak-router-r1'));
    assert.ok(isInstanceNamed('ak-router-r1_1', 'ak-router-r1'));
    assert.ok(!isInstanceNamed('ak-router-r10', 'ak-router-r1'));
    assert.ok(!isInstanceNamed('xak-router-r1', 'ak-router-r1'));
    assert.equal(serverNameFilter('ak-router-a.b'), '^ak-router-a\\.b(_[0-9]+)?$');
    assert.ok(!isInstanceNamed('ak-router-aXb', 'ak-router-a.b'));
  });

  it('takes the port on the management network as the management port, the others in Nova\'s interface order', () => {
    const server = { id: 's1', name: 'ak-router-r1', status: 'ACTIVE', created: '2026-11-30T17:00:00Z', flavor: { original_name: 'm1.appliance' } };
    const interfaces = [INTERNAL, MANAGEMENT, EXTERNAL].map((p) => ({ port_id: p.id, mac_addr: p.mac_address, net_id: p.network_id }));
    const instance = instanceFrom(server, interfaces, [EXTERNAL, MANAGEMENT, INTERNAL], 'mgt-net', 0);
    assert.equal(instance.managementPort?.id, 'mgt');
    assert.deepEqual(instance.ports.map((p) => p.id), ['int', 'ext']);
    assert.equal(instance.status, 'ACTIVE');
    assert.equal(instance.bootedAt, Date.parse('2026-11-30T17:00:00Z'));
    assert.equal(instance.details['flavor'], 'm1.appliance');
  });
});
