// Writes <run>/report.json and a self-contained <run>/report.html for a finished pipeline run.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../core/fs-atomic.js';
import { playArena } from '../eval/arena.js';
import { escapeHtml, page, section, table } from '../eval/html.js';
import { eloPlot, frontierPlot, lagrangeTrace, modelBars, rewardCostScatter, trainingCurves, type CurvePoint } from '../eval/plots.js';
import { wilsonInterval } from '../eval/summary.js';
import { worstCategory, type CategoryHarm } from '../eval/category-harm.js';
import { goldHeadToHead } from '../eval/world-metrics.js';
import { topicOfPrompt } from '../world/lexicon.js';
import { goldHarm, goldHelpfulness } from '../world/oracle.js';
import { DIVERSITY_CURVES, type RlLogRecord } from '../algorithms/rl/step-log.js';
import type { PipelineConfig } from './config.js';
import type { HcSafetyTest } from './methods.js';
import type { PipelineResult } from './run.js';
import { overoptSection } from './overoptimisation-report.js';
import { robustModelSections } from './robust-report.js';

/** HC-RLHF's verdict in words. */
const outcomeOf = (t: HcSafetyTest): string => (t.passed ? 'passed' : 'no solution found');

/** The safety test of each HC-RLHF model: its verdict and the bound it compared with τ. */
function safetyTestTable(tests: Record<string, HcSafetyTest>): string {
  return table(
    ['model', 'outcome', 'safety prompts n_s', 'mean cost c̄', 'std ŝ', 'bound c̄ + t·ŝ/√n_s', 'τ', 'δ', 'candidate inflation k', 'candidate prompts'],
    Object.entries(tests).map(([k, t]) => [k, outcomeOf(t), String(t.n), t.mean, t.std, t.upperBound, t.tau, t.delta, t.inflation, String(t.candidatePrompts)]),
  );
}

/** The per-step metrics of RL training the report plots (training curves), in panel order. */
export const RL_CURVES = ['reward', 'cost', 'kl', 'goldHarmfulRate', 'goldHelpfulness', 'responseLength', ...DIVERSITY_CURVES];

/** Every RL method's per-step log as curve points of RL_CURVES. */
export function rlCurvePoints(training: Record<string, readonly RlLogRecord[]>): CurvePoint[] {
  return Object.entries(training).flatMap(([method, log]) =>
    log.flatMap((r) => RL_CURVES.map((metric) => ({ method, step: r.step, metric, value: (r as unknown as Record<string, number>)[metric] as number }))),
  );
}

/** λ and J_c per step of a Lagrangian run's log (the steps that logged both), for `lagrangeTrace`. */
export function lagrangeSeries(log: readonly RlLogRecord[] | undefined): { step: number; lambda: number; jc: number }[] {
  return (log ?? []).filter((r) => r.lambda !== undefined && r.jc !== undefined).map((r) => ({ step: r.step, lambda: r.lambda as number, jc: r.jc as number }));
}

export async function writePipelineReport(runDir: string, result: PipelineResult, config: PipelineConfig, prompts: string[]): Promise<void> {
  const names = Object.keys(result.models);
  // --- report.json -----------------------------------------------------------------------------
  const models = Object.fromEntries(
    names.map((k) => {
      const m = result.models[k];
      if (!m) throw new Error(`missing model ${k}`);
      const cost = result.trainingCost[k];
      const safetyTest = result.safetyTests?.[k];
      return [k, { ...(safetyTest ? { outcome: outcomeOf(safetyTest), safetyTest } : {}), harmfulRate: m.harmfulRate, nRisky: m.nRisky, helpfulness: m.helpfulness, meanReward: m.meanReward, meanCost: m.meanCost, kl: m.kl, ...(m.klToStart !== undefined ? { klToStart: m.klToStart } : {}), ...(m.heldOut ? { heldOut: m.heldOut } : {}), ...(m.harmfulByCategory ? { harmfulByCategory: m.harmfulByCategory } : {}), distinct2: m.distinct2, ...(m.selfBleu !== undefined ? { selfBleu: m.selfBleu } : {}), ...(m.rougeL !== undefined ? { rougeL: m.rougeL } : {}), ...(m.embeddingDiversity !== undefined ? { embeddingDiversity: m.embeddingDiversity } : {}), responseLength: m.responseLength, n: m.n, ...(cost ? { trainingCost: cost } : {}) }];
    }),
  );
  // --- Elo over all models, judged by the gold oracle on the same test prompts ----------------------
  const responses = Object.fromEntries(names.map((k) => [k, result.models[k]?.responses ?? []]));
  const n = names.length ? Math.min(...names.map((k) => responses[k]?.length ?? 0)) : 0;
  const { elo } = playArena(names, n, (a, b, p) => goldHeadToHead(prompts[p] ?? '', responses[a]?.[p] ?? '', responses[b]?.[p] ?? ''), { rounds: 100, seed: config.seed });
  const reportJson = {
    run: config.name,
    createdAt: new Date().toISOString(),
    models,
    scoreModels: result.scoreModels,
    elo,
    costThreshold: result.threshold,
    rewardEnsemble: result.ensemble,
    ...(result.robust ? { robust: result.robust } : {}),
    rounds: result.rounds,
    preferenceData: result.preferenceData,
    ...(result.overoptimisation ? { overoptimisation: result.overoptimisation } : {}),
    stageWallTimeSec: result.timings,
    totalWallTimeSec: Object.values(result.timings).reduce((a, b) => a + b, 0),
  };
  writeJsonAtomic(join(runDir, 'report.json'), reportJson);

  // --- plots ---------------------------------------------------------------------------------------
  const curves = rlCurvePoints(result.training);
  const preferenceMetrics = ['chosenReward', 'rejectedReward', 'margin', 'accuracy'];
  const preferenceCurves: CurvePoint[] = Object.entries(result.preferenceLogs).flatMap(([method, log]) =>
    log.flatMap((r) => preferenceMetrics.map((metric) => ({ method, step: r.step, metric, value: r[metric as keyof typeof r] }))),
  );
  // the other offline trainers (A-LoL): every numeric field but the step and the learning rate, per optimiser step
  const stepCurves: CurvePoint[] = Object.entries(result.stepLogs ?? {}).flatMap(([method, log]) =>
    log.flatMap((r) =>
      Object.entries(r)
        .filter(([metric, value]) => metric !== 'step' && metric !== 'lr' && typeof value === 'number')
        .map(([metric, value]) => ({ method, step: r.step, metric, value: value as number })),
    ),
  );
  const stepMetrics = [...new Set(stepCurves.map((p) => p.metric))];
  const lag = lagrangeSeries(result.training.ppo_lag);
  const scatterModels = ['sft', 'ppo', 'ppo_lag'].filter((k) => result.models[k]);
  const scatter = scatterModels.flatMap((k) => (result.models[k]?.scatter ?? []).map((p) => ({ ...p, model: k })));
  const bars = names.map((k) => {
    const m = result.models[k] as NonNullable<(typeof result.models)[string]>;
    const ci = wilsonInterval(Math.round(m.harmfulRate * m.nRisky), m.nRisky);
    return { model: k, harmfulRate: m.harmfulRate, harmfulLow: ci.low, harmfulHigh: ci.high, helpfulness: m.helpfulness };
  });
  const frontier = names.map((k) => {
    const m = result.models[k] as NonNullable<(typeof result.models)[string]>;
    const nu = k.startsWith('shaping_') ? Number(k.slice('shaping_'.length)) : undefined;
    return { model: k, harmfulRate: m.harmfulRate, helpfulness: m.helpfulness, family: nu !== undefined ? 'shaping' : k, ...(nu !== undefined ? { nu } : {}) };
  });
  const [testScatterSvg, curvesSvg, preferenceSvg, stepSvg, lagSvg, scatterSvg, barsSvg, frontierSvg, eloSvg] = await Promise.all([
    result.testScatter.length ? rewardCostScatter(result.testScatter.map((p) => ({ ...p, model: 'preference test set' }))) : Promise.resolve(''),
    curves.length ? trainingCurves(curves, RL_CURVES) : Promise.resolve(''),
    preferenceCurves.length
      ? trainingCurves(preferenceCurves, preferenceMetrics, { title: 'Preference training: implicit rewards β·h of chosen and rejected responses, their margin, accuracy', step: 'optimiser step' })
      : Promise.resolve(''),
    stepCurves.length ? trainingCurves(stepCurves, stepMetrics, { title: 'Offline training (A-LoL): loss, NLL, log π/π_ref and advantage of each batch', step: 'optimiser step' }) : Promise.resolve(''),
    lag.length ? lagrangeTrace(lag, result.threshold) : Promise.resolve(''),
    scatter.length ? rewardCostScatter(scatter) : Promise.resolve(''),
    modelBars(bars),
    frontierPlot(frontier),
    eloPlot(elo),
  ]);

  // --- html ----------------------------------------------------------------------------------------
  const sft = result.models.sft;
  const lagM = result.models.ppo_lag;
  const heldOut = names.some((k) => result.models[k]?.heldOut);
  const modelLabel = (k: string) => {
    const test = result.safetyTests?.[k];
    return test ? `${k} (${outcomeOf(test)}${test.passed ? '' : ': candidate shown'})` : k;
  };
  const modelOf = (k: string) => result.models[k] as NonNullable<(typeof result.models)[string]>;
  // two tables, so that neither scrolls sideways: what each model does, then how diverse it is and what it cost
  const summary = table(
    ['model', 'harmful rate', 'helpfulness', ...(heldOut ? ['held-out harmful rate', 'held-out helpfulness'] : []), 'mean reward', 'mean cost', 'KL to SFT', 'length'],
    names.map((k) => {
      const m = modelOf(k);
      return [modelLabel(k), m.harmfulRate, m.helpfulness, ...(heldOut ? [m.heldOut?.harmfulRate ?? null, m.heldOut?.helpfulness ?? null] : []), m.meanReward, m.meanCost, m.kl, m.responseLength];
    }),
  );
  const diversityAndCost = table(
    ['model', 'distinct-2', 'self-BLEU', 'ROUGE-L', 'embedding diversity', 'training (s)', '+ reward/cost models (s)', 'policy samples'],
    names.map((k) => {
      const m = modelOf(k);
      const c = result.trainingCost[k];
      return [modelLabel(k), m.distinct2, m.selfBleu ?? null, m.rougeL ?? null, m.embeddingDiversity ?? null, c ? c.wallTimeSec.toFixed(0) : null, c ? c.scoreModelsSec.toFixed(0) : null, c ? String(c.policySamples) : null];
    }),
  );
  const score = table(
    ['model', 'accuracy (annotator labels)', 'accuracy (gold labels)', 'sign accuracy (gold)', 'safe mean', 'unsafe mean'],
    (['reward', 'cost'] as const).map((k) => {
      const s = result.scoreModels[k];
      return [k, s.test.accuracy, s.gold.accuracy, s.gold.signAccuracy ?? null, s.gold.safeMean, s.gold.unsafeMean];
    }),
  );
  const roundKeys = ['ppo_lag', ...result.rounds.map((r) => `round_${r.round}`)].filter((k) => result.models[k]);
  const roundsTable =
    result.rounds.length > 0
      ? table(
          ['policy', 'harmful rate', 'helpfulness', 'mean reward', 'mean cost', 'cost threshold d', 'start policy cost (no-regress)', 'pairs labelled', 'harmful rate of its sampled pairs'],
          roundKeys.map((k, i) => {
            const m = result.models[k] as NonNullable<(typeof result.models)[string]>;
            const r = i > 0 ? result.rounds[i - 1] : undefined;
            return [k === 'ppo_lag' ? 'round 0 (ppo_lag)' : k, m.harmfulRate, m.helpfulness, m.meanReward, m.meanCost, r?.threshold ?? result.threshold, r?.startCost ?? null, r ? String(r.pairs) : null, r?.pairHarmfulRate ?? null];
          }),
        )
      : '';
  const judged = result.rounds.filter((r) => r.rlaif);
  const pct = (x: number | undefined) => (x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);
  const rlaifTable = judged.length
    ? table(
        ['round', 'judge', 'pairs labelled', 'ties', 'malformed', 'judge = annotators (better / safer / is_safe)', 'judge = gold', 'annotators = gold (same pairs)'],
        judged.map((r) => {
          const j = r.rlaif as NonNullable<typeof r.rlaif>;
          const agree = (a: typeof j.judgeWithGold) => (a ? `${pct(a.better)} / ${pct(a.safer)} / ${pct(a.isSafe)}` : '–');
          return [`round_${r.round}`, j.summary.judgeModel, `${j.summary.labelled}/${j.summary.pairs}`, String(j.summary.ties.unlabelled), String(j.summary.malformedPairs), agree(j.judgeWithAnnotators), agree(j.judgeWithGold), agree(j.annotatorsWithGold)];
        }),
      )
    : '';
  const ensembleTable = result.ensemble
    ? table(
        ['reward model', 'gold pairwise accuracy'],
        [
          ...result.ensemble.members.map((a, i): [string, number] => [`member ${i}`, a]),
          ['ensemble mean', result.ensemble.mean],
          ['ensemble min', result.ensemble.min],
          ['mean − 1·std (UP-RLHF)', result.ensemble.uncertainty],
          ['WARM (weight average)', result.ensemble.warm],
        ],
      )
    : '';
  const categoryTable = harmByCategoryTable(names.map((k) => [k, result.models[k]?.harmfulByCategory]));
  const timings = table(['stage', 'wall time (s)'], Object.entries(result.timings).map(([k, v]) => [k, v]), 1);
  const risky = sft && lagM ? riskyExamples(prompts, sft.responses, lagM.responses, 12) : '';
  const examples = lagM
    ? `<table class="ex"><thead><tr><th>prompt</th><th>PPO-Lag response</th><th>gold</th></tr></thead><tbody>${lagM.examples
        .filter((e) => !e.risky)
        .slice(0, 12)
        .map((e) => `<tr><td>${escapeHtml(e.prompt)}</td><td>${escapeHtml(e.response)}</td><td class="${e.safe ? 'good' : 'bad'}">${e.safe ? 'safe' : 'unsafe'}</td></tr>`)
        .join('')}</tbody></table>`
    : '';
  const headline =
    sft && lagM
      ? `SFT harmful rate ${(100 * sft.harmfulRate).toFixed(1)}% → PPO-Lag ${(100 * lagM.harmfulRate).toFixed(1)}%; helpfulness ${sft.helpfulness.toFixed(2)} → ${lagM.helpfulness.toFixed(2)}`
      : 'Safe RLHF pipeline';
  const html = page(`safealign report — ${config.name}`, headline, [
    section(
      'Models on the test prompts',
      summary,
      'Harmful rate: share of responses to risky prompts the gold oracle finds unsafe. Helpfulness: mean gold helpfulness over all test prompts. Held-out: the same on requests that no training data contains (new requests of the same topics). Reward and cost: the learned models. KL: mean Σ log π/π_SFT per response. Length: mean response tokens.',
    ),
    section(
      'Diversity and training cost',
      diversityAndCost,
      'Diversity of each model\'s test responses (to all prompts, not only within a prompt: collapse is one answer whatever is asked): distinct-2 (higher = more diverse); self-BLEU-4 and mean pairwise ROUGE-L F1 over an even sample of eval.diversitySample responses (similarities: higher = less diverse); embedding diversity, the mean pairwise cosine distance of the responses\' mean-pooled last hidden states under the SFT policy (higher = more diverse). ' +
        'Training: wall time of the method\'s own stage without its evaluation; + reward/cost models: the score-model training it depends on (RL methods); policy samples: responses it sampled during training (the SFT, annotation and score-model stages every method shares are not counted).',
    ),
    section('Harmful rate and helpfulness', barsSvg),
    section('Trade-off frontier', frontierSvg, 'Each reward-shaping run fixes ν in R − ν·C; PPO-Lagrangian learns its trade-off from the constraint J_c ≤ d.'),
    lagSvg ? section('Lagrange multiplier', lagSvg) : '',
    curvesSvg ? section('Training curves', curvesSvg, 'Per RL step, over the step\'s rollouts. Mode collapse shows as distinct-2 and embedding diversity falling while self-BLEU and ROUGE-L rise (rl.diversitySample, rl.embeddingDiversityEvery).') : '',
    preferenceSvg
      ? section('Preference training (DPO family)', preferenceSvg, 'β·(log π − log π_ref) of the chosen and the rejected response, averaged over each batch: both often fall while their margin grows (the chosen response loses probability too, only less).')
      : '',
    stepSvg
      ? section(
          'Offline training (A-LoL)',
          stepSvg,
          'Per optimiser step, means over the batch (drawn ∝ advantage among the responses with A = R − V > 0): the loss, the NLL of the responses, log π_θ − log π_ref of them and their advantage. The NLL falls as the policy takes up the advantaged responses; the log-ratio is how far it has moved from the reference on them.',
        )
      : '',
    scatterSvg ? section('Reward vs cost, before and after', scatterSvg, 'Safe responses should sit below cost 0, unsafe above; RL should move mass to high reward, low cost.') : '',
    roundsTable ? section('Iterative rounds', roundsTable, 'Each round samples response pairs from the previous policy (half on held-out red-team prompts), labels them with the same simulated annotators (or, with rounds.rlaif.judge, a judge model), retrains the reward and cost models and runs PPO-Lagrangian from the previous policy.') : '',
    rlaifTable ? section('RLAIF: the judge that labelled the rounds', rlaifTable, "With rounds.rlaif.judge, a judge model labels each round's pairs instead of the simulated annotators (both orders of each question; a disagreement is a tie and the pair is left out). Agreement is over the pairs the judge labelled; gold ties are left out of better / safer.") : '',
    categoryTable
      ? section(
          'Harmful rate by harm category',
          categoryTable,
          "Gold harmful rate of each model's responses to the risky test prompts of each harm category (the prompt's category in the world), n responses per category; worst: the highest category. ppo_lag_cat (--methods) constrains each category with its own λ; ppo_lag uses one λ for all.",
        )
      : '',
    section('Elo', eloSvg),
    section(
      'Reward and cost models',
      score,
      `Trained on ${result.preferenceData.worldPairs} preference pairs from the world's response kinds` +
        (result.preferenceData.sftPairs > 0
          ? ` and ${result.preferenceData.sftPairs} pairs sampled from the SFT policy (${(100 * (result.preferenceData.sftPairHarmfulRate ?? 0)).toFixed(1)}% of its answers to risky prompts harmful), all labelled by the simulated annotators.`
          : ', labelled by the simulated annotators.'),
    ),
    testScatterSvg ? section('Reward vs cost of test-set responses', testScatterSvg, 'Every response of the gold-labelled preference test set, scored by the trained reward and cost models; colour is gold safety. The cost model should separate the colours at 0.') : '',
    ensembleTable ? section('Reward-model ensemble and WARM', ensembleTable, 'Members share the SFT initialisation and differ in seed and data order.') : '',
    result.overoptimisation ? await overoptSection(result.overoptimisation) : '',
    robustModelSections(result.robust),
    result.safetyTests && Object.keys(result.safetyTests).length > 0
      ? section(
          'HC-RLHF safety test',
          safetyTestTable(result.safetyTests),
          'One response per held-out safety prompt, scored by the cost model. Passed when the one-sided Student-t bound is <= τ (PPO-Lagrangian\'s d); otherwise no solution is returned, and the candidate\'s row above is shown for diagnosis only.',
        )
      : '',
    risky
      ? section(
          'Risky prompts: SFT vs PPO-Lagrangian',
          risky,
          'The same risky test prompts (spread evenly over them, the first sample of each), answered by the SFT policy and the PPO-Lagrangian policy, each with its gold label: safe/unsafe and gold helpfulness.',
        )
      : '',
    examples ? section('Benign prompts (PPO-Lagrangian)', examples) : '',
    section('Stage wall times', timings),
    section('Resolved config', `<pre>${escapeHtml(JSON.stringify(config, null, 2))}</pre>`),
  ]);
  writeFileSync(join(runDir, 'report.html'), html);
}

/** Categories as rows, models as columns (harmful rate in %), a last row with each model's worst category; '' when no model has categories. */
function harmByCategoryTable(models: readonly [string, Record<string, CategoryHarm> | undefined][]): string {
  const shown = models.filter((m): m is [string, Record<string, CategoryHarm>] => m[1] !== undefined && Object.keys(m[1]).length > 0);
  const first = shown[0]?.[1];
  if (!first) return '';
  const pct = (v: number | undefined) => (v === undefined ? '–' : `${(100 * v).toFixed(1)}%`);
  const rows = Object.keys(first).map((c) => [`${c} (n ${first[c]?.n})`, ...shown.map(([, m]) => pct(m[c]?.harmfulRate))]);
  const worst = ['worst category', ...shown.map(([, m]) => pct(worstCategory(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.harmfulRate])))))];
  return table(['harm category', ...shown.map(([k]) => k)], [...rows, worst]);
}

/** A response cell with its gold verdict: safe/unsafe and gold helpfulness. */
function goldCell(prompt: string, response: string): string {
  const safe = goldHarm(prompt, response).isSafe;
  return `<td>${escapeHtml(response)}</td><td class="${safe ? 'good' : 'bad'}">${safe ? 'safe' : 'unsafe'}</td><td class="num">${goldHelpfulness(prompt, response).toFixed(2)}</td>`;
}

/**
 * Up to `count` risky evaluation prompts, spread evenly over them (first sample of each distinct
 * prompt), with the SFT and PPO-Lag responses side by side. `prompts[i]` is the prompt of response i.
 */
export function riskyExamples(prompts: readonly string[], sft: readonly string[], lag: readonly string[], count: number): string {
  const seen = new Set<string>();
  const risky: number[] = [];
  prompts.forEach((p, i) => {
    if (seen.has(p) || topicOfPrompt(p)?.kind !== 'risky') return;
    seen.add(p);
    risky.push(i);
  });
  if (risky.length === 0) return '';
  const n = Math.min(count, risky.length);
  const picked = Array.from({ length: n }, (_, j) => risky[Math.floor((j * risky.length) / n)] as number);
  const rows = picked.map((i) => {
    const prompt = prompts[i] as string;
    return `<tr><td>${escapeHtml(prompt)}</td>${goldCell(prompt, sft[i] ?? '')}${goldCell(prompt, lag[i] ?? '')}</tr>`;
  });
  return `<table class="ex"><thead><tr><th>risky prompt</th><th>SFT response</th><th>gold</th><th>gold help</th><th>PPO-Lag response</th><th>gold</th><th>gold help</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}
