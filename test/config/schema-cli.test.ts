import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { addSchemaOptions, ConfigError, flagsToConfig, resolveConfig } from '../../src/config/schema-cli.js';
import { withDefaults } from '../../src/config/defaults.js';

const Schema = z
  .object({
    seed: z.number().int().default(0).describe('random seed'),
    name: z.string().default('run').describe('run name'),
    method: z.enum(['ppo', 'ppo-lag']).default('ppo-lag').describe('which method'),
    ptx: z.boolean().default(false).describe('add the SFT loss'),
    nus: z.array(z.number()).default([0.5, 1]).describe('shaping weights'),
    optim: z
      .object({
        lr: z.number().positive().default(1e-4).describe('learning rate'),
        weightDecay: z.number().default(0.01).describe('AdamW weight decay'),
      })
      .strict()
      .prefault({})
      .describe('optimiser'),
  })
  .strict();

function parse(argv: string[]) {
  const cmd = new Command('x').exitOverride();
  const leaves = addSchemaOptions(cmd, Schema);
  cmd.parse(argv, { from: 'user' });
  return flagsToConfig(leaves, cmd.opts());
}

describe('config from schema', () => {
  it('fills defaults when nothing is given', () => {
    expect(resolveConfig(Schema, { flags: parse([]) })).toEqual({
      seed: 0,
      name: 'run',
      method: 'ppo-lag',
      ptx: false,
      nus: [0.5, 1],
      optim: { lr: 1e-4, weightDecay: 0.01 },
    });
  });

  it('generates kebab-case flags for nested fields, typed by the schema', () => {
    const cfg = resolveConfig(Schema, {
      flags: parse(['--seed', '7', '--optim-lr', '3e-4', '--ptx', '--method', 'ppo', '--nus', '0,2.5']),
    });
    expect(cfg.seed).toBe(7);
    expect(cfg.optim).toEqual({ lr: 3e-4, weightDecay: 0.01 });
    expect(cfg.ptx).toBe(true);
    expect(cfg.method).toBe('ppo');
    expect(cfg.nus).toEqual([0, 2.5]);
  });

  it('appends a repeated list flag, and keeps numeric-looking items of a string list as strings', () => {
    expect(resolveConfig(Schema, { flags: parse(['--nus', '0,2.5', '--nus', '8']) }).nus).toEqual([0, 2.5, 8]);
    const Dirs = z.object({ model: z.array(z.string()).min(1).describe('folders') }).strict();
    const cmd = new Command('x').exitOverride();
    const leaves = addSchemaOptions(cmd, Dirs);
    cmd.parse(['--model', 'runs/a', '--model', '2024,b'], { from: 'user' });
    expect(resolveConfig(Dirs, { flags: flagsToConfig(leaves, cmd.opts()) }).model).toEqual(['runs/a', '2024', 'b']);
  });

  it('lets flags override a YAML file, which overrides defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'seed: 3\noptim:\n  lr: 0.5\n  weightDecay: 0\n');
    const cfg = resolveConfig(Schema, { file, flags: parse(['--optim-lr', '0.25']) });
    expect(cfg.seed).toBe(3);
    expect(cfg.optim).toEqual({ lr: 0.25, weightDecay: 0 });
  });

  it('rejects bad values and unknown keys with the field path and source', () => {
    expect(() => parse(['--seed', 'abc'])).toThrow(/--seed: expected an integer, got 'abc'/);
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'optim:\n  lr: -1\n  momentum: 0.9\n');
    let err: unknown;
    try {
      resolveConfig(Schema, { file });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toMatch(/bad\.yaml.*optim\.lr/);
    expect(String((err as Error).message)).toMatch(/momentum/);
  });

  it('reports YAML syntax errors with the file name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'seed: [1, 2\n');
    expect(() => resolveConfig(Schema, { file })).toThrow(/broken\.yaml: not valid YAML/);
  });
});

describe('--help defaults', () => {
  it('shows the default a user gets, including a parent prefault that overrides a field default', () => {
    const Optim = z.object({ lr: z.number().default(1e-3).describe('learning rate') }).strict();
    const S = z
      .object({
        actor: Optim.prefault({ lr: 2e-4 }).describe('actor optimiser'),
        critic: Optim.prefault({}).describe('critic optimiser'),
        threshold: z.number().nullable().default(null).describe('cost threshold'),
      })
      .strict();
    const cmd = new Command('x');
    addSchemaOptions(cmd, S);
    const help = cmd.helpInformation();
    expect(help).toMatch(/--actor-lr <n>\s+learning rate \(default: 0\.0002\)/);
    expect(help).toMatch(/--critic-lr <n>\s+learning rate \(default: 0\.001\)/);
    expect(help).toMatch(/--threshold <n>\s+cost threshold \(default: null\)/);
  });
});

describe('withDefaults', () => {
  const Optim = z.object({ lr: z.number().default(1e-3), clip: z.number().default(1) }).strict();
  const S = z.object({ actor: withDefaults(Optim, { lr: 2e-4 }) }).strict();
  it('keeps the embedding parent\'s defaults when the user sets other fields of the object', () => {
    expect(S.parse({})).toEqual({ actor: { lr: 2e-4, clip: 1 } });
    expect(S.parse({ actor: { clip: 0.5 } })).toEqual({ actor: { lr: 2e-4, clip: 0.5 } });
    expect(S.parse({ actor: { lr: 0.1 } })).toEqual({ actor: { lr: 0.1, clip: 1 } });
    expect(resolveConfig(S, { flags: { actor: { clip: 2 } } })).toEqual({ actor: { lr: 2e-4, clip: 2 } });
  });
  it('still rejects unknown fields and bad values, naming the path', () => {
    expect(() => resolveConfig(S, { flags: { actor: { lr: 'x' } } })).toThrow(/actor\.lr/);
    expect(() => resolveConfig(S, { flags: { actor: { nope: 1 } } })).toThrow(/actor/);
  });
});
