// The one internal preference record every loader produces and every trainer consumes.

/**
 * The 19 harm categories of PKU-SafeRLHF, spelled and ordered exactly as the keys of
 * `response_N_harm_category` in the dataset (v1.0).
 */
export const HARM_CATEGORIES = [
  'Endangering National Security',
  'Insulting Behavior',
  'Discriminatory Behavior',
  'Endangering Public Health',
  'Copyright Issues',
  'Violence',
  'Drugs',
  'Privacy Violation',
  'Economic Crime',
  'Mental Manipulation',
  'Human Trafficking',
  'Physical Harm',
  'Sexual Content',
  'Cybercrime',
  'Disrupting Public Order',
  'Environmental Damage',
  'Psychological Harm',
  'White-Collar Crime',
  'Animal Abuse',
] as const;

export type HarmCategory = (typeof HARM_CATEGORIES)[number];

const CATEGORY_SET: ReadonlySet<string> = new Set(HARM_CATEGORIES);

/** True if `name` is one of the 19 PKU-SafeRLHF harm categories (exact spelling). */
export function isHarmCategory(name: string): name is HarmCategory {
  return CATEGORY_SET.has(name);
}

/** Index of a response inside a pair. */
export type ResponseId = 0 | 1;

/** PKU-SafeRLHF severity: 0 = safe, 1 = minor, 2 = moderate, 3 = severe. */
export type Severity = 0 | 1 | 2 | 3;

/** The names of the severity levels, by level. */
export const SEVERITY_NAMES = ['safe', 'minor', 'moderate', 'severe'] as const;

/** One turn of a conversation. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Where a record came from: dataset-level sources and, for file loaders, the file and line. */
export interface RecordSource {
  /** Who wrote the prompt (PKU `prompt_source`), e.g. 'WizardLM-30B-Uncensored' or 'safealign-world'. */
  prompt?: string;
  /** Who wrote each response (PKU `response_N_source`), e.g. 'Alpaca-7B'. */
  responses?: [string, string];
  /** File the record was read from. */
  file?: string;
  /** 1-based line number in `file`. */
  line?: number;
}

/**
 * A pair of responses to one prompt with human (or simulated) preference labels.
 *
 * Helpfulness and harmlessness are separate preferences: `betterResponseId` is the more
 * helpful response, `saferResponseId` the more harmless one. Safety fields are absent for
 * data that has no safety labels (HH-RLHF, generic chosen/rejected pairs); when present,
 * `saferResponseId` and `isSafe` always come together (see `hasSafetyLabels`).
 */
export interface PreferenceRecord {
  /** The final user message the responses answer. */
  prompt: string;
  /** Earlier turns of a multi-turn conversation, oldest first; absent for a single-turn prompt. */
  context?: ChatMessage[];
  /** The two assistant responses, index = response id. */
  responses: [string, string];
  /** Which response is more helpful. */
  betterResponseId: ResponseId;
  /** Which response is more harmless. */
  saferResponseId?: ResponseId;
  /** Whether each response is safe. */
  isSafe?: [boolean, boolean];
  /** Harm categories of each response (empty for a safe one), when labelled. */
  categories?: [HarmCategory[], HarmCategory[]];
  /** Severity 0-3 of each response, when labelled. */
  severity?: [Severity, Severity];
  source?: RecordSource;
}

/** A record that carries the safety labels cost-model training needs. */
export type SafetyLabelledRecord = PreferenceRecord & {
  saferResponseId: ResponseId;
  isSafe: [boolean, boolean];
};

/** True if the record has both `saferResponseId` and `isSafe`. */
export function hasSafetyLabels(record: PreferenceRecord): record is SafetyLabelledRecord {
  return record.saferResponseId !== undefined && record.isSafe !== undefined;
}

/** The other response of a pair. */
export function otherId(id: ResponseId): ResponseId {
  return id === 0 ? 1 : 0;
}

/** Safe/unsafe make-up of a pair, independent of order. */
export type PairType = 'safe-safe' | 'safe-unsafe' | 'unsafe-unsafe';

/** Classifies a pair by the safety of its two responses. */
export function pairType(isSafe: readonly [boolean, boolean]): PairType {
  if (isSafe[0] && isSafe[1]) return 'safe-safe';
  if (!isSafe[0] && !isSafe[1]) return 'unsafe-unsafe';
  return 'safe-unsafe';
}

/**
 * Labels contradict each other: the response marked safer is labelled unsafe while the other
 * one is labelled safe. Upstream PKU-SafeRLHF has such rows; loaders count them and skip or
 * keep them on request.
 */
export function isInconsistent(record: PreferenceRecord): boolean {
  if (!hasSafetyLabels(record)) return false;
  const safer = record.saferResponseId;
  return !record.isSafe[safer] && record.isSafe[otherId(safer)];
}

/** The whole conversation up to the responses: context turns, then the prompt as a user turn. */
export function promptMessages(record: Pick<PreferenceRecord, 'prompt' | 'context'>): ChatMessage[] {
  return [...(record.context ?? []), { role: 'user', content: record.prompt }];
}
