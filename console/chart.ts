// Traffic graphs with uPlot: one chart per group (interfaces, floating IPs),
// a line in and a line out for each name, bytes per second over the last hour.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h, rate } from './dom.js';

type Rates = Readonly<Record<string, { readonly in: readonly (number | null)[]; readonly out: readonly (number | null)[] }>>;

const COLOURS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#65a30d'];

/** A chart of `rates` over `at` (seconds), or a line saying why there is none. */
export function trafficChart(title: string, at: readonly number[], rates: Rates, width: number): HTMLElement {
  const names = Object.keys(rates).sort();
  const box = h('figure', { class: 'chart', data: { chart: title } }, h('figcaption', {}, title));
  if (at.length < 2 || names.length === 0) {
    box.append(h('p', { class: 'muted' }, at.length < 2 ? 'Not enough samples yet: the orchestrator samples on each health poll.' : 'Nothing to show.'));
    return box;
  }
  const series: uPlot.Series[] = [{}];
  const data: (number | null)[][] = [[...at]];
  names.forEach((name, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    series.push({ label: `${name} in`, stroke: colour, width: 1.5, value: (_u, v) => (v === null ? '–' : rate(v)) });
    series.push({ label: `${name} out`, stroke: colour, dash: [4, 4], width: 1.5, value: (_u, v) => (v === null ? '–' : rate(v)) });
    data.push([...rates[name]!.in], [...rates[name]!.out]);
  });
  const options: uPlot.Options = {
    width,
    height: 180,
    series,
    axes: [{}, { size: 70, values: (_u, ticks) => ticks.map((t) => rate(t)) }],
    // The last hour, whatever the samples cover.
    scales: { x: { time: true, range: () => [at[at.length - 1]! - 3600, at[at.length - 1]!] }, y: { range: (_u, _min, max) => [0, Math.max(max, 1)] } },
    legend: { live: false },
  };
  new uPlot(options, data as uPlot.AlignedData, box);
  return box;
}
