// DPO, SafeDPO, SACPO, MoCAN and A-LoL on the user's own model folder and preference file (`safealign train dpo|safe-dpo|sacpo|mocan|alol`): load, train, write the HF folder, log and result.
import { useDevice } from '../../config/device.js';
import { join } from 'node:path';
import { z } from 'zod';
import { DeviceSchema } from '../../config/device.js';
import { ConfigError } from '../../config/schema-cli.js';
import { writeFileAtomic, writeJsonAtomic } from '../../core/fs-atomic.js';
import { silentProgress, type Progress } from '../../core/progress.js';
import { DATA_FORMATS, loadPreferences } from '../../data/formats.js';
import { formatProblem } from '../../data/problems.js';
import { hasSafetyLabels, type PreferenceRecord } from '../../data/record.js';
import { dataParallel } from '../../distributed/data-parallel.js';
import { savePretrained, type CausalLM, type ScoreModel } from '../../models/index.js';
import { AlolConfigSchema } from '../alol/config.js';
import { alolItems, trainAlol, type AlolResult } from '../alol/train.js';
import { MocanConfigSchema } from '../mocan/config.js';
import { trainMocan, type MocanDual, type MocanResult } from '../mocan/train.js';
import { THRESHOLD_FIELDS } from '../rl/folders-config.js';
import { loadCausalLM, loadScoreModel, readRlPrompts, resolveThreshold } from '../rl/folders.js';
import type { RlPrompt } from '../rl/train.js';
import { DpoConfigSchema, SacpoConfigSchema, SafeDpoConfigSchema } from './config.js';
import { trainSacpo } from './sacpo.js';
import { trainDpo, trainSafeDpo, type PreferenceEval, type PreferenceResult } from './train.js';
import type { TruncationStats } from '../common/truncation.js';

const PROMPTS = z.string().optional();

const IO = {
  model: z.string().describe('the policy to train: a Hugging Face causal-LM folder with its tokenizer (usually the SFT model)'),
  reference: z.string().optional().describe('frozen reference of the DPO loss (default: the --model folder as it was at the start)'),
  train: z.string().describe('preference pairs (JSONL): PKU-SafeRLHF, HH-RLHF or {prompt, chosen, rejected}; safe-dpo and sacpo need PKU-SafeRLHF safety labels'),
  test: z.string().optional().describe('held-out pairs (JSONL) for the final loss, implicit rewards and accuracy'),
  format: z.enum(['auto', ...DATA_FORMATS]).default('auto').describe('format of --train and --test (auto: from the first line)'),
  out: z.string().describe('output folder: the trained model in HF layout, checkpoint/ for resuming, log.jsonl, result.json'),
  device: DeviceSchema,
};

/** Each command's settings: the inputs above plus its method section. */
export const PREFERENCE_FOLDER_SCHEMAS = {
  dpo: z.object({ ...IO, dpo: DpoConfigSchema.prefault({}).describe('DPO settings') }).strict(),
  'safe-dpo': z.object({ ...IO, safeDpo: SafeDpoConfigSchema.prefault({}).describe('SafeDPO settings') }).strict(),
  sacpo: z.object({ ...IO, sacpo: SacpoConfigSchema.prefault({}).describe('SACPO settings (stage 1: helpfulness, stage 2: safety)') }).strict(),
  mocan: z
    .object({
      ...IO,
      reward: z.string().describe('reward model folder (from `safealign train reward`): scores the samples of the dual and relabels the pairs'),
      cost: z.string().describe('cost model folder (from `safealign train cost`): the same, for the cost'),
      prompts: PROMPTS.describe('prompts the dual is estimated on (PKU-SafeRLHF, HH-RLHF, {"prompt"} JSONL or plain text; default: the prompts of --train)'),
      ...THRESHOLD_FIELDS,
      mocan: MocanConfigSchema.prefault({}).describe('MoCAN settings (the dual, then DPO on the relabelled pairs)'),
    })
    .strict(),
  alol: z
    .object({
      ...IO,
      reward: z.string().describe('reward model folder (from `safealign train reward`): the reward R of every response and of the reference policy\'s samples'),
      cost: z.string().optional().describe('cost model folder (from `safealign train cost`): needed when --alol-cost-weight > 0 (R = r − ν·c)'),
      prompts: PROMPTS.describe('prompts the value head is fitted on (the reference policy is sampled on them; default: the prompts of --train)'),
      alol: AlolConfigSchema.prefault({}).describe('A-LoL settings'),
    })
    .strict(),
};
export type PreferenceFolderMethod = keyof typeof PREFERENCE_FOLDER_SCHEMAS;
export const PREFERENCE_FOLDER_METHODS = Object.keys(PREFERENCE_FOLDER_SCHEMAS) as PreferenceFolderMethod[];
type FolderConfig<M extends PreferenceFolderMethod> = z.output<(typeof PREFERENCE_FOLDER_SCHEMAS)[M]>;

export interface PreferenceFoldersResult {
  method: PreferenceFolderMethod;
  data: { file: string; format: string; records: number; unreadable: number; withSafetyLabels: number };
  /** One entry a stage (SACPO: helpful, safety). */
  stages: Record<string, { steps: number; truncation: TruncationStats; test?: PreferenceEval; last: StageResult['log'][number] | undefined }>;
  /** A-LoL: the value head's fit and the advantages. */
  alol?: Pick<AlolResult, 'value' | 'advantages'>;
  /** MoCAN: the budget d and how it was set, λ* and what the relabelling changed. */
  mocan?: { threshold: { value: number; from: string }; dual: MocanDual; relabel: MocanResult['relabel'] };
  outDir: string;
}

/** One trained stage: the DPO family's results, or A-LoL's. */
type StageResult = PreferenceResult | Omit<AlolResult, 'value' | 'advantages'>;

/** The methods that read per-response safety labels. */
const NEEDS_SAFETY_LABELS: ReadonlySet<PreferenceFolderMethod> = new Set(['safe-dpo', 'sacpo']);


/** The distinct prompts of preference records, each named by the first record that has it. */
function promptsOf(records: readonly PreferenceRecord[]): RlPrompt[] {
  const seen = new Map<string, RlPrompt>();
  records.forEach((r, i) => {
    const key = JSON.stringify([r.context ?? [], r.prompt]);
    const source = r.source?.file !== undefined && r.source.line !== undefined ? `${r.source.file}:${r.source.line}` : `#${i}`;
    if (!seen.has(key)) seen.set(key, { prompt: r.prompt, risky: false, source, ...(r.context ? { context: r.context } : {}) });
  });
  return [...seen.values()];
}

async function readRecords(file: string, format: FolderConfig<'dpo'>['format'], progress: Progress) {
  const data = await loadPreferences(file, { format });
  for (const p of data.problems.slice(0, 10)) progress.log(`warning: ${formatProblem(p)}`);
  if (data.problems.length > 10) progress.log(`warning: ${data.problems.length - 10} more problems in ${file}`);
  if (data.records.length === 0) throw new ConfigError(`${file}: no preference record could be read (${data.stats.unreadable} unreadable lines)`);
  return data;
}

/**
 * Runs `method` on the folder and pairs of `config`, resuming from `<out>/checkpoint` (SACPO:
 * `<out>/helpful/checkpoint`, `<out>/safety/checkpoint`) when there is one. Writes the trained
 * model to `<out>` (SACPO: the stage-2 model; stage 1 to `<out>/helpful`, P-SACPO to `<out>/merged`),
 * `<out>/log.jsonl` (one record per step, with `stage`) and `<out>/result.json`.
 */
export async function trainPreferencesOnFolders<M extends PreferenceFolderMethod>(method: M, config: FolderConfig<M>, progress: Progress = silentProgress): Promise<PreferenceFoldersResult> {
  useDevice(config.device); // the models this loads go there
  const { model: policy, tokenizer } = loadCausalLM(config.model, 'model');
  if (!tokenizer) throw new ConfigError(`--model ${config.model}: no tokenizer.json; training needs the model's tokenizer beside it`);
  const loadReference = () => loadCausalLM(config.reference ?? config.model, config.reference ? 'reference' : 'model').model;
  const data = await readRecords(config.train, config.format, progress);
  const test: PreferenceRecord[] | undefined = config.test ? (await readRecords(config.test, config.format, progress)).records : undefined;
  const withSafetyLabels = data.records.filter(hasSafetyLabels).length;
  if (NEEDS_SAFETY_LABELS.has(method) && withSafetyLabels === 0) {
    throw new ConfigError(`${config.train}: ${method} needs per-response safety labels (PKU-SafeRLHF is_response_0_safe, is_response_1_safe, safer_response_id); none of the ${data.records.length} ${data.format} records has them`);
  }
  const common = { tokenizer, train: data.records, ...(test ? { test } : {}), outDir: config.out, progress };
  const stages: Record<string, StageResult> = {};
  let settings: Record<string, unknown> = { method, ...config };
  let mocan: PreferenceFoldersResult['mocan'];
  let alol: PreferenceFoldersResult['alol'];
  const prompts = (file: string | undefined) => (file ? readRlPrompts(file, progress).prompts : promptsOf(data.records));
  const scorer = (model: ScoreModel) => ({ model, tokenizer, maxLength: model.contextLength });
  // with several processes, rank 0 writes the folders, the log and the result
  const main = dataParallel().isMain;
  const save = (dir: string, model: CausalLM) => {
    if (main) savePretrained(dir, model, { tokenizer, trainingConfig: settings });
  };
  if (method === 'sacpo') {
    const c = (config as FolderConfig<'sacpo'>).sacpo;
    // SACPO's stage 1 starts from --model and is regularised towards --reference (default: the same).
    let first = true;
    const out = trainSacpo({ ...common, config: c, load: () => (first ? ((first = false), policy) : loadReference()) });
    stages.helpful = out.helpful.result;
    stages.safety = out.safety.result;
    save(join(config.out, 'helpful'), out.helpful.model);
    save(config.out, out.safety.model);
    if (out.merged) save(join(config.out, 'merged'), out.merged);
  } else if (method === 'mocan') {
    const c = config as FolderConfig<'mocan'>;
    const rewardModel = loadScoreModel(c.reward, 'reward');
    const costModel = loadScoreModel(c.cost, 'cost');
    const threshold = await resolveThreshold(c, costModel, tokenizer, progress);
    const out = trainMocan({ ...common, policy, reference: loadReference(), prompts: prompts(c.prompts), reward: scorer(rewardModel), cost: scorer(costModel), threshold: threshold.value, config: c.mocan });
    stages.mocan = out.preference;
    mocan = { threshold, dual: out.dual, relabel: out.relabel };
    settings = { ...settings, threshold: threshold.value, lambda: out.dual.lambda };
    save(config.out, policy);
  } else if (method === 'alol') {
    const c = config as FolderConfig<'alol'>;
    if (c.alol.costWeight > 0 && !c.cost) throw new ConfigError(`--alol-cost-weight ${c.alol.costWeight}: the reward r − ν·c needs a cost model; pass --cost DIR`);
    const judges = { reward: scorer(loadScoreModel(c.reward, 'reward')), ...(c.cost ? { cost: scorer(loadScoreModel(c.cost, 'cost')) } : {}), costWeight: c.alol.costWeight };
    const { value, advantages, ...out } = trainAlol({ policy, reference: loadReference(), tokenizer, items: alolItems(data.records), prompts: prompts(c.prompts), judges, config: c.alol, outDir: config.out, progress });
    stages.alol = out;
    alol = { value, advantages };
    save(config.out, policy);
  } else {
    const run = { ...common, policy, reference: loadReference() };
    stages[method] = method === 'dpo' ? trainDpo({ ...run, config: (config as FolderConfig<'dpo'>).dpo }) : trainSafeDpo({ ...run, config: (config as FolderConfig<'safe-dpo'>).safeDpo });
    save(config.out, policy);
  }
  const result: PreferenceFoldersResult = {
    method,
    data: { file: config.train, format: data.format, records: data.records.length, unreadable: data.stats.unreadable, withSafetyLabels },
    stages: Object.fromEntries(Object.entries(stages).map(([k, { log, ...rest }]) => [k, { ...rest, last: log[log.length - 1] }])),
    ...(mocan ? { mocan } : {}),
    ...(alol ? { alol } : {}),
    outDir: config.out,
  };
  if (!main) return result;
  writeFileAtomic(join(config.out, 'log.jsonl'), Object.entries(stages).flatMap(([stage, r]) => r.log.map((rec) => JSON.stringify({ stage, ...rec }))).join('\n') + '\n');
  writeJsonAtomic(join(config.out, 'result.json'), result);
  return result;
}
