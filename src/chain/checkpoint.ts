import { HASH_BYTES } from './merkle.js';
import { openNote, signNote, type NoteSigner, type NoteVerifier } from './note.js';

/** C2SP tlog-checkpoint: origin line, decimal tree size, base64 root hash, then optional extension lines. */
export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
}

export function checkpointText(checkpoint: Checkpoint): string {
  return `${checkpoint.origin}\n${checkpoint.size}\n${checkpoint.root.toString('base64')}\n`;
}

/** The checkpoint in a note text, or null when the text is not one. */
export function parseCheckpointText(text: string): Checkpoint | null {
  const [origin, sizeLine, rootLine] = text.split('\n');
  if (!origin || sizeLine === undefined || rootLine === undefined) return null;
  if (!/^(0|[1-9]\d{0,15})$/.test(sizeLine) || !Number.isSafeInteger(Number(sizeLine))) return null;
  const root = Buffer.from(rootLine, 'base64');
  if (root.length !== HASH_BYTES || root.toString('base64') !== rootLine) return null;
  return { origin, size: Number(sizeLine), root };
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
