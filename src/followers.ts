import cluster from 'node:cluster';

/** Set by the primary on exactly one worker: the one that runs the store's followers. */
export const FOLLOWERS_ENV = 'AUDIT_PROXY_RUNS_FOLLOWERS';

/**
 * Whether this process runs the commit log's followers (the Merkle log, the fleet shipper): a single process
 * always does; under `--workers N`, only the worker the primary chose (and, if it dies, its replacement).
 */
export function runsFollowers(): boolean {
  return !cluster.isWorker || process.env[FOLLOWERS_ENV] === '1';
}
