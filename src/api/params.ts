import { z } from 'zod';

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

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/i;

/** Epoch ms of an ISO 8601 date (UTC midnight) or date-time with a zone; NaN for anything else (Feb 30 included). */
export function isoTimeMs(text: string): number {
  const m = ISO_TIME.exec(text);
  if (!m) return NaN;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return NaN;
  return Date.parse(m[4] === undefined ? `${m[1]}-${m[2]}-${m[3]}T00:00:00Z` : text.toUpperCase());
}

export const timeParam = z.string()
  .refine((s) => !Number.isNaN(isoTimeMs(s)), 'must be an ISO 8601 date or date-time with a zone, e.g. 2024-05-01T12:00:00Z')
  .transform(isoTimeMs);

export const idParam = z.string().min(1, 'must not be empty').max(512, 'must be at most 512 characters');

export const methodParam = z.string()
  .regex(/^[A-Za-z]{1,20}$/, 'must be an HTTP method name such as GET or POST')
  .transform((s) => s.toUpperCase());

export const statusParam = integerParam(0, 599);

export const pathParam = z.string().startsWith('/', 'must be a path starting with /').max(2048, 'must be at most 2048 characters');

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
