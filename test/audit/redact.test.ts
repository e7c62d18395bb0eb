import t from 'tap';
import { BodyRedactor } from '../../src/audit/redact.js';

const redactor = new BodyRedactor(['password', 'token']);

t.test('a body with nothing to redact is kept exactly as sent', async (t) => {
  const pretty = '{\n  "user": "a",\n  "tags": ["x", "y"]\n}';
  t.equal(redactor.redact(pretty, 'application/json'), pretty);
  t.equal(redactor.redact('plain text, "not json"', 'text/plain'), 'plain text, "not json"');
});

t.test('sensitive values are replaced in place, the rest of the formatting kept', async (t) => {
  const pretty = '{\n  "user": "a",\n  "Password" : "hunter2",\n  "nested": {"token": ["t1", "t2"]}\n}';
  t.equal(redactor.redact(pretty, 'application/json'), '{\n  "user": "a",\n  "Password" : "[REDACTED]",\n  "nested": {"token": "[REDACTED]"}\n}');
});

t.test('escaped key spellings are caught by a real parse', async (t) => {
  t.equal(redactor.redact('{"passwor\\u0064":"s3cret","q":"a\\"b"}', 'application/json'), '{"password":"[REDACTED]","q":"a\\"b"}');
  t.equal(redactor.redact('{"note":"say \\"password\\": no"}', 'application/json'), '{"note":"say \\"password\\": no"}',
    'a key name inside a string value is not a key');
});
