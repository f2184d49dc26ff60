// The host side of DHCP: one supervised dnsmasq in the foreground, with its
// files under `<stateDir>/dnsmasq/`, run by the daemon lifecycle of
// appliance/host/. The files on disk are the record of what dnsmasq serves:
// a changed main config restarts it, changed hosts or options files are
// re-read on SIGHUP, and an unchanged set runs nothing.
import { join } from 'node:path';
import { daemonFolder, type DaemonDefinition, type DaemonFiles } from '../../host/daemon-config.js';
import type { DhcpDesired, DnsmasqPaths } from './render.js';

export type DnsmasqFile = 'dnsmasq.conf' | 'hosts' | 'options';

export function dnsmasqPaths(stateDir: string): DnsmasqPaths {
  const { dir } = daemonFolder(stateDir, 'dnsmasq');
  return { hosts: join(dir, 'hosts'), options: join(dir, 'options'), leases: join(dir, 'leases') };
}

export function dnsmasqDefinition(stateDir: string): DaemonDefinition<DnsmasqFile> {
  const folder = daemonFolder(stateDir, 'dnsmasq');
  const { options } = dnsmasqPaths(stateDir);
  return {
    folder,
    // dnsmasq re-reads the hosts and options files on SIGHUP; the ranges and
    // interfaces of the main config need a new process.
    files: { 'dnsmasq.conf': 'restart', hosts: 'reload', options: 'reload' },
    argv: ['dnsmasq', '--keep-in-foreground', `--conf-file=${join(folder.dir, 'dnsmasq.conf')}`],
    checker: {
      // `dnsmasq --test` parses only the file it is given: the host and option
      // lines go into it as the directives they stand for.
      candidate: (files) =>
        [files['dnsmasq.conf'], ...nonEmpty(files.hosts).map((line) => `dhcp-host=${line}`), ...nonEmpty(files.options).map((line) => `dhcp-option=${line}`), ''].join('\n'),
      argv: (candidate) => ['dnsmasq', '--test', `--conf-file=${candidate}`],
    },
    // dnsmasq reads the hosts file just before the options file: once it has
    // logged reading the options, both are live.
    reload: { signal: 'SIGHUP', confirmed: new RegExp(`: read ${escapeRegExp(options)}$`, 'm') },
    // Logged once its sockets are open; it exits first for an interface it cannot use.
    ready: { logLine: /dnsmasq\[\d+\]: started, version/ },
  };
}

/** The daemon's files for a rendered state; undefined when no dnsmasq runs. */
export function dnsmasqFiles(desired: DhcpDesired): DaemonFiles<DnsmasqFile> | undefined {
  if (desired.config === undefined) return undefined;
  return { 'dnsmasq.conf': desired.config, hosts: desired.hosts, options: desired.options };
}

function nonEmpty(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
