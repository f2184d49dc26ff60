// Management bootstrap (spec section 7): at first boot the orchestrator hands
// the appliance the MAC and address of its management port; this configures
// that interface and records the address, so the agent (and sshd) listen
// there and nowhere else.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCidr, type ParsedCidr } from '../../contract/index.js';
import { writeFileAtomic } from '../engine/store.js';
import type { CommandRunner } from '../host/exec.js';
import type { IpLink } from '../host/interfaces.js';

export const DEFAULT_MANAGEMENT_MTU = 1280;

export interface ManagementRequest {
  readonly mac: string;
  readonly cidr: ParsedCidr;
  readonly mtu: number;
}

export interface ManagementRecord {
  readonly address: string;
  readonly prefix: number;
  readonly mac: string;
  readonly interface: string;
  readonly mtu: number;
}

export const managementRecordPath = (stateDir: string) => join(stateDir, 'management.json');

const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

/** Parse and check the command's arguments; throws with a message naming the bad one. */
export function parseManagementRequest(mac: string, addressWithPrefix: string, mtu: number): ManagementRequest {
  const normalisedMac = mac.toLowerCase();
  if (!MAC.test(normalisedMac)) throw new Error(`MAC: ${mac} is not a MAC address`);
  const cidr = parseCidr(addressWithPrefix);
  if (!cidr) throw new Error(`ADDRESS/PREFIX: ${addressWithPrefix} is not an address with a prefix length`);
  if (!Number.isInteger(mtu) || mtu < (cidr.family === 6 ? 1280 : 576) || mtu > 65535) {
    throw new Error(`--mtu: ${mtu} is not usable (${cidr.family === 6 ? 1280 : 576}-65535)`);
  }
  return { mac: normalisedMac, cidr, mtu };
}

/**
 * The management MAC and address from cloud-init user data, as the original
 * orchestrator wrote it: a cloud-config whose `bootcmd` runs the boot command
 * with `<mac> <address>/<prefix>` (as a string or as a list).
 */
export function parseUserData(text: string): { mac: string; address: string } {
  const lines = text.split(/\r?\n/);
  let inBootcmd = false;
  for (const line of lines) {
    if (/^bootcmd\s*:/.test(line)) {
      inBootcmd = true;
      continue;
    }
    if (inBootcmd && /^\S/.test(line)) inBootcmd = false;
    if (!inBootcmd) continue;
    const words = line
      .replace(/^\s*-\s*/, '')
      .replace(/[[\]"',]/g, ' ')
      .split(/\s+/)
      .filter(Boolean);
    for (let i = 0; i + 1 < words.length; i++) {
      if (MAC.test(words[i]!.toLowerCase()) && parseCidr(words[i + 1]!)) return { mac: words[i]!, address: words[i + 1]! };
    }
  }
  throw new Error('user data: no bootcmd entry with a management MAC and ADDRESS/PREFIX found');
}

/** Configure the interface and record the address. Returns the record. */
export async function configureManagement(runner: CommandRunner, stateDir: string, request: ManagementRequest): Promise<ManagementRecord> {
  const { stdout } = await runner.read(['ip', '-j', 'link', 'show']);
  const link = (JSON.parse(stdout) as IpLink[]).find((l) => l.address?.toLowerCase() === request.mac);
  if (!link) throw new Error(`no interface has the MAC ${request.mac}`);
  const dev = link.ifname;
  if (request.cidr.family === 6) {
    // DAD would keep the address tentative (unusable) for a second or more at boot.
    await writeFile(`/proc/sys/net/ipv6/conf/${dev}/accept_dad`, '0');
  }
  await runner.change(['ip', '-batch', '-'], {
    input: [
      `link set dev ${dev} mtu ${request.mtu} up`,
      `addr replace ${request.cidr.cidr} dev ${dev}${request.cidr.family === 6 ? ' nodad' : ''}`,
    ].join('\n') + '\n',
  });
  const record: ManagementRecord = { address: request.cidr.text, prefix: request.cidr.prefix, mac: request.mac, interface: dev, mtu: request.mtu };
  await writeFileAtomic(managementRecordPath(stateDir), `${JSON.stringify(record, null, 1)}\n`);
  return record;
}

/** The sshd drop-in that makes SSH listen on the management address only. */
export function sshdListenConfig(record: ManagementRecord): string {
  return `# Written by astara-configure-management: SSH on the management address only.\nListenAddress ${record.address}\n`;
}
