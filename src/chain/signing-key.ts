import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { generateSignerKey, NoteKeyError, parseSignerKey, type NoteSigner } from './note.js';

/** The key created at first start, beside the LMDB files. */
export const KEY_FILE_NAME = 'chain-signing-key';

type ChainConfig = Config['chain'];

/** chain.signingKey, else chain.signingKeyFile, else the data directory's key file. */
export function readSigningKey(chain: ChainConfig, dataDir: string): NoteSigner | null {
  if (chain.signingKey !== null) return parseNamed(chain.signingKey, 'chain.signingKey');
  const file = chain.signingKeyFile ?? join(dataDir, KEY_FILE_NAME);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && chain.signingKeyFile === null) return null;
    throw new NoteKeyError(`cannot read the signing key ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseNamed(text, file);
}

/** The configured key, or the data directory's, created (mode 0600) when there is none yet. */
export function loadOrCreateSigningKey(chain: ChainConfig, dataDir: string): NoteSigner {
  const found = readSigningKey(chain, dataDir);
  if (found) return found;
  const file = join(dataDir, KEY_FILE_NAME);
  try {
    writeFileSync(file, `${generateSignerKey(chain.origin ?? `${hostname()}/audit-proxy`)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // another process made it first: use theirs
  }
  return parseNamed(readFileSync(file, 'utf8'), file);
}

function parseNamed(text: string, where: string): NoteSigner {
  try {
    return parseSignerKey(text);
  } catch (err) {
    throw new NoteKeyError(`${where}: ${(err as Error).message}`);
  }
}
