// The metadata proxy's desired state: derived purely from the config model by
// the agent, or read as JSON by the standalone `astara-metadata-proxy`.
import { isTenantNetwork, parseAddress, parseCidr, type ConfigModel } from '../../contract/index.js';

/** Listener port of interface `geN` is `METADATA_PORT_BASE + N`. */
export const METADATA_PORT_BASE = 9600;

export interface MetadataListenerState {
  /** The tenant network's id, sent as `X-Quantum-Network-ID`. */
  readonly networkId: string;
  /** Generic interface name (`geN`), for logs and for the firewall's redirect. */
  readonly ifname: string;
  /** Address to bind: the network's first IPv4 interface address (tests use 127.0.0.x). */
  readonly address: string;
  /** TCP port: 9600 + N for `geN` (0 picks a free port; tests only). */
  readonly port: number;
  /** Sent as `X-Tenant-ID`. */
  readonly tenantId: string;
  /** Guest source address (canonical text) -> device id, sent as `X-Instance-ID`. */
  readonly instances: Readonly<Record<string, string>>;
  /**
   * The network's own prefixes (`network/length`): its subnets and the
   * prefixes of its interface addresses. A connection from any other source
   * is refused, so no guest can speak to another network's listener.
   */
  readonly sources: readonly string[];
}

export interface MetadataProxyState {
  /** `http://address:port`, `http://[address]:port` for IPv6. */
  readonly upstream: string;
  readonly listeners: readonly MetadataListenerState[];
}

export function upstreamUrl(address: string, port: number): string {
  return address.includes(':') ? `http://[${address}]:${port}` : `http://${address}:${port}`;
}

/** Pure: one listener per tenant network (internal or isolated) that has an IPv4 address. */
export function metadataProxyState(model: ConfigModel): MetadataProxyState {
  const listeners: MetadataListenerState[] = [];
  for (const network of model.networks) {
    if (!isTenantNetwork(network)) continue;
    const address = network.addresses.find((a) => a.family === 4);
    if (!address) continue;
    const instances: Record<string, string> = {};
    for (const allocation of network.allocations) {
      for (const { address: ip } of allocation.addresses) {
        if (!Object.hasOwn(instances, ip.text)) instances[ip.text] = allocation.deviceId;
      }
    }
    const sources = [...new Set([...network.subnets.map((s) => s.cidr.network), ...network.addresses.map((a) => a.network)])];
    listeners.push({
      networkId: network.id,
      ifname: network.ifname,
      address: address.text,
      port: METADATA_PORT_BASE + network.index,
      tenantId: model.tenantId,
      instances,
      sources,
    });
  }
  return { upstream: upstreamUrl(model.orchestrator.address.text, model.orchestrator.metadataPort), listeners };
}

/** Validates a desired state read as JSON; throws an Error naming the first bad field. */
export function parseMetadataProxyState(value: unknown): MetadataProxyState {
  const root = record(value, '/');
  const upstream = root.upstream;
  if (typeof upstream !== 'string') throw new Error('/upstream: must be a string');
  let url: URL;
  try {
    url = new URL(upstream);
  } catch {
    throw new Error(`/upstream: ${upstream} is not a URL`);
  }
  if (url.protocol !== 'http:' || url.pathname !== '/' || url.search || url.username || url.password) {
    throw new Error('/upstream: must be http://host:port with no path');
  }
  if (!Array.isArray(root.listeners)) throw new Error('/listeners: must be an array');
  const seen = new Set<string>();
  const listeners = root.listeners.map((item: unknown, i): MetadataListenerState => {
    const path = `/listeners/${i}`;
    const l = record(item, path);
    const address = parseAddress(str(l.address, `${path}/address`));
    if (!address) throw new Error(`${path}/address: must be an IPv4 or IPv6 address`);
    const port = l.port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new Error(`${path}/port: must be an integer 0-65535`);
    }
    const key = `${address.text}|${port}`;
    if (port !== 0 && seen.has(key)) throw new Error(`${path}: ${address.text} port ${port} is listed twice`);
    seen.add(key);
    const instances: Record<string, string> = {};
    for (const [ip, device] of Object.entries(record(l.instances, `${path}/instances`))) {
      const parsed = parseAddress(ip);
      if (!parsed) throw new Error(`${path}/instances: ${ip} is not an IP address`);
      instances[parsed.text] = str(device, `${path}/instances/${ip}`);
    }
    if (!Array.isArray(l.sources)) throw new Error(`${path}/sources: must be an array of prefixes`);
    const sources = l.sources.map((item: unknown, j) => {
      const prefix = typeof item === 'string' ? parseCidr(item) : undefined;
      if (!prefix) throw new Error(`${path}/sources/${j}: must be a prefix such as 198.51.100.0/26`);
      return prefix.network;
    });
    return {
      networkId: str(l.networkId, `${path}/networkId`),
      ifname: str(l.ifname, `${path}/ifname`),
      address: address.text,
      port,
      tenantId: str(l.tenantId, `${path}/tenantId`),
      instances,
      sources,
    };
  });
  return { upstream, listeners };
}

function record(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${path}: must be an object`);
  return value as Record<string, unknown>;
}

function str(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new Error(`${path}: must be a string`);
  return value;
}
