import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { configLeaves, configurationMarkdown, defaultYaml } from '../../src/config/reference.js';
import { parseConfig } from '../../src/config/load.js';

t.test('config/default.yaml and docs/configuration.md are what the schema generates', async (t) => {
  t.equal(readFileSync('config/default.yaml', 'utf8'), defaultYaml(), 'run npm run docs:config');
  t.equal(readFileSync('docs/configuration.md', 'utf8'), configurationMarkdown(), 'run npm run docs:config');
});

t.test('every key has a one-line description', async (t) => {
  const undocumented = configLeaves().filter((leaf) => !leaf.description).map((leaf) => leaf.key);
  t.same(undocumented, []);
});

t.test('config/default.yaml is a valid config (with an upstream) that equals the defaults', async (t) => {
  const file = parse(readFileSync('config/default.yaml', 'utf8')) as Record<string, Record<string, unknown>>;
  file.upstream!.url = 'http://127.0.0.1:3000';
  t.same(parseConfig(file), parseConfig({ upstream: { url: 'http://127.0.0.1:3000' } }));
});
