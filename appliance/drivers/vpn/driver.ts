// The host side of the VPN: one strongSwan charon, a child of the agent,
// with its strongswan.conf, swanctl.conf, vici socket and log under
// `<stateDir>/strongswan/`, run by the daemon lifecycle of appliance/host/.
// charon reads only that strongswan.conf (STRONGSWAN_CONF), never /etc's
// and never the legacy ipsec.conf; connections and secrets reach it over
// vici with `swanctl --load-all`, which is also how a changed swanctl.conf
// is loaded (charon keeps running and only the changed connections move).
//
// There is no checker for a candidate swanctl.conf short of a second charon
// (swanctl parses its file only once connected to one): the file is valid by
// construction instead, every value coming from the contract's closed sets
// or its patterns, and render.ts refusing what strongSwan could not take.
//
// The data path: the kernel's IPsec (xfrm) where the kernel has ESP; where
// it has not (`ip xfrm state add ... proto esp` fails), strongSwan's
// userspace kernel-libipsec, loaded before kernel-netlink: it carries ESP in
// UDP 4500 and hands decrypted traffic to the TUN device `ipsec0`, routed
// through table 220.
import { connect } from 'node:net';
import { join } from 'node:path';
import { daemonFolder, type DaemonDefinition } from '../../host/daemon-config.js';
import { runProcess, type CommandRunner } from '../../host/exec.js';
import { compileTemplate } from '../../host/template.js';
import { strongswanConfTemplate } from './strongswan.conf.hbs.js';

export type StrongswanFile = 'strongswan.conf' | 'swanctl.conf';
export type DataPath = 'kernel' | 'libipsec';

export const CHARON = '/usr/lib/ipsec/charon';
/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;
/** Paths go into strongswan.conf unquoted. */
const PLAIN_PATH = /^\/[A-Za-z0-9_.,+@=/-]*$/;

const COMMON_PLUGINS = ['random', 'nonce', 'openssl', 'aes', 'sha1', 'sha2', 'hmac', 'gmp', 'kdf', 'pem', 'pkcs1', 'pubkey', 'x509'];
const PLUGINS: Readonly<Record<DataPath, readonly string[]>> = {
  kernel: [...COMMON_PLUGINS, 'kernel-netlink', 'socket-default', 'vici'],
  libipsec: [...COMMON_PLUGINS, 'kernel-libipsec', 'kernel-netlink', 'socket-default', 'vici'],
};

/** IKE retransmissions before a silent peer is given up: with a fixed interval, their sum is the DPD timeout. */
const RETRANSMIT_TRIES = 4;
/** charon's own default interval (seconds) when no DPD timeout bounds it. */
const DEFAULT_RETRANSMIT_TIMEOUT = 4;

export interface StrongswanPaths {
  readonly dir: string;
  readonly conf: string;
  readonly swanctl: string;
  readonly vici: string;
  readonly uri: string;
}

export function strongswanPaths(stateDir: string): StrongswanPaths {
  const { dir } = daemonFolder(stateDir, 'strongswan');
  // One letter: the agent's deepest control socket must stay BIRD's
  // (`bird/bird.ctl`), which the orchestrator's state_path check is built on.
  const vici = join(dir, 'v');
  if (!PLAIN_PATH.test(dir)) throw new Error(`the state directory ${JSON.stringify(stateDir)} cannot be written into strongswan.conf: use letters, digits and _ . , + @ = / - only`);
  if (Buffer.byteLength(vici) > MAX_SOCKET_PATH) throw new Error(`the vici socket path ${vici} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter state directory`);
  return { dir, conf: join(dir, 'strongswan.conf'), swanctl: join(dir, 'swanctl.conf'), vici, uri: `unix://${vici}` };
}

/** `swanctl` against this agent's charon. */
export function swanctl(paths: StrongswanPaths, ...args: string[]): string[] {
  return ['swanctl', ...args, '--uri', paths.uri];
}

export function loadAll(paths: StrongswanPaths): string[] {
  return swanctl(paths, '--load-all', '--noprompt', '--file', paths.swanctl);
}

export function strongswanDefinition(stateDir: string): DaemonDefinition<StrongswanFile> {
  const folder = daemonFolder(stateDir, 'strongswan');
  const paths = strongswanPaths(stateDir);
  return {
    folder,
    files: { 'strongswan.conf': 'restart', 'swanctl.conf': 'reload' },
    argv: ['env', `STRONGSWAN_CONF=${paths.conf}`, CHARON],
    reload: { command: loadAll(paths), accepted: (result) => result.exitCode === 0 },
    ready: { probe: () => servesConnections(paths) },
  };
}

/**
 * charon is ready once its vici socket accepts and it holds the connections
 * of swanctl.conf. A charon started afresh holds none: this loads them, so
 * that one the supervisor restarts after a crash brings its tunnels back
 * (start actions and all) without waiting for a new document. The apply that
 * started charon loads them again and reports a failure; loading twice
 * changes nothing, so the outcome here does not decide readiness.
 */
async function servesConnections(paths: StrongswanPaths): Promise<boolean> {
  if (!(await accepts(paths.vici))) return false;
  await runProcess(loadAll(paths), { allowFailure: true });
  return true;
}

const strongswanConfFile = compileTemplate<{ plugins: string; viciSocket: string; retransmitTries: number; retransmitTimeout: number }>(strongswanConfTemplate);

/** Pure: charon's strongswan.conf for a data path and the smallest DPD timeout (seconds). */
export function strongswanConf(paths: StrongswanPaths, dataPath: DataPath, dpdTimeout: number | undefined): string {
  const retransmitTimeout = dpdTimeout === undefined ? DEFAULT_RETRANSMIT_TIMEOUT : Math.max(1, Math.floor(dpdTimeout / (RETRANSMIT_TRIES + 1)));
  return strongswanConfFile({ plugins: PLUGINS[dataPath].join(' '), viciSocket: paths.vici, retransmitTries: RETRANSMIT_TRIES, retransmitTimeout });
}

/** A throwaway ESP state, added and deleted again: the kernel takes it only when it has ESP. */
const PROBE_STATE = ['src', '192.0.2.254', 'dst', '192.0.2.253', 'proto', 'esp', 'spi', '0x7a57a7a5'];

export async function detectDataPath(runner: CommandRunner): Promise<DataPath> {
  const added = await runner.change(
    ['ip', 'xfrm', 'state', 'add', ...PROBE_STATE, 'enc', 'cbc(aes)', '0x000102030405060708090a0b0c0d0e0f', 'auth', 'hmac(sha1)', '0x000102030405060708090a0b0c0d0e0f10111213'],
    { allowFailure: true },
  );
  if (added.exitCode !== 0) return 'libipsec';
  await runner.change(['ip', 'xfrm', 'state', 'delete', ...PROBE_STATE.slice(0, 4), 'proto', 'esp', 'spi', '0x7a57a7a5'], { allowFailure: true });
  return 'kernel';
}

/** Whether charon accepts connections on its vici socket. */
export function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
