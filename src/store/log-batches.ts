import type { AuditRecord } from '../audit/record.js';
import type { StoreDbs } from './indexes.js';
import { decodePositions, encodePositions, slotCount, visitSlots } from './positions.js';

/**
 * The commit log as one entry per write batch: key = the batch's first seq, value = [ms, id] of each of its records
 * in seq order (positions.ts). A removed record leaves an empty slot so the seqs after it keep theirs; the newest
 * entry is never deleted, so the sequence never goes back.
 */
export interface LogPosition {
  seq: number;
  ms: number;
  id: string;
}

/** The highest seq ever committed, 0 for an empty store. Read inside the write transaction when assigning. */
export function lastSeq(dbs: StoreDbs): number {
  for (const { key, value } of dbs.log.getRange({ reverse: true, limit: 1 })) return (key as number) + slotCount(value) - 1;
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
    const slots = decodePositions(value);
    for (let i = 0; i < slots.length; i++) {
      const seq = (key as number) + i;
      const slot = slots[i];
      if (seq < first || !slot) continue;
      out.push({ seq, ms: slot.ms, id: slot.id });
      if (out.length >= limit) return out;
    }
  }
  return out;
}

/** Positions with seq in [fromSeq, toSeq], ascending, without an object per position; removed records are left out. */
export function visitLogPositions(dbs: StoreDbs, fromSeq: number, toSeq: number, visit: (seq: number, ms: number, id: string) => void): void {
  for (const { key, value } of dbs.log.getRange({ start: batchKeyOf(dbs, fromSeq) ?? fromSeq, end: toSeq + 1 })) {
    const first = key as number;
    visitSlots(value, fromSeq - first, toSeq - first + 1, (slot, ms, id) => visit(first + slot, ms, id));
  }
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
    const stored = dbs.log.get(key);
    if (!stored) continue;
    const slots = decodePositions(stored);
    for (const seq of seqs) slots[seq - key] = null;
    if (slots.every((slot) => slot === null) && key !== newest) dbs.log.removeSync(key);
    else dbs.log.putSync(key, encodePositions(slots));
  }
}

function lastBatchKey(dbs: StoreDbs): number | undefined {
  for (const key of dbs.log.getKeys({ reverse: true, limit: 1 })) return key as number;
  return undefined;
}
