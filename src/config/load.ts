import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';

/** A config problem: one line, naming the key and what is wrong. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid config: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

type Tree = Record<string, unknown>;

/** Shorthand environment variables a Docker sidecar uses; AUDIT_PROXY__A__B sets any key a.b too. */
const ENV_SHORTHANDS: Record<string, string> = {
  AUDIT_PROXY_UPSTREAM: 'upstream.url',
  AUDIT_PROXY_PORT: 'listen.port',
  AUDIT_PROXY_HOST: 'listen.host',
  AUDIT_PROXY_DATA_DIR: 'store.path',
  AUDIT_PROXY_WORKERS: 'workers',
  AUDIT_PROXY_LOG_LEVEL: 'log.level',
  AUDIT_PROXY_TRUST_PROXY: 'trustProxy',
  AUDIT_PROXY_AUTH_ENFORCE: 'auth.enforce',
  AUDIT_PROXY_KEYS_FILE: 'auth.keysFile',
  AUDIT_PROXY_JWT_SECRET: 'auth.jwt.secret',
  AUDIT_PROXY_JWKS_URL: 'auth.jwt.jwksUrl',
  AUDIT_PROXY_INTROSPECTION_URL: 'auth.introspection.url',
  AUDIT_PROXY_ON_STORE_FAILURE: 'store.onFailure',
  AUDIT_PROXY_FLEET_POSTGRES_URL: 'fleet.postgres.url',
};

/** Keys whose environment value is taken as is, never read as YAML (a URL's password may hold # or quotes). */
const RAW_STRING_KEYS = new Set(['fleet.postgres.url']);

export interface ConfigSources {
  file?: string | null;
  env?: NodeJS.ProcessEnv;
  /** Dotted key -> value, from CLI flags; wins over everything. */
  overrides?: Record<string, unknown>;
}

export function loadConfig(sources: ConfigSources = {}): Readonly<Config> {
  return parseConfig(mergeSources(sources));
}

/** The file, environment and flags merged, before validation (check-config inspects files it names even when invalid). */
export function mergeSources(sources: ConfigSources): Record<string, unknown> {
  const tree: Tree = sources.file ? readConfigFile(sources.file) : {};
  for (const [key, value] of Object.entries(envOverrides(sources.env ?? {}))) setPath(tree, key, value);
  for (const [key, value] of Object.entries(sources.overrides ?? {})) {
    if (value !== undefined) setPath(tree, key, value);
  }
  return tree;
}

export function parseConfig(tree: unknown): Readonly<Config> {
  const result = configSchema.safeParse(tree, { reportInput: true });
  if (!result.success) throw new ConfigError(result.error.issues.map(describeIssue));
  return deepFreeze(result.data);
}

function readConfigFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new ConfigError([`config file ${file} is not valid YAML/JSON: ${yamlProblem(err)}`]);
  }
  if (parsed == null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError([`config file ${file} must hold a mapping`]);
  return parsed as Tree;
}

/** A YAML syntax error in one line: what and where ("... at line 3, column 1"). */
export function yamlProblem(err: unknown): string {
  return (err as Error).message.split('\n')[0]!.replace(/:$/, '');
}

function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined) continue;
    const key = ENV_SHORTHANDS[name] ?? genericEnvKey(name);
    if (key) out[key] = key === 'trustProxy' ? splitList(raw) : RAW_STRING_KEYS.has(key) ? raw : parseScalar(raw);
  }
  return out;
}

/** AUDIT_PROXY__UPSTREAM__TIMEOUT_MS -> upstream.timeoutMs */
function genericEnvKey(name: string): string | null {
  if (!name.startsWith('AUDIT_PROXY__')) return null;
  return name.slice('AUDIT_PROXY__'.length).split('__')
    .map((part) => part.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()))
    .join('.');
}

/** Environment values are YAML scalars: "8080" is a number, "false" a boolean, "[a, b]" a list. */
function parseScalar(raw: string): unknown {
  try {
    return parseYaml(raw);
  } catch {
    return raw;
  }
}

function splitList(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

function setPath(tree: Tree, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Tree;
  }
  node[parts[parts.length - 1]!] = value;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.length ? issue.path.join('.') : '(root)';
  if (issue.code === 'unrecognized_keys') return `${prefix(issue.path)}${issue.keys.join(', ')}: unknown key`;
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${key}: is required`;
  return `${key}: ${issue.message}`;
}

function prefix(path: PropertyKey[]): string {
  return path.length ? `${path.join('.')}.` : '';
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
