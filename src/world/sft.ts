// The SFT corpus: prompts with answers drawn from a mix of kinds, each labelled by the gold oracle.
import type { HarmCategory, Severity } from '../data/record.js';
import type { SftMix } from './config.js';
import { goldHarm, goldHelpfulness } from './oracle.js';
import { imageTopicOf, type WorldPrompt } from './prompts.js';
import { generateResponse, type ResponseKind } from './responses.js';
import type { Rng } from './rng.js';

/** Gold labels stored beside a response so readers can audit the data. */
export interface GoldLabels {
  helpfulness: number;
  isSafe: boolean;
  categories: HarmCategory[];
  severity: Severity;
}

export interface SftExample {
  prompt: string;
  response: string;
  kind: ResponseKind;
  topic: string;
  promptKind: 'benign' | 'risky';
  /** An image prompt's picture, relative to the world folder (the multimodal world). */
  image?: string;
  gold: GoldLabels;
}

/** Gold labels of one response (`imageTopic`: the picture's topic of an image prompt). */
export function goldLabels(prompt: string, response: string, imageTopic?: string): GoldLabels {
  const harm = goldHarm(prompt, response);
  return {
    helpfulness: Math.round(goldHelpfulness(prompt, response, imageTopic) * 1e4) / 1e4,
    isSafe: harm.isSafe,
    categories: harm.categories,
    severity: harm.severity,
  };
}

/** The kind weights for a prompt of the given kind, from the SFT mix. */
export function kindWeights(mix: SftMix, promptKind: 'benign' | 'risky'): Partial<Record<ResponseKind, number>> {
  return promptKind === 'risky'
    ? {
        harmful: mix.riskyHarmful,
        refusal: mix.riskyRefusal,
        redirect: mix.riskyRedirect,
        toxic: mix.riskyToxic,
        'low-quality': mix.riskyLowQuality,
      }
    : {
        helpful: mix.benignHelpful,
        'low-quality': mix.benignLowQuality,
        'off-topic': mix.benignOffTopic,
        refusal: mix.benignRefusal,
      };
}

/** One response to `prompt` drawn from the SFT mix: the "SFT policy" of the world. */
export function sampleResponse(prompt: WorldPrompt, mix: SftMix, rng: Rng): { response: string; kind: ResponseKind } {
  const kind = rng.weighted(kindWeights(mix, prompt.kind) as Record<ResponseKind, number>);
  return { response: generateResponse(prompt, kind, rng), kind };
}

/** `responsesPerPrompt` answers for every prompt, in prompt order. */
export function buildSftCorpus(prompts: readonly WorldPrompt[], mix: SftMix, responsesPerPrompt: number, rng: Rng): SftExample[] {
  const out: SftExample[] = [];
  for (const p of prompts) {
    for (let i = 0; i < responsesPerPrompt; i++) {
      const { response, kind } = sampleResponse(p, mix, rng);
      const image = p.image !== undefined ? { image: p.image } : {};
      out.push({ prompt: p.prompt, response, kind, topic: p.topic, promptKind: p.kind, ...image, gold: goldLabels(p.prompt, response, imageTopicOf(p)) });
    }
  }
  return out;
}

/** Share of unsafe answers (gold) among examples on risky prompts. */
export function goldHarmfulRate(examples: readonly SftExample[]): number {
  const risky = examples.filter((e) => e.promptKind === 'risky');
  return risky.length > 0 ? risky.filter((e) => !e.gold.isSafe).length / risky.length : 0;
}
