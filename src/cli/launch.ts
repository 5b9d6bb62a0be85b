// `safealign launch`: runs a command as several ranks of a distributed job, with torchrun's environment variables.
import type { Command } from 'commander';
import { checkLocalDevices } from '../config/device.js';
import { addSchemaOptions, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { LaunchSchema, type LaunchConfig } from '../distributed/launch-config.js';
import { launch } from '../distributed/launch.js';

const HELP = `
Each rank gets torchrun's variables: RANK (node-rank * nproc + local rank), WORLD_SIZE (nnodes * nproc),
LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK (the node), MASTER_ADDR, MASTER_PORT; and SAFEALIGN_THREADS /
OMP_NUM_THREADS (--threads, default cores / nproc), SAFEALIGN_DIST_TIMEOUT and SAFEALIGN_DIST_JOIN_TIMEOUT. Rank 0 hosts the TCPStore
rendezvous at MASTER_ADDR:MASTER_PORT. When a rank fails, the others are stopped (SIGTERM, then SIGKILL
after 5 s) and launch exits with that rank's code. Gloo uses GLOO_SOCKET_IFNAME when set.
With --device cuda, local rank r runs on cuda:r (a safealign command without --device gets --device cuda) and the
ranks all-reduce with NCCL when the addon was built with it (README: GPUs).

\`safealign train …\` commands run data-parallel under launch: the batch sizes stay global (each rank takes
its share of every batch; gradients are summed over the ranks), rank 0 writes the model, checkpoints and logs,
and a checkpoint resumes under any number of processes (keep --out on storage every node sees).

Examples:
  safealign launch --nproc 2 -- <safealign command and its flags>
  safealign launch --nproc 2 -- safealign train sft --model base --train sft.jsonl --out sft
  two machines, 2 processes each (run on both, --node-rank 0 on the one at 10.0.0.1):
  safealign launch --nproc 2 --nnodes 2 --node-rank 0 --master-addr 10.0.0.1 --master-port 29500 -- <command>
  any program: safealign launch --nproc 2 --program -- node my-script.js`;

export function register(program: Command): void {
  const cmd = program
    .command('launch')
    .description('run a command as several processes of one distributed job (torchrun semantics)')
    .argument('<command...>', 'after --: a safealign command (with or without the word safealign; or, with --program, any program) and its arguments')
    .option('--config <file>', 'YAML config with the fields below')
    .addHelpText('after', HELP);
  const leaves = addSchemaOptions(cmd, LaunchSchema);
  cmd.action(async (words: string[], opts: Record<string, unknown>) => {
    const config = resolveConfig(LaunchSchema, { file: opts.config as string | undefined, flags: flagsToConfig(leaves, opts) });
    if (config.device === 'cuda') checkLocalDevices('cuda', config.nproc);
    // `-- safealign train …` and `-- train …` both name a safealign command
    const command = words[0] === 'safealign' ? words.slice(1) : words;
    process.exitCode = config.program ? await launchReporting(config, words) : await launchSafealign(config, withDevice(command, config.device));
  });
}

/** A safealign command's words with `--device cuda` added when launch runs on CUDA and the command names no device itself. */
export function withDevice(args: readonly string[], device: 'cpu' | 'cuda'): string[] {
  const named = args.some((a) => a === '--device' || a.startsWith('--device='));
  return device === 'cuda' && !named ? [...args, '--device', 'cuda'] : [...args];
}

/**
 * Runs the safealign command `args` (e.g. ['train', 'sft', …]) as the ranks of `config`, as this CLI runs: same node,
 * same loader flags (tsx in development), same entry script. Returns the exit code for the launcher (0, or the failed rank's).
 */
export function launchSafealign(config: LaunchConfig, args: readonly string[]): Promise<number> {
  return launchReporting(config, [process.execPath, ...process.execArgv, process.argv[1] as string, ...args]);
}

async function launchReporting(config: LaunchConfig, argv: readonly string[]): Promise<number> {
  return (await launch(config, argv, (line) => process.stderr.write(`safealign launch: ${line}\n`))).exitCode;
}
