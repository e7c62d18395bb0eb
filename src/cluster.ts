import cluster, { type Worker } from 'node:cluster';
import { answerClusterMetrics } from './cluster-metrics.js';
import { FOLLOWERS_ENV } from './followers.js';
import type { Logger } from './log.js';

const RESTART_WINDOW_MS = 10_000;

/**
 * The primary of `--workers N`: forks N workers sharing the port, replaces any that dies (saying why),
 * and on SIGTERM/SIGINT passes the signal on and exits once every worker has drained.
 */
export function runPrimary(count: number, logger: Logger): void {
  let stopping = false;
  const recentFailures: number[] = [];
  // One worker runs the store's followers (Merkle log, fleet shipper); its replacement inherits the role.
  let followerWorkerId = -1;
  const fork = (runsFollowers: boolean): Worker => {
    const worker = cluster.fork(runsFollowers ? { [FOLLOWERS_ENV]: '1' } : {});
    if (runsFollowers) followerWorkerId = worker.id;
    return worker;
  };

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    const now = Date.now();
    recentFailures.push(now);
    while (recentFailures.length && now - recentFailures[0]! > RESTART_WINDOW_MS) recentFailures.shift();
    logger.error({ workerPid: worker.process.pid, code, signal }, 'worker died; starting a replacement');
    if (recentFailures.length > count * 5) {
      logger.fatal({ failures: recentFailures.length }, 'workers keep dying; giving up');
      process.exit(1);
    }
    fork(worker.id === followerWorkerId);
  });

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  answerClusterMetrics();
  for (let i = 0; i < count; i++) fork(i === 0);
  logger.info({ workers: count }, 'primary started workers');
}
