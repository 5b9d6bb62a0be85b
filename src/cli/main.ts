#!/usr/bin/env node
// The `safealign` command: parses argv and hands each subcommand to the library.
import { Command } from 'commander';
import { commands } from './commands.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('safealign')
    .description('Safe RLHF toolkit: reward and cost models, PPO-Lagrangian, baselines, evaluation, annotation.')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  for (const register of commands) register(program);
  await program.parseAsync(argv);
}

main(process.argv).catch((err: unknown) => {
  const e = err as Error;
  // Known, user-facing errors carry their own explanation; anything else keeps its stack.
  const userFacing = typeof e?.name === 'string' && /Error$/.test(e.name) && e.name !== 'Error' && e.name !== 'TypeError';
  console.error(`safealign: ${userFacing ? e.message : (e?.stack ?? String(err))}`);
  process.exit(1);
});
