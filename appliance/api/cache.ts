// A value that is expensive to read (a process to start, a ping to wait for)
// and polled often: callers within `ttlMs` of the last read share it, and
// concurrent callers share one read in flight. A different key (for example
// a new set of gateways) or `invalidate()` forces a fresh read.
export class SharedRead<T> {
  #cached: { at: number; key: string; value: T } | undefined;
  #pending: { key: string; value: Promise<T> } | undefined;

  constructor(
    private readonly ttlMs: number,
    private readonly load: (key: string) => Promise<T>,
  ) {}

  get(key = ''): Promise<T> {
    if (this.#cached?.key === key && Date.now() - this.#cached.at < this.ttlMs) return Promise.resolve(this.#cached.value);
    if (this.#pending?.key === key) return this.#pending.value;
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
