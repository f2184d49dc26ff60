// Per floating IP byte counters: the floating IPs' nftables table (nft.ts)
// holds one named counter per floating IP and direction, which its forward
// chain updates through a map from the fixed address; GET /v1/system/stats
// reads them back with one listing of the table's counters (the floating IPs'
// number of objects, not the whole ruleset), by the names nft.ts gives them.
import { FIP_TABLE, parseCounterName, type AccountingDirection } from './nft.js';

export interface AccountingCounter {
  readonly direction: AccountingDirection;
  readonly floating: string;
  readonly fixed: string;
  readonly packets: number;
  readonly bytes: number;
}

/** The command that prints the counters of both families (exit status 1 while the table does not exist). */
export const ACCOUNTING_READ: readonly string[] = ['nft', '-j', 'list', 'counters', 'table', 'inet', FIP_TABLE];

/** The floating IPs' counters in the JSON of ACCOUNTING_READ; other counters are ignored. */
export function accountingCounters(json: string): AccountingCounter[] {
  if (json.trim() === '') return [];
  const objects = (JSON.parse(json) as { nftables?: { counter?: { name?: unknown; packets?: unknown; bytes?: unknown } }[] }).nftables ?? [];
  return objects.flatMap(({ counter }) => {
    const named = counter && typeof counter.name === 'string' ? parseCounterName(counter.name) : undefined;
    if (!named || !counter) return [];
    return [{ ...named, packets: Number(counter.packets), bytes: Number(counter.bytes) }];
  });
}
