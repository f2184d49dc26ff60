// Durable state of the agent under its state directory. Every file is replaced
// atomically (write a temporary file, fsync it, rename it over the old one,
// fsync the directory), so a crash leaves either the old or the new version.
import { link, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export async function writeFileAtomic(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    const handle = await open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    // A write that failed (a full disk) leaves no temporary file to keep the disk full.
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/** What replacing a file left: how to put the old one back, and how to forget it once the change is kept. */
export interface FileReplacement {
  /** Put the previous content back (or remove the file if there was none): needs no free space. */
  undo(): Promise<void>;
  /** The change is kept: drop the copy of the previous content. */
  commit(): Promise<void>;
}

/**
 * Replace a file atomically, keeping its previous content as a hard link, so
 * that undoing the change is a rename and needs no free space: a rollback on
 * a full disk restores every file.
 */
export async function replaceFile(path: string, data: string): Promise<FileReplacement> {
  const previous = `${path}.prev-${process.pid}`;
  await rm(previous, { force: true });
  let hadPrevious = true;
  try {
    await link(path, previous);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    hadPrevious = false;
  }
  try {
    await writeFileAtomic(path, data);
  } catch (error) {
    await rm(previous, { force: true });
    throw error;
  }
  return {
    undo: () => (hadPrevious ? rename(previous, path) : rm(path, { force: true })),
    commit: () => rm(previous, { force: true }),
  };
}

/** Remove a file the way replaceFile replaces one: kept aside until the change is committed. */
export async function removeFile(path: string): Promise<FileReplacement> {
  const previous = `${path}.prev-${process.pid}`;
  try {
    await rename(path, previous);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return { undo: () => Promise.resolve(), commit: () => Promise.resolve() };
  }
  return { undo: () => rename(previous, path), commit: () => rm(previous, { force: true }) };
}

/**
 * Remove what a killed agent may have left under `dir`: temporary files of
 * atomic writes and the copies kept for undo (`*.tmp-<pid>`, `*.prev-<pid>`).
 * Run at start-up, before anything else writes there.
 */
export async function sweepLeftovers(dir: string): Promise<string[]> {
  const removed: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return removed;
    throw error;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) removed.push(...(await sweepLeftovers(path)));
    else if (/\.(?:tmp|prev)-\d+$/.test(entry.name)) {
      await rm(path, { force: true });
      removed.push(path);
    }
  }
  return removed;
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
  /** The write-ahead record of ownership: written before an apply takes it, removed once the apply is persisted. */
  readonly ownershipPath: string;

  constructor(readonly stateDir: string) {
    this.path = join(stateDir, 'applied.json');
    this.ownershipPath = join(stateDir, 'ownership.json');
  }

  load(): Promise<PersistedState | undefined> {
    return readJsonIfExists<PersistedState>(this.path);
  }

  /**
   * The document and what the agent owns, then the write-ahead record is
   * dropped: the document now carries the memory. Compact JSON: a file's size
   * must grow with the document, not with the square of its depth.
   */
  async save(state: PersistedState): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(state)}\n`);
    await rm(this.ownershipPath, { force: true });
  }

  /** Memory written ahead by an apply that did not finish, if any. */
  loadOwnership(): Promise<Record<string, unknown> | undefined> {
    return readJsonIfExists<Record<string, unknown>>(this.ownershipPath);
  }

  saveOwnership(memory: Record<string, unknown>): Promise<void> {
    return writeFileAtomic(this.ownershipPath, `${JSON.stringify(memory)}\n`);
  }
}
