// Debian tools the bench drives (wrk, nginx): installed with apt-get when missing and allowed, else skipped.
import { spawnSync } from 'node:child_process';
import { hasCommand } from './processes.js';

const SBIN = ['/usr/sbin', '/sbin', '/usr/local/sbin'];
let aptUpdated = false;

/** Path of the tool after installing it if needed; null with a printed note when it cannot be had. */
export function ensureTool(command: string, aptPackage: string): string | null {
  const found = locate(command);
  if (found) return found;
  if (process.getuid?.() !== 0 || !hasCommand('apt-get')) {
    console.log(`note: ${command} is missing and cannot be installed here (needs root and apt-get); skipping what needs it`);
    return null;
  }
  console.log(`installing ${aptPackage} with apt-get ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) aptUpdated = spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 300_000 }).status === 0;
  spawnSync('apt-get', ['install', '-y', '-qq', aptPackage], { stdio: 'ignore', env, timeout: 600_000 });
  const installed = locate(command);
  if (!installed) console.log(`note: apt-get could not install ${aptPackage}; skipping what needs it`);
  return installed;
}

function locate(command: string): string | null {
  if (hasCommand(command)) return command;
  const dir = SBIN.find((d) => hasCommand(`${d}/${command}`));
  return dir ? `${dir}/${command}` : null;
}
