/** Query parameters whose values are taken for credentials when a URL is printed. */
const SECRET_PARAM = /token|secret|password|passwd|key|sig|auth|credential/i;
const MASK = '***';

/**
 * A URL as it may be printed (logs, check-config, error messages): user and password become ***, and so do the
 * values of query parameters named like credentials. Text that is not a URL is returned as it is.
 */
export function maskUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  const secretParams = [...url.searchParams.keys()].filter((name) => SECRET_PARAM.test(name));
  if (!url.username && !url.password && secretParams.length === 0) return text;
  if (url.username) url.username = MASK;
  if (url.password) url.password = MASK;
  for (const name of secretParams) url.searchParams.set(name, MASK);
  return url.href;
}
