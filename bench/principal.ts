import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/log.js';
import { sha256 } from '../src/principal/digest.js';
import type { PrincipalResolver } from '../src/principal/principal.js';
import { createPrincipalResolver } from '../src/principal/resolver.js';

const TARGET_US = 20;
const WARMUP = 2_000;
const SAMPLES = 20_000;

export interface BenchFigure { medianUs: number; p99Us: number; targetUs: number; withinTarget: boolean }

/** Median and p99 cost of resolve() per request, in microseconds, for each credential source. */
export async function runPrincipalBench(): Promise<Record<string, BenchFigure>> {
  const key = 'ak_bench_registry_key_0123456789abcdef';
  const secret = 'bench-shared-secret-0123456789abcdef';
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'ES256' };
  const jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const dataDir = mkdtempSync(join(tmpdir(), 'principal-bench-'));
  const resolver = createPrincipalResolver(parseConfig({
    upstream: { url: 'http://127.0.0.1:9' },
    auth: {
      keys: [{ id: 'key_bench', sha256: sha256(key).toString('hex'), organizationId: 'org_bench', scopes: ['audit:read'] }],
      jwt: { secret, jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json` },
    },
  }), { logger: createLogger({ log: { level: 'silent', pretty: 'false', requests: false } }), dataDir });

  const claims = { sub: 'user_bench', org_id: 'org_bench', scope: 'audit:read' };
  const hs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(secret));
  const es256 = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'bench-1' }).setExpirationTime('1h').sign(privateKey);
  const cases: Record<string, IncomingHttpHeaders> = {
    'registry key via X-Api-Key': { 'x-api-key': key },
    'registry key via Bearer': { authorization: `Bearer ${key}` },
    'HS256 JWT (repeated token)': { authorization: `Bearer ${hs256}` },
    'ES256 JWT via JWKS (repeated token)': { authorization: `Bearer ${es256}` },
    anonymous: { 'user-agent': 'bench' },
  };
  try {
    const figures: Record<string, BenchFigure> = {};
    for (const [name, headers] of Object.entries(cases)) figures[name] = await measure(resolver, headers);
    return figures;
  } finally {
    await resolver.close();
    jwks.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function measure(resolver: PrincipalResolver, headers: IncomingHttpHeaders): Promise<BenchFigure> {
  for (let i = 0; i < WARMUP; i++) await resolver.resolve(headers, '10.0.0.1');
  const samples = new Float64Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    const start = process.hrtime.bigint();
    const answer = resolver.resolve(headers, '10.0.0.1');
    if (answer instanceof Promise) await answer;
    samples[i] = Number(process.hrtime.bigint() - start) / 1_000;
  }
  samples.sort();
  const medianUs = round(samples[SAMPLES >> 1]!);
  return { medianUs, p99Us: round(samples[Math.floor(SAMPLES * 0.99)]!), targetUs: TARGET_US, withinTarget: medianUs <= TARGET_US };
}

const round = (us: number) => Math.round(us * 100) / 100;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figures = await runPrincipalBench();
  for (const [name, f] of Object.entries(figures)) {
    const verdict = f.withinTarget ? 'ok' : 'OVER TARGET';
    process.stdout.write(`${name.padEnd(38)} median ${String(f.medianUs).padStart(6)} µs  p99 ${String(f.p99Us).padStart(6)} µs  target ${f.targetUs} µs  ${verdict}\n`);
  }
}
