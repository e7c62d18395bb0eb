/** What went wrong, in one line with no secrets (pg's errors name the host and port, never the password). */
export function describeError(error: unknown): string {
  const { message, code } = error as { message?: string; code?: string };
  return message || code || String(error);
}
