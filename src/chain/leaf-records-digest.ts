import { createHash, type Hash } from 'node:crypto';
import type { TreeStore } from './tree-store.js';

/**
 * SHA-256 over the leaves' records (created at, id; packed as in the records tiles) in leaf order, which a checkpoint
 * signs beside the root. The tree's hashes cover each record's bytes only while the record is stored; this covers which
 * record each leaf was once it is gone, so that verify counts a missing record as pruned only by a time that was signed.
 */
export class LeafRecordsDigest {
  private readonly hash: Hash = createHash('sha256');

  /** The digest of the first `size` leaves of the stored log (read a records tile at a time). */
  static of(tree: TreeStore, size: number): LeafRecordsDigest {
    const digest = new LeafRecordsDigest();
    for (const packed of tree.packedLeafRecords(0, size)) digest.add(packed);
    return digest;
  }

  /** Adds the next leaves' packed records. */
  add(packed: Buffer): void {
    this.hash.update(packed);
  }

  /** The digest of every leaf added so far (the hash goes on). */
  value(): Buffer {
    return this.hash.copy().digest();
  }
}
