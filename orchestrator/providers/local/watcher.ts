// The resource file as an event source: each valid edit becomes the events of
// its diff against the last valid view; an invalid edit is logged and changes
// nothing. Editors either rewrite a file in place or write a new file and
// rename it over the old one (a new inode), so the watch is on the directory,
// filtered by name; a slow stat poll catches whatever inotify might miss.
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { setImmediate } from 'node:timers/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Event } from '../../core/events.js';
import type { EventSource } from '../types.js';
import { diffViews } from './diff.js';
import { EntryMemo, parseResourceFile, readResourceText, type ParseOptions, type ParseResult, type Problem } from './resource-file.js';
import type { ResourceView } from './view.js';

export interface ResourceFileWatcherOptions {
  readonly path: string;
  readonly parseOptions: ParseOptions;
  readonly logger: Logger;
  /**
   * Called with each new valid view before its events are delivered (the
   * bridges are synced there); `reload` is true when config reload asked for
   * the read, which applies even the same bytes again.
   */
  readonly onView?: (view: ResourceView, reload: boolean) => void | Promise<void>;
  /** Quiet time after the last change before the file is read, so a write in progress is not read half-done. */
  readonly debounceMs?: number;
  /** Period of the safety poll. */
  readonly pollMs?: number;
}

type Deliver = (target: string, event: Event) => void;

/** The file's text, or why it could not be read. */
type Reading = { readonly text: string } | { readonly problem: Problem };

const DEFAULT_DEBOUNCE_MS = 100;
const DEFAULT_POLL_MS = 5000;

export class ResourceFileWatcher implements EventSource {
  readonly #options: ResourceFileWatcherOptions;
  #view: ResourceView | undefined;
  #problems: readonly Problem[] = [];
  /** The text last read, valid or not: the same bytes again are no change. */
  #text: string | undefined;
  /** inode, size and mtime when the file was last read. */
  #stamp: string | undefined;
  #deliver: Deliver | undefined;
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  /** Reads run one at a time, so each diff is against the view the previous one left. */
  #queue: Promise<unknown> = Promise.resolve();
  /** The last read found the file emptied; the next one confirms it. */
  #emptied = false;
  /** The entries of the last read, so that the next reads only those an edit changed. */
  readonly #memo = new EntryMemo();

  constructor(options: ResourceFileWatcherOptions) {
    this.#options = options;
  }

  /** The last valid view; undefined before a valid read. */
  get current(): ResourceView | undefined {
    return this.#view;
  }

  /** The problems of the last invalid read, or none when the last read was valid. */
  get lastProblems(): readonly Problem[] {
    return this.#problems;
  }

  /** The first read: a valid result becomes the current view; nothing is delivered or logged (the caller decides). */
  load(): Promise<ParseResult> {
    return this.#serially(async () => this.#parse(await this.#readText()));
  }

  /**
   * Read the file now, as a change would (config reload), except that the same
   * bytes are applied again too: the view hook re-syncs whatever drifted. Before
   * start() it only updates the view.
   */
  reload(): Promise<ParseResult> {
    return this.#serially(async () => this.#apply(await this.#readText(), true));
  }

  start(deliver: Deliver): Promise<void> {
    this.#deliver = deliver;
    const { path, logger, debounceMs = DEFAULT_DEBOUNCE_MS, pollMs = DEFAULT_POLL_MS } = this.#options;
    const directory = dirname(path);
    const name = basename(path);
    try {
      this.#watcher = watch(directory, { persistent: false }, (_type, changed) => {
        if (changed === null || changed === name) this.#schedule(debounceMs);
      });
      this.#watcher.on('error', (error) => {
        logger.warn({ err: error, directory }, 'resource file: directory watch failed; polling only');
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch (error) {
      logger.warn({ err: error, directory }, 'resource file: cannot watch the directory; polling only');
    }
    this.#poll = setInterval(() => this.#inBackground(() => this.#pollOnce()), pollMs);
    this.#poll.unref();
    // An edit between load() and now has no watch event to announce it.
    this.#schedule(0);
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.#deliver = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
    clearTimeout(this.#debounce);
    clearInterval(this.#poll);
    this.#debounce = undefined;
    this.#poll = undefined;
    await this.#queue;
  }

  #serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #inBackground(task: () => Promise<void>): void {
    this.#serially(task).catch((error: unknown) => {
      this.#options.logger.error({ err: error, file: this.#options.path }, 'resource file: reading failed');
    });
  }

  #schedule(delayMs: number): void {
    if (!this.#deliver) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      this.#inBackground(() => this.#refreshIfChanged());
    }, delayMs);
    this.#debounce.unref();
  }

  async #pollOnce(): Promise<void> {
    if (!this.#deliver) return;
    if ((await this.#statStamp()) !== this.#stamp) await this.#refreshIfChanged();
  }

  async #statStamp(): Promise<string> {
    try {
      const stats = await stat(this.#options.path);
      return `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
    } catch (error) {
      return `error:${(error as NodeJS.ErrnoException).code ?? 'unknown'}`;
    }
  }

  /** The file's text, the stamp taken first so that a write during the read is seen again by the poll. */
  async #readText(): Promise<Reading> {
    const { path } = this.#options;
    this.#stamp = await this.#statStamp();
    try {
      return { text: await readResourceText(path) };
    } catch (error) {
      return { problem: { path: '', message: `cannot read ${path}: ${(error as Error).message}` } };
    }
  }

  #parse(read: Reading): ParseResult {
    this.#text = 'text' in read ? read.text : undefined;
    const result: ParseResult = 'text' in read ? parseResourceFile(read.text, this.#options.path, this.#options.parseOptions, this.#memo) : { ok: false, problems: [read.problem] };
    if (result.ok) {
      this.#view = result.view;
      this.#problems = [];
    } else {
      this.#problems = result.problems;
    }
    return result;
  }

  async #refreshIfChanged(): Promise<void> {
    const { logger, path, debounceMs = DEFAULT_DEBOUNCE_MS } = this.#options;
    const read = await this.#readText();
    const text = 'text' in read ? read.text : undefined;
    const seenEmptyBefore = this.#emptied;
    this.#emptied = false;
    if (text !== undefined && text === this.#text) {
      logger.debug({ file: path }, 'resource file: touched, content unchanged');
      return;
    }
    // A file that just became empty or vanished may be in the middle of a save
    // (truncated, or moved away before the new one lands); applied, it would
    // delete every router. It counts only if still empty a quiet period later.
    if (text?.trim() === '' && this.#text?.trim() && !seenEmptyBefore) {
      logger.debug({ file: path }, 'resource file: emptied; reading it again before deleting every router');
      this.#emptied = true;
      this.#schedule(debounceMs);
      return;
    }
    await this.#apply(read);
  }

  /** A new reading: logged; when valid and started, the bridges hook runs and the diff is delivered. */
  async #apply(read: Reading, reload = false): Promise<ParseResult> {
    const before = this.#view;
    const result = this.#parse(read);
    const { logger, path, onView } = this.#options;
    if (!result.ok) {
      logger.warn({ file: path, problems: result.problems }, 'resource file is invalid: keeping the last valid view');
      return result;
    }
    if (result.warnings.length > 0) logger.warn({ file: path, warnings: result.warnings }, 'resource file has warnings');
    if (!this.#deliver) return result;
    if (onView) {
      try {
        await onView(result.view, reload);
      } catch (error) {
        logger.error({ err: error, file: path }, 'resource file: applying the new view failed');
      }
    }
    // The read and its checks held the one thread for tens of milliseconds
    // with a file of thousands of routers: what waited meanwhile (pushes,
    // answers) goes before the diff does the same (issue 16, bench O2).
    await setImmediate();
    // stop() may have come meanwhile.
    const deliver = this.#deliver;
    if (!deliver) return result;
    const events = diffViews(before, result.view);
    logger.info({ file: path, events: events.map((e) => `${e.crud} ${e.resource.driver} ${e.resource.id}`) }, 'resource file changed');
    for (const item of events) deliver(item.resource.tenantId, item);
    return result;
  }
}
