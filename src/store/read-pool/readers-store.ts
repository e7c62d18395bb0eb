import type { AppendedRecord } from '../../audit/raw-body.js';
import type { AuditRecord } from '../../audit/record.js';
import type { RecordView } from '../../audit/views.js';
import type { AuditFilter, AuditStore, IterateOptions, PageRequest, QueryResult, StoreHealth, ViewPage } from '../store.js';
import { ReadPool, type ReadPoolOptions } from './pool.js';
import { ReaderFailedError } from './errors.js';
import { isBoundedPage } from '../query.js';
import { viewPage } from './view-page.js';

/** Records per read when an iteration (an export) pages through the pool; pages are fetched as they are consumed. */
const ITERATE_PAGE = 200;

/**
 * The AuditStore the proxy serves from: writes go to the writer store on this thread, reads to the reader threads.
 * An iteration is a series of cursor pages, each a query of its own (own budget, own reader), fetched only when
 * the consumer wants more: a slow export holds no reader between pages, and memory stays at one page. A bounded page
 * (query.ts: an index alone, no total, near the start) is read in place: 0.3-0.7 ms, less than the hop.
 */
export class PooledReadStore implements AuditStore {
  readonly pool: ReadPool;
  private closed = false;

  constructor(private readonly writer: AuditStore, options: ReadPoolOptions) {
    this.pool = new ReadPool(options);
  }

  /** The stats rollup is read in place: a few thousand small entries, cheaper than a hop to a reader thread. */
  get statsRollup(): AuditStore['statsRollup'] {
    return this.writer.statsRollup;
  }

  append(record: AppendedRecord): boolean {
    return this.writer.append(record);
  }

  accepting(): boolean {
    return this.writer.accepting();
  }

  health(): StoreHealth {
    return this.writer.health();
  }

  async query(filter: AuditFilter, page: PageRequest): Promise<QueryResult> {
    return this.readsInPlace(filter, page) ? this.writer.query(filter, page) : this.pool.query(filter, page);
  }

  async queryView(filter: AuditFilter, page: PageRequest, view: RecordView): Promise<ViewPage> {
    if (!this.readsInPlace(filter, page)) return this.pool.queryView(filter, page, view);
    return this.writer.query(filter, page).then((result) => viewPage(result, view));
  }

  /** Throws as the pool does once closing (the writer's environment closes after it). */
  private readsInPlace(filter: AuditFilter, page: PageRequest): boolean {
    if (this.closed) throw new ReaderFailedError('the store is closing');
    return isBoundedPage(filter, page);
  }

  async* iterate(filter: AuditFilter, options?: IterateOptions): AsyncGenerator<AuditRecord> {
    let cursor: string | undefined;
    do {
      const page = await this.pool.query(filter, { limit: ITERATE_PAGE, withoutBodies: options?.withoutBodies, ...(cursor !== undefined && { cursor }) });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool.close();
    await this.writer.close();
  }
}
