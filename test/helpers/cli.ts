import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

/** The built CLI, as a user runs it (npm test builds dist/ first). */
export const CLI = resolve('dist/src/cli.js');

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A long-running CLI process whose output is collected, with a way to wait for a line. */
export class CliProcess {
  readonly child: ChildProcess;
  output = '';

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (c: Buffer) => { this.output += c.toString(); });
    this.child.stderr!.on('data', (c: Buffer) => { this.output += c.toString(); });
  }

  /** Resolves with the first match of pattern in the output (the output so far included); a loaded machine starts `serve` slowly. */
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output.match(pattern);
      if (match) return match;
      if (Date.now() > deadline || this.child.exitCode !== null) {
        this.kill(); // a test that gives up on its process must not leave it running
        throw new Error(`no ${pattern} in output:\n${this.output}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** The exit code (null when a signal ended it), whether it has exited yet or not. */
  exited(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null) this.child.kill(signal);
  }
}
