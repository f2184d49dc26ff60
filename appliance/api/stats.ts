// Traffic and host figures for GET /v1/system/stats and GET /metrics: per
// generic interface counters (one `ip -s link` read), the conntrack entry count
// (a /proc file), per floating IP bytes from the named counters of the
// floating IPs' nftables table (one `nft -j list counters` read, in the format
// the firewall defines in drivers/firewall/accounting.ts), and host memory, load
// and disk from systeminformation (cached: its load sampling takes about half a second).
import { readFile } from 'node:fs/promises';
import { accountingCounters, ACCOUNTING_READ } from '../drivers/firewall/accounting.js';
import type { CommandRunner } from '../host/exec.js';
import type { InterfaceNames, IpLink } from '../host/interfaces.js';

export interface InterfaceCounters {
  readonly rx_bytes: number;
  readonly rx_packets: number;
  readonly rx_errors: number;
  readonly rx_dropped: number;
  readonly tx_bytes: number;
  readonly tx_packets: number;
  readonly tx_errors: number;
  readonly tx_dropped: number;
}

export interface FloatingIpCounters {
  readonly floating_ip: string;
  readonly fixed_ip: string;
  readonly bytes_in: number;
  readonly packets_in: number;
  readonly bytes_out: number;
  readonly packets_out: number;
}

export interface HostFigures {
  readonly memory_total_bytes: number;
  readonly memory_available_bytes: number;
  readonly load_percent: number;
  readonly load_average: readonly number[];
  readonly disk_size_bytes: number;
  readonly disk_used_bytes: number;
}

export interface Stats {
  readonly interfaces: Record<string, InterfaceCounters>;
  readonly conntrack_entries: number | null;
  readonly floating_ips: FloatingIpCounters[];
  readonly host: HostFigures | null;
}

/** Parse the JSON listing of the floating IPs' counters (ACCOUNTING_READ) into per floating IP counters. Pure. */
export function parseFloatingIpCounters(json: string): FloatingIpCounters[] {
  const byFloating = new Map<string, { floating_ip: string; fixed_ip: string; bytes_in: number; packets_in: number; bytes_out: number; packets_out: number }>();
  for (const { floating, fixed, direction, bytes, packets } of accountingCounters(json)) {
    const entry = byFloating.get(floating) ?? { floating_ip: floating, fixed_ip: fixed, bytes_in: 0, packets_in: 0, bytes_out: 0, packets_out: 0 };
    if (direction === 'in') {
      entry.bytes_in += bytes;
      entry.packets_in += packets;
    } else {
      entry.bytes_out += bytes;
      entry.packets_out += packets;
    }
    byFloating.set(floating, entry);
  }
  return [...byFloating.values()].sort((a, b) => a.floating_ip.localeCompare(b.floating_ip));
}

interface IpLinkStats {
  stats64?: { rx: { bytes: number; packets: number; errors: number; dropped: number }; tx: { bytes: number; packets: number; errors: number; dropped: number } };
}

const HOST_CACHE_MS = 10_000;

export class StatsCollector {
  #host: { at: number; value: Promise<HostFigures | null> } | undefined;

  constructor(
    private readonly runner: CommandRunner,
    private readonly interfaces: InterfaceNames,
  ) {}

  async collect(): Promise<Stats> {
    const [interfaces, conntrack, floating, host] = await Promise.all([this.#interfaces(), this.#conntrack(), this.#floatingIps(), this.host()]);
    return { interfaces, conntrack_entries: conntrack, floating_ips: floating, host };
  }

  async #interfaces(): Promise<Record<string, InterfaceCounters>> {
    // One read gives both what the generic names need and the counters.
    const { stdout } = await this.runner.read(['ip', '-j', '-s', '-d', 'addr', 'show']);
    const links = JSON.parse(stdout) as (IpLink & IpLinkStats)[];
    const result: Record<string, InterfaceCounters> = {};
    for (const { generic, link } of this.interfaces.assign(links)) {
      const s = link.stats64;
      if (!s) continue;
      result[generic] = {
        rx_bytes: s.rx.bytes,
        rx_packets: s.rx.packets,
        rx_errors: s.rx.errors,
        rx_dropped: s.rx.dropped,
        tx_bytes: s.tx.bytes,
        tx_packets: s.tx.packets,
        tx_errors: s.tx.errors,
        tx_dropped: s.tx.dropped,
      };
    }
    return result;
  }

  async #conntrack(): Promise<number | null> {
    try {
      return Number((await readFile('/proc/sys/net/netfilter/nf_conntrack_count', 'utf8')).trim());
    } catch {
      return null;
    }
  }

  /** Both families in one read; none before the firewall's first apply made the table. */
  async #floatingIps(): Promise<FloatingIpCounters[]> {
    const listing = await this.runner.read(ACCOUNTING_READ, { allowFailure: true });
    return listing.exitCode === 0 ? parseFloatingIpCounters(listing.stdout) : [];
  }

  /** Host figures, cached; concurrent callers share one collection. */
  host(): Promise<HostFigures | null> {
    if (!this.#host || Date.now() - this.#host.at > HOST_CACHE_MS) {
      this.#host = { at: Date.now(), value: collectHost() };
    }
    return this.#host.value;
  }
}

async function collectHost(): Promise<HostFigures | null> {
  try {
    // Loaded on first use: most agents are never asked for host figures.
    const { default: si } = await import('systeminformation');
    const [mem, load, disks] = await Promise.all([si.mem(), si.currentLoad(), si.fsSize()]);
    const root = disks.find((d) => d.mount === '/') ?? disks[0];
    return {
      memory_total_bytes: mem.total,
      memory_available_bytes: mem.available,
      load_percent: Math.round(load.currentLoad * 10) / 10,
      load_average: [load.avgLoad],
      disk_size_bytes: root?.size ?? 0,
      disk_used_bytes: root?.used ?? 0,
    };
  } catch {
    return null;
  }
}
