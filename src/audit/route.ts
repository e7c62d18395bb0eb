import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import { parse as parseYaml } from 'yaml';
import type { Config } from '../config/schema.js';
import { yamlProblem } from '../config/load.js';
import { maskUrl } from '../net/url-mask.js';

export interface RouteInfo {
  routePattern: string;
  resourceType: string;
  action: string;
}

interface CompiledRule {
  regex: RegExp;
  pattern: string;
  resourceType: string;
  action: string | undefined;
  methods: ReadonlySet<string> | null;
}

const ACTION_BY_METHOD: Record<string, string> = {
  GET: 'read', HEAD: 'read', POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete',
};
const VERSION_SEGMENT = /^v\d+(?:\.\d+)*$/i;
/** Segments that name one thing rather than a collection: numbers, UUIDs, long hex, ULIDs, opaque ids. */
const ID_SEGMENT = /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}|[0-9A-HJKMNP-TV-Z]{26}|[A-Za-z]+_[A-Za-z0-9]{12,})$/i;
const CACHE_LIMIT = 10_000;
/** Longer method + path keys are classified each time: 10,000 paths of 15 KB held 145 MB (found by review). */
const CACHE_KEY_MAX = 512;

/** Maps a request to routePattern, resourceType and action: configured rules, then the OpenAPI paths, then a heuristic. */
export class RouteClassifier {
  private readonly cache = new Map<string, RouteInfo>();

  constructor(private readonly rules: readonly CompiledRule[]) {}

  classify(method: string, path: string): RouteInfo {
    const key = `${method} ${path}`;
    let info = this.cache.get(key);
    if (info === undefined) {
      info = this.match(method, path) ?? heuristic(method, path);
      if (key.length > CACHE_KEY_MAX) return info;
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(key, info);
    }
    return info;
  }

  /** True when the path falls under one of the given patterns (used for exclusions and overrides). */
  static matcher(patterns: readonly string[]): (path: string) => boolean {
    if (patterns.length === 0) return () => false;
    const regexes = patterns.map(patternRegex);
    return (path) => regexes.some((r) => r.test(path));
  }

  private match(method: string, path: string): RouteInfo | null {
    for (const rule of this.rules) {
      if (rule.methods && !rule.methods.has(method)) continue;
      if (rule.regex.test(path)) {
        return { routePattern: rule.pattern, resourceType: rule.resourceType, action: rule.action ?? actionFor(method) };
      }
    }
    return null;
  }
}

export async function createRouteClassifier(routes: Config['routes']): Promise<RouteClassifier> {
  const configured = routes.rules.map((r) => compileRule(r.pattern, r.resourceType, r.action, r.methods));
  const fromOpenApi = routes.openapi ? await openApiRules(routes.openapi) : [];
  return new RouteClassifier([...configured, ...fromOpenApi]);
}

export function actionFor(method: string): string {
  return ACTION_BY_METHOD[method] ?? method.toLowerCase();
}

function heuristic(method: string, path: string): RouteInfo {
  const segments = path.split('/').map((s) => (s && ID_SEGMENT.test(s) ? ':id' : s));
  const routePattern = segments.join('/') || '/';
  return { routePattern, resourceType: resourceTypeOf(segments), action: actionFor(method) };
}

/** The first named segment after a version segment (/api/v1/users -> users), else the first named one. */
function resourceTypeOf(segments: string[]): string {
  const named = segments.filter((s) => s && s !== ':id');
  const version = named.findIndex((s) => VERSION_SEGMENT.test(s));
  const afterVersion = version === -1 ? undefined : named[version + 1];
  return afterVersion ?? named.find((s) => !VERSION_SEGMENT.test(s)) ?? 'root';
}

function compileRule(pattern: string, resourceType?: string, action?: string, methods?: string[]): CompiledRule {
  return {
    regex: patternRegex(pattern),
    pattern,
    resourceType: resourceType ?? resourceTypeOf(pattern.split('/').map((s) => (s.startsWith(':') ? ':id' : s))),
    action,
    methods: methods ? new Set(methods.map((m) => m.toUpperCase())) : null,
  };
}

/** /v1/users/:id -> ^/v1/users/[^/]+/?$ ; a trailing * matches any rest. */
function patternRegex(pattern: string): RegExp {
  const body = pattern.split('/').map((segment) => {
    if (segment === '*') return '.*';
    if (segment.startsWith(':') || /^\{.+\}$/.test(segment)) return '[^/]+';
    return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }).join('/');
  return new RegExp(`^${body}/?$`);
}

async function openApiRules(source: string): Promise<CompiledRule[]> {
  let doc: { paths?: Record<string, Record<string, { tags?: string[]; 'x-audit-action'?: string }>> };
  try {
    const text = /^https?:\/\//.test(source) ? await fetchText(source) : await readFile(source, 'utf8');
    doc = parseYaml(text) as typeof doc;
  } catch (err) {
    // A file system error says its code (ENOENT, EACCES); a YAML error its line and column.
    const reason = (err as NodeJS.ErrnoException).syscall ? (err as NodeJS.ErrnoException).code : yamlProblem(err);
    throw new Error(`routes.openapi: cannot load ${maskUrl(source)}: ${reason}`);
  }
  if (typeof doc !== 'object' || doc === null) throw new Error(`routes.openapi: ${maskUrl(source)} is not an OpenAPI document`);
  const rules: CompiledRule[] = [];
  // Literal paths before templated ones, so /users/me wins over /users/{id}.
  const paths = Object.entries(doc.paths ?? {}).sort(([a], [b]) => templateCount(a) - templateCount(b));
  for (const [template, operations] of paths) {
    const pattern = template.replace(/\{([^}]+)\}/g, ':$1');
    for (const [method, operation] of Object.entries(operations ?? {})) {
      const upper = method.toUpperCase();
      if (!(upper in ACTION_BY_METHOD) && upper !== 'OPTIONS') continue;
      rules.push(compileRule(pattern, operation?.tags?.[0], operation?.['x-audit-action'], [upper]));
    }
  }
  return rules;
}

function templateCount(path: string): number {
  return (path.match(/\{/g) ?? []).length;
}

async function fetchText(url: string): Promise<string> {
  const { statusCode, body } = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  const text = await body.text();
  if (statusCode !== 200) throw new Error(`answered ${statusCode}`);
  return text;
}
