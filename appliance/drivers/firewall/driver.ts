// The host side of the firewall: each family's document is proven in a
// throwaway network namespace, then applied whole and atomically with
// iptables-restore / ip6tables-restore, and only when the host differs. The
// floating IPs' nftables table (nft.ts) is replaced whole when its structure
// changes or the host no longer holds what was applied, and otherwise changed
// by its elements only: a floating IP added or removed costs the same at any size.
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { Family } from '../../../contract/index.js';
import { CheckFailedError, messageOf } from '../../engine/engine.js';
import type { Applied, ApplyContext, CheckContext } from '../../engine/subsystem.js';
import type { CommandResult, CommandRunner } from '../../host/exec.js';
import {
  deltaText,
  DELETE_TABLE_TEXT,
  desiredElements,
  elementDelta,
  FIP_TABLE,
  inverseDelta,
  liveTable,
  pairKey,
  replaceText,
  tableDefinition,
  type FloatingIpTable,
  type LiveTable,
} from './nft.js';
import { emptyTableDocument, OWNED_TABLES, restoreDocument, type FirewallRules, type TableName } from './render.js';

const COMMANDS: Readonly<Record<Family, { restore: string; save: string; nft: string }>> = {
  4: { restore: 'iptables-restore', save: 'iptables-save', nft: 'ip' },
  6: { restore: 'ip6tables-restore', save: 'ip6tables-save', nft: 'ip6' },
};
const FAMILIES: readonly Family[] = [4, 6];

/** What the last apply left, per family: hashes of the document and of the live tables right after. */
export interface FamilyMemory {
  readonly document: string;
  readonly live: string;
}
/**
 * What the last apply left in the floating IPs' table: hashes of its rendered
 * structure and of the live structure right after the last full replace (a
 * delta changes neither), and the floating IPs (pairKey) it holds.
 */
export interface FipMemory {
  readonly structure: string;
  readonly live: string;
  readonly pairs: readonly string[];
}
export type FirewallMemory = Partial<Record<'v4' | 'v6', FamilyMemory>> & { readonly fip?: FipMemory };

interface Outcome<Memory> {
  readonly memory: Memory;
  readonly undo?: () => Promise<void>;
}

const NFT_APPLY = ['nft', '-f', '-'];
const NFT_LIST = ['nft', '-j', 'list', 'table', 'inet', FIP_TABLE];

const PROVEN_LIMIT = 32;

export class FirewallDriver {
  /** Hashes of the documents (and floating-IP table structures) that were proven. */
  readonly #proven = new Set<string>();
  #checksumFill: Promise<boolean> | undefined;
  #sandbox: Promise<boolean> | undefined;

  constructor(private readonly logger: Logger) {}

  /** The exact text applied for one family (CHECKSUM rules only when the kernel has the target). */
  async documentText(rules: FirewallRules, family: Family, runner: CommandRunner): Promise<string> {
    return restoreDocument(family === 4 ? rules.v4 : rules.v6, { checksumFill: await this.#checksumSupported(runner) });
  }

  /**
   * `iptables-restore --test` on the nf_tables backend accepts rules that
   * then fail for real, so each document is applied for real in a fresh,
   * empty network namespace (30-40 ms per family, both at once). A document
   * proven once is not proven again; the floating IPs are not in these
   * documents, so adding or removing one proves nothing here. The floating
   * IPs' table is checked by `nft -c` (the kernel validates the whole
   * transaction without committing it) when its structure changes: its
   * elements are addresses the contract validated, in maps of fixed types.
   */
  async check(rules: FirewallRules, context: CheckContext): Promise<void> {
    const texts = await Promise.all(FAMILIES.map((family) => this.documentText(rules, family, context.runner)));
    await Promise.all([
      ...FAMILIES.map(async (family, i) => {
        const text = texts[i]!;
        const key = `${family}:${sha256(text)}`;
        if (this.#proven.has(key)) return;
        const result = await this.#tryInSandbox(family, text, context.runner);
        if (result.exitCode !== 0) throw new CheckFailedError('firewall', restoreFailure(COMMANDS[family].restore, text, result));
        this.#remember(key);
      }),
      this.#checkFip(rules.fip, context.runner),
    ]);
  }

  async #checkFip(table: FloatingIpTable, runner: CommandRunner): Promise<void> {
    const key = `fip:${sha256(tableDefinition(table, false))}`;
    if (this.#proven.has(key)) return;
    const text = replaceText(tableDefinition(table));
    const result = await runner.read(['nft', '-c', '-f', '-'], { input: text, allowFailure: true });
    if (result.exitCode !== 0) throw new CheckFailedError('firewall', `nft refused the floating IPs' table: ${result.stderr.trim() || `exit ${result.exitCode}`}`);
    this.#remember(key);
  }

  #remember(key: string): void {
    this.#proven.add(key);
    if (this.#proven.size > PROVEN_LIMIT) this.#proven.delete(this.#proven.values().next().value!);
  }

  /**
   * `previous`: the rules of the last apply, given while the host is verified
   * to hold what it left (engine.ts). A family whose rules are those is then
   * not read at all, and the floating IPs' table not read to be compared: a
   * floating IP added or removed is one nft transaction and nothing else.
   */
  async apply(rules: FirewallRules, context: ApplyContext<FirewallMemory>, previous?: FirewallRules): Promise<Applied<FirewallMemory>> {
    const memory: FirewallMemory = context.memory ?? {};
    const verified = (family: Family) => {
      const key = family === 4 ? 'v4' : 'v6';
      return previous !== undefined && memory[key] !== undefined && isDeepStrictEqual(previous[key], rules[key]);
    };
    // The families and the floating IPs' table are independent: all run at once.
    const outcomes = await Promise.allSettled<Outcome<FamilyMemory | FipMemory>>([
      ...FAMILIES.map((family) =>
        verified(family) ? Promise.resolve({ memory: memory[family === 4 ? 'v4' : 'v6']! }) : this.#applyFamily(rules, family, memory, context),
      ),
      this.#applyFip(rules.fip, memory.fip, context, previous !== undefined),
    ]);
    const undos = outcomes.flatMap((o) => (o.status === 'fulfilled' && o.value.undo ? [o.value.undo] : []));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) {
      // The others may already be changed: put them back before failing.
      await runUndos(undos, context.logger);
      throw failed.reason;
    }
    const [v4, v6, fip] = outcomes.map((o) => (o as PromiseFulfilledResult<Outcome<FamilyMemory | FipMemory>>).value.memory);
    return {
      changed: undos.length > 0,
      memory: { v4: v4 as FamilyMemory, v6: v6 as FamilyMemory, fip: fip as FipMemory },
      ...(undos.length > 0 ? { undo: () => runUndos(undos, context.logger, true) } : {}),
    };
  }

  /**
   * The floating IPs' table. With the structure last applied, only the
   * elements that differ are added and deleted, in one transaction, without
   * reading the table: a deleted element that is not there (the table
   * drifted) fails it whole, and the table is then replaced. With nothing to
   * add or delete (a re-apply in full, as after the live-state verification
   * saw a drift), the table is read and compared, and replaced if it differs.
   */
  async #applyFip(table: FloatingIpTable, remembered: FipMemory | undefined, context: ApplyContext<FirewallMemory>, hostVerified: boolean): Promise<Outcome<FipMemory>> {
    const { runner, logger } = context;
    const structure = sha256(tableDefinition(table, false));
    if (remembered?.structure === structure) {
      const delta = elementDelta(remembered.pairs, table.pairs);
      if (delta.added.length + delta.removed.length > 0) {
        const applied = await runner.change(NFT_APPLY, { input: deltaText(delta), allowFailure: true });
        if (applied.exitCode === 0) {
          logger.info({ added: delta.added.length, removed: delta.removed.length }, 'floating IPs changed');
          return {
            memory: { ...remembered, pairs: table.pairs.map(pairKey) },
            undo: async () => {
              await runner.change(NFT_APPLY, { input: deltaText(inverseDelta(delta)) });
            },
          };
        }
        logger.warn({ detail: applied.stderr.trim() }, "the floating IPs' table is not what the agent left: replacing it whole");
      } else if (hostVerified) {
        return { memory: remembered };
      } else {
        const live = await readFipTable(runner);
        if (live && sha256(live.structure) === remembered.live && sameList(live.elements, desiredElements(table.pairs))) return { memory: remembered };
      }
    }
    return this.#replaceFip(table, structure, context);
  }

  /** The whole table in one transaction; undone by putting back what was listed before, or deleting it if there was none. */
  async #replaceFip(table: FloatingIpTable, structure: string, context: ApplyContext<FirewallMemory>): Promise<Outcome<FipMemory>> {
    const { runner } = context;
    const before = await runner.read(['nft', 'list', 'table', 'inet', FIP_TABLE], { allowFailure: true });
    await runner.change(NFT_APPLY, { input: replaceText(tableDefinition(table)) });
    const undo = async () => {
      await runner.change(NFT_APPLY, { input: before.exitCode === 0 ? replaceText(before.stdout) : DELETE_TABLE_TEXT });
    };
    try {
      const live = await readFipTable(runner);
      if (!live) throw new Error(`nft applied the table inet ${FIP_TABLE} but does not list it`);
      context.logger.info({ floatingIps: table.pairs.length }, "floating IPs' table replaced");
      return { memory: { structure, live: sha256(live.structure), pairs: table.pairs.map(pairKey) }, undo };
    } catch (error) {
      await undo();
      throw error;
    }
  }

  /**
   * One family: skipped when the document is the one last applied and the
   * live tables are still exactly what that apply left (one save tells both,
   * and is what an undo restores); otherwise replaced whole, atomically.
   */
  async #applyFamily(rules: FirewallRules, family: Family, memory: FirewallMemory, context: ApplyContext<FirewallMemory>): Promise<Outcome<FamilyMemory>> {
    const { runner } = context;
    const [text, save] = await Promise.all([this.documentText(rules, family, runner), runner.read([COMMANDS[family].save])]);
    const before = save.stdout;
    const document = sha256(text);
    const remembered = memory[family === 4 ? 'v4' : 'v6'];
    if (remembered?.document === document && remembered.live === sha256(ownedTables(before, family))) return { memory: remembered };
    await runner.change([COMMANDS[family].restore], { input: text });
    const undo = () => this.#restore(family, before, runner);
    try {
      const after = await runner.read([COMMANDS[family].save]);
      context.logger.info({ family, rules: text.split('\n').filter((l) => l.startsWith('-A ')).length }, 'firewall applied');
      return { memory: { document, live: sha256(ownedTables(after.stdout, family)) }, undo };
    } catch (error) {
      await undo();
      throw error;
    }
  }

  /**
   * Put back exactly what `iptables-save` printed before the change. A table
   * that did not exist then is deleted (nf_tables) or, where tables cannot be
   * deleted (legacy backend), emptied with ACCEPT policies.
   */
  async #restore(family: Family, before: string, runner: CommandRunner): Promise<void> {
    const present = new Set(tablesIn(before));
    if (present.size > 0) await runner.change([COMMANDS[family].restore], { input: before });
    const missing = OWNED_TABLES[family].filter((t) => !present.has(t));
    if (missing.length === 0) return;
    const deleted = await runner.change(['nft', '-f', '-'], {
      input: missing.map((t) => `delete table ${COMMANDS[family].nft} ${t}\n`).join(''),
      allowFailure: true,
    });
    if (deleted.exitCode !== 0) await runner.change([COMMANDS[family].restore], { input: missing.map(emptyTableDocument).join('') });
  }

  /** Does the kernel have the CHECKSUM target? Asked once, in a throwaway namespace. */
  #checksumSupported(runner: CommandRunner): Promise<boolean> {
    this.#checksumFill ??= (async () => {
      const probe = '*mangle\n-A POSTROUTING -p udp -m udp --sport 67 -j CHECKSUM --checksum-fill\nCOMMIT\n';
      const result = await this.#tryInSandbox(4, probe, runner);
      if (result.exitCode === 0) return true;
      this.logger.warn(
        { detail: result.stderr.trim() },
        'the kernel has no CHECKSUM target (xt_CHECKSUM): DHCP replies go out without a filled-in UDP checksum, which only guests with checksum-offload bugs mind',
      );
      return false;
    })();
    return this.#checksumFill;
  }

  /** Apply `text` in a new, empty network namespace; where namespaces cannot be made, fall back to `--test`. */
  async #tryInSandbox(family: Family, text: string, runner: CommandRunner): Promise<CommandResult> {
    const restore = COMMANDS[family].restore;
    this.#sandbox ??= runner
      .read(['unshare', '-n', 'true'], { allowFailure: true })
      .then((r) => {
        if (r.exitCode !== 0) {
          this.logger.warn({ detail: r.stderr.trim() }, `cannot create a network namespace: firewall documents are checked with ${restore} --test only`);
        }
        return r.exitCode === 0;
      });
    const argv = (await this.#sandbox) ? ['unshare', '-n', restore] : [restore, '--test'];
    return runner.read(argv, { input: text, allowFailure: true });
  }
}

/**
 * The tables the agent owns, from `iptables-save` output, without comments
 * and counters: equal texts mean the live rules are exactly what was applied.
 */
export function ownedTables(save: string, family: Family): string {
  const owned = new Set<string>(OWNED_TABLES[family]);
  const kept: string[] = [];
  let keep = false;
  for (const line of save.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    if (line.startsWith('*')) keep = owned.has(line.slice(1).trim());
    if (keep) kept.push(line.replace(/ \[\d+:\d+\]$/, ''));
  }
  return kept.join('\n');
}

/** Table names present in `iptables-save` output. */
export function tablesIn(save: string): TableName[] {
  return save
    .split('\n')
    .filter((l) => l.startsWith('*'))
    .map((l) => l.slice(1).trim() as TableName);
}

/** An operator-readable reason, quoting the line iptables-restore named. */
export function restoreFailure(command: string, text: string, result: CommandResult): string {
  const stderr = result.stderr.trim();
  const line = /line:? (\d+)/.exec(stderr)?.[1];
  const quoted = line ? text.split('\n')[Number(line) - 1] : undefined;
  return `${command} refused the rendered rules: ${stderr || `exit ${result.exitCode}`}${quoted ? ` (line ${line}: ${quoted})` : ''}`;
}

/** Run every undo, newest first, even when one fails; rethrow the first failure when asked. */
async function runUndos(undos: readonly (() => Promise<void>)[], logger: Logger, rethrow = false): Promise<void> {
  let failure: Error | undefined;
  for (const undo of [...undos].reverse()) {
    try {
      await undo();
    } catch (error) {
      logger.error({ err: messageOf(error) }, 'restoring the previous firewall failed');
      failure ??= error instanceof Error ? error : new Error(messageOf(error));
    }
  }
  if (rethrow && failure) throw failure;
}

/** The memory persisted by an earlier apply; anything unexpected counts as none (the rules are then compared and replaced). */
export function parseFirewallMemory(value: unknown): FirewallMemory | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
}

/** The floating IPs' table as the host holds it, or undefined when there is none. */
async function readFipTable(runner: CommandRunner): Promise<LiveTable | undefined> {
  const listing = await runner.read(NFT_LIST, { allowFailure: true });
  return listing.exitCode === 0 ? liveTable(listing.stdout) : undefined;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
