// Issue 10, finding 6: the one normalization of a request target, as a function of the target alone.
import t from 'tap';
import { parseTarget } from '../../src/pipeline/target.js';

t.test('origin-form and absolute-form targets become one path and query, taken as sent', async (t) => {
  const cases: [string, string][] = [
    ['/v1/x?q=1', '/v1/x?q=1'],
    ['//double//slash', '//double//slash'],
    ['http://host/v1/x?q=..', '/v1/x?q=..'],
    ['HTTPS://host:8443/a%20b', '/a%20b'],
    ['http://host', '/'],
    ['http://host?q=1', '/?q=1'],
    ['/v1/file.txt/...', '/v1/file.txt/...'],
    ['/v1/%2efile', '/v1/%2efile'],
    ['/v1/a;b=1/..c', '/v1/a;b=1/..c'],
    ['/v1/%23tag', '/v1/%23tag'],
  ];
  for (const [target, url] of cases) t.same(parseTarget(target), { ok: true, url }, target);
});

t.test('targets that are not paths, or whose path is ambiguous, are refused with a reason', async (t) => {
  const cases: [string | undefined, RegExp][] = [
    [undefined, /must be a path/],
    ['', /must be a path/],
    ['*', /must be a path/],
    ['ftp://host/x', /must be a path/],
    ['http://host#frag', /must be a path/],
    ['/a/../b', /dot segments/],
    ['/a/./b', /dot segments/],
    ['/a/..', /dot segments/],
    ['/a/%2E%2e/b', /dot segments/],
    ['/a/.%2e', /dot segments/],
    ['http://host/v1/ping/../admin', /dot segments/],
    ['/static/..;/v1/admin/users', /dot segments/],
    ['/static/.;jsessionid=1/x', /dot segments/],
    ['/static/..%3Bx/admin', /dot segments/],
    ['/v1/admin/users/7#/health', /must not contain #/],
    ['/v1/x?q=1#frag', /must not contain #/],
    ['/a%2Fb', /encoded slashes or backslashes/],
    ['/a%5cb', /encoded slashes or backslashes/],
    ['/a\\b', /encoded slashes or backslashes/],
  ];
  for (const [target, reason] of cases) {
    const parsed = parseTarget(target);
    t.equal(parsed.ok, false, String(target));
    if (!parsed.ok) t.match(parsed.message, reason, String(target));
  }
  t.same(parseTarget('/q?path=/../x'), { ok: true, url: '/q?path=/../x' }, 'the query is not a path');
});
