import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LAB_HOST, labModel } from '../../../test/support/lab-model.js';
import { renderRoutes } from './render.js';

type Subnet = { cidr: string; host_routes: { destination: string; nexthop: string }[] };
type Doc = Record<string, unknown> & { networks: { subnets: Subnet[] }[]; static_routes: unknown[]; default_v4_gateway: string };
const host = LAB_HOST;
const model = (change?: (doc: Doc) => void) => labModel<Doc>(change);

describe('renderRoutes', () => {
  it('renders the defaults through the external device, then static routes', () => {
    assert.deepEqual(renderRoutes(model(), host), {
      routes: [
        { family: 4, destination: 'default', via: '192.0.2.1', device: 'eth1' },
        { family: 6, destination: 'default', via: '2001:db8:e::1', device: 'eth1' },
        { family: 4, destination: '198.51.100.192/26', via: '198.51.100.10' },
      ],
      skipped: [],
    });
  });

  it('leaves the routes through the shared networks of an HA pair member to keepalived, saying so', () => {
    const desired = renderRoutes(
      model((doc) => {
        doc.ha_resource = true;
        doc.ha_config = { peers: ['fdca:3ba5:a17a:acda::3'] };
        doc.static_routes = [...doc.static_routes, { destination: '2001:db8:f::/48', next_hop: 'fdca:3ba5:a17a:acda::1' }];
      }),
      host,
    );
    assert.deepEqual(desired.routes, [{ family: 6, destination: '2001:db8:f::/48', via: 'fdca:3ba5:a17a:acda::1' }]);
    assert.deepEqual(desired.skipped, [
      { route: 'default via 192.0.2.1', reason: 'keepalived holds it on the master of the HA pair' },
      { route: 'default via 2001:db8:e::1', reason: 'keepalived holds it on the master of the HA pair' },
      { route: '198.51.100.192/26 via 198.51.100.10', reason: 'keepalived holds it on the master of the HA pair' },
    ]);
  });

  it('uses the external subnet gateway when default_v4_gateway is empty', () => {
    const routes = renderRoutes(model((doc) => (doc.default_v4_gateway = '')), host).routes;
    assert.deepEqual(routes[0], { family: 4, destination: 'default', via: '192.0.2.1', device: 'eth1' });
  });

  it('adds host routes, skipping those through the router itself, to connected networks or already routed', () => {
    const desired = renderRoutes(
      model((doc) => {
        doc.networks[3]!.subnets[0]!.host_routes = [
          { destination: '198.51.100.128/26', nexthop: '198.51.100.74' },
          { destination: '203.0.113.0/25', nexthop: '198.51.100.65' },
          { destination: '198.51.100.192/26', nexthop: '198.51.100.74' },
          { destination: '198.51.100.0/26', nexthop: '198.51.100.74' },
        ];
        doc.networks[3]!.subnets[1]!.host_routes = [{ destination: '2001:db8:f::/48', nexthop: 'fd00:b::10' }];
      }),
      host,
    );
    assert.deepEqual(desired.routes.slice(3), [
      { family: 4, destination: '198.51.100.128/26', via: '198.51.100.74' },
      { family: 6, destination: '2001:db8:f::/48', via: 'fd00:b::10' },
    ]);
    assert.deepEqual(
      desired.skipped.map((s) => s.reason),
      ['198.51.100.65 is the router\'s own address', '198.51.100.192/26 is already routed by static route 0', '198.51.100.0/26 is a connected network'],
    );
  });

  it('renders a 0.0.0.0/0 static route as a default, shadowed by the default gateway', () => {
    const desired = renderRoutes(model((doc) => (doc.static_routes = [{ destination: '0.0.0.0/0', next_hop: '198.51.100.10' }])), host);
    assert.equal(desired.routes.length, 2);
    assert.match(desired.skipped[0]!.reason, /default is already routed by IPv4 default gateway/);
  });
});
