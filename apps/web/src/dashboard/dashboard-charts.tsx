import type { LiveStats, ReferencePoint, RoundPoint, ValidationPoint } from '@openshard/protocol';
import { useMemo } from 'react';
import { byteRates, latencySeries, lossCurves, throughput } from './derive.ts';
import { formatByteRate, formatMs, formatRate } from './format.ts';
import { type ChartSeries, TimeSeriesChart } from './time-series-chart.tsx';

// the loss curves share one round axis, where each is null at the rounds only another has
const LOSS_SERIES: ChartSeries[] = [
  { label: 'training', color: '--chart-1', spanGaps: true },
  { label: 'validation', color: '--chart-2', style: 'marked', spanGaps: true },
];
const REFERENCE_SERIES: ChartSeries[] = [
  { label: 'reference training', color: '--chart-1', style: 'dashed', spanGaps: true },
  { label: 'reference validation', color: '--chart-2', style: 'dashed', spanGaps: true },
];
const ENTROPY_SERIES: ChartSeries = { label: 'unigram entropy', color: '--chart-muted', style: 'dashed', spanGaps: true };

interface LossChartProps {
  rounds: RoundPoint[];
  validation: ValidationPoint[];
  reference: ReferencePoint[] | null;
  unigramEntropy: number;
}

/** Training and validation loss by round, over the single-process reference when the run has one. */
export function LossChart({ rounds, validation, reference, unigramEntropy }: LossChartProps) {
  const series = reference ? [...LOSS_SERIES, ...REFERENCE_SERIES, ENTROPY_SERIES] : [...LOSS_SERIES, ENTROPY_SERIES];
  const data = useMemo(() => {
    const c = lossCurves(rounds, validation, reference);
    // a flat line: what a model that ignores context would reach
    const entropy = c.rounds.map(() => unigramEntropy);
    return reference ? ([c.rounds, c.training, c.validation, c.referenceLoss, c.referenceValidation, entropy] as const) : ([c.rounds, c.training, c.validation, entropy] as const);
  }, [rounds, validation, reference, unigramEntropy]);
  return (
    <figure className="panel chart-panel">
      <figcaption>Loss (nats/token)</figcaption>
      <TimeSeriesChart label="Loss by round" x="round" series={series} data={data} left={{ label: 'nats/token', format: (v) => v.toFixed(2) }} emptyText="No loss measured yet." />
      <p className="muted chart-note">
        Unigram entropy {unigramEntropy.toFixed(3)} nats: the loss of a model that ignores context.
        {reference ? ' Dashed: the single-process trainer on the same data.' : ' No single-process reference for this run.'}
      </p>
    </figure>
  );
}

const THROUGHPUT_SERIES: ChartSeries[] = [
  { label: 'tokens/s', color: '--chart-1' },
  { label: 'rounds/min', color: '--chart-3', axis: 'right' },
];

/** Tokens per second by round, and rounds per minute averaged over recent rounds. */
export function ThroughputChart({ rounds }: { rounds: RoundPoint[] }) {
  const data = useMemo(() => {
    const t = throughput(rounds);
    return [t.rounds, t.tokensPerSecond, t.roundsPerMinute] as const;
  }, [rounds]);
  return (
    <figure className="panel chart-panel">
      <figcaption>Throughput</figcaption>
      <TimeSeriesChart
        label="Throughput by round"
        x="round"
        series={THROUGHPUT_SERIES}
        data={data}
        left={{ label: 'tokens/s', format: formatRate }}
        right={{ label: 'rounds/min', format: (v) => v.toFixed(1) }}
        emptyText="No round has closed yet."
      />
    </figure>
  );
}

const LATENCY_SERIES: ChartSeries[] = [
  { label: 'p50', color: '--chart-1' },
  { label: 'p90', color: '--chart-3' },
  { label: 'p99', color: '--chart-2' },
];

/** Time from issuing a task to accepting its result, as the coordinator measures it over its recent window. */
export function LatencyChart({ stats }: { stats: LiveStats[] }) {
  const data = useMemo(() => {
    const l = latencySeries(stats);
    return [l.at, l.p50, l.p90, l.p99] as const;
  }, [stats]);
  return (
    <figure className="panel chart-panel">
      <figcaption>Task latency</figcaption>
      <TimeSeriesChart label="Task latency over time" x="time" series={LATENCY_SERIES} data={data} left={{ label: 'latency', format: formatMs }} emptyText="No stats yet." />
    </figure>
  );
}

const TRAFFIC_SERIES: ChartSeries[] = [
  { label: 'in', color: '--chart-1' },
  { label: 'out', color: '--chart-3' },
];

/** Bytes the coordinator receives from and sends to volunteers, per second. */
export function TrafficChart({ stats }: { stats: LiveStats[] }) {
  const data = useMemo(() => {
    const b = byteRates(stats);
    return [b.at, b.bytesInPerSecond, b.bytesOutPerSecond] as const;
  }, [stats]);
  return (
    <figure className="panel chart-panel">
      <figcaption>Network traffic</figcaption>
      <TimeSeriesChart label="Bytes in and out over time" x="time" series={TRAFFIC_SERIES} data={data} left={{ label: 'bytes/s', format: formatByteRate }} emptyText="No stats yet." />
    </figure>
  );
}
