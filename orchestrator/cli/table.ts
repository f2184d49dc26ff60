// Plain-text tables for astara-ctl: `list`, `show`, `workers debug` and the
// browse console all print resources the same way.
import type { DebugView, PushView, ResourceView } from '../core/control.js';

export interface Column {
  readonly title: string;
  /** Set on columns that may be cut (with an ellipsis) down to this width when the table is too wide. */
  readonly minWidth?: number;
}

const GAP = '  ';

/** The header line, then one line per row; cells padded to their column, cut to `maxWidth`. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[], maxWidth = Number.POSITIVE_INFINITY): string[] {
  const widths = columns.map((column, i) => Math.max(column.title.length, ...rows.map((row) => (row[i] ?? '').length)));
  let excess = widths.reduce((sum, w) => sum + w, 0) + GAP.length * (columns.length - 1) - maxWidth;
  // One character at a time from the column with the most room above its minimum: the cut spreads evenly.
  const room = (i: number) => widths[i]! - (columns[i]!.minWidth ?? widths[i]!);
  while (excess > 0) {
    let roomiest = -1;
    for (let i = 0; i < columns.length; i++) if (room(i) > 0 && (roomiest === -1 || room(i) > room(roomiest))) roomiest = i;
    if (roomiest === -1) break;
    widths[roomiest]! -= 1;
    excess -= 1;
  }
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => fit(cell, widths[i]!))
      .join(GAP)
      .trimEnd()
      .slice(0, maxWidth);
  return [line(columns.map((c) => c.title)), ...rows.map(line)];
}

function fit(cell: string, width: number): string {
  if (cell.length <= width) return cell.padEnd(width);
  return width <= 1 ? cell.slice(0, width) : `${cell.slice(0, width - 1)}…`;
}

/** `label: value` lines with the values aligned. */
export function renderPairs(pairs: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(0, ...pairs.map(([label]) => label.length + 1));
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value}`.trimEnd());
}

/** How long ago `at` was, in the largest whole unit: `42s`, `5m`, `3h`, `2d`. */
export function formatAge(at: string, now: number): string {
  const then = Date.parse(at);
  if (Number.isNaN(then)) return at;
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

export function lastPushText(push: PushView | null, now: number): string {
  if (!push) return '-';
  return `${push.ok ? 'ok' : 'failed'} ${formatAge(push.at, now)} ago`;
}

export function debugText(debug: DebugView): string {
  return debug.enabled ? (debug.scope ?? 'yes') : '-';
}

export function applianceAddresses(resource: ResourceView): string {
  const addresses = resource.appliances.map((a) => a.management_address).filter((a): a is string => a !== null);
  return addresses.length > 0 ? addresses.join(',') : '-';
}

export interface ResourceTableOptions {
  /** The console leaves the driver out: its rows are narrow and nearly every resource is a router. */
  readonly withDriver: boolean;
  readonly maxWidth?: number;
}

export function resourceTable(resources: readonly ResourceView[], now: number, options: ResourceTableOptions): string[] {
  const clustered = resources.some((r) => r.owner);
  const columns: Column[] = [
    { title: 'ID', minWidth: 8 },
    ...(options.withDriver ? [{ title: 'DRIVER' }] : []),
    { title: 'TENANT', minWidth: 8 },
    { title: 'STATE' },
    { title: 'INSTANCE' },
    { title: 'ADDRESS', minWidth: 12 },
    { title: 'LAST PUSH' },
    { title: 'DEBUG' },
    // Clustered, each row's owner (this member: an orchestrator lists only what it owns).
    ...(clustered ? [{ title: 'OWNER' }] : []),
  ];
  const rows = resources.map((r) => [
    r.id,
    ...(options.withDriver ? [r.driver] : []),
    r.tenant_id,
    r.state,
    r.instance_state,
    applianceAddresses(r),
    lastPushText(r.last_push, now),
    debugText(r.debug),
    ...(clustered ? [r.owner ?? '-'] : []),
  ]);
  return renderTable(columns, rows, options.maxWidth);
}
