/**
 * The benchmarks' pictures: one SVG line chart of a run's table (a measure against a load, one line per strategy),
 * written next to the docs that show it, with the machine it ran on in its subtitle. Drawn by Vega-Lite, rendered
 * to SVG by Vega in Node (renderer 'none': no canvas, no browser).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Where `npm run bench:*` writes its chart: docs/charts/<name>.svg, shown by docs/benchmarks.md. */
export const chartPath = (name: string) => `docs/charts/${name}.svg`;

export interface LineChart {
  /** The chart's file name under docs/charts/, without .svg. */
  name: string;
  title: string;
  /** The run's conditions, printed under the title before the machine's. */
  conditions: string;
  rows: Array<Record<string, unknown>>;
  /** The load axis (e.g. clients), drawn on a log scale when it spans a factor of 8 or more. */
  x: { field: string; title: string };
  y: { field: string; title: string };
  /** The field that names each line. */
  series: string;
}

/** This machine as a reader of the chart needs it: cores, CPU model, the load while it ran. */
export function machine(): string {
  const cores = cpus();
  return `${cores.length} × ${cores[0]?.model.trim() ?? 'unknown CPU'}, load ${loadavg().map((load) => load.toFixed(1)).join(' ')}`;
}

export function lineChartSpec(chart: LineChart): TopLevelSpec {
  const xs = chart.rows.map((row) => Number(row[chart.x.field]));
  const logScale = Math.max(...xs) / Math.min(...xs) >= 8;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: chart.title, subtitle: [chart.conditions, machine()], anchor: 'start' },
    width: 560,
    height: 300,
    background: 'white',
    data: { values: chart.rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: {
        field: chart.x.field,
        type: 'quantitative',
        title: chart.x.title,
        scale: logScale ? { type: 'log', base: 2 } : { zero: false },
        axis: { values: [...new Set(xs)] },
      },
      y: { field: chart.y.field, type: 'quantitative', title: chart.y.title },
      color: { field: chart.series, type: 'nominal', title: null, legend: { orient: 'bottom', columns: 1, labelLimit: 400 } },
      tooltip: [{ field: chart.series }, { field: chart.x.field }, { field: chart.y.field }],
    },
  };
}

export async function lineChartSvg(chart: LineChart): Promise<string> {
  const view = new vega.View(vega.parse(compile(lineChartSpec(chart)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders the chart to SVG and writes it to docs/charts/; returns the path. */
export async function writeLineChart(chart: LineChart): Promise<string> {
  const svg = await lineChartSvg(chart);
  const path = chartPath(chart.name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, svg);
  return path;
}
