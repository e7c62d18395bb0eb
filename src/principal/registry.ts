import { timingSafeEqual } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { yamlProblem } from '../config/load.js';
import { keyEntrySchema, type KeyEntry } from '../config/sections/auth.js';
import type { Logger } from '../log.js';
import { registryPrincipal } from './build.js';
import type { Principal } from './principal.js';
import { sha256 } from './digest.js';

const keyListSchema = z.array(keyEntrySchema);
const keysDocumentSchema = z.strictObject({ keys: keyListSchema });

/** Wait for a burst of editor writes to settle before reloading. */
const RELOAD_DEBOUNCE_MS = 100;

interface Known {
  digest: Buffer;
  principal: Principal;
}

/** Known API keys by SHA-256 digest: from config, plus a keys file reloaded live when it changes. */
export class KeyRegistry {
  private byDigest = new Map<string, Known>();
  private fileEntries: readonly KeyEntry[] = [];
  private watcher: FSWatcher | null = null;
  private reloadTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly configEntries: readonly KeyEntry[],
    private readonly keysFile: string | null,
    private readonly logger: Logger,
  ) {
    if (keysFile) {
      this.fileEntries = parseKeysFile(keysFile, readKeysFile(keysFile));
      this.watch(resolve(keysFile));
    }
    this.rebuild();
  }

  /** The registry principal of a raw key, or null; the digest is confirmed in constant time. */
  lookup(key: string): Principal | null {
    const digest = sha256(key);
    const known = this.byDigest.get(digest.toString('hex'));
    return known && timingSafeEqual(known.digest, digest) ? known.principal : null;
  }

  /** Reads the keys file again; a broken file keeps the previous registry. */
  async reload(): Promise<void> {
    const file = this.keysFile!;
    try {
      this.fileEntries = parseKeysFile(file, await readFile(file, 'utf8'));
    } catch (err) {
      this.logger.error({ file, problem: (err as Error).message }, 'keys file rejected, keeping the previous registry');
      return;
    }
    this.rebuild();
    this.logger.info({ file, keys: this.byDigest.size }, 'key registry reloaded');
  }

  close(): void {
    this.watcher?.close();
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
  }

  /** Watches the directory, not the file: editors and config tools replace files by rename. */
  private watch(file: string): void {
    const name = basename(file);
    this.watcher = watch(dirname(file), (_event, changed) => {
      if (changed !== null && changed !== name) return;
      if (this.reloadTimer) clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => void this.reload(), RELOAD_DEBOUNCE_MS);
    });
    this.watcher.unref();
  }

  private rebuild(): void {
    const byDigest = new Map<string, Known>();
    for (const entry of [...this.configEntries, ...this.fileEntries]) {
      const hex = entry.sha256.toLowerCase();
      if (byDigest.has(hex)) this.logger.warn({ id: entry.id }, 'key registry: duplicate digest, the later entry wins');
      byDigest.set(hex, { digest: Buffer.from(hex, 'hex'), principal: registryPrincipal(entry) });
    }
    this.byDigest = byDigest;
  }
}

export function readKeysFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read keys file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** Throws one message naming the file and each problem (entry index and field). */
export function parseKeysFile(file: string, text: string): KeyEntry[] {
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new Error(`keys file ${file} is not valid YAML/JSON: ${yamlProblem(err)}`);
  }
  parsed ??= [];
  const result = Array.isArray(parsed) ? keyListSchema.safeParse(parsed) : keysDocumentSchema.safeParse(parsed);
  if (result.success) return Array.isArray(result.data) ? result.data : result.data.keys;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new Error(`keys file ${file}: ${problems.join('; ')}`);
}
