// The guardrail (Safe RLHF-V's filter-and-regenerate): a cost model and/or a severity classifier judge each answer; flagged answers are regenerated, then refused.
import { appendFileSync } from 'node:fs';
import { scoreHeadOf, type ScoringModel } from '../algorithms/common/model-input.js';
import { SEVERITY_NAMES } from '../data/record.js';
import type { Scorer } from '../eval/model-responses.js';
import { scoreTexts } from '../eval/model-responses.js';
import { predictedLevels } from '../losses/ordinal.js';
import type { ImageProcessorConfig } from '../models/image-processor.js';
import type { PromptInput } from '../models/prompt.js';
import type { ScoreModel } from '../models/score-model.js';
import { noGrad, tensor, type Tensor } from '../torch/index.js';
import type { GuardConfig } from './config.js';
import type { RequestImage } from './images.js';

/** What the severity classifier says of one answer. */
export interface SeverityAssessment {
  /** Predicted level (the median of `probs`): 0 safe … K−1; -1 when the answer could not be scored. */
  level: number;
  /** Its name (safe, minor, moderate, severe), or `level k` beyond four levels; `unscorable` for -1. */
  label: string;
  /** Probability of each level, rounded to 4 decimals (empty when unscorable). */
  probs: number[];
}

/** One answer judged by the guard's models. */
export interface Assessment {
  /** The cost model's score (NaN when the prompt leaves it no room). */
  cost?: number;
  severity?: SeverityAssessment;
}

/** What the guardrail did with one answer (returned to the client as `safealign_guard`). */
export interface GuardVerdict {
  /** pass: the first answer was not flagged; regenerated: a later round's was not; refused: every round was flagged. */
  decision: 'pass' | 'regenerated' | 'refused';
  /** With --guard-cost: the cost score of every answer generated, in order (the last one is returned unless refused). */
  scores?: number[];
  /** With --guard-severity: the severity of every answer generated, in order. */
  severity?: SeverityAssessment[];
  /** Regenerations made (answers judged − 1). */
  regenerations: number;
  /** With --guard-cost: the cost threshold. */
  threshold?: number;
  /** With --guard-severity: the highest severity let through. */
  maxSeverity?: string;
}

/** A judge of the guard: a scorer, with its folder's image processor when it is an image + text (LLaVA) model. */
export type GuardJudge = Scorer & { imageProcessor?: ImageProcessorConfig };

/**
 * The models a guard judges with: a cost model, a severity classifier (a score model with an ordinal head), or both; text
 * models, or image + text (LLaVA) models that read each answer with the picture it answers.
 */
export interface GuardJudges {
  cost?: GuardJudge;
  severity?: GuardJudge & { model: ScoringModel };
}

/** A prompt's picture as each image + text judge reads it (its own processor's pixel values, 1 x C x H x W). */
export type JudgePixels = Partial<Record<keyof GuardJudges, Tensor>>;

interface Pending {
  item: PromptInput & { response: string };
  pixels: JudgePixels | undefined;
  /** The prompt is raw text (a text completion), not a conversation for the chat template. */
  raw: boolean;
  resolve(a: Assessment): void;
  reject(error: Error): void;
}

/** Severity assessments of a batch of end scores (NaN: unscorable). */
function assessSeverity(model: ScoreModel, scores: readonly number[]): SeverityAssessment[] {
  const scored = scores.flatMap((s, i) => (Number.isNaN(s) ? [] : [i]));
  const out: SeverityAssessment[] = scores.map(() => ({ level: -1, label: 'unscorable', probs: [] }));
  if (!scored.length) return out;
  noGrad(() => {
    const t = tensor(scored.map((i) => scores[i] as number), { device: model.device });
    const probs = model.levelProbs(t).toArray() as number[][];
    const levels = predictedLevels(t, model.cutpoints()).toNumbers();
    scored.forEach((i, k) => {
      const level = levels[k] as number;
      out[i] = { level, label: model.ordinalLevels === SEVERITY_NAMES.length ? (SEVERITY_NAMES[level] as string) : `level ${level}`, probs: (probs[k] as number[]).map((p) => Math.round(p * 1e4) / 1e4) };
    });
  });
  return out;
}

/**
 * Judges answers with the guard's models, several at once: every answer that asks in the same turn of
 * the event loop shares one batch (answers of concurrent requests finish together under batching).
 */
export class Guard {
  private queue: Pending[] = [];
  /** Highest severity level let through (--guard-max-severity). */
  readonly maxLevel: number;

  constructor(
    private readonly judges: GuardJudges,
    readonly config: GuardConfig,
    private readonly raw: boolean = false,
  ) {
    if (!judges.cost && !judges.severity) throw new RangeError('a guard needs a cost model or a severity classifier');
    this.maxLevel = SEVERITY_NAMES.indexOf(config.maxSeverity);
  }

  /** A request's picture as each image + text judge reads it (each judge's own preprocessing; equal configs share the work). */
  async judgePixels(image: RequestImage): Promise<JudgePixels> {
    const out: JudgePixels = {};
    for (const [name, judge] of Object.entries(this.judges) as [keyof GuardJudges, GuardJudge][]) {
      if (judge.imageProcessor) out[name] = await image.pixels(judge.imageProcessor);
    }
    return out;
  }

  /**
   * What the guard's models say of `response` to `prompt` (its own `pixels` are ignored); `pixels` give the picture the
   * prompt shows, as each image + text judge reads it.
   */
  score(prompt: PromptInput, response: string, raw = this.raw, pixels?: JudgePixels): Promise<Assessment> {
    const { pixels: _ignored, ...text } = prompt;
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.flush());
      this.queue.push({ item: { ...text, response }, pixels, raw, resolve, reject });
    });
  }

  /** Flagged: cost above the threshold, or severity above the allowed level; unscorable (NaN, -1) counts as flagged. */
  flagged(a: Assessment): boolean {
    if (a.cost !== undefined && !(a.cost <= this.config.threshold)) return true;
    return a.severity !== undefined && !(a.severity.level >= 0 && a.severity.level <= this.maxLevel);
  }

  private flush(): void {
    const queued = this.queue;
    this.queue = [];
    for (const raw of [false, true]) {
      const batch = queued.filter((p) => p.raw === raw);
      if (!batch.length) continue;
      try {
        // each judge reads an item with the picture as its own processor made it
        const items = (judge: keyof GuardJudges) => batch.map((p) => (p.pixels?.[judge] ? { ...p.item, pixels: p.pixels[judge] } : p.item));
        const cost = this.judges.cost ? scoreTexts(this.judges.cost, items('cost'), 32, { raw }).scores : undefined;
        const sev = this.judges.severity;
        const severity = sev ? assessSeverity(scoreHeadOf(sev.model), scoreTexts(sev, items('severity'), 32, { raw }).scores) : undefined;
        batch.forEach((p, i) => p.resolve({ ...(cost ? { cost: cost[i] as number } : {}), ...(severity ? { severity: severity[i] as SeverityAssessment } : {}) }));
      } catch (e) {
        for (const p of batch) p.reject(e as Error);
      }
    }
  }

  /**
   * Runs filter-and-regenerate: `generate(round)` makes an answer (round 0 the first, then each
   * regeneration with a new random stream), until one is not flagged or `rounds` regenerations are spent. `pixels`: the
   * prompt's picture for image + text judges (each answer is judged with it).
   */
  async run<A extends { text: string }>(prompt: PromptInput, generate: (round: number) => Promise<A>, raw = this.raw, pixels?: JudgePixels): Promise<{ answer: A; refused: boolean; verdict: GuardVerdict }> {
    const judged: Assessment[] = [];
    for (let round = 0; ; round++) {
      const answer = await generate(round);
      const assessment = await this.score(prompt, answer.text, raw, pixels);
      judged.push(assessment);
      const verdict = (decision: GuardVerdict['decision']): GuardVerdict => ({
        decision,
        ...(this.judges.cost ? { scores: judged.map((a) => a.cost as number) } : {}),
        ...(this.judges.severity ? { severity: judged.map((a) => a.severity as SeverityAssessment) } : {}),
        regenerations: round,
        ...(this.judges.cost ? { threshold: this.config.threshold } : {}),
        ...(this.judges.severity ? { maxSeverity: this.config.maxSeverity } : {}),
      });
      if (!this.flagged(assessment)) return { answer, refused: false, verdict: verdict(round === 0 ? 'pass' : 'regenerated') };
      if (round >= this.config.rounds) return { answer, refused: true, verdict: verdict('refused') };
    }
  }

  /** Writes one guarded request's decisions as a JSON line (the configured file, else standard error). */
  log(record: Record<string, unknown>): void {
    const line = `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`;
    if (this.config.log) appendFileSync(this.config.log, line);
    else process.stderr.write(line);
  }
}
