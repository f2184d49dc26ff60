// A value that is expensive to read (a process to start, a ping to wait for)
// and polled often: callers within `ttlMs` of the last read share it, and
// concurrent callers share one read in flight. A different key (for example
// a new set of gateways) or `invalidate()` forces a fresh read. With
// `serveStale`, a caller after `ttlMs` gets the last value at once while one
// fresh read runs in the background, so no poll ever waits on a slow read
// (a ping timing out) except the very first for a key.
export class SharedRead<T> {
  #cached: { at: number; key: string; value: T } | undefined;
  #pending: { key: string; value: Promise<T> } | undefined;

  constructor(
    private readonly ttlMs: number,
    private readonly load: (key: string) => Promise<T>,
    private readonly serveStale = false,
  ) {}

  get(key = ''): Promise<T> {
    const cached = this.#cached?.key === key ? this.#cached : undefined;
    if (cached && Date.now() - cached.at < this.ttlMs) return Promise.resolve(cached.value);
    if (cached && this.serveStale) {
      if (this.#pending?.key !== key) this.#refresh(key).catch(() => undefined);
      return Promise.resolve(cached.value);
    }
    if (this.#pending?.key === key) return this.#pending.value;
    return this.#refresh(key);
  }

  #refresh(key: string): Promise<T> {
    const value = this.load(key).then(
      (loaded) => {
        this.#cached = { at: Date.now(), key, value: loaded };
        this.#pending = undefined;
        return loaded;
      },
      (error: unknown) => {
        this.#pending = undefined;
        throw error;
      },
    );
    this.#pending = { key, value };
    return value;
  }

  invalidate(): void {
    this.#cached = undefined;
    this.#pending = undefined;
  }
}
