import pg from 'pg';
import { pino } from 'pino';
import { PostgresSink } from '../src/fleet/postgres-sink.js';
import { startTestPostgres } from '../test/helpers/postgres.js';
import { benchRecord } from './store.js';
const pgs = await startTestPostgres();
const url = await pgs.database();
const sink = new PostgresSink({ connection: { connectionString: url }, nodeId: 'x', partitionsAheadDays: 1, retentionDays: 0 }, pino({ level: 'warn' }));
await sink.prepare();
const t0 = performance.now();
for (let s = 0; s < 200000; s += 5000) {
  const batch = Array.from({ length: 5000 }, (_, i) => ({ ...benchRecord(s + i), seq: 1 }));
  await sink.write(batch, batch.map((r) => sink.encode(r)));
}
console.log('load/s', Math.round(200000 / ((performance.now() - t0) / 1000)));
await sink.close();
const c = new pg.Client(url); await c.connect();
await c.query('VACUUM ANALYZE audit_records');
for (const [w, p] of [["organization_id = $1 AND method = $2", ['org-3', 'POST']], ["organization_id = $1 AND principal_type = $2", ['org-3', 'api_key']], ["organization_id = $1", ['org-3']], ["organization_id = $1 AND api_key_id = $2", ['org-3', 'org-3-key-3']], ["organization_id = $1 AND (created_at, id) < ($2::timestamptz, $3)", ['org-3', '2026-11-01T10:00:00Z', 'zzz']]] as const) {
  const r = await c.query(`EXPLAIN (ANALYZE, COSTS OFF) SELECT record FROM audit_records WHERE ${w} ORDER BY created_at DESC, id DESC LIMIT 21`, [...p]);
  console.log('---', w); console.log(r.rows.map((x) => x['QUERY PLAN']).join('\n'));
}
const r = await c.query(`EXPLAIN (ANALYZE, COSTS OFF) SELECT count(*) FROM audit_records WHERE organization_id = $1`, ['org-3']);
console.log(r.rows.map((x) => x['QUERY PLAN']).join('\n'));
await c.end(); await pgs.close();
