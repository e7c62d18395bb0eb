import { createHash, createPublicKey, verify } from 'node:crypto';

/**
 * An implementation of C2SP signed-note, tlog-checkpoint and the note verifier key format written from the specs,
 * independent of src/chain, so the tests check the proxy's output against the documents, not against itself.
 */
export interface ParsedCheckpoint {
  origin: string;
  treeSize: number;
  rootHash: Buffer;
  extensions: string[];
  signatures: Array<{ name: string; keyId: number; signature: Buffer }>;
  /** The signed text: everything up to and including the newline before the blank line. */
  body: string;
}

export function parseCheckpointNote(note: string): ParsedCheckpoint {
  const separator = note.lastIndexOf('\n\n');
  if (separator < 0) throw new Error('no blank line');
  const body = note.slice(0, separator + 1);
  const bodyLines = body.slice(0, -1).split('\n');
  if (bodyLines.length < 3) throw new Error('a checkpoint has at least three lines');
  const [origin, size, root, ...extensions] = bodyLines as [string, string, string, ...string[]];
  if (!/^\d+$/.test(size) || (size.length > 1 && size.startsWith('0'))) throw new Error(`bad tree size ${size}`);
  const rootHash = Buffer.from(root, 'base64');
  if (rootHash.length !== 32) throw new Error('root hash is not 32 bytes');
  const signatureBlock = note.slice(separator + 2);
  if (!signatureBlock.endsWith('\n')) throw new Error('the note must end in a newline');
  const signatures = signatureBlock.slice(0, -1).split('\n').map((line) => {
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!match) throw new Error(`bad signature line ${JSON.stringify(line)}`);
    const raw = Buffer.from(match[2]!, 'base64');
    return { name: match[1]!, keyId: raw.readUInt32BE(0), signature: raw.subarray(4) };
  });
  return { origin, treeSize: Number(size), rootHash, extensions, signatures, body };
}

/** `<name>+<8 hex>+<base64(0x01 || 32-byte key)>` -> its parts, the key ID checked. */
export function parseVerifierKeyText(text: string): { name: string; keyId: number; publicKey: Buffer } {
  const trimmed = text.trim();
  const first = trimmed.indexOf('+');
  const second = trimmed.indexOf('+', first + 1);
  const [name, id, data] = [trimmed.slice(0, first), trimmed.slice(first + 1, second), trimmed.slice(second + 1)];
  if (first < 1 || second < 0 || !/^[0-9a-f]{8}$/.test(id)) throw new Error('not name+id+key');
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length !== 33 || bytes[0] !== 1) throw new Error('not an Ed25519 key');
  const keyId = createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`), bytes])).digest().readUInt32BE(0);
  if (keyId !== Number.parseInt(id, 16)) throw new Error('key ID does not match');
  return { name, keyId, publicKey: bytes.subarray(1) };
}

/** True when a signature of the note by this key verifies (Ed25519 over the note text). */
export function signedBy(parsed: ParsedCheckpoint, keyText: string): boolean {
  const key = parseVerifierKeyText(keyText);
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), key.publicKey]);
  const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  return parsed.signatures.some((s) => s.name === key.name && s.keyId === key.keyId
    && verify(null, Buffer.from(parsed.body), publicKey, s.signature));
}
