// postinstall: rebuilds lmdb-js with the one-line fix of its open bug (docs/security.md, "Opening a store beside a
// running proxy"): upstream LMDB resets the last transaction id on open only for MDB_PREVSNAPSHOT, lmdb-js always,
// which lets an open in one process overwrite another process's commit. Without a C toolchain (make, g++, python3)
// the prebuilt binary stays, with a warning, and the proxy logs the same warning when it opens a store.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';

const UNGUARDED = '\tif (env->me_txns)\n\t\tenv->me_txns->mti_txnid = meta.mm_txnid;\n';
const GUARDED = '\tif (prev && env->me_txns)\n\t\tenv->me_txns->mti_txnid = meta.mm_txnid;\n';
/** Written beside the rebuilt binary, holding the lmdb version it was built from (src/store/lmdb-fix.ts reads it). */
const MARKER = 'audit-proxy-open-fix';

function main() {
  if (process.env.AUDIT_PROXY_LMDB_FIX === 'skip') return;
  let lmdbDir;
  try {
    lmdbDir = packageDir(createRequire(import.meta.url).resolve('lmdb'));
  } catch {
    return warn('lmdb is not installed');
  }
  const version = JSON.parse(readFileSync(join(lmdbDir, 'package.json'), 'utf8')).version;
  const marker = join(lmdbDir, 'build', MARKER);
  if (existsSync(join(lmdbDir, 'build', 'Release', 'lmdb.node')) && existsSync(marker) && readFileSync(marker, 'utf8') === version) return;
  const source = join(lmdbDir, 'dependencies', 'lmdb', 'libraries', 'liblmdb', 'mdb.c');
  const text = readFileSync(source, 'utf8');
  if (!text.includes(GUARDED)) {
    if (!text.includes(UNGUARDED)) return warn(`lmdb ${version}'s mdb.c no longer has the line this fixes: check whether it is fixed upstream`);
    writeFileSync(source, text.replace(UNGUARDED, GUARDED));
  }
  const build = spawnSync(process.execPath, [nodeGyp(), 'rebuild', ...nodeDir()], { cwd: lmdbDir, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (build.status !== 0) return warn(`node-gyp failed: ${(build.stderr || String(build.error)).trim().split('\n').slice(-3).join(' | ')}`);
  writeFileSync(marker, version);
  console.log(`audit-proxy: lmdb ${version} rebuilt with the open fix`);
}

/** The lmdb package's directory from its main file (its exports do not include package.json). */
function packageDir(main) {
  const at = main.lastIndexOf(`${sep}node_modules${sep}lmdb${sep}`);
  return main.slice(0, at + `${sep}node_modules${sep}lmdb`.length);
}

/** npm names its bundled node-gyp to install scripts; else the one beside this node. */
function nodeGyp() {
  return process.env.npm_config_node_gyp ?? join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
}

/** The headers installed with node, so that node-gyp downloads nothing. */
function nodeDir() {
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node.h')) ? [`--nodedir=${prefix}`] : [];
}

function warn(why) {
  console.warn(`audit-proxy: lmdb-js was not rebuilt with the fix of its open bug (${why}). The store works; another process opening it (audit-proxy query, a new worker) can overwrite a commit: docs/security.md, "Opening a store beside a running proxy".`);
}

main();
