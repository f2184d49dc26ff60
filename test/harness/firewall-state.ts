// The floating IPs' nftables table of a lab's router as the tests compare it:
// what the agent's live-state fingerprint reads (counters' values, handles
// and the order nft lists elements in left out), empty while there is none.
import { LIVE_STATE_READS, normaliseRead } from '../../appliance/host/live-state.js';
import type { Topology } from './topology.js';

const NFT_READ = LIVE_STATE_READS.find((argv) => argv[0] === 'nft')!;

export async function floatingIpTable(lab: Topology, role = 'router'): Promise<string> {
  const listing = await lab.exec(role, [...NFT_READ], { allowFailure: true });
  return normaliseRead(NFT_READ, listing.exitCode === 0 ? listing.stdout : '');
}
