// The host side of the firewall: each family's document is proven in a
// throwaway network namespace, then applied whole and atomically with
// iptables-restore / ip6tables-restore, and only when the host differs.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Family } from '../../../contract/index.js';
import { CheckFailedError, messageOf } from '../../engine/engine.js';
import type { Applied, ApplyContext, CheckContext } from '../../engine/subsystem.js';
import type { CommandResult, CommandRunner } from '../../host/exec.js';
import { emptyTableDocument, FLOATING_IP_CHAINS, OWNED_TABLES, restoreDocument, type FirewallRules, type TableName } from './render.js';

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
export type FirewallMemory = Partial<Record<'v4' | 'v6', FamilyMemory>>;

interface FamilyOutcome {
  readonly memory: FamilyMemory;
  readonly undo?: () => Promise<void>;
}

const PROVEN_LIMIT = 32;

export class FirewallDriver {
  /**
   * The structures (documentStructure) of documents that applied cleanly in a
   * throwaway namespace, with whether that document had floating-IP rules
   * (then their shapes are proven too).
   */
  readonly #proven = new Map<string, boolean>();
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
   * empty network namespace (30-40 ms per family, both at once; 115 ms for
   * W2's IPv4 document, 1.6 s with 20,000 floating IPs). A document is not
   * proven again when one with the same structure was, and either it has no
   * floating-IP rules or that one had some too: the most common change, a
   * floating IP added or removed, is then not proven at all.
   */
  async check(rules: FirewallRules, context: CheckContext): Promise<void> {
    const texts = await Promise.all(FAMILIES.map((family) => this.documentText(rules, family, context.runner)));
    await Promise.all(
      FAMILIES.map(async (family, i) => {
        const text = texts[i]!;
        const { structure, floating } = documentStructure(text);
        const key = `${family}:${sha256(structure)}`;
        const provenWithFloating = this.#proven.get(key);
        if (provenWithFloating === true || (provenWithFloating === false && !floating)) return;
        const result = await this.#tryInSandbox(family, text, context.runner);
        if (result.exitCode !== 0) throw new CheckFailedError('firewall', restoreFailure(COMMANDS[family].restore, text, result));
        this.#proven.delete(key);
        this.#proven.set(key, floating);
        if (this.#proven.size > PROVEN_LIMIT) this.#proven.delete(this.#proven.keys().next().value!);
      }),
    );
  }

  async apply(rules: FirewallRules, context: ApplyContext<FirewallMemory>): Promise<Applied<FirewallMemory>> {
    const memory: FirewallMemory = context.memory ?? {};
    // The families are independent: both run at once.
    const outcomes = await Promise.allSettled(FAMILIES.map((family) => this.#applyFamily(rules, family, memory, context)));
    const undos = outcomes.flatMap((o) => (o.status === 'fulfilled' && o.value.undo ? [o.value.undo] : []));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) {
      // The other family may already be replaced: put it back before failing.
      await runUndos(undos, context.logger);
      throw failed.reason;
    }
    const next: FirewallMemory = {};
    for (const [i, family] of FAMILIES.entries()) {
      const outcome = outcomes[i] as PromiseFulfilledResult<FamilyOutcome>;
      next[family === 4 ? 'v4' : 'v6'] = outcome.value.memory;
    }
    return {
      changed: undos.length > 0,
      memory: next,
      ...(undos.length > 0 ? { undo: () => runUndos(undos, context.logger, true) } : {}),
    };
  }

  /**
   * One family: skipped when the document is the one last applied and the
   * live tables are still exactly what that apply left (one save tells both,
   * and is what an undo restores); otherwise replaced whole, atomically.
   */
  async #applyFamily(rules: FirewallRules, family: Family, memory: FirewallMemory, context: ApplyContext<FirewallMemory>): Promise<FamilyOutcome> {
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

/**
 * A document without the rules of its floating-IP chains (FLOATING_IP_CHAINS:
 * their declarations and the jumps to them stay), and whether it had any.
 */
export function documentStructure(text: string): { structure: string; floating: boolean } {
  const prefixes = FLOATING_IP_CHAINS.map((chain) => `-A ${chain} `);
  const lines = text.split('\n');
  const kept = lines.filter((line) => !prefixes.some((prefix) => line.startsWith(prefix)));
  return { structure: kept.join('\n'), floating: kept.length < lines.length };
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

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
