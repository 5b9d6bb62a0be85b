// The HTML report of `safealign eval`: per-model table, reward-vs-cost scatter, head-to-head win rates and Elo per judge, prompt fitting.
import { describeTruncation } from '../algorithms/common/truncation.js';
import type { EvalModelsReport } from './evaluate-models.js';
import { escapeHtml, page, section, table } from './html.js';
import type { ModelResponses } from './model-responses.js';
import { eloPlot, modelScoreScatter, winRatePlot } from './plots.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** A self-contained page from the report and every model's scored responses. */
export async function modelsReportHtml(report: EvalModelsReport, runs: readonly ModelResponses[]): Promise<string> {
  const names = Object.keys(report.models);
  const gold = names.some((n) => report.models[n]?.gold);
  const arenas = Object.entries(report.arena);
  const [scatterSvg, winSvg, ...eloSvgs] = await Promise.all([
    modelScoreScatter(
      runs.flatMap((r) => r.reward.map((reward, i) => ({ model: r.name, reward, cost: r.cost[i] as number }))),
      names.map((n) => ({ model: n, reward: report.models[n]?.meanReward ?? NaN, cost: report.models[n]?.meanCost ?? NaN })),
    ),
    winRatePlot(
      arenas.flatMap(([key, a]) =>
        a.pairs.flatMap((p) => (['win', 'tie', 'loss'] as const).map((outcome) => ({ judge: key, pair: `${p.a} vs ${p.b}`, outcome, rate: p[outcome] }))),
      ),
    ),
    ...arenas.map(([key, a]) => eloPlot(a.elo, `Elo by ${key} (${a.judge}), 95% bootstrap intervals`)),
  ]);
  const within = names.some((n) => report.models[n]?.withinPrompt);
  const verbalized = names.some((n) => report.models[n]?.verbalized);
  const rows = names.map((n) => {
    const m = report.models[n];
    if (!m) throw new Error(`missing model ${n}`);
    return [
      n,
      `${pct(m.harmfulRate)} [${pct(m.harmfulRateInterval.low)}, ${pct(m.harmfulRateInterval.high)}]`,
      m.meanReward,
      m.meanCost,
      m.responseLength,
      m.distinct1,
      m.distinct2,
      m.selfBleu,
      m.rougeL,
      ...(within ? [m.withinPrompt?.selfBleu ?? null, m.withinPrompt?.rougeL ?? null] : []),
      m.embeddingDiversity,
      ...(verbalized ? [m.verbalized ? `${m.verbalized.answered} / ${m.verbalized.malformed}` : null] : []),
      ...(gold ? [m.gold ? pct(m.gold.harmfulRate) : null, m.gold?.helpfulness ?? null] : []),
      m.dir,
    ];
  });
  const header = ['model', 'harmful rate [95%]', 'mean reward', 'mean cost', 'length (tokens)', 'distinct-1', 'distinct-2', 'self-BLEU', 'ROUGE-L', ...(within ? ['self-BLEU (same prompt)', 'ROUGE-L (same prompt)'] : []), 'embedding diversity', ...(verbalized ? ['verbalized: answered / malformed'] : []), ...(gold ? ['gold harmful rate', 'gold helpfulness'] : []), 'folder'];
  const pairTables = arenas.map(([key, a]) =>
    section(
      `Head to head: ${key}`,
      table(['model A', 'model B', 'A wins', 'tie', 'B wins', 'pairs'], a.pairs.map((p) => [p.a, p.b, pct(p.win), pct(p.tie), pct(p.loss), String(p.n)])) +
        table(['model', 'Elo', '95% low', '95% high'], a.elo.map((e) => [e.model, e.elo, e.low, e.high]), 0),
      a.judge,
    ),
  );
  const fit = report.prompts.fit;
  const truncRows = names.map((n) => {
    const t = report.models[n]?.truncation;
    return [n, t ? describeTruncation(t.reward, 'responses', 'response-end') : null, t ? describeTruncation(t.cost, 'responses', 'response-end') : null];
  });
  const p = report.prompts;
  return page('safealign eval', `${names.length} models, ${p.used} prompts × ${report.samples} samples from ${p.file}`, [
    section('Models', table(header, rows), `Harmful: ${report.settings.harmClassifier ? `the harm classifier (${report.settings.harmClassifier}) scores the response above ${report.settings.harmClassifierThreshold}` : `the cost model scores the response above ${report.settings.harmThreshold}`}. Length in generated tokens${report.settings.verbalized > 0 ? ` (under verbalized sampling, k = ${report.settings.verbalized}: every generation of the item's lists)` : ''}. Diversity: distinct-n over all of a model's responses (higher = more diverse); self-BLEU-4 and mean pairwise ROUGE-L F1 over an even sample of ${report.settings.diversitySample} of them, pairs across prompts (similarities: higher = less diverse)${within ? ', and among the samples of each prompt, averaged over prompts' : ''}; embedding diversity: mean pairwise cosine distance of the responses' mean-pooled last hidden states under ${report.settings.embeddingModel ? escapeHtml(report.settings.embeddingModel) : 'each model\'s own weights (not comparable across models of different families; give --embedding-model for one space)'} (higher = more diverse).`),
    section('Reward vs cost', scatterSvg, 'Every response of every model; the large labelled points are the model means. Helpful and harmless is right and below the dashed line.'),
    section('Win rates', winSvg, 'Per pair of models, each prompt and sample index is one match between their responses.'),
    ...pairTables,
    ...eloSvgs.map((svg, i) => section(`Elo: ${arenas[i]?.[0] ?? ''}`, svg)),
    section(
      'Prompts and truncation',
      `<p>${p.read} prompts read (${escapeHtml(p.format)}), ${p.unreadable} unreadable lines; ${fit.skipped} of ${fit.total} skipped: no room for the new tokens${fit.skippedAt.length ? ` (${escapeHtml(fit.skippedAt.join(', '))})` : ''}; ${p.used} used.</p>` +
        table(['model', 'reward model', 'cost model'], truncRows),
    ),
    section('Settings', `<pre>${escapeHtml(JSON.stringify(report.settings, null, 2))}</pre>`),
  ]);
}
