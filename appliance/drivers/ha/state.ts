// The pair's VRRP state, from keepalived's notify FIFO: keepalived writes a
// line per state change of each instance and sync group
// (`INSTANCE "ge1" MASTER 100`, `GROUP "astara" MASTER 0`). The agent makes
// the FIFO, holds it open for reading and writing (so it never sees an end
// of file while keepalived restarts) and reads the lines: no script process,
// nothing of the line reaches a command. The member's state is that of its
// instances taken together (pairState).
import { constants, open as openCallback, type PathLike } from 'node:fs';
import { lstat, mkdir, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { VrrpRole } from '../../host/vrrp.js';
import type { CommandRunner } from '../../host/exec.js';

export type InstanceState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

export interface InstanceReport {
  readonly instance: string;
  readonly state: InstanceState;
}

const INSTANCE_LINE = /^INSTANCE "([A-Za-z0-9_.-]{1,64})" (MASTER|BACKUP|FAULT|STOP)(?: \d+)?$/;

/** An instance's state change; undefined for the other lines (sync groups, which the instances already say, and anything unknown). */
export function parseNotifyLine(line: string): InstanceReport | undefined {
  const match = INSTANCE_LINE.exec(line.trim());
  return match ? { instance: match[1]!, state: match[2] as InstanceState } : undefined;
}

/**
 * The member's state from its instances' last reports: MASTER once every
 * instance is, FAULT while any is (a tracked link is down: the sync group
 * follows it), INIT before any has said anything, STOP once keepalived said
 * it stops, else BACKUP (during a transition too: the addresses are only all
 * there once the last instance is master).
 */
export function pairState(instances: readonly string[], reported: ReadonlyMap<string, InstanceState>): VrrpRole {
  const states = instances.map((name) => reported.get(name));
  if (states.length === 0 || states.every((s) => s === undefined)) return 'INIT';
  if (states.includes('FAULT')) return 'FAULT';
  if (states.every((s) => s === 'MASTER')) return 'MASTER';
  if (states.includes('STOP')) return 'STOP';
  return 'BACKUP';
}

const openFd = promisify((path: PathLike, flags: number, callback: (error: NodeJS.ErrnoException | null, fd: number) => void) => openCallback(path, flags, callback));

/** Reads keepalived's notify FIFO line by line. */
export class NotifyFifo {
  #socket: Socket | undefined;
  #partial = '';

  constructor(
    readonly path: string,
    private readonly onReport: (report: InstanceReport) => void,
  ) {}

  get open(): boolean {
    return this.#socket !== undefined;
  }

  /** Make the FIFO (replacing anything else at its path) and start reading it; nothing when it is read already. */
  async start(runner: CommandRunner): Promise<void> {
    if (this.#socket) return;
    await mkdir(dirname(this.path), { recursive: true });
    const existing = await lstat(this.path).catch(() => undefined);
    if (existing && !existing.isFIFO()) await rm(this.path, { force: true, recursive: true });
    if (!existing?.isFIFO()) await runner.change(['mkfifo', '-m', '600', this.path]);
    // Read and write: the open never waits for a writer, and the FIFO stays open while keepalived restarts.
    const fd = await openFd(this.path, constants.O_RDWR | constants.O_NONBLOCK);
    const socket = new Socket({ fd, readable: true, writable: false });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#read(chunk));
    this.#socket = socket;
  }

  stop(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
    this.#partial = '';
  }

  #read(chunk: string): void {
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop() ?? '';
    // A line longer than any keepalived writes is not one of its lines.
    if (this.#partial.length > 4096) this.#partial = '';
    for (const line of lines) {
      const report = parseNotifyLine(line);
      if (report) this.onReport(report);
    }
  }
}
