// The Merkle log's follower on a thread of its own: reading, hashing and writing the tree never run on the event loop
// that proxies traffic. The store's environment is shared with the main thread (lmdb-js opens it once per process).
import { parentPort, workerData } from 'node:worker_threads';
import { nameThisThread } from '../thread-name.js';
import { threadLogger } from '../log.js';
import { LmdbCommitLog } from '../store/commit-log.js';
import { openEnvironmentInThread } from '../store/environment.js';
import { openDbs } from '../store/indexes.js';
import { ChainFollower } from './follower.js';
import type { FollowerData, FollowerReply } from './follower-thread.js';
import { TreeStore } from './tree-store.js';

nameThisThread('audit-merkle');
const data = workerData as FollowerData;
const port = parentPort!;
const send = (reply: FollowerReply): void => port.postMessage(reply);
// Log lines go to the main thread's logger (its destination and redaction), one message each.
const logger = threadLogger(data.logLevel, (line) => send({ log: line }));
const env = openEnvironmentInThread(data.store);
const follower = new ChainFollower(new LmdbCommitLog(openDbs(env)), new TreeStore(env), data.signer, data.options, logger);
follower.start();

port.on('message', () => {
  // The only message is close: catch up with what the store committed, sign a last checkpoint, close, end.
  void follower.close().then(() => env.close()).finally(() => {
    send({ closed: true });
    port.close();
  });
});
send({ ready: true });
