import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Config } from '../config/schema.js';
import type { RequestContext } from '../pipeline/context.js';
import type { OwnRoute } from '../pipeline/pipeline.js';

/** Where `npm run build` bundles the page: dist/viewer/ in the package (whether this file runs from dist/ or src/). */
export const VIEWER_ASSETS_DIR = join(packageRoot(fileURLToPath(new URL('.', import.meta.url))), 'dist', 'viewer');

function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return from;
  }
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Scripts and styles from the proxy only, nothing inline, no plugins, no framing; API calls to the same origin. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
  + "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
};

interface Asset {
  type: string;
  body: Buffer;
  gzipped: Buffer;
  etag: string;
}

/**
 * The viewer's files as own routes: not identified, not recorded, never forwarded. The page's calls to the audit
 * API are ordinary audit reads. `viewer.path` without its trailing slash redirects to it.
 */
export function viewerRoutes(config: Config, assetsDir = VIEWER_ASSETS_DIR): Map<string, OwnRoute> {
  const routes = new Map<string, OwnRoute>();
  if (!config.viewer.enabled) return routes;
  const base = config.viewer.path;
  if (!existsSync(join(assetsDir, 'index.html'))) {
    // Builds that skip the bundle (tsc alone, as while developing) still start; the page says what is missing.
    routes.set(base, notBuiltRoute(assetsDir));
  }
  for (const [name, asset] of loadAssets(assetsDir, apiPathsMeta(config))) {
    routes.set(base + (name === 'index.html' ? '' : name), assetRoute(asset));
  }
  if (base !== '/') routes.set(base.slice(0, -1), redirectRoute(base));
  return routes;
}

const API_META = '<meta name="audit-proxy-api" content="{}">';

/** The audit API's paths as this config sets them, for the page to call (a meta tag: no inline script). */
function apiPathsMeta(config: Config): string {
  const { basePath, recordsPath, statsPath, exportPath } = config.audit;
  const paths = JSON.stringify({ records: basePath + recordsPath, stats: basePath + statsPath, export: basePath + exportPath });
  return `<meta name="audit-proxy-api" content="${paths.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;')}">`;
}

function loadAssets(dir: string, meta: string): Map<string, Asset> {
  if (!existsSync(dir)) return new Map();
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = CONTENT_TYPES[extname(name)];
    if (!type) continue;
    const file = readFileSync(join(dir, name));
    const body = name === 'index.html' ? Buffer.from(file.toString('utf8').replace(API_META, meta)) : file;
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    assets.set(name, { type, body, gzipped: gzipSync(body, { level: 9 }), etag });
  }
  return assets;
}

function assetRoute(asset: Asset): OwnRoute {
  return {
    recorded: false,
    handle(ctx) {
      if (!readOnly(ctx)) return;
      const { req, res } = ctx;
      const headers: Record<string, string> = { ...SECURITY_HEADERS, 'content-type': asset.type, etag: asset.etag, vary: 'accept-encoding' };
      if (req.headers['if-none-match'] === asset.etag) {
        res.writeHead(304, headers).end();
        return;
      }
      const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
      const body = gzip ? asset.gzipped : asset.body;
      if (gzip) headers['content-encoding'] = 'gzip';
      headers['content-length'] = String(body.length);
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    },
  };
}

function notBuiltRoute(dir: string): OwnRoute {
  return {
    recorded: false,
    handle(ctx) {
      ctx.replyError(503, `the viewer is not built (no index.html in ${dir}): run npm run build`, 'rejected');
    },
  };
}

function redirectRoute(location: string): OwnRoute {
  return {
    recorded: false,
    handle(ctx) {
      const query = ctx.search ? `?${ctx.search}` : '';
      ctx.res.writeHead(308, { ...SECURITY_HEADERS, location: location + query, 'content-length': '0' }).end();
    },
  };
}

function readOnly(ctx: RequestContext): boolean {
  const method = ctx.req.method;
  if (method === 'GET' || method === 'HEAD') return true;
  ctx.replyError(405, `${method} is not allowed here; use GET`, 'rejected', { allow: 'GET, HEAD' });
  return false;
}
