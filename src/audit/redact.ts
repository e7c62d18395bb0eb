export const REDACTED = '[REDACTED]';
/** What is stored instead of a body whose secrets cannot be found with certainty (UTF-16/32 text, NUL bytes). */
export const UNREDACTABLE = '[unredactable body omitted]';

/** Charsets whose text decoded as UTF-8 hides every key name (the capture keeps bytes, decoded as UTF-8). */
const WIDE_CHARSET = /charset\s*=\s*"?(?:utf-?16|utf-?32|ucs-?2|ucs-?4)/i;
const FORM_SEPARATOR = /([&;])/;
const VERDICTS_KEPT = 1_024;
const BACKSLASH = 0x5c;
const QUOTE = 0x22;
/** What JSON.parse would not accept but a regular expression's \\s does: the gate errs on the side of looking. */
const WHITESPACE = /\s/;
/** What may stand between the words of a sensitive name (`access_token`, `Access-Token`, `accessToken`). */
const BETWEEN_WORDS = '[^a-z0-9"\\\\]*';
/** Longer key names are tested without being remembered (a hostile body must not fill the verdicts with KiBs). */
const VERDICT_KEY_MAX = 64;
/** Without a Content-Type (proxied error responses are recorded without theirs) a body shaped name=value... is a form. */
const FORM_SHAPE = /^[^\s={}[\]"<>]+=\S*$/;

/**
 * A sensitive key as a pattern: its words (runs of ASCII letters and digits) in any case, any separator or none
 * between them. `api_key` matches `apiKey`, `API-KEY` and `api.key`.
 */
function spelledKey(key: string): string {
  return key.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean).map(escapeRegex).join(BETWEEN_WORDS);
}

/** Redacts the values of sensitive keys (any depth, any spelling of the name) in captured bodies and queries. */
export class BodyRedactor {
  /** A name ending with a sensitive key, then nothing but punctuation (`X-Api-Key`, `user[password]`, `token[]`). */
  private readonly sensitiveName: RegExp;
  private readonly plainKey: RegExp;
  /** Names seen lately and whether they are sensitive: a body repeats its key names (arrays of objects). */
  private readonly verdicts = new Map<string, boolean>();

  constructor(sensitiveKeys: readonly string[]) {
    const spelled = [...new Set(sensitiveKeys.map(spelledKey).filter(Boolean))].join('|') || '(?!)';
    this.sensitiveName = new RegExp(`(?:${spelled})[^a-z0-9]*$`, 'i');
    const names = sensitiveKeys.map(escapeRegex).join('|') || '(?!)';
    // A safety net for text that is not JSON (quotes out of step): "key": value wherever it appears.
    this.plainKey = new RegExp(`"(?:${names})"\\s*:\\s*`, 'gi');
  }

  isSensitive(key: string): boolean {
    let verdict = this.verdicts.get(key);
    if (verdict === undefined) {
      verdict = this.sensitiveName.test(key);
      if (this.verdicts.size >= VERDICTS_KEPT) this.verdicts.clear();
      this.verdicts.set(key, verdict);
    }
    return verdict;
  }

  redact(text: string, contentType: string | undefined): string {
    if (text.includes('\0') || (contentType !== undefined && WIDE_CHARSET.test(contentType))) return UNREDACTABLE;
    const type = mediaType(contentType);
    if (type === 'application/x-www-form-urlencoded' || (type === '' && FORM_SHAPE.test(text))) return this.redactFields(text);
    // The common case: no escape can spell a key, and no key present is sensitive.
    if (!text.includes('\\') && !this.hasSensitiveKey(text)) return text;
    return this.redactPlainKeys(this.redactJsonKeys(text));
  }

  /**
   * Whether text without backslashes has some `"name":` (whitespace allowed before the colon) whose name ends with
   * a sensitive key. Only the strings before a colon are looked at, so a 16 KiB value costs one scan for ':'
   * instead of a case-insensitive regular expression tried at every position (130 µs per request measured).
   */
  hasSensitiveKey(text: string): boolean {
    for (let colon = text.indexOf(':'); colon !== -1; colon = text.indexOf(':', colon + 1)) {
      let quote = colon - 1;
      while (quote >= 0 && WHITESPACE.test(text[quote]!)) quote--;
      if (quote < 0 || text.charCodeAt(quote) !== QUOTE) continue;
      const name = text.slice(text.lastIndexOf('"', quote - 1) + 1, quote);
      if (name.length > VERDICT_KEY_MAX ? this.sensitiveName.test(name) : this.isSensitive(name)) return true;
    }
    return false;
  }

  /** Query parameters with sensitive names redacted; `a=1;token=x` hides a field in a value, which is redacted too. */
  redactQuery(query: Record<string, string | string[]>): Record<string, string | string[]> {
    for (const key in query) {
      const value = query[key]!;
      if (this.isSensitive(key)) query[key] = REDACTED;
      else query[key] = Array.isArray(value) ? value.map((v) => this.redactFields(v)) : this.redactFields(value);
    }
    return query;
  }

  /** `name=value` fields split on & and ;: a sensitive (or undecodable) name gets its value redacted. */
  private redactFields(text: string): string {
    if (!text.includes('=')) return text;
    return text.split(FORM_SEPARATOR).map((part) => {
      const eq = part.indexOf('=');
      if (eq === -1) return part;
      const name = decodeFormName(part.slice(0, eq));
      return name === null || this.isSensitive(name) ? `${part.slice(0, eq + 1)}${REDACTED}` : part;
    }).join('');
  }

  /**
   * Walks the text as JSON (complete or cut short): each string followed by `:` is a key, decoded with its escapes
   * (`"\u0070assword"`); a sensitive or undecodable key has its whole value replaced, in place.
   */
  private redactJsonKeys(text: string): string {
    let out = '';
    let from = 0;
    let i = text.indexOf('"');
    while (i !== -1) {
      const end = endOfString(text, i);
      if (end === -1) break; // cut inside a string: no key follows
      const colon = skipSpace(text, end);
      if (text[colon] === ':') {
        const valueStart = skipSpace(text, colon + 1);
        const key = decodeJsonString(text, i, end);
        if (valueStart < text.length && (key === null || this.isSensitive(key))) {
          out += `${text.slice(from, valueStart)}"${REDACTED}"`;
          from = endOfValue(text, valueStart);
          i = text.indexOf('"', from);
          continue;
        }
      }
      i = text.indexOf('"', end);
    }
    return from === 0 ? text : out + text.slice(from);
  }

  /** Each plain `"key": value` of a sensitive key, wherever it is: the whole value (even cut short) is replaced. */
  private redactPlainKeys(text: string): string {
    let out = '';
    let from = 0;
    this.plainKey.lastIndex = 0;
    for (let m = this.plainKey.exec(text); m !== null; m = this.plainKey.exec(text)) {
      const valueStart = m.index + m[0].length;
      if (valueStart < from) continue; // inside a value already redacted
      const valueEnd = endOfValue(text, valueStart);
      if (valueEnd === valueStart || text.startsWith(`"${REDACTED}"`, valueStart)) continue;
      out += `${text.slice(from, valueStart)}"${REDACTED}"`;
      from = valueEnd;
      this.plainKey.lastIndex = valueEnd;
    }
    return out + text.slice(from);
  }
}

/** The media type of a Content-Type value, lowercase, without parameters. */
function mediaType(contentType: string | undefined): string {
  if (!contentType) return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

function decodeFormName(raw: string): string | null {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** The string between the quotes at start and end - 1, its escapes decoded; null when an escape is broken. */
function decodeJsonString(text: string, start: number, end: number): string | null {
  const inner = text.slice(start + 1, end - 1);
  if (!inner.includes('\\')) return inner;
  try {
    return JSON.parse(`"${inner}"`) as string;
  } catch {
    return null;
  }
}

/** The index after the closing quote of the string opening at `start`, or -1 when the text ends inside it. */
function endOfString(text: string, start: number): number {
  for (let quote = text.indexOf('"', start + 1); quote !== -1; quote = text.indexOf('"', quote + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
  }
  return -1;
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  return i;
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
