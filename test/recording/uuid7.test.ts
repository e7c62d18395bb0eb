import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import t from 'tap';
import { uuidv7 } from '../../src/pipeline/uuid7.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** A millisecond both processes stamp: 2026-11-23T00:00:00Z. */
const SHARED_MS = 1_795_392_000_000;
const msOf = (id: string): number => Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

t.test('ids are valid UUIDv7, stamped with their millisecond, strictly increasing even when the clock steps back', async (t) => {
  let prior = uuidv7(Date.now());
  let stamped = msOf(prior);
  fc.assert(fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 300 }), (steps) => {
    for (const step of steps) {
      const ms = stamped + step;
      const id = uuidv7(ms);
      stamped = Math.max(stamped, ms);
      if (!V7.test(id) || msOf(id) !== stamped || id <= prior) return false;
      prior = id;
    }
    return true;
  }), { numRuns: 500 });
  t.equal(msOf(uuidv7(0x123456789abc)), 0x123456789abc, 'all 48 bits of the millisecond');
  t.pass('every id valid, stamped and greater than the one before');
});

t.test('ids are unique across processes generating in the same milliseconds', async (t) => {
  const module = resolve('dist/src/pipeline/uuid7.js');
  // Both stamp the same 50 milliseconds, 400 ids each, given as arguments rather than read from the clock: two
  // processes on busy cores need not run in the same real milliseconds, and this is what a collision would need.
  const script = `import(${JSON.stringify(module)}).then(({ uuidv7 }) => {
    const ids = []; for (let ms = ${SHARED_MS}; ms < ${SHARED_MS + 50}; ms++) for (let i = 0; i < 400; i++) ids.push(uuidv7(ms));
    process.stdout.write(ids.join('\\n'));
  })`;
  const run = () => promisify(execFile)(process.execPath, ['-e', script], { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NODE_OPTIONS: '' } });
  const [a, b] = await Promise.all([run(), run()]);
  const ids = [...a.stdout.split('\n'), ...b.stdout.split('\n')];
  t.equal(ids.length, 40_000);
  t.equal(new Set(ids).size, ids.length, 'no id generated twice');
  t.ok(ids.every((id) => V7.test(id)), 'every id a valid UUIDv7');
  const shared = new Set(a.stdout.split('\n').map(msOf));
  t.ok(b.stdout.split('\n').some((id) => shared.has(msOf(id))), 'the processes shared milliseconds');
});
