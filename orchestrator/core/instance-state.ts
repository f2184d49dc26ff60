// The states an appliance (a resource's instances) can be in, as the original's
// astara/drivers/states.py named them, and the face of the instance manager
// the state machine drives.

export const DOWN = 'down';
export const BOOTING = 'booting';
export const UP = 'up';
export const CONFIGURED = 'configured';
export const RESTART = 'restart';
export const REPLUG = 'replug';
export const GONE = 'gone';
export const ERROR = 'error';
export const DEGRADED = 'degraded';

export type InstanceState =
  | typeof DOWN
  | typeof BOOTING
  | typeof UP
  | typeof CONFIGURED
  | typeof RESTART
  | typeof REPLUG
  | typeof GONE
  | typeof ERROR
  | typeof DEGRADED;

export const INSTANCE_STATES: readonly InstanceState[] = [DOWN, BOOTING, UP, CONFIGURED, RESTART, REPLUG, GONE, ERROR, DEGRADED];

/**
 * What the state machine needs from the instance manager (the original's
 * InstanceManager). Every method may do I/O; each one that changes `state`
 * also returns it.
 */
export interface InstanceManagerApi {
  /** The current state; every method below may change it. */
  readonly state: InstanceState;
  /** Boot attempts since the last success, clear_error or rebuild. */
  readonly attempts: number;
  /** True while in ERROR and less than `error_state_cooldown` seconds have passed since the error. */
  readonly errorCooldown: boolean;
  /** Refresh from the providers and the appliances themselves. */
  updateState(): Promise<InstanceState>;
  /** Start booting the missing instances (counts an attempt unless DEGRADED). */
  boot(): Promise<void>;
  /** Stop every instance and delete the ports made for it. */
  stop(): Promise<InstanceState>;
  /** Build and push the document to every live instance. */
  configure(): Promise<InstanceState>;
  /** Plug and unplug interfaces so the instances match the resource's networks. */
  replug(): Promise<InstanceState>;
  setError(): Promise<void>;
  clearError(): Promise<void>;
  resetBootCounter(): void;
  /** The image the next boot uses (REBUILD may name another one). */
  imageId: string | undefined;
}
