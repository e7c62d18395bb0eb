// Every server the HTTP scenarios compare, started beside one shared upstream, pinned when asked.
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nginxArgs } from '../contenders/nginx.js';
import { freePort, pinned, startServer, type Started } from './processes.js';

const DIST = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(DIST, 'src/cli.js');

export interface ContenderSpec {
  name: string;
  /** Worker processes (ratios are taken between contenders with the same count). */
  workers: number | 'auto';
  start(port: number, upstreamPort: number, dir: string, cpus: string | null): Promise<Started>;
}

export interface Running {
  spec: ContenderSpec;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** audit-proxy through its CLI: recording and request logging switched by environment, logs to a file. */
export function auditProxy(name: string, opts: { record: boolean; logRequests: boolean; workers: number | 'auto'; cli?: string; writer?: 'thread' | 'inline' }): ContenderSpec {
  return {
    name,
    workers: opts.workers,
    start(port, upstreamPort, dir, cpus) {
      const env = {
        ...process.env,
        AUDIT_PROXY__STORE__ENABLED: String(opts.record),
        AUDIT_PROXY__LOG__REQUESTS: String(opts.logRequests),
        ...(opts.writer ? { AUDIT_PROXY__STORE__WRITER: opts.writer } : {}),
      };
      const args = [opts.cli ?? CLI, 'serve', '--upstream', `http://127.0.0.1:${upstreamPort}`, '--port', String(port),
        '--host', '127.0.0.1', '--data-dir', join(dir, 'store'), '--workers', String(opts.workers)];
      const [command, argv] = pinned(opts.workers === 1 ? cpus : null, process.execPath, args);
      const log = openSync(join(dir, 'proxy.log'), 'a');
      return startServer(command, argv, port, { env, stdio: ['ignore', log, 'inherit'] });
    },
  };
}

export function httpProxy3(): ContenderSpec {
  return {
    name: 'http-proxy-3',
    workers: 1,
    start(port, upstreamPort, _dir, cpus) {
      const script = join(DIST, 'bench/contenders/http-proxy-3.js');
      const [command, argv] = pinned(cpus, process.execPath, [script, String(port), `http://127.0.0.1:${upstreamPort}`]);
      return startServer(command, argv, port);
    },
  };
}

/** The bare undici Pool.stream forwarder: the "limit" row (what forwarding in Node costs with nothing else). */
export function undiciLimit(): ContenderSpec {
  return {
    name: 'limit (undici)',
    workers: 1,
    start(port, upstreamPort, _dir, cpus) {
      const script = join(DIST, 'bench/contenders/undici.js');
      const [command, argv] = pinned(cpus, process.execPath, [script, String(port), `http://127.0.0.1:${upstreamPort}`]);
      return startServer(command, argv, port);
    },
  };
}

export function nginx(binary: string, workers: number | 'auto'): ContenderSpec {
  return {
    name: workers === 1 ? 'nginx' : 'nginx --auto',
    workers,
    start(port, upstreamPort, dir, cpus) {
      const [command, argv] = pinned(workers === 1 ? cpus : null, binary, nginxArgs(dir, port, upstreamPort, workers));
      return startServer(command, argv, port);
    },
  };
}

export async function startUpstream(cpus: string | null): Promise<{ port: number; server: Started }> {
  const port = await freePort();
  const [command, argv] = pinned(cpus, process.execPath, [join(DIST, 'bench/contenders/upstream.js'), String(port)]);
  return { port, server: await startServer(command, argv, port) };
}

export async function startContender(spec: ContenderSpec, upstreamPort: number, root: string, cpus: string | null): Promise<Running> {
  const dir = join(root, spec.name.replace(/[^a-z0-9]+/gi, '-'));
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const started = await spec.start(port, upstreamPort, dir, cpus);
  return { spec, url: `http://127.0.0.1:${port}`, pid: started.child.pid!, stop: started.stop };
}
