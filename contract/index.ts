// The configuration contract shared by the appliance agent and the
// orchestrator: schema, types, validation and the normalised model. It knows
// nothing of the agent's internals and touches no host.
// Types only: the TypeBox source (contract/schema.ts) is for building; at run
// time validation uses the generated plain schema.
export type * from './schema.js';
export * from './defaults.js';
export * from './limits.js';
export * from './hostname.js';
export * from './model.js';
export * from './ip.js';
export * from './validate.js';
