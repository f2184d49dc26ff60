// JSON answers of the admin API with keys sorted at every level, so two
// answers for the same state are byte-identical and diff cleanly.
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

/** The error shape every failing answer has: a short category and what exactly is wrong. */
export interface ErrorBody {
  readonly error: string;
  readonly details: readonly ErrorDetail[];
}

export function sendError(res: Response, status: number, error: string, details: readonly ErrorDetail[] = []): void {
  const body: ErrorBody = { error, details };
  sendJson(res, status, body);
}
