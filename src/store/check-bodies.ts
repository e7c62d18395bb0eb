import type { Key } from 'lmdb';
import { BODY_FIELDS, bodyDigest, digestOf, refOf, type RecordPosition } from './bodies.js';
import type { StoreDbs } from './indexes.js';

/** What a check of the bodies stored apart found. */
export interface BodiesCheck {
  bodies: number;
  references: number;
  /** Bodies no record refers to: left behind (docs/store.md, Layout) until retention frees them; not a sign of tampering. */
  unreferenced: number;
}

/**
 * Checks every reference the `holders` hold against the bodies stored apart, and every body against its SHA-256 (its
 * key). The Merkle log signs the records, references included, and a reference pins its body's bytes: together they
 * make a body's change or removal evident. `holders` are the records whose stored bytes may hold a reference
 * (holdsBodyRef), which `audit-proxy verify` notes while its walk reads every record anyway.
 */
export function checkBodies(dbs: StoreDbs, holders: Iterable<RecordPosition>, problem: (line: string) => void): BodiesCheck {
  const check: BodiesCheck = { bodies: 0, references: 0, unreferenced: 0 };
  const referenced = new Set<string>();
  for (const key of holders) {
    const record = dbs.records.get(key as Key);
    if (!record) continue; // removed by retention since it was seen
    for (const [, refField] of BODY_FIELDS) {
      const ref = record[refField];
      if (ref === undefined) continue;
      check.references++;
      const digest = digestOf(ref);
      if (!digest) problem(`record ${record.id}: ${refField} is not a body reference: ${JSON.stringify(ref).slice(0, 80)}`);
      else if (!dbs.bodies?.bytes.doesExist(digest)) problem(`record ${record.id}: missing body: ${ref} is not in the store`);
      else referenced.add(ref as string);
    }
  }
  for (const { key, value } of dbs.bodies?.bytes.getRange({}) ?? []) {
    check.bodies++;
    if (!bodyDigest(value).equals(key)) problem(`body ${refOf(key)}: changed: its bytes do not hash to it`);
    if (!referenced.has(refOf(key))) check.unreferenced++;
  }
  return check;
}
