import type { Metric } from 'prom-client';

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/** What a prom-client registry reads from a histogram (Registry.getMetricsAsJSON and the text format). */
interface HistogramSnapshot {
  name: string;
  help: string;
  type: 'histogram';
  aggregator: 'sum';
  values: Sample[];
}

/**
 * A histogram with one label kept in plain arrays: observing costs a bucket search and two additions, where
 * prom-client's hashes its labels on every call. A registry reads it like one of prom-client's histograms
 * (same values, same names, summed across workers); register it with `asMetric()`.
 */
export class LabelledHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** Per label value: a count per bucket, then the count above the last bound. */
  private readonly counts: Float64Array;
  private readonly sums: Float64Array;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly labelValues: readonly L[],
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(labelValues.length * (bounds.length + 1));
    this.sums = new Float64Array(labelValues.length);
  }

  /** `index` is the label value's position in labelValues. */
  observe(index: number, value: number): void {
    let bucket = 0;
    while (bucket < this.bounds.length && value > this.bounds[bucket]!) bucket++;
    this.counts[index * (this.bounds.length + 1) + bucket]!++;
    this.sums[index]! += value;
  }

  get(): Promise<HistogramSnapshot> {
    const values: Sample[] = [];
    const width = this.bounds.length + 1;
    this.labelValues.forEach((labelValue, index) => {
      let count = 0;
      for (let bucket = 0; bucket < width; bucket++) count += this.counts[index * width + bucket]!;
      if (count === 0) return; // like prom-client: a label value is shown once it was observed
      const labels = { [this.labelName]: labelValue };
      let cumulative = 0;
      this.bounds.forEach((le, bucket) => {
        cumulative += this.counts[index * width + bucket]!;
        values.push({ labels: { le, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...labels }, value: count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: this.sums[index]!, metricName: `${this.name}_sum` });
      values.push({ labels, value: count, metricName: `${this.name}_count` });
    });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    this.counts.fill(0);
    this.sums.fill(0);
  }

  /** For Registry.registerMetric, which reads only name, help, type, aggregator, get() and reset(). */
  asMetric(): Metric {
    return this as unknown as Metric;
  }
}
