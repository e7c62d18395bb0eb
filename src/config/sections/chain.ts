import { z } from 'zod';

export const chainSchema = z.strictObject({
  enabled: z.boolean().default(true)
    .describe('Keep the tamper-evident Merkle log of every committed record and sign checkpoints of it (see docs/tamper-evidence.md).'),
  signingKey: z.string().min(1).nullable().default(null)
    .describe('Ed25519 signing key (PRIVATE+KEY+<name>+<id>+<key>, secret; env AUDIT_PROXY__CHAIN__SIGNING_KEY). Null: signingKeyFile, else chain-signing-key in the data directory, created at first start (mode 0600).'),
  signingKeyFile: z.string().min(1).nullable().default(null)
    .describe('File holding the signing key, used when signingKey is null.'),
  origin: z.string().regex(/^[^\s+]+$/, 'must have no spaces and no +').nullable().default(null)
    .describe('Log name (the checkpoint origin and key name) for a key created at first start; null: <hostname>/audit-proxy.'),
  checkpointIntervalMs: z.number().int().min(100).default(5_000)
    .describe('Least time between two signed checkpoints; one is made only when records arrived since the last.'),
  pollMs: z.number().int().min(10).default(250)
    .describe('How often the log reads newly committed records.'),
}).prefault({});
