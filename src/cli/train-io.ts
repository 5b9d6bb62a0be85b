// What `safealign train sft|reward|cost` share: the input/output flags, the tokenizer check, and data files read with their problems reported.
import { z } from 'zod';
import { DeviceSchema } from '../config/device.js';
import { ConfigError } from '../config/schema-cli.js';
import { DATA_FORMATS, loadPreferences, type DataFormat } from '../data/formats.js';
import { formatProblem, type DataProblem } from '../data/problems.js';
import type { PreferenceRecord } from '../data/record.js';
import { loadSafetyLabels, type LabelFormat, type SafetyLabel } from '../data/safety-labels.js';
import { readSftData, type SftData } from '../data/sft-examples.js';
import { RawPromptsSchema, type LoadedModel, type Tokenizer } from '../models/index.js';

/** Flags every `train` data command has. */
export const TRAIN_IO = {
  model: z.string().describe('Hugging Face model folder to start from (config.json, model.safetensors, tokenizer.json)'),
  train: z.string().describe('training data (JSONL)'),
  test: z.string().optional().describe('held-out data (JSONL, same format as --train) for evaluation'),
  out: z.string().describe('output folder: the trained model in HF layout, plus checkpoint/ for resuming'),
  raw: RawPromptsSchema,
  device: DeviceSchema,
};

/** The `--format` flag of preference data. */
export const PREFERENCE_FORMAT = z
  .enum(['auto', ...DATA_FORMATS])
  .default('auto')
  .describe('preference file format: pku (PKU-SafeRLHF), hh (HH-RLHF chosen/rejected dialogues), pairs ({prompt, chosen, rejected}); auto detects it from the first line');

const SHOWN_PROBLEMS = 10;

/** Prints the first problems of a file (by file:line) and how many more there were. */
export function reportProblems(problems: readonly DataProblem[], file: string): void {
  for (const p of problems.slice(0, SHOWN_PROBLEMS)) console.error(`warning: ${formatProblem(p)}`);
  if (problems.length > SHOWN_PROBLEMS) console.error(`warning: ${problems.length - SHOWN_PROBLEMS} more problems in ${file}`);
}

/** The model folder's tokenizer, or a ConfigError saying it is missing. */
export function needTokenizer(loaded: LoadedModel, dir: string): Tokenizer {
  if (!loaded.tokenizer) throw new ConfigError(`${dir}: no tokenizer.json; training needs the model's tokenizer beside it`);
  return loaded.tokenizer;
}

/** Reads a preference file of any format, prints its problems and a one-line summary (`label: N records from FILE (format), K unreadable lines`). */
export async function readPreferenceFile(path: string, format: DataFormat | 'auto', label: string): Promise<{ records: PreferenceRecord[]; format: DataFormat; summary: DataSummary }> {
  const data = await loadPreferences(path, { format });
  reportProblems(data.problems, path);
  if (data.records.length === 0) {
    throw new ConfigError(`${path}: no record could be read as ${data.format} (${data.stats.lines} lines, ${data.stats.unreadable} unreadable, ${data.stats.skippedInconsistent} with contradictory labels); check the file or --format`);
  }
  const inconsistent = data.stats.skippedInconsistent ? `, ${data.stats.skippedInconsistent} skipped for contradictory safety labels` : '';
  console.log(`${label}: ${data.records.length} records from ${path} (${data.format}), ${data.stats.unreadable} unreadable lines${inconsistent}`);
  return { records: data.records, format: data.format, summary: { file: path, format: data.format, lines: data.stats.lines, unreadable: data.stats.unreadable, used: data.records.length } };
}

/** Reads per-response safety labels ({prompt, response, is_safe} JSONL, or PKU-SafeRLHF expanded), prints its problems and a summary. */
export async function readLabelFile(path: string, format: DataFormat | 'auto', label: string): Promise<{ labels: SafetyLabel[]; format: LabelFormat; summary: DataSummary }> {
  if (format !== 'auto' && format !== 'pku') throw new ConfigError(`--format ${format}: ${format} data has no safety labels; per-response labels come from {prompt, response, is_safe} JSONL or PKU-SafeRLHF`);
  const data = await loadSafetyLabels(path, { format });
  reportProblems(data.problems, path);
  if (data.records.length === 0) throw new ConfigError(`${path}: no safety label could be read (${data.stats.lines} lines, ${data.stats.unreadable} unreadable); expected {prompt, response, is_safe} JSONL or PKU-SafeRLHF`);
  const from = data.format === 'pku' ? ` (pku: ${data.stats.records} records, two responses each)` : ' (labels)';
  console.log(`${label}: ${data.records.length} labelled responses from ${path}${from}, ${data.stats.unreadable} unreadable lines`);
  return { labels: data.records, format: data.format, summary: { file: path, format: data.format, lines: data.stats.lines, unreadable: data.stats.unreadable, used: data.records.length } };
}

/** One line on what SFT data gave: `37 examples from F (pku: 60 records, 23 without a safe response skipped: F:2, …), 0 unreadable lines`. */
function describeSftData(path: string, data: SftData): string {
  const skipped = data.noSafeResponse;
  const list = skipped.count ? `: ${skipped.at.join(', ')}${skipped.count > skipped.at.length ? ', …' : ''}` : '';
  const from = data.format === 'pku' ? ` (pku: ${data.stats.records} records, ${skipped.count} without a safe response skipped${list})` : ' ({prompt, response})';
  return `${data.examples.length} examples from ${path}${from}, ${data.stats.unreadable} unreadable lines`;
}

/** What a data file gave, as stored in `training_result.json`. */
export interface DataSummary {
  file: string;
  format: string;
  /** Non-blank lines read. */
  lines: number;
  /** Lines that could not be read (skipped, reported by file:line). */
  unreadable: number;
  /** What training used: records, labelled responses or SFT examples. */
  used: number;
  /** SFT from PKU-SafeRLHF: records without a safe response (skipped). */
  noSafeResponse?: number;
  /** Severity classifier: labelled responses without a severity level (skipped). */
  noSeverity?: number;
}

/** Reads SFT data ({prompt, response} JSONL or PKU-SafeRLHF's safe responses), prints its problems and a summary. */
export async function readSftFile(path: string, label: string): Promise<{ examples: SftData['examples']; summary: DataSummary }> {
  const data = await readSftData(path);
  reportProblems(data.problems, path);
  console.log(`${label}: ${describeSftData(path, data)}`);
  if (data.examples.length === 0) throw new ConfigError(`${path}: no SFT example could be read; expected {prompt, response} JSONL or PKU-SafeRLHF with responses labelled safe`);
  const summary: DataSummary = { file: path, format: data.format, lines: data.stats.lines, unreadable: data.stats.unreadable, used: data.examples.length };
  if (data.format === 'pku') summary.noSafeResponse = data.noSafeResponse.count;
  return { examples: data.examples, summary };
}
