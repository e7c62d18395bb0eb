import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { LmdbAuditStore } from '../store/index.js';
import type { CommitLog } from '../store/store.js';
import { CHAIN_FOLLOWER, ChainFollower } from './follower.js';
import type { NoteSigner } from './note.js';
import { TreeStore } from './tree-store.js';

/** The Merkle log as the API reads it (in every process), and its follower (in the one that runs followers). */
export interface Chain {
  tree: TreeStore;
  log: CommitLog;
  /** The follower, in the process that runs it; null elsewhere. */
  follower: ChainFollower | null;
  /** Logs what the store committed so far (call after the store's flush, before its close). */
  close(): Promise<void>;
}

/** Opens the log's databases; with a signer (the process that runs followers) also starts the follower. */
export function openChain(config: Config, store: LmdbAuditStore, signer: NoteSigner | null, logger: Logger): Chain {
  const tree = new TreeStore(store.env);
  // Every process pins: retention runs in each, and the follower's persisted position is shared through the store.
  store.pin(CHAIN_FOLLOWER);
  const follower = signer ? new ChainFollower(store, tree, signer, config.chain, logger) : null;
  follower?.start();
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
