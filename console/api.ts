// The admin API as the console reads it: JSON over fetch with the bearer
// token (kept for the browser tab's session only), the command routes for
// the actions, and the live feed, read from a fetch stream rather than
// EventSource so that it carries the token in a header too.

/** The admin API's resource view (docs/orchestrator.md, "Reads"); what the console shows of it. */
export interface Resource {
  readonly id: string;
  readonly driver: string;
  readonly tenant_id: string;
  readonly state: string;
  readonly instance_state: string;
  readonly queue_length: number;
  readonly boot_attempts: number;
  readonly shard: number;
  readonly ha: { readonly requested: boolean; readonly pair: boolean };
  readonly appliances: readonly {
    readonly name: string;
    readonly id: string;
    readonly status: string;
    readonly health: string;
    readonly management_address: string | null;
    readonly booted_at: string;
    readonly ha: { readonly state: string; readonly since: string | null; readonly peer: string | null } | null;
    readonly details: Readonly<Record<string, unknown>>;
  }[];
  readonly last_push: { readonly at: string; readonly ok: boolean; readonly duration_ms: number; readonly generation: number | null; readonly error: string | null } | null;
  readonly last_error: { readonly at: string; readonly message: string } | null;
  readonly debug: { readonly enabled: boolean; readonly scope: string | null; readonly reason: string | null };
  /** The name the cloud gives it (live feed only); chosen by the tenant, so shown as text. */
  readonly name?: string | null;
  /** The orchestrator of a cluster that owns the resource, when the admin API has clustering. */
  readonly owner?: string | null;
}

export interface ResourceDetail extends Resource {
  readonly last_document: unknown;
  readonly transitions: readonly { readonly at: string; readonly from: string; readonly to: string; readonly action: string; readonly instance_state: string }[];
}

export interface Workers {
  readonly shards: readonly {
    readonly index: number;
    readonly queue_length: number;
    readonly runners_busy: number;
    readonly runners: readonly { readonly index: number; readonly status: string }[];
    readonly resources: number;
    readonly tenants: number;
  }[];
  readonly global_debug: { readonly enabled: boolean; readonly reason: string | null };
  readonly tenants_in_debug: readonly { readonly id: string; readonly reason: string | null }[];
  readonly resources_in_debug: readonly { readonly id: string; readonly reason: string | null }[];
  /** The cluster of orchestrators as this one sees it, when the admin API has clustering. */
  readonly cluster?: {
    readonly enabled: boolean;
    readonly host: string;
    readonly members: readonly string[];
    readonly connected: boolean;
    readonly problem: string | null;
    readonly rebalances: number;
  };
}

export interface ApplianceStatus {
  readonly name: string;
  readonly management_address: string | null;
  readonly status: unknown;
  readonly loadbalancer: unknown;
  readonly vpn: unknown;
  readonly error: string | null;
}

export interface Traffic {
  readonly at: readonly number[];
  readonly interfaces: Readonly<Record<string, { readonly in: readonly (number | null)[]; readonly out: readonly (number | null)[] }>>;
  readonly floating_ips: Readonly<Record<string, { readonly in: readonly (number | null)[]; readonly out: readonly (number | null)[] }>>;
}

const TOKEN_KEY = 'astara-admin-token';

/** The API refused the request for want of the token. */
export class Unauthorized extends Error {
  constructor() {
    super('unauthorized: this orchestrator requires its admin token');
    this.name = 'Unauthorized';
  }
}

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

function headers(): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** The API's own words for a failure: `error: detail`. */
async function failure(response: Response): Promise<Error> {
  if (response.status === 401) return new Unauthorized();
  try {
    const body = (await response.json()) as { error?: string; details?: { message?: string }[] };
    const details = (body.details ?? []).map((d) => d.message).filter(Boolean);
    return new Error(`${body.error ?? `HTTP ${response.status}`}${details.length > 0 ? `: ${details.join('; ')}` : ''}`);
  } catch {
    return new Error(`HTTP ${response.status}`);
  }
}

export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: headers(), cache: 'no-store' });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

export type Verb = 'rebuild' | 'update' | 'debug' | 'manage';

/** An astara-ctl command as the admin API takes it: the command line as the path. */
export async function command(verb: Verb, id: string, reason?: string): Promise<void> {
  const words = ['resource', verb, id, ...(reason ? ['--reason', reason] : [])];
  const response = await fetch(`/${words.map(encodeURIComponent).join('/')}`, { method: 'PUT', headers: headers() });
  if (!response.ok) throw await failure(response);
}

export interface FeedHandlers {
  readonly onSnapshot: (resources: readonly Resource[], workers: Workers) => void;
  readonly onResource: (resource: Resource) => void;
  readonly onRemoved: (id: string) => void;
  readonly onWorkers: (workers: Workers) => void;
  readonly onStatus: (status: 'live' | 'reconnecting' | 'unauthorized') => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Follow GET /v1/events for as long as the page is open, reconnecting (from a new snapshot) when it drops. */
export async function followFeed(handlers: FeedHandlers): Promise<never> {
  for (;;) {
    try {
      const response = await fetch('/v1/events', { headers: headers(), cache: 'no-store' });
      if (response.status === 401) {
        handlers.onStatus('unauthorized');
        await sleep(1000);
        continue;
      }
      if (!response.ok || !response.body) throw await failure(response);
      handlers.onStatus('live');
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          dispatch(buffer.slice(0, end), handlers);
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // Dropped or refused: said on the page, and tried again.
    }
    handlers.onStatus('reconnecting');
    await sleep(2000);
  }
}

function dispatch(block: string, handlers: FeedHandlers): void {
  let event = 'message';
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data += line.slice(6);
  }
  if (data === '') return;
  const parsed = JSON.parse(data) as unknown;
  switch (event) {
    case 'snapshot': {
      const { resources, workers } = parsed as { resources: Resource[]; workers: Workers };
      handlers.onSnapshot(resources, workers);
      return;
    }
    case 'resource':
      handlers.onResource(parsed as Resource);
      return;
    case 'removed':
      handlers.onRemoved((parsed as { id: string }).id);
      return;
    case 'workers':
      handlers.onWorkers(parsed as Workers);
      return;
  }
}
