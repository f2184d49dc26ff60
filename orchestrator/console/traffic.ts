// The last hour of each resource's traffic, per appliance interface and per
// floating IP, for the console's graphs: the agents' counters (GET
// /v1/system/stats) sampled on the orchestrator's health poll and kept in a
// bounded ring per resource; rates are computed when read. Pure: samples in,
// series out.

/** Byte counters of one sample, by name (`ge0`, a floating IP). */
export interface Counters {
  readonly [name: string]: { readonly in: number; readonly out: number };
}

export interface TrafficSample {
  /** Milliseconds since the epoch. */
  readonly at: number;
  /** The appliance the counters come from: a new one starts its counters at zero. */
  readonly appliance: string;
  readonly interfaces: Counters;
  readonly floatingIps: Counters;
}

/** One graph line pair: bytes per second in and out between consecutive samples (null where unknown). */
export interface RateSeries {
  readonly in: readonly (number | null)[];
  readonly out: readonly (number | null)[];
}

export interface TrafficSeries {
  /** Seconds since the epoch, one per sample after the first. */
  readonly at: readonly number[];
  readonly interfaces: Readonly<Record<string, RateSeries>>;
  readonly floating_ips: Readonly<Record<string, RateSeries>>;
}

export const TRAFFIC_WINDOW_MS = 3_600_000;
/** At most this many samples per resource, whatever the poll period: 720 is an hour at 5 s. */
export const MAX_SAMPLES = 720;

export class TrafficHistory {
  readonly #samples = new Map<string, TrafficSample[]>();

  constructor(
    private readonly windowMs = TRAFFIC_WINDOW_MS,
    private readonly maxSamples = MAX_SAMPLES,
  ) {}

  record(resourceId: string, sample: TrafficSample): void {
    let ring = this.#samples.get(resourceId);
    if (!ring) {
      ring = [];
      this.#samples.set(resourceId, ring);
    }
    ring.push(sample);
    const oldest = sample.at - this.windowMs;
    let drop = Math.max(0, ring.length - this.maxSamples);
    while (drop < ring.length && ring[drop]!.at < oldest) drop++;
    if (drop > 0) ring.splice(0, drop);
  }

  /** Forget resources that are no longer managed. */
  retain(resourceIds: ReadonlySet<string>): void {
    for (const id of this.#samples.keys()) if (!resourceIds.has(id)) this.#samples.delete(id);
  }

  get sampleCount(): number {
    let n = 0;
    for (const ring of this.#samples.values()) n += ring.length;
    return n;
  }

  series(resourceId: string): TrafficSeries {
    return ratesOf(this.#samples.get(resourceId) ?? []);
  }
}

/** Rates between consecutive samples; a change of appliance or a counter going back (a restart) is a gap. */
export function ratesOf(samples: readonly TrafficSample[]): TrafficSeries {
  const at: number[] = [];
  const interfaces = new Map<string, { in: (number | null)[]; out: (number | null)[] }>();
  const floatingIps = new Map<string, { in: (number | null)[]; out: (number | null)[] }>();
  const names = (pick: (s: TrafficSample) => Counters) => new Set(samples.flatMap((s) => Object.keys(pick(s))));
  for (const name of names((s) => s.interfaces)) interfaces.set(name, { in: [], out: [] });
  for (const name of names((s) => s.floatingIps)) floatingIps.set(name, { in: [], out: [] });
  for (let i = 1; i < samples.length; i++) {
    const previous = samples[i - 1]!;
    const current = samples[i]!;
    at.push(Math.round(current.at / 1000));
    const seconds = (current.at - previous.at) / 1000;
    const comparable = current.appliance === previous.appliance && seconds > 0;
    const rate = (now: number | undefined, before: number | undefined): number | null =>
      comparable && now !== undefined && before !== undefined && now >= before ? Math.round((now - before) / seconds) : null;
    for (const [name, series] of interfaces) {
      series.in.push(rate(current.interfaces[name]?.in, previous.interfaces[name]?.in));
      series.out.push(rate(current.interfaces[name]?.out, previous.interfaces[name]?.out));
    }
    for (const [name, series] of floatingIps) {
      series.in.push(rate(current.floatingIps[name]?.in, previous.floatingIps[name]?.in));
      series.out.push(rate(current.floatingIps[name]?.out, previous.floatingIps[name]?.out));
    }
  }
  return { at, interfaces: Object.fromEntries(interfaces), floating_ips: Object.fromEntries(floatingIps) };
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);

/**
 * The counters of an agent's GET /v1/system/stats answer: `interfaces` by
 * generic name (received bytes in, sent bytes out) and `floating_ips`
 * (bytes towards the floating IP in, from it out). Anything malformed is
 * left out rather than trusted.
 */
export function countersOfStats(body: unknown): { interfaces: Counters; floatingIps: Counters } {
  const interfaces: Record<string, { in: number; out: number }> = {};
  const floatingIps: Record<string, { in: number; out: number }> = {};
  if (!isRecord(body)) return { interfaces, floatingIps };
  if (isRecord(body.interfaces)) {
    for (const [name, value] of Object.entries(body.interfaces)) {
      if (!isRecord(value) || !/^[a-z]{1,8}\d{1,4}$/.test(name)) continue;
      const rx = count(value.rx_bytes);
      const tx = count(value.tx_bytes);
      if (rx !== undefined && tx !== undefined) interfaces[name] = { in: rx, out: tx };
    }
  }
  if (Array.isArray(body.floating_ips)) {
    for (const value of body.floating_ips as unknown[]) {
      if (!isRecord(value) || typeof value.floating_ip !== 'string' || !/^[0-9a-fA-F.:]{2,45}$/.test(value.floating_ip)) continue;
      const inBytes = count(value.bytes_in);
      const outBytes = count(value.bytes_out);
      if (inBytes !== undefined && outBytes !== undefined) floatingIps[value.floating_ip] = { in: inBytes, out: outBytes };
    }
  }
  return { interfaces, floatingIps };
}
