// The defaults of the appliance and its contract, in one place: the agent,
// its drivers, the orchestrator and the tests import them from here.

/** TCP port of the agent's v1 API. */
export const DEFAULT_API_PORT = 5000;
/** Where the agent keeps everything it writes (documents, daemon files, leases). */
export const DEFAULT_STATE_DIR = '/var/lib/astara';
/** The orchestrator's metadata port (`orchestrator.metadata_port` when absent). */
export const DEFAULT_METADATA_PORT = 9697;
/** The orchestrator's address on the management network (`orchestrator.address` when absent). */
export const DEFAULT_METADATA_ADDRESS = 'fdca:3ba5:a17a:acda::1';
export const DEFAULT_ASN = 64512;
export const DEFAULT_HA_PRIORITY = 100;
