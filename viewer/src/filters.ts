/** The view's filters: read from and written to the page URL (so a view can be shared), turned into API parameters. */

export const RANGES = { '15m': 15 * 60_000, '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 } as const;
export type Range = keyof typeof RANGES | 'custom';
export type PrincipalKind = 'apiKeyId' | 'serviceAccountId' | 'userId';

export interface Filters {
  range: Range;
  /** ISO times, used when range is custom. */
  from: string;
  to: string;
  method: string;
  /** A status code (404) or class (4xx). */
  status: string;
  path: string;
  route: string;
  principalKind: PrincipalKind;
  principal: string;
  organization: string;
}

export const DEFAULT_FILTERS: Filters = {
  range: '24h', from: '', to: '', method: '', status: '', path: '', route: '', principalKind: 'apiKeyId', principal: '', organization: '',
};

const URL_NAMES: Record<keyof Filters, string> = {
  range: 'range', from: 'from', to: 'to', method: 'method', status: 'status', path: 'path', route: 'route',
  principalKind: 'principalKind', principal: 'principal', organization: 'org',
};

const KINDS: readonly PrincipalKind[] = ['apiKeyId', 'serviceAccountId', 'userId'];

export function filtersFromUrl(search: string): Filters {
  const params = new URLSearchParams(search);
  const filters = { ...DEFAULT_FILTERS };
  for (const name of Object.keys(URL_NAMES) as (keyof Filters)[]) {
    const value = params.get(URL_NAMES[name]);
    if (value !== null) (filters as Record<keyof Filters, string>)[name] = value;
  }
  if (!(filters.range in RANGES) && filters.range !== 'custom') filters.range = DEFAULT_FILTERS.range;
  if (!KINDS.includes(filters.principalKind)) filters.principalKind = DEFAULT_FILTERS.principalKind;
  return filters;
}

/** The query string of the page for these filters: only what differs from the defaults. */
export function filtersToUrl(filters: Filters): string {
  const params = new URLSearchParams();
  for (const name of Object.keys(URL_NAMES) as (keyof Filters)[]) {
    if (name === 'principalKind' && !filters.principal) continue;
    if ((name === 'from' || name === 'to') && filters.range !== 'custom') continue;
    if (filters[name] !== DEFAULT_FILTERS[name]) params.set(URL_NAMES[name], filters[name]);
  }
  const query = params.toString();
  return query ? `?${query}` : '';
}

/** The time range in epoch ms; a preset ends now, so the same view refreshed moves with the clock. */
export function timeBounds(filters: Filters, nowMs: number): { fromMs: number; toMs: number } {
  if (filters.range !== 'custom') return { fromMs: nowMs - RANGES[filters.range], toMs: nowMs };
  const fromMs = Date.parse(filters.from);
  const toMs = Date.parse(filters.to);
  return { fromMs: Number.isNaN(fromMs) ? nowMs - RANGES['24h'] : fromMs, toMs: Number.isNaN(toMs) ? nowMs : toMs };
}

/** Parameters of the records and stats endpoints. */
export function apiParams(filters: Filters, bounds: { fromMs: number; toMs: number }): URLSearchParams {
  const params = new URLSearchParams({ from: new Date(bounds.fromMs).toISOString(), to: new Date(bounds.toMs).toISOString() });
  if (filters.method) params.set('method', filters.method.trim().toUpperCase());
  const status = filters.status.trim().toLowerCase();
  if (/^[1-5]xx$/.test(status)) params.set('statusClass', status);
  else if (status) params.set('statusCode', status);
  if (filters.path.trim()) params.set('path', filters.path.trim());
  if (filters.route.trim()) params.set('routePattern', filters.route.trim());
  if (filters.principal.trim()) params.set(filters.principalKind, filters.principal.trim());
  if (filters.organization.trim()) params.set('organizationId', filters.organization.trim());
  return params;
}

/**
 * The export endpoint's (Portkey's) parameters for the same view, or a reason it cannot express it: it has no
 * status class or route filter.
 */
export function exportParams(filters: Filters, bounds: { fromMs: number; toMs: number }, format: 'ndjson' | 'csv'): URLSearchParams | string {
  if (filters.route.trim()) return 'the export cannot filter by route';
  const status = filters.status.trim();
  if (/^[1-5]xx$/i.test(status)) return 'the export cannot filter by status class';
  const params = new URLSearchParams({
    format, start_time: new Date(bounds.fromMs).toISOString(), end_time: new Date(bounds.toMs).toISOString(),
  });
  if (filters.method) params.set('method', filters.method.trim().toUpperCase());
  if (status) params.set('response_status_code', status);
  if (filters.path.trim()) params.set('uri', filters.path.trim());
  if (filters.principal.trim()) {
    params.set('user_id', filters.principal.trim());
    params.set('user_type', filters.principalKind === 'userId' ? 'user' : 'api_key');
  }
  if (filters.organization.trim()) params.set('organisation_id', filters.organization.trim());
  return params;
}

/** `datetime-local` input value (local time, minutes) for an ISO time, and back. */
export function isoToLocalInput(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  return new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

export function localInputToIso(value: string): string {
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}
