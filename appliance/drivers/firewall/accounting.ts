// Per floating IP byte counters: the firewall writes one rule per direction
// (no target: the rule only counts) and GET /v1/system/stats reads their
// counters back from `iptables-save -c` and `ip6tables-save -c`. Both sides
// use this one definition, so the format cannot drift between them.
import type { FloatingIpModel } from '../../../contract/index.js';

export const FIP_ACCOUNTING_CHAIN = 'astara-fip-acct';

export type AccountingDirection = 'in' | 'out';

/** The two counting rules of one floating IP, as iptables-restore reads them (`-A chain ...`). */
export function accountingRules({ floating, fixed }: FloatingIpModel, externalIf: string): readonly string[] {
  const bits = fixed.family === 4 ? 32 : 128;
  return [
    `-A ${FIP_ACCOUNTING_CHAIN} -d ${fixed.text}/${bits} -i ${externalIf} -m comment --comment "${comment('in', floating.text, fixed.text)}"`,
    `-A ${FIP_ACCOUNTING_CHAIN} -s ${fixed.text}/${bits} -o ${externalIf} -m comment --comment "${comment('out', floating.text, fixed.text)}"`,
  ];
}

function comment(direction: AccountingDirection, floating: string, fixed: string): string {
  return `fip-${direction} ${floating} ${fixed}`;
}

export interface AccountingCounter {
  readonly direction: AccountingDirection;
  readonly floating: string;
  readonly fixed: string;
  readonly packets: number;
  readonly bytes: number;
}

// `[packets:bytes] -A astara-fip-acct ... --comment "fip-in FLOATING FIXED"`; the
// quotes are optional because iptables-save leaves them out of a comment without spaces.
const COUNTED_RULE = new RegExp(`^\\[(\\d+):(\\d+)\\] -A ${FIP_ACCOUNTING_CHAIN} .*--comment "?fip-(in|out) ([0-9a-fA-F.:]+) ([0-9a-fA-F.:]+)"?`);

/** The counter of one line of `iptables-save -c` (either family), or undefined for any other line. */
export function accountingCounter(line: string): AccountingCounter | undefined {
  const match = COUNTED_RULE.exec(line);
  if (!match) return undefined;
  const [, packets, bytes, direction, floating, fixed] = match;
  return { direction: direction as AccountingDirection, floating: floating!, fixed: fixed!, packets: Number(packets), bytes: Number(bytes) };
}

/** The commands that print the counters: one per family, since a floating IP may be IPv4 or IPv6. */
export const ACCOUNTING_READS: readonly (readonly string[])[] = [
  ['iptables-save', '-c', '-t', 'filter'],
  ['ip6tables-save', '-c', '-t', 'filter'],
];
