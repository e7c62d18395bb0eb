import type { Argv } from 'yargs';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { chainSchema } from '../config/sections/chain.js';
import { storeSchema } from '../config/sections/store.js';

export interface ChainArgs {
  'data-dir'?: string;
  config?: string;
}

export function chainOptions<T>(yargs: Argv<T>): Argv<T & ChainArgs> {
  return yargs
    .option('data-dir', { type: 'string', describe: 'LMDB directory (store.path)' })
    .option('config', { alias: 'c', type: 'string', describe: 'config file whose store.path and chain.* to use' }) as Argv<T & ChainArgs>;
}

/** --data-dir alone needs no config file (the key is the data directory's); --config reads store.* and chain.*. */
export function chainConfigOf(args: ChainArgs): Pick<Config, 'store' | 'chain'> {
  if (args.config === undefined) return { store: storeSchema.parse({ path: args['data-dir'] ?? './data' }), chain: chainSchema.parse({}) };
  return loadConfig({ file: args.config, env: process.env, overrides: { 'store.path': args['data-dir'] } });
}
