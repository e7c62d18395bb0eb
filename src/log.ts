import { pino, type Logger } from 'pino';
import { build as prettyStream } from 'pino-pretty';
import type { Config } from './config/schema.js';

export type { Logger };

/** Paths pino censors on every line, whatever a caller passes: credentials must never reach a log. */
const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers["proxy-authorization"]', 'req.headers.cookie',
  'req.headers["x-api-key"]', 'req.headers["x-portkey-api-key"]', 'res.headers["set-cookie"]',
  'headers.authorization', 'headers.cookie', 'headers["x-api-key"]', 'headers["x-portkey-api-key"]',
  '*.password', '*.secret', '*.token', '*.clientSecret', '*.fingerprintSecret',
];

export function createLogger(config: Pick<Config, 'log'>, destination?: pino.DestinationStream): Logger {
  const pretty = config.log.pretty === 'true' || (config.log.pretty === 'auto' && !destination && process.stdout.isTTY);
  const options: pino.LoggerOptions = {
    level: config.log.level,
    base: { pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
  };
  // In this thread, not as a worker transport: a transport whose stdout broke (`serve | head -1`) held every exit
  // for 10 s waiting for its worker. Like the JSON destination, this one stops writing on EPIPE.
  if (pretty) return pino(options, prettyStream({ colorize: true, sync: true, destination: destination ?? 1 }));
  return destination ? pino(options, destination) : pino(options);
}

/** A worker thread's logger: each line goes to `send`, for the main thread to log again with relayThreadLog. */
export function threadLogger(level: string, send: (line: string) => void): Logger {
  return pino({ level, base: null, timestamp: false }, { write: send });
}

/** A pino line from a worker thread, logged again by `logger` (its destination and redaction) at its level. */
export function relayThreadLog(logger: Logger, line: string): void {
  const { level, msg, ...fields } = JSON.parse(line) as { level: number; msg?: string } & Record<string, unknown>;
  const label = logger.levels.labels[level] as 'error' | 'warn' | 'info';
  logger[label]?.(fields, msg);
}
