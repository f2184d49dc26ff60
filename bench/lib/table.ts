// The one table the suite prints, and the same rows as JSON.

export type Verdict = 'ok' | 'MISSED' | 'info';

export interface Row {
  readonly section: string;
  readonly figure: string;
  /** The measured value, as shown. */
  readonly value: string;
  /** The number behind `value` (ms, requests/s, MiB, ratio...), for the JSON. */
  readonly number?: number;
  readonly unit?: string;
  readonly target: string;
  /** A ratio (agent/floor, value/target...) or a short note, shown beside the verdict. */
  readonly ratio: string;
  readonly verdict: Verdict;
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  if (value >= 100) return `${Math.round(value)} ms`;
  return `${value.toFixed(1)} ms`;
}

export function num(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a';
}

export function render(rows: readonly Row[]): string {
  const header = ['figure', 'value', 'target', 'ratio / verdict'];
  const cells = rows.map((r) => [r.figure, r.value, r.target, [r.ratio, r.verdict === 'info' ? '' : r.verdict].filter(Boolean).join(' ')]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`];
  let section = '';
  for (const [i, row] of rows.entries()) {
    if (row.section !== section) {
      section = row.section;
      out.push(line([`**${section}**`, '', '', '']));
    }
    out.push(line(cells[i]!));
  }
  return out.join('\n');
}
