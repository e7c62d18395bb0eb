// Issue 11: captured bodies travel as raw bytes and are decoded and redacted by the store's writer (settleBody).
import t from 'tap';
import { settleBody, withoutRawBodies, type AppendedRecord, type RawBody } from '../../src/audit/raw-body.js';
import { BodyRedactor, REDACTED } from '../../src/audit/redact.js';
import { makeRecord } from '../store/fixtures/helpers.js';

const redactor = new BodyRedactor(['password', 'token']);

function raw(bytes: Buffer, contentType: string | undefined = 'application/json'): RawBody {
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
  shared.set(bytes);
  return { bytes: shared, contentType };
}

t.test('a raw body is decoded and redacted; its bytes stand for its UTF-8 only when redaction left it as it came', async (t) => {
  const redacted = settleBody(raw(Buffer.from('{"user":"zoë","password":"hunter2"}')), redactor);
  t.same(redacted, { text: `{"user":"zoë","password":"${REDACTED}"}`, utf8: null });
  t.same(settleBody(raw(Buffer.from('token=abc&x=1')), redactor).text, 'token=abc&x=1', 'a JSON type is not read as a form');
  t.same(settleBody(raw(Buffer.from('token=abc&x=1'), 'application/x-www-form-urlencoded'), redactor), { text: `token=${REDACTED}&x=1`, utf8: null });

  const unchanged = raw(Buffer.from('{"user":"zoë"}'));
  const settled = settleBody(unchanged, redactor);
  t.equal(settled.text, '{"user":"zoë"}');
  t.ok(settled.utf8 && settled.utf8.buffer === unchanged.bytes.buffer, 'valid UTF-8, unchanged: the raw bytes themselves');
  const ascii = settleBody(raw(Buffer.from('{"n":1}')), redactor);
  t.equal(ascii.utf8?.toString(), '{"n":1}');

  const invalid = settleBody(raw(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d])), redactor); // {"\xff"}
  t.same(invalid, { text: '{"\ufffd"}', utf8: null }, 'invalid UTF-8: the text is not its bytes');
  t.same(settleBody(raw(Buffer.alloc(0)), redactor).text, '', 'an empty body stays empty');
});

t.test('withoutRawBodies copies the record without the key, its fields in their order', async (t) => {
  const record: AppendedRecord = { ...makeRecord(), rawBodies: { request: raw(Buffer.from('{}')) } };
  const stored = withoutRawBodies(record);
  t.notOk('rawBodies' in stored);
  t.same(Object.keys(stored), Object.keys(makeRecord()));
  t.ok(record.rawBodies, 'the appended record keeps its raw bodies, for a retry');
});
