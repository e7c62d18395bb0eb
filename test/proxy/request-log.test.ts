import type { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger } from '../../src/log.js';
import { RequestContext } from '../../src/pipeline/context.js';
import { RequestLog } from '../../src/pipeline/request-log.js';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _e, done) { lines.push(chunk.toString()); done(); } });
  return { lines, stream };
}

function contextFor(path: string, requestId: string): RequestContext {
  const req = { method: 'POST', url: path, headers: {} } as IncomingMessage;
  const ctx = new RequestContext(req, {} as ServerResponse, requestId, '10.0.0.1');
  ctx.statusCode = 502;
  ctx.clientIp = '10.0.0.1';
  ctx.outcome = 'upstream_error';
  return ctx;
}

t.test('issue 11: the request line is the line pino writes for the same fields', async (t) => {
  const { lines, stream } = capture();
  const logger = createLogger({ log: { level: 'info', pretty: 'false', requests: true } } as never, stream);
  const ctx = contextFor('/v1/"odd"\\path/\u2028é', 'id-"quoted"\\');
  ctx.outcomeDetail = 'ECONNREFUSED: connection "refused"';
  new RequestLog(logger).write(ctx, 12.34567);
  logger.info({
    requestId: ctx.requestId, method: 'POST', path: ctx.pathname, status: 502, durationMs: 12.346, outcome: 'upstream_error',
    outcomeDetail: ctx.outcomeDetail, principalId: null, clientIp: '10.0.0.1',
  }, 'request');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(lines.length, 2);
  const withoutTime = (line: string): string => line.replace(/"time":\d+/, '"time":0');
  t.equal(withoutTime(lines[0]!), withoutTime(lines[1]!), 'same keys, order, escaping');
  t.equal(JSON.parse(lines[0]!).path, '/v1/"odd"\\path/\u2028é');
});

t.test('issue 11: the lines of one turn of the event loop go out in one write, in order', async (t) => {
  const { lines, stream } = capture();
  const log = new RequestLog(createLogger({ log: { level: 'info', pretty: 'false' } } as never, stream));
  for (const id of ['r1', 'r2', 'r3']) log.write(contextFor('/a', id), 1);
  t.same(lines, [], 'held until the turn ends');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(lines.length, 1, 'one write');
  t.same(lines[0]!.trimEnd().split('\n').map((line) => JSON.parse(line).requestId), ['r1', 'r2', 'r3']);
  const many = 1_000;
  for (let i = 0; i < many; i++) log.write(contextFor('/a', `m${i}`), 1);
  t.ok(lines.length > 1, 'a long run is written before the turn ends');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(lines.slice(1).join('').trimEnd().split('\n').length, many, 'every line written once');
});

t.test('no outcomeDetail key without a detail; nothing below the logger level', async (t) => {
  const info = capture();
  new RequestLog(createLogger({ log: { level: 'info', pretty: 'false' } } as never, info.stream)).write(contextFor('/a', 'r1'), 1);
  const quiet = capture();
  new RequestLog(createLogger({ log: { level: 'warn', pretty: 'false' } } as never, quiet.stream)).write(contextFor('/a', 'r2'), 1);
  await new Promise((resolve) => setImmediate(resolve));
  t.notOk('outcomeDetail' in JSON.parse(info.lines[0]!));
  t.same(quiet.lines, []);
});
