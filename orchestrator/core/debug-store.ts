// Debug mode per resource, per tenant and globally, with the operator's
// reason: the original kept these in SQL; one JSON file under state_path,
// replaced atomically after every change, does the same job for one process.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface DebugEntry {
  readonly id: string;
  readonly reason: string | null;
}

/** The file's shape. */
interface DebugFile {
  global: { reason: string | null } | null;
  tenants: Record<string, string | null>;
  resources: Record<string, string | null>;
}

interface DebugFlags {
  global: { reason: string | null } | null;
  readonly tenants: Map<string, string | null>;
  readonly resources: Map<string, string | null>;
}

const flags = (file: Partial<DebugFile>): DebugFlags => ({
  global: file.global ?? null,
  tenants: new Map(Object.entries(file.tenants ?? {})),
  resources: new Map(Object.entries(file.resources ?? {})),
});

/** The debug flags as the core reads and sets them: this file alone, or shared by a cluster's members. */
export interface DebugFlagStore {
  global(): { enabled: boolean; reason: string | null };
  /** The reason a resource is in debug mode, or undefined when it is not. */
  resource(id: string): string | null | undefined;
  tenant(id: string): string | null | undefined;
  resources(): DebugEntry[];
  tenants(): DebugEntry[];
  enableResource(id: string, reason: string | undefined): Promise<void>;
  disableResource(id: string): Promise<void>;
  enableTenant(id: string, reason: string | undefined): Promise<void>;
  disableTenant(id: string): Promise<void>;
  enableGlobal(reason: string | undefined): Promise<void>;
  disableGlobal(): Promise<void>;
}

export class DebugStore implements DebugFlagStore {
  readonly #data: DebugFlags;
  #writes: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string | undefined,
    data: DebugFlags,
  ) {
    this.#data = data;
  }

  /** Load the flags persisted at `path` (none when the file does not exist); without a path, keep them in memory. */
  static async open(path: string | undefined): Promise<DebugStore> {
    if (!path) return new DebugStore(undefined, flags({}));
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new DebugStore(path, flags({}));
      throw error;
    }
    return new DebugStore(path, flags(JSON.parse(text) as Partial<DebugFile>));
  }

  global(): { enabled: boolean; reason: string | null } {
    return { enabled: this.#data.global !== null, reason: this.#data.global?.reason ?? null };
  }

  /** The reason a resource is in debug mode, or undefined when it is not. */
  resource(id: string): string | null | undefined {
    return this.#data.resources.get(id);
  }

  tenant(id: string): string | null | undefined {
    return this.#data.tenants.get(id);
  }

  resources(): DebugEntry[] {
    return [...this.#data.resources].map(([id, reason]) => ({ id, reason }));
  }

  tenants(): DebugEntry[] {
    return [...this.#data.tenants].map(([id, reason]) => ({ id, reason }));
  }

  enableResource(id: string, reason: string | undefined): Promise<void> {
    // Enabling again keeps the first reason, as the original's unique row did.
    if (!this.#data.resources.has(id)) this.#data.resources.set(id, reason ?? null);
    return this.#persist();
  }

  disableResource(id: string): Promise<void> {
    this.#data.resources.delete(id);
    return this.#persist();
  }

  enableTenant(id: string, reason: string | undefined): Promise<void> {
    if (!this.#data.tenants.has(id)) this.#data.tenants.set(id, reason ?? null);
    return this.#persist();
  }

  disableTenant(id: string): Promise<void> {
    this.#data.tenants.delete(id);
    return this.#persist();
  }

  enableGlobal(reason: string | undefined): Promise<void> {
    this.#data.global ??= { reason: reason ?? null };
    return this.#persist();
  }

  disableGlobal(): Promise<void> {
    this.#data.global = null;
    return this.#persist();
  }

  #persist(): Promise<void> {
    const path = this.path;
    if (!path) return Promise.resolve();
    const file: DebugFile = { global: this.#data.global, tenants: Object.fromEntries(this.#data.tenants), resources: Object.fromEntries(this.#data.resources) };
    const text = `${JSON.stringify(file, null, 1)}\n`;
    // One write at a time, in order, each one replacing the file whole.
    // A failed write is reported to its caller and does not block the next one.
    this.#writes = this.#writes.catch(() => undefined).then(async () => {
      await mkdir(dirname(path), { recursive: true });
      const temporary = `${path}.tmp-${process.pid}`;
      await writeFile(temporary, text);
      await rename(temporary, path);
    });
    return this.#writes;
  }
}
