// A small judge for the built-in world, distilled from the simulated annotators: a GPT trained from scratch on judge transcripts (the exact questions `safealign label` asks, answered with the annotators' majority labels).
//
// Run: npx tsx scripts/distill-judge.ts --run runs/default --out runs/default/distilled-judge [--pairs 600] [--epochs 4]
//      [--width 96] [--layers 2] [--context 320] [--threads 2] [--seed 0]
// Input: <run>/world/preferences-train.jsonl (training pairs with the annotators' majority labels; never gold, never test pairs).
// For each of the first --pairs pairs, six transcripts, as `safealign label` asks them: helpfulness with response 0
// shown as A and again with response 1 as A ("Verdict: A|B", the annotators' better response), harmlessness the same
// (their safer response), and the safety of each response ("Safety: safe|unsafe", "Categories: none | c1; c2").
// A byte-level BPE tokenizer is trained on the transcripts (the world model's word-level tokenizer cannot write
// "Verdict" or a category name), and a GPT-2 of --width/--layers learns the answers by SFT (loss on answer tokens).
// Output: a model folder to pass as `safealign label --judge DIR` (scripts/rlaif-agreement.ts measures it).
import { join } from 'node:path';
import { SftConfigSchema } from '../src/algorithms/sft/config.js';
import { trainSft, type SftExample } from '../src/algorithms/sft/train.js';
import { readPkuSafeRlhf } from '../src/data/pku-saferlhf.js';
import { promptMessages, type PreferenceRecord } from '../src/data/record.js';
import { conversationText, pairMessages, safetyMessages } from '../src/label/templates.js';
import { createCausalLM, formatPrompt, parseModelConfig, savePretrained, trainBpe, type ChatMessage } from '../src/models/index.js';
import { terminalProgress } from '../src/cli/progress-bar.js';
import { manualSeed, setNumThreads } from '../src/torch/index.js';
import { WORLD_FILES } from '../src/world/build.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] as string) : fallback;
};
if (args.includes('--help') || !args.includes('--run') || !args.includes('--out')) {
  console.log('npx tsx scripts/distill-judge.ts --run RUN --out DIR [--pairs 600] [--epochs 4] [--width 96] [--layers 2] [--context 320] [--threads 2] [--seed 0]  (see the comment at the top)');
  process.exit(args.includes('--help') ? 0 : 1);
}
const run = opt('--run', '');
const out = opt('--out', '');
const pairCount = Number(opt('--pairs', '600'));
const seed = Number(opt('--seed', '0'));
setNumThreads(Number(opt('--threads', '2')));

/** The six transcripts of one annotator-labelled pair: the judge's questions and the answers the annotators' labels give. */
function transcripts(r: PreferenceRecord): { messages: ChatMessage[]; answer: string }[] {
  const conversation = conversationText(promptMessages(r));
  const [r0, r1] = r.responses;
  const verdict = (picked: number, shownFirst: number) => `Verdict: ${picked === shownFirst ? 'A' : 'B'}`;
  const safer = r.saferResponseId ?? 0;
  const safety = (i: 0 | 1) => {
    const safe = r.isSafe?.[i] ?? true;
    const cats = r.categories?.[i] ?? [];
    return `Safety: ${safe ? 'safe' : 'unsafe'}\nCategories: ${safe || cats.length === 0 ? 'none' : cats.join('; ')}`;
  };
  return [
    { messages: pairMessages('helpful', conversation, r0, r1), answer: verdict(r.betterResponseId, 0) },
    { messages: pairMessages('helpful', conversation, r1, r0), answer: verdict(r.betterResponseId, 1) },
    { messages: pairMessages('harmless', conversation, r0, r1), answer: verdict(safer, 0) },
    { messages: pairMessages('harmless', conversation, r1, r0), answer: verdict(safer, 1) },
    { messages: safetyMessages(conversation, r0), answer: safety(0) },
    { messages: safetyMessages(conversation, r1), answer: safety(1) },
  ];
}

const records = (await readPkuSafeRlhf(join(run, 'world', WORLD_FILES.preferencesTrain))).records;
const chosen = records.slice(0, pairCount);
const all = chosen.flatMap(transcripts);
// an unsafe label without categories cannot be answered in the judge's format: those transcripts are left out
const usable = all.filter((t) => !/Safety: unsafe\nCategories: none/.test(t.answer));
const tokenizer = trainBpe([...usable.flatMap((t) => [...t.messages.map((m) => m.content), t.answer]), 'BEGINNING OF CONVERSATION: USER: ASSISTANT:'], { vocabSize: 2000 });
const examples: SftExample[] = usable.map((t, i) => {
  const context = t.messages.slice(0, -1);
  return { prompt: (t.messages.at(-1) as ChatMessage).content, context, response: t.answer, source: `transcript ${i}` };
});
const longest = Math.max(...examples.map((e) => tokenizer.encode(formatPrompt(tokenizer, e)).length + tokenizer.encode(e.response).length + 1));
const context = Math.max(Number(opt('--context', '320')), longest);
console.log(`${chosen.length} annotator-labelled pairs -> ${usable.length} transcripts (${all.length - usable.length} unsafe labels without a category left out); tokenizer ${tokenizer.vocabSize} tokens; longest transcript ${longest} tokens, context ${context}`);
manualSeed(seed);
const model = createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: Number(opt('--width', '96')), n_layer: Number(opt('--layers', '2')), n_head: 4, n_positions: context, vocab_size: tokenizer.vocabSize }));
const config = SftConfigSchema.parse({ epochs: Number(opt('--epochs', '4')), batchSize: 32, maxLength: context, seed, optim: { lr: 2e-3 } });
const result = trainSft({ model, tokenizer, train: examples, test: [], config, outDir: join(out, 'train'), progress: terminalProgress() });
savePretrained(out, model, { tokenizer, trainingConfig: { pairs: chosen.length, transcripts: usable.length, sft: config } });
console.log(`judge in ${out} (${result.steps} steps, last loss ${result.log.at(-1)?.loss.toFixed(3)})`);
