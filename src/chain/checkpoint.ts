import { HASH_BYTES } from './merkle.js';
import { openNote, signNote, type NoteSigner, type NoteVerifier } from './note.js';

/** The extension line that signs the leaves' records (leaf-records-digest.ts): this prefix, then the base64 digest. */
const LEAF_RECORDS_LINE = 'leaf-records ';

/**
 * C2SP tlog-checkpoint: origin line, decimal tree size, base64 root hash, then optional extension lines. The log
 * writes one, `leaf-records <base64 SHA-256>`; checkpoints signed before it existed have none.
 */
export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
  leafRecords?: Buffer;
}

export function checkpointText(checkpoint: Checkpoint): string {
  const extension = checkpoint.leafRecords ? `${LEAF_RECORDS_LINE}${checkpoint.leafRecords.toString('base64')}\n` : '';
  return `${checkpoint.origin}\n${checkpoint.size}\n${checkpoint.root.toString('base64')}\n${extension}`;
}

/** A base64 SHA-256 hash written exactly so, or null. */
function hashOf(line: string): Buffer | null {
  const hash = Buffer.from(line, 'base64');
  return hash.length === HASH_BYTES && hash.toString('base64') === line ? hash : null;
}

/** The checkpoint in a note text, or null when the text is not one. */
export function parseCheckpointText(text: string): Checkpoint | null {
  const [origin, sizeLine, rootLine, ...extensions] = text.split('\n');
  if (!origin || sizeLine === undefined || rootLine === undefined) return null;
  if (!/^(0|[1-9]\d{0,15})$/.test(sizeLine) || !Number.isSafeInteger(Number(sizeLine))) return null;
  const root = hashOf(rootLine);
  if (!root) return null;
  const checkpoint: Checkpoint = { origin, size: Number(sizeLine), root };
  const leafRecords = extensions.find((line) => line.startsWith(LEAF_RECORDS_LINE));
  if (leafRecords === undefined) return checkpoint;
  const digest = hashOf(leafRecords.slice(LEAF_RECORDS_LINE.length));
  return digest ? { ...checkpoint, leafRecords: digest } : null;
}

export function signCheckpoint(checkpoint: Checkpoint, key: NoteSigner): string {
  return signNote(checkpointText(checkpoint), key);
}

export type CheckpointCheck = { ok: true; checkpoint: Checkpoint } | { ok: false; problem: string };

/** A signed checkpoint whose signature by `key` verifies and whose origin is the key's name. */
export function openCheckpoint(note: string, key: NoteVerifier): CheckpointCheck {
  const opened = openNote(note, key);
  if (!opened.ok) return opened;
  const checkpoint = parseCheckpointText(opened.text);
  if (!checkpoint) return { ok: false, problem: 'not a checkpoint (origin, tree size, root hash)' };
  if (checkpoint.origin !== key.name) return { ok: false, problem: `origin ${checkpoint.origin} is not the key's ${key.name}` };
  return { ok: true, checkpoint };
}
