/** Where a page ended: the createdAtMs and id of its last item. Pages continue strictly after it. */
export interface Position {
  ms: number;
  id: string;
}

export class InvalidCursorError extends Error {
  constructor() {
    super('invalid cursor');
    this.name = 'InvalidCursorError';
  }
}

/** Record ids are UUIDs; a longer id cannot be a position the store made. */
const MAX_ID_LENGTH = 64;

/** Opaque to callers: base64url of JSON [ms, id]. */
export function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.ms, position.id])).toString('base64url');
}

/** The position in a cursor this store made; InvalidCursorError for anything else (callers answer it with 400). */
export function decodeCursor(cursor: string): Position {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw new InvalidCursorError();
  const [ms, id] = parsed as unknown[];
  if (!Number.isSafeInteger(ms) || typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) throw new InvalidCursorError();
  return { ms: ms as number, id };
}
