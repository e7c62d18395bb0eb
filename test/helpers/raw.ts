import { connect } from 'node:net';

/** Sends bytes exactly as given (what undici refuses to send) and returns everything the server answers. */
export async function rawRequest(port: number, bytes: string | Buffer, timeoutMs = 5_000): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.setTimeout(timeoutMs, () => socket.destroy());
  socket.write(bytes); // no half-close: node would take it as the client leaving
  let text = '';
  try {
    for await (const chunk of socket) text += (chunk as Buffer).toString('latin1');
  } catch {
    // a reset after the answer still leaves the answer
  }
  return text;
}
