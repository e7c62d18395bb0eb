/** A store that lives elsewhere (the fleet's PostgreSQL) could not answer a read; the API answers 503 with it. */
export class StoreUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}
