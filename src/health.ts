import { request } from 'undici';
import type { Config } from './config/schema.js';
import type { ProxyMetrics } from './metrics.js';
import type { OwnRoute } from './pipeline/pipeline.js';
import type { RequestContext } from './pipeline/context.js';
import type { AuditStore } from './store/store.js';

const PROBE_CACHE_MS = 2_000;

/** Asks the upstream for anything at all (any HTTP answer means reachable); cached briefly. */
export class UpstreamProbe {
  private checkedAt = 0;
  private last: Promise<string | null> = Promise.resolve(null);

  constructor(private readonly url: string, private readonly timeoutMs: number) {}

  /** Null when reachable, otherwise why not. */
  problem(): Promise<string | null> {
    const now = Date.now();
    if (now - this.checkedAt > PROBE_CACHE_MS) {
      this.checkedAt = now;
      this.last = this.probe();
    }
    return this.last;
  }

  private async probe(): Promise<string | null> {
    try {
      const { body } = await request(this.url, {
        method: 'HEAD', headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await body.dump();
      return null;
    } catch (err) {
      return `upstream unreachable: ${(err as { code?: string }).code ?? (err as Error).message}`;
    }
  }
}

/** /healthz, /readyz and /metrics: answered by the proxy, never forwarded, never recorded. */
/** `degraded` names what works less well while the proxy still serves (the fleet sink): reported, still ready. */
export function healthRoutes(config: Config, store: AuditStore | null, metrics: ProxyMetrics, degraded: () => string | null = () => null): Map<string, OwnRoute> {
  const probe = new UpstreamProbe(config.upstream.url, Math.min(config.upstream.connectTimeoutMs, 2_000));
  const routes = new Map<string, OwnRoute>();
  routes.set(config.paths.healthz, ownGet((ctx) => json(ctx, 200, { status: 'ok' })));
  routes.set(config.paths.readyz, ownGet(async (ctx) => {
    const problems: string[] = [];
    if (store && !store.accepting()) problems.push(`store not accepting records: ${store.health().lastError ?? 'queue full'}`);
    const upstream = await probe.problem();
    if (upstream) problems.push(upstream);
    const notes = degraded();
    json(ctx, problems.length ? 503 : 200, { status: problems.length ? 'unavailable' : 'ready', problems, ...(notes && { degraded: [notes] }) });
  }));
  routes.set(config.paths.metrics, ownGet(async (ctx) => {
    const text = await metrics.text();
    ctx.res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
    ctx.res.end(text);
  }));
  return routes;
}

function ownGet(handle: (ctx: RequestContext) => void | Promise<void>): OwnRoute {
  return {
    recorded: false,
    handle(ctx) {
      const method = ctx.req.method;
      if (method === 'GET' || method === 'HEAD') return handle(ctx);
      ctx.replyError(405, `${method} is not allowed here; use GET`, 'rejected', { allow: 'GET, HEAD' });
    },
  };
}

function json(ctx: RequestContext, status: number, body: unknown): void {
  ctx.replyJson(status, JSON.stringify(body));
}
