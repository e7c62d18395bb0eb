import { z } from 'zod';
import { listenSchema, upstreamSchema, pathsSchema, serverSchema, workersSchema, logSchema, trustProxySchema } from './sections/server.js';
import { storeSchema } from './sections/store.js';
import { captureSchema, routesSchema, clientSchema } from './sections/capture.js';
import { authSchema, auditSchema } from './sections/auth.js';
import { chainSchema } from './sections/chain.js';
import { viewerSchema } from './sections/viewer.js';
import { fleetSchema } from './sections/fleet.js';

/** Every config key. Each leaf's .describe() is its one-line documentation. */
export const configSchema = z.strictObject({
  listen: listenSchema,
  upstream: upstreamSchema,
  trustProxy: trustProxySchema,
  workers: workersSchema,
  server: serverSchema,
  paths: pathsSchema,
  log: logSchema,
  store: storeSchema,
  capture: captureSchema,
  routes: routesSchema,
  client: clientSchema,
  auth: authSchema,
  audit: auditSchema,
  chain: chainSchema,
  viewer: viewerSchema,
  fleet: fleetSchema,
});

export type Config = z.infer<typeof configSchema>;
