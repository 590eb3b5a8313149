import { useEffect, useRef, useSyncExternalStore } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Series } from './derive.ts';

/** Plot area plus axes (px); the legend goes below it. */
export const CHART_HEIGHT_PX = 220;
/** Room for y-axis tick labels such as "15.0 k" (px). */
const Y_AXIS_SIZE_PX = 56;
/** Round numbers are whole: ticks never fall between two rounds. */
const ROUND_TICK_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000];
const DASH = [6, 4];

export interface ChartSeries {
  label: string;
  /** A CSS custom property (e.g. '--chart-1'): canvas strokes need a concrete colour, read when the chart is made. */
  color: string;
  /** 'marked' draws a point at each value, for sparse measurements. */
  style?: 'line' | 'dashed' | 'marked';
  axis?: 'left' | 'right';
}

export interface ChartAxis {
  label: string;
  format?: (value: number) => string;
}

export interface TimeSeriesChartProps {
  /** Names the chart for screen readers (aria-label). */
  label: string;
  /** 'time' x values are Unix ms. */
  x: 'round' | 'time';
  series: readonly ChartSeries[];
  /** One x array, then one series per entry of `series`, all the same length. */
  data: readonly [number[], ...Series[]];
  left: ChartAxis;
  right?: ChartAxis;
}

/**
 * One uPlot chart that fills its container's width. The plot is made once (again only when its
 * series, axes or the colour scheme change), fed with setData and resized with its container.
 */
export function TimeSeriesChart(props: TimeSeriesChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(props);
  const scheme = useColorScheme();
  const shape = JSON.stringify([props.x, props.series, props.left.label, props.right?.label, scheme]);

  useEffect(() => {
    latest.current = props;
  });

  useEffect(() => {
    const el = container.current!;
    const u = new uPlot(chartOptions(latest.current, el.clientWidth), plotData(latest.current), el);
    plot.current = u;
    let width = el.clientWidth;
    // the legend below the plot changes the container's height: only a new width needs a new size
    const resize = new ResizeObserver(() => {
      if (el.clientWidth === width) return;
      width = el.clientWidth;
      u.setSize({ width, height: CHART_HEIGHT_PX });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape]);

  useEffect(() => {
    plot.current?.setData(plotData(props));
  }, [props.data]);

  return <div ref={container} className="chart" role="img" aria-label={props.label} />;
}

function plotData(p: TimeSeriesChartProps): uPlot.AlignedData {
  const [xs, ...ys] = p.data;
  // uPlot's time scale counts seconds
  return [p.x === 'time' ? xs.map((t) => t / 1000) : xs, ...ys];
}

function chartOptions(p: TimeSeriesChartProps, width: number): uPlot.Options {
  const muted = cssColor('--muted', '#888');
  const grid = { stroke: cssColor('--chart-grid', 'rgba(128,128,128,0.25)'), width: 1 };
  const ticks = (format?: (v: number) => string) => (format ? { values: (_: uPlot, splits: number[]) => splits.map(format) } : {});
  const axes: uPlot.Axis[] = [
    { stroke: muted, grid, ticks: grid, ...(p.x === 'round' ? { label: 'round', incrs: ROUND_TICK_STEPS } : {}) },
    { stroke: muted, grid, ticks: grid, label: p.left.label, size: Y_AXIS_SIZE_PX, ...ticks(p.left.format) },
  ];
  if (p.right) axes.push({ side: 1, scale: 'right', stroke: muted, grid: { show: false }, ticks: grid, label: p.right.label, size: Y_AXIS_SIZE_PX, ...ticks(p.right.format) });
  return {
    width,
    height: CHART_HEIGHT_PX,
    scales: { x: { time: p.x === 'time' } },
    series: [
      { label: p.x === 'round' ? 'round' : 'time' },
      ...p.series.map((s): uPlot.Series => {
        const stroke = cssColor(s.color, '#888');
        const format = (s.axis === 'right' ? p.right : p.left)?.format;
        return {
          label: s.label,
          stroke,
          width: 2,
          scale: s.axis === 'right' ? 'right' : 'y',
          // curves have holes where another curve has a round this one lacks: draw across them
          spanGaps: true,
          ...(s.style === 'dashed' ? { dash: DASH } : {}),
          ...(s.style === 'marked' ? { points: { show: true, size: 6, fill: stroke } } : {}),
          value: (_u, v) => (v == null ? '—' : format ? format(v) : v.toFixed(3)),
        };
      }),
    ],
    axes,
  };
}

function cssColor(property: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(property).trim() || fallback;
}

const DARK = '(prefers-color-scheme: dark)';

/** Redraws the charts in the other palette when the system switches between light and dark. */
function useColorScheme(): 'light' | 'dark' {
  return useSyncExternalStore(
    (changed) => {
      const query = matchMedia(DARK);
      query.addEventListener('change', changed);
      return () => query.removeEventListener('change', changed);
    },
    () => (matchMedia(DARK).matches ? 'dark' : 'light'),
  );
}
