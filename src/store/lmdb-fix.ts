import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import type { Logger } from '../log.js';

let installed: boolean | undefined;
let warned = false;

/**
 * Whether the lmdb-js binary in use was rebuilt by scripts/lmdb-open-fix.mjs (postinstall) with the fix of its open bug:
 * its marker beside build/Release/lmdb.node (which lmdb-js loads before any prebuilt) names this lmdb's version.
 */
export function lmdbOpenFixInstalled(): boolean {
  if (installed === undefined) {
    const main = createRequire(import.meta.url).resolve('lmdb'); // its exports do not include package.json
    const lmdbDir = main.slice(0, main.lastIndexOf(`${sep}node_modules${sep}lmdb${sep}`) + `${sep}node_modules${sep}lmdb`.length);
    const marker = join(lmdbDir, 'build', 'audit-proxy-open-fix');
    const version = (JSON.parse(readFileSync(join(lmdbDir, 'package.json'), 'utf8')) as { version: string }).version;
    installed = existsSync(join(lmdbDir, 'build', 'Release', 'lmdb.node')) && existsSync(marker) && readFileSync(marker, 'utf8') === version;
  }
  return installed;
}

/** Once per process, when the fix is missing: what it risks and where to read more. */
export function warnWithoutLmdbOpenFix(logger: Logger): void {
  if (warned || lmdbOpenFixInstalled()) return;
  warned = true;
  logger.warn('lmdb-js was not rebuilt with the fix of its open bug (no C toolchain at install?): another process opening this store can overwrite a commit; see docs/security.md, "Opening a store beside a running proxy"');
}
