// `astara-configure-management`: the first-boot command.
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_STATE_DIR } from '../../contract/index.js';
import { writeFileAtomic } from '../engine/store.js';
import { CommandRunner } from '../host/exec.js';
import { configureManagement, DEFAULT_MANAGEMENT_MTU, parseManagementRequest, parseUserData, sshdListenConfig } from './configure.js';

interface Options {
  stateDir: string;
  mtu: number;
  fromUserData?: string;
  sshdConfig?: string;
}

export function buildProgram(): Command {
  return new Command('astara-configure-management')
    .description(
      'Configure the management interface at first boot: find the interface with MAC, bring it up, set its MTU and ADDRESS/PREFIX ' +
        '(IPv6 without duplicate address detection), and record the address for astara-appliance serve.',
    )
    .argument('[mac]', 'MAC address of the management interface')
    .argument('[address]', 'ADDRESS/PREFIX to configure on it')
    .option('--state-dir <dir>', 'state directory of the agent (where the address is recorded)', DEFAULT_STATE_DIR)
    .option('--mtu <n>', 'MTU of the management interface', (v) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a number');
      return Number(v);
    }, DEFAULT_MANAGEMENT_MTU)
    .option('--from-user-data <file>', 'read MAC and ADDRESS/PREFIX from cloud-init user data (config drive or NoCloud) instead')
    .option('--sshd-config <file>', 'also write an sshd config file with ListenAddress set to the management address')
    .action(async (mac: string | undefined, address: string | undefined, options: Options) => {
      if (options.fromUserData) {
        if (mac || address) throw new Error('give either MAC ADDRESS/PREFIX or --from-user-data, not both');
        ({ mac, address } = parseUserData(await readFile(options.fromUserData, 'utf8')));
      }
      if (!mac || !address) throw new Error('MAC and ADDRESS/PREFIX are required (or --from-user-data FILE)');
      const request = parseManagementRequest(mac, address, options.mtu);
      const record = await configureManagement(new CommandRunner(), options.stateDir, request);
      if (options.sshdConfig) await writeFileAtomic(options.sshdConfig, sshdListenConfig(record));
      console.log(`management: ${record.address}/${record.prefix} on ${record.interface} (${record.mac}), MTU ${record.mtu}`);
    });
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
