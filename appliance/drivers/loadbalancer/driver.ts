// The host side of the load balancer: one nginx, a child of the agent, with
// its config, pid file, temporary files and request logs under
// `<stateDir>/nginx/` (`-p` makes that its prefix, so nothing is written to
// /var), run by the daemon lifecycle of appliance/host/. A new configuration
// is checked with `nginx -t`, written, and loaded with SIGHUP: the master
// starts a new worker and tells the old one to stop accepting and finish
// what it serves. Every change can be loaded that way (nginx even loads the
// stream module on a reload), so nginx is never restarted to load one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { daemonFolder, type DaemonDefinition, type DaemonFiles } from '../../host/daemon-config.js';
import { nginxConfig, type LoadBalancerDesired, type NginxSettings } from './render.js';

export type NginxFile = 'nginx.conf';

/** Debian's libnginx-mod-stream (nginx-light has no TCP proxying without it). */
export const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

/** The workers' identity when the agent's user namespace has no `nobody` (hermetic tests, containers). */
const WORKERS_AS_ROOT = 'root root';
const WORKERS_AS_NOBODY = 'nobody nogroup';
const NOBODY_ID = 65534;

/**
 * Paths go into nginx.conf unquoted: a state directory with a space, quote,
 * brace, `;`, `#` or `$` would end or change a directive, so such a
 * directory is refused when the agent starts.
 */
const PLAIN_PATH = /^\/[A-Za-z0-9_.,+@=/-]*$/;

export function nginxSettings(stateDir: string, user: string): NginxSettings {
  const { dir } = daemonFolder(stateDir, 'nginx');
  if (!PLAIN_PATH.test(dir)) throw new Error(`the state directory ${JSON.stringify(stateDir)} cannot be written into nginx.conf: use one of letters, digits and _ . , + @ = / - only`);
  return {
    dir,
    user,
    pidFile: join(dir, 'nginx.pid'),
    tempDir: dir,
    streamModule: STREAM_MODULE,
    requestLog: (port) => join(dir, `requests-${port}.log`),
  };
}

export function nginxDefinition(stateDir: string): DaemonDefinition<NginxFile> {
  const folder = daemonFolder(stateDir, 'nginx');
  // -e: nginx's own log until the configuration's error_log takes over, whatever the build's default.
  const common = ['-p', `${folder.dir}/`, '-e', 'stderr'];
  return {
    folder,
    files: { 'nginx.conf': 'reload' },
    argv: ['nginx', ...common, '-c', join(folder.dir, 'nginx.conf'), '-g', 'daemon off;'],
    checker: { candidate: (files) => checkable(files['nginx.conf']), argv: (candidate) => ['nginx', '-t', '-q', ...common, '-c', candidate] },
    // Logged by the old worker once it has closed its listening sockets: from then on only the new configuration answers.
    reload: { signal: 'SIGHUP', confirmed: /gracefully shutting down/ },
    // The master binds every listener before it starts its worker: a port it cannot take ends it first.
    ready: { logLine: /start worker process \d+/ },
  };
}

/**
 * What `nginx -t` reads: the configuration with every listening address
 * replaced by the loopback address of its family. `nginx -t` binds each
 * listening address, and the VIP is not on the host yet when a first
 * document is checked (nothing is applied before every check has passed);
 * the VIP itself was parsed and written by the agent, never taken as text.
 */
export function checkable(config: string): string {
  return config.replace(/^(\s*listen )(\[[0-9a-f:.]+\]|[0-9.]+)(:\d+;)$/gm, (_line, start: string, address: string, rest: string) => `${start}${address.startsWith('[') ? '[::1]' : '127.0.0.1'}${rest}`);
}

/** nginx's file for a desired state and the members held down; undefined when no nginx runs. */
export function nginxFiles(desired: LoadBalancerDesired, down: ReadonlySet<string>, settings: NginxSettings): DaemonFiles<NginxFile> | undefined {
  return desired.plan && { 'nginx.conf': nginxConfig(desired.plan, down, settings) };
}

/**
 * Who nginx's workers run as: `nobody` where the agent's user namespace maps
 * it (a real appliance), else root, since a worker that cannot take its
 * identity exits at once and the master starts another, endlessly.
 */
export function workerUser(uidMap = readMap('/proc/self/uid_map'), gidMap = readMap('/proc/self/gid_map')): string {
  return maps(uidMap, NOBODY_ID) && maps(gidMap, NOBODY_ID) ? WORKERS_AS_NOBODY : WORKERS_AS_ROOT;
}

function readMap(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Whether an id map (`inside outside count` per line) holds `id` inside the namespace. */
function maps(map: string, id: number): boolean {
  return map.split('\n').some((line) => {
    const [inside, , count] = line.trim().split(/\s+/).map(Number);
    return inside !== undefined && count !== undefined && id >= inside && id < inside + count;
  });
}
