// The store's write transactions on a thread of their own (writer-thread.ts). The environment is shared with the
// main thread (lmdb-js opens it once per process), which created it.
import { parentPort, workerData } from 'node:worker_threads';
import { nameThisThread } from '../thread-name.js';
import { BodyRedactor } from '../audit/redact.js';
import { threadLogger } from '../log.js';
import { createBatchWriter } from './batch-writer.js';
import { LmdbCommitLog } from './commit-log.js';
import { openEnvironmentInThread } from './environment.js';
import { oldestRecordMs, openDbs } from './indexes.js';
import { StatsRollup } from './stats-rollup.js';
import type { WriteFailure, WriterData, WriterMessage, WriterReply } from './writer-thread.js';

nameThisThread('audit-writer');
const data = workerData as WriterData;
const port = parentPort!;
const send = (reply: WriterReply): void => port.postMessage(reply);
const logger = threadLogger(data.logLevel, (line) => send({ log: line }));
const env = openEnvironmentInThread(data.store);
const dbs = openDbs(env);
const log = new LmdbCommitLog(dbs);
const rollup = new StatsRollup(env, () => oldestRecordMs(dbs), false);
const writer = createBatchWriter(env, dbs, data.store, log, rollup, new BodyRedactor(data.redactKeys), logger);

let evictedReported = 0;
/** Records evicted since the last reply. */
function evictedSince(): number {
  const since = writer.evicted - evictedReported;
  evictedReported = writer.evicted;
  return since;
}

port.on('message', (message: WriterMessage) => {
  if ('pin' in message) log.pin(message.pin);
  else if ('batch' in message) {
    writer.write(message.batch).then(
      () => send({ written: true, firstSeq: message.batch[0]!.seq!, evicted: evictedSince() }),
      (error: unknown) => send({ failed: failureOf(error), evicted: evictedSince() }),
    );
  } else {
    void env.close().finally(() => {
      send({ closed: true });
      port.close();
    });
  }
});
send({ ready: true });

function failureOf(error: unknown): WriteFailure {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
}
