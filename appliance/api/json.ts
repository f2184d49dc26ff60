// JSON in and out. Answers have their keys sorted at every level (spec
// section 3), so two answers for the same state are byte-identical. Request
// bodies are bounded in depth before they are parsed.
import type { Response } from 'express';
import { MAX_BODY_DEPTH, scanJsonDepth, type Problem } from '../../contract/index.js';

export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(record).sort()) {
      const sorted = sortKeys(record[key]);
      // Assigning a key named `__proto__` would set the prototype and drop the key: define it.
      if (key === '__proto__') Object.defineProperty(out, key, { value: sorted, enumerable: true, writable: true, configurable: true });
      else out[key] = sorted;
    }
    return out;
  }
  return value;
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
