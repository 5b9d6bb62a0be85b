// The HTML report of one RL run on the user's own models: per-step curves, λ and J_c against d, the settings.
import { DIVERSITY_CURVES, type RlLogRecord } from '../algorithms/rl/step-log.js';
import { escapeHtml, page, section, table } from './html.js';
import { lagrangeTrace, trainingCurves, type CurvePoint } from './plots.js';

const METRICS = ['reward', 'cost', 'kl', 'responseLength', 'actorLoss', 'clipFraction', ...DIVERSITY_CURVES] as const;

/** A self-contained page: training curves of every logged metric, the λ / J_c trace when the method has a multiplier, the last steps as a table. */
export async function rlRunReport(args: { method: string; log: readonly RlLogRecord[]; threshold?: number; settings: unknown }): Promise<string> {
  const curves: CurvePoint[] = args.log.flatMap((r) =>
    METRICS.flatMap((metric) => (r[metric] === undefined ? [] : [{ method: args.method, step: r.step, metric, value: r[metric] as number }])),
  );
  const metrics = METRICS.filter((m) => curves.some((p) => p.metric === m));
  const lag = args.log.filter((r) => r.lambda !== undefined && r.jc !== undefined).map((r) => ({ step: r.step, lambda: r.lambda as number, jc: r.jc as number }));
  const [curveSvg, lagSvg] = await Promise.all([
    curves.length ? trainingCurves(curves, [...metrics]) : Promise.resolve(''),
    lag.length && args.threshold !== undefined ? lagrangeTrace(lag, args.threshold) : Promise.resolve(''),
  ]);
  const rows = args.log.slice(-10).map((r) => [r.step, r.reward, r.cost, r.kl, r.lambda, r.jc, r.responseLength]);
  return page(`safealign ${args.method}`, `${args.log.length} RL steps`, [
    section('Training curves', curveSvg, 'Batch means per RL step: reward and cost are the score models\' end scores of the rollouts, KL the summed per-token log-ratio to the reference. Diversity of each step\'s rollouts (mode collapse shows as distinct-2 and embedding diversity falling, self-BLEU and ROUGE-L rising): distinct-2 over all, self-BLEU and pairwise ROUGE-L over rl.diversitySample of them, embedding diversity (mean pairwise cosine distance of the reference model\'s mean-pooled hidden states) every rl.embeddingDiversityEvery steps.'),
    ...(lagSvg ? [section('Lagrange multiplier', lagSvg, 'λ and the windowed mean episode cost J_c; the dashed line is the threshold d.')] : []),
    section('Last steps', table(['step', 'reward', 'cost', 'KL', 'λ', 'J_c', 'length'], rows)),
    section('Settings', `<pre>${escapeHtml(JSON.stringify(args.settings, null, 2))}</pre>`),
  ]);
}
