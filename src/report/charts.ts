// Report charts rendered on the server to SVG strings (echarts server-side rendering), so the report
// is one self-contained file: PR curves per class, per-class AP bars, the confusion matrix heatmap.
// Figures printed in the charts use formatFigure, the same text the metric tables show.
import { init, use, type ComposeOption } from 'echarts/core';
import { BarChart, HeatmapChart, LineChart, type BarSeriesOption, type HeatmapSeriesOption, type LineSeriesOption } from 'echarts/charts';
import {
  GridComponent, LegendComponent, TitleComponent, VisualMapComponent,
  type GridComponentOption, type LegendComponentOption, type TitleComponentOption, type VisualMapComponentOption,
} from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import type { ConfusionMatrix, PrCurve } from '../eval/types.js';

use([LineChart, BarChart, HeatmapChart, GridComponent, LegendComponent, TitleComponent, VisualMapComponent, SVGRenderer]);

type ChartOption = ComposeOption<LineSeriesOption | BarSeriesOption | HeatmapSeriesOption | GridComponentOption | LegendComponentOption | TitleComponentOption | VisualMapComponentOption>;

/** A figure as the report prints it: 4 decimals, 'n/a' where undefined. */
export function formatFigure(value: number | null | undefined): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(4) : 'n/a';
}

const FONT = 'Helvetica, Arial, sans-serif';
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

/** Renders one chart to an SVG string and frees it (a chart left undisposed keeps the process alive). */
function renderSvg(option: ChartOption, width: number, height: number): string {
  const chart = init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ animation: false, color: PALETTE, textStyle: { fontFamily: FONT }, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** Fewer points for the drawing only: PR curves are step-like, so runs of equal precision collapse. */
function curvePoints(curve: PrCurve): [number, number][] {
  const out: [number, number][] = [];
  const n = curve.recall.length;
  for (let i = 0; i < n; i++) {
    const r = curve.recall[i]!;
    const p = curve.precision[i]!;
    if (!Number.isFinite(r) || !Number.isFinite(p)) continue;
    const last = out[out.length - 1];
    const next = i + 1 < n ? curve.precision[i + 1]! : NaN;
    if (last && last[1] === p && next === p) continue;
    out.push([r, p]);
  }
  return out;
}

export interface CurveChartInput {
  /** Chart title: class and the figure it illustrates, e.g. "car — AP 0.4312". */
  title: string;
  subtitle?: string;
  curves: PrCurve[];
  /** Series name of each curve (default its key). */
  name?(curve: PrCurve): string;
}

/** PR curves (precision over recall) of one class, one series per curve. */
export function prCurveChart(input: CurveChartInput, size = { width: 440, height: 300 }): string {
  return renderSvg(
    {
      title: { text: input.title, subtext: input.subtitle, left: 'center', textStyle: { fontSize: 14 }, subtextStyle: { fontSize: 11 } },
      legend: { bottom: 0, textStyle: { fontSize: 11 } },
      grid: { left: 48, right: 16, top: input.subtitle ? 58 : 40, bottom: 56 },
      xAxis: { type: 'value', name: 'recall', nameLocation: 'middle', nameGap: 24, min: 0, max: 1 },
      yAxis: { type: 'value', name: 'precision', nameLocation: 'middle', nameGap: 34, min: 0, max: 1 },
      series: input.curves.map((c) => ({ type: 'line', name: input.name ? input.name(c) : c.key, showSymbol: false, step: 'end', data: curvePoints(c), lineStyle: { width: 1.5 } })),
    },
    size.width,
    size.height,
  );
}

/** One bar per class with its figure printed on the bar (formatFigure). */
export function classBarChart(input: { title: string; rows: { label: string; value: number | null }[] }, size = { width: 640, height: 0 }): string {
  const height = size.height || Math.max(140, 60 + input.rows.length * 28);
  return renderSvg(
    {
      title: { text: input.title, left: 'center', textStyle: { fontSize: 14 } },
      grid: { left: 120, right: 70, top: 40, bottom: 24 },
      xAxis: { type: 'value', min: 0, max: 1 },
      yAxis: { type: 'category', data: input.rows.map((r) => r.label), inverse: true },
      series: [
        {
          type: 'bar',
          data: input.rows.map((r) => ({ value: r.value ?? 0, label: { show: true, position: 'right', formatter: formatFigure(r.value) } })),
          barMaxWidth: 18,
        },
      ],
    },
    size.width,
    height,
  );
}

/** The confusion matrix as a heatmap: rows detected class, columns true class, counts in the cells. */
export function confusionHeatmap(confusion: ConfusionMatrix): string {
  const labels = confusion.labels;
  const n = labels.length;
  const data: [number, number, number][] = [];
  let max = 0;
  for (let p = 0; p < n; p++) {
    for (let t = 0; t < n; t++) {
      const count = confusion.counts[p * n + t]!;
      max = Math.max(max, count);
      data.push([t, p, count]);
    }
  }
  const cell = n > 12 ? 34 : 48;
  const width = 140 + n * cell + 40;
  const height = 90 + n * cell + 90;
  return renderSvg(
    {
      title: { text: `Confusion matrix (${confusion.criterion})`, left: 'center', textStyle: { fontSize: 14 } },
      grid: { left: 130, right: 30, top: 50, bottom: 90 },
      xAxis: { type: 'category', data: labels, name: 'true class', nameLocation: 'middle', nameGap: 60, axisLabel: { rotate: 35, fontSize: 11 }, splitArea: { show: true } },
      yAxis: { type: 'category', data: labels, name: 'detected class', nameLocation: 'middle', nameGap: 100, nameRotate: 90, inverse: true, axisLabel: { fontSize: 11 }, splitArea: { show: true } },
      visualMap: { min: 0, max: Math.max(1, max), show: false, inRange: { color: ['#f7fbff', '#6baed6', '#08306b'] } },
      series: [{ type: 'heatmap', data, label: { show: true, fontSize: 11 } }],
    },
    width,
    height,
  );
}
