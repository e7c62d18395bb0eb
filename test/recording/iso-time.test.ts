import fc from 'fast-check';
import t from 'tap';
import { isoTime } from '../../src/pipeline/iso-time.js';

t.test('issue 11: isoTime is toISOString, for any millisecond a Date can hold', async (t) => {
  const now = Date.now();
  fc.assert(fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => isoTime(ms) === new Date(ms).toISOString()));
  fc.assert(fc.property(fc.integer({ min: 0, max: 5_000 }), (step) => isoTime(now + step) === new Date(now + step).toISOString()),
    { numRuns: 2_000 });
  t.equal(isoTime(Date.UTC(2026, 0, 1, 23, 59, 59, 7)), '2026-01-01T23:59:59.007Z');
  t.equal(isoTime(-1), '1969-12-31T23:59:59.999Z');
});
