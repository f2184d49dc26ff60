// Durable state of the agent under its state directory. Every file is replaced
// atomically (write a temporary file, fsync it, rename it over the old one,
// fsync the directory), so a crash leaves either the old or the new version.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export async function writeFileAtomic(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** What survives a restart: the last applied document and its generation. */
export interface PersistedState {
  readonly generation: number;
  readonly applied_at: string;
  readonly document: unknown;
  /** Per-subsystem memory (for example the routes the agent added). */
  readonly subsystems?: Record<string, unknown>;
}

export class StateStore {
  readonly path: string;

  constructor(readonly stateDir: string) {
    this.path = join(stateDir, 'applied.json');
  }

  load(): Promise<PersistedState | undefined> {
    return readJsonIfExists<PersistedState>(this.path);
  }

  save(state: PersistedState): Promise<void> {
    return writeFileAtomic(this.path, `${JSON.stringify(state, null, 1)}\n`);
  }
}
