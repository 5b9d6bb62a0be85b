// The report's reward-model part of the robust section: MiCRo's per-type accuracy against one Bradley–Terry head, and weak-to-strong's PGR.
import { section, table } from '../eval/html.js';
import type { RobustResults } from './methods.js';

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
  return out.join('');
}
