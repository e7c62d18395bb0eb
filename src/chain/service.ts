import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { LmdbAuditStore } from '../store/index.js';
import type { CommitLog } from '../store/store.js';
import { CHAIN_FOLLOWER } from './follower.js';
import { FollowerThread } from './follower-thread.js';
import type { NoteSigner } from './note.js';
import { TreeStore } from './tree-store.js';

/** The Merkle log as the API reads it (in every process), and its follower (in the one that runs followers). */
export interface Chain {
  tree: TreeStore;
  log: CommitLog;
  /** The follower's thread, in the process that runs it; null elsewhere. */
  follower: FollowerThread | null;
  /** Logs what the store committed so far (call after the store's flush, before its close). */
  close(): Promise<void>;
}

/** Opens the log's databases; with a signer (the process that runs followers) also starts the follower's thread. */
export function openChain(config: Config, store: LmdbAuditStore, signer: NoteSigner | null, logger: Logger): Chain {
  const tree = new TreeStore(store.env);
  // Every process pins: retention runs in each, and the follower's persisted position is shared through the store.
  store.pin(CHAIN_FOLLOWER);
  const options = { pollMs: config.chain.pollMs, checkpointIntervalMs: config.chain.checkpointIntervalMs };
  const follower = signer ? new FollowerThread({ store: config.store, options, signer, logLevel: config.log.level }, logger) : null;
  return {
    tree,
    log: store,
    follower,
    close: async () => {
      await store.flush().catch(() => undefined); // the store logs its own write failures
      await follower?.close();
    },
  };
}
