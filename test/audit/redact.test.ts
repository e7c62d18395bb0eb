import t from 'tap';
import fc from 'fast-check';
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

t.test('escaped key spellings are decoded, the body kept as sent', async (t) => {
  t.equal(redactor.redact('{"passwor\\u0064":"s3cret","q":"a\\"b"}', 'application/json'), '{"passwor\\u0064":"[REDACTED]","q":"a\\"b"}');
  t.equal(redactor.redact('{"note":"say \\"password\\": no"}', 'application/json'), '{"note":"say \\"password\\": no"}',
    'a key name inside a string value is not a key');
});

t.test('issue 10, finding 9: every spelling of a sensitive name is redacted', async (t) => {
  const r = new BodyRedactor(['password', 'token', 'api_key']);
  t.equal(r.redact('user=a&Password=s1&x=1', 'Application/X-WWW-Form-Urlencoded; Charset=UTF-8'), 'user=a&Password=[REDACTED]&x=1', 'media type in any case');
  t.equal(r.redact('user%5Bpass%77ord%5D=s2;api-key=s3&ok=1', 'application/x-www-form-urlencoded'),
    'user%5Bpass%77ord%5D=[REDACTED];api-key=[REDACTED]&ok=1', 'percent-encoded, nested and ;-separated names');
  t.equal(r.redact('bad%ZZname=s4', 'application/x-www-form-urlencoded'), 'bad%ZZname=[REDACTED]', 'a name that cannot be decoded');
  t.equal(r.redact('{"a":1,"\\u0070assword":"s5","pad":"ppp', 'application/json'), '{"a":1,"\\u0070assword":"[REDACTED]","pad":"ppp',
    'an escaped key in a body cut short, redacted in place');
  t.equal(r.redact('{"\\u00zzkey":"s6"}', 'application/json'), '{"\\u00zzkey":"[REDACTED]"}', 'a key whose escape is broken');
  t.equal(r.redact('{"userPassword":"s7","Access-Token":{"v":"s8"},"max_tokens":5}', 'application/json'),
    '{"userPassword":"[REDACTED]","Access-Token":"[REDACTED]","max_tokens":5}', 'normalized names; max_tokens is not a token');
  t.equal(r.redact('{"pass_word":"x","Api.Key":"s17"}', 'application/json'), '{"pass_word":"x","Api.Key":"[REDACTED]"}',
    'separators between the words of a name, not inside them');
  const many = Object.fromEntries(Array.from({ length: 1_500 }, (_, i) => [`field_${i}_token`, `s${i}`]));
  t.ok(Object.values(r.redactQuery({ ...many })).every((v) => v === '[REDACTED]'), 'past the remembered names, still right');
  t.equal(r.redact('a"b "password": "s9"', 'text/plain'), 'a"b "password": "[REDACTED]"', 'quotes out of step still redact plain keys');
  t.equal(r.redact('error=x&Access-Token=s15', undefined), 'error=x&Access-Token=[REDACTED]', 'no Content-Type: a form by its shape');
  t.equal(r.redact('{"token":"s16"}', undefined), '{"token":"[REDACTED]"}', 'no Content-Type: JSON by its shape');
  const utf16 = Buffer.from('{"password":"s10"}', 'utf16le').toString('utf8');
  t.equal(r.redact(utf16, 'application/json'), '[unredactable body omitted]', 'UTF-16 without a charset (NUL bytes)');
  t.equal(r.redact('{}', 'application/json; charset="UTF-16"'), '[unredactable body omitted]', 'a UTF-16 charset');
  t.same(r.redactQuery({ 'token[]': ['s11', 's12'], a: '1;token=s13', b: ['x', 'y;API_KEY=s14'], c: 'plain' }),
    { 'token[]': '[REDACTED]', a: '1;token=[REDACTED]', b: ['x', 'y;API_KEY=[REDACTED]'], c: 'plain' });
});

t.test('issue 11: the key check before the JSON walk', async (t) => {
  const r = new BodyRedactor(['password', 'access_token']);
  const big = `{"data":"${'a'.repeat(16_373)}"}`;
  t.equal(r.redact(big, 'application/json'), big, 'a 16 KiB value without a sensitive key is kept as sent');
  t.equal(r.redact(`{"data":"${'password'.repeat(500)}"}`, 'application/json'), `{"data":"${'password'.repeat(500)}"}`,
    'a key name inside a value is not a key');
  t.equal(r.redact('{"PassWord" \n\t: "s1"}', 'application/json'), '{"PassWord" \n\t: "[REDACTED]"}', 'mixed case, space before the colon');
  t.equal(r.redact('{"\\u0070assword":"s2"}', 'application/json'), '{"\\u0070assword":"[REDACTED]"}', 'an escaped key');
  t.equal(r.redact('{"a":1,"x_Access-Token":"s3","b":"cut sho', 'application/json'), '{"a":1,"x_Access-Token":"[REDACTED]","b":"cut sho',
    'a body cut short after a sensitive key');
  t.equal(r.redact('{"a":1,"passw', 'application/json'), '{"a":1,"passw', 'a body cut inside a key: no key, nothing to hide');
  t.equal(r.redact(`{"${'x'.repeat(200)}password":"s4"}`, 'application/json'), `{"${'x'.repeat(200)}password":"[REDACTED]"}`,
    'a long key ending with a sensitive name');
  t.equal(r.redact('user=a&pass%77ord=s5', 'application/x-www-form-urlencoded'), 'user=a&pass%77ord=[REDACTED]', 'form bodies keep their own walk');
  t.equal(r.redact(':"password": "s6"', 'text/plain'), ':"password": "[REDACTED]"', 'a colon before any quote');
});

t.test('issue 11: the key check agrees with the regular expression it replaced', async (t) => {
  const keys = ['password', 'access_token'];
  const r = new BodyRedactor(keys);
  const between = '[^a-z0-9"\\\\]*';
  const spelled = keys.map((k) => k.split('_').join(between)).join('|');
  const replaced = new RegExp(`(?:${spelled})${between}"\\s*:`, 'i');
  const piece = fc.constantFrom('"', ':', ' ', '\n', '\u00a0', 'a', 'x', '-', '_', 'Pass', 'word', 'ACCESS', 'token', '{', ',', 'password');
  fc.assert(fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
    const text = pieces.join('');
    return r.hasSensitiveKey(text) === replaced.test(text);
  }), { numRuns: 5_000 });
  t.pass('5,000 texts agree');
});
