// The metadata proxy as a subsystem of the apply engine: it runs inside the
// agent process, so applying is a map swap, not a daemon reload. What guests
// may reach of it is its firewall contribution (firewall.ts).
import { isDeepStrictEqual } from 'node:util';
import type { Subsystem } from '../../engine/subsystem.js';
import type { DriverEnvironment } from '../index.js';
import { metadataFirewall } from './firewall.js';
import { MetadataProxy } from '../../metadata-proxy/proxy.js';
import { metadataProxyState, type MetadataProxyState } from '../../metadata-proxy/state.js';

export function createMetadataSubsystem(env: DriverEnvironment): Subsystem<MetadataProxyState> & { readonly proxy: MetadataProxy } {
  const proxy = new MetadataProxy({ logger: env.logger.child({ subsystem: 'metadata-proxy' }) });
  const empty: MetadataProxyState = { upstream: '', listeners: [] };

  const update = async (desired: MetadataProxyState) => {
    const outcome = await proxy.update(desired);
    if (outcome.failed.length > 0) {
      throw new Error(`cannot listen on ${outcome.failed.map((f) => `${f.listener} (${f.error})`).join(', ')}`);
    }
  };

  return {
    name: 'metadata-proxy',
    proxy,
    render: (model) => metadataProxyState(model),
    firewall: (desired, _model, host) => metadataFirewall(desired, host),
    async apply(desired) {
      const previous = proxy.desired ?? empty;
      if (isDeepStrictEqual(previous, desired)) return { changed: false };
      try {
        await update(desired);
      } catch (error) {
        await proxy.update(previous);
        throw error;
      }
      return { changed: true, undo: () => update(previous) };
    },
    stop: () => proxy.close(),
  };
}
