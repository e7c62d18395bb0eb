import fc from 'fast-check';
import t from 'tap';
import { isoTime, recordTimeMs } from '../../src/audit/iso-time.js';

t.test('issue 11: isoTime is toISOString, for any millisecond a Date can hold', async (t) => {
  const now = Date.now();
  fc.assert(fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => isoTime(ms) === new Date(ms).toISOString()));
  fc.assert(fc.property(fc.integer({ min: 0, max: 5_000 }), (step) => isoTime(now + step) === new Date(now + step).toISOString()),
    { numRuns: 2_000 });
  t.equal(isoTime(Date.UTC(2026, 0, 1, 23, 59, 59, 7)), '2026-01-01T23:59:59.007Z');
  t.equal(isoTime(-1), '1969-12-31T23:59:59.999Z');
});

t.test('issue 11: recordTimeMs reads back what isoTime wrote, and is Date.parse for any other text', async (t) => {
  fc.assert(fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => recordTimeMs(isoTime(ms)) === ms));
  const near = fc.constantFrom('2026-11-23T18:30:00.123Z', '2026-13-45T99:99:99.000Z', '2026-11-23T18:30:00.12aZ', '2026-11-23T18:30:00,123Z',
    '2026-11-23T18:30:00.123+', '2026-11-23 18:30:00.123Z', 'not a time at all, 24 ch');
  fc.assert(fc.property(fc.oneof(near, fc.string({ minLength: 20, maxLength: 28 })), (text) => Object.is(recordTimeMs(text), Date.parse(text))));
  t.equal(recordTimeMs('2026-11-23T18:30:00.123Z'), Date.UTC(2026, 10, 23, 18, 30, 0, 123));
  t.ok(Number.isNaN(recordTimeMs('2026-02-30T00:00:00.000Z')) === Number.isNaN(Date.parse('2026-02-30T00:00:00.000Z')), 'an impossible day as Date.parse has it');
});
