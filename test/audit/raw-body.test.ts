// Issue 11: captured bodies travel as raw bytes and are decoded and redacted by the store's writer (settleBodies).
import t from 'tap';
import { BODY_LOST, movableBodies, settleBodies, type AppendedRecord, type RawBody } from '../../src/audit/raw-body.js';
import { BodyRedactor, REDACTED } from '../../src/audit/redact.js';
import { makeRecord } from '../store/fixtures/helpers.js';

const redactor = new BodyRedactor(['password', 'token']);

function raw(text: string, contentType: string | undefined = 'application/json'): RawBody {
  const bytes = new Uint8Array(Buffer.from(text));
  return { bytes, size: bytes.byteLength, contentType };
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
});

t.test('a record without raw bodies is stored as it is', async (t) => {
  const record = makeRecord({ requestBody: 'as given' });
  t.equal(settleBodies(record, redactor), record);
});

t.test('bytes moved to a thread that died are stored as lost, never as an empty body; an empty body stays empty', async (t) => {
  const moved = raw('{"a":1}');
  const record: AppendedRecord = { ...makeRecord(), rawBodies: { request: moved, response: raw('') } };
  t.same(movableBodies([record]), [moved], 'an empty body has nothing to move');
  structuredClone(moved.bytes, { transfer: [moved.bytes.buffer] }); // what posting the batch does
  t.same(movableBodies([record]), [], 'the detached bytes are not moved again');
  t.match(settleBodies(record, redactor), { requestBody: BODY_LOST, responseBody: '' });
});
