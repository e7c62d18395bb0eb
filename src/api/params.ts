import { z } from 'zod';
import type { AuditFilter } from '../store/store.js';

/** A query string parsed and validated, or the one message that says what is wrong with it. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const DIGITS = /^\d{1,15}$/;

/** An integer written as plain decimal digits (no sign, exponent, hex, spaces or fraction), within bounds. */
export function integerParam(min: number, max?: number) {
  const rule = max === undefined ? `must be an integer >= ${min}` : `must be an integer from ${min} to ${max}`;
  return z.string()
    .refine((s) => DIGITS.test(s) && Number(s) >= min && (max === undefined || Number(s) <= max), rule)
    .transform(Number);
}

// ISO 8601 extended (2026-11-23T11:21:44.5+01:00) and basic (20261123T112144Z); a date-time without a zone is UTC.
const EXTENDED = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
const BASIC = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(?:(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?:\d{2})?)?)?$/i;

/**
 * Epoch ms of an ISO 8601 date (UTC midnight) or date-time, extended or basic format, with or without a zone
 * (none means UTC); NaN for anything else, impossible days and times (Feb 30, 24:00, 12:60) included.
 * Fractions below a millisecond are kept, so inclusive bounds stay exact.
 */
export function isoTimeMs(text: string): number {
  const m = EXTENDED.exec(text) ?? BASIC.exec(text);
  if (!m) return NaN;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  const offsetMinutes = zoneOffsetMinutes(m[8]);
  if (hour > 23 || minute > 59 || second > 59 || Number.isNaN(offsetMinutes)) return NaN;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // unlike Date.UTC, years 0-99 stay themselves
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return NaN;
  const fraction = m[7] === undefined ? 0 : Number(`0.${m[7]}`) * 1000;
  return date.getTime() + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + fraction;
}

/** Minutes east of UTC of Z, ±hh, ±hhmm or ±hh:mm; 0 when absent (UTC); NaN out of range. */
function zoneOffsetMinutes(zone: string | undefined): number {
  if (zone === undefined || zone.toUpperCase() === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const [hours, minutes] = [Number(digits.slice(0, 2)), Number(digits.slice(2) || '0')];
  if (hours > 23 || minutes > 59) return NaN;
  return (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

const TIME_RULE = 'must be an ISO 8601 date or date-time, e.g. 2026-11-23T11:21:44Z or 20261123T112144Z (no zone means UTC)';

export const timeParam = z.string()
  .refine((s) => !Number.isNaN(isoTimeMs(s)), {
    // A + left unencoded in a query string arrives as a space: say so rather than only "invalid".
    error: (issue) => String(issue.input).includes(' ') ? `${TIME_RULE}; a + in a query string reads as a space, send it as %2B` : TIME_RULE,
  })
  .transform(isoTimeMs);

export const idParam = z.string().min(1, 'must not be empty').max(512, 'must be at most 512 characters');

export const methodParam = z.string()
  .regex(/^[A-Za-z]{1,20}$/, 'must be an HTTP method name such as GET or POST')
  .transform((s) => s.toUpperCase());

export const statusParam = integerParam(0, 599);

export const pathParam = z.string().startsWith('/', 'must be a path starting with /').max(2048, 'must be at most 2048 characters');

/** The filters the store answers itself, as query parameters: shared by every endpoint that reads records. */
export const storeFilterParams = {
  organizationId: idParam.optional(),
  serviceAccountId: idParam.optional(),
  apiKeyId: idParam.optional(),
  userId: idParam.optional(),
  method: methodParam.optional(),
  statusCode: statusParam.optional(),
  path: pathParam.optional(),
  from: timeParam.optional(),
  to: timeParam.optional(),
};

type StoreFilterParams = z.output<z.ZodObject<typeof storeFilterParams>>;

/** The store filter those parameters ask for, within the organization scope the caller was granted. */
export function storeFilter(p: StoreFilterParams, organizationId: string | undefined): AuditFilter {
  return {
    organizationId, apiKeyId: p.apiKeyId, serviceAccountId: p.serviceAccountId, userId: p.userId, method: p.method,
    statusCode: p.statusCode, path: p.path, fromMs: p.from, toMs: p.to,
  };
}

/**
 * Validates a raw query string against a strict zod object of string parameters: a repeated parameter, an unknown
 * one, or one breaking its rule is refused with a message naming each offending parameter.
 */
export function parseParams<S extends z.ZodType>(search: string, schema: S): Parsed<z.output<S>> {
  const raw: Record<string, string> = Object.create(null); // so __proto__ is a parameter like any other, and refused
  for (const [name, value] of new URLSearchParams(search)) {
    if (Object.hasOwn(raw, name)) return { ok: false, message: `${name} must be given at most once` };
    raw[name] = value;
  }
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, message: result.error.issues.map(describeIssue).join('; ') };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown parameter${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
  }
  return `${issue.path.join('.')} ${issue.message}`;
}
