/**
 * Request statistics per time bucket: counts by status class and a log-scale duration histogram, from which
 * percentiles are read. Used by the stats rollup (per minute, in LMDB) and by the API's scan fallback alike.
 */

/** Index 0 counts records without an HTTP status class (0: the client left first); 1..5 count 1xx..5xx. */
export const STATUS_CLASSES = 6;

/** Bucket 0 holds durations under BASE_MS; bucket i >= 1 holds [BASE_MS * 2^((i-1)/STEPS), BASE_MS * 2^(i/STEPS)). */
const BASE_MS = 0.1;
/** Four buckets per doubling: a percentile read from the histogram is within 9% of the true value (before rounding to 1 µs). */
const STEPS = 4;
/** 0.1 ms * 2^(99/4) is about 2.8 hours: the last bucket takes anything longer. */
export const HISTOGRAM_BUCKETS = 100;

/** One bucket's numbers; `hist` is dense (HISTOGRAM_BUCKETS counts), so cells add element by element. */
export interface StatsCell {
  status: number[];
  hist: number[];
}

export function emptyCell(): StatsCell {
  return { status: new Array<number>(STATUS_CLASSES).fill(0), hist: new Array<number>(HISTOGRAM_BUCKETS).fill(0) };
}

export function statusClassOf(statusCode: number): number {
  return statusCode >= 100 && statusCode <= 599 ? Math.floor(statusCode / 100) : 0;
}

export function histogramBucketOf(durationMs: number): number {
  if (!(durationMs >= BASE_MS)) return 0; // NaN and negatives land in bucket 0 too
  const bucket = Math.min(HISTOGRAM_BUCKETS - 1, 1 + Math.floor(Math.log2(durationMs / BASE_MS) * STEPS));
  // log2 rounds: a value an ulp either side of a bound can land one bucket off, so check against the bounds.
  if (durationMs < lowerBoundOf(bucket)) return bucket - 1;
  if (bucket < HISTOGRAM_BUCKETS - 1 && durationMs >= lowerBoundOf(bucket + 1)) return bucket + 1;
  return bucket;
}

function lowerBoundOf(bucket: number): number {
  return BASE_MS * 2 ** ((bucket - 1) / STEPS);
}

export function addRecordTo(cell: StatsCell, statusCode: number, durationMs: number): void {
  cell.status[statusClassOf(statusCode)]!++;
  cell.hist[histogramBucketOf(durationMs)]!++;
}

/** Bytes of a cell stored as little-endian uint32 counts: the status classes, then the histogram. */
export const ENCODED_CELL_BYTES = 4 * (STATUS_CLASSES + HISTOGRAM_BUCKETS);

export function encodeCell(cell: StatsCell): Buffer {
  const buffer = Buffer.allocUnsafe(ENCODED_CELL_BYTES);
  for (let i = 0; i < STATUS_CLASSES; i++) buffer.writeUInt32LE(cell.status[i]!, 4 * i);
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) buffer.writeUInt32LE(cell.hist[i]!, 4 * (STATUS_CLASSES + i));
  return buffer;
}

/** Adds a stored cell's counts to `into` without building an intermediate cell (the stats read path's hot loop). */
export function addEncodedTo(into: StatsCell, encoded: Uint8Array): void {
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  if (encoded.byteLength !== ENCODED_CELL_BYTES) return;
  for (let i = 0; i < STATUS_CLASSES; i++) into.status[i]! += view.getUint32(4 * i, true);
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) into.hist[i]! += view.getUint32(4 * (STATUS_CLASSES + i), true);
}

/** The durations below which fractions `qs` (ascending) of the cell's requests fall, in one pass; null when empty. */
export function percentilesOf(cell: StatsCell, qs: readonly number[]): number[] | null {
  let total = 0;
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) total += cell.hist[i]!;
  if (total === 0) return null;
  const out: number[] = [];
  let seen = 0;
  for (let i = 0; i < HISTOGRAM_BUCKETS && out.length < qs.length; i++) {
    seen += cell.hist[i]!;
    while (out.length < qs.length && seen >= Math.max(1, Math.ceil(qs[out.length]! * total))) out.push(bucketValue(i));
  }
  return out;
}

/** The duration a bucket stands for: the geometric middle of its bounds (0 for the bucket under BASE_MS). */
function bucketValue(i: number): number {
  return i === 0 ? 0 : round3(BASE_MS * 2 ** ((i - 0.5) / STEPS));
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** One bucket of an answer: its start, how many requests, by status class, and duration percentiles. */
export interface StatsBucket {
  startMs: number;
  count: number;
  status: { none: number; '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  durationMs: { p50: number; p95: number; p99: number } | null;
}

function percentileTriple(cell: StatsCell): { p50: number; p95: number; p99: number } {
  const [p50, p95, p99] = percentilesOf(cell, [0.5, 0.95, 0.99]) as [number, number, number];
  return { p50, p95, p99 };
}

/** Cells for consecutive buckets of bucketMs from fromMs, filled from records or from other cells. */
export class BucketedStats {
  private readonly cells: StatsCell[];

  constructor(readonly fromMs: number, readonly bucketMs: number, readonly bucketCount: number) {
    this.cells = Array.from({ length: bucketCount }, emptyCell);
  }

  /** The cell a time falls in, or undefined outside the range. */
  cellAt(ms: number): StatsCell | undefined {
    return this.cells[Math.floor((ms - this.fromMs) / this.bucketMs)];
  }

  addRecord(ms: number, statusCode: number, durationMs: number): void {
    const cell = this.cellAt(ms);
    if (cell) addRecordTo(cell, statusCode, durationMs);
  }

  buckets(): StatsBucket[] {
    return this.cells.map((cell, i) => {
      const [none, c1, c2, c3, c4, c5] = cell.status as [number, number, number, number, number, number];
      const count = none + c1 + c2 + c3 + c4 + c5;
      return {
        startMs: this.fromMs + i * this.bucketMs,
        count,
        status: { none, '1xx': c1, '2xx': c2, '3xx': c3, '4xx': c4, '5xx': c5 },
        durationMs: count === 0 ? null : percentileTriple(cell),
      };
    });
  }
}

/** The read side, as the stats endpoint sees it. */
export interface StatsRollupReader {
  /** Minutes from this one on are complete in the rollup (Infinity: the rollup has counted nothing yet). */
  sinceMs(): number;
  /**
   * Adds the rollup's minutes in [fromMs, toMs) to `stats`; organizationId undefined means every organization. Reads in
   * slices, yielding to the event loop between them.
   */
  addTo(stats: BucketedStats, organizationId: string | undefined, fromMs: number, toMs: number): Promise<void>;
}
