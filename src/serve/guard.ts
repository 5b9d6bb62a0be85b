// The guardrail (Safe RLHF-V's filter-and-regenerate): a cost model scores each answer; flagged answers are regenerated, then refused.
import { appendFileSync } from 'node:fs';
import type { Scorer } from '../eval/model-responses.js';
import { scoreTexts } from '../eval/model-responses.js';
import type { PromptInput } from '../models/prompt.js';
import type { GuardConfig } from './config.js';

/** What the guardrail did with one answer (returned to the client as `safealign_guard`). */
export interface GuardVerdict {
  /** pass: the first answer was below the threshold; regenerated: a later round's was; refused: every round was flagged. */
  decision: 'pass' | 'regenerated' | 'refused';
  /** Cost score of every answer generated, in order (the last one is returned unless refused). */
  scores: number[];
  /** Regenerations made (scores.length - 1). */
  regenerations: number;
  threshold: number;
}

interface Pending {
  item: PromptInput & { response: string };
  /** The prompt is raw text (a text completion), not a conversation for the chat template. */
  raw: boolean;
  resolve(score: number): void;
  reject(error: Error): void;
}

/**
 * Scores answers with the cost model, several at once: every answer that asks in the same turn of the
 * event loop shares one batch (answers of concurrent requests finish together under batching).
 */
export class Guard {
  private queue: Pending[] = [];

  constructor(
    private readonly scorer: Scorer,
    readonly config: GuardConfig,
    private readonly raw: boolean = false,
  ) {}

  /** The cost score of `response` to `prompt` (NaN when the prompt leaves the cost model no room: then flagged). */
  score(prompt: PromptInput, response: string, raw = this.raw): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.flush());
      this.queue.push({ item: { ...prompt, response }, raw, resolve, reject });
    });
  }

  /** Flagged: cost above the threshold, or unscorable (NaN). */
  flagged(score: number): boolean {
    return !(score <= this.config.threshold);
  }

  private flush(): void {
    const queued = this.queue;
    this.queue = [];
    for (const raw of [false, true]) {
      const batch = queued.filter((p) => p.raw === raw);
      if (!batch.length) continue;
      try {
        const { scores } = scoreTexts(this.scorer, batch.map((p) => p.item), 32, { raw });
        batch.forEach((p, i) => p.resolve(scores[i] as number));
      } catch (e) {
        for (const p of batch) p.reject(e as Error);
      }
    }
  }

  /**
   * Runs filter-and-regenerate: `generate(round)` makes an answer (round 0 the first, then each
   * regeneration with a new random stream), until one is not flagged or `rounds` regenerations are spent.
   */
  async run<A extends { text: string }>(prompt: PromptInput, generate: (round: number) => Promise<A>, raw = this.raw): Promise<{ answer: A; refused: boolean; verdict: GuardVerdict }> {
    const scores: number[] = [];
    for (let round = 0; ; round++) {
      const answer = await generate(round);
      const score = await this.score(prompt, answer.text, raw);
      scores.push(score);
      const verdict = (decision: GuardVerdict['decision']): GuardVerdict => ({ decision, scores, regenerations: round, threshold: this.config.threshold });
      if (!this.flagged(score)) return { answer, refused: false, verdict: verdict(round === 0 ? 'pass' : 'regenerated') };
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
