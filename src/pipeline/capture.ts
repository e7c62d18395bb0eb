/** Keeps the first maxBytes of a body as it streams past; never holds up or copies the stream itself. */
export class BodyCapture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  truncated = false;

  constructor(private readonly maxBytes: number) {}

  add(chunk: Buffer): void {
    const room = this.maxBytes - this.kept;
    if (room <= 0) {
      if (chunk.length) this.truncated = true;
      return;
    }
    if (chunk.length > room) {
      this.chunks.push(Buffer.from(chunk.subarray(0, room)));
      this.kept = this.maxBytes;
      this.truncated = true;
      return;
    }
    this.chunks.push(chunk);
    this.kept += chunk.length;
  }

  /** The kept bytes in shared memory of their own, which another thread reads without a copy. */
  bytes(): Uint8Array<SharedArrayBuffer> {
    const bytes = new Uint8Array(new SharedArrayBuffer(this.kept));
    let at = 0;
    for (const chunk of this.chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    return bytes;
  }
}

/** Compiles media-type patterns (text/*, application/*+json) into one predicate over Content-Type values. */
export function textLikeMatcher(patterns: readonly string[]): (contentType: string | undefined) => boolean {
  const source = patterns
    .map((p) => p.toLowerCase().replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/;]*'))
    .join('|');
  const regex = new RegExp(`^(?:${source})$`);
  return (contentType) => {
    if (!contentType) return false;
    const semi = contentType.indexOf(';');
    return regex.test((semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase());
  };
}
