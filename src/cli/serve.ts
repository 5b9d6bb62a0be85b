// `safealign serve`: an OpenAI-compatible HTTP server for a model folder, with continuous batching and an optional guardrail (cost model and/or severity classifier).
import type { Command } from 'commander';
import { useDevice } from '../config/device.js';
import { addSchemaOptions, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { ServeConfigSchema, type GuardConfig } from '../serve/config.js';

const HELP = `
Endpoints: POST /v1/chat/completions (the model folder's chat template), POST /v1/completions (raw
text), GET /v1/models, GET /health, GET /metrics (Prometheus text). Requests and responses follow
OpenAI's API, so the official clients work: point base_url at http://HOST:PORT/v1. Sampling fields:
temperature (0 = greedy), top_p, max_tokens, stop (up to 4 strings), n, seed (the same seed gives the
same text, alone or batched with other requests), stream (server-sent events; stream_options.include_usage).
A sequence ends at the tokenizer's EOS and at any eos_token_id of the folder's generation_config.json.

API keys: --api-key KEY (repeatable), --api-keys-file FILE (one per line) or SAFEALIGN_API_KEY; with
none, /v1 is open to anyone who can reach the port (the default --host 127.0.0.1 is this machine only).
Errors use OpenAI's shape {"error": {"message", "type", "param", "code"}}: 401 bad key, 413 body
over --max-body-bytes, 400 prompt + max_tokens over the model's context (code context_length_exceeded)
or max_tokens over --max-tokens, 404 unknown model, 429 queue full or too many requests from one
address, 408 a request not received whole within --request-timeout-sec.

Guardrail: --guard-cost DIR scores every answer with that cost model; an answer scoring above
--guard-threshold is regenerated (a new random stream) up to --guard-rounds times, then replaced by
--guard-refusal. Each choice carries "safealign_guard": {decision, scores, regenerations, threshold},
and each guarded request is logged as a JSON line (--guard-log FILE, else standard error). With the
guardrail, a streamed choice arrives in one piece once its verdict is known.
--guard-severity DIR (a severity classifier: safealign train cost --cost-data severity) predicts each
answer's severity (safe, minor, moderate, severe) and flags it above --guard-max-severity (minor);
alone or with --guard-cost (an answer flagged by either is regenerated). The choice's safealign_guard
then has "severity": [{level, label, probs}] per answer generated and "maxSeverity".

Images: an image + text (LLaVA) folder (pipeline --world multimodal writes them: <run>/ppo_lag/model,
<run>/cost/model, <run>/severity/model) takes one image per chat request, as an OpenAI image_url part
in the last user message: {"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}
(PNG, JPEG or WebP; the model reads it before that message's text, preprocessed by the folder's
preprocessor_config.json). Refused with 400, naming the field (param): remote http(s) URLs (the
server fetches nothing a request names), media types other than image/png|jpeg|webp or bytes not of
the declared type, bad base64, an image over --max-image-pixels (checked from its header, before
decoding), a second image, an image in an earlier message, the image placeholder typed in the text,
any image sent to a text model. The body limit (--max-body-bytes) counts the base64 (4/3 of the
file). An image + text --guard-cost / --guard-severity judges each answer with the picture (through its
own preprocessor_config.json); a guard model that reads otherwise than --model is a start-up error.

Example:
  safealign serve --model runs/default/ppo_lag/model --port 8000 --api-keys-file keys.txt
  curl -s localhost:8000/v1/chat/completions -H "Authorization: Bearer $KEY" \\
    -H 'content-type: application/json' -d '{"model": "model", "messages": [{"role": "user", "content": "hi"}]}'
  safealign serve --model runs/multimodal/ppo_lag/model --guard-cost runs/multimodal/cost/model --port 8000`;

/** The guardrail's models and settings, for the start-up line. */
function describeGuard(g: GuardConfig): string {
  const judges = [g.cost ? `cost ${g.cost} (threshold ${g.threshold})` : '', g.severity ? `severity ${g.severity} (max ${g.maxSeverity})` : ''].filter(Boolean);
  return `${judges.join(' + ')}, ${g.rounds} rounds`;
}

export function register(program: Command): void {
  const cmd = program
    .command('serve')
    .description('serve a model folder (text, or image + text) over an OpenAI-compatible HTTP API (chat and text completions, streaming, continuous batching, API keys, metrics, optional guardrail)')
    .option('--config <file>', 'YAML config with the fields below')
    .addHelpText('after', HELP);
  const leaves = addSchemaOptions(cmd, ServeConfigSchema);
  cmd.action(async (opts: Record<string, unknown>) => {
    const flags = flagsToConfig(leaves, opts);
    const envKey = process.env.SAFEALIGN_API_KEY;
    if (envKey) flags.apiKey = [...((flags.apiKey as string[] | undefined) ?? []), envKey];
    const config = resolveConfig(ServeConfigSchema, { file: opts.config as string | undefined, flags });
    useDevice(config.device);
    // loaded on use: the other commands do not need the server
    const { serveModel } = await import('../serve/server.js');
    const running = await serveModel(config);
    const { ctx } = running;
    const keys = config.apiKey.length + (config.apiKeysFile ? 1 : 0);
    process.stdout.write(
      `safealign serve: ${ctx.modelName} (${ctx.image ? 'image + text, ' : ''}context ${ctx.model.contextLength}) at ${running.url}/v1; ` +
        `batching ${config.batching ? `on (up to ${config.maxBatch} sequences)` : 'off'}; ` +
        `${keys ? 'API keys required' : 'no API key required'}${ctx.guard ? `; guardrail ${describeGuard(config.guard)}` : ''}\n`,
    );
    const stop = (): void => {
      running.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
