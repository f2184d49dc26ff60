// The value rules and readers of the local resource file, shared by its
// Neutron collections (resource-file.ts) and its Octavia ones (octavia.ts):
// every reader records a problem named by its JSON pointer and returns
// undefined for a value it rejected, so one pass reports every problem.
//
// Values that end up in an appliance's document follow the contract's rules,
// taken from its generated schema: the file accepts nothing a document could
// not carry.
import { configurationSchema } from '../../../contract/configuration.schema.js';
import { parseAddress, parseCidr } from '../../../contract/ip.js';
import type { Problem } from '../../../contract/validate.js';

const documentNetwork = configurationSchema.properties.networks.items.properties;
const allocation = documentNetwork.allocations.items.properties;
export const ID = new RegExp(configurationSchema.properties.tenant_id.pattern);
const ID_OR_EMPTY = new RegExp(allocation.device_id.pattern);
const SAFE_TEXT = new RegExp(documentNetwork.name.pattern);
const SAFE_TEXT_LENGTH = documentNetwork.name.maxLength;
const MAC = new RegExp(allocation.mac_address.pattern);
const MIN_MTU = 68;
const MAX_MTU = 65535;
const IPV6_MODES = ['slaac', 'dhcpv6-stateful', 'dhcpv6-stateless'];

export type Json = Readonly<Record<string, unknown>>;
export type Read<T> = (value: unknown, path: string) => T | undefined;

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `the ${typeof value} ${value}`;
  return typeof value;
}

/** A JSON pointer one level below `base`. */
export const pointer = (base: string, key: string | number): string => `${base}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;

/** Collects problems and warnings; every reader returns undefined for a value it rejected. */
export class Checks {
  readonly problems: Problem[] = [];
  readonly warnings: Problem[] = [];

  readonly fail = (path: string, message: string): undefined => {
    this.problems.push({ path, message });
    return undefined;
  };

  readonly warn = (path: string, message: string): void => {
    this.warnings.push({ path, message });
  };

  readonly object: Read<Json> = (value, path) =>
    typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : this.fail(path, `must be an object, not ${describe(value)}`);

  readonly string: Read<string> = (value, path) => {
    if (typeof value === 'string') return value;
    // YAML reads an unquoted 0123 or 1e3 as a number: name the fix.
    return this.fail(path, `must be a string, not ${describe(value)}${typeof value === 'number' ? ' (quote it)' : ''}`);
  };

  readonly id: Read<string> = (value, path) => {
    const text = this.string(value, path);
    if (text === undefined) return undefined;
    return ID.test(text) ? text : this.fail(path, `${describe(text)} is not an id: 1-255 letters, digits and _ . : -`);
  };

  readonly idOrEmpty: Read<string> = (value, path) => {
    const text = this.string(value, path);
    if (text === undefined) return undefined;
    return ID_OR_EMPTY.test(text) ? text : this.fail(path, `${describe(text)} is not an id: up to 255 letters, digits and _ . : -`);
  };

  readonly text: Read<string> = (value, path) => {
    const text = this.string(value, path);
    if (text === undefined) return undefined;
    if (text.length > SAFE_TEXT_LENGTH) return this.fail(path, `is longer than ${SAFE_TEXT_LENGTH} characters`);
    return SAFE_TEXT.test(text) ? text : this.fail(path, 'must not contain control characters or any of " \' \\ ` { } ; $ #');
  };

  readonly boolean: Read<boolean> = (value, path) => (typeof value === 'boolean' ? value : this.fail(path, `must be true or false, not ${describe(value)}`));

  readonly mac: Read<string> = (value, path) => {
    const text = this.string(value, path);
    if (text === undefined) return undefined;
    return MAC.test(text) ? text.toLowerCase() : this.fail(path, `${describe(text)} is not a MAC address (xx:xx:xx:xx:xx:xx)`);
  };

  /** An address, kept in canonical text. */
  readonly address: Read<string> = (value, path) => {
    const text = this.string(value, path);
    if (text === undefined) return undefined;
    return parseAddress(text)?.text ?? this.fail(path, `${describe(text)} is not an IPv4 or IPv6 address`);
  };

  /** A network in CIDR notation without host bits, kept in canonical text. */
  readonly network: Read<string> = (value, path) => {
    const text = this.string(value, path);
    if (text === undefined) return undefined;
    const cidr = parseCidr(text);
    if (!cidr) return this.fail(path, `${describe(text)} is not a network in CIDR notation`);
    return cidr.cidr === cidr.network ? cidr.network : this.fail(path, `${text} has host bits set (the network is ${cidr.network})`);
  };

  readonly ipVersion: Read<4 | 6> = (value, path) => (value === 4 || value === 6 ? value : this.fail(path, `must be 4 or 6, not ${describe(value)}`));

  readonly mtu: Read<number> = (value, path) =>
    Number.isInteger(value) && (value as number) >= MIN_MTU && (value as number) <= MAX_MTU
      ? (value as number)
      : this.fail(path, `must be an integer from ${MIN_MTU} to ${MAX_MTU}, not ${describe(value)}`);

  readonly ipv6Mode: Read<string> = (value, path) =>
    typeof value === 'string' && IPV6_MODES.includes(value) ? value : this.fail(path, `must be one of ${IPV6_MODES.join(', ')} or null, not ${describe(value)}`);

  /** An integer from `min` to `max`. */
  integer(min: number, max: number): Read<number> {
    return (value, path) =>
      Number.isInteger(value) && (value as number) >= min && (value as number) <= max ? (value as number) : this.fail(path, `must be an integer from ${min} to ${max}, not ${describe(value)}`);
  }

  /** One of `values`; `whose` says whose values they are. */
  oneOf(values: readonly string[], whose: string): Read<string> {
    return (value, path) =>
      typeof value === 'string' && values.includes(value) ? value : this.fail(path, `must be one of ${values.join(', ')} (${whose}), not ${describe(value)}`);
  }

  /** Text that `pattern` accepts; `rule` says what it is in words. */
  matching(pattern: RegExp, rule: string): Read<string> {
    return (value, path) => {
      const text = this.string(value, path);
      if (text === undefined) return undefined;
      return pattern.test(text) ? text : this.fail(path, `${describe(text)} is not ${rule}`);
    };
  }

  /** The items `read` accepted; each keeps its own index in its path. */
  list<T>(read: Read<T>): Read<T[]> {
    return (value, path) => {
      if (!Array.isArray(value)) return this.fail(path, `must be an array, not ${describe(value)}`);
      return value.flatMap((item, index) => {
        const result = read(item, pointer(path, index));
        return result === undefined ? [] : [result];
      });
    };
  }
}

/** The fields of one object: unknown keys become warnings; each read names its field's path. */
export class Fields {
  constructor(
    private readonly checks: Checks,
    readonly path: string,
    private readonly source: Json,
    known: readonly string[],
  ) {
    for (const key of Object.keys(source)) {
      if (!known.includes(key)) checks.warn(pointer(path, key), `unknown key "${key}" (ignored)`);
    }
  }

  at(key: string): string {
    return pointer(this.path, key);
  }

  has(key: string): boolean {
    return this.value(key) !== undefined;
  }

  private value(key: string): unknown {
    return Object.hasOwn(this.source, key) ? this.source[key] : undefined;
  }

  required<T>(key: string, read: Read<T>): T | undefined {
    const value = this.value(key);
    return value === undefined ? this.checks.fail(this.at(key), 'is required') : read(value, this.at(key));
  }

  optional<T>(key: string, read: Read<T>): T | undefined {
    const value = this.value(key);
    return value === undefined ? undefined : read(value, this.at(key));
  }

  /** Neutron's default when the key is absent. */
  defaulted<T>(key: string, read: Read<T>, fallback: T): T | undefined {
    const value = this.value(key);
    return value === undefined ? fallback : read(value, this.at(key));
  }

  /**
   * A key the file may carry (the cloud's API returns it) for a feature the
   * appliance does not have: a warning when it is set to anything but its
   * empty value, so it is never silently ignored.
   */
  unsupported(key: string, why: string): void {
    const value = this.value(key);
    const empty =
      value === undefined || value === null || value === false || value === '' || (typeof value === 'object' && Object.keys(value).length === 0);
    if (!empty) this.checks.warn(this.at(key), `${why}: ignored`);
  }

  /** Absent or null read as null. */
  nullable<T>(key: string, read: Read<T>): T | null | undefined {
    const value = this.value(key);
    return value === undefined || value === null ? null : read(value, this.at(key));
  }
}

/**
 * What the shape pass read, field by field. A field that was invalid is
 * undefined (and a problem was recorded), so the cross-resource checks can
 * still run on the fields that were valid.
 */
export type Draft<T> = { -readonly [K in keyof T]?: T[K] } & { readonly path: string };

/**
 * Whether two values parsed from JSON are the same, whatever the order of
 * their keys. Compared in place rather than as text: serializing every entry
 * of a 2 MB file on each edit was garbage the collector then took time over.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let index = 0; index < a.length; index++) if (!sameJson(a[index], b[index])) return false;
    return true;
  }
  const left = a as Json;
  const right = b as Json;
  let keys = 0;
  for (const key in left) {
    if (!Object.hasOwn(right, key) || !sameJson(left[key], right[key])) return false;
    keys++;
  }
  for (const key in right) if (Object.hasOwn(right, key)) keys--;
  return keys === 0;
}

/**
 * The drafts of the entries read from the previous file, by JSON pointer: an
 * entry that is the same at the same place reads to the same draft, so
 * an edit of a file of thousands of entries reads only the entries it changed
 * (issue 16, bench O2), and the draft objects of the others stay the same
 * (the diff tells unchanged entries by that). Only drafts that no later check
 * modifies may be kept, and only those read without a problem or warning (a
 * file read again reports every one of its problems and warnings again).
 */
export class EntryMemo {
  #previous = new Map<string, { readonly entry: Json; readonly draft: unknown }>();
  #current = new Map<string, { readonly entry: Json; readonly draft: unknown }>();

  /** A new file is read: the entries of the last one are the ones to reuse. */
  nextFile(): void {
    this.#previous = this.#current;
    this.#current = new Map();
  }

  read<T>(c: Checks, path: string, entry: Json, read: () => T): T {
    const kept = this.#previous.get(path);
    if (kept && sameJson(kept.entry, entry)) {
      this.#current.set(path, kept);
      return kept.draft as T;
    }
    const reported = c.problems.length + c.warnings.length;
    const draft = read();
    if (c.problems.length + c.warnings.length === reported) this.#current.set(path, { entry, draft });
    return draft;
  }
}

/**
 * The entries of a top-level collection, each read by `read`; absent or null
 * is empty. With `memo`, an entry unchanged since the last file is not read
 * again (see EntryMemo).
 */
export function readCollection<T>(c: Checks, top: Json, key: string, known: readonly string[], read: (c: Checks, f: Fields) => T, memo?: EntryMemo): T[] {
  const value = top[key];
  // An empty YAML key (`ports:`) is null: the same as no ports.
  if (value === undefined || value === null) return [];
  const items = c.list((item, path) => {
    const object = c.object(item, path);
    if (!object) return undefined;
    const readEntry = () => read(c, new Fields(c, path, object, known));
    return memo ? memo.read(c, path, object, readEntry) : readEntry();
  })(value, `/${key}`);
  return items ?? [];
}

/** Entries by id, first wins; a repeated id is a problem at the later entry. */
export function byId<T extends { readonly path: string; readonly id?: string }>(c: Checks, entries: readonly T[]): Map<string, T> {
  const map = new Map<string, T>();
  for (const entry of entries) {
    if (entry.id === undefined) continue;
    const first = map.get(entry.id);
    if (first) c.fail(pointer(entry.path, 'id'), `${entry.id} is already the id of ${first.path}`);
    else map.set(entry.id, entry);
  }
  return map;
}

/** A field every valid draft has: its absence after validation is a bug here, not in the file. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`resource file validation let an entry without ${what} through`);
  return value;
}

/** Drops the path and the optional fields the file did not give. */
export function finish<T extends object>(draft: T & { readonly path: string }): Omit<T, 'path'> {
  const { path: _path, ...rest } = draft;
  return Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)) as Omit<T, 'path'>;
}
