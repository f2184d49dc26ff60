// The bounds of a document, checked before anything else looks at it.
//
// Size: the largest router we expect, 20,000 guests each with a floating IP,
// is 4.1 MiB of compact JSON (the orchestrator sends it compact) with the
// bench's names, 5.2 MiB with dual-stack guests, UUID device ids and long
// host names; the bench's large router (5,000 allocations, 1,000 floating
// IPs) is 845 KB. 6 MiB holds it; a larger body is only ever a mistake or an
// attack, and the agent's memory grows with the documents it parses.
// Depth: the deepest real document (a load balancer whose members carry
// Neutron subnet objects) nests 9 levels; 32 leaves room for richer Neutron
// objects in the informational fields and refuses what only an attacker sends.
//
// Depth is checked iteratively, never by recursion: a document nested a
// million levels deep must be refused, not overflow the stack of whatever
// walks it first (the serializer, the persisted state, the answer).
import type { Problem } from './validate.js';

/** Largest request body accepted, in bytes (6 MiB). */
export const MAX_DOCUMENT_BYTES = 6 * 1024 * 1024;
/** Deepest nesting of objects and lists in a document; the document itself is level 1. */
export const MAX_DOCUMENT_DEPTH = 32;
/**
 * Deepest nesting of a request body, checked on its bytes before parsing:
 * room for the `{"configuration": ...}` wrapper and more, so that the
 * document's own bound, checked after parsing, is the one that names the path.
 */
export const MAX_BODY_DEPTH = 2 * MAX_DOCUMENT_DEPTH;
/** At most this many errors, and as many warnings, are listed; a last entry counts the rest. */
export const MAX_PROBLEMS_LISTED = 100;

function depthMessage(limit: number): string {
  const bound = limit === MAX_DOCUMENT_DEPTH ? 'the limit of a document' : `a document may nest ${MAX_DOCUMENT_DEPTH}`;
  return `nests deeper than ${limit} levels of objects and lists (${bound})`;
}

/** The first object or list nested deeper than `limit`, in document order, by its path. */
export function depthProblem(value: unknown, limit = MAX_DOCUMENT_DEPTH): Problem | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  // Only containers are pushed, so a wide document costs one entry per object or list.
  const stack: { readonly value: object; readonly path: string; readonly depth: number }[] = [{ value, path: '', depth: 1 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (top.depth > limit) return { path: top.path, message: depthMessage(limit) };
    const container = top.value as Record<string, unknown>;
    const keys = Array.isArray(container) ? [...container.keys()].map(String) : Object.keys(container);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      const child = container[key];
      if (typeof child === 'object' && child !== null) stack.push({ value: child, path: `${top.path}/${escapePointer(key)}`, depth: top.depth + 1 });
    }
  }
  return undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_LIST = 0x5b;
const CLOSE_LIST = 0x5d;

type Frame = { kind: 'list'; index: number } | { kind: 'object'; expectKey: boolean; keyStart: number; keyEnd: number };

/**
 * A bound on JSON text before it is parsed: a body of 8 MiB of `[` would
 * otherwise become four million nested lists (about 260 MB) before any
 * check could see it. Structural characters are ASCII and never occur inside
 * a multi-byte UTF-8 sequence, so the bytes are scanned as they are. Only
 * depth is judged; malformed text is left to the parser.
 */
export function scanJsonDepth(bytes: Uint8Array, limit = MAX_BODY_DEPTH): Problem | undefined {
  const frames: Frame[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === QUOTE) {
      const start = i;
      for (i++; i < bytes.length && bytes[i] !== QUOTE; i++) if (bytes[i] === BACKSLASH) i++;
      const top = frames[frames.length - 1];
      if (top?.kind === 'object' && top.expectKey) {
        top.expectKey = false;
        top.keyStart = start;
        top.keyEnd = i + 1;
      }
    } else if (byte === OPEN_OBJECT || byte === OPEN_LIST) {
      if (frames.length >= limit) return { path: framesPointer(bytes, frames), message: depthMessage(limit) };
      frames.push(byte === OPEN_LIST ? { kind: 'list', index: 0 } : { kind: 'object', expectKey: true, keyStart: 0, keyEnd: 0 });
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_LIST) {
      frames.pop();
    } else if (byte === COMMA) {
      const top = frames[frames.length - 1];
      if (top?.kind === 'list') top.index++;
      else if (top) top.expectKey = true;
    }
  }
  return undefined;
}

function framesPointer(bytes: Uint8Array, frames: readonly Frame[]): string {
  return frames.map((frame) => `/${escapePointer(frame.kind === 'list' ? String(frame.index) : keyText(bytes, frame))}`).join('');
}

function keyText(bytes: Uint8Array, frame: { keyStart: number; keyEnd: number }): string {
  const raw = new TextDecoder().decode(bytes.subarray(frame.keyStart, frame.keyEnd));
  try {
    const key: unknown = JSON.parse(raw);
    return typeof key === 'string' ? key : raw;
  } catch {
    return raw;
  }
}

export function escapePointer(key: string): string {
  // Most keys need no escape: skip the two replacements (and their copies) for them.
  if (!key.includes('~') && !key.includes('/')) return key;
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
