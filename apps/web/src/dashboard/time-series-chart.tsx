import { useEffect, useRef, useSyncExternalStore } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Series } from './derive.ts';

/** Plot area plus axes (px); the legend goes below it. */
export const CHART_HEIGHT_PX = 220;
/** A y axis is as wide as its longest tick label: about this many px per character, plus the tick and gap. */
const AXIS_CHAR_PX = 7;
const AXIS_TICK_PX = 18;
const AXIS_LABEL_PX = 20;
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
  /**
   * Draw across nulls. For curves that share an x axis with sparser ones; a rate's null means
   * "no interval here" and should stay a gap.
   */
  spanGaps?: boolean;
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
  /** Shown over the chart while it has no x values (uPlot then draws no axes at all). */
  emptyText: string;
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

  // biome-ignore lint/correctness/useExhaustiveDependencies: shape is not read inside; it is listed only so the plot is rebuilt when the series change; new data goes through setData below
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

  // biome-ignore lint/correctness/useExhaustiveDependencies: only new data needs a redraw; the other props are read when the plot is built
  useEffect(() => {
    plot.current?.setData(plotData(props));
  }, [props.data]);

  return (
    <div className="chart-frame">
      <div ref={container} className="chart" role="img" aria-label={props.label} />
      {props.data[0].length === 0 && <p className="chart-empty muted">{props.emptyText}</p>}
    </div>
  );
}

function plotData(p: TimeSeriesChartProps): uPlot.AlignedData {
  const [xs, ...ys] = p.data;
  // uPlot's time scale counts seconds
  return [p.x === 'time' ? xs.map((t) => t / 1000) : xs, ...ys];
}

function chartOptions(p: TimeSeriesChartProps, width: number): uPlot.Options {
  const muted = cssColor('--muted', '#888');
  const grid = { stroke: cssColor('--chart-grid', 'rgba(128,128,128,0.25)'), width: 1 };
  const y = ({ label, format }: ChartAxis): uPlot.Axis => ({
    stroke: muted,
    grid,
    ticks: grid,
    label,
    labelSize: AXIS_LABEL_PX,
    size: (_u, values) => AXIS_TICK_PX + AXIS_CHAR_PX * Math.max(3, ...(values ?? []).map((v) => String(v).length)),
    ...(format ? { values: (_u: uPlot, splits: number[]) => splits.map(format) } : {}),
  });
  const axes: uPlot.Axis[] = [{ stroke: muted, grid, ticks: grid, ...(p.x === 'round' ? { label: 'round', labelSize: AXIS_LABEL_PX, incrs: ROUND_TICK_STEPS } : {}) }, y(p.left)];
  if (p.right) axes.push({ ...y(p.right), side: 1, scale: 'right', grid: { show: false } });
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
          spanGaps: s.spanGaps ?? false,
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
