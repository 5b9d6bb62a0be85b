// Runs `safealign annotate ...` with only the annotate command registered (child process for durability tests).
import { Command } from 'commander';
import { register } from '../../src/cli/annotate.js';

const program = new Command('safealign');
register(program);
await program.parseAsync(process.argv);
