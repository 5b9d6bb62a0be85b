// `world build` configuration: a zod schema with a default and a description on every field.
import { z } from 'zod';

const p01 = (d: number, what: string) => z.number().min(0).max(1).default(d).describe(what);

export const SftMixSchema = z
  .object({
    riskyHarmful: p01(0.44, 'risky prompts: share of answers that comply harmfully'),
    riskyRefusal: p01(0.2, 'risky prompts: share of plain refusals'),
    riskyRedirect: p01(0.26, 'risky prompts: share of refusals that redirect to safe, relevant information'),
    riskyToxic: p01(0.03, 'risky prompts: share of answers that insult the user'),
    riskyLowQuality: p01(0.07, 'risky prompts: share of vague, low-quality answers'),
    benignHelpful: p01(0.8, 'benign prompts: share of helpful answers'),
    benignLowQuality: p01(0.12, 'benign prompts: share of vague, low-quality answers'),
    benignOffTopic: p01(0.05, 'benign prompts: share of answers about another topic'),
    benignRefusal: p01(0.03, 'benign prompts: share of needless refusals'),
  })
  .strict();

/** Helpfulness tastes an annotator type may have (src/world/annotators.ts, ANNOTATOR_TYPES). */
export const ANNOTATOR_TYPE_NAMES = ['brief', 'detailed', 'cautious'] as const;

export const AnnotatorTypesSchema = z
  .object({
    share: p01(0, "share of the ordinary annotators given a type, spread evenly over `kinds` (0 = no types: every annotator as before, and the world's files unchanged)"),
    kinds: z
      .array(z.enum(ANNOTATOR_TYPE_NAMES))
      .min(1)
      .default([...ANNOTATOR_TYPE_NAMES])
      .describe("the types: 'brief' prefers shorter answers, 'detailed' longer ones (each replaces the annotator's own length bias by ∓/+ lengthWeight), 'cautious' counts harmful words against helpfulness (harmWeight)"),
    lengthWeight: z.number().min(0).default(2).describe("'brief' / 'detailed': helpfulness logit per 10 tokens that a response is shorter / longer"),
    harmWeight: z.number().min(0).default(1.5).describe("'cautious': helpfulness logit against each harmful word a response has more than the other"),
  })
  .strict();

export const AnnotatorConfigSchema = z
  .object({
    pool: z.number().int().min(1).default(20).describe('ordinary annotators in the pool'),
    planted: z.number().int().min(0).default(2).describe('extra careless annotators (answer at random) that the qualification test should catch'),
    perPair: z.number().int().min(1).default(3).describe('annotators labelling each pair (majority vote)'),
    helpTemperature: z.number().positive().default(1.6).describe('Bradley-Terry temperature of helpfulness judgements (gold-score units); higher = noisier'),
    harmTemperature: z.number().positive().default(1.2).describe('Bradley-Terry temperature of harmlessness judgements (harmful-word units)'),
    temperatureSpread: z.number().min(0).default(0.4).describe('log-normal spread of temperatures across annotators'),
    lengthBiasMax: z.number().min(0).default(0.6).describe('largest preference for longer answers (logit per 10 tokens); each annotator draws uniformly up to it'),
    leniencyMax: z.number().min(0).max(1).default(0.6).describe('largest chance of calling a mildly harmful (severity 1) answer safe'),
    falseAlarmMax: z.number().min(0).max(1).default(0.08).describe('largest chance of calling a safe answer unsafe'),
    lapseMax: z.number().min(0).max(1).default(0.1).describe('largest chance of answering an item at random (inattention)'),
    categoryDrop: p01(0.15, 'chance of missing each true harm category'),
    categoryAdd: p01(0.08, 'chance of adding a wrong harm category'),
    severityNoise: p01(0.3, 'chance of labelling severity one level off'),
    qualificationItems: z.number().int().min(1).default(20).describe('clear-cut gold items in the qualification test'),
    qualificationThreshold: p01(0.75, 'share of correct qualification judgements needed to pass'),
    types: AnnotatorTypesSchema.prefault({}).describe('annotator types whose helpfulness preferences really differ (MiCRo); off by default'),
    inconsistent: z
      .enum(['repair', 'keep'])
      .default('repair')
      .describe("majority labels where the safer response is unsafe but the other safe: 'repair' makes the safe one safer, 'keep' leaves them (as upstream data has)"),
  })
  .strict();

export const WorldConfigSchema = z
  .object({
    seed: z.number().int().default(1234).describe('seed of every random choice in the world'),
    testFraction: p01(0.2, 'share of each topic\'s regular prompts held out as test prompts'),
    sft: z
      .object({
        responsesPerPrompt: z.number().int().min(1).default(6).describe('SFT answers generated per prompt'),
        mix: SftMixSchema.prefault({}).describe('response kinds of the SFT corpus (normalised per prompt kind)'),
      })
      .strict()
      .prefault({})
      .describe('the supervised fine-tuning corpus'),
    pairs: z
      .object({
        train: z.number().int().min(0).default(3000).describe('preference pairs on train prompts'),
        test: z.number().int().min(0).default(600).describe('preference pairs on test prompts'),
        riskyFraction: p01(0.5, 'share of pairs whose prompt is risky'),
        degenerateRate: p01(0, 'chance that a pair response is replaced by a degenerate (repetitive/overlong) one'),
        offTopicRate: p01(
          0,
          "chance that a pair response is replaced by an answer about another (benign) topic, to benign and risky prompts alike: pairs that only a reward model reading which topic is asked about gets right (0 = none, and the world's files as before; tried at 0.25 in the multimodal pipeline, where the topic is in the picture: README, Multimodal)",
        ),
      })
      .strict()
      .prefault({})
      .describe('preference pairs (responses drawn from the SFT mix)'),
    annotators: AnnotatorConfigSchema.prefault({}).describe('simulated annotators'),
  })
  .strict();

export const ImagesConfigSchema = z
  .object({
    size: z.number().int().min(8).default(32).describe('side of the square pictures in pixels'),
    variants: z.number().int().min(2).default(6).describe('pictures per topic (each a seeded pose of the topic\'s glyph)'),
    testVariants: z.number().int().min(1).default(1).describe('pictures per topic held out as test prompts (new poses of known glyphs)'),
  })
  .strict();

/** The multimodal world (`world build --images`): the text world's config plus its pictures. */
export const ImageWorldConfigSchema = WorldConfigSchema.extend({
  images: ImagesConfigSchema.prefault({}).describe('the pictures that carry the topic of an image prompt'),
}).strict();

export type WorldConfig = z.output<typeof WorldConfigSchema>;
export type ImageWorldConfig = z.output<typeof ImageWorldConfigSchema>;
export type ImageWorldConfigInput = z.input<typeof ImageWorldConfigSchema>;
/** What callers may pass: any subset of fields, nested; the rest take their defaults. */
export type WorldConfigInput = z.input<typeof WorldConfigSchema>;
export type SftMix = z.output<typeof SftMixSchema>;
export type AnnotatorConfig = z.output<typeof AnnotatorConfigSchema>;
export type AnnotatorTypeName = (typeof ANNOTATOR_TYPE_NAMES)[number];

/** The default configuration (every field at its default). */
export function defaultWorldConfig(): WorldConfig {
  return WorldConfigSchema.parse({});
}
