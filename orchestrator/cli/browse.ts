// `astara-ctl browse`: a full-screen console of every resource, refreshed
// live, with keys that send the same commands as `astara-ctl resource ...`.
// The screen is a pure function of the state and the key handling a pure
// reducer; BrowseController is the shell that fetches, sends and notifies the
// ink view, which only draws lines.
import { Box, render, Text, useInput, useStdout } from 'ink';
import React from 'react';
import type { ResourceView } from '../core/control.js';
import { resourceTable } from './table.js';

/** What the console needs from the admin API. */
export interface BrowseApi {
  listResources(): Promise<readonly ResourceView[]>;
  /** Send a command line (`['resource', 'rebuild', id]`) as the admin API's PUT. */
  send(words: readonly string[]): Promise<void>;
}

export interface BrowseState {
  readonly resources: readonly ResourceView[];
  /** Index into `resources`; follows the selected resource across refreshes. */
  readonly selected: number;
  readonly refreshedAt: number | undefined;
  /** Why the last refresh failed; cleared by the next one that works. */
  readonly refreshError: { readonly at: number; readonly message: string } | undefined;
  /** The outcome of the last command sent from the console. */
  readonly message: string | undefined;
}

export const INITIAL_STATE: BrowseState = { resources: [], selected: 0, refreshedAt: undefined, refreshError: undefined, message: undefined };

/** A key as ink reports it; only the fields the console reads. */
export interface Keypress {
  readonly input: string;
  readonly upArrow?: boolean;
  readonly downArrow?: boolean;
  readonly pageUp?: boolean;
  readonly pageDown?: boolean;
  readonly ctrl?: boolean;
}

export type BrowseEffect = { readonly kind: 'quit' } | { readonly kind: 'command'; readonly label: string; readonly words: readonly string[] };

export const DEBUG_REASON = 'astara-ctl browse';
const PAGE = 10;

const COMMAND_KEYS: Readonly<Record<string, { readonly verb: string; readonly extra: readonly string[] }>> = {
  r: { verb: 'rebuild', extra: [] },
  u: { verb: 'update', extra: [] },
  d: { verb: 'debug', extra: ['--reason', DEBUG_REASON] },
  m: { verb: 'manage', extra: [] },
};

export function handleKey(state: BrowseState, key: Keypress): { readonly state: BrowseState; readonly effect?: BrowseEffect } {
  if (key.input === 'q' || (key.ctrl && key.input === 'c')) return { state, effect: { kind: 'quit' } };
  const last = Math.max(0, state.resources.length - 1);
  const moveTo = (index: number) => ({ state: { ...state, selected: Math.min(last, Math.max(0, index)) } });
  if (key.downArrow || key.input === 'j') return moveTo(state.selected + 1);
  if (key.upArrow || key.input === 'k') return moveTo(state.selected - 1);
  if (key.pageDown) return moveTo(state.selected + PAGE);
  if (key.pageUp) return moveTo(state.selected - PAGE);
  if (key.input === 'g') return moveTo(0);
  if (key.input === 'G') return moveTo(last);
  const command = COMMAND_KEYS[key.input];
  if (!command) return { state };
  const resource = state.resources[state.selected];
  if (!resource) return { state: { ...state, message: 'no resource selected' } };
  const label = `${command.verb} ${resource.id}`;
  return {
    state: { ...state, message: `${label}: sending` },
    effect: { kind: 'command', label, words: ['resource', command.verb, resource.id, ...command.extra] },
  };
}

const SEQUENCES: Readonly<Record<string, Keypress>> = {
  '\u001b[A': { input: '', upArrow: true },
  '\u001bOA': { input: '', upArrow: true },
  '\u001b[B': { input: '', downArrow: true },
  '\u001bOB': { input: '', downArrow: true },
  '\u001b[5~': { input: '', pageUp: true },
  '\u001b[6~': { input: '', pageDown: true },
  '\u0003': { input: 'c', ctrl: true },
};

/**
 * The keys in a string ink handed over whole: keys typed (or sent by tmux)
 * faster than it reads arrive together, arrows as escape sequences among
 * the letters. Ink drops the escape of a leading sequence, so a chunk that
 * starts like one (`[B...`) gets it back: `[` is no key of the console.
 */
export function splitKeys(chunk: string): Keypress[] {
  const text = /^\[[0-9;]*[A-Za-z~]/.test(chunk) ? `\u001b${chunk}` : chunk;
  // eslint-disable-next-line no-control-regex -- terminal escape sequences start with ESC
  return [...text.matchAll(/\u001b\[[0-9;]*[A-Za-z~]|\u001bO[A-Za-z]|[\s\S]/gu)].map(([token]) => SEQUENCES[token] ?? { input: token });
}

/** Apply every key of one ink input event, up to a quit. */
export function handleInput(state: BrowseState, key: Keypress): { readonly state: BrowseState; readonly effects: readonly BrowseEffect[] } {
  const keys = key.input.length > 1 && !key.ctrl ? splitKeys(key.input) : [key];
  const effects: BrowseEffect[] = [];
  let current = state;
  for (const k of keys) {
    const { state: next, effect } = handleKey(current, k);
    current = next;
    if (effect) effects.push(effect);
    if (effect?.kind === 'quit') break;
  }
  return { state: current, effects };
}

export function refreshed(state: BrowseState, resources: readonly ResourceView[], at: number): BrowseState {
  const selectedId = state.resources[state.selected]?.id;
  const kept = resources.findIndex((r) => r.id === selectedId);
  const selected = kept !== -1 ? kept : Math.min(state.selected, Math.max(0, resources.length - 1));
  return { ...state, resources, selected, refreshedAt: at, refreshError: undefined };
}

export function refreshFailed(state: BrowseState, message: string, at: number): BrowseState {
  return { ...state, refreshError: { at, message } };
}

export function commandDone(state: BrowseState, label: string, error: string | undefined): BrowseState {
  return { ...state, message: error === undefined ? `${label}: done` : `${label}: failed: ${error}` };
}

export interface ScreenLine {
  readonly text: string;
  readonly selected?: boolean;
  readonly color?: 'red' | 'yellow';
}

const HELP = 'j/k move  r rebuild  u update  d debug  m manage  q quit';
/** Title, table header, status, message and help; one line more is kept free so ink never scrolls the terminal. */
const CHROME_LINES = 6;

/** Every line of the screen, each at most `width` long; at most `height - 1` of them. */
export function renderScreen(state: BrowseState, width: number, height: number, now: number): ScreenLine[] {
  const [header = '', ...rows] = resourceTable(state.resources, now, { withDriver: false, maxWidth: width - 2 });
  const visible = Math.max(1, height - CHROME_LINES);
  const offset = Math.min(Math.max(0, state.selected - visible + 1), Math.max(0, rows.length - visible));
  const tableLines: ScreenLine[] = rows.slice(offset, offset + visible).map((row, i) => {
    const index = offset + i;
    const selected = index === state.selected;
    return { text: `${selected ? '>' : ' '} ${row}`, selected, color: rowColor(state.resources[index]!.instance_state) };
  });
  const lines: ScreenLine[] = [
    { text: `astara-ctl browse: ${state.resources.length} resource${state.resources.length === 1 ? '' : 's'}${rows.length > visible ? ` (${offset + 1}-${offset + tableLines.length} shown)` : ''}` },
    { text: `  ${header}` },
    ...(tableLines.length > 0 ? tableLines : [{ text: emptyTableText(state) }]),
    { text: statusLine(state) },
    { text: state.message ?? '' },
    { text: HELP },
  ];
  return lines.map((line) => ({ ...line, text: line.text.slice(0, width) }));
}

function emptyTableText(state: BrowseState): string {
  if (state.refreshedAt !== undefined) return '  no resources';
  return state.refreshError ? '  no answer from the orchestrator yet' : '  loading...';
}

function rowColor(instanceState: string): ScreenLine['color'] {
  if (instanceState === 'error' || instanceState === 'down' || instanceState === 'gone') return 'red';
  if (instanceState === 'configured') return undefined;
  return 'yellow';
}

export function statusLine(state: BrowseState): string {
  const counts = new Map<string, number>();
  for (const r of state.resources) counts.set(r.instance_state, (counts.get(r.instance_state) ?? 0) + 1);
  const summary = [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([instanceState, count]) => `${instanceState} ${count}`)
    .join(', ');
  const refresh = state.refreshError
    ? `refresh failed at ${clock(state.refreshError.at)}: ${state.refreshError.message}`
    : state.refreshedAt === undefined
      ? 'waiting for the first refresh'
      : `refreshed at ${clock(state.refreshedAt)}`;
  return summary === '' ? refresh : `${summary} | ${refresh}`;
}

function clock(at: number): string {
  return `${new Date(at).toISOString().slice(11, 19)} UTC`;
}

/** The plain table `browse --dump` prints. */
export function dumpText(resources: readonly ResourceView[], now: number): string {
  return `${resourceTable(resources, now, { withDriver: false }).join('\n')}\n`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type Listener = (state: BrowseState) => void;

/** Owns the state: refreshes on a timer, runs the reducer's effects, tells the view. */
export class BrowseController {
  #state: BrowseState = INITIAL_STATE;
  readonly #listeners = new Set<Listener>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly api: BrowseApi,
    private readonly intervalMs: number,
    private readonly onQuit: () => void,
  ) {}

  get state(): BrowseState {
    return this.#state;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Refresh now, then `intervalMs` after each refresh ends, so slow answers never pile up. */
  start(): void {
    void this.#refreshLoop();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  key(keypress: Keypress): void {
    const { state, effects } = handleInput(this.#state, keypress);
    this.#set(state);
    for (const effect of effects) {
      if (effect.kind === 'quit') {
        this.stop();
        this.onQuit();
      } else {
        void this.#send(effect.label, effect.words);
      }
    }
  }

  async refresh(): Promise<void> {
    try {
      const resources = await this.api.listResources();
      this.#set(refreshed(this.#state, resources, Date.now()));
    } catch (error) {
      this.#set(refreshFailed(this.#state, messageOf(error), Date.now()));
    }
  }

  async #refreshLoop(): Promise<void> {
    await this.refresh();
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#refreshLoop(), this.intervalMs);
  }

  async #send(label: string, words: readonly string[]): Promise<void> {
    let error: string | undefined;
    try {
      await this.api.send(words);
    } catch (caught) {
      error = messageOf(caught);
    }
    this.#set(commandDone(this.#state, label, error));
    if (error === undefined && !this.#stopped) await this.refresh();
  }

  #set(state: BrowseState): void {
    if (state === this.#state) return;
    this.#state = state;
    for (const listener of this.#listeners) listener(state);
  }
}

function BrowseView({ controller }: { readonly controller: BrowseController }): React.ReactElement {
  const [state, setState] = React.useState(controller.state);
  const { stdout } = useStdout();
  const [size, setSize] = React.useState({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  React.useEffect(() => controller.subscribe(setState), [controller]);
  React.useEffect(() => {
    const onResize = () => setSize({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
    stdout.on('resize', onResize);
    return () => void stdout.off('resize', onResize);
  }, [stdout]);
  useInput((input, key) => controller.key({ input, ...key }));
  const lines = renderScreen(state, size.columns, size.rows, Date.now());
  return React.createElement(
    Box,
    { flexDirection: 'column' },
    ...lines.map((line, i) => React.createElement(Text, { key: i, inverse: line.selected === true, color: line.color, wrap: 'truncate' }, line.text || ' ')),
  );
}

export interface BrowseOptions {
  /** Seconds between refreshes. */
  readonly interval: number;
  /** Print the table once and return, without a terminal. */
  readonly dump: boolean;
}

// The terminal's alternate screen: the console takes the whole window and the shell's scrollback comes back intact.
const ENTER_ALTERNATE_SCREEN = '\u001b[?1049h\u001b[H';
const LEAVE_ALTERNATE_SCREEN = '\u001b[?1049l';

/** Run the console until the operator quits, or print the dump. */
export async function runBrowse(api: BrowseApi, options: BrowseOptions, write: (text: string) => void): Promise<void> {
  if (options.dump) {
    write(dumpText(await api.listResources(), Date.now()));
    return;
  }
  if (!process.stdin.isTTY || !process.stdout.isTTY) throw new Error('browse needs a terminal; use --dump for a plain table');
  process.stdout.write(ENTER_ALTERNATE_SCREEN);
  try {
    const controller = new BrowseController(api, options.interval * 1000, () => instance.unmount());
    const instance = render(React.createElement(BrowseView, { controller }), { exitOnCtrlC: false, patchConsole: false });
    controller.start();
    await instance.waitUntilExit();
    controller.stop();
  } finally {
    process.stdout.write(LEAVE_ALTERNATE_SCREEN);
  }
}
