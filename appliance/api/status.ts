// Reachability of the external gateways for GET /v1/status/. Existing
// orchestrators poll this often, so the answer is cached for a few seconds and
// concurrent callers share one probe. Only configured gateways are probed,
// never a public address.
import { defaultGateways, type ConfigModel, type ParsedAddress } from '../../contract/index.js';
import type { CommandRunner } from '../host/exec.js';

export interface Reachability {
  readonly v4: boolean;
  readonly v6: boolean;
}

export class GatewayProbe {
  #cached: { at: number; key: string; value: Reachability } | undefined;
  #pending: Promise<Reachability> | undefined;

  constructor(
    private readonly runner: CommandRunner,
    private readonly cacheMs = 5000,
    private readonly timeoutSeconds = 1,
  ) {}

  async reachability(model: ConfigModel | undefined): Promise<Reachability> {
    const gateways = model ? defaultGateways(model) : { v4: undefined, v6: undefined };
    const key = `${gateways.v4?.text ?? ''}|${gateways.v6?.text ?? ''}`;
    if (this.#cached && this.#cached.key === key && Date.now() - this.#cached.at < this.cacheMs) return this.#cached.value;
    this.#pending ??= (async () => {
      const [v4, v6] = await Promise.all([this.#ping(gateways.v4), this.#ping(gateways.v6)]);
      const value = { v4, v6 };
      this.#cached = { at: Date.now(), key, value };
      return value;
    })().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #ping(address: ParsedAddress | undefined): Promise<boolean> {
    if (!address) return false;
    const family = address.family === 6 ? '-6' : '-4';
    const result = await this.runner.read(['ping', family, '-n', '-q', '-c', '1', '-W', String(this.timeoutSeconds), address.text], {
      allowFailure: true,
      timeoutMs: (this.timeoutSeconds + 2) * 1000,
    });
    return result.exitCode === 0;
  }
}
