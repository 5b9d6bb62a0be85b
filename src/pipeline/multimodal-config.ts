// `safealign pipeline --world multimodal`: the config of the image + text run (world with pictures, LLaVA-style models, their trainers, PPO and PPO-Lagrangian, evaluation).
import { z } from 'zod';
import { withDefaults } from '../config/defaults.js';
import { ScoreConfigSchema } from '../algorithms/score/config.js';
import { SftConfigSchema } from '../algorithms/sft/config.js';
import { VisionPretrainConfigSchema } from '../algorithms/vision-pretrain/config.js';
import { ImagesConfigSchema, ImageWorldConfigSchema } from '../world/config.js';
import { RlConfigSchema } from '../algorithms/rl/config.js';
import { PolicyModelSchema, PpoLagStageSchema, PpoStageSchema, ReplicateFieldsSchema } from './config.js';

/** The CLIP-style vision tower in front of the policy and the score models: pretrained on what pictures show, then frozen (by default). */
export const VisionTowerSchema = z
  .object({
    hiddenSize: z.number().int().positive().default(64).describe('width of the patch tokens'),
    intermediateSize: z.number().int().positive().default(128).describe('MLP width'),
    layers: z.number().int().positive().default(2).describe('encoder layers'),
    heads: z.number().int().positive().default(4).describe('attention heads'),
    patchSize: z.number().int().positive().default(8).describe('side of a square patch in pixels (world.images.size / patchSize)² image tokens per picture'),
    featureLayer: z.number().int().default(-1).describe("the tower's hidden state fed to the projector (LLaVA's vision_feature_layer: -1 = last layer)"),
    freeze: z.boolean().default(true).describe('keep the tower fixed after pretraining (LLaVA default): only the projector and the language model learn'),
    pretrain: VisionPretrainConfigSchema.prefault({}).describe("pretraining of the tower before SFT, as LLaVA's CLIP tower comes pretrained: it learns to tell the glyphs' shapes and colours apart on pictures of its own (never topics or harm)"),
  })
  .strict();

export const MultimodalPipelineConfigSchema = z
  .object({
    name: z.string().default('multimodal').describe('run name: everything goes to <runsDir>/<name>/'),
    runsDir: z.string().default('runs').describe('folder holding all runs'),
    seed: z.number().int().default(0).describe('seed of model initialisation and training'),
    threads: z.number().int().min(0).default(0).describe('libtorch threads (0 = all cores; with --jobs J: cores / J per replicate)'),
    ...ReplicateFieldsSchema.shape,
    world: withDefaults(ImageWorldConfigSchema, { sft: { responsesPerPrompt: 3, mix: { riskyHarmful: 0.9 } }, pairs: { train: 2000, test: 400 } }).describe(
      "the multimodal built-in world (its pictures under world.images); its SFT mix complies harmfully more often than the text world's (riskyHarmful 0.9: 62% of the corpus's answers to risky pictures harmful), since the SFT policy's answers drift below the corpus's share (README, Multimodal)",
    ),
    vision: VisionTowerSchema.prefault({}).describe('the vision tower'),
    model: PolicyModelSchema.prefault({}).describe('the GPT-2-style language model behind the projector (trained from scratch)'),
    sft: withDefaults(SftConfigSchema, { epochs: 4 }).describe('supervised fine-tuning of the image + text policy'),
    reward: withDefaults(ScoreConfigSchema, { epochs: 2 }).describe('multimodal reward model training (image + text pairs)'),
    cost: withDefaults(ScoreConfigSchema, { epochs: 2 }).describe('multimodal cost model training (image + text pairs, safety signs)'),
    severity: withDefaults(ScoreConfigSchema, { epochs: 1 })
      .describe("the cost model's severity: an ordinal head (levels 0-3) trained on the pairs' responses with the annotators' severity"),
    scoreValidation: z
      .object({ fraction: z.number().min(0).max(0.5).default(0.1).describe("share of the annotator-labelled pairs held out from reward/cost training, on which they report accuracy") })
      .strict()
      .prefault({})
      .describe('validation split of the annotator-labelled pairs'),
    rl: withDefaults(RlConfigSchema, { promptsPerStep: 64, steps: 60 }).describe(
      "settings shared by PPO and PPO-Lagrangian on the train image prompts (the text pipeline's rl, 60 steps; the towers stay frozen by default, rl.freezeVisionTower; no PTX: rl.ptxCoef must stay 0)",
    ),
    // β 0.3 from a one-seed sweep (seed 0, README "Multimodal"): at the text pipeline's 0.05 both RL policies stuffed long answers with words of other topics (KL to SFT 16-39, gold helpfulness down)
    ppo: withDefaults(PpoStageSchema, { klCoef: 0.3 }).describe('plain PPO on the image prompts; β 0.3 (the text pipeline\'s 0.05 over-optimised the reward model here: README, Multimodal)'),
    ppoLag: withDefaults(PpoLagStageSchema, { klCoef: 0.3 }).describe('PPO-Lagrangian (Safe RLHF-V) on the image prompts; β 0.3 as PPO\'s, d calibrated on the validation split as in the text pipeline'),
    eval: z
      .object({
        samplesPerPrompt: z.number().int().positive().default(2).describe('responses sampled per test prompt'),
        temperature: z.number().positive().default(1).describe('sampling temperature at evaluation'),
        maxNewTokens: z.number().int().positive().default(44).describe('longest response at evaluation'),
        batchSize: z.number().int().positive().default(64).describe('prompts per generation batch'),
      })
      .strict()
      .prefault({})
      .describe('evaluation of the SFT, PPO and PPO-Lagrangian policies on the test image prompts'),
  })
  .strict();
export type MultimodalPipelineConfig = z.output<typeof MultimodalPipelineConfigSchema>;

/** The `pipeline` command's options that only `--world multimodal` has (the others it shares with the text pipeline's schema). */
export const MultimodalOnlyOptionsSchema = z
  .object({
    world: z.object({ images: ImagesConfigSchema.prefault({}) }).prefault({}),
    vision: VisionTowerSchema.prefault({}).describe('(--world multimodal) the vision tower'),
    severity: ScoreConfigSchema.prefault({}).describe("(--world multimodal) the cost model's severity head"),
  });
