import { randomFillSync } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562, method 1: a fixed-length dedicated counter) at well under a microsecond each:
 * 48-bit Unix ms | ver 7 | 12 counter bits | var 10 | 30 counter bits | 32 random bits.
 * The 42-bit counter is seeded at random (leftmost bit clear) on every new millisecond and incremented within one,
 * so ids are strictly increasing in a process, even when the clock steps back (the last millisecond is kept). Two
 * processes differ by their random seeds and the 32 random bits of every id. Random bits come from a pool refilled
 * by one randomFillSync per POOL_SIZE words.
 */
const POOL_SIZE = 512;
const LOW_COUNTER = 0x40000000; // 2^30
const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const HEX3 = Array.from({ length: 4096 }, (_, i) => i.toString(16).padStart(3, '0'));

const pool = new Uint32Array(POOL_SIZE);
let poolNext = POOL_SIZE;
let lastMs = -1;
let counter = 0;
/** `xxxxxxxx-xxxx-7` of lastMs. */
let prefix = '';

function random32(): number {
  if (poolNext === POOL_SIZE) {
    randomFillSync(pool);
    poolNext = 0;
  }
  return pool[poolNext++]!;
}

function hex4(value: number): string {
  return HEX2[value >>> 8]! + HEX2[value & 0xff]!;
}

function hex8(value: number): string {
  return hex4(value >>> 16) + hex4(value & 0xffff);
}

/**
 * A new UUIDv7 stamped with `ms` (or the last millisecond used, when `ms` is earlier). Over 2^41 ids are left in
 * every millisecond before the counter could reach its 42 bits.
 */
export function uuidv7(ms: number): string {
  if (ms > lastMs) {
    lastMs = ms;
    counter = (random32() & 0x1ff) * 0x100000000 + random32();
    const high = Math.floor(ms / 0x10000);
    prefix = `${hex8(high)}-${hex4(ms - high * 0x10000)}-7`;
  } else {
    counter++;
  }
  const low = counter % LOW_COUNTER;
  return `${prefix}${HEX3[Math.floor(counter / LOW_COUNTER)]!}-${hex4(0x8000 | (low >>> 16))}-${hex4(low & 0xffff)}${hex8(random32())}`;
}
