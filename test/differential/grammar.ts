import fc from 'fast-check';
import { connect } from 'node:net';

/** Credentials the generator draws from; the test's proxy knows A and B (keys) and J (JWTs it can verify). */
export type CredentialValue = 'keyA' | 'keyB' | 'unknownKey' | 'jwt' | 'badJwt';
export const CREDENTIAL_HEADERS = ['Authorization', 'X-Api-Key', 'x-portkey-api-key'] as const;
type CredentialHeader = (typeof CREDENTIAL_HEADERS)[number];

/** When the client vanishes: never, right after its head (identity not yet known), mid-body, or at the first answer byte. */
export type Vanish = 'never' | 'afterHead' | 'midBody' | 'midResponse';

export interface RawRequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  absolute: boolean;
  segments: string[];
  query: string;
  /** One entry per credential header line (a header may appear twice). */
  credentials: { header: CredentialHeader; value: CredentialValue }[];
  /** Header names listed in Connection besides close (or Upgrade). */
  connectionNames: string[];
  upgrade: boolean;
  body: { kind: 'none' } | { kind: 'length' | 'chunked'; bytes: number };
  vanish: Vanish;
}

const SEGMENT = fc.constantFrom('v1', 'users', '42', 'ping', 'x', 'audit-logs', '.', '..', '%2e', '%2E%2e', 'a%2fb', 'x%20y', 'a%5cb');

export const requestSpec: fc.Arbitrary<RawRequestSpec> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
  absolute: fc.boolean(),
  segments: fc.array(SEGMENT, { minLength: 1, maxLength: 4 }),
  query: fc.constantFrom('', '?q=1', '?a=%2e&b=..'),
  credentials: fc.array(fc.record({
    header: fc.constantFrom(...CREDENTIAL_HEADERS),
    value: fc.constantFrom<CredentialValue>('keyA', 'keyB', 'unknownKey', 'jwt', 'badJwt'),
  }), { maxLength: 3 }),
  connectionNames: fc.subarray(['Authorization', 'X-Api-Key', 'x-portkey-api-key', 'X-Forwarded-Host']),
  upgrade: fc.boolean(),
  body: fc.oneof(
    fc.constant({ kind: 'none' as const }),
    fc.record({ kind: fc.constantFrom('length' as const, 'chunked' as const), bytes: fc.integer({ min: 0, max: 100_000 }) }),
  ),
  vanish: fc.constantFrom<Vanish>('never', 'never', 'afterHead', 'midBody', 'midResponse'),
});

export interface Secrets {
  keyA: string;
  keyB: string;
  /** A fresh JWT per use: verification is always asynchronous (no cache in the test's proxy). */
  jwt: () => string;
}

/** The bytes of the request, split where a vanishing client stops: head, then body. */
export function render(spec: RawRequestSpec, requestId: string, secrets: Secrets): { head: string; body: Buffer } {
  const path = `/${spec.segments.join('/')}${spec.query}`;
  const target = spec.absolute ? `http://w${path}` : path;
  const method = spec.upgrade ? 'GET' : spec.method;
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: w', `X-Request-Id: ${requestId}`];
  for (const { header, value } of spec.credentials) {
    const secret = value === 'keyA' ? secrets.keyA : value === 'keyB' ? secrets.keyB : value === 'unknownKey' ? 'uk_not_known_to_anyone_01'
      : value === 'jwt' ? secrets.jwt() : 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad';
    lines.push(`${header}: ${header === 'Authorization' ? `Bearer ${secret}` : secret}`);
  }
  lines.push(`Connection: ${[spec.upgrade ? 'Upgrade' : 'close', ...spec.connectionNames].join(', ')}`);
  if (spec.upgrade) lines.push('Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==');
  let body = Buffer.alloc(0);
  if (spec.body.kind !== 'none' && !spec.upgrade) {
    const content = Buffer.alloc(spec.body.bytes, 'b');
    if (spec.body.kind === 'length') {
      lines.push(`Content-Length: ${content.length}`);
      body = content;
    } else {
      lines.push('Transfer-Encoding: chunked');
      const chunk = content.length ? Buffer.concat([Buffer.from(`${content.length.toString(16)}\r\n`), content, Buffer.from('\r\n')]) : Buffer.alloc(0);
      body = Buffer.concat([chunk, Buffer.from('0\r\n\r\n')]);
    }
  }
  return { head: `${lines.join('\r\n')}\r\n\r\n`, body };
}

/** What the client saw: the status line's code (null when none arrived). */
export interface Observed {
  status: number | null;
}

/** Writes the request on its own socket, vanishing where the spec says (a TCP reset), and reports what came back. */
export function play(port: number, spec: RawRequestSpec, bytes: { head: string; body: Buffer }): Promise<Observed> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const done = (): void => {
      clearTimeout(timer);
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: match ? Number(match[1]) : null });
    };
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.on('error', () => {});
    socket.on('close', done);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (spec.vanish === 'midResponse') socket.resetAndDestroy();
      else if (spec.upgrade && /^HTTP\/1\.1 101/.test(text)) setTimeout(() => socket.end(), 10);
    });
    socket.on('connect', () => {
      socket.write(bytes.head);
      if (spec.vanish === 'afterHead') {
        setImmediate(() => socket.resetAndDestroy());
        return;
      }
      if (spec.vanish === 'midBody' && bytes.body.length > 1) {
        socket.write(bytes.body.subarray(0, bytes.body.length >> 1));
        setTimeout(() => socket.resetAndDestroy(), 5);
        return;
      }
      if (bytes.body.length) socket.write(bytes.body);
    });
  });
}
