// The whole Safe RLHF pipeline's config: world, models, every trainer, evaluation.
import { z } from 'zod';
import { DeviceSchema } from '../config/device.js';
import { RlaifConfigSchema } from './rlaif-config.js';
import { EnsembleReduceSchema } from '../algorithms/score/ensemble-config.js';
import { HcRlhfSchema } from '../algorithms/hc-rlhf/config.js';
import { withDefaults } from '../config/defaults.js';
import { RlConfigSchema } from '../algorithms/rl/config.js';
import { ScoreConfigSchema } from '../algorithms/score/config.js';
import { SftConfigSchema } from '../algorithms/sft/config.js';
import { LagrangeSchema } from '../algorithms/ppo-lag/config.js';
import { GrpoSchema } from '../algorithms/grpo/config.js';
import { P3oSchema } from '../algorithms/p3o/config.js';
import { WorldConfigSchema } from '../world/config.js';
import { DpoConfigSchema, SacpoConfigSchema, SafeDpoConfigSchema } from '../algorithms/dpo/config.js';
import { MethodsSchema } from './methods.js';
import { OveroptimisationSchema } from './overoptimisation.js';
import { HcGuaranteeSchema } from './hc-guarantee-world.js';
import { ScoreRuleSchema } from '../algorithms/best-of-n/rule.js';
import { RsftConfigSchema } from '../algorithms/rsft/config.js';
import { MocanConfigSchema } from '../algorithms/mocan/config.js';
import { AlolConfigSchema } from '../algorithms/alol/config.js';
import { MicroConfigSchema } from '../algorithms/micro/config.js';
import { WeakLabelTrainingSchema } from '../algorithms/weak-to-strong/config.js';

export { LagrangeSchema };

/** A critic-free Lagrangian method's own learning rate of log λ in the pipeline; null = PPO-Lagrangian's. */
const lagrangeLrField = (method: string) =>
  z.number().positive().nullable().default(null).describe(`${method}: SGD learning rate of log λ (null = ppoLag.lagrange.lr); its other Lagrange settings are PPO-Lagrangian's`);

export const PolicyModelSchema = z
  .object({
    nLayer: z.number().int().positive().default(2).describe('transformer blocks of the GPT-2-style policy'),
    nEmbd: z.number().int().positive().default(128).describe('hidden size'),
    nHead: z.number().int().positive().default(4).describe('attention heads'),
    nPositions: z.number().int().positive().default(96).describe('context length'),
  })
  .strict();
export type PolicyModel = z.infer<typeof PolicyModelSchema>;

/** The HF GPT-2 config (config.json fields) of the world's policy / score model `m` over `tokenizer`'s vocabulary. */
export function policyGpt2Config(m: PolicyModel, tokenizer: { vocabSize: number; eosId?: number | undefined; padId?: number | undefined }): Record<string, unknown> {
  return {
    model_type: 'gpt2',
    n_embd: m.nEmbd,
    n_layer: m.nLayer,
    n_head: m.nHead,
    n_positions: m.nPositions,
    vocab_size: tokenizer.vocabSize,
    tie_word_embeddings: true,
    eos_token_id: tokenizer.eosId ?? null,
    pad_token_id: tokenizer.padId ?? null,
  };
}

/** Replicates over seeds (`--seeds`, `--vary`, `--jobs`): the text and the multimodal pipeline share them and their machinery (seeds.ts). */
export const ReplicateFieldsSchema = z.object({
  seeds: z
    .number()
    .int()
    .min(1)
    .default(1)
    .describe('independent replicates, each a whole run under <runsDir>/<name>/seed_<k>/ with seed + k (or world.seed + k), then one aggregate report with 95% t-intervals over them (1 = a single run, laid out as before)'),
  vary: z
    .enum(['training', 'world'])
    .default('training')
    .describe("with seeds > 1: what replicate k changes: 'training' = seed + k (same world), 'world' = world.seed + k (same training seed)"),
  jobs: z
    .number()
    .int()
    .min(1)
    .default(2)
    .describe('with seeds > 1: replicates run at once, each in its own process with cores / jobs libtorch threads (measured on 2 cores: 2 jobs × 1 thread matched 1 job × 2 threads in wall time with 12–40% less CPU; see README)'),
});

/** The pipeline's plain PPO stage (the text and the multimodal pipeline). */
export const PpoStageSchema = z.object({ klCoef: z.number().min(0).default(0.05).describe('β for plain PPO (safe-rlhf: 0.02; the small world policy over-optimises the reward model below 0.05)') }).strict();

/** The pipeline's PPO-Lagrangian stage (the text and the multimodal pipeline): β and the multiplier, d calibrated on the validation split by default. */
export const PpoLagStageSchema = z
  .object({
    klCoef: z.number().min(0).default(0.05).describe('β for PPO-Lagrangian (safe-rlhf: 0.01; the small world policy over-optimises the reward model below 0.05)'),
    lagrange: LagrangeSchema.prefault({}).describe('the Lagrange multiplier'),
  })
  .strict();

export const PipelineConfigSchema = z
  .object({
    name: z.string().default('default').describe('run name: everything goes to <runsDir>/<name>/'),
    runsDir: z.string().default('runs').describe('folder holding all runs'),
    seed: z.number().int().default(0).describe('seed of model initialisation and training'),
    threads: z.number().int().min(0).default(0).describe('libtorch threads (0 = all cores; with --jobs J: cores / J per replicate)'),
    device: DeviceSchema.describe('where the models train and run: cpu, cuda or cuda:k (with --nproc N: cuda, rank r on cuda:r; with --seeds, every replicate on the same one); needs a CUDA build of libtorch (README: GPUs); a run resumes on any device'),
    ...ReplicateFieldsSchema.shape,
    nproc: z
      .number()
      .int()
      .min(1)
      .default(1)
      .describe('processes of one run (safealign launch on this machine): its training stages data-parallel over them (the same global batches), the rest on rank 0 while the others wait; a run resumes under any nproc'),
    world: WorldConfigSchema.prefault({}).describe('the built-in world'),
    model: PolicyModelSchema.prefault({}).describe('policy / score model architecture (trained from scratch)'),
    sft: withDefaults(SftConfigSchema, { epochs: 10 }).describe('supervised fine-tuning of the base policy'),
    annotations: z
      .object({
        pairs: z
          .number()
          .int()
          .min(0)
          .default(1500)
          .describe("response pairs sampled from the SFT policy on train prompts and labelled by the simulated annotators, added to the world's pairs for reward/cost training (0 = world pairs only)"),
        riskyFraction: z.number().min(0).max(1).default(0.5).describe('share of those pairs whose prompt is risky'),
      })
      .strict()
      .prefault({})
      .describe('preference pairs from the SFT policy (as the Safe RLHF paper builds its data)'),
    scoreValidation: z
      .object({
        fraction: z
          .number()
          .min(0)
          .max(0.5)
          .default(0.1)
          .describe(
            "share of the annotator-labelled training pairs (the world's and the SFT policy's) held out from reward/cost training: both models report their accuracy on it and the cost threshold d is calibrated on it (0 = none; then set ppoLag.lagrange.threshold)",
          ),
      })
      .strict()
      .prefault({})
      .describe('validation split of the annotator-labelled pairs (what a real user has: no gold labels, no test data)'),
    reward: ScoreConfigSchema.prefault({}).describe('reward model training'),
    cost: ScoreConfigSchema.prefault({}).describe('cost model training'),
    ensemble: z
      .object({
        members: z.number().int().min(0).default(3).describe('reward models trained from the SFT init with different seeds (0 = skip the ensemble stage)'),
        epochs: z.number().positive().default(0.35).describe('epochs per member'),
        rl: EnsembleReduceSchema.prefault({ reduce: 'uncertainty' }).describe("ppo_lag_ens (--methods): how the members' rewards become the reward PPO-Lagrangian optimises"),
      })
      .strict()
      .prefault({})
      .describe('reward-model ensemble and WARM weight averaging'),
    rl: withDefaults(RlConfigSchema, { promptsPerStep: 64 }).describe('settings shared by PPO, reward shaping and PPO-Lagrangian'),
    ppo: PpoStageSchema.prefault({}).describe('plain PPO'),
    ppoLag: PpoLagStageSchema.prefault({}).describe('PPO-Lagrangian (Safe RLHF)'),
    shaping: z
      .object({
        nus: z.array(z.number().min(0)).default([0.5, 2, 8]).describe('fixed cost weights ν of the reward-shaping sweep (R - ν·C)'),
        klCoef: z.number().min(0).default(0.05).describe('β for reward shaping (the same as PPO-Lagrangian, so the frontier compares like with like)'),
      })
      .strict()
      .prefault({})
      .describe('reward-shaping baseline sweep'),
    methods: MethodsSchema,
    overoptimisation: OveroptimisationSchema.prefault({}).describe(
      "reward over-optimisation (with methods: overoptimisation): long PPO runs at a low β from the SFT policy, on the reward model and on each ensemble remedy, logging proxy reward, gold helpfulness and harm and KL to SFT; best-of-N by the reward model on test prompts",
    ),
    // β 0.3 and Δ 0 from a one-seed sweep on the built-in world (README, "More methods"): β 0.1 and below over-optimised (KL to SFT 17–44).
    dpo: withDefaults(DpoConfigSchema, { beta: 0.3, batchSize: 32, optim: { lr: 5e-4 } }).describe('DPO on the helpfulness pairs the reward model trains on (with methods: dpo); β 0.3 (swept: 0.05, 0.1, 0.3)'),
    safeDpo: withDefaults(SafeDpoConfigSchema, { beta: 0.3, delta: 0, batchSize: 32, optim: { lr: 5e-4 } }).describe(
      'SafeDPO on the same pairs with their safety labels (with methods: safe_dpo); β 0.3, Δ 0 (swept at β 0.1: Δ 0, 2, 5)',
    ),
    sacpo: withDefaults(SacpoConfigSchema, { helpful: { beta: 0.3, batchSize: 32, optim: { lr: 5e-4 } }, safety: { batchSize: 32, optim: { lr: 5e-4 } }, lambda: 1, merge: 0.5 }).describe(
      'SACPO: DPO on helpfulness, then on safety pairs with β/λ; P-SACPO (merge) is evaluated as p_sacpo (with methods: sacpo); β 0.3, λ 1 (swept at β 0.1: λ 1, 2, 4)',
    ),
    bestOfN: z
      .object({
        n: z.number().int().positive().default(8).describe('N: samples of the SFT policy per test prompt at inference, the best by the rule answers (one-seed sweep of N = 1, 2, 4, 8, 16 in the README: harm reaches 0 at 8, 16 adds little helpfulness at twice the samples)'),
        rule: ScoreRuleSchema.prefault({}).describe("Llama 2's rule; a world prompt is risky by its kind"),
      })
      .strict()
      .prefault({})
      .describe('best-of-N at inference from the SFT policy, judged by the reward and cost models (with methods: best_of_n); policy samples = N × test responses'),
    rsft: withDefaults(RsftConfigSchema, { samplesPerPrompt: 8, maxNewTokens: 44, promptsPerRound: 256, sft: { epochs: 2, batchSize: 32, optim: { lr: 5e-4 } } }).describe(
      'rejection-sampling fine-tuning from the SFT policy on the train prompts (a prompt is risky by its kind), judged by the reward and cost models (with methods: rsft)',
    ),
    mocan: withDefaults(MocanConfigSchema, { preference: { beta: 0.3, batchSize: 32, optim: { lr: 5e-4 } } }).describe(
      "MoCAN: λ* from the dual on the SFT policy's samples of the train prompts for PPO-Lagrangian's d, then DPO on the same pairs relabelled by r − λ*·c (with methods: mocan); β 0.3 (swept: 0.1, 0.3, 0.5)",
    ),
    alol: withDefaults(AlolConfigSchema, { costWeight: 1, batchSize: 32, optim: { lr: 5e-4 } }).describe(
      "A-LoL on both responses of the same pairs, A = R − V with V fitted on the SFT policy's samples of the train prompts; R = r − costWeight·c (0 = the paper's reward-only A-LoL; the pipeline's 1 was swept: 0, 1, 2) (with methods: alol)",
    ),
    groupSampling: z
      .object({
        samplesPerPrompt: z
          .number()
          .int()
          .min(2)
          .default(4)
          .describe('G: the critic-free methods (grpo, safe_grpo, rloo_lag; p3o always 2) sample G responses to each of rl.promptsPerStep / G prompts, so every method sees rl.promptsPerStep responses per step'),
      })
      .strict()
      .prefault({})
      .describe('sampling of the critic-free methods'),
    grpo: GrpoSchema.extend({
      safeKlCoef: z.number().min(0).default(0.05).describe('safe_grpo: β of its k3 KL term (klCoef is reward-only GRPO\'s; the sweep on the built-in world raised GRPO\'s to 0.2 and kept this one: README "Tuned defaults")'),
      lagrangeLr: lagrangeLrField('safe_grpo'),
    })
      .prefault({})
      .describe('GRPO and safe GRPO (methods grpo, safe_grpo); safe GRPO learns λ against PPO-Lagrangian\'s d with ppoLag.lagrange (its learning rate: grpo.lagrangeLr)'),
    rlooLag: z
      .object({ klCoef: z.number().min(0).default(0.05).describe('β of the KL in the reward and cost scores (as PPO-Lagrangian\'s)'), lagrangeLr: lagrangeLrField('rloo_lag') })
      .strict()
      .prefault({})
      .describe('RLOO-Lagrangian (method rloo_lag); λ against PPO-Lagrangian\'s d with ppoLag.lagrange'),
    hcRlhf: HcRlhfSchema.prefault({}).describe(
      "HC-RLHF (method hc_rlhf): τ = PPO-Lagrangian's d, λ with ppoLag.lagrange; the candidate's β is rlooLag.klCoef ('rloo-lag', G = groupSampling.samplesPerPrompt) or ppoLag.klCoef ('ppo-lag'); the safety set is a share of the train prompts",
    ),
    hcGuarantee: HcGuaranteeSchema.prefault({}).describe(
      "HC-RLHF's guarantee checked on the run's own models (with methods: hc_guarantee): per seed a candidate/safety split of the train prompts, one uninflated RLOO-Lagrangian candidate and one HC-RLHF candidate per δ from the SFT policy, τ = PPO-Lagrangian's d; a returned model fails when its true cost (the cost model's mean on fresh responses to every train and test prompt) exceeds τ, and against gold when its gold unsafe share exceeds the calibrated gold budget; the report's robust section shows the failure rate per δ with its 95% Wilson interval",
    ),
    micro: MicroConfigSchema.prefault({}).describe(
      "MiCRo (method micro): K reward heads and a router from the SFT backbone on the world's per-annotator labels of its train pairs, each annotator routed on its first pairs, against one Bradley-Terry head trained the same way; accuracy per annotator type on the test pairs' labels (types need world.annotators.types.share > 0)",
    ),
    weakToStrong: z
      .object({
        weak: z
          .object({
            nLayer: z.number().int().positive().default(1).describe('transformer blocks of the weak model'),
            nEmbd: z.number().int().positive().default(32).describe('its hidden size'),
            nHead: z.number().int().positive().default(2).describe('its attention heads'),
            sftEpochs: z.number().positive().default(2).describe('epochs of SFT on the SFT corpus before its reward head is trained'),
          })
          .strict()
          .prefault({})
          .describe('the weak supervisor: a small GPT-2 trained from scratch like the policy, then a reward model on half the pairs (settings of reward)'),
        training: WeakLabelTrainingSchema.prefault({}).describe('the strong student on the weak labels (the strong model is the SFT policy\'s size; its ceiling trains with the same score settings on the annotator labels)'),
      })
      .strict()
      .prefault({})
      .describe("weak-to-strong (method weak_to_strong): a small reward model trained on half of the annotator-labelled pairs labels the other half for a reward model of the policy's size, trained with and without the auxiliary confidence loss; PGR against that model trained on the annotator labels, gold as the judge"),
    p3o: P3oSchema.prefault({}).describe('P3O, pairwise PPO (method p3o): 2 responses to each of rl.promptsPerStep / 2 prompts, no critic, KL folded into the reward'),
    rounds: z
      .object({
        count: z.number().int().min(0).default(1).describe('iterative rounds after the first PPO-Lagrangian run (Beaver v1 -> v2 -> …); 0 = none'),
        pairs: z.number().int().positive().default(400).describe('response pairs sampled from the previous policy per round (half on red-team prompts)'),
        redTeamPairs: z
          .enum(['random', 'costliest'])
          .default('costliest')
          .describe(
            "which red-team pairs each round labels (half of rounds.pairs): 'random' = one sampled pair per drawn red-team prompt; 'costliest' = rounds.candidates times as many pairs sampled, and the ones whose costlier response scores highest under the start policy's cost model kept (the policy's likeliest remaining failures, by the models a user has; no gold). The round defaults (costliest, scoreModels ensemble, budget no-regress, criticWarmupSteps 3) were chosen over 5 seeds (README, round variants)",
          ),
        candidates: z.number().int().min(1).default(4).describe("with rounds.redTeamPairs 'costliest': red-team pairs sampled per pair kept"),
        scoreEpochs: z.number().positive().default(1).describe('epochs of reward/cost retraining per round'),
        scoreInit: z
          .enum(['sft', 'previous'])
          .default('sft')
          .describe(
            "how each round retrains the reward and cost models: 'sft' = fresh from the SFT backbone on every label so far (the first models' pairs plus all rounds' pairs, as the Safe RLHF paper retrains on the accumulated data); 'previous' = the previous round's models fine-tuned on the new pairs plus as many earlier ones (cheaper, but here it forgot topic relevance: round_1 drifted to off-topic answers)",
          ),
        rlSteps: z.number().int().positive().default(20).describe('PPO-Lagrangian steps per round'),
        criticWarmupSteps: z
          .number()
          .int()
          .min(0)
          .default(3)
          .describe("first steps of each round's PPO-Lagrangian in which only its critics learn (they start from the round's retrained score models, whose values do not yet fit the start policy's returns); 0 = off"),
        scoreModels: z
          .enum(['retrained', 'ensemble'])
          .default('ensemble')
          .describe(
            "what scores each round's PPO-Lagrangian (and its threshold): 'retrained' = the round's retrained reward and cost models; 'ensemble' = the mean of every reward (cost) model so far — the first run's and each round's — so a new model's blind spots are averaged with the earlier ones' (the critics still start from the retrained models)",
          ),
        budget: z
          .enum(['calibrated', 'no-regress'])
          .default('no-regress')
          .describe(
            "each round's cost threshold: 'calibrated' = d recalibrated on the validation split with the round's cost model (retrained, or the ensemble: rounds.scoreModels), at the first run's quantile; 'no-regress' = the lower of that and the start policy's expected cost under the round's cost model (measured on lagrange.window samples of the RL prompts before the round trains), so a round may not spend more of the budget than the policy it starts from",
          ),
        reference: z
          .enum(['start', 'sft'])
          .default('start')
          .describe("the KL reference of each round's PPO-Lagrangian: 'start' = the policy the round starts from (the previous round's), 'sft' = the SFT policy (every round regularised towards the same anchor; over 5 seeds with the earlier round defaults: round_1 KL to SFT 4.7 vs 8.3, held-out helpfulness 3.21 vs 2.82, test harm 3.8% vs 3.7%, test helpfulness 3.64 vs 3.59; with the current ones (README, round variants) 'sft' is more helpful but more harmful, so 'start' stays the default)"),
        rlaif: RlaifConfigSchema.prefault({}),
      })
      .strict()
      .prefault({})
      .describe('iterative rounds: red-team prompts, new labels, retrained models, PPO-Lag from the last policy'),
    eval: z
      .object({
        samplesPerPrompt: z.number().int().positive().default(2).describe('responses sampled per test prompt'),
        heldOutSamplesPerPrompt: z
          .number()
          .int()
          .min(0)
          .default(2)
          .describe('responses sampled per held-out prompt (requests no training data contains, judged by gold: report heldOut); 0 = skip'),
        temperature: z.number().positive().default(1).describe('sampling temperature at evaluation'),
        maxNewTokens: z.number().int().positive().default(44).describe('longest response at evaluation'),
        diversitySample: z
          .number()
          .int()
          .min(2)
          .default(200)
          .describe("test responses per model whose self-BLEU and pairwise ROUGE-L are reported (an even spread; their cost grows with its square); distinct-n and the embedding diversity read all"),
      })
      .strict()
      .prefault({})
      .describe('evaluation on the test prompts and the held-out requests'),
  })
  .strict();
export type PipelineConfig = z.output<typeof PipelineConfigSchema>;
