// `safealign label` as a library call: judge every pair (both orders, both questions, safety per response), write PKU-SafeRLHF, summarise.
import { useDevice } from '../config/device.js';
import { existsSync, statSync } from 'node:fs';
import { writeJsonAtomic } from '../core/fs-atomic.js';
import { silentProgress, type Progress } from '../core/progress.js';
import { ConfigError } from '../config/schema-cli.js';
import { writePkuSafeRlhf } from '../data/pku-saferlhf.js';
import { formatProblem } from '../data/problems.js';
import { promptMessages, type PreferenceRecord } from '../data/record.js';
import { agreement, comparable, type Agreement, type ComparableLabels } from './agreement.js';
import { AnswerCache, requestKey } from './cache.js';
import type { LabelConfig } from './config.js';
import { readPairsToLabel, type PairToLabel } from './input.js';
import { JudgeClient, JudgeRequestError, type JudgeRequest } from './judge-client.js';
import { conversationText, isMalformed, pairMessages, parsePairVerdict, parseSafetyVerdict, safetyMessages, type Axis, type Malformed, type SafetyVerdict } from './templates.js';
import { labelPair, type AxisResult, type BothOrders, type PairOutcome } from './verdicts.js';

export interface LabelSummary {
  input: string;
  out: string;
  cache: string;
  judge: string;
  judgeModel: string;
  /** Pairs read from the input, and input lines that could not be read. */
  pairs: number;
  badLines: number;
  /** Pairs written to `out`. */
  labelled: number;
  /** Pairs whose two orders disagreed, per question (position bias), and pairs left unlabelled by a tie. */
  ties: { helpful: number; harmless: number; unlabelled: number; harmlessDecidedBySafety: number };
  /** Judge answers that did not parse, and pairs left unlabelled by them. */
  malformedAnswers: number;
  malformedPairs: number;
  /** Pairs whose "more harmless" response was judged unsafe while the other was judged safe. */
  inconsistent: number;
  /** Pairs with a request that failed for good (after retries); a rerun asks them again. */
  failedPairs: number;
  requests: { total: number; asked: number; cached: number; httpAttempts: number; retries: Record<string, number>; failed: number; cacheUnreadableLines: number };
  /** Tokens of the answers asked in this run (`usage` of each reply), and of the answers read from the cache. */
  tokens: { prompt: number; completion: number; cachedPrompt: number; cachedCompletion: number };
  /** On PKU-SafeRLHF input: how often the judge's labels equal the input's, over the pairs labelled. */
  agreementWithInput?: Agreement;
  /** Bad input lines and unlabelled pairs, as file:line: reason. */
  problems: string[];
}

/** `<out>` without `.jsonl`, for the files written beside it. */
export function outStem(out: string): string {
  return out.replace(/\.jsonl$/, '');
}

/** Starts the judge: a URL is used as it is; a folder is served in-process by the `safealign serve` server on a free port. */
async function startJudge(config: LabelConfig): Promise<{ url: string; close: () => Promise<void> }> {
  if (/^https?:\/\//.test(config.judge)) return { url: config.judge.replace(/\/+$/, ''), close: async () => {} };
  if (!existsSync(config.judge) || !statSync(config.judge).isDirectory()) {
    throw new ConfigError(`--judge ${config.judge}: expected an http(s):// base URL of an OpenAI-compatible API or a model folder`);
  }
  const { ServeConfigSchema } = await import('../serve/config.js');
  const { serveModel } = await import('../serve/server.js');
  const served = await serveModel(ServeConfigSchema.parse({ model: config.judge, modelName: config.judgeModel, port: 0, maxTokens: config.maxTokens, maxRequestsPerClient: Math.max(64, config.concurrency) }));
  return { url: `${served.url}/v1`, close: () => served.close() };
}

/** What the judge said of one pair, question by question (both orders of a pairwise question combined). */
export interface PairVerdicts {
  helpful: AxisResult;
  harmless: AxisResult;
  safety: readonly [SafetyVerdict | Malformed, SafetyVerdict | Malformed];
}

/**
 * Labels the pairs of `config.input` with the judge, writes `config.out` (PKU-SafeRLHF) and `<out>.summary.json`.
 * `observe` receives every judged pair's verdicts with its input index (agreement studies count ties and malformed answers per question).
 */
export async function labelPairs(config: LabelConfig, progress: Progress = silentProgress, observe?: (index: number, verdicts: PairVerdicts) => void): Promise<LabelSummary> {
  useDevice(config.device); // the models this loads go there
  for (const k of ['judge', 'input', 'out'] as const) if (!config[k]) throw new ConfigError(`--${k}: required (safealign label --help)`);
  const cachePath = config.cache || `${outStem(config.out)}.cache.jsonl`;
  const read = await readPairsToLabel(config.input, config.limit);
  const cache = new AnswerCache(cachePath);
  const judge = await startJudge(config);
  try {
    const client = new JudgeClient(judge.url, config.apiKey, config);
    const model = config.judgeModel || (await client.models())[0];
    if (!model) throw new ConfigError(`${judge.url}/models lists no model; pass --judge-model`);
    const summary: LabelSummary = {
      input: config.input,
      out: config.out,
      cache: cachePath,
      judge: /^https?:/.test(config.judge) ? judge.url : config.judge,
      judgeModel: model,
      pairs: read.records.length,
      badLines: read.stats.unreadable,
      labelled: 0,
      ties: { helpful: 0, harmless: 0, unlabelled: 0, harmlessDecidedBySafety: 0 },
      malformedAnswers: 0,
      malformedPairs: 0,
      inconsistent: 0,
      failedPairs: 0,
      requests: { total: 0, asked: 0, cached: 0, httpAttempts: 0, retries: {}, failed: 0, cacheUnreadableLines: cache.unreadable },
      tokens: { prompt: 0, completion: 0, cachedPrompt: 0, cachedCompletion: 0 },
      problems: read.problems.filter((p) => !p.kept).map(formatProblem),
    };

    /** One question, from the cache or the judge. */
    const ask = async (messages: JudgeRequest['messages']): Promise<string> => {
      const request: JudgeRequest = { model, messages, temperature: config.temperature, max_tokens: config.maxTokens, seed: config.seed };
      const key = requestKey(request);
      summary.requests.total++;
      const cached = cache.get(key);
      if (cached) {
        summary.requests.cached++;
        summary.tokens.cachedPrompt += cached.usage.prompt_tokens;
        summary.tokens.cachedCompletion += cached.usage.completion_tokens;
        return cached.text;
      }
      let reply;
      try {
        reply = await client.chat(request);
      } catch (e) {
        summary.requests.failed++;
        throw e;
      }
      cache.put(key, reply);
      summary.requests.asked++;
      summary.tokens.prompt += reply.usage.prompt_tokens;
      summary.tokens.completion += reply.usage.completion_tokens;
      return reply.text;
    };

    /** The six questions of a pair: each pairwise question in both orders, and the safety of each response. */
    const judgePair = async (pair: PairToLabel, index: number): Promise<PairOutcome> => {
      const { record } = pair;
      const conversation = conversationText(promptMessages(record));
      const [r0, r1] = record.responses;
      const both = async (axis: Axis): Promise<BothOrders> => {
        const settled = await Promise.allSettled([ask(pairMessages(axis, conversation, r0, r1)), ask(pairMessages(axis, conversation, r1, r0))]);
        const failed = settled.find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
        const [forward, swapped] = settled.map((r) => (r as PromiseFulfilledResult<string>).value) as [string, string];
        return [parsePairVerdict(forward), parsePairVerdict(swapped)];
      };
      // every question runs to its end (and into the cache) even when another one of the pair fails
      const settled = await Promise.allSettled([both('helpful'), both('harmless'), ask(safetyMessages(conversation, r0)), ask(safetyMessages(conversation, r1))] as const);
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      const [helpful, harmless, a0, a1] = settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [BothOrders, BothOrders, string, string];
      const [s0, s1] = [parseSafetyVerdict(a0), parseSafetyVerdict(a1)];
      summary.malformedAnswers += [...helpful, ...harmless, s0, s1].filter(isMalformed).length;
      const judged = labelPair({ helpful, harmless, safety: [s0, s1] });
      observe?.(index, { helpful: judged.helpful, harmless: judged.harmless, safety: [s0, s1] });
      if ('tie' in judged.helpful) summary.ties.helpful++;
      if ('tie' in judged.harmless) summary.ties.harmless++;
      return judged.outcome;
    };

    const written: (PreferenceRecord | undefined)[] = new Array(read.records.length);
    const withInput: [ComparableLabels, ComparableLabels][] = [];
    let next = 0;
    let done = 0;
    progress.start('label', read.records.length);
    const worker = async (): Promise<void> => {
      for (let i = next++; i < read.records.length; i = next++) {
        const pair = read.records[i] as PairToLabel;
        const where = `${config.input}:${pair.source?.line ?? '?'}`;
        let outcome: PairOutcome;
        try {
          outcome = await judgePair(pair, i);
        } catch (e) {
          if (!(e instanceof JudgeRequestError)) throw e;
          summary.failedPairs++;
          summary.problems.push(`${where}: judge request failed: ${e.message}`);
          continue;
        } finally {
          progress.update(++done, { labelled: summary.labelled, ties: summary.ties.unlabelled, malformed: summary.malformedPairs, asked: summary.requests.asked });
        }
        if (outcome.kind === 'labelled') {
          summary.labelled++;
          if (outcome.saferFromSafety) summary.ties.harmlessDecidedBySafety++;
          const { prompt, context, responses, source } = pair.record;
          // the input's sources (prompt_source, response_N_source) carry over; its labels do not
          const record: PreferenceRecord = { prompt, responses, ...outcome.labels, ...(context ? { context } : {}), ...(source ? { source } : {}) };
          written[i] = record;
          if (pair.given) withInput.push([comparable(pair.record), comparable(record)]);
        } else if (outcome.kind === 'tie') {
          summary.ties.unlabelled++;
        } else if (outcome.kind === 'malformed') {
          summary.malformedPairs++;
          summary.problems.push(`${where}: malformed judge answer: ${outcome.reasons.join('; ')}`);
        } else {
          summary.inconsistent++;
          summary.problems.push(`${where}: inconsistent: ${outcome.message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(config.concurrency, Math.max(1, read.records.length)) }, worker));
    progress.stop();

    writePkuSafeRlhf(config.out, written.filter((r): r is PreferenceRecord => r !== undefined), { context: 'flatten' });
    const agree = agreement(withInput);
    if (agree) summary.agreementWithInput = agree;
    summary.requests.httpAttempts = client.stats.attempts;
    summary.requests.retries = client.stats.retries;
    writeJsonAtomic(`${outStem(config.out)}.summary.json`, summary);
    return summary;
  } finally {
    await judge.close();
  }
}
