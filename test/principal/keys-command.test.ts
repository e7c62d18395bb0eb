import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yargs from 'yargs';
import { parse } from 'yaml';
import { createKeysCommand } from '../../src/cli/keys-command.js';
import { keyEntrySchema } from '../../src/config/sections/auth.js';
import { parseKeysFile } from '../../src/principal/registry.js';
import type { Principal } from '../../src/principal/principal.js';
import { digestOf, resolverFor } from './fixtures/helpers.js';

async function run(argv: string[]): Promise<{ lines: string[]; error: Error | null }> {
  const lines: string[] = [];
  let error: Error | null = null;
  await yargs(argv).command(createKeysCommand((text) => lines.push(text))).strict()
    .fail((msg, err) => { error = err ?? new Error(msg); })
    .exitProcess(false).parseAsync();
  return { lines, error };
}

t.test('keys hash prints the SHA-256 hex digest', async (t) => {
  const { lines } = await run(['keys', 'hash', 'ak_example']);
  t.same(lines, [digestOf('ak_example')]);
  t.match(lines[0], /^[0-9a-f]{64}$/);
});

t.test('keys new prints a strong key once and a registry entry that recognises it', async (t) => {
  const { lines } = await run(['keys', 'new', '--org', 'org_5', '--service-account', 'sa_1', '--user', 'u_1',
    '--workspace', 'ws_1', '--scope', 'audit:read', '--scope', 'audit:read:all', '--name', 'CI deploys']);
  const key = lines[1]!.trim();
  t.match(key, /^ak_[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
  t.equal(lines.filter((l) => l.includes(key)).length, 1, 'the key is printed once');
  const entries = parse(lines.slice(3).join('\n')) as unknown[];
  const entry = keyEntrySchema.parse(entries[0]);
  t.match(entry, {
    id: /^key_[0-9a-f]{16}$/, sha256: digestOf(key), organizationId: 'org_5', serviceAccountId: 'sa_1', userId: 'u_1',
    workspaceId: 'ws_1', name: 'CI deploys', scopes: ['audit:read', 'audit:read:all'],
  });

  const { resolver } = resolverFor({ keys: [entry] });
  t.teardown(() => resolver.close());
  const principal = resolver.resolve({ authorization: `Bearer ${key}` }, '::1') as Principal;
  t.match(principal, { apiKeyId: entry.id, organizationId: 'org_5', authenticated: true });

  const second = await run(['keys', 'new', '--org', 'org_5']);
  t.not(second.lines[1], lines[1], 'every key is fresh');
  t.same((parse(second.lines.slice(3).join('\n')) as { scopes: string[] }[])[0]!.scopes, []);
});

t.test('keys new without --org and keys without a subcommand fail with a message', async (t) => {
  t.match((await run(['keys', 'new'])).error?.message, /org/);
  t.match((await run(['keys'])).error?.message, /choose a keys subcommand/);
});

t.test('keys new --keys-file adds the entry to the file (created, a list, or {keys}) and prints the key alone', async (t) => {
  const dir = t.testdir({ 'document.yaml': 'keys:\n  # ops team\n  - id: old\n    sha256: ' + 'a'.repeat(64) + '\n    organizationId: o\n', 'broken.yaml': 'keys: [' });
  const created = join(dir, 'new.yaml');
  const first = await run(['keys', 'new', '--org', 'org_1', '--scope', 'audit:read', '--keys-file', created]);
  const second = await run(['keys', 'new', '--org', 'org_2', '--keys-file', created]);
  t.equal(first.lines.length, 1, 'only the key on stdout');
  t.match(first.lines[0], /^ak_[A-Za-z0-9_-]{43}$/);
  const text = readFileSync(created, 'utf8');
  t.notMatch(text, /ak_/, 'the file never holds the key');
  const entries = parseKeysFile(created, text);
  t.match(entries, [{ sha256: digestOf(first.lines[0]!), organizationId: 'org_1', scopes: ['audit:read'] },
    { sha256: digestOf(second.lines[0]!), organizationId: 'org_2' }]);

  const document = join(dir, 'document.yaml');
  const added = await run(['keys', 'new', '--org', 'org_3', '--keys-file', document]);
  t.match(readFileSync(document, 'utf8'), /# ops team/, 'comments are kept');
  t.match(parseKeysFile(document, readFileSync(document, 'utf8')), [{ id: 'old' }, { sha256: digestOf(added.lines[0]!) }]);

  const broken = join(dir, 'broken.yaml');
  await t.rejects(run(['keys', 'new', '--org', 'org_4', '--keys-file', broken]), /keys file .*broken\.yaml is not valid YAML/);
  t.equal(readFileSync(broken, 'utf8'), 'keys: [', 'a broken file is left as it was');
});
