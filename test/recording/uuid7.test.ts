import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { uuidv7 } from '../../src/pipeline/uuid7.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
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
  // Each process says it is ready, then generates over the 50 ms after the start time it is sent: both are running
  // by then however long a loaded machine takes to start them.
  const script = `import(${JSON.stringify(module)}).then(({ uuidv7 }) => {
    process.stdout.write('ready\\n');
    process.stdin.once('data', (line) => {
      const start = Number(String(line));
      while (Date.now() < start);
      const ids = []; for (let now = Date.now(); now < start + 50; now = Date.now()) ids.push(uuidv7(now));
      process.stdout.write(ids.join('\\n'));
      process.stdin.destroy();
    });
  })`;
  const children = [0, 1].map(() => spawn(process.execPath, ['-e', script], { env: { ...process.env, NODE_OPTIONS: '' } }));
  const outputs = children.map((child) => new Promise<string>((done) => {
    let out = '';
    child.stdout.setEncoding('latin1').on('data', (chunk: string) => (out += chunk));
    child.on('close', () => done(out));
  }));
  await Promise.all(children.map((child) => once(child.stdout, 'data')));
  const start = Date.now() + 300;
  for (const child of children) child.stdin.write(`${start}\n`);
  const [a, b] = (await Promise.all(outputs)).map((out) => out.replace(/^ready\n/, ''));
  const ids = [...a.split('\n'), ...b.split('\n')];
  t.ok(ids.length > 1_000, `${ids.length} ids`);
  t.equal(new Set(ids).size, ids.length, 'no id generated twice');
  t.ok(ids.every((id) => V7.test(id)), 'every id a valid UUIDv7');
  const shared = new Set(a.split('\n').map(msOf));
  t.ok(b.split('\n').some((id) => shared.has(msOf(id))), 'the processes shared milliseconds');
});
