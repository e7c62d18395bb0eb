import { writeFileSync } from 'node:fs';

/**
 * Names the calling thread as `top -H`, `ps -L` and /proc/<pid>/task show it (Linux; 15 characters at most), so an
 * operator sees which of the proxy's threads uses the CPU. Elsewhere, or without /proc, it does nothing.
 */
export function nameThisThread(name: string): void {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15));
  } catch {
    // not Linux, or /proc not mounted: the thread keeps its name ("node")
  }
}
