// ECharts with only what the console draws (loaded with the dashboard).
// Each chart is kept on window.__wbCharts[name] so tests can read its
// series with getOption().
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart, SankeyChart } from 'echarts/charts';
import { GridComponent, TooltipComponent, LegendComponent, TitleComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, LineChart, PieChart, SankeyChart, GridComponent, TooltipComponent, LegendComponent, TitleComponent, CanvasRenderer]);

export const PALETTE = ['#07813c', '#2f7ed8', '#f28f43', '#8b5cf6', '#e4572e', '#17a2b8', '#c9a227', '#6c757d', '#d63384', '#20c997', '#795548'];

export function makeChart(name, el) {
  const old = echarts.getInstanceByDom(el);
  if (old) old.dispose();
  const chart = echarts.init(el, null, { renderer: 'canvas' });
  window.__wbCharts = window.__wbCharts || {};
  window.__wbCharts[name] = chart;
  return chart;
}

export function dropChart(name, chart) {
  if (window.__wbCharts && window.__wbCharts[name] === chart) delete window.__wbCharts[name];
  if (chart && !chart.isDisposed()) chart.dispose();
}
