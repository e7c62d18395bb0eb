// HTTP/1.1 pipelining: a request queued behind another's response on the same connection is forwarded in its turn,
// and one whose connection dies before its turn is recorded as the client leaving and never reaches the upstream.
// Before, each was forwarded at once; a dead connection left its response without a 'close', so the request reached
// the upstream with no record, and a few hundred such responses held the upstream pool until restart.
import t from 'tap';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { TestUpstream } from '../helpers/upstream.js';
import { recordOf, startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { eventually } from '../helpers/eventually.js';

let upstream: TestUpstream;
let proxy: TestProxy;
/** When the upstream began and ended answering each request: `start id`, `end id`. */
const events: string[] = [];
const started: string[] = [];

t.before(async () => {
  upstream = await new TestUpstream().start();
  const answer = (delayMs: number, text: string) => (req: { headers: Record<string, unknown> }, res: { end(text: string): void }) => {
    const id = String(req.headers['x-request-id']);
    started.push(id);
    events.push(`start ${id}`);
    setTimeout(() => {
      events.push(`end ${id}`);
      res.end(text);
    }, delayMs);
  };
  upstream.routes.set('/slow', answer(400, 'slow'));
  upstream.routes.set('/fast', answer(0, 'fast'));
  proxy = await startTestProxy(upstream.url);
});
t.teardown(async () => {
  await proxy.close();
  await upstream.stop();
});

/** GETs, or a POST when a body is given, written back to back. */
function pipelined(requests: Array<[path: string, id: string, body?: string]>): Buffer {
  return Buffer.from(requests.map(([path, id, body]) => (body === undefined
    ? `GET ${path} HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\n\r\n`
    : `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\nContent-Length: ${body.length}\r\n\r\n${body}`)).join(''), 'latin1');
}

async function opened(): Promise<Socket> {
  const socket = connect(proxy.port, '127.0.0.1');
  await once(socket, 'connect');
  return socket;
}

t.test('pipelined requests reach the upstream one after another, in order, each answered and recorded once', async (t) => {
  const socket = await opened();
  let answers = '';
  socket.on('data', (chunk: Buffer) => { answers += chunk.toString('latin1'); });
  socket.write(pipelined([['/slow', 'pipe-a1'], ['/fast', 'pipe-a2', 'a body waits its turn'], ['/fast', 'pipe-a3']]));
  await eventually(() => (answers.match(/HTTP\/1\.1 200/g)?.length === 3 ? true : undefined), 10_000);
  socket.destroy();
  t.same(events.filter((e) => e.includes('pipe-a')), ['start pipe-a1', 'end pipe-a1', 'start pipe-a2', 'end pipe-a2', 'start pipe-a3', 'end pipe-a3'],
    'the upstream saw each after the one before was answered');
  t.ok(answers.indexOf('slow') < answers.indexOf('fast'), 'answers in order');
  t.equal(upstream.seen.find((s) => s.headers['x-request-id'] === 'pipe-a2')?.body, 'a body waits its turn');
  for (const id of ['pipe-a1', 'pipe-a2', 'pipe-a3']) t.match(await recordOf(proxy, id), { statusCode: 200, outcome: 'completed' }, id);
});

t.test('a connection that dies while requests wait their turn: the waiting ones are recorded as left, never forwarded', async (t) => {
  const socket = await opened();
  socket.write(pipelined([['/slow', 'pipe-b1'], ['/fast', 'pipe-b2'], ['/fast', 'pipe-b3']]));
  await eventually(() => (started.includes('pipe-b1') ? true : undefined), 5_000);
  socket.destroy();
  for (const id of ['pipe-b2', 'pipe-b3']) {
    t.match(await recordOf(proxy, id), { outcome: 'client_aborted', path: '/fast' }, `${id} is recorded`);
  }
  t.match(await recordOf(proxy, 'pipe-b1'), { outcome: 'client_aborted', path: '/slow' });
  await new Promise((resolve) => setTimeout(resolve, 600));
  t.same(upstream.seen.filter((s) => String(s.headers['x-request-id']).startsWith('pipe-b')).map((s) => s.headers['x-request-id']), ['pipe-b1'],
    'only the request that had its turn reached the upstream');
  t.equal(proxy.services.pipeline.inFlight, 0, 'nothing left in flight');
});
