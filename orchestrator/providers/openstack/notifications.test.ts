import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodeNotification, eventOfNotification, tenantOfNotification, type Notification } from './notifications.js';

const ROUTERS = { enabledDrivers: ['router'], ipsecVpn: false };
const TENANT = '08b254ecd83847a0a1a80e7e1a266a14';
const ROUTER = 'b8cebdfc-6f1e-47be-beb2-3dda121ebc7a';

/** A captured notification (fixtures/: what a real Neutron 21 sent), as RabbitMQ delivers its body. */
function captured(eventType: string): string {
  const sample = JSON.parse(readFileSync(new URL(`fixtures/notification-${eventType}.json`, import.meta.url), 'utf8')) as { 'oslo.version': string; message: unknown };
  return JSON.stringify({ 'oslo.version': sample['oslo.version'], 'oslo.message': JSON.stringify(sample.message) });
}

const decoded = (eventType: string): Notification => decodeNotification(captured(eventType))!;
const mapped = (eventType: string) => eventOfNotification(decoded(eventType), ROUTERS);

describe('Neutron notifications', () => {
  it('decodes the oslo.messaging v2 envelope and the flattened context', () => {
    const notification = decoded('router.create.end');
    assert.equal(notification.event_type, 'router.create.end');
    assert.equal((notification.payload['router'] as { id: string }).id, ROUTER);
    assert.equal(notification.context['project_id'], TENANT);
    assert.equal(decodeNotification('{"oslo.version":"2.0","oslo.message":"not json"}'), undefined);
    assert.equal(decodeNotification('{"method":"routers_updated"}'), undefined);
  });

  it('finds the tenant in the payload, else in the context (router.interface.* has neither router, port nor subnet)', () => {
    assert.equal(tenantOfNotification(decoded('port.create.end')), TENANT);
    assert.equal(tenantOfNotification({ event_type: 'router.interface.create', payload: {}, context: { tenant_id: null, project_id: 'p1' } }), 'p1');
    assert.equal(tenantOfNotification({ event_type: 'x', payload: {}, context: {} }), undefined);
  });

  it('maps router creation and deletion to CREATE and DELETE of that router', () => {
    assert.deepEqual(mapped('router.create.end')?.event.resource, { driver: 'router', id: ROUTER, tenantId: TENANT });
    assert.equal(mapped('router.create.end')?.event.crud, 'create');
    assert.equal(mapped('router.create.end')?.target, TENANT);
    assert.deepEqual(mapped('router.delete.end')?.event.resource, { driver: 'router', id: ROUTER, tenantId: TENANT });
    assert.equal(mapped('router.delete.end')?.event.crud, 'delete');
  });

  it('maps an interface added to an UPDATE of its router', () => {
    const result = mapped('router.interface.create');
    assert.equal(result?.event.crud, 'update');
    assert.deepEqual(result?.event.resource, { driver: 'router', id: ROUTER, tenantId: TENANT });
  });

  it('sends a floating IP change to the router it is associated through', () => {
    assert.deepEqual(mapped('floatingip.update.end')?.event.resource, { driver: 'router', id: ROUTER, tenantId: TENANT });
  });

  it('leaves a guest port\'s change to the tenant\'s router (an empty id the dispatcher resolves)', () => {
    const result = mapped('port.create.end');
    assert.equal(result?.event.crud, 'update');
    assert.deepEqual(result?.event.resource, { driver: 'router', id: '', tenantId: TENANT });
  });

  it('ignores its own status reports, .start events and the rest', () => {
    assert.equal(mapped('routerstatus.update.end'), undefined);
    const start = { ...decoded('router.create.end'), event_type: 'router.update.start' };
    assert.equal(eventOfNotification(start, ROUTERS), undefined);
    assert.equal(eventOfNotification({ ...start, event_type: 'network.create.end' }, ROUTERS), undefined);
    assert.equal(eventOfNotification(decoded('router.create.end'), { enabledDrivers: ['loadbalancer'], ipsecVpn: false }), undefined);
  });

  it('passes VPNaaS changes on only with [router] ipsec_vpn', () => {
    const vpn: Notification = { event_type: 'ipsec_site_connection.create.end', payload: { ipsec_site_connection: {} }, context: { tenant_id: TENANT } };
    assert.equal(eventOfNotification(vpn, ROUTERS), undefined);
    assert.equal(eventOfNotification(vpn, { ...ROUTERS, ipsecVpn: true })?.event.crud, 'update');
  });
});
