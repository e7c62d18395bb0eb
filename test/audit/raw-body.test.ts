// Issue 11: captured bodies travel as raw bytes and are decoded and redacted by the store's writer (settleBodies).
import t from 'tap';
import { settleBodies, type AppendedRecord, type RawBody } from '../../src/audit/raw-body.js';
import { BodyRedactor, REDACTED } from '../../src/audit/redact.js';
import { makeRecord } from '../store/fixtures/helpers.js';

const redactor = new BodyRedactor(['password', 'token']);

function raw(text: string, contentType: string | undefined = 'application/json'): RawBody {
  const utf8 = Buffer.from(text);
  const bytes = new Uint8Array(new SharedArrayBuffer(utf8.length));
  bytes.set(utf8);
  return { bytes, contentType };
}

t.test('raw bodies are decoded and redacted into requestBody and responseBody; the stored record has no rawBodies key', async (t) => {
  const record: AppendedRecord = {
    ...makeRecord(),
    rawBodies: { request: raw('{"user":"zoë","password":"hunter2"}'), response: raw('token=abc&x=1', 'application/x-www-form-urlencoded') },
  };
  const settled = settleBodies(record, redactor);
  t.equal(settled.requestBody, `{"user":"zoë","password":"${REDACTED}"}`);
  t.equal(settled.responseBody, `token=${REDACTED}&x=1`);
  t.notOk('rawBodies' in settled);
  t.same(Object.keys(settled), Object.keys(makeRecord()), 'the fields of a record without raw bodies, in their order');
  t.ok(record.rawBodies, 'the appended record keeps its raw bodies, for a retry');
});

t.test('a record without raw bodies is stored as it is; an empty body is stored empty', async (t) => {
  const record = makeRecord({ requestBody: 'as given' });
  t.equal(settleBodies(record, redactor), record);
  t.equal(settleBodies({ ...makeRecord(), rawBodies: { request: raw('') } }, redactor).requestBody, '');
});
