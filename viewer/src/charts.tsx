import { useEffect, useRef } from 'preact/hooks';
import uPlot, { type AlignedData, type Options } from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Stats, StatsBucket } from './api.js';

interface Props {
  stats: Stats | null;
}

/** Stacked bottom to top; each is drawn as the sum of itself and the classes below it. */
const CLASSES: { key: keyof StatsBucket['status']; label: string; color: string }[] = [
  { key: '2xx', label: '2xx', color: '#2e7d32' },
  { key: '3xx', label: '3xx', color: '#1565c0' },
  { key: '4xx', label: '4xx', color: '#b26a00' },
  { key: '5xx', label: '5xx', color: '#c62828' },
  { key: '1xx', label: '1xx', color: '#757575' },
  { key: 'none', label: 'no status', color: '#6a1b9a' },
];
const PERCENTILES = [
  { key: 'p50', color: '#1565c0' }, { key: 'p95', color: '#b26a00' }, { key: 'p99', color: '#c62828' },
] as const;
const HEIGHT = 180;

const utc = (seconds: number) => uPlot.tzDate(new Date(seconds * 1e3), 'Etc/UTC');

function countsChart(stats: Stats, width: number): [Options, AlignedData] {
  const x = stats.buckets.map((b) => Date.parse(b.start) / 1e3);
  const raw = CLASSES.map((c) => stats.buckets.map((b) => b.status[c.key]));
  const stacked = raw.map((_, k) => stats.buckets.map((_, i) => raw.slice(0, k + 1).reduce((sum, r) => sum + r[i]!, 0)));
  const bars = uPlot.paths.bars!({ size: [0.85, 64] });
  // Series are painted in order: the tallest stack (every class) first, then each shorter one over it, so each
  // class's own slice stays visible on top of the classes below it.
  const order = CLASSES.map((_, k) => k).reverse();
  const options: Options = {
    title: 'Requests by status class',
    width, height: HEIGHT, tzDate: utc,
    scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    series: [
      { label: 'Time (UTC)' },
      ...order.map((k) => ({
        label: CLASSES[k]!.label, stroke: CLASSES[k]!.color, fill: CLASSES[k]!.color, paths: bars, points: { show: false },
        value: (_u: uPlot, _v: number | null, _s: number, i: number | null) => (i === null ? '–' : String(raw[k]![i])),
      })),
    ],
  };
  return [options, [x, ...order.map((k) => stacked[k]!)]];
}

function durationChart(stats: Stats, width: number): [Options, AlignedData] {
  const x = stats.buckets.map((b) => Date.parse(b.start) / 1e3);
  const options: Options = {
    title: 'Duration percentiles (ms)',
    width, height: HEIGHT, tzDate: utc,
    series: [
      { label: 'Time (UTC)' },
      ...PERCENTILES.map((p) => ({ label: p.key, stroke: p.color, width: 2, spanGaps: false, points: { show: true, size: 4, fill: p.color } })),
    ],
  };
  return [options, [x, ...PERCENTILES.map((p) => stats.buckets.map((b) => b.durationMs?.[p.key] ?? null))]];
}

function Chart({ stats, build, label }: { stats: Stats; build: typeof countsChart; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current!;
    const [options, data] = build(stats, Math.max(280, element.clientWidth));
    const plot = new uPlot(options, data, element);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, element.clientWidth), height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [stats, build]);
  return <div class="chart" ref={box} role="img" aria-label={label} />;
}

/** Requests per bucket stacked by status class, and duration p50/p95/p99, over the view's range and filters. */
export function Charts({ stats }: Props) {
  const total = stats?.buckets.reduce((sum, b) => sum + b.count, 0) ?? 0;
  return (
    <section class="charts" aria-label="Charts">
      {stats === null ? <p class="state" role="status">Loading charts…</p> : (
        <>
          <Chart stats={stats} build={countsChart} label={`Requests by status class: ${total} in the range`} />
          <Chart stats={stats} build={durationChart} label="Duration percentiles p50, p95, p99 per bucket" />
          {!stats.complete && <p class="notice">Charts cover {stats.coveredFrom.replace('T', ' ').replace('Z', '')} UTC onward:
            these filters need a scan of every record, which stopped at its time limit.</p>}
        </>
      )}
    </section>
  );
}
