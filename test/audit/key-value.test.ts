// Index keys hold values through keyValue: short ones as they are, the rest by hash, so that every key fits LMDB and
// PostgreSQL and decodes to what was written (lmdb-js mis-decodes a long string starting U+0000-U+0004).
import t from 'tap';
import { open, type Key } from 'lmdb';
import { MAX_KEYED_BYTES, keyValue } from '../../src/audit/key-value.js';

t.test('short values stay, long and unkeyable ones become a hash of fixed length', async (t) => {
  t.equal(keyValue('/v1/things'), '/v1/things');
  t.equal(keyValue('é'.repeat(MAX_KEYED_BYTES / 2)), 'é'.repeat(MAX_KEYED_BYTES / 2), 'exactly the limit in UTF-8 bytes');
  const long = keyValue('é'.repeat(MAX_KEYED_BYTES / 2 + 1));
  t.match(long, /^sha256:[0-9a-f]{64}$/, 'one byte over');
  t.not(keyValue('x'.repeat(300)), keyValue('x'.repeat(301)));
  t.equal(keyValue('x'.repeat(300)), keyValue('x'.repeat(300)), 'the same value, the same key');
  t.match(keyValue(keyValue('x'.repeat(300))), /^sha256:/, 'a value that looks like a hash is hashed again');
  t.not(keyValue(keyValue('x'.repeat(300))), keyValue('x'.repeat(300)), 'so no raw value passes for a hash');
  t.match(keyValue('a\u0000b'), /^sha256:/, 'NUL anywhere');
  t.match(keyValue('\u0007bell'), /^sha256:/, 'a leading control character');
  t.equal(keyValue('a\u0007'), 'a\u0007', 'a later one is kept');
});

t.test('every key built from keyed values decodes to what was written', async (t) => {
  const env = open({ path: t.testdir(), noSubdir: false, maxDbs: 2 });
  const db = env.openDB<Buffer, Key>({ name: 'keys', encoding: 'binary' });
  const written: Key[][] = [];
  for (let code = 0; code < 0x30; code++) {
    const value = keyValue(String.fromCharCode(code) + 'v'.repeat(70));
    written.push([value, 17, -1], ['org', value, 17, -1]);
  }
  for (const key of written) db.putSync(key, Buffer.from([1]));
  const read = Array.from(db.getKeys()).map((key) => JSON.stringify(key)).sort();
  t.same(read, written.map((key) => JSON.stringify(key)).sort());
  await env.close();
});
