// `safealign tokenizer train`: learns a word-level or byte-level BPE tokenizer from a text file.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { addSchemaOptions, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { trainBpe, trainWordLevel } from '../models/tokenizer-train.js';

export const TokenizerTrainConfig = z
  .object({
    input: z.string().describe('text corpus, one document per line'),
    out: z.string().describe('folder to write tokenizer.json and tokenizer_config.json into'),
    kind: z.enum(['word', 'bpe']).default('word').describe('word: one id per word; bpe: GPT-2 style byte-level BPE'),
    vocabSize: z.number().int().min(8).default(4096).describe('largest vocabulary, special tokens included'),
    minFrequency: z.number().int().min(1).default(1).describe('ignore words (word) or pairs (bpe) rarer than this'),
  })
  .strict();

const TRAINERS = { word: trainWordLevel, bpe: trainBpe } as const;

export function register(program: Command): void {
  const tokenizer = program.command('tokenizer').description('train tokenizers in Hugging Face tokenizer.json format');
  const train = tokenizer.command('train').description('learn a tokenizer from a text file').option('--config <file>', 'YAML config');
  const leaves = addSchemaOptions(train, TokenizerTrainConfig);
  train.action((opts: Record<string, unknown>) => {
    const cfg = resolveConfig(TokenizerTrainConfig, { file: opts.config as string | undefined, flags: flagsToConfig(leaves, opts) });
    const lines = readFileSync(cfg.input, 'utf8').split('\n').filter((l) => l.trim() !== '');
    const options = { vocabSize: cfg.vocabSize, minFrequency: cfg.minFrequency };
    const tok = TRAINERS[cfg.kind](lines, options);
    tok.save(cfg.out);
    console.log(`wrote ${cfg.kind} tokenizer with ${tok.vocabSize} tokens to ${cfg.out}`);
  });
}
