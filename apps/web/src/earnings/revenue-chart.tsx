import { formatEth } from './format-wei.ts';
import type { RevenueBar, RevenueChart as RevenueChartData } from './revenue-history.ts';

/** Height of the bars' area (px); the SVG stretches its width to the panel. */
const CHART_HEIGHT_PX = 160;
/** viewBox units: one slot per epoch holds its two bars side by side, then a gap. */
const SLOT = 10;
const BAR_WIDTH = 4;
const GAP = 1;
const FULL = 100;
/** The least a non-zero bar is drawn (viewBox units, about 1.6 px), so that small amounts still show. */
const MIN_BAR = 1;

/** Each epoch's revenue (grey) beside the connected address's part of it (blue), oldest on the left. */
export function RevenueChart({ chart }: { chart: RevenueChartData }) {
  const { bars, tallestWei } = chart;
  if (tallestWei === 0n) return <p className="muted">No revenue has come in yet: every epoch so far closed with 0 ETH.</p>;
  return (
    <figure className="revenue-chart">
      <figcaption className="muted">
        <span>
          <span className="swatch revenue" /> revenue of the epoch <span className="swatch part" /> your part
        </span>
        <span>tallest bar {formatEth(tallestWei)} ETH</span>
      </figcaption>
      <svg viewBox={`0 0 ${bars.length * SLOT} ${FULL}`} preserveAspectRatio="none" height={CHART_HEIGHT_PX} role="img" aria-label="Revenue and your part per epoch">
        {bars.map((b, i) => (
          <EpochBars key={b.epoch} bar={b} x={i * SLOT} />
        ))}
      </svg>
      <div className="revenue-chart-axis muted">
        <span>epoch {bars[0].epoch}</span>
        <span>epoch {bars[bars.length - 1].epoch}</span>
      </div>
    </figure>
  );
}

function EpochBars({ bar, x }: { bar: RevenueBar; x: number }) {
  const rect = (className: string, left: number, height: number) => {
    const h = height > 0 ? Math.max(height * FULL, MIN_BAR) : 0;
    return <rect className={className} x={left} y={FULL - h} width={BAR_WIDTH} height={h} />;
  };
  return (
    <g>
      <title>{`Epoch ${bar.epoch}, closed ${new Date(bar.closedAt).toLocaleString()}: revenue ${bar.revenueEth} ETH${bar.partEth === null ? '' : `, your part ${bar.partEth} ETH`}`}</title>
      {/* catches the pointer over the whole slot, so empty epochs have a tooltip too */}
      <rect className="hover" x={x} y={0} width={SLOT} height={FULL} />
      {rect('revenue', x + GAP, bar.revenue)}
      {bar.part !== null && rect('part', x + GAP + BAR_WIDTH, bar.part)}
    </g>
  );
}
