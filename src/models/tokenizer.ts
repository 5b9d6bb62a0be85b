// Tokenizers in Hugging Face format: tokenizer.json (+ tokenizer_config.json), via @huggingface/tokenizers.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { writeJsonAtomic } from '../core/fs-atomic.js';

/** A tokenizer file we cannot use: names the file and what is wrong. */
export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

type Json = Record<string, unknown>;

/**
 * The chat template used when tokenizer_config.json has none: the PKU safe-rlhf conversation
 * format, `BEGINNING OF CONVERSATION: USER: {prompt} ASSISTANT:` (the same text as
 * src/data/template.ts's default), with each assistant turn followed by the EOS token.
 */
export const DEFAULT_CHAT_TEMPLATE =
  "BEGINNING OF CONVERSATION: {% for m in messages %}{% if m.role == 'user' %}USER: {{ m.content }} " +
  "{% elif m.role == 'assistant' %}ASSISTANT: {{ m.content }}{{ eos_token }} {% else %}{{ m.content }} {% endif %}" +
  "{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}";

function readJson(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TokenizerError(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected a JSON object');
    return v as Json;
  } catch (e) {
    throw new TokenizerError(`${path}: not a valid tokenizer file (${(e as Error).message})`);
  }
}

/** tokenizer_config.json stores special tokens as a string or as `{ content }`. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return undefined;
}

export class Tokenizer {
  private readonly hf: HfTokenizer;
  private readonly template: Template;
  readonly vocabSize: number;
  readonly padId: number | undefined;
  readonly eosId: number | undefined;
  readonly bosId: number | undefined;
  readonly unkId: number | undefined;

  constructor(
    readonly tokenizerJson: Json,
    readonly tokenizerConfig: Json = {},
    source = 'tokenizer.json',
  ) {
    const model = tokenizerJson.model as Json | undefined;
    if (!model || typeof model.type !== 'string') throw new TokenizerError(`${source}: missing "model" with a "type"`);
    try {
      this.hf = new HfTokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new TokenizerError(`${source}: cannot build tokenizer (${(e as Error).message})`);
    }
    const vocab = (model.vocab ?? {}) as Json | unknown[];
    const ids = Array.isArray(vocab) ? vocab.map((_, i) => i) : Object.values(vocab).map(Number);
    for (const t of (tokenizerJson.added_tokens ?? []) as Json[]) ids.push(Number(t.id));
    this.vocabSize = ids.length ? Math.max(...ids) + 1 : 0;
    const id = (key: string) => {
      const text = tokenText(tokenizerConfig[key]);
      return text === undefined ? undefined : this.hf.token_to_id(text);
    };
    this.eosId = id('eos_token');
    this.bosId = id('bos_token');
    this.unkId = id('unk_token');
    this.padId = id('pad_token') ?? this.eosId;
    const chat = typeof tokenizerConfig.chat_template === 'string' ? tokenizerConfig.chat_template : DEFAULT_CHAT_TEMPLATE;
    try {
      this.template = new Template(chat);
    } catch (e) {
      throw new TokenizerError(`${source}: chat_template does not parse (${(e as Error).message})`);
    }
  }

  /** Loads `tokenizer.json`, and `tokenizer_config.json` beside it when present. */
  static fromFile(tokenizerJsonPath: string, tokenizerConfigPath?: string): Tokenizer {
    const cfgPath = tokenizerConfigPath ?? join(tokenizerJsonPath, '..', 'tokenizer_config.json');
    const cfg = existsSync(cfgPath) ? readJson(cfgPath) : {};
    return new Tokenizer(readJson(tokenizerJsonPath), cfg, tokenizerJsonPath);
  }

  /** Loads the tokenizer of a Hugging Face model folder. */
  static fromDir(dir: string): Tokenizer {
    const file = join(dir, 'tokenizer.json');
    if (!existsSync(file)) throw new TokenizerError(`${dir}: no tokenizer.json (a fast-tokenizer file is required)`);
    return Tokenizer.fromFile(file, join(dir, 'tokenizer_config.json'));
  }

  /** Text -> token ids. Special tokens from the post-processor are added unless `addSpecialTokens` is false. */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.hf.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  /** Token ids -> text. */
  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.hf.decode([...ids], { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  /** Renders a conversation with the model's chat template (or DEFAULT_CHAT_TEMPLATE). */
  applyChatTemplate(messages: readonly ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
    const special = (key: string) => tokenText(this.tokenizerConfig[key]) ?? '';
    return this.template.render({
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: opts.addGenerationPrompt ?? false,
      eos_token: special('eos_token'),
      bos_token: special('bos_token'),
      pad_token: special('pad_token'),
    });
  }

  /** Writes tokenizer.json and tokenizer_config.json into `dir`. */
  save(dir: string): void {
    mkdirSync(dir, { recursive: true });
    writeJsonAtomic(join(dir, 'tokenizer.json'), this.tokenizerJson);
    writeJsonAtomic(join(dir, 'tokenizer_config.json'), this.tokenizerConfig);
  }
}
