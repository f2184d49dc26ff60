// A DHCPv4 client in a guest namespace: ISC dhclient with its own config,
// lease and pid files under the topology's directory and a private script
// (dhclient-script.sh) that only sets the address and default route. It never
// reads /etc/dhcp nor writes /etc/resolv.conf.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO } from './agent.js';
import { waitFor } from './exec.js';
import { alive, signal, type Topology } from './topology.js';

const SCRIPT = join(REPO, 'test/harness/dhclient-script.sh');

/** The last lease dhclient recorded: its address and options, values as dhclient writes them. */
export interface Lease {
  readonly address: string;
  readonly options: Readonly<Record<string, string>>;
}

export interface LeaseAttempt {
  /** 0 when a lease was bound; dhclient -1 exits 2 when none came within the timeout. */
  readonly exitCode: number;
  readonly lease: Lease | undefined;
  readonly ms: number;
}

export class DhcpClient {
  readonly leaseFile: string;
  readonly pidFile: string;
  readonly configFile: string;

  constructor(
    readonly topology: Topology,
    readonly role: string,
    readonly ifname = 'eth0',
  ) {
    const base = join(topology.dir, `dhclient-${role}-${ifname}`);
    this.leaseFile = `${base}.leases`;
    this.pidFile = `${base}.pid`;
    this.configFile = `${base}.conf`;
  }

  /**
   * Run `dhclient -4 -1` once: it asks (or, with a lease on file, re-asks
   * for that address, as a renewing guest does) and exits 0 once bound,
   * leaving a copy in the background to keep the lease, or exits 2 after
   * `timeoutS` seconds without one. A client still running from an earlier
   * call is stopped first.
   */
  async lease(timeoutS = 5): Promise<LeaseAttempt> {
    await this.stop();
    await writeFile(
      this.configFile,
      [
        'option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;',
        `timeout ${timeoutS};`,
        'initial-interval 1;',
        'request subnet-mask, broadcast-address, routers, domain-name-servers, host-name, interface-mtu, rfc3442-classless-static-routes;',
        '',
      ].join('\n'),
    );
    const started = performance.now();
    const result = await this.topology.exec(
      this.role,
      ['dhclient', '-4', '-1', '-cf', this.configFile, '-sf', SCRIPT, '-lf', this.leaseFile, '-pf', this.pidFile, this.ifname],
      { allowFailure: true, timeoutMs: (timeoutS + 10) * 1000 },
    );
    const ms = Math.round(performance.now() - started);
    return { exitCode: result.exitCode, lease: result.exitCode === 0 ? await this.lastLease() : undefined, ms };
  }

  /** The last lease in the lease file, if any. */
  async lastLease(): Promise<Lease | undefined> {
    const text = await readFile(this.leaseFile, 'utf8').catch(() => '');
    const block = text.split(/^lease \{$/m).pop();
    if (!block || block === text) return undefined;
    const address = /^\s*fixed-address (\S+);$/m.exec(block)?.[1];
    if (!address) return undefined;
    const options: Record<string, string> = {};
    for (const match of block.matchAll(/^\s*option (\S+) (.*);$/gm)) options[match[1]!] = match[2]!.replace(/^"(.*)"$/, '$1');
    return { address, options };
  }

  /**
   * End the background dhclient by its pid, keeping the address (no release
   * is sent). SIGKILL: dhclient takes about 1.5 s to act on SIGTERM, and a
   * guest's client has nothing to clean up.
   */
  async stop(): Promise<void> {
    const pid = Number((await readFile(this.pidFile, 'utf8').catch(() => '')).trim());
    if (!pid || !alive(pid)) return;
    // Only our own client: a stale pid file may name a recycled pid.
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.split('\0').includes(this.pidFile)) return;
    signal(pid, 'SIGKILL');
    await waitFor(`dhclient ${pid} to exit`, () => !alive(pid), 5000);
  }
}
