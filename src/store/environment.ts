import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import type { Config } from '../config/schema.js';

const MIB = 1024 * 1024;

/** What an LMDB error usually means for an operator, by the words lmdb-js uses. */
const LIKELY_CAUSES: [RegExp, string][] = [
  [/permission denied|EACCES|operation not permitted|EPERM/i, 'this user (uid UID) may not read or write there: check the owner and mode of the directory and its lock.mdb and data.mdb'],
  [/read-only file system|EROFS/i, 'the file system is mounted read-only'],
  [/no space left|ENOSPC/i, 'the disk is full'],
  [/no such file or directory|ENOENT/i, 'a directory on the way does not exist'],
  [/resource temporarily unavailable|EAGAIN|lock/i, 'another process holds the store\'s lock in a way this one cannot share'],
  [/invalid argument|EINVAL|MDB_INVALID|MDB_VERSION_MISMATCH/i, 'the files there are not an LMDB environment of this version'],
];

export class StoreOpenError extends Error {
  constructor(path: string, problem: string) {
    super(`cannot open the audit store at ${resolve(path)}: ${problem}`);
    this.name = 'StoreOpenError';
  }
}

/**
 * Opens the LMDB environment of the store. A reader never creates anything: a directory without a store is an
 * error naming it, not an empty store left behind.
 */
export function openEnvironment(config: Config['store'], readOnly: boolean): RootDatabase {
  if (readOnly && missing(join(config.path, 'data.mdb'))) {
    throw new StoreOpenError(config.path, 'there is no audit store there (no data.mdb): point --data-dir or --config at the store.path serve uses');
  }
  try {
    // noSubdir: false, else lmdb-js treats a directory name with a dot in it as a file name.
    return open({ path: config.path, noSubdir: false, mapSize: config.mapSizeMb * MIB, maxDbs: 32, readOnly });
  } catch (err) {
    throw describeOpenError(config.path, err);
  }
}

/**
 * Opens, read-write, the environment another thread of this process created (a worker thread's store). It never
 * creates one: lmdb-js would make the directory, and loops in mkdir when the process's working directory was removed
 * under it.
 */
export function openEnvironmentInThread(config: Config['store']): RootDatabase {
  if (missing(join(config.path, 'data.mdb'))) throw new Error(`the audit store at ${config.path} is gone`);
  return openEnvironment(config, false);
}

/** The error with the store's path and the likely cause; errors that already say both pass unchanged. */
export function describeOpenError(path: string, err: unknown): Error {
  if (!(err instanceof Error) || err instanceof StoreOpenError || err.message.includes(path)) return err as Error;
  const cause = LIKELY_CAUSES.find(([pattern]) => pattern.test(err.message))?.[1];
  const detail = cause ? ` (likely: ${cause.replace('UID', String(process.getuid?.() ?? '?'))})` : '';
  return new StoreOpenError(path, `${err.message}${detail}`);
}

/** Only a file that is not there; one this user may not see is left for open to report with its cause. */
function missing(file: string): boolean {
  try {
    statSync(file);
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR';
  }
}
