// The floating IPs as an nftables table of the agent's own (issue 16): their
// DNAT, SNAT and accounting are elements of maps, so adding or removing one
// is a few element operations whatever the router's size, where one iptables
// rule more or less costs a save and a restore of the whole table. Pure: the
// table as data, its text for `nft -f`, the element difference between two
// tables and the operations that make one into the other. The driver
// (driver.ts) applies them; GET /v1/system/stats reads the counters back by
// the names defined here.
import type { Family } from '../../../contract/index.js';

export const FIP_TABLE = 'astara-fip';
const TABLE = `inet ${FIP_TABLE}`;

/** One floating IP as the table holds it: canonical address texts (the contract's), one family. */
export interface FipPair {
  readonly family: Family;
  readonly floating: string;
  readonly fixed: string;
}

export interface FloatingIpTable {
  /** The management interface: nothing arriving there is a floating IP's traffic. */
  readonly managementIf: string | undefined;
  /** The external interface, where floating IPs' traffic enters and leaves; no SNAT or accounting without one. */
  readonly externalIf: string | undefined;
  /** Marks (value/mask) set by the iptables tables before these chains run. */
  readonly tenantMark: string;
  readonly exemptMark: string;
  readonly pairs: readonly FipPair[];
}

export type AccountingDirection = 'in' | 'out';

type MapName = `${'dnat' | 'snat' | 'acct_in' | 'acct_out'}${Family}`;

const FAMILIES: readonly Family[] = [4, 6];
const KEY_TYPE: Readonly<Record<Family, string>> = { 4: 'ipv4_addr', 6: 'ipv6_addr' };
const MATCH: Readonly<Record<Family, string>> = { 4: 'ip', 6: 'ip6' };

/**
 * The named counter of one floating IP and direction. Counter names are nft
 * identifiers (no `:`), so IPv6 colons are written as `_`; both addresses are
 * in the name so that the stats read the counters alone (parseCounterName).
 */
export function counterName(direction: AccountingDirection, { floating, fixed }: FipPair): string {
  return `fip-${direction}-${floating.replace(/:/g, '_')}-${fixed.replace(/:/g, '_')}`;
}

const COUNTER_NAME = /^fip-(in|out)-([0-9a-f._]+)-([0-9a-f._]+)$/;

export function parseCounterName(name: string): { direction: AccountingDirection; floating: string; fixed: string } | undefined {
  const match = COUNTER_NAME.exec(name);
  if (!match) return undefined;
  const [, direction, floating, fixed] = match;
  return { direction: direction as AccountingDirection, floating: floating!.replace(/_/g, ':'), fixed: fixed!.replace(/_/g, ':') };
}

/** Every element of one floating IP: `[map, key, value]`, the value of an accounting map being a counter's name. */
function elementsOf(pair: FipPair): [MapName, string, string][] {
  const { family, floating, fixed } = pair;
  return [
    [`dnat${family}`, floating, fixed],
    [`snat${family}`, fixed, floating],
    [`acct_in${family}`, fixed, counterName('in', pair)],
    [`acct_out${family}`, fixed, counterName('out', pair)],
  ];
}

const elementText = ([map, key, value]: [MapName, string, string]) => (map.startsWith('acct') ? `${key} : "${value}"` : `${key} : ${value}`);

/** The chains: fixed rules over the interfaces and marks, looking the addresses up in the maps. */
function chainsText(table: FloatingIpTable): string[] {
  const { managementIf, externalIf, tenantMark, exemptMark } = table;
  const lines: string[] = [];
  const chain = (name: string, hook: string, rules: string[]) => {
    lines.push(`\tchain ${name} {`, `\t\t${hook}`, ...rules.map((rule) => `\t\t${rule}`), '\t}');
  };
  const perFamily = (rule: (family: Family) => string) => FAMILIES.map(rule);
  const notManagement = managementIf ? `iifname != "${managementIf}" ` : '';
  // After iptables' nat PREROUTING (-100): a service's DNAT there (the metadata address) binds the connection first.
  chain('prerouting', 'type nat hook prerouting priority dstnat + 1; policy accept;', perFamily((f) => `${notManagement}dnat ${MATCH[f]} to ${MATCH[f]} daddr map @dnat${f}`));
  // The router's own traffic to a floating IP.
  chain('output', 'type nat hook output priority -99; policy accept;', perFamily((f) => `dnat ${MATCH[f]} to ${MATCH[f]} daddr map @dnat${f}`));
  // Before iptables' nat POSTROUTING (100), whose router-address SNAT is for tenant traffic without a floating IP.
  const [mark, mask] = splitMark(tenantMark);
  const [exempt, exemptMask] = splitMark(exemptMark);
  const postrouting = [`meta mark & ${exemptMask} == ${exempt} return`, `meta mark & ${mask} != ${mark} return`];
  if (externalIf) {
    postrouting.push(...perFamily((f) => `oifname "${externalIf}" snat ${MATCH[f]} to ${MATCH[f]} saddr map @snat${f}`));
    // Hairpin: a tenant host reached another's floating IP; the reply must come back through the router.
    postrouting.push(...perFamily((f) => `oifname != "${externalIf}" ct status dnat snat ${MATCH[f]} to ${MATCH[f]} saddr map @snat${f}`));
  }
  chain('postrouting', 'type nat hook postrouting priority srcnat - 1; policy accept;', postrouting);
  const accounting = externalIf
    ? FAMILIES.flatMap((f) => [
        `iifname "${externalIf}" counter name ${MATCH[f]} daddr map @acct_in${f}`,
        `oifname "${externalIf}" counter name ${MATCH[f]} saddr map @acct_out${f}`,
      ])
    : [];
  chain('forward', 'type filter hook forward priority filter; policy accept;', accounting);
  return lines;
}

function splitMark(mark: string): [string, string] {
  const [value, mask] = mark.split('/');
  return [value!, mask ?? value!];
}

/**
 * The table's definition; without elements (`elements: false`) it is the
 * table's structure, which a floating IP added or removed leaves unchanged.
 */
export function tableDefinition(table: FloatingIpTable, elements = true): string {
  const byMap = new Map<MapName, string[]>();
  const counters: string[] = [];
  if (elements) {
    for (const pair of table.pairs) {
      counters.push(counterName('in', pair), counterName('out', pair));
      for (const element of elementsOf(pair)) {
        const list = byMap.get(element[0]) ?? [];
        list.push(elementText(element));
        byMap.set(element[0], list);
      }
    }
  }
  const lines = [`table ${TABLE} {`];
  // Counters first: the accounting maps' elements name them.
  for (const name of counters) lines.push(`\tcounter ${name} {`, '\t}');
  for (const family of FAMILIES) {
    for (const [prefix, value] of [['dnat', KEY_TYPE[family]], ['snat', KEY_TYPE[family]], ['acct_in', 'counter'], ['acct_out', 'counter']] as const) {
      const name: MapName = `${prefix}${family}`;
      const list = byMap.get(name);
      lines.push(`\tmap ${name} {`, `\t\ttype ${KEY_TYPE[family]} : ${value}`);
      if (list) lines.push(`\t\telements = { ${list.join(', ')} }`);
      lines.push('\t}');
    }
  }
  lines.push(...chainsText(table), '}');
  return `${lines.join('\n')}\n`;
}

/** `nft -f` text replacing the table whole, atomically (declared first so that the delete finds it). */
export function replaceText(definition: string): string {
  return `table ${TABLE}\ndelete table ${TABLE}\n${definition}`;
}

export const DELETE_TABLE_TEXT = `table ${TABLE}\ndelete table ${TABLE}\n`;

/** A floating IP as one string, as the driver remembers the elements it applied. */
export function pairKey({ floating, fixed }: FipPair): string {
  return `${floating} ${fixed}`;
}

export function pairOfKey(key: string): FipPair {
  const [floating = '', fixed = ''] = key.split(' ');
  return { family: floating.includes(':') ? 6 : 4, floating, fixed };
}

export interface ElementDelta {
  readonly added: readonly FipPair[];
  readonly removed: readonly FipPair[];
}

/** What changes from the floating IPs applied (their keys) to the desired ones: a moved floating IP is one removed and one added. */
export function elementDelta(applied: readonly string[], desired: readonly FipPair[]): ElementDelta {
  const before = new Set(applied);
  const after = new Set(desired.map(pairKey));
  return {
    added: desired.filter((pair) => !before.has(pairKey(pair))),
    removed: applied.filter((key) => !after.has(key)).map(pairOfKey),
  };
}

/**
 * One `nft -f` transaction for a delta: elements removed first (a moved
 * floating IP's old DNAT goes before its new one comes), their counters once
 * no element names them, then the new counters and elements. A `delete` of
 * something absent fails the whole transaction, changing nothing.
 */
export function deltaText({ added, removed }: ElementDelta): string {
  const lines: string[] = [];
  const elements = (verb: 'add' | 'delete', pair: FipPair) =>
    elementsOf(pair).map((element) => `${verb} element ${TABLE} ${element[0]} { ${verb === 'add' ? elementText(element) : element[1]} }`);
  const counters = (verb: 'add' | 'delete', pair: FipPair) => (['in', 'out'] as const).map((d) => `${verb} counter ${TABLE} ${counterName(d, pair)}`);
  for (const pair of removed) lines.push(...elements('delete', pair));
  for (const pair of removed) lines.push(...counters('delete', pair));
  for (const pair of added) lines.push(...counters('add', pair));
  for (const pair of added) lines.push(...elements('add', pair));
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

export function inverseDelta({ added, removed }: ElementDelta): ElementDelta {
  return { added: removed, removed: added };
}

/** What `nft -j list table inet astara-fip` says, split into its structure and its elements. */
export interface LiveTable {
  /** The table without elements, counters' values or handles, as JSON: equal after equal full replaces. */
  readonly structure: string;
  /** Every element and counter, one sorted string each (liveElements compares them with desiredElements). */
  readonly elements: readonly string[];
}

type NftObject = Record<string, Record<string, unknown>>;

/** Parse the JSON listing of the table. */
export function liveTable(json: string): LiveTable {
  const objects = (JSON.parse(json) as { nftables?: NftObject[] }).nftables ?? [];
  const structure: unknown[] = [];
  const elements: string[] = [];
  for (const object of objects) {
    const [kind] = Object.keys(object);
    if (kind === undefined || kind === 'metainfo') continue;
    const { handle: _handle, elem, ...rest } = object[kind]!;
    if (kind === 'counter') {
      elements.push(`counter ${String(rest.name)}`);
      continue;
    }
    if (kind === 'map' && Array.isArray(elem)) {
      for (const entry of elem as unknown[]) {
        if (Array.isArray(entry)) elements.push(`${String(rest.name)} ${entry.map(String).join(' ')}`);
      }
    }
    structure.push({ [kind]: rest });
  }
  return { structure: JSON.stringify(structure), elements: elements.sort() };
}

/** The elements `liveTable` reads from a table holding exactly `pairs`. */
export function desiredElements(pairs: readonly FipPair[]): string[] {
  return pairs
    .flatMap((pair) => [
      `counter ${counterName('in', pair)}`,
      `counter ${counterName('out', pair)}`,
      ...elementsOf(pair).map(([map, key, value]) => `${map} ${key} ${value}`),
    ])
    .sort();
}
