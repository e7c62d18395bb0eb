// Bundles the viewer into dist/viewer/ (index.html, app.js, app.css): minified, no source maps, nothing fetched
// from elsewhere at run time. Run by `npm run build` after the type check (`tsc -p viewer/tsconfig.json`).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const out = here('../dist/viewer/');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: here('src/main.tsx') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: out,
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(here('index.html'), `${out}index.html`);
