// One of verify's threads: checks ranges of leaves against the stored records (verify-leaves.ts) in a read-only view
// of the store, so that hashing the records uses more than one core. The main thread walks the tree above them.
import { parentPort, workerData } from 'node:worker_threads';
import { nameThisThread } from '../thread-name.js';
import { LmdbCommitLog } from '../store/commit-log.js';
import { openEnvironment } from '../store/environment.js';
import { openDbs } from '../store/indexes.js';
import { checkLeaves, StoredTiles } from './verify-leaves.js';
import type { CheckReply, CheckRequest, VerifyThreadData } from './verify-threads.js';
import { TreeStore } from './tree-store.js';

nameThisThread('audit-verify');
const env = openEnvironment((workerData as VerifyThreadData).store, true);
const log = new LmdbCommitLog(openDbs(env));
const stored = new StoredTiles(new TreeStore(env));
const port = parentPort!;

port.on('message', ({ id, from, to }: CheckRequest) => {
  let reply: CheckReply;
  // Each step reads the store as it is now: a busy thread takes several messages in one turn of its event loop, and
  // lmdb-js renews its read snapshot only between turns.
  env.resetReadTxn();
  try {
    reply = { id, check: checkLeaves(log, stored, from, to) };
  } catch (err) {
    reply = { id, error: (err as Error).message };
  }
  // Buffer.alloc gives each check's leaves an ArrayBuffer of their own: moved, not copied
  port.postMessage(reply, reply.check ? [reply.check.leaves.buffer as ArrayBuffer] : []);
});
