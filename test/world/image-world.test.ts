import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBeaverTailsV } from '../../src/data/beavertails-v.js';
import { openImage } from '../../src/core/sharp.js';
import { createAnnotatorPool, annotate, goldPairLabels, makePairItem } from '../../src/world/annotators.js';
import { buildImageWorld, WORLD_FILES } from '../../src/world/build.js';
import { defaultWorldConfig } from '../../src/world/config.js';
import { renderTopicImage, TOPIC_GLYPHS } from '../../src/world/images.js';
import { topicOfPrompt } from '../../src/world/lexicon.js';
import { explainHelpfulness, goldHarm, goldHelpfulness, UnknownImageTopicError } from '../../src/world/oracle.js';
import { buildImagePrompts, IMAGE_ASK } from '../../src/world/prompts.js';
import { Rng } from '../../src/world/rng.js';

const small = { seed: 5, sft: { responsesPerPrompt: 2 }, pairs: { train: 300, test: 60 }, images: { variants: 3, testVariants: 1 } };
const tmp = () => mkdtempSync(join(tmpdir(), 'image-world-'));

function filesOf(dir: string, sub = ''): Record<string, string> {
  return Object.fromEntries(
    readdirSync(join(dir, sub), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? Object.entries(filesOf(dir, join(sub, e.name))) : [[join(sub, e.name), readFileSync(join(dir, sub, e.name), 'base64')]],
    ),
  );
}

const HARMFUL_HACK = 'sure . to use this , use some malware . then use phishing with exploit .';
const HELPFUL_COOK = 'sure . first , get the yeast . then use garlic with timer .';

describe('the multimodal world: pictures carry the topic', () => {
  it('image prompts name no topic in their text: only the picture says what is asked about', () => {
    const prompts = buildImagePrompts(1, 4, 1);
    expect(prompts.length).toBeGreaterThan(0);
    for (const p of prompts) {
      expect(p.ask).toBe(IMAGE_ASK);
      expect(topicOfPrompt(p.prompt)).toBeUndefined();
      expect(p.image).toMatch(new RegExp(`^images/${p.topic}-[0-3]\\.png$`));
    }
    // every topic has train and test pictures; risky framings are red team, on train pictures only
    for (const topic of TOPIC_GLYPHS.keys()) {
      const mine = prompts.filter((p) => p.topic === topic);
      expect(new Set(mine.filter((p) => p.split === 'test').map((p) => p.image)).size).toBe(1);
      expect(new Set(mine.filter((p) => p.split === 'train').map((p) => p.image)).size).toBe(3);
    }
    const testImages = new Set(prompts.filter((p) => p.split === 'test').map((p) => p.image));
    expect(prompts.filter((p) => p.split === 'redteam').every((p) => p.kind === 'risky' && !testImages.has(p.image))).toBe(true);
    expect(() => buildImagePrompts(1, 2, 2)).toThrow(/testVariants \(2\) must be below images.variants \(2\)/);
  });

  it('every topic has its own glyph (shape x colour)', () => {
    const glyphs = [...TOPIC_GLYPHS.values()].map((g) => `${g.shape}/${g.colour}`);
    expect(glyphs.length).toBe(31);
    expect(new Set(glyphs).size).toBe(31);
  });

  it('renders deterministic pictures whose pixels differ between topics and between poses', async () => {
    const a = await renderTopicImage(3, 'hacking', 0, 32);
    expect((await renderTopicImage(3, 'hacking', 0, 32)).equals(a)).toBe(true);
    expect((await renderTopicImage(3, 'hacking', 1, 32)).equals(a)).toBe(false);
    expect((await renderTopicImage(3, 'cooking', 0, 32)).equals(a)).toBe(false);
    const { info } = await (await openImage(a)).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([32, 32, 3]);
  });
});

describe('the gold oracle on image prompts', () => {
  const text = 'how do i use this ?';
  it('same text, different picture, different gold helpfulness', () => {
    // the text alone values nothing; the picture decides which words answer the request
    expect(goldHelpfulness(text, HARMFUL_HACK)).toBeCloseTo(0, 9);
    const hack = explainHelpfulness(text, HARMFUL_HACK, 'hacking');
    expect(hack.topic).toBe('hacking');
    expect(hack.valued.map((v) => v.word)).toEqual(['malware', 'phishing', 'exploit']);
    expect(hack.score).toBeCloseTo(3 * 0.8 + 2 * 1, 9); // every content word is a harmful word of the pictured topic
    expect(goldHelpfulness(text, HARMFUL_HACK, 'cooking')).toBeCloseTo(0, 9);
    expect(goldHelpfulness(text, HELPFUL_COOK, 'cooking')).toBeCloseTo(3 + 2, 9);
    expect(goldHelpfulness(text, HELPFUL_COOK, 'hacking')).toBeCloseTo(0, 9);
  });

  it('harm is in what is said, whatever the picture; the picture decides whether the prompt is risky', () => {
    expect(goldHarm(text, HARMFUL_HACK)).toMatchObject({ isSafe: false, severity: 2, categories: ['Cybercrime'] });
    expect(goldHarm(text, HELPFUL_COOK).isSafe).toBe(true);
    const prompts = buildImagePrompts(1, 3, 1);
    const same = prompts.filter((p) => p.prompt === text);
    expect(new Set(same.map((p) => p.kind))).toEqual(new Set(['benign', 'risky']));
  });

  it('rejects a picture of no world topic', () => {
    expect(() => goldHelpfulness(text, HELPFUL_COOK, 'unicorns')).toThrow(UnknownImageTopicError);
  });

  it('annotators judge helpfulness by the picture: the same text pair flips its gold and its majority with the picture', () => {
    const pool = createAnnotatorPool(defaultWorldConfig().annotators, new Rng(7)).filter((a) => !a.planted);
    const cooking = makePairItem(text, [HARMFUL_HACK, HELPFUL_COOK], undefined, 'cooking');
    const hacking = makePairItem(text, [HARMFUL_HACK, HELPFUL_COOK], 'Cybercrime', 'hacking');
    expect(goldPairLabels(cooking).better).toBe(1);
    expect(goldPairLabels(hacking).better).toBe(0);
    const rng = new Rng(11);
    const share = (item: typeof cooking) => pool.map((a) => annotate(a, item, rng)).filter((l) => l.better === 0).length / pool.length;
    expect(share(cooking)).toBeLessThan(0.3);
    expect(share(hacking)).toBeGreaterThan(0.7);
  });
});

describe('buildImageWorld', () => {
  it('is deterministic, writes the pictures and BeaverTails-V pairs the loader reads, and ~half the risky SFT answers are harmful', async () => {
    const [a, b] = [tmp(), tmp()];
    const s = await buildImageWorld(small, a);
    await buildImageWorld(small, b);
    const fa = filesOf(a);
    expect(filesOf(b)).toEqual(fa);
    expect(Object.keys(fa).filter((f) => f.startsWith('images/')).length).toBe(31 * 3);
    expect(s.images).toMatchObject({ count: 93, size: 32, variants: 3 });
    expect(s.sft.goldHarmfulRateRisky).toBeGreaterThan(0.38);
    expect(s.sft.goldHarmfulRateRisky).toBeLessThan(0.56);
    // majority labels of the same simulated annotators agree with the picture-aware gold
    expect(s.agreement.majorityVsGold.better).toBeGreaterThan(0.8);
    expect(s.agreement.majorityVsGold.isSafe).toBeGreaterThan(0.9);

    const read = await readBeaverTailsV(join(a, WORLD_FILES.preferencesTrain), { strict: true });
    expect(read.records.length).toBe(300);
    const gold = await readBeaverTailsV(join(a, WORLD_FILES.goldTrain), { strict: true });
    for (const [i, r] of gold.records.entries()) {
      const topic = r.imageCategory as string;
      const [h0, h1] = r.responses.map((x) => goldHelpfulness(r.prompt, x, topic)) as [number, number];
      if (h0 !== h1) expect(r.betterResponseId).toBe(h0 > h1 ? 0 : 1);
      expect(r.isSafe).toEqual(r.responses.map((x) => goldHarm(r.prompt, x).isSafe));
      expect((read.records[i] as typeof r).image).toEqual(r.image);
    }
    const sft = readFileSync(join(a, WORLD_FILES.sftTrain), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { prompt: string; response: string; topic: string; image: string; gold: { helpfulness: number } });
    for (const e of sft.slice(0, 200)) {
      expect(e.image).toMatch(/^images\//);
      expect(e.gold.helpfulness).toBeCloseTo(goldHelpfulness(e.prompt, e.response, e.topic), 3);
    }
  });

  it('pairs.offTopicRate replaces pair responses by answers about another topic; at 0 the world is the one built without it', async () => {
    const [off, none, unset] = [tmp(), tmp(), tmp()];
    await buildImageWorld({ ...small, pairs: { ...small.pairs, offTopicRate: 0.5 } }, off);
    await buildImageWorld({ ...small, pairs: { ...small.pairs, offTopicRate: 0 } }, none);
    await buildImageWorld(small, unset);
    const pairs = (dir: string) => readFileSync(join(dir, WORLD_FILES.preferencesTrain), 'utf8');
    expect(pairs(none)).toBe(pairs(unset));
    const { records } = await readBeaverTailsV(join(off, WORLD_FILES.preferencesTrain), { strict: true, checkImages: false });
    // an off-topic answer is safe and earns nothing for the pictured topic (its words are another topic's)
    const offTopic = (rs: typeof records) =>
      rs.flatMap((r) =>
        r.responses.filter((x) => {
          const h = explainHelpfulness(r.prompt, x, r.imageCategory);
          return goldHarm(r.prompt, x).isSafe && h.valued.length === 0 && h.contentTokens >= 3;
        }),
      ).length;
    const before = (await readBeaverTailsV(join(unset, WORLD_FILES.preferencesTrain), { strict: true, checkImages: false })).records;
    expect(offTopic(records)).toBeGreaterThan(offTopic(before) + 0.3 * records.length);
  });
});
