import type { AuditRecord } from '../audit/record.js';
import type { LogSlots, StoreDbs } from './indexes.js';

/**
 * The commit log as one entry per write batch: key = the batch's first seq, value = [ms, id] of each of its records
 * in seq order, flattened. A removed record leaves [null, null] so the seqs after it keep their slots; the newest
 * entry is never deleted, so the sequence never goes back.
 */
export interface LogPosition {
  seq: number;
  ms: number;
  id: string;
}

/** The highest seq ever committed, 0 for an empty store. Read inside the write transaction when assigning. */
export function lastSeq(dbs: StoreDbs): number {
  for (const { key, value } of dbs.log.getRange({ reverse: true, limit: 1 })) return (key as number) + value.length / 2 - 1;
  return 0;
}

/** The batch entry holding `seq` (the greatest key at or below it), or undefined. */
function batchKeyOf(dbs: StoreDbs, seq: number): number | undefined {
  for (const key of dbs.log.getKeys({ start: seq, reverse: true, limit: 1 })) return key as number;
  return undefined;
}

/** Positions with seq > afterSeq, ascending, at most `limit`; removed records are left out. */
export function logPositions(dbs: StoreDbs, afterSeq: number, limit: number): LogPosition[] {
  const first = afterSeq + 1;
  const out: LogPosition[] = [];
  for (const { key, value } of dbs.log.getRange({ start: batchKeyOf(dbs, first) ?? first })) {
    for (let i = 0; i < value.length; i += 2) {
      const seq = (key as number) + i / 2;
      if (seq < first || value[i] === null) continue;
      out.push({ seq, ms: value[i] as number, id: value[i + 1] as string });
      if (out.length >= limit) return out;
    }
  }
  return out;
}

/** Takes the records out of the log (inside a transaction). */
export function removeFromLog(dbs: StoreDbs, records: AuditRecord[]): void {
  const byBatch = new Map<number, number[]>();
  for (const { seq } of records) {
    if (seq === undefined) continue;
    const key = batchKeyOf(dbs, seq);
    if (key === undefined) continue;
    const seqs = byBatch.get(key) ?? [];
    seqs.push(seq);
    byBatch.set(key, seqs);
  }
  const newest = lastBatchKey(dbs);
  for (const [key, seqs] of byBatch) {
    const slots: LogSlots = [...(dbs.log.get(key) ?? [])];
    for (const seq of seqs) slots.fill(null, (seq - key) * 2, (seq - key) * 2 + 2);
    if (slots.every((slot) => slot === null) && key !== newest) dbs.log.removeSync(key);
    else dbs.log.putSync(key, slots);
  }
}

function lastBatchKey(dbs: StoreDbs): number | undefined {
  for (const key of dbs.log.getKeys({ reverse: true, limit: 1 })) return key as number;
  return undefined;
}
