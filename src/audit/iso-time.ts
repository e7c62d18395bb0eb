/** `000Z` to `999Z`: the milliseconds and zone that end an ISO 8601 time. */
const MILLIS = Array.from({ length: 1_000 }, (_, i) => `${String(i).padStart(3, '0')}Z`);

let cachedSecond = Number.NaN;
let cachedPrefix = '';

/**
 * `new Date(ms).toISOString()` at ~30 ns instead of ~1.3 µs: the text up to the second is formatted once per
 * second and the milliseconds appended.
 */
export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1_000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1_000).toISOString().slice(0, -4);
  }
  return cachedPrefix + MILLIS[ms - second * 1_000]!;
}

let parsedPrefix = '';
let parsedSecondMs = Number.NaN;

/**
 * `Date.parse` of a time as isoTime writes it (`2026-11-23T18:30:00.123Z`) at a fraction of its cost: the part up
 * to the second is parsed once per second. Any other form is left to Date.parse.
 */
export function recordTimeMs(text: string): number {
  if (text.length !== 24 || text.charCodeAt(19) !== 0x2e || text.charCodeAt(23) !== 0x5a) return Date.parse(text);
  const millis = millisOf(text);
  if (millis < 0) return Date.parse(text);
  const prefix = text.slice(0, 19);
  if (prefix !== parsedPrefix) {
    parsedSecondMs = Date.parse(`${prefix}Z`);
    parsedPrefix = prefix;
  }
  return parsedSecondMs + millis;
}

/** The three digits at 20-22 as a number, or -1 when one is not a digit. */
function millisOf(text: string): number {
  let value = 0;
  for (let i = 20; i < 23; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}
