import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { z } from 'zod';
import { configSchema } from './schema.js';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  items?: JsonSchema;
}

interface Leaf {
  key: string;
  type: string;
  defaultValue: unknown;
  description: string;
}

/** The config reference comes from the schema itself, so it cannot drift from what is validated. */
function schemaTree(): JsonSchema {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

function isSection(node: JsonSchema): boolean {
  return node.properties !== undefined && node.type === 'object';
}

function typeOf(node: JsonSchema): string {
  if (node.enum) return node.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (node.const !== undefined) return JSON.stringify(node.const);
  if (node.anyOf) return node.anyOf.map(typeOf).join(' | ');
  if (node.type === 'array') return `list of ${node.items ? typeOf(node.items) : 'any'}`;
  return Array.isArray(node.type) ? node.type.join(' | ') : node.type ?? 'any';
}

export function configLeaves(node: JsonSchema = schemaTree(), prefix = ''): Leaf[] {
  const leaves: Leaf[] = [];
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (isSection(child) && child.type === 'object') leaves.push(...configLeaves(child, key));
    else leaves.push({ key, type: typeOf(child), defaultValue: child.default, description: child.description ?? '' });
  }
  return leaves;
}

/** config/default.yaml: every key with its default and one comment. */
export function defaultYaml(node: JsonSchema = schemaTree(), indent = ''): string {
  let out = indent ? '' : '# audit-proxy configuration: every key with its default. Generated from src/config/ (npm run docs:config).\n'
    + '# Environment: AUDIT_PROXY_UPSTREAM, AUDIT_PROXY_PORT, AUDIT_PROXY_DATA_DIR, ... and AUDIT_PROXY__SECTION__KEY for any key.\n';
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    if (child.description) out += `${indent}# ${child.description}\n`;
    if (isSection(child)) {
      out += `${indent}${name}:\n${defaultYaml(child, `${indent}  `)}`;
    } else if (child.default === undefined) {
      out += `${indent}# ${name}: (required, no default)\n`;
    } else {
      out += `${indent}${name}: ${stringify(child.default, { collectionStyle: 'flow', lineWidth: 0 }).trimEnd()}\n`;
    }
  }
  return out;
}

/** docs/configuration.md: the same keys as a table. */
export function configurationMarkdown(): string {
  const rows = configLeaves().map((leaf) => {
    const def = leaf.defaultValue === undefined ? '(required)' : `\`${JSON.stringify(leaf.defaultValue)}\``;
    return `| \`${leaf.key}\` | ${leaf.type.replace(/\|/g, '\\|')} | ${def.replace(/\|/g, '\\|')} | ${leaf.description.replace(/\|/g, '\\|')} |`;
  });
  return ['# Configuration reference', '',
    'Generated from the schema in `src/config/` (`npm run docs:config`); `config/default.yaml` holds the same keys with their defaults.',
    '', 'Sources, weakest first: defaults, the config file (`--config` or `AUDIT_PROXY_CONFIG`), environment variables, CLI flags.',
    'Environment shorthands: `AUDIT_PROXY_UPSTREAM`, `AUDIT_PROXY_PORT`, `AUDIT_PROXY_HOST`, `AUDIT_PROXY_DATA_DIR`, `AUDIT_PROXY_WORKERS`,',
    '`AUDIT_PROXY_LOG_LEVEL`, `AUDIT_PROXY_TRUST_PROXY` (comma-separated), `AUDIT_PROXY_AUTH_ENFORCE`, `AUDIT_PROXY_KEYS_FILE`,',
    '`AUDIT_PROXY_JWT_SECRET`, `AUDIT_PROXY_JWKS_URL`, `AUDIT_PROXY_INTROSPECTION_URL`, `AUDIT_PROXY_ON_STORE_FAILURE`; any key `a.bC` is',
    '`AUDIT_PROXY__A__B_C` (values are read as YAML scalars: `8080`, `true`, `[a, b]`).', '',
    '| key | type | default | description |', '| --- | --- | --- | --- |', ...rows, ''].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync('config/default.yaml', defaultYaml());
  writeFileSync('docs/configuration.md', configurationMarkdown());
}
