import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { freePort } from './ports.js';

/** Debian's PostgreSQL 15 (`.ci/run` installs the `postgresql` package when it is missing). */
export const PG_BIN = process.env.AUDIT_PROXY_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** initdb and postgres refuse to run as root: as root, the cluster runs as `nobody`. */
const NOBODY = 65_534;
const PASSWORD = 'audit-test-password';

export interface TestPostgres {
  /** postgres://audit:...@127.0.0.1:port/audit */
  url: string;
  port: number;
  /** The server is running (start/stop switch it, keeping the data). */
  running(): boolean;
  /** A fresh, empty database on this server; resolves with its URL. */
  database(): Promise<string>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes the cluster. */
  close(): Promise<void>;
}

/**
 * A throwaway PostgreSQL cluster in a temp dir on a free loopback port, owned by the test: a real server, never a
 * mock. Fails loudly (never skips) when the binaries are missing. Also used by bench/fleet.ts.
 */
export async function startTestPostgres(options: { durable?: boolean } = {}): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'audit-proxy-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot ? { uid: NOBODY, gid: NOBODY } : {};
  if (asRoot) chownSync(dir, NOBODY, NOBODY);
  chmodSync(dir, 0o700);
  const passwordFile = join(dir, 'pw');
  writeFileSync(passwordFile, `${PASSWORD}\n`);
  if (asRoot) chownSync(passwordFile, NOBODY, NOBODY);
  const init = spawnSync(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'audit', '--pwfile', passwordFile, '-A', 'scram-sha-256', '-E', 'UTF8', '--no-sync'], { ...ids, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed (${init.error?.message ?? init.status}): ${init.stderr}`);
  const port = await freePort();
  let server: ChildProcess | null = null;
  let databases = 0;
  const start = async (): Promise<void> => {
    // Tests trade durability for speed; the bench (durable) measures a server as deployed.
    const fast = options.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
    const child = spawn(join(PG_BIN, 'postgres'), [
      '-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, ...fast, '-c', 'max_connections=100',
    ], { ...ids, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
    server = child;
    await waitReady(port, child, () => stderr);
    // The server's own database for the tests; created once, kept across stop/start.
    spawnSync(join(PG_BIN, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'audit', 'audit'], {
      env: { ...process.env, PGPASSWORD: PASSWORD }, encoding: 'utf8',
    });
  };
  const stop = async (): Promise<void> => {
    const child = server;
    if (!child) return;
    server = null;
    if (child.exitCode === null) {
      child.kill('SIGINT'); // fast shutdown: aborts open transactions, disconnects clients
      await once(child, 'exit');
    }
  };
  await start();
  return {
    url: `postgres://audit:${PASSWORD}@127.0.0.1:${port}/audit`,
    port,
    running: () => server !== null,
    async database() {
      const name = `audit_${++databases}`;
      const created = spawnSync(join(PG_BIN, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'audit', name], {
        env: { ...process.env, PGPASSWORD: PASSWORD }, encoding: 'utf8',
      });
      if (created.status !== 0) throw new Error(`createdb failed: ${created.stderr}`);
      return `postgres://audit:${PASSWORD}@127.0.0.1:${port}/${name}`;
    },
    start,
    stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitReady(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}: ${stderr()}`);
    const probe = spawnSync(join(PG_BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)], { encoding: 'utf8' });
    if (probe.status === 0) return;
    if (Date.now() > deadline) throw new Error(`postgres did not become ready: ${stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}


/**
 * Ends a pool once its connections are closed. pg-pool's end() resolves as soon as it lets go of its clients, before
 * their connections close: a server stopped by the next teardown then fails one still closing, an uncaught error.
 */
export async function endPool(pool: pg.Pool): Promise<void> {
  let open = pool.totalCount;
  const closed = new Promise<void>((resolve) => {
    if (open === 0) resolve();
    pool.on('remove', () => {
      if (--open === 0) resolve();
    });
  });
  await pool.end();
  await closed;
}
