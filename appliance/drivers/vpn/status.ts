// What GET /v1/vpn/status and /metrics say of each connection, read from
// charon: `swanctl --list-sas --raw` (vici's messages as text) for the SAs
// and their counters, and charon's log (each line names its IKE SA) for why
// a connection is not up. Parsing is pure; index.ts runs the commands.
import type { VpnConnectionPlan } from './render.js';

/** A vici message section: values, lists and subsections by key. */
export interface ViciSection {
  readonly [key: string]: string | readonly string[] | ViciSection;
}

const TOKEN = /([^\s{}=[\]]+)=\[([^\]]*)\]|([^\s{}=[\]]+)=([^\s{}[\]]*)|([^\s{}=[\]]+)\s*\{|(\})/g;

/** The sections of one `--raw` line (`list-sa event {name {...}}`), by name. */
export function parseRawMessage(text: string): ViciSection {
  const root: Record<string, ViciSection[string]> = {};
  const stack: Record<string, ViciSection[string]>[] = [root];
  for (const match of text.matchAll(TOKEN)) {
    const top = stack[stack.length - 1]!;
    const [, listKey, listValue, key, value, section, close] = match;
    if (listKey !== undefined) top[listKey] = (listValue ?? '').split(/\s+/).filter(Boolean);
    else if (key !== undefined) top[key] = value ?? '';
    else if (section !== undefined) {
      const child: Record<string, ViciSection[string]> = {};
      top[section] = child;
      stack.push(child);
    } else if (close !== undefined && stack.length > 1) stack.pop();
  }
  return root;
}

/** Every IKE SA `swanctl --list-sas --raw` printed, with its connection name. */
export function parseListSas(output: string): { readonly name: string; readonly sa: ViciSection }[] {
  const sas: { name: string; sa: ViciSection }[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('list-sa event')) continue;
    const event = parseRawMessage(line)['list-sa'];
    const body = isSection(event) ? event : parseRawMessage(line.slice('list-sa event'.length));
    for (const [name, sa] of Object.entries(body)) if (isSection(sa)) sas.push({ name, sa });
  }
  return sas;
}

export interface ConnectionStatus {
  readonly id: string;
  readonly name: string;
  readonly peer: string;
  /** ESTABLISHED, CONNECTING, ... or DOWN when charon holds no IKE SA for it. */
  readonly ike_state: string;
  /** INSTALLED, REKEYING, ... or DOWN without a child SA. */
  readonly child_state: string;
  readonly up: boolean;
  /** When the IKE SA was established (ISO 8601), null when it is not. */
  readonly established_at: string | null;
  readonly bytes_in: number;
  readonly bytes_out: number;
  readonly packets_in: number;
  readonly packets_out: number;
  /** Why it is not up, from charon's log, when it said. */
  readonly reason: string | null;
}

export interface VpnStatus {
  readonly data_path: 'kernel' | 'libipsec' | null;
  readonly connections: readonly ConnectionStatus[];
}

/** Log lines that say why a connection failed, most telling first. */
const REASONS: readonly [RegExp, string][] = [
  [/MAC mismatched|AUTHENTICATION_FAILED|authentication of .* failed/, 'authentication failed (pre-shared key or identity mismatch)'],
  [/NO_PROPOSAL_CHOSEN|no acceptable proposal|no matching proposal/i, 'no proposal in common with the peer'],
  [/TS_UNACCEPTABLE|traffic selectors .* unacceptable/i, 'the peer does not accept the subnets (traffic selectors)'],
  [/no IKE config found|no matching peer config/i, 'the peer has no matching connection'],
  [/giving up after \d+ retransmits|peer not responding|retransmit \d+ of request/, 'the peer does not answer'],
];

/** The reason the latest log lines of connection `name` give; null when they give none. */
export function reasonFromLog(log: string, name: string): string | null {
  const lines = log.split('\n').filter((line) => line.includes(`<${name}|`));
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (/IKE_SA .* established|CHILD_SA .* established/.test(line)) return null;
    for (const [pattern, reason] of REASONS) if (pattern.test(line)) return reason;
  }
  return null;
}

function number(value: ViciSection[string] | undefined): number {
  return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : 0;
}

function isSection(value: ViciSection[string] | undefined): value is ViciSection {
  return typeof value === 'object' && !Array.isArray(value);
}

/** Pure: the status of every planned connection from the SAs charon lists, its log and the time now. */
export function connectionStatuses(plans: readonly VpnConnectionPlan[], listSas: string, log: string, now: number): ConnectionStatus[] {
  const sas = parseListSas(listSas);
  return plans.map((plan) => {
    const mine = sas.filter((s) => s.name === plan.name);
    const established = mine.find((s) => s.sa.state === 'ESTABLISHED') ?? mine[0];
    const children = mine.flatMap((s) => {
      const list = s.sa['child-sas'];
      return isSection(list) ? Object.values(list).filter(isSection) : [];
    });
    const child = children.find((c) => c.state === 'INSTALLED') ?? children[0];
    const ikeState = typeof established?.sa.state === 'string' ? established.sa.state : 'DOWN';
    const childState = typeof child?.state === 'string' ? child.state : 'DOWN';
    const up = ikeState === 'ESTABLISHED' && childState === 'INSTALLED';
    const sum = (key: string) => children.reduce((total, c) => total + number(c[key]), 0);
    const since = established?.sa.state === 'ESTABLISHED' ? number(established.sa.established) : undefined;
    return {
      id: plan.id,
      name: plan.name,
      peer: plan.remoteAddress,
      ike_state: ikeState,
      child_state: childState,
      up,
      established_at: since === undefined ? null : new Date(now - since * 1000).toISOString(),
      bytes_in: sum('bytes-in'),
      bytes_out: sum('bytes-out'),
      packets_in: sum('packets-in'),
      packets_out: sum('packets-out'),
      reason: up ? null : reasonFromLog(log, plan.name),
    };
  });
}
