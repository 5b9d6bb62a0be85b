// Every command that runs a model takes --device: cpu is accepted (the command goes on to its inputs), cuda without a usable GPU is refused before any work with what to do.
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands.js';
import { cudaAvailable, defaultDevice, setDefaultDevice } from '../../src/torch/index.js';

afterEach(() => setDefaultDevice('cpu'));

/** Runs `argv` through the CLI in this process and returns the error it ends with ('' when none). */
async function run(argv: string[]): Promise<string> {
  const program = new Command('safealign').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  for (const register of commands) register(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return '';
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

const MISSING = '/nonexistent/safealign-test-input';
/** Each command with inputs that do not exist: it fails on them, after the device step. */
const COMMANDS: Record<string, string[]> = {
  'train sft': ['train', 'sft', '--model', MISSING, '--train', MISSING, '--out', MISSING],
  'train reward': ['train', 'reward', '--model', MISSING, '--train', MISSING, '--out', MISSING],
  'train cost': ['train', 'cost', '--model', MISSING, '--train', MISSING, '--out', MISSING],
  'train micro': ['train', 'micro', '--model', MISSING, '--train', MISSING, '--out', MISSING],
  'train dpo': ['train', 'dpo', '--model', MISSING, '--train', MISSING, '--out', MISSING],
  'train alol': ['train', 'alol', '--model', MISSING, '--train', MISSING, '--reward', MISSING, '--out', MISSING],
  'train ppo-lag': ['train', 'ppo-lag', '--actor', MISSING, '--reward', MISSING, '--cost', MISSING, '--prompts', MISSING, '--out', MISSING],
  'train grpo': ['train', 'grpo', '--actor', MISSING, '--reward', MISSING, '--prompts', MISSING, '--out', MISSING],
  'train hc-rlhf': ['train', 'hc-rlhf', '--actor', MISSING, '--reward', MISSING, '--cost', MISSING, '--prompts', MISSING, '--out', MISSING],
  'train rsft': ['train', 'rsft', '--model', MISSING, '--reward', MISSING, '--cost', MISSING, '--prompts', MISSING, '--out', MISSING],
  eval: ['eval', '--model', MISSING, '--prompts', MISSING, '--reward', MISSING, '--cost', MISSING, '--out', MISSING],
  'best-of-n': ['best-of-n', '--model', MISSING, '--prompts', MISSING, '--reward', MISSING, '--cost', MISSING, '--out', MISSING],
  generate: ['generate', '--model', MISSING, '--prompt', 'hi'],
  serve: ['serve', '--model', MISSING, '--port', '0'],
  label: ['label', '--judge', MISSING, '--input', MISSING, '--out', MISSING],
  'annotate generate': ['annotate', 'generate', '--model-a', MISSING, '--prompts', MISSING, '--out', MISSING],
  // a bad world setting stops the pipeline after its config is read, before it runs (with cuda the device check comes first)
  pipeline: ['pipeline', '--runs-dir', MISSING, '--world-pairs-train', '-1'],
};

describe('--device on every command that runs a model', () => {
  it.each(Object.entries(COMMANDS))('%s --device cpu: accepted; the command stops at its missing inputs', async (_name, argv) => {
    const error = await run([...argv, '--device', 'cpu']);
    expect(error).not.toBe('');
    expect(error).not.toMatch(/device|unknown option/i);
    expect(defaultDevice()).toBe('cpu');
  });

  it.runIf(!cudaAvailable()).each(Object.entries(COMMANDS))('%s --device cuda:0: refused, saying that this libtorch has no usable CUDA and what to do', async (name, argv) => {
    const error = await run(name === 'pipeline' ? ['pipeline', '--runs-dir', MISSING, '--device', 'cuda:0'] : [...argv, '--device', 'cuda:0']);
    expect(error).toMatch(/^--device cuda:0: this libtorch (was built without CUDA|has CUDA but sees no GPU) \(torch::cuda::is_available\(\) is false\); (set LIBTORCH to a CUDA build, see README|check the NVIDIA driver)/);
  });

  it('a malformed device is a config error naming the field', async () => {
    expect(await run([...(COMMANDS.generate as string[]), '--device', 'gpu'])).toMatch(/device: expected cpu, cuda or cuda:k/);
  });

  it.runIf(!cudaAvailable())('launch --device cuda checks every local rank before starting any; --nproc N with one GPU index is refused', async () => {
    expect(await run(['launch', '--nproc', '2', '--device', 'cuda', '--', 'train', 'sft', '--model', MISSING])).toMatch(/^--device cuda \(cuda:0 for local rank 0\): this libtorch/);
    expect(await run(['pipeline', '--nproc', '2', '--device', 'cuda:1', '--runs-dir', MISSING])).toMatch(/--device cuda:1 with 2 processes on this machine: each needs its own GPU/);
  });
});
