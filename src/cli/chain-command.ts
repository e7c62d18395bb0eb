import type { Argv, CommandModule } from 'yargs';
import { verifierKeyText } from '../chain/note.js';
import { readSigningKey } from '../chain/signing-key.js';
import { chainConfigOf, chainOptions, type ChainArgs } from './chain-args.js';

type Print = (text: string) => void;

/** `audit-proxy chain public-key`: the verifier key (signed-note format) auditors check checkpoints with. */
export function createChainCommand(print: Print = (text) => process.stdout.write(`${text}\n`)): CommandModule {
  return {
    command: 'chain',
    describe: 'The Merkle log\'s signing key (see docs/tamper-evidence.md)',
    builder: (yargs: Argv) => yargs.command(publicKeyCommand(print)).demandCommand(1, 'choose a chain subcommand: public-key'),
    handler: () => undefined,
  };
}

function publicKeyCommand(print: Print): CommandModule<object, ChainArgs> {
  return {
    command: 'public-key',
    describe: 'Print the checkpoint verifier key: <name>+<key id>+<base64 Ed25519 public key>',
    builder: (yargs) => chainOptions(yargs),
    handler: (args) => {
      const { store, chain } = chainConfigOf(args);
      const key = readSigningKey(chain, store.path);
      if (!key) throw new Error(`no signing key in ${store.path} yet (the server creates it at first start), and chain.signingKey is not set`);
      print(verifierKeyText(key));
    },
  };
}
