import { randomBytes } from 'node:crypto';
import type { Argv, CommandModule } from 'yargs';
import { stringify } from 'yaml';
import type { KeyEntry } from '../config/sections/auth.js';
import { sha256 } from '../principal/digest.js';
import { appendKeyEntry } from './keys-file.js';

type Print = (text: string) => void;

interface NewKeyArgs {
  org: string;
  'service-account'?: string;
  user?: string;
  workspace?: string;
  scope?: string[];
  name?: string;
  'keys-file'?: string;
}

/** `audit-proxy keys hash|new`: registry digests and fresh keys. print is injectable so tests can read the output. */
export function createKeysCommand(print: Print = (text) => process.stdout.write(`${text}\n`)): CommandModule {
  return {
    command: 'keys',
    describe: 'Hash or create API keys for the key registry (auth.keys / auth.keysFile)',
    builder: (yargs: Argv) => yargs
      .command(hashCommand(print))
      .command(newCommand(print))
      .demandCommand(1, 'choose a keys subcommand: hash or new'),
    // The subcommands do the work; yargs requires a handler on the parent.
    handler: () => undefined,
  };
}

function hashCommand(print: Print): CommandModule<object, { key: string }> {
  return {
    command: 'hash <key>',
    describe: 'Print the SHA-256 hex digest of a key, for the sha256 field of a registry entry',
    builder: (yargs) => yargs.positional('key', { type: 'string', demandOption: true, describe: 'the raw API key' }),
    handler: (args) => print(sha256(args.key).toString('hex')),
  };
}

function newCommand(print: Print): CommandModule<object, NewKeyArgs> {
  return {
    command: 'new',
    describe: 'Generate a strong API key and print it once; its registry entry goes into --keys-file, or is printed to paste',
    builder: (yargs) => yargs
      .option('org', { type: 'string', demandOption: true, describe: 'organization id' })
      .option('service-account', { type: 'string', describe: 'service account id' })
      .option('user', { type: 'string', describe: 'user id' })
      .option('workspace', { type: 'string', describe: 'workspace id' })
      .option('scope', { type: 'string', array: true, describe: 'scope, repeatable (e.g. audit:read)' })
      .option('name', { type: 'string', describe: 'a label for people' })
      .option('keys-file', { type: 'string', describe: 'add the entry (its digest, never the key) to this keys file; print only the key' }),
    handler: (args) => {
      const key = `ak_${randomBytes(32).toString('base64url')}`;
      const file = args['keys-file'];
      if (file !== undefined) {
        const entry = registryEntry(key, args);
        appendKeyEntry(file, entry);
        process.stderr.write(`added ${entry.id} to ${file} (its digest only); the key is on stdout, shown only now\n`);
        print(key);
        return;
      }
      print('API key (shown only now; store it safely):');
      print(`  ${key}`);
      print('Registry entry (add under auth.keys or to the keys file):');
      print(stringify([registryEntry(key, args)]).trimEnd());
    },
  };
}

function registryEntry(key: string, args: NewKeyArgs): KeyEntry {
  return {
    id: `key_${randomBytes(8).toString('hex')}`,
    sha256: sha256(key).toString('hex'),
    organizationId: args.org,
    ...(args['service-account'] !== undefined && { serviceAccountId: args['service-account'] }),
    ...(args.user !== undefined && { userId: args.user }),
    ...(args.workspace !== undefined && { workspaceId: args.workspace }),
    ...(args.name !== undefined && { name: args.name }),
    scopes: args.scope ?? [],
  };
}
