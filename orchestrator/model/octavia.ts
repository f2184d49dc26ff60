// Load balancers in the shapes of Octavia's API v2 (`GET /v2/lbaas/<collection>`),
// the successor of Neutron's LBaaS v2 with the same fields, whichever provider
// produced them. Octavia links objects both ways (a listener names its load
// balancer, the load balancer lists its listeners); a provider resolves the
// links, so here each object names its one parent by id. Only the fields the
// orchestrator reads are typed.
import type { NeutronPort, NeutronSubnet } from './neutron.js';

export interface OctaviaLoadBalancer {
  readonly id: string;
  /** `project_id` in Octavia; `tenant_id` in LBaaS v2 (Octavia returns both). */
  readonly tenant_id: string;
  readonly name?: string;
  readonly admin_state_up: boolean;
  readonly vip_address: string;
  readonly vip_network_id: string;
  readonly vip_subnet_id: string;
  readonly vip_port_id: string;
  /** Octavia's `ACTIVE`, `PENDING_CREATE`...; the document's `status`. */
  readonly provisioning_status?: string;
  readonly operating_status?: string;
}

export interface OctaviaListener {
  readonly id: string;
  readonly loadbalancer_id: string;
  readonly tenant_id?: string;
  readonly name?: string;
  readonly admin_state_up: boolean;
  readonly protocol: string;
  readonly protocol_port: number;
  readonly default_pool_id: string | null;
  /** -1: unlimited. */
  readonly connection_limit: number;
}

export interface OctaviaSessionPersistence {
  readonly type: string;
  readonly cookie_name: string | null;
}

export interface OctaviaPool {
  readonly id: string;
  readonly loadbalancer_id: string;
  readonly tenant_id?: string;
  readonly name?: string;
  readonly admin_state_up: boolean;
  readonly protocol: string;
  readonly lb_algorithm: string;
  readonly session_persistence: OctaviaSessionPersistence | null;
  readonly healthmonitor_id: string | null;
}

export interface OctaviaMember {
  readonly id: string;
  readonly pool_id: string;
  readonly tenant_id?: string;
  readonly name?: string;
  readonly admin_state_up: boolean;
  readonly address: string;
  readonly protocol_port: number;
  readonly weight: number;
  /** The subnet the member is reached through; the VIP network's subnet holding its address when the file leaves it out. */
  readonly subnet_id: string;
}

export interface OctaviaHealthMonitor {
  readonly id: string;
  readonly pool_id: string;
  readonly tenant_id?: string;
  readonly name?: string;
  readonly admin_state_up: boolean;
  readonly type: string;
  readonly delay: number;
  readonly timeout: number;
  readonly max_retries: number;
  /** HTTP and HTTPS monitors only. */
  readonly http_method?: string;
  readonly url_path?: string;
  readonly expected_codes?: string;
}

/** Everything a load balancer's document is built from. */
export interface LoadBalancerDetail {
  readonly loadbalancer: OctaviaLoadBalancer;
  /** The port holding the VIP on the VIP network: the appliance plugs it. */
  readonly vipPort: NeutronPort;
  /** In a stable order (the provider's listing order); pools, members and monitors are those of this load balancer. */
  readonly listeners: readonly OctaviaListener[];
  readonly pools: readonly OctaviaPool[];
  readonly members: readonly OctaviaMember[];
  readonly healthmonitors: readonly OctaviaHealthMonitor[];
  /** The subnets of the members (`subnet_id`). */
  readonly subnets: readonly NeutronSubnet[];
}
