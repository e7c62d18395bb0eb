export type { AuditFilter, AuditStore, CommitLog, LogEntry, PageRequest, QueryResult, StoreHealth } from './store.js';
export { openAuditStore, SchemaVersionError, StoreFullError, SCHEMA_VERSION } from './lmdb-store.js';
export type { LmdbAuditStore, OpenAuditStoreOptions } from './lmdb-store.js';
export { InvalidCursorError } from './cursor.js';
