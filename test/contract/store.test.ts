import t from 'tap';
import { openAuditStore } from '../../src/store/index.js';
import { openTestFleetStore } from '../helpers/fleet.js';
import { startTestPostgres } from '../helpers/postgres.js';
import { capturingLogger, storeConfig } from '../store/fixtures/helpers.js';
import { storeContract } from './fixtures/store-contract.js';

t.test('the LMDB store', async (t) => {
  storeContract(t, async (t) => {
    const store = openAuditStore(storeConfig(t.testdir()), capturingLogger().logger);
    return { store, settle: () => store.flush(), close: () => store.close() };
  });
});

t.test('the fleet store (PostgreSQL)', async (t) => {
  const postgres = await startTestPostgres();
  t.teardown(() => postgres.close());
  storeContract(t, async (t) => {
    const fleet = openTestFleetStore(t.testdir(), await postgres.database(), capturingLogger().logger);
    return { store: fleet.store, settle: () => fleet.settle(), close: () => fleet.store.close() };
  });
});
