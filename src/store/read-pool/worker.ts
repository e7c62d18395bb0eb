// A reader thread: opens the audit store read-only and answers queries, so a long scan stalls only this thread.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { nameThisThread } from '../../thread-name.js';
import { pino } from 'pino';
import { openAuditStore } from '../index.js';
import type { CloseMessage, QueryMessage, ReaderData, Reply } from './protocol.js';
import { viewPage } from './view-page.js';

/** Nice value of reader threads: on a busy machine the thread proxying traffic gets the CPU first. */
const READER_NICE = 10;

nameThisThread('audit-reader');
const port = parentPort!;
// On Linux this lowers the priority of this thread only (the event loop proxying traffic keeps its own).
setPriority(READER_NICE);
const store = openAuditStore((workerData as ReaderData).store, pino({ enabled: false }), { readOnly: true });

port.on('message', (message: QueryMessage | CloseMessage) => {
  if ('close' in message) return void store.close().finally(() => port.close());
  void answer(message).then((reply) => port.postMessage(reply));
});
port.postMessage({ ready: true } satisfies Reply);

async function answer({ id, filter, page, view }: QueryMessage): Promise<Reply> {
  try {
    // lmdb-js keeps a thread's snapshot until a timer after its last read; a query sent after a commit must see it.
    store.env.resetReadTxn();
    const result = await store.query(filter, page);
    return { id, ok: true, result: view === undefined ? result : viewPage(result, view) };
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    return { id, ok: false, name: error.name, message: error.message };
  }
}
