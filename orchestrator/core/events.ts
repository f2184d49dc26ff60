// The event model (the original's astara/event.py and astara/commands.py):
// what reaches a resource's state machine, and the operator commands that the
// dispatcher handles itself. Values are the original's strings, so logs and
// command payloads read the same.

export const CREATE = 'create';
export const READ = 'read';
export const UPDATE = 'update';
export const DELETE = 'delete';
export const POLL = 'poll';
export const COMMAND = 'command';
export const REBUILD = 'rebuild';
export const REBALANCE = 'rebalance';
export const CLUSTER_REBUILD = 'cluster_rebuild';

export type Crud =
  | typeof CREATE
  | typeof READ
  | typeof UPDATE
  | typeof DELETE
  | typeof POLL
  | typeof COMMAND
  | typeof REBUILD
  | typeof REBALANCE
  | typeof CLUSTER_REBUILD;

/** What an event is about. `id` and `tenantId` may be the wildcards `*` or `error`. */
export interface ResourceRef {
  /** The resource kind (`router`, `loadbalancer`) or `*`. */
  readonly driver: string;
  readonly id: string;
  readonly tenantId: string;
}

export interface Event {
  readonly resource: ResourceRef;
  readonly crud: Crud;
  readonly body: Readonly<Record<string, unknown>>;
}

export function event(resource: ResourceRef, crud: Crud, body: Readonly<Record<string, unknown>> = {}): Event {
  return { resource, crud, body };
}

/** Targets that address many resources at once: every one, or every one in ERROR. */
export const WILDCARDS: readonly string[] = ['*', 'error'];

export const isWildcard = (value: string): boolean => WILDCARDS.includes(value.toLowerCase());

/** The wildcard resource of a POLL to everything. */
export const EVERY_RESOURCE: ResourceRef = { driver: '*', id: '*', tenantId: '*' };

// Operator commands: `body.command` of a COMMAND event.
export const WORKERS_DEBUG = 'workers-debug';
export const RESOURCE_DEBUG = 'resource-debug';
export const RESOURCE_MANAGE = 'resource-manage';
export const RESOURCE_UPDATE = 'resource-update';
export const RESOURCE_REBUILD = 'resource-rebuild';
export const ROUTER_DEBUG = 'router-debug';
export const ROUTER_MANAGE = 'router-manage';
export const ROUTER_UPDATE = 'router-update';
export const ROUTER_REBUILD = 'router-rebuild';
export const TENANT_DEBUG = 'tenant-debug';
export const TENANT_MANAGE = 'tenant-manage';
export const CONFIG_RELOAD = 'config-reload';
export const POLL_COMMAND = 'poll';
export const GLOBAL_DEBUG = 'global-debug';

export const COMMANDS = [
  WORKERS_DEBUG,
  RESOURCE_DEBUG,
  RESOURCE_MANAGE,
  RESOURCE_UPDATE,
  RESOURCE_REBUILD,
  ROUTER_DEBUG,
  ROUTER_MANAGE,
  ROUTER_UPDATE,
  ROUTER_REBUILD,
  TENANT_DEBUG,
  TENANT_MANAGE,
  CONFIG_RELOAD,
  POLL_COMMAND,
  GLOBAL_DEBUG,
] as const;

export type CommandName = (typeof COMMANDS)[number];

/** The payload of an operator command, as astara-ctl sent it in `astara.command` notifications. */
export interface CommandBody {
  readonly command: CommandName;
  readonly resource_id?: string;
  readonly router_id?: string;
  readonly tenant_id?: string;
  readonly reason?: string;
  /** global-debug: 1 enables, 0 disables. */
  readonly enabled?: 0 | 1;
  /** rebuild: boot this image instead of the configured one (where the compute provider has images). */
  readonly image_uuid?: string;
}
