import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/**
 * C2SP signed-note with Ed25519 (signature type 0x01), and the key encodings of Go's golang.org/x/mod/sumdb/note:
 * verifier key `<name>+<key ID hex>+<base64(0x01 || public key)>`, signer key `PRIVATE+KEY+<name>+<key ID hex>+<base64(0x01 || seed)>`.
 */

const ED25519 = 0x01;
const SIGNATURE_PREFIX = '\u2014 ';
/** DER prefixes that turn a raw 32-byte Ed25519 seed / public key into PKCS#8 / SPKI for node:crypto. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export class NoteKeyError extends Error {
  override name = 'NoteKeyError';
}

export interface NoteVerifier {
  name: string;
  keyId: number;
  publicKey: KeyObject;
}

export interface NoteSigner extends NoteVerifier {
  privateKey: KeyObject;
}

/** Key names: non-empty, no Unicode spaces, no plus. */
export function validKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && !/[\u0000-\u001f]/.test(name);
}

/** key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4], big-endian. */
export function keyId(name: string, rawPublicKey: Buffer): number {
  return createHash('sha256').update(name).update(Buffer.from([0x0a, ED25519])).update(rawPublicKey).digest().readUInt32BE(0);
}

function rawPublicKey(publicKey: KeyObject): Buffer {
  return publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

function rawSeed(privateKey: KeyObject): Buffer {
  return privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
}

const hex8 = (id: number): string => id.toString(16).padStart(8, '0');

/** A fresh Ed25519 signer key, encoded. */
export function generateSignerKey(name: string): string {
  if (!validKeyName(name)) throw new NoteKeyError(`key name ${JSON.stringify(name)} must be non-empty, without spaces or +`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const id = keyId(name, rawPublicKey(publicKey));
  return `PRIVATE+KEY+${name}+${hex8(id)}+${Buffer.concat([Buffer.from([ED25519]), rawSeed(privateKey)]).toString('base64')}`;
}

/** Splits `<name>+<hex id>+<base64(0x01 || key)>` and checks the parts; the key bytes are 32 long. */
function splitKey(text: string, what: string): { name: string; id: number; key: Buffer } {
  // The key's base64 may hold + itself: only the first two separate fields.
  const match = /^([^+]+)\+([0-9a-f]{8})\+(\S+)$/.exec(text.trim());
  if (!match || !validKeyName(match[1]!)) throw new NoteKeyError(`${what} is not <name>+<key id>+<key>`);
  const [, name, idHex, data] = match;
  const bytes = Buffer.from(data!, 'base64');
  if (bytes.length !== 33 || bytes[0] !== ED25519 || bytes.toString('base64') !== data) throw new NoteKeyError(`${what} does not hold an Ed25519 key`);
  return { name: name!, id: Number.parseInt(idHex!, 16), key: bytes.subarray(1) };
}

export function parseSignerKey(text: string): NoteSigner {
  const trimmed = text.trim();
  if (!trimmed.startsWith('PRIVATE+KEY+')) throw new NoteKeyError('signing key does not start with PRIVATE+KEY+');
  const { name, id, key } = splitKey(trimmed.slice('PRIVATE+KEY+'.length), 'signing key');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, key]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  if (keyId(name, rawPublicKey(publicKey)) !== id) throw new NoteKeyError('signing key ID does not match its key');
  return { name, keyId: id, publicKey, privateKey };
}

export function parseVerifierKey(text: string): NoteVerifier {
  const { name, id, key } = splitKey(text, 'public key');
  if (keyId(name, key) !== id) throw new NoteKeyError('public key ID does not match its key');
  return { name, keyId: id, publicKey: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, key]), format: 'der', type: 'spki' }) };
}

/** The verifier key line `audit-proxy chain public-key` prints. */
export function verifierKeyText(key: NoteVerifier): string {
  return `${key.name}+${hex8(key.keyId)}+${Buffer.concat([Buffer.from([ED25519]), rawPublicKey(key.publicKey)]).toString('base64')}`;
}

/** The text (ending in a newline), a blank line, and one signature line. */
export function signNote(text: string, key: NoteSigner): string {
  const signature = sign(null, Buffer.from(text), key.privateKey);
  const id = Buffer.alloc(4);
  id.writeUInt32BE(key.keyId);
  return `${text}\n${SIGNATURE_PREFIX}${key.name} ${Buffer.concat([id, signature]).toString('base64')}\n`;
}

export type NoteCheck = { ok: true; text: string } | { ok: false; problem: string };

/** The note's text when a signature by this key verifies; why not otherwise. Signatures by other keys are ignored. */
export function openNote(note: string, key: NoteVerifier): NoteCheck {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) return { ok: false, problem: 'not a signed note (no blank line before signatures)' };
  const text = note.slice(0, split + 1);
  let known = 0;
  for (const line of note.slice(split + 2, -1).split('\n')) {
    if (!line.startsWith(SIGNATURE_PREFIX)) return { ok: false, problem: 'malformed signature line' };
    const [name, encoded, extra] = line.slice(SIGNATURE_PREFIX.length).split(' ');
    const signature = Buffer.from(encoded ?? '', 'base64');
    if (extra !== undefined || signature.length < 5) return { ok: false, problem: 'malformed signature line' };
    if (name !== key.name || signature.readUInt32BE(0) !== key.keyId) continue;
    known++;
    if (signature.length !== 68 || !verify(null, Buffer.from(text), key.publicKey, signature.subarray(4))) {
      return { ok: false, problem: 'signature bad' };
    }
  }
  return known > 0 ? { ok: true, text } : { ok: false, problem: `no signature by ${key.name}` };
}
