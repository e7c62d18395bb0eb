import fc from 'fast-check';
import t from 'tap';
import { apiKeyRequestsParams } from '../../src/api/api-key-requests.js';
import { auditLogsParams } from '../../src/api/audit-logs.js';
import { cursorKey, decodeCursor, encodeCursor } from '../../src/api/cursor.js';
import { csvCell } from '../../src/api/export.js';
import { isoTimeMs, parseParams } from '../../src/api/params.js';

const requests = (search: string) => parseParams(search, apiKeyRequestsParams);

t.test('defaults and typed values', async (t) => {
  t.same(requests(''), { ok: true, value: { limit: 20, offset: 0 } });
  const parsed = requests('limit=100&offset=7&method=post&statusCode=404&from=2024-05-01&to=2024-05-01T12:00:00.5%2B02:00');
  t.ok(parsed.ok);
  if (!parsed.ok) return;
  t.equal(parsed.value.limit, 100);
  t.equal(parsed.value.offset, 7);
  t.equal(parsed.value.method, 'POST', 'methods are upper-cased');
  t.equal(parsed.value.statusCode, 404);
  t.equal(parsed.value.from, Date.UTC(2024, 4, 1));
  t.equal(parsed.value.to, Date.UTC(2024, 4, 1, 10, 0, 0, 500));
});

t.test('integers are plain decimal strings within their bounds', async (t) => {
  for (const bad of ['0', '101', 'abc', '1e1', '0x10', ' 5', '5.0', '-1', '', '+5']) {
    t.same(requests(`limit=${encodeURIComponent(bad)}`), { ok: false, message: 'limit must be an integer from 1 to 100' }, `limit=${bad}`);
  }
  t.same(requests('offset=-1'), { ok: false, message: 'offset must be an integer >= 0' });
  t.same(requests('statusCode=600'), { ok: false, message: 'statusCode must be an integer from 0 to 599' });
  t.same(parseParams('page_size=101', auditLogsParams), { ok: false, message: 'page_size must be an integer from 0 to 100' });
  t.same(parseParams('page_size=0', auditLogsParams), { ok: true, value: { current_page: 0, page_size: 0 } });
});

t.test('repeated, unknown and empty parameters are refused by name', async (t) => {
  t.same(requests('limit=5&limit=6'), { ok: false, message: 'limit must be given at most once' });
  t.same(requests('apiKeyId=a&apiKeyId=a'), { ok: false, message: 'apiKeyId must be given at most once' });
  t.same(requests('foo=1'), { ok: false, message: 'unknown parameter: foo' });
  t.same(requests('foo=1&bar=2'), { ok: false, message: 'unknown parameters: foo, bar' });
  t.same(requests('__proto__=x'), { ok: false, message: 'unknown parameter: __proto__' }, 'not swallowed by the prototype');
  t.same(requests('constructor=x&limit=5'), { ok: false, message: 'unknown parameter: constructor' });
  t.same(requests('apiKeyId='), { ok: false, message: 'apiKeyId must not be empty' });
  t.same(requests('path=things'), { ok: false, message: 'path must be a path starting with /' });
  t.same(requests('method=G%20T'), { ok: false, message: 'method must be an HTTP method name such as GET or POST' });
  t.same(parseParams('user_type=robot', auditLogsParams), { ok: false, message: 'user_type must be user or api_key' });
});

t.test('ISO 8601 times: dates and zoned date-times only, real calendar days', async (t) => {
  t.equal(isoTimeMs('2024-02-29'), Date.UTC(2024, 1, 29));
  t.equal(isoTimeMs('2024-02-29T23:59:59Z'), Date.UTC(2024, 1, 29, 23, 59, 59));
  t.equal(isoTimeMs('2024-02-29t10:00z'), Date.UTC(2024, 1, 29, 10), 'lower-case T and Z');
  for (const bad of ['2023-02-29', '2024-02-30', '2024-13-01', '2024-05-01T25:00Z', 'yesterday', '1714564800000', '2024-5-1']) {
    t.ok(Number.isNaN(isoTimeMs(bad)), bad);
  }
  t.match(requests('from=2024-02-30'), { ok: false, message: /^from must be an ISO 8601 date/ });
});

t.test('ISO 8601 extended and basic formats; a date-time without a zone is UTC', async (t) => {
  const instant = Date.UTC(2026, 10, 23, 11, 21, 44);
  for (const text of ['2026-11-23T11:21:44Z', '2026-11-23T11:21:44', '20261123T112144Z', '20261123T112144', '20261123t112144z',
    '2026-11-23T12:21:44+01:00', '2026-11-23T12:21:44+0100', '2026-11-23T12:21:44+01', '20261123T122144+0100', '20261123T122144+01',
    '2026-11-23T06:21:44-05:00', '2026-11-23T11:21:44-00:00', '2026-11-23T11:21:44.000000000Z', '2026-11-23T11:21:44,0Z']) {
    t.equal(isoTimeMs(text), instant, text);
  }
  t.equal(isoTimeMs('20261123'), Date.UTC(2026, 10, 23), 'a basic date is UTC midnight');
  t.equal(isoTimeMs('20261123T1121'), Date.UTC(2026, 10, 23, 11, 21), 'seconds are optional');
  t.equal(isoTimeMs('2026-11-23T11:21:44.5'), instant + 500);
  t.equal(isoTimeMs('2026-11-23T11:21:44.0005Z'), instant + 0.5, 'sub-millisecond fractions are kept, so inclusive bounds stay exact');
  t.equal(isoTimeMs('0050-01-01'), new Date('0050-01-01T00:00:00Z').getTime(), 'years below 100 are not read as 19xx');
});

t.test('times an attacker or a typo sends are refused, never guessed', async (t) => {
  for (const bad of ['2026-11-23T11:21:60Z', '2026-11-23T11:60Z', '2026-11-23T24:00:00Z', '2026-11-23T11:21:44+24:00',
    '2026-11-23T11:21:44+01:60', '20261323T000000Z', '20260230', '2026-11-23T112144Z', '20261123T11:21:44Z', '2026-11-23 11:21:44Z',
    '2026-11-23T11:21:44.1234567890Z', '2026-11-23T11Z', '2026-11-23T11:21:44ZZ', '2026-11-23T11:21:44+1', '+2026-11-23',
    '２０２６-11-23', '2026-11-23\u0000', `2026-11-23${'0'.repeat(10_000)}`, 'T11:21:44Z', '2026-W48-1', '2026-327', '']) {
    t.ok(Number.isNaN(isoTimeMs(bad)), JSON.stringify(bad.slice(0, 40)));
  }
  t.match(requests('from=2026-11-23T12:21:44+01:00'), { ok: false, message: /^from must be .*; a \+ in a query string reads as a space, send it as %2B$/ });
  t.same(requests('from=2026-11-23T11:21:44&from=2026-11-23T11:21:45'), { ok: false, message: 'from must be given at most once' });
});

t.test('every instant round-trips through each accepted format', async (t) => {
  const instants = fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(9998, 11, 31, 23, 59, 59, 999) }); // local times stay in 4-digit years
  const offsets = fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 });
  fc.assert(fc.property(instants, offsets, (ms, offset) => {
    const iso = new Date(ms).toISOString();
    const local = new Date(ms + offset * 60_000).toISOString().slice(0, -1);
    const zone = `${offset < 0 ? '-' : '+'}${String(Math.trunc(Math.abs(offset) / 60)).padStart(2, '0')}:${String(Math.abs(offset) % 60).padStart(2, '0')}`;
    const basic = (text: string) => text.replaceAll('-', '').replaceAll(':', '');
    return [iso, iso.slice(0, -1), basic(iso), `${local}${zone}`, `${basic(local)}${zone.replace(':', '')}`]
      .every((text) => isoTimeMs(text) === ms);
  }), { numRuns: 2000 });
  t.pass('2000 instants and offsets');
});

t.test('cursors are bound to their filters and signed', async (t) => {
  const key = cursorKey('installation secret');
  const filter = { organizationId: 'org-a', apiKeyId: 'k' };
  const cursor = encodeCursor(filter, 'store-position', key)!;
  t.equal(decodeCursor({ apiKeyId: 'k', organizationId: 'org-a', userId: undefined }, cursor, key), 'store-position', 'key order and undefined do not matter');
  t.equal(decodeCursor({ organizationId: 'org-b', apiKeyId: 'k' }, cursor, key), null, 'another organization');
  t.equal(decodeCursor(filter, cursor, cursorKey('another installation')), null, 'another installation');
  t.equal(decodeCursor(filter, 'not-a-cursor', key), null);
  t.equal(decodeCursor(filter, `${cursor}x`, key), null);
  t.equal(decodeCursor(filter, `x${cursor}`, key), null, 'another position under the same tag');
  const [payload, tag] = cursor.split('.');
  t.equal(decodeCursor(filter, `${payload}.${tag!.slice(0, -1)}${tag!.endsWith('A') ? 'B' : 'A'}`, key), null, 'a changed tag');
  t.equal(encodeCursor(filter, null, key), null, 'the last page has no cursor');
});

t.test('CSV cells: RFC 4180 quoting and formula neutralisation', async (t) => {
  t.equal(csvCell('plain'), 'plain');
  t.equal(csvCell(null), '');
  t.equal(csvCell(404), '404');
  t.equal(csvCell('a,b'), '"a,b"');
  t.equal(csvCell('say "hi"'), '"say ""hi"""');
  t.equal(csvCell('two\nlines'), '"two\nlines"');
  t.equal(csvCell('=SUM(A1)'), "'=SUM(A1)");
  t.equal(csvCell('+1'), "'+1");
  t.equal(csvCell('-2'), "'-2");
  t.equal(csvCell('@cmd'), "'@cmd");
  t.equal(csvCell('=HYPERLINK("x",1)'), '"\'=HYPERLINK(""x"",1)"');
  t.equal(csvCell('\t=HYPERLINK("x",1)'), '"\'\t=HYPERLINK(""x"",1)"', 'a leading tab is neutralised too');
  t.equal(csvCell('\r=1+1'), '"\'\r=1+1"', 'and a leading carriage return');
});
