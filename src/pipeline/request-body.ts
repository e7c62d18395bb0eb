import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';

/** The client sent its body too slowly (or not at all) for a whole window: answered 408. */
export class SlowBodyError extends Error {
  override name = 'SlowBodyError';
}

/** The body's transfer coding could not be decoded (e.g. bytes that are not gzip): answered 400. */
export class BodyDecodeError extends Error {
  override name = 'BodyDecodeError';
}

export interface BodyPace {
  /** The window over which the rate is checked while the proxy waits for the client. */
  windowMs: number;
  minBytesPerSecond: number;
}

/**
 * Watches how fast a client delivers its body, counting only the time the proxy is waiting for it (not the time an
 * upstream takes to read what it was given). Each window, a client that was waited on for at least half of it and
 * delivered less than the minimum rate (or nothing) trips the watchdog.
 */
class BodyWatchdog {
  private bytes = 0;
  private waitedMs = 0;
  private waitingSince: number | null = null;
  private readonly timer: NodeJS.Timeout;
  private tripped: ((err: Error) => void) | null = null;
  private readonly trip: Promise<never>;

  constructor(private readonly pace: BodyPace) {
    this.trip = new Promise<never>((_, reject) => { this.tripped = reject; });
    this.trip.catch(() => {}); // observed through wait(); never an unhandled rejection
    this.timer = setInterval(() => this.check(), pace.windowMs);
    this.timer.unref();
  }

  /** Waits for the client's next chunk, or rejects with SlowBodyError when the client is too slow. */
  async wait<T>(next: Promise<T>): Promise<T> {
    this.waitingSince = Date.now();
    try {
      return await Promise.race([next, this.trip]);
    } finally {
      if (this.waitingSince !== null) this.waitedMs += Date.now() - this.waitingSince;
      this.waitingSince = null;
    }
  }

  count(bytes: number): void {
    this.bytes += bytes;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = Date.now();
    const waited = this.waitedMs + (this.waitingSince === null ? 0 : now - this.waitingSince);
    const needed = Math.max(1, (this.pace.minBytesPerSecond * waited) / 1000);
    if (waited >= this.pace.windowMs / 2 && this.bytes < needed) {
      this.stop();
      this.tripped?.(new SlowBodyError(`request body slower than ${this.pace.minBytesPerSecond} bytes/s`));
      return;
    }
    this.bytes = 0;
    this.waitedMs = 0;
    if (this.waitingSince !== null) this.waitingSince = now;
  }
}

/** The body as undici should send it: transfer codings other than chunked (gzip, deflate) decoded, since undici only chunks. */
export function decodedBody(req: IncomingMessage): Readable | IncomingMessage {
  const te = req.headers['transfer-encoding'];
  if (te === undefined) return req;
  const coding = te.split(',')[0]!.trim().toLowerCase();
  if (coding === 'chunked') return req;
  const decoder = coding === 'deflate' ? createInflate() : createGunzip();
  req.on('error', (err) => decoder.destroy(err));
  decoder.on('error', () => {}); // surfaced to the reader below
  return req.pipe(decoder);
}

/**
 * A request body read at the client's pace under a watchdog: `prefetch` takes up to `bufferBytes` before anything
 * is sent upstream, then `stream` yields those bytes and the rest as undici pulls them.
 */
export class PacedBody {
  private readonly iterator: AsyncIterator<Buffer>;
  private readonly watchdog: BodyWatchdog;
  private readonly buffered: Buffer[] = [];
  private bufferedBytes = 0;
  /** The whole body arrived during prefetch. */
  complete = false;

  constructor(source: Readable | IncomingMessage, pace: BodyPace, private readonly onChunk: (chunk: Buffer) => void) {
    this.iterator = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    this.watchdog = new BodyWatchdog(pace);
  }

  /** Reads until the body ends or `bufferBytes` are held. */
  async prefetch(bufferBytes: number): Promise<void> {
    while (this.bufferedBytes < bufferBytes) {
      const chunk = await this.next();
      if (chunk === null) {
        this.complete = true;
        return;
      }
      this.buffered.push(chunk);
      this.bufferedBytes += chunk.length;
    }
  }

  async *stream(): AsyncGenerator<Buffer> {
    try {
      yield* this.buffered.splice(0);
      if (this.complete) return;
      for (let chunk = await this.next(); chunk !== null; chunk = await this.next()) yield chunk;
    } finally {
      this.watchdog.stop();
    }
  }

  stop(): void {
    this.watchdog.stop();
  }

  private async next(): Promise<Buffer | null> {
    let result: IteratorResult<Buffer>;
    try {
      result = await this.watchdog.wait(this.iterator.next());
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('Z_')) throw new BodyDecodeError('the request body could not be decoded');
      throw err;
    }
    if (result.done) return null;
    this.watchdog.count(result.value.length);
    this.onChunk(result.value);
    return result.value;
  }
}
