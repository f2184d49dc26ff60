// The console's files, as `npm run build` bundled them into dist/console/
// (scripts/build-console.mjs): read into memory once, served with their
// content type, gzip when the browser takes it (the build writes a `.gz`
// beside each), `immutable` for the bundles whose names carry a content hash
// and `no-cache` for the page that names them.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ConsoleAsset {
  readonly body: Buffer;
  readonly gzip: Buffer | undefined;
  readonly type: string;
  readonly cacheControl: string;
}

export type ConsoleAssets = ReadonlyMap<string, ConsoleAsset>;

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** A bundle name esbuild gave a content hash: `app-3KX7QZ2A.js`. */
const HASHED = /-[A-Z0-9]{8}\.[a-z]+$/;

/** dist/console of the package this module belongs to (found by walking up to package.json: it runs from orchestrator/ and dist/orchestrator/). */
export function defaultConsoleDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'console');
    if (dirname(dir) === dir) return join(dirname(fileURLToPath(import.meta.url)), 'console');
  }
}

/** The built files of `dir`, by name; undefined when there is no build (the console then answers 503). */
export async function loadConsoleAssets(dir: string): Promise<ConsoleAssets | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  if (!names.includes('index.html')) return undefined;
  const assets = new Map<string, ConsoleAsset>();
  for (const name of names) {
    const type = TYPES[extname(name)];
    if (type === undefined) continue;
    const gzipName = `${name}.gz`;
    assets.set(name, {
      body: await readFile(join(dir, name)),
      gzip: names.includes(gzipName) ? await readFile(join(dir, gzipName)) : undefined,
      type,
      cacheControl: HASHED.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  }
  return assets;
}
