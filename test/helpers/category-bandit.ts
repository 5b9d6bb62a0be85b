// Test helper: the one-token bandit with several prompts, each with its own category, frequency and (reward, cost) tables.
import type { SequenceScorer } from '../../src/algorithms/rl/train.js';
import { lastTokenIndex } from '../../src/models/index.js';
import { tensor, type Tensor } from '../../src/torch/index.js';
import { banditTokenizer, fittedReference, responseDistribution, tablesOver, type BanditSetup, type BanditTables } from './bandit.js';

/** One prompt of the task: its word, category ('' = none), how many of the loop's prompt slots it takes, its tables and π_ref target. */
export interface CategoryPromptSpec {
  prompt: string;
  category: string;
  copies: number;
  tables: BanditTables;
  refTarget: Record<string, number> & { others: number };
}

/**
 * Exact scores that depend on the prompt and the response token: a row's score is `tables[k][last real token]`
 * for the prompt k whose word occurs in the row. inputIds, attentionMask: (B, L) -> endScores (B,).
 */
export class PromptTableScorer implements SequenceScorer {
  private readonly values: Tensor[];

  constructor(
    readonly promptIds: readonly number[],
    tables: readonly (readonly number[])[],
  ) {
    this.values = tables.map((t) => tensor([...t]));
  }

  forward(inputIds: Tensor, attentionMask: Tensor): { endScores: Tensor } {
    const last = inputIds.gather(1, lastTokenIndex(attentionMask).unsqueeze(1)).squeeze(1);
    const perPrompt = this.promptIds.map((id, k) => inputIds.eq(id).sum(1).gt(0).float().mul((this.values[k] as Tensor).indexSelect(0, last)));
    return { endScores: perPrompt.reduce((a, b) => a.add(b)) };
  }

  eval(): this {
    return this;
  }
}

/** Per prompt: its category, share of the loop's draws, exact π_ref and tables (V,). */
export interface CategoryArm {
  prompt: string;
  category: string;
  share: number;
  piRef: number[];
  reward: number[];
  cost: number[];
}

/** The built task: what `runBandit` needs, the arms in spec order, and the action ids (the same words in every prompt). */
export interface CategoryBanditTask extends BanditSetup {
  arms: CategoryArm[];
  ids: Record<string, number>;
}

/** Builds the task: one tokenizer and one reference fitted at every prompt; the loop's prompt list repeats each prompt `copies` times. */
export function buildCategoryBandit(specs: readonly CategoryPromptSpec[], seed = 0): CategoryBanditTask {
  const words = [...new Set(specs.flatMap((s) => Object.keys(s.tables.actions)))];
  const tokenizer = banditTokenizer(specs.map((s) => s.prompt), words);
  const tables = specs.map((s) => tablesOver(tokenizer, s.tables));
  const ids = Object.assign({}, ...tables.map((t) => t.ids)) as Record<string, number>;
  const reference = fittedReference(tokenizer, ids, specs, seed);
  const promptIds = specs.map((s) => tokenizer.encode(s.prompt, { addSpecialTokens: false })[0] as number);
  const total = specs.reduce((a, s) => a + s.copies, 0);
  return {
    tokenizer,
    reference,
    prompts: specs.flatMap((s) => Array.from({ length: s.copies }, () => ({ prompt: s.prompt, risky: s.category !== '', category: s.category }))),
    rewardModel: new PromptTableScorer(promptIds, tables.map((t) => t.reward)),
    costModel: new PromptTableScorer(promptIds, tables.map((t) => t.cost)),
    arms: specs.map((s, k) => {
      const { reward, cost } = tables[k] as { reward: number[]; cost: number[] };
      return { prompt: s.prompt, category: s.category, share: s.copies / total, piRef: responseDistribution(reference, tokenizer, s.prompt), reward, cost };
    }),
    ids,
  };
}
