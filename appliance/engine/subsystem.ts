// The one contract every subsystem of the appliance implements (spec section
// 5): get the desired state from the model, verify it with the daemon's own
// checker, apply only the difference, undo. New daemon-backed subsystems are
// one folder implementing this interface, using the daemon lifecycle of
// appliance/host/ (the only layer subsystems share).
//
// The rules every implementation keeps (the engine relies on them):
// 1. `render` is pure: the same model gives the same desired state, nothing
//    is read from or written to the host.
// 2. `check` writes only candidate files of its own and never changes what
//    runs; a refusal (throw) is the document's fault and answers 422.
// 3. `apply` changes only what differs from `desired`; when nothing differs
//    it runs no mutating command and returns `changed: false`.
// 4. Before `apply` changes host state that the subsystem will own (a route,
//    a file, a process), it records that ownership with `context.remember`,
//    which the engine writes to disk before returning: an agent killed at any
//    instant finds, at its next start, everything it may have left.
// 5. An `apply` that fails undoes its own partial change before it throws.
// 6. The `undo` an `apply` returns restores the host exactly as it was before
//    that apply; the engine runs it only when a later subsystem fails.
// 7. `stop` ends what the subsystem runs (its daemons) when the agent stops.
import type { Logger } from 'pino';
import type { ConfigModel, Family } from '../../contract/index.js';
import type { CommandRunner } from '../host/exec.js';

/** Host facts a renderer may use. */
export interface RenderHost {
  /** The real interface name behind a generic one (`ge2` -> `eth2`). */
  realName(generic: string): string;
}

/** What the firewall subsystem renders with: the host facts and every other subsystem's contribution. */
export interface FirewallRenderHost extends RenderHost {
  readonly contributions: readonly FirewallContribution[];
}

/**
 * Where a contributed rule goes in the firewall (the firewall subsystem maps
 * each hook to its own chain):
 * - `management-input`, `external-input`, `tenant-input`: traffic to the
 *   appliance itself arriving on a network of that type (filter table);
 * - `nat-prerouting`: destination NAT of traffic entering the appliance;
 * - `nat-postrouting-exempt`: traffic that must keep its source address
 *   (the rule's target is RETURN: the firewall also renders it as a mark
 *   for the floating IPs' SNAT, which runs earlier).
 */
export type FirewallHook = 'management-input' | 'external-input' | 'tenant-input' | 'nat-prerouting' | 'nat-postrouting-exempt';

/** One rule a subsystem needs from the firewall, as data: matches and target, after `-A <chain>`. */
export interface FirewallRule {
  readonly family: Family;
  readonly hook: FirewallHook;
  readonly rule: string;
}

export interface FirewallContribution {
  readonly subsystem: string;
  readonly rules: readonly FirewallRule[];
}

/**
 * A subsystem's persisted memory: the key it is stored under (stable across
 * renames of the subsystem) and how to read it back from disk, where it may
 * be from an older agent or damaged: `parse` returns undefined for anything
 * it does not recognise, and the subsystem then behaves as if it owned nothing.
 */
export interface MemorySpec<Memory> {
  readonly key: string;
  parse(value: unknown): Memory | undefined;
}

export interface CheckContext {
  readonly runner: CommandRunner;
  readonly logger: Logger;
}

export interface ApplyContext<Memory> {
  readonly runner: CommandRunner;
  readonly logger: Logger;
  /** What the last apply left (or what a killed apply had announced it would own). */
  readonly memory: Memory | undefined;
  /**
   * Record ownership before taking it (rule 4): written to disk before this
   * resolves. Give everything the subsystem may own once the change is made,
   * old and new together: the memory of a finished apply replaces it.
   */
  remember(memory: Memory): Promise<void>;
}

export interface Applied<Memory> {
  readonly changed: boolean;
  /** Restores what the host had before this apply (rule 6). */
  readonly undo?: () => Promise<void>;
  /** What the subsystem owns now, persisted with the document. */
  readonly memory?: Memory;
  /** Called once the whole apply is persisted: drop what `undo` would have needed (copies of replaced files). */
  readonly commit?: () => Promise<void>;
  /**
   * This apply took away or reset host state other subsystems build on (an
   * address removed takes the kernel's routes through it; a link set up or
   * given a new MTU): the engine then applies every later subsystem, even
   * one whose desired state did not change (see engine.ts).
   */
  readonly unsettling?: boolean;
}

export interface Subsystem<Desired = unknown, Memory = never> {
  readonly name: string;
  readonly memory?: MemorySpec<Memory>;
  /** Rendered last, with every other subsystem's firewall contribution (the firewall itself). */
  readonly collectsFirewall?: boolean;
  render(model: ConfigModel, host: FirewallRenderHost): Desired;
  /** What this subsystem needs from the firewall for `desired` (pure, like render). */
  firewall?(desired: Desired, model: ConfigModel, host: RenderHost): readonly FirewallRule[];
  check?(desired: Desired, context: CheckContext): Promise<void>;
  /**
   * `previous`: the desired state of the last successful apply, given only
   * while the host is verified to still hold what it left (see engine.ts)
   * and no earlier step of this apply unsettled it; a subsystem may then plan
   * its change from it instead of reading the host. Undefined: read the host.
   */
  apply(desired: Desired, context: ApplyContext<Memory>, previous?: Desired): Promise<Applied<Memory>>;
  stop?(): Promise<void>;
}

/** A subsystem of any desired state and memory, as the engine holds them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySubsystem = Subsystem<any, any>;
