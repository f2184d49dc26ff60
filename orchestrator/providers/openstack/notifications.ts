// Neutron's notifications as the orchestrator's events (the original's
// notifications.py and drivers/router.py process_notification): the
// oslo.messaging v2 envelope decoded, the tenant found, the event type mapped
// to CREATE / UPDATE / DELETE of a router. Pure functions.
import { CREATE, DELETE, event, UPDATE, type Event } from '../../core/events.js';

/** A notification as oslo.messaging's notifier sends it (the inner message of the envelope). */
export interface Notification {
  readonly event_type: string;
  readonly payload: Readonly<Record<string, unknown>>;
  /** The request context, flattened into `_context_*` keys by oslo. */
  readonly context: Readonly<Record<string, unknown>>;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The notification in an AMQP message body: `{"oslo.version": "2.0",
 * "oslo.message": "<JSON>"}`, or (oslo's v1 driver) the message itself.
 * Undefined for a body that is no notification.
 */
export function decodeNotification(body: string): Notification | undefined {
  let outer: unknown;
  try {
    outer = JSON.parse(body);
    if (isRecord(outer) && typeof outer['oslo.message'] === 'string') outer = JSON.parse(outer['oslo.message']);
  } catch {
    return undefined;
  }
  if (!isRecord(outer) || typeof outer['event_type'] !== 'string') return undefined;
  const context: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(outer)) if (key.startsWith('_context_')) context[key.slice('_context_'.length)] = value;
  return { event_type: outer['event_type'], payload: isRecord(outer['payload']) ? outer['payload'] : {}, context };
}

const stringField = (record: unknown, key: string): string | undefined => {
  const value = isRecord(record) ? record[key] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
};

/** The original's tenant lookup: the payload's router, port or subnet, else the request context's tenant or project. */
export function tenantOfNotification(notification: Notification): string | undefined {
  for (const key of ['router', 'port', 'subnet']) {
    const tenant = stringField(notification.payload[key], 'tenant_id');
    if (tenant) return tenant;
  }
  return stringField(notification.context, 'tenant_id') ?? stringField(notification.context, 'project_id');
}

/**
 * Event types that change what a router's appliance must do. Neutron has
 * sent `*.update.end` since long before Zed; the original listed
 * `router.change.end` and `subnet.change.end`, which no Neutron sends, so
 * both spellings are taken.
 */
const ROUTER_UPDATES = new Set([
  'router.update.end',
  'router.change.end',
  'subnet.create.end',
  'subnet.update.end',
  'subnet.change.end',
  'subnet.delete.end',
  'port.create.end',
  'port.update.end',
  'port.change.end',
  'port.delete.end',
  'floatingip.create.end',
  'floatingip.update.end',
  'floatingip.change.end',
  'floatingip.delete.end',
]);

const VPN_UPDATES = new Set([
  'vpnservice.change.end',
  'vpnservice.update.end',
  'vpnservice.delete.end',
  'ipsec_site_connection.create.end',
  'ipsec_site_connection.change.end',
  'ipsec_site_connection.update.end',
  'ipsec_site_connection.delete.end',
  'ikepolicy.change.end',
  'ikepolicy.update.end',
  'ipsecpolicy.change.end',
  'ipsecpolicy.update.end',
]);

const ROUTER_PORT_OWNERS = ['network:router_interface', 'network:router_gateway', 'network:ha_router_replicated_interface'];

/**
 * The router an UPDATE is about, where the payload names it: the router
 * itself, a router's own port, or the router a floating IP is associated
 * through. Empty otherwise: the dispatcher then takes the tenant's first
 * router, as the original did.
 */
function routerIdOf(payload: Readonly<Record<string, unknown>>): string {
  const router = stringField(payload['router'], 'id');
  if (router) return router;
  const port = payload['port'];
  if (ROUTER_PORT_OWNERS.includes(stringField(port, 'device_owner') ?? '')) return stringField(port, 'device_id') ?? '';
  return stringField(payload['floatingip'], 'router_id') ?? '';
}

export interface MappingOptions {
  readonly enabledDrivers: readonly string[];
  /** `[router] ipsec_vpn`: VPNaaS changes reach the routers. */
  readonly ipsecVpn: boolean;
}

/** The event a notification makes, with the tenant as its dispatch target; undefined for one the orchestrator ignores. */
export function eventOfNotification(notification: Notification, options: MappingOptions): { target: string; event: Event } | undefined {
  if (!options.enabledDrivers.includes('router')) return undefined;
  const type = notification.event_type;
  // The orchestrator's own status reports come back as notifications.
  if (type.startsWith('routerstatus.update')) return undefined;
  const tenantId = tenantOfNotification(notification);
  if (tenantId === undefined) return undefined;
  const payload = notification.payload;
  const make = (crud: typeof CREATE | typeof UPDATE | typeof DELETE, id: string) => ({ target: tenantId, event: event({ driver: 'router', id, tenantId }, crud, payload) });
  if (type === 'router.create.end') return make(CREATE, stringField(payload['router'], 'id') ?? '');
  if (type === 'router.delete.end') {
    const id = stringField(payload, 'router_id') ?? stringField(payload['router'], 'id');
    return id === undefined ? undefined : make(DELETE, id);
  }
  // Neutron sends the interface as `router_interface`; the original read `router.interface`.
  if (type === 'router.interface.create' || type === 'router.interface.delete') {
    return make(UPDATE, stringField(payload['router_interface'], 'id') ?? stringField(payload['router.interface'], 'id') ?? '');
  }
  if (ROUTER_UPDATES.has(type) || (options.ipsecVpn && VPN_UPDATES.has(type))) return make(UPDATE, routerIdOf(payload));
  return undefined;
}
