// The configuration contract shared by the appliance agent and the
// orchestrator: schema, types, validation and the normalised model. It knows
// nothing of the agent's internals and touches no host.
export * from './schema.js';
export * from './model.js';
export * from './ip.js';
export * from './validate.js';
