// Reachability of the external gateways for GET /v1/status/. Existing
// orchestrators poll this often, so the answer is shared for a few seconds,
// concurrent callers share one probe, and after that a caller gets the last
// answer at once while a new probe runs: only the first call for a set of
// gateways waits for a ping. Only configured gateways are probed, never a
// public address.
import { defaultGateways, parseAddress, type ConfigModel, type ParsedAddress } from '../../contract/index.js';
import type { CommandRunner } from '../host/exec.js';
import { SharedRead } from './cache.js';

export interface Reachability {
  readonly v4: boolean;
  readonly v6: boolean;
}

export class GatewayProbe {
  readonly #read: SharedRead<Reachability>;

  constructor(
    private readonly runner: CommandRunner,
    cacheMs = 5000,
    private readonly timeoutSeconds = 1,
  ) {
    // The key is the pair of gateways itself, so a new pair is probed at once.
    this.#read = new SharedRead(
      cacheMs,
      async (key) => {
        const [v4, v6] = key.split('|').map((text) => (text ? parseAddress(text) : undefined));
        const [up4, up6] = await Promise.all([this.#ping(v4), this.#ping(v6)]);
        return { v4: up4, v6: up6 };
      },
      true,
    );
  }

  reachability(model: ConfigModel | undefined): Promise<Reachability> {
    const gateways = model ? defaultGateways(model) : undefined;
    return this.#read.get(`${gateways?.v4?.text ?? ''}|${gateways?.v6?.text ?? ''}`);
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
