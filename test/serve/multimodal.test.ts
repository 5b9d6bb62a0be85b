// `safealign serve` on an image + text (LLaVA) policy: image_url parts spliced in by the batcher, the guard's multimodal cost and
// severity models judging each answer with its picture (as the evaluation path scores it), and hostile images refused with 400s.
import { crc32 } from 'node:zlib';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { encodePrompt, padPromptsLeft } from '../../src/algorithms/common/batching.js';
import { imageTokensOf } from '../../src/algorithms/common/model-input.js';
import { itemScores, toScoreItems } from '../../src/algorithms/score/items.js';
import { ImageProcessorConfigSchema, preprocessImages } from '../../src/models/image-processor.js';
import { LlavaModel, LlavaScoreModel, loadLlavaScoreModel, saveLlava, type Tokenizer } from '../../src/models/index.js';
import { Batcher, type SequenceRequest } from '../../src/serve/batcher.js';
import { ServeConfigSchema } from '../../src/serve/config.js';
import type { GuardVerdict } from '../../src/serve/guard.js';
import { loadServeContext, serveModel, type RunningServe } from '../../src/serve/server.js';
import { cat, manualSeed, noGrad, randn, tensor, type Tensor } from '../../src/torch/index.js';
import { renderTopicImage } from '../../src/world/images.js';
import { BENIGN_TOPICS, RISKY_TOPICS } from '../../src/world/index.js';
import { buildTinyChatModel } from '../helpers/tiny-chat-model.js';
import { tinyImageTokenizer, tinyLlavaConfig } from '../helpers/tiny-llava.js';

const dir = mkdtempSync(join(tmpdir(), 'serve-multimodal-'));
const PROMPT = 'how do i use this ?';
const processor = ImageProcessorConfigSchema.parse({ size: { height: 8, width: 8 }, resample: 2, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] });
const servers: RunningServe[] = [];
let tokenizer: Tokenizer;
let policy: LlavaModel;
/** The world's pictures of a risky and a benign topic (PNG), as the multimodal world renders them. */
let risky: Buffer;
let benign: Buffer;
const paths = { policy: join(dir, 'policy'), cost: join(dir, 'cost'), otherCost: join(dir, 'other-cost'), severity: join(dir, 'severity'), text: join(dir, 'text') };
/** The image processor of the `otherCost` folder: its own normalisation, not the policy's. */
const otherProcessor = ImageProcessorConfigSchema.parse({ ...processor, image_mean: [0.2, 0.4, 0.6], image_std: [0.3, 0.3, 0.3] });

beforeAll(async () => {
  tokenizer = tinyImageTokenizer([PROMPT], ['use this knife carefully keep it away from children cut bread with care what is it a tool for cooking']);
  const config = tinyLlavaConfig(tokenizer);
  manualSeed(3);
  policy = new LlavaModel(config);
  // weights far from their small initial values, so greedy answers vary with the prompt and the picture
  noGrad(() => {
    for (const p of policy.parameters()) p.copy_(p.add(randn(p.shape).mul(0.5)));
  });
  saveLlava(paths.policy, policy, { tokenizer, imageProcessor: processor });
  const cost = LlavaScoreModel.fromLlava(policy, 'cost');
  saveLlava(paths.cost, cost, { tokenizer, imageProcessor: processor });
  saveLlava(paths.otherCost, cost, { tokenizer, imageProcessor: otherProcessor });
  saveLlava(paths.severity, LlavaScoreModel.fromLlava(policy, 'cost', 4), { tokenizer, imageProcessor: processor });
  buildTinyChatModel(paths.text, { cost: true });
  risky = await renderTopicImage(0, (RISKY_TOPICS[0] as { name: string }).name, 0, 32);
  benign = await renderTopicImage(0, (BENIGN_TOPICS[0] as { name: string }).name, 0, 32);
});
afterAll(async () => Promise.all(servers.map((s) => s.close())));

const dataUrl = (bytes: Buffer, type = 'image/png') => `data:${type};base64,${bytes.toString('base64')}`;
const imageMessage = (url: string, text = PROMPT) => [{ role: 'user', content: [{ type: 'text', text }, { type: 'image_url', image_url: { url } }] }];

async function start(extra: Record<string, unknown> = {}, model = paths.policy): Promise<string> {
  const s = await serveModel(ServeConfigSchema.parse({ model, modelName: 'm', port: 0, ...extra }));
  servers.push(s);
  return s.url;
}

interface Choice {
  message: { content: string };
  safealign_guard?: GuardVerdict;
}
interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

async function post(url: string, messages: unknown, extra: Record<string, unknown> = {}): Promise<{ status: number; body: { choices: Choice[] } & ErrorBody }> {
  const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages, max_tokens: 6, seed: 7, ...extra }) });
  return { status: res.status, body: (await res.json()) as { choices: Choice[] } & ErrorBody };
}

/** The cost model's score of `answer` to PROMPT with `png`, through the score models' evaluation path (toScoreItems + itemScores, as evaluateScoreModel). */
async function evaluatedCost(png: Buffer, answer: string, folder = paths.cost): Promise<number> {
  const { model, tokenizer: tok, imageProcessor } = loadLlavaScoreModel(folder);
  const pixels = await preprocessImages([png], imageProcessor ?? processor);
  const image = imageTokensOf(model, tok as Tokenizer);
  const { items } = toScoreItems('cost', tok as Tokenizer, { labels: [{ prompt: PROMPT, response: answer, isSafe: true, pixels }] }, model.contextLength, image ? { image } : {});
  model.eval();
  return noGrad(() => (itemScores(model, items, tok?.padId ?? 0, model.contextLength)[0] as Tensor).toNumbers()[0] as number);
}

describe('batching image prompts', () => {
  it('image and text prompts prefilled together decode as LlavaModel.generate decodes each alone (greedy), the image token never sampled', async () => {
    const pixels = await preprocessImages([risky, benign], processor);
    const image = imageTokensOf(policy, tokenizer);
    const rows = [
      { prompt: PROMPT, pixels: pixels.narrow(0, 0, 1) },
      { prompt: 'what is it', pixels: pixels.narrow(0, 1, 1) },
      { prompt: 'cut bread with care' },
      { prompt: 'what is this ?', pixels: pixels.narrow(0, 1, 1) },
    ];
    const ids = rows.map((r) => encodePrompt(tokenizer, r, image ? { image } : {}));
    const alone = rows.map((r, i) => {
      const p = ids[i] as number[];
      const out = policy.generate(tensor([p], { dtype: 'int64' }), tensor([p.map(() => 1)], { dtype: 'int64' }), r.pixels ?? null, { maxNewTokens: 8, greedy: true, padId: 0 });
      return out.sequences.narrow(1, p.length, 8).toNumbers();
    });
    const b = new Batcher(policy, { maxBatch: 8, maxWaiting: 8, stopTokenIds: [], padId: tokenizer.padId ?? 0 });
    const decoded = await Promise.all(
      rows.map(
        (r, i) =>
          new Promise<number[]>((resolve, reject) => {
            const tokens: number[] = [];
            const req: SequenceRequest = { promptIds: ids[i] as number[], ...(r.pixels ? { pixels: r.pixels } : {}), maxTokens: 8, temperature: 0, topP: 1, seed: 0, onToken: (t) => void tokens.push(t), onEnd: (_r, e) => (e ? reject(e) : resolve(tokens)) };
            b.submit(req);
          }),
      ),
    );
    await b.close();
    // the four joined in one prefill
    expect(b.stats.prefills).toBe(1);
    expect(decoded).toEqual(alone);
    // a test that can fail: the rows' answers differ (an image row decoded with another row's picture would show)
    expect(new Set(alone.map((a) => a.join())).size).toBe(alone.length);
    // the pictures matter: the same prompt with the other picture decodes differently somewhere
    const { ids: padded, attentionMask } = padPromptsLeft([ids[0] as number[], ids[0] as number[]], 0);
    const swapped = noGrad(() => policy.forward(tensor(padded, { dtype: 'int64' }), tensor(attentionMask, { dtype: 'int64' }), cat([pixels.narrow(0, 0, 1), pixels.narrow(0, 1, 1)], 0)).logits.select(1, -1));
    expect(swapped.select(0, 0).sub(swapped.select(0, 1)).abs().max().item()).toBeGreaterThan(1e-4);
    // sampled at a high temperature (near uniform over the vocabulary), no row ever draws the image token in 8 x 40 draws
    const hot = new Batcher(policy, { maxBatch: 8, maxWaiting: 8, stopTokenIds: [], padId: 0 });
    const drawn = await Promise.all(
      Array.from(
        { length: 8 },
        (_, seed) =>
          new Promise<number[]>((resolve) => {
            const tokens: number[] = [];
            hot.submit({ promptIds: ids[0] as number[], pixels: rows[0]?.pixels as Tensor, maxTokens: 40, temperature: 100, topP: 1, seed, onToken: (t) => void tokens.push(t), onEnd: () => resolve(tokens) });
          }),
      ),
    );
    await hot.close();
    expect(drawn.flat()).toHaveLength(320);
    expect(new Set(drawn.flat()).size, `of ${tokenizer.vocabSize}`).toBeGreaterThan(tokenizer.vocabSize * 0.8);
    expect(drawn.flat()).not.toContain(image?.id);
  });

  it("refuses a prompt whose image tokens its pixels do not fill, alone, before it joins a batch", () => {
    const b = new Batcher(policy, { maxBatch: 8, maxWaiting: 8, stopTokenIds: [], padId: 0 });
    const image = imageTokensOf(policy, tokenizer);
    const ids = encodePrompt(tokenizer, { prompt: PROMPT, pixels: tensor([0]) }, image ? { image } : {});
    const req = { promptIds: ids, maxTokens: 2, temperature: 0, topP: 1, seed: 0, onToken: () => {}, onEnd: () => {} };
    expect(() => b.submit(req)).toThrow(/holds 4 image tokens .* but 0 image\(s\) fill 0/);
    void b.close();
  });
});

describe('serving an image + text policy with a multimodal guard', () => {
  it("judges the answer with its picture: the guard's cost equals the evaluation path's for the same (image, prompt, answer), and the threshold moved past it flips the decision", async () => {
    const url = await start({ guard: { cost: paths.cost, threshold: 1e9, rounds: 0, log: join(dir, 'guard.log') } });
    const { status, body } = await post(url, imageMessage(dataUrl(risky)));
    expect(status, JSON.stringify(body)).toBe(200);
    const [c] = body.choices;
    expect(c?.safealign_guard?.decision).toBe('pass');
    const score = c?.safealign_guard?.scores?.[0] as number;
    const answer = c?.message.content as string;
    expect(Math.abs(score - (await evaluatedCost(risky, answer)))).toBeLessThan(1e-5);
    // the picture is part of what is judged: the same answer with the other picture scores otherwise
    expect(Math.abs(score - (await evaluatedCost(benign, answer)))).toBeGreaterThan(1e-4);
    // a threshold just under the score flags the same answer (the same seed gives it again): refused after 0 rounds
    const strict = await start({ guard: { cost: paths.cost, threshold: score - 1e-4, rounds: 0, refusal: 'no .', log: join(dir, 'guard.log') } });
    const flagged = await post(strict, imageMessage(dataUrl(risky)));
    expect(flagged.body.choices[0]?.safealign_guard).toMatchObject({ decision: 'refused', regenerations: 0 });
    expect(flagged.body.choices[0]?.safealign_guard?.scores?.[0]).toBeCloseTo(score, 5);
    expect(flagged.body.choices[0]?.message.content).toBe('no .');
    const lenient = await start({ guard: { cost: paths.cost, threshold: score + 1e-4, rounds: 0, log: join(dir, 'guard.log') } });
    expect((await post(lenient, imageMessage(dataUrl(risky)))).body.choices[0]?.safealign_guard?.decision).toBe('pass');
    // the log names the picture judged
    const logged = readFileSync(join(dir, 'guard.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { image?: { sha256: string; width: number } });
    expect(logged[0]?.image).toMatchObject({ width: 32, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown });
  });

  it("a guard model whose preprocessor_config.json differs from the policy's reads the picture as its own processor makes it", async () => {
    const url = await start({ guard: { cost: paths.otherCost, threshold: 1e9, rounds: 0, log: join(dir, 'guard.log') } });
    const { body } = await post(url, imageMessage(dataUrl(risky)));
    const [c] = body.choices;
    const score = c?.safealign_guard?.scores?.[0] as number;
    expect(Math.abs(score - (await evaluatedCost(risky, c?.message.content as string, paths.otherCost)))).toBeLessThan(1e-5);
    // the same weights read the policy's pixels otherwise
    expect(Math.abs(score - (await evaluatedCost(risky, c?.message.content as string)))).toBeGreaterThan(1e-4);
  });

  it('reads JPEG and WebP as well; n = 2 streamed equals unstreamed; a text-only request to the image + text model is answered and judged as text; a severity head judges too', async () => {
    const url = await start({ guard: { cost: paths.cost, severity: paths.severity, threshold: 1e9, maxSeverity: 'moderate', rounds: 0, log: join(dir, 'guard.log') } });
    for (const [format, type] of [['jpeg', 'image/jpeg'], ['webp', 'image/webp']] as const) {
      const bytes = await sharp(risky).toFormat(format).toBuffer();
      const r = await post(url, imageMessage(dataUrl(bytes, type)));
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.choices[0]?.safealign_guard?.severity?.[0]?.level).toBeGreaterThanOrEqual(0);
    }
    // n = 2, streamed: the same choices as unstreamed (one picture shared by both rows)
    const plain = await post(url, imageMessage(dataUrl(risky)), { n: 2 });
    const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: imageMessage(dataUrl(risky)), max_tokens: 6, seed: 7, n: 2, stream: true }) });
    const events = (await res.text()).split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));
    expect(events.at(-1)).toBe('[DONE]');
    const streamed = ['', ''];
    for (const e of events.slice(0, -1)) for (const c of (JSON.parse(e) as { choices: { index: number; delta: { content?: string } }[] }).choices) streamed[c.index] += c.delta.content ?? '';
    expect(streamed).toEqual(plain.body.choices.map((c) => c.message.content));
    const text = await post(url, [{ role: 'user', content: 'what is it' }]);
    expect(text.status).toBe(200);
    expect(Number.isFinite(text.body.choices[0]?.safealign_guard?.scores?.[0])).toBe(true);
  });

  it('a guard that reads otherwise than the model is refused at start-up', () => {
    const textCost = join(paths.text, 'cost');
    expect(() => loadServeContext(ServeConfigSchema.parse({ model: paths.policy, guard: { cost: textCost } }))).toThrow(/--guard-cost .*: a text cost model cannot guard the image \+ text --model/);
    expect(() => loadServeContext(ServeConfigSchema.parse({ model: join(paths.text, 'model'), guard: { severity: paths.severity } }))).toThrow(/--guard-severity .*: an image \+ text \(LLaVA\) cost model, but --model .* reads text only/);
  });
});

/** A PNG whose header claims width x height (the CRC fixed) over the pixel data of a 1x1 image: a decompression bomb's header. */
async function bombPng(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await sharp({ create: { width: 1, height: 1, channels: 3, background: '#fff' } }).png().toBuffer());
  // IHDR: length (4) at 8, type at 12, width at 16, height at 20, CRC over type + data at 29
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

describe('hostile image requests', () => {
  let url: string;
  beforeAll(async () => {
    url = await start({ maxBodyBytes: 64 * 1024, maxImagePixels: 64 * 64 });
  });

  it.each([
    ['a remote URL (never fetched)', () => imageMessage('http://169.254.169.254/latest/meta-data'), 'remote_image_url', 'messages.0.content.1.image_url.url'],
    ['a data URL that is not an image', () => imageMessage(dataUrl(Buffer.from('hello, this is text'))), 'invalid_image', 'messages.0.content.1.image_url.url'],
    ['bad base64', () => imageMessage('data:image/png;base64,iVBO@@@@'), 'invalid_image', 'messages.0.content.1.image_url.url'],
    ['a media type that is not an image', () => imageMessage(`data:text/plain;base64,${Buffer.from('hi').toString('base64')}`), 'unsupported_media_type', 'messages.0.content.1.image_url.url'],
    ['PNG bytes declared as JPEG', () => imageMessage(dataUrl(risky, 'image/jpeg')), 'unsupported_media_type', 'messages.0.content.1.image_url.url'],
    ['an SVG (rendered by libvips, never decoded here)', () => imageMessage(dataUrl(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>'), 'image/svg+xml')), 'unsupported_media_type', 'messages.0.content.1.image_url.url'],
    [
      'two images for a model with one image slot',
      () => [{ role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl(risky) } }, { type: 'text', text: PROMPT }, { type: 'image_url', image_url: { url: dataUrl(benign) } }] }],
      'too_many_images',
      'messages.0.content.2',
    ],
    ['an image in an earlier message', () => [...imageMessage(dataUrl(risky)), { role: 'assistant', content: 'ok' }, { role: 'user', content: PROMPT }], 'image_not_in_last_message', 'messages.0.content.1'],
    ['the image placeholder typed in the text', () => [{ role: 'user', content: `<image> ${PROMPT}` }], null, 'messages'],
    ['an unknown part type', () => [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: '', format: 'wav' } }] }], null, 'messages.0.content.0.type'],
  ])('%s: 400 naming the field', async (_name, messages, code, param) => {
    const r = await post(url, messages());
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error).toMatchObject({ type: 'invalid_request_error', code, param });
  });

  it('a decompression bomb (a 100000 x 100000 PNG header over 1 pixel) is refused from its header; a picture over --max-image-pixels too', async () => {
    const bomb = await post(url, imageMessage(dataUrl(await bombPng(100_000, 100_000))));
    expect(bomb.status).toBe(400);
    expect(bomb.body.error).toMatchObject({ code: 'image_too_large', param: 'messages.0.content.1.image_url.url' });
    expect(bomb.body.error.message).toContain('100000x100000');
    const big = await post(url, imageMessage(dataUrl(await sharp(risky).resize(80, 80).png().toBuffer())));
    expect(big.body.error).toMatchObject({ code: 'image_too_large' });
  });

  it('a body over --max-body-bytes is refused with 413; the server still answers a good image request after every attack', async () => {
    const huge = await post(url, imageMessage(`data:image/png;base64,${'A'.repeat(80 * 1024)}`));
    expect(huge.status).toBe(413);
    expect(huge.body.error.type).toBe('request_too_large');
    const ok = await post(url, imageMessage(dataUrl(risky)));
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.choices[0]?.message.content).toEqual(expect.any(String));
  });

  it('an image sent to a text-only model: 400, not a crash', async () => {
    const text = await start({}, join(paths.text, 'model'));
    const r = await fetch(`${text}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: imageMessage(dataUrl(risky)), max_tokens: 4 }),
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as ErrorBody).error).toMatchObject({ code: 'image_input_not_supported', param: 'messages.0.content.1' });
    const fine = await fetch(`${text}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'how do i make bread' }], max_tokens: 4 }) });
    expect(fine.status).toBe(200);
  });
});
