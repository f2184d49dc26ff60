// The host side of the routing subsystem: one BIRD 2, a child of the agent,
// with its config, control socket, pid file and log under `<stateDir>/bird/`,
// run by the daemon lifecycle of appliance/host/. A new configuration is
// checked with `bird -p`, written, and loaded with `birdc configure` (BIRD
// restarts only the protocols whose settings changed); the process itself is
// started only when it is not running, and is never restarted to load a
// configuration.
import { connect } from 'node:net';
import { join } from 'node:path';
import { daemonFolder, type DaemonDefinition } from '../../host/daemon-config.js';

export type BirdFile = 'bird.conf';

/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export function birdDefinition(stateDir: string): DaemonDefinition<BirdFile> {
  const folder = daemonFolder(stateDir, 'bird');
  const socket = join(folder.dir, 'bird.ctl');
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    throw new Error(`the BIRD control socket path ${socket} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter state directory`);
  }
  return {
    folder,
    files: { 'bird.conf': 'reload' },
    // -P: BIRD's own pid file; the supervisor keeps its record beside it.
    argv: ['bird', '-f', '-c', join(folder.dir, 'bird.conf'), '-s', socket, '-P', join(folder.dir, 'bird.pid')],
    checker: { candidate: (files) => files['bird.conf'], argv: (candidate) => ['bird', '-p', '-c', candidate] },
    reload: {
      command: ['birdc', '-s', socket, 'configure'],
      // Success is "Reconfigured", or "Reconfiguration in progress" while old protocols shut down.
      accepted: (result) => result.exitCode === 0 && /Reconfigur/.test(result.stdout),
    },
    // Ready when the control socket greets, as birdc needs.
    ready: { probe: () => greets(socket) },
  };
}

/** Whether BIRD answers on its control socket (its greeting starts with `0001 `). */
export function greets(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('0001 ')));
    socket.once('error', () => done(false));
  });
}
