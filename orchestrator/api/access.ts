// Access to the admin API and the console: with `[DEFAULT] admin_token_file`
// set, every request but the console's static files must carry
// `Authorization: Bearer <token>`. Reads need it too: the views carry tenant
// names, addresses and errors, and the documents the appliances hold. The
// console's files hold no data, and a browser cannot send a header when it
// navigates to a page, so they are served to anyone; the page asks for the
// token and sends it with every request it makes.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { NextFunction, Request, Response } from 'express';
import { sendError } from './json.js';

/** The token in a file: its first line, without surrounding whitespace. */
export async function readAdminToken(file: string): Promise<string> {
  const text = await readFile(file, 'utf8');
  const token = (text.split('\n')[0] ?? '').trim();
  if (token === '') throw new Error(`[DEFAULT] admin_token_file ${file} is empty: write the token on its first line`);
  if (!/^[\x21-\x7e]+$/.test(token)) throw new Error(`[DEFAULT] admin_token_file ${file}: the token must be printable ASCII without spaces`);
  return token;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Whether an Authorization header carries `token`, compared in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return false;
  // Digests of equal length, so neither the comparison nor its failure tells the token's length.
  return timingSafeEqual(digest(match[1]!), digest(token));
}

/** Middleware: 401 unless the request carries the token; requests `isPublic` accepts pass without it. */
export function requireToken(token: string, isPublic: (req: Request) => boolean): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    if (isPublic(req) || bearerMatches(req.get('authorization'), token)) {
      next();
      return;
    }
    res.set('WWW-Authenticate', 'Bearer realm="astara"');
    sendError(res, 401, 'unauthorized', [{ path: 'Authorization', message: 'this orchestrator requires `Authorization: Bearer <token>` ([DEFAULT] admin_token_file)' }]);
  };
}
