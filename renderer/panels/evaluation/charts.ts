// ECharts for the Evaluation panel, loaded on demand (its own chunk): only the line and heatmap
// charts, the components they use and the canvas renderer.
import { HeatmapChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { classColor } from '../../app/classColors.js';
import type { ConfusionMatrix, PrCurve } from '../../state/evaluation.js';

echarts.use([LineChart, HeatmapChart, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

export type Chart = echarts.ECharts;

export function createChart(el: HTMLElement): Chart {
  return echarts.init(el, null, { renderer: 'canvas' });
}

const AXIS = { axisLine: { lineStyle: { color: '#34404f' } }, axisLabel: { color: '#8893a3', fontSize: 10 }, splitLine: { lineStyle: { color: '#232a34' } }, nameTextStyle: { color: '#8893a3', fontSize: 10 } };
const TOOLTIP = { backgroundColor: '#1b2129', borderColor: '#34404f', textStyle: { color: '#d5dce6', fontSize: 11 } };

/** One line per class: points are [recall, precision, score]. */
export function prOption(curves: readonly PrCurve[]): echarts.EChartsCoreOption {
  return {
    animation: false,
    grid: { left: 44, right: 12, top: 28, bottom: 34 },
    legend: { top: 0, textStyle: { color: '#d5dce6', fontSize: 10 }, itemHeight: 8, itemWidth: 14 },
    tooltip: {
      ...TOOLTIP,
      trigger: 'item',
      formatter: (p: { seriesName: string; data: [number, number, number] }) =>
        `${p.seriesName}<br>recall ${p.data[0].toFixed(3)} · precision ${p.data[1].toFixed(3)}<br>score ≥ ${p.data[2].toFixed(3)} (click: the objects behind it)`,
    },
    xAxis: { type: 'value', name: 'recall', nameLocation: 'middle', nameGap: 20, min: 0, max: 1, ...AXIS },
    yAxis: { type: 'value', name: 'precision', nameLocation: 'middle', nameGap: 30, min: 0, max: 1, ...AXIS },
    series: curves.map((c) => ({
      type: 'line',
      name: c.label,
      color: classColor(c.label),
      showSymbol: true,
      symbolSize: 5,
      lineStyle: { width: 1.5 },
      emphasis: { focus: 'series' },
      data: Array.from(c.recall, (r, i) => [r, c.precision[i]!, c.scores[i]!]),
    })),
  };
}

/** Rows detected classes (first on top), columns true classes; counts as labels. */
export function confusionOption(matrix: ConfusionMatrix): echarts.EChartsCoreOption {
  const n = matrix.labels.length;
  const data: [number, number, number][] = [];
  let max = 1;
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) {
      const v = matrix.counts[row * n + col]!;
      data.push([col, row, v]);
      max = Math.max(max, v);
    }
  }
  return {
    animation: false,
    grid: { left: 90, right: 12, top: 8, bottom: 56 },
    tooltip: {
      ...TOOLTIP,
      formatter: (p: { data: [number, number, number] }) => `detected ${matrix.labels[p.data[1]]} × true ${matrix.labels[p.data[0]]}: ${p.data[2]}<br>click: the objects behind it`,
    },
    xAxis: { type: 'category', data: matrix.labels, name: 'true class', nameLocation: 'middle', nameGap: 40, splitArea: { show: true }, ...AXIS, axisLabel: { ...AXIS.axisLabel, rotate: 30 } },
    yAxis: { type: 'category', data: matrix.labels, name: 'detected', nameLocation: 'middle', nameGap: 76, inverse: true, splitArea: { show: true }, ...AXIS },
    visualMap: { min: 0, max, show: false, inRange: { color: ['#151a20', '#1f4f8f', '#4c9bff', '#f3b33d'] } },
    series: [{ type: 'heatmap', data, label: { show: true, color: '#f0f4f9', fontSize: 10 }, emphasis: { itemStyle: { borderColor: '#f0f4f9', borderWidth: 1 } } }],
  };
}
