// Rows for scenario 1: every contender's figures per load, then the ratios the targets are about.
import type { HttpBenchOutput } from './http.js';
import { row, type Row } from './lib/report.js';

// Issue 11's targets: audit on / off >= 0.85 (GET) and >= 0.75 (16 KiB POST, body captured); auditing adds at most
// 12 (GET) / 35 (POST) µs of CPU per request; >= 1.5x http-proxy-3; >= 0.35x nginx; added p50 (GET c1) <= 0.10 ms.
const auditCost = (load: string) => ({ op: '>=', bound: load.startsWith('POST') ? 0.75 : 0.85 }) as const;
const addedCpu = (load: string) => ({ op: '<=', bound: load.startsWith('POST') ? 35 : 12 }) as const;
const OVER_HTTP_PROXY = { op: '>=', bound: 1.5 } as const;
const OVER_NGINX = { op: '>=', bound: 0.35 } as const;
const ADDED_P50 = { op: '<=', bound: 0.1 } as const;

export function httpRows(out: HttpBenchOutput): Row[] {
  const rows: Row[] = [];
  for (const [load, perTarget] of Object.entries(out.results)) {
    const section = `HTTP ${load} (wrk -t1, ${out.seconds}s x ${out.rounds} rounds, best)`;
    for (const [name, r] of Object.entries(perTarget)) {
      const workers = out.workersOf[name] === 'auto' ? 'auto' : `${out.workersOf[name] ?? 1}w`;
      rows.push(row(section, `${name} [${workers}] req/s`, r.rps, 'req/s'));
      rows.push(row(section, `${name} p50 / p99`, r.p50Ms, `/ ${r.p99Ms.toFixed(2)} ms`));
      rows.push(row(section, `${name} server CPU per request`, r.cpuUsPerRequest ?? null, 'µs'));
      if (r.errors) rows.push(row(section, `${name} errors`, r.errors, 'responses'));
    }
  }
  return [...rows, ...ratioRows(out)];
}

function ratioRows(out: HttpBenchOutput): Row[] {
  const rows: Row[] = [];
  const rps = (load: string, name: string): number | null => out.results[load]?.[name]?.rps ?? null;
  const ratio = (load: string, a: string, b: string): number | null => {
    const x = rps(load, a);
    const y = rps(load, b);
    return x !== null && y ? x / y : null;
  };
  const cpu = (load: string, name: string): number | null => out.results[load]?.[name]?.cpuUsPerRequest ?? null;
  const added = (load: string, a: string, b: string): number | null => {
    const x = cpu(load, a);
    const y = cpu(load, b);
    return x !== null && y !== null ? x - y : null;
  };
  for (const load of Object.keys(out.results)) {
    const section = `Ratios, ${load} (equal worker counts)`;
    const AUDIT_COST = auditCost(load);
    rows.push(row(section, 'on / off (1 worker, no request log)', ratio(load, 'audit-proxy on', 'audit-proxy off'), 'x', AUDIT_COST));
    rows.push(row(section, 'CPU added by auditing (1 worker)', added(load, 'audit-proxy on', 'audit-proxy off'), 'µs', addedCpu(load)));
    rows.push(row(section, 'on, writer inline / off', ratio(load, 'audit-proxy on inline', 'audit-proxy off'), 'x'));
    rows.push(row(section, 'CPU added by auditing, writer inline', added(load, 'audit-proxy on inline', 'audit-proxy off'), 'µs'));
    rows.push(row(section, 'on / off (1 worker, request log on)', ratio(load, 'audit-proxy on +log', 'audit-proxy off +log'), 'x', AUDIT_COST));
    rows.push(row(section, 'on / off (--workers auto)', ratio(load, 'audit-proxy on --auto', 'audit-proxy off --auto'), 'x', AUDIT_COST));
    rows.push(row(section, 'off / limit (undici)', ratio(load, 'audit-proxy off', 'limit (undici)'), 'x'));
    rows.push(row(section, 'on / limit (undici)', ratio(load, 'audit-proxy on', 'limit (undici)'), 'x'));
    rows.push(row(section, 'on / http-proxy-3 (1 worker)', ratio(load, 'audit-proxy on', 'http-proxy-3'), 'x', OVER_HTTP_PROXY));
    rows.push(row(section, 'on +log / http-proxy-3 (1 worker)', ratio(load, 'audit-proxy on +log', 'http-proxy-3'), 'x', OVER_HTTP_PROXY));
    rows.push(row(section, 'on / nginx (1 worker)', ratio(load, 'audit-proxy on', 'nginx'), 'x', OVER_NGINX));
    rows.push(row(section, 'on +log / nginx (1 worker)', ratio(load, 'audit-proxy on +log', 'nginx'), 'x', OVER_NGINX));
    rows.push(row(section, 'on --auto / nginx --auto', ratio(load, 'audit-proxy on --auto', 'nginx --auto'), 'x', OVER_NGINX));
    const direct = out.results[load]?.direct?.p50Ms;
    if (load.endsWith('c1') && direct !== undefined) {
      for (const name of ['audit-proxy on', 'audit-proxy on +log']) {
        const p50 = out.results[load]?.[name]?.p50Ms;
        rows.push(row(section, `added p50 over direct, ${name}`, p50 === undefined ? null : p50 - direct, 'ms', ADDED_P50));
      }
    }
  }
  return rows;
}
