#!/usr/bin/env node
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { stringify as toYaml } from 'yaml';
import { ConfigError, loadConfig, mergeSources, type ConfigSources } from './config/load.js';
import type { Config } from './config/schema.js';
import { createChainCommand } from './cli/chain-command.js';
import { checkEverything } from './cli/check-config.js';
import { createKeysCommand } from './cli/keys-command.js';
import { createQueryCommand } from './cli/query-command.js';
import { createVerifyCommand } from './cli/verify-command.js';
import { runPrimary } from './cluster.js';
import { createLogger } from './log.js';
import { maskUrl } from './net/url-mask.js';
import { startProxy } from './server.js';

interface ConfigFlags {
  config?: string;
  upstream?: string;
  port?: number;
  host?: string;
  dataDir?: string;
  workers?: string;
  logLevel?: string;
  keysFile?: string;
}

function configOptions<T>(y: Argv<T>) {
  return y
    .option('config', { alias: 'c', type: 'string', describe: 'YAML or JSON config file (env AUDIT_PROXY_CONFIG)' })
    .option('upstream', { type: 'string', describe: 'upstream URL (upstream.url)' })
    .option('port', { type: 'number', describe: 'listen port (listen.port)' })
    .option('host', { type: 'string', describe: 'listen address (listen.host)' })
    .option('data-dir', { type: 'string', describe: 'LMDB directory (store.path)' })
    .option('workers', { type: 'string', describe: 'worker processes: a number or auto (workers)' })
    .option('log-level', { type: 'string', describe: 'fatal|error|warn|info|debug|trace|silent (log.level)' })
    .option('keys-file', { type: 'string', describe: 'API key registry file, reloaded on change (auth.keysFile)' });
}

/** Defaults < config file < environment < flags. */
export function configFromFlags(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  return loadConfig(configSources(flags, env));
}

function configSources(flags: ConfigFlags, env: NodeJS.ProcessEnv): ConfigSources {
  return {
    file: flags.config ?? env.AUDIT_PROXY_CONFIG ?? null,
    env,
    overrides: {
      'upstream.url': flags.upstream,
      'listen.port': flags.port,
      'listen.host': flags.host,
      'store.path': flags.dataDir,
      workers: flags.workers === undefined ? undefined : workersValue(flags.workers),
      'log.level': flags.logLevel,
      'auth.keysFile': flags.keysFile,
    },
  };
}

function workersValue(raw: string): number | string {
  return raw === 'auto' || !/^\d+$/.test(raw) ? raw : Number(raw);
}

export function workerCount(config: Config): number {
  return config.workers === 'auto' ? availableParallelism() : config.workers;
}

async function serve(flags: ConfigFlags): Promise<void> {
  const config = configFromFlags(flags);
  const logger = createLogger(config);
  const workers = workerCount(config);
  if (cluster.isPrimary && workers > 1) {
    runPrimary(workers, logger);
    return;
  }
  const proxy = await startProxy(config, logger);
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    proxy.close().then(() => process.exit(0), (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** Secrets print as *** so the effective config can be shared; so do credentials inside URLs. */
export function maskSecrets(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  if (typeof value !== 'string') return value;
  return /secret|password|token|signingKey$/i.test(key) ? '***' : maskUrl(value);
}

async function checkConfig(flags: ConfigFlags): Promise<void> {
  const config = await checkEverything(mergeSources(configSources(flags, process.env)));
  process.stdout.write(`# effective configuration (secrets masked)\n${toYaml(maskSecrets(config))}`);
}

export function buildCli(argv: string[]): Argv {
  return yargs(argv)
    .scriptName('audit-proxy')
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .usage('$0 <command> [options]\n\nA reverse proxy that records who called what, when, from where, and how it went.')
    .command('serve', 'run the proxy in front of an upstream', (y) => configOptions(y), (a) => serve(a as ConfigFlags))
    .command('check-config', 'validate and print the effective config (secrets masked)', (y) => configOptions(y),
      (a) => checkConfig(a as ConfigFlags))
    .command(createKeysCommand())
    .command(createQueryCommand())
    .command(createVerifyCommand())
    .command(createChainCommand())
    .demandCommand(1, 'name a command: serve, check-config, keys, query, verify or chain')
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .fail((message, err) => {
      throw err ?? new CliUsageError(withoutCamelTwins(message));
    });
}

class CliUsageError extends Error {}

/** yargs names an unknown --foo-bar twice (foo-bar, fooBar); say it once. */
function withoutCamelTwins(message: string): string {
  const match = /^(Unknown arguments?): (.*)$/.exec(message);
  if (!match) return message;
  const names = match[2]!.split(', ');
  const dashed = new Set(names.filter((n) => n.includes('-')).map((n) => n.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())));
  const kept = names.filter((n) => !dashed.has(n));
  return `${kept.length > 1 ? 'Unknown arguments' : 'Unknown argument'}: ${kept.join(', ')}`;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli(argv).parseAsync();
  } catch (err) {
    const message = err instanceof ConfigError || err instanceof CliUsageError ? err.message : String((err as Error)?.message ?? err);
    process.stderr.write(`audit-proxy: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exit(err instanceof ConfigError || err instanceof CliUsageError ? 2 : 1);
  }
}

await main(hideBin(process.argv));
