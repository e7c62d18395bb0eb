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
  for (const bad of ['2023-02-29', '2024-02-30', '2024-13-01', '2024-05-01T12:00:00', '2024-05-01T25:00Z', 'yesterday', '1714564800000', '2024-5-1']) {
    t.ok(Number.isNaN(isoTimeMs(bad)), bad);
  }
  t.match(requests('from=2024-02-30'), { ok: false, message: /^from must be an ISO 8601 date/ });
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
});
