import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import type { KeyEntry } from '../config/sections/auth.js';
import { parseKeysFile } from '../principal/registry.js';

/**
 * Adds a registry entry to a keys file (a list, or {keys: [...]}), creating the file when it does not exist.
 * The file is checked first, so a broken one is reported rather than made worse, and replaced by rename, so a
 * running proxy's watcher never reads half a file. Comments and the other entries are kept as written.
 */
export function appendKeyEntry(file: string, entry: KeyEntry): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  parseKeysFile(file, text);
  const document = parseDocument(text);
  entriesOf(document).add(document.createNode(entry));
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, document.toString(), { mode: 0o600 });
  renameSync(temporary, file);
}

function entriesOf(document: Document): { add(node: unknown): void } {
  if (isSeq(document.contents)) return document.contents;
  if (isMap(document.contents)) return document.get('keys', true) as { add(node: unknown): void };
  document.contents = document.createNode([]);
  return document.contents as { add(node: unknown): void };
}
