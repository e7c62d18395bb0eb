export const REDACTED = '[REDACTED]';

/** Redacts the values of sensitive keys (any depth, case-insensitive) in captured body text. */
export class BodyRedactor {
  private readonly keys: ReadonlySet<string>;
  private readonly fallback: RegExp;
  private readonly formField: RegExp;

  constructor(sensitiveKeys: readonly string[]) {
    this.keys = new Set(sensitiveKeys.map((k) => k.toLowerCase()));
    const names = sensitiveKeys.map(escapeRegex).join('|') || '(?!)';
    // For text that is not (or no longer, once truncated) valid JSON: "key": value, even cut short.
    this.fallback = new RegExp(`("(?:${names})"\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"?|[^,}\\]\\s]+)`, 'gi');
    this.formField = new RegExp(`((?:^|&)(?:${names})=)[^&]*`, 'gi');
  }

  isSensitive(key: string): boolean {
    return this.keys.has(key.toLowerCase());
  }

  redact(text: string, contentType: string | undefined): string {
    if (contentType?.includes('x-www-form-urlencoded')) return text.replace(this.formField, `$1${REDACTED}`);
    const json = this.redactJson(text);
    return json ?? text.replace(this.fallback, `$1"${REDACTED}"`);
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

function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
