// The metadata proxy (spec section 6): desired state from the model, and the proxy itself.
export { METADATA_PORT_BASE, metadataProxyState, parseMetadataProxyState, upstreamUrl } from './state.js';
export type { MetadataListenerState, MetadataProxyState } from './state.js';
export { MetadataProxy } from './proxy.js';
export type { MetadataListenerStatus, MetadataProxyOptions, MetadataProxyUpdate } from './proxy.js';
