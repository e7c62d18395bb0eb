export const REDACTED = '[REDACTED]';

/** Redacts the values of sensitive keys (any depth, case-insensitive) in captured body text. */
export class BodyRedactor {
  private readonly keys: ReadonlySet<string>;
  private readonly fallbackKey: RegExp;
  private readonly quotedKey: RegExp;
  private readonly formField: RegExp;

  constructor(sensitiveKeys: readonly string[]) {
    this.keys = new Set(sensitiveKeys.map((k) => k.toLowerCase()));
    const names = sensitiveKeys.map(escapeRegex).join('|') || '(?!)';
    // For text that is not (or no longer, once truncated) valid JSON: "key": value, even cut short.
    this.fallbackKey = new RegExp(`"(?:${names})"\\s*:\\s*`, 'gi');
    this.quotedKey = new RegExp(`"(?:${names})"`, 'i');
    this.formField = new RegExp(`((?:^|&)(?:${names})=)[^&]*`, 'gi');
  }

  isSensitive(key: string): boolean {
    return this.keys.has(key.toLowerCase());
  }

  redact(text: string, contentType: string | undefined): string {
    if (contentType?.includes('x-www-form-urlencoded')) return text.replace(this.formField, `$1${REDACTED}`);
    // Without a backslash no key can be escaped and no string can hide a quote, so a "key": match is a real key:
    // the scan redacts in place and keeps the body as sent (a parse and a stringify cost ~50 µs for 16 KiB, and a
    // parse that fails on a truncated capture ~1 ms).
    if (!text.includes('\\')) return this.quotedKey.test(text) ? this.redactLoose(text) : text;
    return this.redactJson(text) ?? this.redactLoose(text);
  }

  /** Each `"key": value` of a sensitive key: the whole value (string, object or array, even cut short) is replaced. */
  private redactLoose(text: string): string {
    let out = '';
    let from = 0;
    this.fallbackKey.lastIndex = 0;
    for (let m = this.fallbackKey.exec(text); m !== null; m = this.fallbackKey.exec(text)) {
      const valueStart = m.index + m[0].length;
      if (valueStart < from) continue; // inside a value already redacted
      const valueEnd = endOfValue(text, valueStart);
      if (valueEnd === valueStart) continue;
      out += `${text.slice(from, valueStart)}"${REDACTED}"`;
      from = valueEnd;
      this.fallbackKey.lastIndex = valueEnd;
    }
    return out + text.slice(from);
  }

  /** Null when the text is not JSON. */
  private redactJson(text: string): string | null {
    const first = text.trimStart()[0];
    if (first !== '{' && first !== '[') return null;
    try {
      const keys = this.keys;
      return JSON.stringify(JSON.parse(text, (key, value) => (keys.has(key.toLowerCase()) ? REDACTED : value)));
    } catch {
      return null;
    }
  }

  /** Query parameters with sensitive names redacted. */
  redactQuery(query: Record<string, string | string[]>): Record<string, string | string[]> {
    for (const key in query) if (this.isSensitive(key)) query[key] = REDACTED;
    return query;
  }
}

/** Where the JSON value starting at `start` ends: after its closing quote or bracket, or at the end of cut text. */
function endOfValue(text: string, start: number): number {
  const first = text[start];
  if (first !== '"' && first !== '{' && first !== '[') {
    const scalar = /[^,}\]\s]*/y;
    scalar.lastIndex = start;
    scalar.exec(text);
    return scalar.lastIndex;
  }
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') {
        inString = false;
        if (depth === 0) return i + 1;
      }
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) return i + 1;
  }
  return text.length;
}

function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
