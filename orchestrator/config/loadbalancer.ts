// The document pushed to a load balancer appliance (the original's
// api/config/loadbalancer.py): the VIP network and the management network,
// and `services.loadbalancer` as the original's `LoadBalancer.to_dict()` made
// it, listeners carrying their default pool, pools their members and health
// monitor. Pure; the keys and their order are the original's.
//
// Enumerated values (protocols, algorithms, monitor types) are passed as the
// cloud gave them: the agent is the judge of what it can run, and refuses the
// rest with a 422 naming the field, which puts the resource in ERROR with
// that message.
import { canonicalAddress } from '../../contract/ip.js';
import type { Configuration, HealthMonitorDoc, LoadBalancerDoc } from '../../contract/index.js';
import type { NetworkDetail, NeutronPort, NeutronSubnet } from '../model/neutron.js';
import type { LoadBalancerDetail, OctaviaHealthMonitor, OctaviaListener, OctaviaMember, OctaviaPool } from '../model/octavia.js';
import { hostLabel, networkConfig, requireInterfaces } from './common.js';

type ListenerDoc = LoadBalancerDoc['listeners'][number];
type PoolDoc = NonNullable<ListenerDoc['default_pool']>;
type MemberDoc = PoolDoc['members'][number];

export interface LoadBalancerConfigInput {
  readonly detail: LoadBalancerDetail;
  /** The appliance's port on the management network. */
  readonly managementPort: NeutronPort;
  /** The management network and the VIP network, with their subnets. */
  readonly networks: ReadonlyMap<string, NetworkDetail>;
  /** Network id -> the appliance's interface on it (`geN`). */
  readonly interfaceMap: ReadonlyMap<string, string>;
}

/** `ak-loadbalancer-<tenant id>`, as the original named load balancer appliances. */
export const loadBalancerHostname = (tenantId: string): string => hostLabel(`ak-loadbalancer-${tenantId}`);

/** Monitor types whose probes are HTTP requests, the only ones with a method, a path and expected codes. */
const HTTP_MONITORS = ['HTTP', 'HTTPS'];

export function buildLoadBalancerConfig(input: LoadBalancerConfigInput): Configuration {
  const { detail } = input;
  const lb = detail.loadbalancer;
  requireInterfaces(input.interfaceMap, [detail.vipPort, input.managementPort]);
  const subnets = new Map(detail.subnets.map((subnet) => [subnet.id, subnet]));
  const monitors = new Map(detail.healthmonitors.map((monitor) => [monitor.pool_id, monitor]));
  const pools = new Map(detail.pools.map((pool) => [pool.id, pool]));
  const context = { tenantId: lb.tenant_id, subnets, monitors, members: detail.members };
  return {
    hostname: loadBalancerHostname(lb.tenant_id),
    tenant_id: lb.tenant_id,
    networks: [networkConfig(input, detail.vipPort, 'loadbalancer'), networkConfig(input, input.managementPort, 'management')],
    services: {
      loadbalancer: {
        id: lb.id,
        tenant_id: lb.tenant_id,
        name: lb.name ?? '',
        admin_state_up: lb.admin_state_up,
        ...(lb.provisioning_status === undefined ? {} : { status: lb.provisioning_status }),
        vip_address: canonicalAddress(lb.vip_address),
        // The raw port, as the original passed it: informational for the agent.
        vip_port: JSON.parse(JSON.stringify(detail.vipPort)) as unknown,
        listeners: detail.listeners.map((listener) => listenerDoc(listener, pools, context)),
      },
    },
  };
}

interface PoolContext {
  /** The load balancer's tenant: children without their own inherit it. */
  readonly tenantId: string;
  readonly subnets: ReadonlyMap<string, NeutronSubnet>;
  /** Health monitor by pool id. */
  readonly monitors: ReadonlyMap<string, OctaviaHealthMonitor>;
  readonly members: readonly OctaviaMember[];
}

function listenerDoc(listener: OctaviaListener, pools: ReadonlyMap<string, OctaviaPool>, context: PoolContext): ListenerDoc {
  const pool = listener.default_pool_id === null ? undefined : pools.get(listener.default_pool_id);
  if (listener.default_pool_id !== null && !pool) throw new Error(`listener ${listener.id}: default pool ${listener.default_pool_id} is not a pool of its load balancer`);
  return {
    id: listener.id,
    tenant_id: listener.tenant_id ?? context.tenantId,
    name: listener.name ?? '',
    admin_state_up: listener.admin_state_up,
    protocol: listener.protocol as ListenerDoc['protocol'],
    protocol_port: listener.protocol_port,
    default_pool: pool ? poolDoc(pool, context) : null,
  };
}

function poolDoc(pool: OctaviaPool, context: PoolContext): PoolDoc {
  const monitor = context.monitors.get(pool.id);
  const persistence = pool.session_persistence;
  return {
    id: pool.id,
    tenant_id: pool.tenant_id ?? context.tenantId,
    name: pool.name ?? '',
    admin_state_up: pool.admin_state_up,
    lb_algorithm: pool.lb_algorithm as PoolDoc['lb_algorithm'],
    protocol: pool.protocol as PoolDoc['protocol'],
    healthmonitor: monitor ? monitorDoc(monitor, context) : null,
    session_persistence: persistence ? { type: persistence.type as NonNullable<PoolDoc['session_persistence']>['type'], cookie_name: persistence.cookie_name } : null,
    members: context.members.filter((member) => member.pool_id === pool.id).map((member) => memberDoc(member, context)),
  };
}

function monitorDoc(monitor: OctaviaHealthMonitor, context: PoolContext): HealthMonitorDoc {
  return {
    id: monitor.id,
    tenant_id: monitor.tenant_id ?? context.tenantId,
    type: monitor.type as HealthMonitorDoc['type'],
    delay: monitor.delay,
    timeout: monitor.timeout,
    max_retries: monitor.max_retries,
    ...(HTTP_MONITORS.includes(monitor.type)
      ? {
          http_method: monitor.http_method as HealthMonitorDoc['http_method'],
          url_path: monitor.url_path,
          expected_codes: monitor.expected_codes,
        }
      : {}),
    admin_state_up: monitor.admin_state_up,
  };
}

function memberDoc(member: OctaviaMember, context: PoolContext): MemberDoc {
  const subnet = context.subnets.get(member.subnet_id);
  if (!subnet) throw new Error(`member ${member.id}: no details of its subnet ${member.subnet_id}`);
  return {
    id: member.id,
    tenant_id: member.tenant_id ?? context.tenantId,
    admin_state_up: member.admin_state_up,
    address: canonicalAddress(member.address),
    protocol_port: member.protocol_port,
    weight: member.weight,
    // The original's reduced subnet: informational for the agent.
    subnet: { id: subnet.id, cidr: subnet.cidr, ip_version: subnet.ip_version, gateway_ip: subnet.gateway_ip, enable_dhcp: subnet.enable_dhcp, name: subnet.name ?? '' },
  };
}
