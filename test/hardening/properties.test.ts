// Issue 7, item 4: property-based tests (fast-check, fixed seed) of query parsing, header masking and body redaction.
import t from 'tap';
import fc from 'fast-check';
import { BUILT_IN_MASKED_HEADERS, maskHeaders } from '../../src/audit/mask.js';
import { BodyRedactor, REDACTED } from '../../src/audit/redact.js';
import { parseQuery } from '../../src/pipeline/record.js';

const RUNS = { seed: 42, numRuns: 300 };
const SENSITIVE = ['password', 'secret', 'token', 'api_key', 'client_secret'];
const redactor = new BodyRedactor(SENSITIVE);

/** A secret with a recognisable, unique middle (hints keep at most the first 3 and last 4 characters). */
const secretArb = fc.string({ unit: fc.constantFrom(...'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'), minLength: 12, maxLength: 40 })
  .map((s) => `S3CR3T${s}`);
const middleOf = (secret: string) => secret.slice(3, -4);
const anyCase = (key: string) => fc.array(fc.boolean(), { minLength: key.length, maxLength: key.length })
  .map((upper) => [...key].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));
const sensitiveKeyArb = fc.constantFrom(...SENSITIVE).chain(anyCase);
const plainKeyArb = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !redactor.isSensitive(k));

t.test('parseQuery: every parameter comes back, in order, repeated ones as arrays; never throws or pollutes', async (t) => {
  const pairs = fc.array(fc.tuple(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty')), fc.string()), { maxLength: 12 });
  fc.assert(fc.property(pairs, (list) => {
    const parsed = parseQuery(new URLSearchParams(list).toString());
    const expected = new Map<string, string[]>();
    for (const [k, v] of list) expected.set(k, [...(expected.get(k) ?? []), v]);
    if (Object.getPrototypeOf(parsed) !== null) return false;
    if (Object.keys(parsed).length !== expected.size) return false;
    for (const [k, values] of expected) {
      const got = parsed[k];
      if (JSON.stringify(values.length === 1 ? values[0] : values) !== JSON.stringify(got)) return false;
    }
    return true;
  }), RUNS);
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (raw) => {
    parseQuery(raw);
    parseQuery(raw.replace(/[^&=]/g, (c) => (c === 'x' ? '%' : c)));
    return ({} as Record<string, unknown>).polluted === undefined;
  }), RUNS);
  t.pass('properties held');
});

t.test('maskHeaders: no masked header keeps a secret\'s middle; every other header is kept as it was', async (t) => {
  const masked = new Set([...BUILT_IN_MASKED_HEADERS, 'x-tenant-key']);
  const scheme = fc.constantFrom('', 'Bearer ', 'Basic ', 'Token ', 'bearer  ');
  fc.assert(fc.property(fc.constantFrom(...masked), scheme, secretArb, fc.dictionary(plainKeyArb.map((k) => `x-${k.toLowerCase()}`), fc.string()), (name, prefix, secret, others) => {
    const value = name === 'cookie' || name === 'set-cookie' ? `sid=${secret}; theme=${secret}x` : `${prefix}${secret}`;
    const out = maskHeaders({ ...others, [name]: value }, masked);
    if (out[name]!.includes(middleOf(secret))) return false;
    return Object.entries(others).every(([k, v]) => masked.has(k) || out[k] === v);
  }), RUNS);
  fc.assert(fc.property(fc.constantFrom(...masked), fc.array(secretArb, { minLength: 2, maxLength: 3 }), (name, secrets) => {
    const out = maskHeaders({ [name]: secrets.map((s) => `Bearer ${s}`) }, masked);
    return secrets.every((s) => !out[name]!.includes(middleOf(s)));
  }), RUNS);
  t.pass('properties held');
});

/** Any JSON document with secrets under sensitive keys at random depths. */
const docArb = fc.letrec((tie) => ({
  doc: fc.oneof({ depthSize: 'small' },
    fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)),
    fc.array(tie('doc'), { maxLength: 4 }),
    fc.dictionary(plainKeyArb, tie('doc'), { maxKeys: 4 }),
    fc.tuple(sensitiveKeyArb, fc.oneof(secretArb, secretArb.map((s) => ({ nested: s })), secretArb.map((s) => [s, s])), fc.dictionary(plainKeyArb, tie('doc'), { maxKeys: 3 }))
      .map(([key, value, rest]) => ({ ...rest, [key]: value }))),
})).doc;

function secretsIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string' && value.startsWith('S3CR3T')) out.push(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) secretsIn(v, out);
  return out;
}

function expectedRedaction(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(expectedRedaction);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactor.isSensitive(k) ? REDACTED : expectedRedaction(v)]));
  }
  return value;
}

t.test('JSON redaction: sensitive keys at any depth and in any case become [REDACTED]; nothing else changes', async (t) => {
  fc.assert(fc.property(docArb, (doc) => {
    const text = JSON.stringify(doc);
    const out = redactor.redact(text, 'application/json');
    return secretsIn(doc).every((s) => !out.includes(middleOf(s))) && JSON.stringify(JSON.parse(out)) === JSON.stringify(expectedRedaction(doc));
  }), RUNS);
  t.pass('properties held');
});

t.test('truncated JSON (cut anywhere) still leaks no secret', async (t) => {
  fc.assert(fc.property(docArb, fc.nat(), fc.boolean(), (doc, cutAt, pretty) => {
    const text = pretty ? JSON.stringify(doc, null, 2) : JSON.stringify(doc);
    const cut = text.slice(0, cutAt % (text.length + 1));
    const out = redactor.redact(cut, 'application/json');
    return secretsIn(doc).every((s) => !out.includes(middleOf(s)));
  }), RUNS);
  t.pass('properties held');
});

t.test('form bodies: sensitive fields in any case are redacted, the rest kept', async (t) => {
  const fields = fc.array(fc.oneof(fc.tuple(sensitiveKeyArb, secretArb), fc.tuple(plainKeyArb, fc.string())), { maxLength: 8 });
  fc.assert(fc.property(fields, (list) => {
    const text = new URLSearchParams(list).toString();
    const out = redactor.redact(text, 'application/x-www-form-urlencoded');
    const leaked = list.some(([k, v]) => redactor.isSensitive(k) && out.includes(middleOf(v)));
    const kept = [...new URLSearchParams(out)].every(([k, v], i) => (redactor.isSensitive(k) ? v === REDACTED : v === list[i]![1]));
    return !leaked && kept;
  }), RUNS);
  t.pass('properties held');
});
