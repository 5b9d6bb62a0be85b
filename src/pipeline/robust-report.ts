// The report's robust section beyond over-optimisation: MiCRo's per-type accuracy against one Bradley–Terry head, weak-to-strong's PGR, and HC-RLHF's failure rate per δ.
import { intervalCell, pct, section, table, type Cell } from '../eval/html.js';
import type { GuaranteeSummary } from '../eval/hc-guarantee.js';
import type { WorldGuaranteeReport, WorldGuaranteeRow } from './hc-guarantee-world.js';
import type { RobustResults } from './methods.js';

/** "1 of 29: 3.4% [0.6, 17.2]": failures over the seeds with the 95% Wilson interval of their share. */
const failures = (g: GuaranteeSummary): Cell => `${g.failures} of ${g.seeds}: ${intervalCell({ mean: g.failureRate, lo: g.failureRate95[0], hi: g.failureRate95[1] }, true)}`;

/** The per-δ table of HC-RLHF's guarantee: returned models, no-solution outcomes and failures (vs τ and vs gold), beside RLOO-Lagrangian with and without the test. */
export function hcGuaranteeTable(results: readonly WorldGuaranteeRow[]): string {
  const rows = results.map((x): Cell[] => [
    x.delta,
    x.inflation ?? null,
    String(x.seeds.length),
    String(x.hcRlhf.returned),
    String(x.hcRlhf.seeds - x.hcRlhf.returned),
    failures(x.hcRlhf),
    String(x.hcRlhfClearFailures),
    failures(x.hcRlhfGold),
    x.hcRlhf.meanTrueRewardReturned,
    x.helpfulnessPrice ? intervalCell(x.helpfulnessPrice, false) : null,
    `${x.uninflated.returned} / ${x.uninflated.failures}`,
    `${x.uninflatedNoTest.failures} / ${x.uninflatedNoTestGold.failures}`,
  ]);
  return table(
    ['δ', 'k', 'seeds', 'HC-RLHF returned', 'no solution', 'failures vs τ (95% Wilson)', 'of them > 2 s.e. above τ', 'failures vs gold budget (95% Wilson)', 'gold helpfulness of the returned', 'helpfulness price vs no test (95% t)', 'uninflated + test: returned / failures', 'RLOO-Lag, no test: failures vs τ / vs gold'],
    rows,
  );
}

/** HC-RLHF's guarantee on one run's models: the per-δ table and how it was measured. */
export function hcGuaranteeSection(r: WorldGuaranteeReport): string {
  const refs = Object.entries(r.references).map(([k, t]) => `${k}: true cost ${t.trueCost.toFixed(2)}, gold unsafe ${pct(t.unsafeShare)}`).join('; ');
  return section(
    `HC-RLHF's guarantee on this run's models: failure rate per δ`,
    hcGuaranteeTable(r.results),
    `Per seed, a candidate/safety split of the ${r.trainPrompts} train prompts and RLOO-Lagrangian runs from the SFT policy (${r.rl.steps} steps of ${r.rl.promptsPerStep} prompts × ${r.rl.samplesPerPrompt} samples, β ${r.klCoef}): one HC-RLHF candidate per δ against the inflated bound c̄ + k·ŝ <= τ, and one uninflated candidate, put to the same Student-t test at each δ (+ test) and returned without it (no test: the baseline that prices the guarantee). ` +
      `A returned model fails when its true cost (the cost model's mean over up to ${r.evalSamples} fresh responses to every train and ${r.freshPrompts} test prompt) exceeds τ = ${r.tau.toFixed(3)} (PPO-Lagrangian's d), and against gold when its gold unsafe share exceeds ${pct(r.goldBudget)}, the unsafe share at τ on the least-squares line over every measured model (${refs}; the nominal budget d was calibrated to is ${pct(r.goldBudgetNominal)}). ` +
      `The guarantee: failures / seeds <= δ. Failure rates are over all seeds (a no-solution seed returns nothing and cannot fail). Training and measuring: ${r.wallTimeSec.toFixed(0)} s over ${r.runs.length} runs.`,
  );
}

/** HTML sections for whatever of `robust` was run ('' for none). */
export function robustModelSections(robust: RobustResults | undefined): string {
  const out: string[] = [];
  const micro = robust?.micro;
  if (micro) {
    const rows = Object.entries(micro.byGroup).map(([g, a]) => [g, String(a.n), a.micro, a.microUnrouted, a.single, a.micro - a.single, (micro.routedWeights[g] ?? []).map((w) => w.toFixed(2)).join(' / ') || '–']);
    out.push(
      section(
        `MiCRo: ${micro.heads} reward heads vs one Bradley–Terry model, per annotator type`,
        table(['annotator type', 'test labels', 'MiCRo (routed)', 'MiCRo (router only)', 'one BT head', 'MiCRo − BT', 'mean Hedge weight per head'], rows),
        `Both trained the same way on ${micro.trainLabels} per-annotator labels of the train pairs (annotator ids only; the types are hidden from training). Accuracy: share of the test pairs' per-annotator labels whose chosen response gets mixture probability > 0.5; routed = each annotator's weights updated by Hedge on its first training pairs.`,
      ),
    );
  }
  const w = robust?.weakToStrong;
  if (w) {
    const a = w.accuracy;
    out.push(
      section(
        'Weak-to-strong reward models',
        table(
          ['reward model', 'gold accuracy', 'PGR'],
          [
            ['weak supervisor (small model, annotator labels)', a.weak, null],
            ['strong on weak labels', a.strongOnWeak, w.pgr.plain],
            ['strong on weak labels + confidence loss', a.strongOnWeakAux, w.pgr.aux],
            ['strong ceiling (annotator labels)', a.strongCeiling, 1],
          ],
        ),
        `The weak model trains on ${w.pairs.weak} annotator-labelled pairs and labels ${w.pairs.student} others (its labels agree with the annotators' on ${(100 * w.weakLabelAgreement).toFixed(1)}%); the strong model (the policy's size) trains on those labels, and as the ceiling on their annotator labels. PGR = (strong on weak − weak) / (ceiling − weak): NaN when the ceiling is no better than the weak model.`,
      ),
    );
  }
  if (robust?.hcGuarantee) out.push(hcGuaranteeSection(robust.hcGuarantee));
  return out.join('');
}
