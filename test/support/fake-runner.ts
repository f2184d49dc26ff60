// A CommandRunner whose commands never reach the host: each is answered by
// the first handler that matches it, and every call is recorded. Shared by
// the engine's and the drivers' unit tests; the runner's own bookkeeping
// (apply records, idle) is the real one.
import { CommandRunner, type CommandResult, type RunOptions } from '../../appliance/host/exec.js';

export interface FakeCall {
  readonly argv: readonly string[];
  readonly mutating: boolean;
  readonly input: string;
}

type Matcher = string | RegExp | ((argv: readonly string[]) => boolean);
type Answer = Partial<CommandResult> | ((call: FakeCall) => Partial<CommandResult> | Promise<Partial<CommandResult>>);

export class FakeRunner extends CommandRunner {
  readonly calls: FakeCall[] = [];
  readonly #handlers: { matches: (argv: readonly string[]) => boolean; answer: Answer }[] = [];

  constructor() {
    super((argv, options, mutating) => this.#answer(argv, options, mutating));
  }

  /** Answer commands matching `matcher` (a command word, a pattern on the joined argv, or a predicate); later handlers win. */
  on(matcher: Matcher, answer: Answer): this {
    const matches =
      typeof matcher === 'string' ? (argv: readonly string[]) => argv[0] === matcher : matcher instanceof RegExp ? (argv: readonly string[]) => matcher.test(argv.join(' ')) : matcher;
    this.#handlers.unshift({ matches, answer });
    return this;
  }

  /** The joined argv of every command that changed the host. */
  changes(): string[] {
    return this.calls.filter((c) => c.mutating).map((c) => c.argv.join(' '));
  }

  async #answer(argv: readonly string[], options: RunOptions, mutating: boolean): Promise<CommandResult> {
    const call: FakeCall = { argv, mutating, input: options.input ?? '' };
    this.calls.push(call);
    const handler = this.#handlers.find((h) => h.matches(argv));
    const answer = handler ? (typeof handler.answer === 'function' ? await handler.answer(call) : handler.answer) : {};
    return { stdout: answer.stdout ?? '', stderr: answer.stderr ?? '', exitCode: answer.exitCode ?? 0 };
  }
}
