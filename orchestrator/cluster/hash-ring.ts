// The consistent hash ring of the original (common/hash_ring.py), bit for bit,
// so a TypeScript member and a Python one would agree on every owner: each
// host has 2^exponent partitions, partition p hashing to md5(host repeated
// p + 2 times); a key belongs to the host of the first partition above its
// own md5, then the next distinct ones for further replicas.
import { createHash } from 'node:crypto';

/** The key the original hashed to pick the one member that handles `global-debug`. */
export const DESIGNATED_COORDINATOR_KEY = 'astara_designated_coordinator';

const md5 = (text: string): bigint => BigInt(`0x${createHash('md5').update(text, 'utf8').digest('hex')}`);

export interface HashRing {
  /** The hosts on the ring, sorted. */
  readonly hosts: readonly string[];
  readonly replicas: number;
  /** Every partition's hash, ascending. */
  readonly partitions: readonly bigint[];
  readonly owners: ReadonlyMap<bigint, string>;
}

/** A ring of `hosts` with 2^`partitionExponent` partitions each; `replicas` is capped at the host count. */
export function buildHashRing(hosts: Iterable<string>, partitionExponent: number, replicas = 1): HashRing {
  if (!Number.isInteger(partitionExponent) || partitionExponent < 0) throw new RangeError(`hash_partition_exponent must be a whole number >= 0, got ${partitionExponent}`);
  if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError(`replicas must be a whole number >= 1, got ${replicas}`);
  const unique = [...new Set(hosts)].sort();
  const owners = new Map<bigint, string>();
  for (const host of unique) {
    // The original fed the host to one md5 object again and again: partition p is the digest of the host p + 2 times.
    const hash = createHash('md5').update(host, 'utf8');
    for (let p = 0; p < 2 ** partitionExponent; p++) {
      hash.update(host, 'utf8');
      owners.set(BigInt(`0x${hash.copy().digest('hex')}`), host);
    }
  }
  const partitions = [...owners.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { hosts: unique, replicas: Math.min(replicas, unique.length), partitions, owners };
}

/** The first index whose partition is above `value` (Python's bisect_right). */
function bisectRight(sorted: readonly bigint[], value: bigint): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (value < sorted[middle]!) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** The hosts responsible for `key`, primary first; none on an empty ring. */
export function hostsFor(ring: HashRing, key: string, ignoreHosts: Iterable<string> = []): string[] {
  const ignored = new Set([...ignoreHosts].filter((host) => ring.hosts.includes(host)));
  const result: string[] = [];
  const count = ring.partitions.length;
  if (count === 0) return result;
  let position = bisectRight(ring.partitions, md5(key));
  if (position === count) position = 0;
  for (let replica = 0; replica < ring.replicas; replica++) {
    if (result.length + ignored.size === ring.hosts.length) break;
    let host = ring.owners.get(ring.partitions[position]!)!;
    while (result.includes(host) || ignored.has(host)) {
      position = (position + 1) % count;
      host = ring.owners.get(ring.partitions[position]!)!;
    }
    result.push(host);
  }
  return result;
}
