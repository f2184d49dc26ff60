// The host side of the ha subsystem: keepalived and conntrackd, children of
// the agent, each with its files under its own folder of the state
// directory, run by the daemon lifecycle of appliance/host/.
//
// keepalived runs in the foreground (-n), VRRP only (-P), logging to its
// output (-l -D, no syslog: -G), with its pid files in its folder. A new
// configuration is checked with `keepalived -t`, written, and loaded with
// SIGHUP (instances keep their state across a reload; an address or route
// added to a master's instance is set at once). Its state changes reach the
// agent through the FIFO `notify.fifo` (notify_fifo): no script runs.
//
// conntrackd runs in the foreground (its default). It has no configuration
// checker (only validated values are rendered into its file) and no reload:
// a change of its file restarts it. It refuses to start while the lock file
// of a killed copy remains, so the lock is removed before every start (the
// supervisor has ended any copy of ours by then). Commands (`conntrackd -C
// <conf> -c`...) reach the running daemon through its UNIX socket.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { daemonFolder, type DaemonDefinition } from '../../host/daemon-config.js';
import type { HaPaths } from './render.js';

export type KeepalivedFile = 'keepalived.conf';
export type ConntrackdFile = 'conntrackd.conf';

/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/**
 * Paths go into both files unquoted: a state directory with a blank, quote,
 * `#`, `!` or brace would end or change a directive, so such a directory is
 * refused when the agent starts.
 */
const PLAIN_PATH = /^\/[A-Za-z0-9_.,+@=/-]*$/;

export interface HaSettings extends HaPaths {
  readonly keepalivedConf: string;
  readonly conntrackdConf: string;
}

export function haSettings(stateDir: string): HaSettings {
  const keepalived = daemonFolder(stateDir, 'keepalived');
  const conntrackd = daemonFolder(stateDir, 'conntrackd');
  if (!PLAIN_PATH.test(keepalived.dir)) {
    throw new Error(`the state directory ${JSON.stringify(stateDir)} cannot be written into keepalived.conf: use one of letters, digits and _ . , + @ = / - only`);
  }
  // One letter: the agent's deepest control socket must stay BIRD's
  // (`bird/bird.ctl`), which the orchestrator's state_path check is built on;
  // `conntrackd/conntrackd.ctl` was 12 bytes deeper and kept appliances of
  // the local provider's default state_path from starting.
  const socket = join(conntrackd.dir, 'c');
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    throw new Error(`the conntrackd control socket path ${socket} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter state directory`);
  }
  return {
    fifo: join(keepalived.dir, 'notify.fifo'),
    lockFile: join(conntrackd.dir, 'conntrackd.lock'),
    socket,
    keepalivedConf: join(keepalived.dir, 'keepalived.conf'),
    conntrackdConf: join(conntrackd.dir, 'conntrackd.conf'),
  };
}

export function keepalivedDefinition(stateDir: string): DaemonDefinition<KeepalivedFile> {
  const folder = daemonFolder(stateDir, 'keepalived');
  const conf = join(folder.dir, 'keepalived.conf');
  return {
    folder,
    files: { 'keepalived.conf': 'reload' },
    argv: ['keepalived', '-n', '-P', '-l', '-D', '-G', '-f', conf, '-p', join(folder.dir, 'keepalived.pid'), '-r', join(folder.dir, 'vrrp.pid')],
    checker: { candidate: (files) => files['keepalived.conf'], argv: (candidate) => ['keepalived', '-t', '-f', candidate] },
    // Logged by the VRRP process once it runs the new configuration.
    reload: { signal: 'SIGHUP', confirmed: /Reload complete/ },
    ready: { logLine: /Startup complete/ },
  };
}

export function conntrackdDefinition(stateDir: string): DaemonDefinition<ConntrackdFile> {
  const folder = daemonFolder(stateDir, 'conntrackd');
  const { lockFile } = haSettings(stateDir);
  return {
    folder,
    files: { 'conntrackd.conf': 'restart' },
    argv: ['conntrackd', '-C', join(folder.dir, 'conntrackd.conf')],
    ready: { logLine: /starting in console mode/ },
    beforeStart: () => rm(lockFile, { force: true }),
  };
}

/**
 * What conntrackd is told when the pair's state changes, as the conntrackd
 * manual's primary-backup script does. Becoming master: commit the
 * connections the peer synchronised (the external cache) into the kernel,
 * flush both caches, resynchronise the internal cache with the kernel, and
 * send it all to the peer. Becoming backup: shorten the kernel's timers (the
 * connections this member served as master expire unless the new master's
 * updates keep them) and ask the master for a full resync. A fault: shorten
 * the timers.
 */
export function conntrackdCommands(state: 'MASTER' | 'BACKUP' | 'FAULT', conf: string): string[][] {
  const flags = state === 'MASTER' ? ['-c', '-f', '-R', '-B'] : state === 'BACKUP' ? ['-t', '-n'] : ['-t'];
  return flags.map((flag) => ['conntrackd', '-C', conf, flag]);
}

/** Ask the master for a full resync (what a backup's `-n` is). */
export function resyncRequest(conf: string): string[] {
  return ['conntrackd', '-C', conf, '-n'];
}
