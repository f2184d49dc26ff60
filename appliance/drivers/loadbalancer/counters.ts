// Requests per HTTP listener, for /metrics. nginx's open-source build counts
// requests only globally (stub_status), so each HTTP listener writes one
// byte per request (an empty access-log line, buffered: one write per
// 64 KiB or per second) to its own file, and a file's size is its count: a
// stat per listener per read, no parsing, nothing sent per request. A file
// is emptied once it reaches TRIM_AT_BYTES, its count kept: the files stay
// small whether or not anyone reads the metrics. (Connections are counted
// by the firewall: see firewall.ts.)
import { closeSync, fstatSync, ftruncateSync, openSync, statSync } from 'node:fs';

export const TRIM_AT_BYTES = 1024 * 1024;

export class RequestCounter {
  /** Requests of emptied files, per listener port. */
  readonly #emptied = new Map<number, number>();

  constructor(
    private readonly logOf: (port: number) => string,
    private readonly trimAt = TRIM_AT_BYTES,
  ) {}

  /** The requests of each port's listener since the agent started counting them; a log beyond the limit is emptied. */
  count(ports: readonly number[]): Map<number, number> {
    const counts = new Map<number, number>();
    for (const port of ports) {
      let size = sizeOf(this.logOf(port));
      if (size >= this.trimAt) {
        this.#emptied.set(port, (this.#emptied.get(port) ?? 0) + this.#empty(this.logOf(port)));
        size = 0;
      }
      counts.set(port, (this.#emptied.get(port) ?? 0) + size);
    }
    return counts;
  }

  /**
   * Empty a log and say how many bytes it held. nginx appends (O_APPEND), so
   * its next write lands at the new end; only a write between the size and
   * the truncation, two system calls apart, would go uncounted.
   */
  #empty(path: string): number {
    const fd = openSync(path, 'r+');
    try {
      const { size } = fstatSync(fd);
      ftruncateSync(fd, 0);
      return size;
    } finally {
      closeSync(fd);
    }
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
