/**
 * The compiled worker `file` beside the module at `moduleUrl`, or, when that module runs from source (the tests,
 * through a TypeScript loader that would take seconds to compile the store again in every thread), the one tsc
 * wrote to dist/.
 */
export function compiledWorker(moduleUrl: string, file: string): URL {
  const beside = new URL(file, moduleUrl).href;
  if (!moduleUrl.endsWith('.ts')) return new URL(beside);
  const src = beside.lastIndexOf('/src/');
  return new URL(`${beside.slice(0, src)}/dist${beside.slice(src)}`);
}
