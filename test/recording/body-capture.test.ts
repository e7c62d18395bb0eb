import t from 'tap';
import { BodyCapture } from '../../src/pipeline/capture.js';

function captured(chunks: Buffer[], maxBytes = 1_024): BodyCapture {
  const capture = new BodyCapture(maxBytes);
  for (const chunk of chunks) capture.add(chunk);
  return capture;
}

t.test('issue 11: ASCII chunks decode one by one; a character split across chunks still decodes whole', async (t) => {
  t.equal(captured([Buffer.from('{"a":'), Buffer.from('"b"}')]).text(), '{"a":"b"}');
  const utf8 = Buffer.from('{"name":"Zoë ✓"}');
  const split = utf8.indexOf(0xc3) + 1; // inside ë
  t.equal(captured([utf8.subarray(0, split), utf8.subarray(split)]).text(), '{"name":"Zoë ✓"}');
  t.equal(captured([Buffer.from('ascii first, '), Buffer.from('then ✓')]).text(), 'ascii first, then ✓');
  t.equal(captured([]).text(), '');
});

t.test('the kept bytes stop at maxBytes and the capture says it was truncated', async (t) => {
  const capture = captured([Buffer.from('abcdef'), Buffer.from('ghij')], 8);
  t.equal(capture.text(), 'abcdefgh');
  t.equal(capture.truncated, true);
});
