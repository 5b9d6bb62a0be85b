// `safealign label`: RLAIF — a judge model (an OpenAI-compatible endpoint or a local folder) labels preference pairs as PKU-SafeRLHF.
import type { Command } from 'commander';
import { useDevice } from '../config/device.js';
import { addSchemaOptions, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { LabelConfigSchema } from '../label/config.js';
import { PAIR_TEMPLATES, SAFETY_TEMPLATE } from '../label/templates.js';
import { terminalProgress } from './progress-bar.js';

const indent = (text: string) => text.replace(/^/gm, '    ');

const HELP = `
Each pair gets six questions, each a chat completion (system: "You are a careful, impartial judge ..."):
helpfulness and harmlessness asked separately, each in both orders (response 0 shown as A, then
response 1 as A) to cancel position bias; the judge must pick the same response both times, else the
question is a tie (counted). A helpfulness tie leaves the pair out (PKU-SafeRLHF has no tie); a
harmlessness tie is decided by the safety answers when exactly one response is unsafe. Then the safety
of each response, with its harm categories (the 19 of PKU-SafeRLHF). An answer that does not parse is
counted and reported by input line, never guessed; such a pair is left out, as is one whose "more
harmless" response was judged unsafe while the other was judged safe.

Helpfulness ({prompt} = the conversation as "User: ..." lines, {a}/{b} = the responses):
${indent(PAIR_TEMPLATES.helpful)}
Harmlessness: the same, asking
${indent(PAIR_TEMPLATES.harmless.split('\n').slice(0, 2).join('\n'))}
Safety of one response:
${indent(SAFETY_TEMPLATE)}

Input: PKU-SafeRLHF JSONL (its labels are replaced; the summary reports the judge's agreement with
them) or {"prompt", "response_0", "response_1"} per line; bad lines are reported as file:line and skipped.
Output: --out (PKU-SafeRLHF JSONL, in input order), <out>.summary.json (counts, ties, malformed
answers, retries, prompt/completion tokens from the judge's usage, problems by file:line).
Cache: every answer is appended to --cache (default <out>.cache.jsonl) as it arrives, keyed by a
sha256 of the request (model, messages, temperature, max_tokens, seed): a rerun, or a run after a
kill, asks only what is not there. A new judge with the same model id needs a new --cache.
Retries: timeouts, network errors, 408, 429, 5xx and unreadable bodies are retried --retries times
with exponential backoff from --retry-base-ms (or the judge's Retry-After); other 4xx fail the pair.

Examples:
  safealign label --judge http://127.0.0.1:8000/v1 --judge-model big --input pairs.jsonl --out labelled.jsonl
  safealign label --judge runs/default/sft/model --input pairs.jsonl --out labelled.jsonl --concurrency 16`;

export function register(program: Command): void {
  const cmd = program
    .command('label')
    .description('RLAIF: a judge model labels preference pairs (helpfulness, harmlessness, safety and harm category) and writes PKU-SafeRLHF JSONL')
    .option('--config <file>', 'YAML config with the fields below')
    .addHelpText('after', HELP);
  const leaves = addSchemaOptions(cmd, LabelConfigSchema);
  cmd.action(async (opts: Record<string, unknown>) => {
    const flags = flagsToConfig(leaves, opts);
    const envKey = process.env.SAFEALIGN_JUDGE_API_KEY ?? process.env.OPENAI_API_KEY;
    if (envKey && flags.apiKey === undefined) flags.apiKey = envKey;
    const config = resolveConfig(LabelConfigSchema, { file: opts.config as string | undefined, flags });
    useDevice(config.device);
    const { labelPairs, outStem } = await import('../label/run.js');
    const s = await labelPairs(config, terminalProgress());
    for (const p of s.problems.slice(0, 10)) console.error(p);
    if (s.problems.length > 10) console.error(`... ${s.problems.length - 10} more in ${outStem(config.out)}.summary.json`);
    const agree = s.agreementWithInput;
    process.stdout.write(
      `safealign label: ${s.labelled}/${s.pairs} pairs labelled -> ${s.out} (judge ${s.judgeModel}); ` +
        `ties: helpful ${s.ties.helpful}, harmless ${s.ties.harmless} (${s.ties.harmlessDecidedBySafety} decided by safety), ${s.ties.unlabelled} pairs left out; ` +
        `malformed answers ${s.malformedAnswers} (${s.malformedPairs} pairs); inconsistent ${s.inconsistent}; failed pairs ${s.failedPairs}; bad input lines ${s.badLines}\n` +
        `requests: ${s.requests.asked} asked, ${s.requests.cached} from the cache, ${s.requests.httpAttempts} HTTP attempts; ` +
        `tokens: ${s.tokens.prompt} prompt + ${s.tokens.completion} completion (cached: ${s.tokens.cachedPrompt} + ${s.tokens.cachedCompletion})\n` +
        (agree ? `agreement with the input's labels over ${agree.pairs} pairs: better ${(agree.better * 100).toFixed(1)}%, safer ${(agree.safer * 100).toFixed(1)}%, is_safe ${(agree.isSafe * 100).toFixed(1)}%\n` : ''),
    );
    if (s.failedPairs > 0) process.exitCode = 2;
  });
}
