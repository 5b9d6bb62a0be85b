// `safealign model init` and `safealign model merge-lora` from the command line, with a LoRA SFT run between them.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CausalLM, loadPretrained } from '../../src/models/index.js';
import { noGrad, tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

const dir = mkdtempSync(join(tmpdir(), 'model-cli-'));
const env = { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' };
const cli = (...args: string[]) => execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env });
const tokenizer = 'reference/golden/tiny-gpt2/tokenizer.json';
const logits = (d: string) => {
  const m = loadPretrained(d).model as CausalLM;
  return noGrad(() => m.eval().forward(tensor([[5, 9, 13, 7]], { dtype: 'int64' }), tensor([[1, 1, 1, 1]], { dtype: 'int64' })).logits);
};

describe('safealign model', () => {
  it('init writes a random GPT-2 or Llama folder of the configured shape, vocab from the tokenizer; a too small vocab_size is an error', () => {
    writeFileSync(join(dir, 'gpt2.json'), JSON.stringify({ model_type: 'gpt2', n_embd: 16, n_layer: 2, n_head: 2, n_positions: 32 }));
    writeFileSync(join(dir, 'llama.json'), JSON.stringify({ model_type: 'llama', hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32 }));
    // GPT-2: wte 40·16 + wpe 32·16 + 2 blocks·(two LayerNorms 4·16 + c_attn 16·48+48 + c_proj 16·16+16 + c_fc 16·64+64 + c_proj 64·16+16) + ln_f 2·16 = 7744
    expect(cli('model', 'init', '--config', join(dir, 'gpt2.json'), '--tokenizer', tokenizer, '--out', join(dir, 'gpt2'))).toMatch(/gpt2 model with 7,744 parameters \(vocab 40\)/);
    expect(cli('model', 'init', '--config', join(dir, 'llama.json'), '--tokenizer', tokenizer, '--out', join(dir, 'llama'), '--seed', '3')).toMatch(/llama model with [\d,]+ parameters \(vocab 40\)/);
    const g = loadPretrained(join(dir, 'gpt2'));
    expect(g.model).toBeInstanceOf(CausalLM);
    expect(g.tokenizer?.eosId).toBe(1);
    expect(g.config.vocab_size).toBe(40);
    expect((loadPretrained(join(dir, 'llama')).model as CausalLM).config.model_type).toBe('llama');
    writeFileSync(join(dir, 'small.json'), JSON.stringify({ model_type: 'gpt2', n_embd: 16, n_layer: 1, n_head: 2, n_positions: 32, vocab_size: 10 }));
    expect(() => execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'model', 'init', '--config', join(dir, 'small.json'), '--tokenizer', tokenizer, '--out', join(dir, 'small')], { encoding: 'utf8', env, stdio: 'pipe' })).toThrow(
      /vocab_size 10 is smaller than the tokenizer's 40 tokens/,
    );
  });

  it('train sft --sft-lora-r writes a peft adapter; merge-lora on the base gives the trained model', () => {
    const data = Array.from({ length: 24 }, (_, i) => JSON.stringify({ prompt: `w${i % 7} w${(i * 3) % 11}`, response: `w${(i * 5) % 13} w${i % 5}` }));
    writeFileSync(join(dir, 'sft.jsonl'), `${data.join('\n')}\n`);
    cli('train', 'sft', '--model', join(dir, 'gpt2'), '--train', join(dir, 'sft.jsonl'), '--out', join(dir, 'sft'), '--sft-epochs', '2', '--sft-batch-size', '8', '--sft-lora-r', '4', '--sft-lora-target-modules', 'c_attn,c_fc', '--sft-optim-lr', '0.01');
    expect(existsSync(join(dir, 'sft', 'adapter', 'adapter_model.safetensors'))).toBe(true);
    const out = cli('model', 'merge-lora', '--base', join(dir, 'gpt2'), '--adapter', join(dir, 'sft', 'adapter'), '--out', join(dir, 'merged'));
    expect(out).toMatch(/merged 4 adapted projections \(r 4, alpha 16, c_attn,c_fc\)/);
    const trained = logits(join(dir, 'sft'));
    expectAllClose(logits(join(dir, 'merged')), trained.toArray() as number[][][], { atol: 1e-6, rtol: 1e-6 });
    // and training moved the model away from its base
    const base = logits(join(dir, 'gpt2')).toNumbers();
    expect(Math.max(...trained.toNumbers().map((x, i) => Math.abs(x - (base[i] as number))))).toBeGreaterThan(1e-3);
  });
});
