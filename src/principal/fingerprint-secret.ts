import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const FINGERPRINT_SECRET_FILE = 'fingerprint-secret';

/**
 * The per-installation secret of unknown-key fingerprints: the configured one, or one generated once into
 * dataDir/fingerprint-secret (mode 0600) so fingerprints stay stable across restarts and workers.
 */
export function loadFingerprintSecret(configured: string | null, dataDir: string): string {
  if (configured) return configured;
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, FINGERPRINT_SECRET_FILE);
  return readSecret(file) ?? createSecret(file);
}

function readSecret(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read the fingerprint secret ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!/^[0-9a-f]{64}$/.test(text)) throw new Error(`fingerprint secret ${file} is corrupt: expected 64 hex characters`);
  return text;
}

/** Written to a temp file then hard-linked into place: link never overwrites, so the first worker to link wins. */
function createSecret(file: string): string {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(temp);
  }
  return readSecret(file)!;
}
