/** A read ran past audit.queryTimeoutMs; its scan was cancelled. The API answers 503 and names the budget. */
export class QueryTimeoutError extends Error {
  constructor(readonly budgetMs: number) {
    super(`the audit query ran past its time budget (audit.queryTimeoutMs: ${budgetMs} ms) and was cancelled; narrow it with a time range or more filters`);
    this.name = 'QueryTimeoutError';
  }
}

/** The reader thread running a read died (it is replaced); the read may be retried. */
export class ReaderFailedError extends Error {
  constructor(detail: string) {
    super(`the audit reader failed (${detail}); retry the query`);
    this.name = 'ReaderFailedError';
  }
}
