import { pino, type Logger } from 'pino';
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
  if (pretty) return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  return destination ? pino(options, destination) : pino(options);
}
