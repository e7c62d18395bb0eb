import { mkdirSync } from 'node:fs';
import type { Config } from './config/schema.js';
import type { Logger } from './log.js';
import { apiRoutes } from './api/routes.js';
import { openChain } from './chain/service.js';
import { loadOrCreateSigningKey } from './chain/signing-key.js';
import { createRouteClassifier } from './audit/route.js';
import { runsFollowers } from './followers.js';
import { healthRoutes } from './health.js';
import { ProxyMetrics } from './metrics.js';
import { openCountryLookup } from './net/geoip.js';
import { UndiciTransport } from './pipeline/forward.js';
import { Pipeline, type OwnRoute } from './pipeline/pipeline.js';
import { RecordBuilder } from './pipeline/record.js';
import { WebSocketTransport } from './pipeline/websocket.js';
import { rejection } from './principal/enforcement.js';
import { createPrincipalResolver } from './principal/resolver.js';
import type { Fleet } from './fleet/fleet.js';
import { openAuditStore } from './store/index.js';
import { PooledReadStore } from './store/read-pool/readers-store.js';
import type { AuditStore } from './store/store.js';
import { viewerRoutes } from './viewer/serve.js';

/** Everything one worker needs, built from the config, and closed in the right order. */
export interface Services {
  pipeline: Pipeline;
  store: AuditStore | null;
  metrics: ProxyMetrics;
  close(): Promise<void>;
}

export async function buildServices(config: Config, logger: Logger): Promise<Services> {
  // What can fail to load comes first, so a failed start leaves nothing open.
  const routes = await createRouteClassifier(config.routes);
  const countryOf = config.client.geoipDatabase ? await openCountryLookup(config.client.geoipDatabase) : null;
  mkdirSync(config.store.path, { recursive: true });
  const resolver = createPrincipalResolver(config, { logger, dataDir: config.store.path });
  const chainOn = config.store.enabled && config.chain.enabled;
  const signer = chainOn && runsFollowers() ? loadOrCreateSigningKey(config.chain, config.store.path) : null;
  const local = config.store.enabled ? openAuditStore(config.store, logger, { redactKeys: config.capture.redactKeys }) : null;
  const chain = local && chainOn ? openChain(config, local, signer, logger) : null;
  const transport = new UndiciTransport(config.upstream, config.server);
  const upgrades = new WebSocketTransport(config.upstream, logger);
  const metrics = new ProxyMetrics(local);
  // With fleet.postgres.url, LMDB stays the first write (the outbox) and the audit endpoints read the whole fleet.
  // Loaded only when configured: a proxy without a fleet never loads pg.
  const fleet: Fleet | null = local && config.fleet.postgres.url !== null
    ? (await import('./fleet/fleet.js')).openFleet(config, local, logger, { ships: runsFollowers(), registry: metrics.registry, checkpoints: chain?.tree }) : null;
  // Without a fleet, audit reads run on reader threads (src/store/read-pool/) so a heavy query never stalls traffic.
  const store: AuditStore | null = fleet?.store ?? (local ? new PooledReadStore(local, {
    store: config.store, size: config.audit.readWorkers, timeoutMs: config.audit.queryTimeoutMs, logger,
  }) : null);
  const degraded = (): string | null => fleet?.status.problem() ?? null;
  const ownRoutes = new Map<string, OwnRoute>([...healthRoutes(config, store, metrics, degraded), ...apiRoutes(config, store, chain), ...viewerRoutes(config)]);
  const records = new RecordBuilder(config, routes, new URL(config.upstream.url).origin);
  const pipeline = new Pipeline({
    config, logger, resolver, authGate: (principal) => rejection(principal, config.auth), store, transport, upgrades, records, metrics, ownRoutes,
    countryOf,
  });
  return {
    pipeline,
    store,
    metrics,
    async close() {
      upgrades.close();
      await transport.close();
      await resolver.close();
      await chain?.close();
      await store?.close();
    },
  };
}
