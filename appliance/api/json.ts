// JSON in and out. Answers have their keys sorted at every level (spec
// section 3), so two answers for the same state are byte-identical. Request
// bodies are bounded in depth before they are parsed.
import type { Response } from 'express';
import { MAX_BODY_DEPTH, scanJsonDepth, type Problem } from '../../contract/index.js';

/**
 * `value` with the keys of every object in sorted order. What is in order
 * already (every plain object, list and value below it) is returned as it is,
 * not copied: a PUT's answer echoes the whole document (845 KB on W2), and
 * each copy is garbage the agent's small young generation must collect.
 */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const sorted = sortKeys(item);
      if (sorted !== item) (out ??= value.slice())[i] = sorted;
    }
    return out ?? value;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    const values = keys.map((key) => sortKeys(record[key]));
    // Only a plain object can stand for itself: a class instance or a Date becomes a plain object of its own keys, as before.
    if (Object.getPrototypeOf(record) === Object.prototype && inOrder(keys) && values.every((sorted, i) => sorted === record[keys[i]!])) return record;
    const out: Record<string, unknown> = {};
    for (const i of keys.map((_, index) => index).sort((a, b) => compareKeys(keys[a]!, keys[b]!))) {
      const key = keys[i]!;
      const sorted = values[i];
      // Assigning a key named `__proto__` would set the prototype and drop the key: define it.
      if (key === '__proto__') Object.defineProperty(out, key, { value: sorted, enumerable: true, writable: true, configurable: true });
      else out[key] = sorted;
    }
    return out;
  }
  return value;
}

/** The order of Array.prototype.sort without a comparator (UTF-16 code units), for distinct keys. */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : 1;
}

function inOrder(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}

/** An answer's exact bytes, as sendJson sends them. */
export function jsonText(body: unknown): string {
  return `${JSON.stringify(sortKeys(body))}\n`;
}

export function sendJson(res: Response, status: number, body: unknown): void {
  sendJsonText(res, status, jsonText(body));
}

export function sendJsonText(res: Response, status: number, text: string): void {
  res.status(status).type('application/json').send(text);
}

export interface ErrorDetail {
  readonly path?: string;
  readonly message: string;
}

export function sendError(res: Response, status: number, error: string, details: readonly ErrorDetail[] = []): void {
  sendJson(res, status, { error, details });
}

export type ParsedBody =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly status: 400 | 422; readonly error: string; readonly details: readonly Problem[] };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A request body as JSON. Its depth is bounded on the bytes, before
 * JSON.parse builds anything: the parser itself copes with any depth, but
 * 8 MiB of `[` would become hundreds of megabytes of nested lists.
 */
export function parseJsonBody(bytes: Uint8Array | undefined): ParsedBody {
  if (bytes === undefined || bytes.length === 0) return { ok: false, status: 400, error: 'malformed JSON', details: [{ path: '', message: 'the body is empty' }] };
  const tooDeep = scanJsonDepth(bytes, MAX_BODY_DEPTH);
  if (tooDeep) return { ok: false, status: 422, error: 'invalid configuration', details: [tooDeep] };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, status: 400, error: 'malformed JSON', details: [{ path: '', message: 'the body is not valid UTF-8' }] };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, status: 400, error: 'malformed JSON', details: [{ path: '', message: error instanceof Error ? error.message : String(error) }] };
  }
}
