import type { AuditRecord } from '../../audit/record.js';
import type { RecordView } from '../../audit/views.js';
import type { AuditFilter, AuditStore, PageRequest, QueryResult, StoreHealth, ViewPage } from '../store.js';
import { ReadPool, type ReadPoolOptions } from './pool.js';

/** Records per read when an iteration (an export) pages through the pool; pages are fetched as they are consumed. */
const ITERATE_PAGE = 200;

/**
 * The AuditStore the proxy serves from: writes go to the writer store on this thread, reads to the reader threads.
 * An iteration is a series of cursor pages, each a query of its own (own budget, own reader), fetched only when
 * the consumer wants more: a slow export holds no reader between pages, and memory stays at one page.
 */
export class PooledReadStore implements AuditStore {
  readonly pool: ReadPool;

  constructor(private readonly writer: AuditStore, options: ReadPoolOptions) {
    this.pool = new ReadPool(options);
  }

  /** The stats rollup is read in place: a few thousand small entries, cheaper than a hop to a reader thread. */
  get statsRollup(): AuditStore['statsRollup'] {
    return this.writer.statsRollup;
  }

  append(record: AuditRecord): boolean {
    return this.writer.append(record);
  }

  accepting(): boolean {
    return this.writer.accepting();
  }

  health(): StoreHealth {
    return this.writer.health();
  }

  query(filter: AuditFilter, page: PageRequest): Promise<QueryResult> {
    return this.pool.query(filter, page);
  }

  queryView(filter: AuditFilter, page: PageRequest, view: RecordView): Promise<ViewPage> {
    return this.pool.queryView(filter, page, view);
  }

  async* iterate(filter: AuditFilter): AsyncGenerator<AuditRecord> {
    let cursor: string | undefined;
    do {
      const page = await this.pool.query(filter, { limit: ITERATE_PAGE, ...(cursor !== undefined && { cursor }) });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  async close(): Promise<void> {
    await this.pool.close();
    await this.writer.close();
  }
}
