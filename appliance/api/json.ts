// JSON answers with keys sorted at every level (spec section 3), so two
// answers for the same state are byte-identical.
import type { Response } from 'express';

export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

export function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).type('application/json').send(`${JSON.stringify(sortKeys(body))}\n`);
}

export interface ErrorDetail {
  readonly path?: string;
  readonly message: string;
}

export function sendError(res: Response, status: number, error: string, details: readonly ErrorDetail[] = []): void {
  sendJson(res, status, { error, details });
}
