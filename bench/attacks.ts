// The attack mix of the soak (issue 10): beside the legitimate load, clients that upload a byte every two seconds,
// open heads that never finish, WebSocket upgrades reset by the client, and heavy audit queries. Each attacker loops
// until the deadline, reconnecting when the proxy closes it; what each got is counted.
import { connect, type Socket } from 'node:net';
import { request } from 'undici';

export interface AttackOptions {
  port: number;
  durationMs: number;
  slowUploads: number;
  idleHeads: number;
  websocketResets: number;
  auditQueries: number;
  /** An API key with audit:read. */
  auditKey: string;
}

export interface AttackReport {
  slowUpload408s: number;
  idleHead408s: number;
  websocketResets: number;
  /** Ids of the reset upgrades: each must have exactly one record. */
  websocketIds: string[];
  auditQueries: number;
  auditQueryErrors: number;
  auditQueryP99Ms: number;
}

export async function attack(options: AttackOptions): Promise<AttackReport> {
  const deadline = Date.now() + options.durationMs;
  const report: AttackReport = {
    slowUpload408s: 0, idleHead408s: 0, websocketResets: 0, websocketIds: [], auditQueries: 0, auditQueryErrors: 0, auditQueryP99Ms: 0,
  };
  const auditLatencies: number[] = [];
  const loops = [
    ...Array.from({ length: options.slowUploads }, (_, i) => repeat(deadline, async () => {
      const answer = await holdOpen(options.port, `POST /attack/upload HTTP/1.1\r\nHost: a\r\nX-Request-Id: slow-${i}-${Date.now()}\r\n`
        + 'Content-Length: 1000000000\r\n\r\n', 2_000, deadline);
      if (answer.startsWith('HTTP/1.1 408')) report.slowUpload408s++;
    })),
    ...Array.from({ length: options.idleHeads }, () => repeat(deadline, async () => {
      const answer = await holdOpen(options.port, 'GET /attack/head HTTP/1.1\r\nHost: a\r\nX-Never: ', 0, deadline);
      if (answer.startsWith('HTTP/1.1 408')) report.idleHead408s++;
    })),
    ...Array.from({ length: options.websocketResets }, (_, i) => repeat(deadline, async () => {
      const id = `wsreset-${i}-${report.websocketResets}`;
      report.websocketIds.push(id);
      report.websocketResets++;
      await resetUpgrade(options.port, id);
    })),
    ...Array.from({ length: options.auditQueries }, () => repeat(deadline, async () => {
      const begun = performance.now();
      const res = await request(`http://127.0.0.1:${options.port}/v1/audit-logs?page_size=1&resource_type=x`, {
        headers: { 'x-portkey-api-key': options.auditKey },
      }).catch(() => null);
      if (res) await res.body.dump();
      auditLatencies.push(performance.now() - begun);
      report.auditQueries++;
      if (res?.statusCode !== 200) report.auditQueryErrors++;
    })),
  ];
  await Promise.all(loops);
  auditLatencies.sort((a, b) => a - b);
  report.auditQueryP99Ms = Math.round(auditLatencies[Math.floor(auditLatencies.length * 0.99)] ?? 0);
  return report;
}

async function repeat(deadline: number, once: () => Promise<void>): Promise<void> {
  while (Date.now() < deadline) await once();
}

/** Sends a head (and then a byte every dripMs, when > 0) until the proxy answers and closes, or the deadline. */
function holdOpen(port: number, head: string, dripMs: number, deadline: number): Promise<string> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (c: Buffer) => { answer += c.toString('latin1'); });
    socket.on('error', () => {});
    socket.write(head);
    const drip = dripMs > 0 ? setInterval(() => socket.write('x'), dripMs) : null;
    const stop = setTimeout(() => socket.destroy(), Math.max(0, deadline - Date.now()));
    socket.on('close', () => {
      if (drip) clearInterval(drip);
      clearTimeout(stop);
      resolve(answer);
    });
  });
}

/** An upgrade whose client writes a few bytes and resets the connection (TCP RST). */
function resetUpgrade(port: number, id: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.on('close', () => resolve());
    socket.write(`GET /attack/ws HTTP/1.1\r\nHost: a\r\nX-Request-Id: ${id}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n`
      + 'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    setTimeout(() => {
      socket.write(Buffer.from([0x81, 0x81, 1, 2, 3, 4, 5]));
      socket.resetAndDestroy();
    }, 5 + Math.random() * 20);
  });
}
