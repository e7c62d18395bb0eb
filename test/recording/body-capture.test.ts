import t from 'tap';
import { settleBody } from '../../src/audit/raw-body.js';
import { BodyRedactor } from '../../src/audit/redact.js';
import { BodyCapture } from '../../src/pipeline/capture.js';

function captured(chunks: Buffer[], maxBytes = 1_024): BodyCapture {
  const capture = new BodyCapture(maxBytes);
  for (const chunk of chunks) capture.add(chunk);
  return capture;
}

/** The text the store's writer decodes from the captured bytes (no key redacted). */
const text = (capture: BodyCapture): string => settleBody({ bytes: capture.bytes(), contentType: 'text/plain' }, new BodyRedactor([])).text;

t.test('issue 11: the kept bytes decode as UTF-8; a character split across chunks still decodes whole', async (t) => {
  t.equal(text(captured([Buffer.from('{"a":'), Buffer.from('"b"}')])), '{"a":"b"}');
  const utf8 = Buffer.from('{"name":"Zoë ✓"}');
  const split = utf8.indexOf(0xc3) + 1; // inside ë
  t.equal(text(captured([utf8.subarray(0, split), utf8.subarray(split)])), '{"name":"Zoë ✓"}');
  t.equal(text(captured([Buffer.from('ascii first, '), Buffer.from('then ✓')])), 'ascii first, then ✓');
  t.equal(text(captured([])), '');
});

t.test('the kept bytes stop at maxBytes and the capture says it was truncated', async (t) => {
  const capture = captured([Buffer.from('abcdef'), Buffer.from('ghij')], 8);
  t.equal(text(capture), 'abcdefgh');
  t.equal(capture.truncated, true);
});

t.test('issue 11: the bytes are in shared memory of their own: a clone (a post to the writer thread) shares them, the chunks stay apart', async (t) => {
  const pooled = Buffer.from('{"a":1}{"b":2}'); // small buffers are slices of one shared pool
  t.ok(pooled.buffer.byteLength > pooled.length, 'the chunk is a slice of a larger buffer');
  const bytes = captured([pooled.subarray(0, 7), pooled.subarray(7)]).bytes();
  t.equal(bytes.buffer.byteLength, 14);
  const clone = structuredClone(bytes);
  clone[0] = 0x5b;
  t.equal(bytes[0], 0x5b, 'the clone shares the bytes, not a copy of them');
  t.equal(pooled.toString(), '{"a":1}{"b":2}', 'the captured chunks are not shared');
});
