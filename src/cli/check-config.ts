import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createRouteClassifier } from '../audit/route.js';
import { ConfigError, parseConfig } from '../config/load.js';
import { routesSchema } from '../config/sections/capture.js';
import type { Config } from '../config/schema.js';
import { openCountryLookup } from '../net/geoip.js';
import { parseKeysFile, readKeysFile } from '../principal/registry.js';

type Tree = Record<string, unknown>;

/**
 * Validates what `serve` would: the config itself and every file it names (keys file, GeoIP database, the
 * upstream's OpenAPI document, the store directory). Throws one ConfigError listing every problem found.
 * (fleet.postgres.url is checked by the schema once that section exists.)
 */
export async function checkEverything(tree: Tree): Promise<Readonly<Config>> {
  const problems: string[] = [];
  let config: Readonly<Config> | null = null;
  try {
    config = parseConfig(tree);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  const keysFile = stringAt(tree, 'auth', 'keysFile');
  if (keysFile) problems.push(...attempt('auth.keysFile', () => void parseKeysFile(keysFile, readKeysFile(keysFile))));
  const geoip = stringAt(tree, 'client', 'geoipDatabase');
  if (geoip) problems.push(...await attemptAsync(() => openCountryLookup(geoip)));
  const routes = routesSchema.safeParse(tree.routes);
  if (routes.success && routes.data.openapi) problems.push(...await attemptAsync(() => createRouteClassifier(routes.data)));
  problems.push(...storeDirectoryProblems(stringAt(tree, 'store', 'path') ?? './data'));
  if (problems.length || !config) throw new ConfigError(problems);
  return config;
}

function stringAt(tree: Tree, section: string, key: string): string | null {
  const node = tree[section];
  const value = node && typeof node === 'object' ? (node as Tree)[key] : undefined;
  return typeof value === 'string' && value ? value : null;
}

function attempt(key: string, check: () => void): string[] {
  try {
    check();
    return [];
  } catch (err) {
    return [`${key}: ${(err as Error).message}`];
  }
}

/** The checks whose messages already name their key. */
async function attemptAsync(check: () => Promise<unknown>): Promise<string[]> {
  try {
    await check();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/** serve creates the store directory when missing: it, or the nearest existing parent, must be a writable directory. */
function storeDirectoryProblems(path: string): string[] {
  let existing = resolve(path);
  while (!exists(existing) && dirname(existing) !== existing) existing = dirname(existing);
  if (!statSync(existing).isDirectory()) return [`store.path: ${existing} is not a directory`];
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
    return [];
  } catch {
    const what = existing === resolve(path) ? 'the store directory' : `${existing}, where the store directory would be made,`;
    return [`store.path: ${what} is not writable by this user (uid ${process.getuid?.() ?? '?'})`];
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
