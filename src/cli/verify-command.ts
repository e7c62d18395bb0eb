import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { parseVerifierKey, type NoteVerifier } from '../chain/note.js';
import { readSigningKey } from '../chain/signing-key.js';
import { TreeStore } from '../chain/tree-store.js';
import { verifyChain, type VerifyReport } from '../chain/verify.js';
import { createLogger } from '../log.js';
import { openAuditStore } from '../store/index.js';
import type { BodiesCheck } from '../store/check-bodies.js';
import { chainConfigOf, chainOptions, type ChainArgs } from './chain-args.js';

type Print = (text: string) => void;

interface VerifyArgs extends ChainArgs {
  'public-key'?: string;
  'public-keys'?: string;
  checkpoint?: string;
  fleet?: boolean;
}

/** Least time between two progress lines on stderr. */
const PROGRESS_MS = 1_000;
/** Threads hashing the stored records: hashing is most of verify's work, and more than a few only contend for the disk. */
const MAX_THREADS = 4;

/** `audit-proxy verify`: checks the store against its Merkle log and signed checkpoints, read-only. */
export function createVerifyCommand(print: Print = (text) => process.stdout.write(`${text}\n`), note: Print = (text) => process.stderr.write(`${text}\n`)): CommandModule<object, VerifyArgs> {
  return {
    command: 'verify',
    describe: 'Check every stored record against the Merkle log and every signed checkpoint (read-only; works while the server runs); one line per problem, exit 1 if any',
    builder: (yargs: Argv) => chainOptions(yargs)
      .option('public-key', { type: 'string', describe: 'file with the verifier key (audit-proxy chain public-key); default: the data directory\'s signing key' })
      .option('checkpoint', { type: 'string', describe: 'file with a signed checkpoint kept off the host: the store must still contain it' })
      .option('fleet', { type: 'boolean', describe: 'check the fleet\'s PostgreSQL copy (fleet.postgres.url) against every node\'s shipped checkpoints' })
      .option('public-keys', { type: 'string', describe: 'with --fleet: file of "<node id> <public key>" lines' }) as Argv<VerifyArgs>,
    handler: async (args) => {
      if (args.fleet) return (await import('./verify-fleet.js')).runVerifyFleet(args, print, note);
      const { store: storeConfig, chain } = chainConfigOf(args);
      const verifier = verifierOf(args, () => readSigningKey(chain, storeConfig.path), note);
      const saved = args.checkpoint === undefined ? undefined : readText(args.checkpoint, '--checkpoint');
      const store = openAuditStore(storeConfig, createLogger({ log: { level: 'warn', pretty: 'false', requests: false } }, process.stderr), { readOnly: true });
      try {
        const threads = Math.min(MAX_THREADS, availableParallelism());
        const started = performance.now();
        let shownAt = started;
        const report = await verifyChain(store, new TreeStore(store.env), {
          verifier,
          saved,
          ...(threads > 1 ? { threads: { store: storeConfig, count: threads } } : {}),
          problem: print,
          progress: (done, total) => {
            if (performance.now() - shownAt < PROGRESS_MS) return;
            shownAt = performance.now();
            note(`verified ${done} of ${total} leaves`);
          },
        });
        const bodies = store.checkBodies(report.bodyHolders, (line) => {
          report.problems++;
          print(line);
        });
        note(summary(report, performance.now() - started, bodies));
        if (report.problems > 0) process.exitCode = 1;
      } finally {
        await store.close();
      }
    },
  };
}

function verifierOf(args: VerifyArgs, ownKey: () => NoteVerifier | null, note: Print): NoteVerifier {
  if (args['public-key'] !== undefined) return parseVerifierKey(readText(args['public-key'], '--public-key'));
  const key = ownKey();
  if (!key) throw new Error('no signing key in the data directory; pass --public-key');
  note('verifying with the data directory\'s own key: pass --public-key (kept off the host) for an independent check');
  return key;
}

function readText(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function summary(report: VerifyReport, ms: number, bodies: BodiesCheck): string {
  const rate = Math.round(report.leaves / Math.max(ms / 1000, 1e-3));
  const counts = `${report.leaves} leaves, ${report.checkpoints} checkpoints, ${report.pruned} pruned by retention, ${report.unlogged} not logged yet, `
    + `${bodies.bodies} bodies stored apart${bodies.unreferenced > 0 ? ` (${bodies.unreferenced} referred to by no record, left behind)` : ''}; ${rate} records/s`;
  return report.problems === 0 ? `intact: ${counts}` : `${report.problems} problem${report.problems === 1 ? '' : 's'}: ${counts}`;
}
