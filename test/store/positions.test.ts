// Packed positions (positions.ts): both layouts decode to what was encoded; UUIDv7 ids take 17 bytes a slot.
import fc from 'fast-check';
import t from 'tap';
import type { Position } from '../../src/store/cursor.js';
import { decodePositions, encodePositions, slotCount, visitSlots } from '../../src/store/positions.js';

const MS = Date.parse('2026-11-23T12:00:00.000Z');
const hex = (value: number, digits: number) => value.toString(16).padStart(digits, '0');
const uuidAt = (ms: number, tail: number) => {
  const time = hex(ms, 12);
  return `${time.slice(0, 8)}-${time.slice(8)}-7abc-8def-${hex(tail, 12)}`;
};

const position: fc.Arbitrary<Position | null> = fc.oneof(
  fc.constant(null),
  fc.record({ ms: fc.integer({ min: MS - 5_000, max: MS + 5_000 }), tail: fc.nat() }).map(({ ms, tail }) => ({ ms, id: uuidAt(ms, tail) })),
  fc.record({ ms: fc.integer({ min: 0, max: 2 ** 47 }), id: fc.uuid() }),
  fc.record({ ms: fc.integer({ min: -1e15, max: 1e15 }), id: fc.string({ minLength: 1, maxLength: 70, unit: 'binary' }) }),
  fc.uuid().map((id) => ({ ms: MS, id: id.toUpperCase() })),
);

t.test('any positions decode to what was encoded, slot by slot, in either layout', async (t) => {
  fc.assert(fc.property(fc.array(position, { maxLength: 40 }), fc.boolean(), (positions, fractional) => {
    const input = fractional && positions.some(Boolean) ? positions.map((p) => (p ? { ...p, ms: p.ms + 0.5 } : p)) : positions;
    const value = encodePositions(input);
    t.same(decodePositions(value), input);
    t.equal(slotCount(value), input.length);
    const from = Math.floor(input.length / 3);
    const seen: [number, number, string][] = [];
    visitSlots(value, from, input.length - 1, (slot, ms, id) => seen.push([slot, ms, id]));
    const expected = input.flatMap((p, slot) => (p && slot >= from && slot < input.length - 1 ? [[slot, p.ms, p.id] as [number, number, string]] : []));
    return JSON.stringify(seen) === JSON.stringify(expected);
  }), { numRuns: 300 });
});

t.test('a UUIDv7 position costs 17 bytes, another UUID 18-19, a removed slot 1', async (t) => {
  const timed = Array.from({ length: 10 }, (_, i) => ({ ms: MS + i, id: uuidAt(MS + i, i) }));
  t.equal(encodePositions(timed).length, 4 + 10 * 17, 'no ms kept: the id holds it');
  t.equal(encodePositions([...timed, null]).length, 4 + 10 * 17 + 1);
  const other = [{ ms: MS, id: uuidAt(MS - 1, 1) }, { ms: MS + 500, id: uuidAt(MS, 2) }];
  t.equal(encodePositions(other).length, 4 + 8 + (1 + 1 + 16) + (1 + 2 + 16), 'a base, then the offset from it');
  t.equal(encodePositions([{ ms: MS, id: 'x' }]).length, 4 + 8 + 1 + 1 + 1 + 1, 'any other id as text');
});

t.test('positions written by schema 2 (the wide layout) still decode', async (t) => {
  // count 2; float64 ms, uint16 length, UTF-8 id; a removed slot has length 0
  const id = uuidAt(MS, 7);
  const wide = Buffer.alloc(4 + 10 + 36 + 10);
  wide.writeUInt32LE(2, 0);
  wide.writeDoubleLE(MS, 4);
  wide.writeUInt16LE(36, 12);
  wide.write(id, 14, 'utf8');
  t.same(decodePositions(wide), [{ ms: MS, id }, null]);
  t.equal(slotCount(wide), 2);
  const seen: number[] = [];
  visitSlots(wide, 1, 2, (slot) => seen.push(slot));
  t.same(seen, [], 'the removed slot is skipped');
});
