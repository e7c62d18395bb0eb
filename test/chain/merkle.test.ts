import { createHash } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { consistencyProof, EMPTY_ROOT, Frontier, inclusionProof, leafHash, TreeEdge, verifyConsistency, verifyInclusion } from '../../src/chain/merkle.js';

/** RFC 9162 2.1.1 MTH, recursively, straight from its definition (independent of src/chain/merkle.ts). */
function sha(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const part of parts) h.update(part);
  return h.digest();
}
function mth(leaves: Uint8Array[]): Buffer {
  if (leaves.length === 0) return sha();
  if (leaves.length === 1) return sha(Buffer.from([0]), leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha(Buffer.from([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

const leavesArb = fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 70 });

/** A copy of the proof with one thing changed: a flipped bit, a dropped hash, an extra hash, or two swapped. */
const alteration = fc.record({ kind: fc.constantFrom('flip', 'drop', 'extra', 'swap'), at: fc.nat(), bit: fc.nat(255) });
function alter(proof: Buffer[], change: { kind: string; at: number; bit: number }): Buffer[] | null {
  const copy = proof.map((p) => Buffer.from(p));
  const at = change.at % Math.max(copy.length, 1);
  if (change.kind === 'extra') return [...copy, sha(Buffer.from([change.bit]))];
  if (copy.length === 0) return null;
  if (change.kind === 'flip') copy[at]![change.bit % 32]! ^= 1 << (change.bit % 8);
  if (change.kind === 'drop') copy.splice(at, 1);
  if (change.kind === 'swap') {
    const other = (at + 1) % copy.length;
    if (copy[other]!.equals(copy[at]!)) return null;
    [copy[at], copy[other]] = [copy[other]!, copy[at]!];
  }
  return copy;
}

t.test('the frontier computes MTH and stores exactly the perfect subtrees', async (t) => {
  fc.assert(fc.property(leavesArb, (leaves) => {
    const frontier = new Frontier();
    const nodes = new Map<string, Buffer>();
    leaves.forEach((leaf, i) => {
      frontier.append(leafHash(leaf), (level, index, hash) => nodes.set(`${level}/${index}`, hash));
      if (!frontier.root().equals(mth(leaves.slice(0, i + 1)))) throw new Error(`root differs at size ${i + 1}`);
    });
    for (const [key, hash] of nodes) {
      const [level, index] = key.split('/').map(Number) as [number, number];
      const width = 2 ** level;
      if (!hash.equals(mth(leaves.slice(index * width, (index + 1) * width)))) throw new Error(`node ${key} is wrong`);
    }
    return nodes.size === leaves.length - frontier.nodes.length;
  }));
  t.ok(new Frontier().root().equals(EMPTY_ROOT));
  t.ok(EMPTY_ROOT.equals(mth([])));
});

t.test('the edge appends batches level by level: every new perfect subtree once, and MTH after each batch', async (t) => {
  fc.assert(fc.property(leavesArb, fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1 }), (leaves, cuts) => {
    const edge = new TreeEdge();
    let done = 0;
    for (let i = 0; done < leaves.length; i++) {
      const batch = leaves.slice(done, done + cuts[i % cuts.length]!);
      const rows = edge.append(Buffer.concat(batch.map((leaf) => leafHash(leaf))));
      rows.forEach((row, level) => {
        const width = 2 ** level;
        const first = Math.floor(done / width);
        for (let k = 0; k < row.length / 32; k++) {
          const expected = mth(leaves.slice((first + k) * width, (first + k + 1) * width));
          if (expected.length !== 32 || (first + k + 1) * width > done + batch.length || !row.subarray(k * 32, k * 32 + 32).equals(expected)) throw new Error(`node ${level}/${first + k} is wrong`);
        }
        if (Math.floor((done + batch.length) / width) !== first + row.length / 32) throw new Error(`level ${level} misses nodes`);
      });
      done += batch.length;
      if (edge.size !== done || !edge.root().equals(mth(leaves.slice(0, done)))) throw new Error(`root differs at size ${done}`);
    }
    return true;
  }));
  t.ok(new TreeEdge().root().equals(EMPTY_ROOT));
});

t.test('every inclusion proof verifies, and no altered one does', async (t) => {
  fc.assert(fc.property(leavesArb, fc.nat(), alteration, (leaves, pick, change) => {
    const size = leaves.length;
    const index = pick % size;
    const subtree = (lo: number, hi: number) => mth(leaves.slice(lo, hi));
    const root = mth(leaves);
    const proof = inclusionProof(index, size, subtree);
    const leaf = leafHash(leaves[index]!);
    if (!verifyInclusion(index, size, leaf, proof, root)) return false;
    const altered = alter(proof, change);
    if (altered && verifyInclusion(index, size, leaf, altered, root)) return false;
    const otherIndex = (index + 1 + (change.at % size)) % size;
    if (otherIndex !== index && !leaves[otherIndex]!.every((b, i) => b === leaves[index]![i]) && verifyInclusion(otherIndex, size, leaf, proof, root)) return false;
    return !verifyInclusion(index, size, leafHash(Buffer.concat([leaves[index]!, Buffer.from([1])])), proof, root);
  }), { numRuns: 300 });
  t.notOk(verifyInclusion(3, 3, EMPTY_ROOT, [], EMPTY_ROOT), 'index beyond the tree');
  t.notOk(verifyInclusion(0, 2, EMPTY_ROOT, [Buffer.alloc(5)], EMPTY_ROOT), 'a hash of the wrong length');
});

t.test('every consistency proof verifies, and no altered one does', async (t) => {
  fc.assert(fc.property(leavesArb, fc.nat(), alteration, (leaves, pick, change) => {
    const n = leaves.length;
    const m = 1 + (pick % n);
    const subtree = (lo: number, hi: number) => mth(leaves.slice(lo, hi));
    const [first, second] = [mth(leaves.slice(0, m)), mth(leaves)];
    const proof = consistencyProof(m, n, subtree);
    if (!verifyConsistency(m, n, proof, first, second)) return false;
    const altered = alter(proof, change);
    if (altered && verifyConsistency(m, n, altered, first, second)) return false;
    if (m < n && verifyConsistency(m, n, proof, sha(first), second)) return false;
    return m === n || !verifyConsistency(m, n, proof, first, sha(second));
  }), { numRuns: 300 });
  t.ok(verifyConsistency(4, 4, [], EMPTY_ROOT, EMPTY_ROOT), 'a tree is consistent with itself');
  t.notOk(verifyConsistency(4, 4, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT), 'but not with a proof');
  t.notOk(verifyConsistency(0, 4, [], EMPTY_ROOT, EMPTY_ROOT), 'size 0 is refused');
  t.notOk(verifyConsistency(3, 4, [], EMPTY_ROOT, EMPTY_ROOT), 'an empty proof between different sizes');
});
