// safetensors records to engine tensors and back, including F16/BF16 upcast and unsupported dtypes.
import { describe, expect, it } from 'vitest';
import { rawToTensor, tensorToRaw } from '../../src/models/state-dict.js';
import { tensor } from '../../src/torch/index.js';

describe('state dict conversion', () => {
  it('upcasts F16 and BF16 to float32 tensors with the right values', () => {
    const f16 = Uint16Array.from([0x3c00, 0xc000, 0x3555]); // 1, -2, 0.333251953125
    const t = rawToTensor({ dtype: 'F16', shape: [3], data: new Uint8Array(f16.buffer) });
    expect(t.dtype).toBe('float32');
    expect(t.toNumbers()).toEqual([1, -2, 0.333251953125]);
    const bf16 = Uint16Array.from([0x3f80, 0xc040]); // 1, -3
    expect(rawToTensor({ dtype: 'BF16', shape: [2, 1], data: new Uint8Array(bf16.buffer) }).toArray()).toEqual([[1], [-3]]);
  });
  it('round-trips float32 and int64 tensors bit for bit', () => {
    const a = tensor([[1.5, -2.25], [3, 4]]);
    const b = rawToTensor(tensorToRaw(a));
    expect(Buffer.from(b.toBuffer()).equals(Buffer.from(a.toBuffer()))).toBe(true);
    const ids = tensor([1, 2, 3], { dtype: 'int64' });
    expect(rawToTensor(tensorToRaw(ids)).toNumbers()).toEqual([1, 2, 3]);
  });
  it('rejects dtypes the engine cannot hold, naming the tensor and file', () => {
    expect(() => rawToTensor({ dtype: 'I8', shape: [1], data: new Uint8Array(1) }, { name: 'w', file: 'm.safetensors' })).toThrow(
      /m\.safetensors: tensor 'w' has dtype I8, which safealign cannot load/,
    );
  });
});
