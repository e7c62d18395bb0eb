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
