import { z } from 'zod';

export const viewerSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Serve the log viewer page (its API calls are ordinary, recorded audit reads).'),
  path: z.string().regex(/^\/(?:[A-Za-z0-9._~-]+\/)*$/, 'must be a path that starts and ends with /, e.g. /_audit/')
    .default('/_audit/')
    .describe('Where the viewer is served (and never forwarded); pick one no upstream route uses.'),
}).prefault({}).describe('The log viewer: a page to filter, page, inspect and chart the trail in a browser.');
