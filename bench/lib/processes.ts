// Child processes of the bench: started on loopback, awaited until they answer, always stopped by pid.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';

export interface Started {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** A port the OS says is free right now (loopback). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `taskset -c <cpus>` in front of a command when taskset exists and cpus are given. */
export function pinned(cpus: string | null, command: string, args: string[]): [string, string[]] {
  if (!cpus || !hasCommand('taskset')) return [command, args];
  return ['taskset', ['-c', cpus, command, ...args]];
}

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Starts a server process and resolves once its port accepts connections (or rejects after 60 s: a loaded machine starts slowly). */
export async function startServer(command: string, args: string[], port: number, options: SpawnOptions = {}): Promise<Started> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'], ...options });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitForPort(port, child);
  } catch (error) {
    await stop();
    throw error;
  }
  return { child, stop };
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited with ${child.exitCode} before listening`);
    if (await accepts(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listened on ${port} within 60 s`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(socket.destroy() && true));
    socket.once('error', () => resolve(false));
  });
}

/** Resident set size of a process and its children, in bytes (0 when gone). */
export function rssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) used so far by a process and its descendants, in milliseconds. */
export function cpuMs(pid: number): number {
  let ticks = 0;
  for (const id of processTree(pid)) ticks += procStat(`/proc/${id}/stat`)?.ticks ?? 0; // 0: gone meanwhile
  return ticks * 10; // USER_HZ is 100 on Linux
}

/** The name and CPU ticks (user + system) so far in a /proc stat file of a process or thread; null once it is gone. */
export function procStat(path: string): { name: string; ticks: number } | null {
  try {
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

/** Moves every thread of a process and its descendants onto these CPUs (taskset -a -p). */
export function setAffinity(pid: number, cpus: string): void {
  for (const id of processTree(pid)) spawnSync('taskset', ['-a', '-p', '-c', cpus, String(id)], { stdio: 'ignore' });
}

function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const task of readdirSync(`/proc/${out[i]}/task`)) {
        const children = readFileSync(`/proc/${out[i]}/task/${task}/children`, 'utf8').trim();
        if (children) out.push(...children.split(' ').map(Number));
      }
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
