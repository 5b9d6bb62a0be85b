import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bf16ToFloat32, f16BitsToFloat, f16ToFloat32 } from '../../src/models/half.js';
import {
  parseSafetensors,
  readSafetensors,
  readSafetensorsDir,
  SafetensorsError,
  serializeSafetensors,
  writeSafetensorsDir,
  type RawTensor,
} from '../../src/models/safetensors.js';

const golden = 'reference/golden/formats';
// JSON cannot hold infinities: the reference writes them as "inf" / "-inf".
const revive = (_k: string, v: unknown) => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v);
const ref = JSON.parse(readFileSync(join(golden, 'formats.json'), 'utf8'), revive) as {
  shapes: Record<string, number[]>;
  values: Record<string, (number | string | null)[]>;
};

function f32(t: RawTensor | undefined): number[] {
  if (!t) throw new Error('missing tensor');
  return [...new Float32Array(t.data.slice().buffer)];
}

function raw(dtype: RawTensor['dtype'], shape: number[], arr: ArrayBufferView): RawTensor {
  return { dtype, shape, data: new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength) };
}

function tmp() {
  return mkdtempSync(join(tmpdir(), 'st-'));
}

describe('safetensors', () => {
  it('reads a file written by hand from the spec (reference/formats.py)', () => {
    const { metadata, tensors } = readSafetensors(join(golden, 'sample.safetensors'));
    expect(metadata).toEqual({ format: 'pt', note: 'hand-written' });
    for (const [name, shape] of Object.entries(ref.shapes)) expect(tensors.get(name)?.shape).toEqual(shape);
    const a = f32(tensors.get('a.f32'));
    (ref.values['a.f32'] as number[]).forEach((v, i) => expect(a[i]).toBeCloseTo(v, 6));
    const b = tensors.get('b.f64') as RawTensor;
    expect([...new Float64Array(b.data.slice().buffer)]).toEqual(ref.values['b.f64']);
    const c = tensors.get('c.i64') as RawTensor;
    expect([...new BigInt64Array(c.data.slice().buffer)].map(String)).toEqual(ref.values['c.i64']);
    expect([...(tensors.get('g.bool') as RawTensor).data]).toEqual(ref.values['g.bool']);
    expect([...(tensors.get('h.u8') as RawTensor).data]).toEqual(ref.values['h.u8']);
    expect(tensors.get('i.scalar')?.shape).toEqual([]);
    expect(tensors.get('j.empty')?.data.length).toBe(0);
    // F16 and BF16 upcast exactly as numpy / torch do.
    expect([...f16ToFloat32((tensors.get('e.f16') as RawTensor).data)]).toEqual(ref.values['e.f16_as_f32']);
    expect([...bf16ToFloat32((tensors.get('f.bf16') as RawTensor).data)]).toEqual(ref.values['f.bf16_as_f32']);
  });

  it('writes exactly the bytes the spec-following reference writes', () => {
    const bytes = readFileSync(join(golden, 'sample.safetensors'));
    const parsed = parseSafetensors(bytes);
    const again = serializeSafetensors(parsed.tensors, parsed.metadata);
    expect(Buffer.from(again).equals(bytes)).toBe(true);
  });

  it('upcasts special half and bfloat16 values (zeros, subnormals, inf, nan)', () => {
    const bits = ref.values.special_f16_bits as number[];
    bits.forEach((b, i) => {
      const want = ref.values.special_f16_as_f32?.[i];
      const got = Math.fround(f16BitsToFloat(b));
      if (want === null) expect(got).toBeNaN();
      else expect(Object.is(got, want) || got === want).toBe(true);
    });
    const bbits = Uint16Array.from(ref.values.special_bf16_bits as number[]);
    expect([...bf16ToFloat32(new Uint8Array(bbits.buffer))]).toEqual(ref.values.special_bf16_as_f32);
  });

  it('round-trips every dtype, scalars and empty tensors', () => {
    const tensors = new Map<string, RawTensor>([
      ['w', raw('F32', [2, 2], Float32Array.from([1, 2, 3, 4]))],
      ['ids', raw('I64', [3], BigInt64Array.from([1n, -5n, 9007199254740993n]))],
      ['h', raw('F16', [2], Uint16Array.from([0x3c00, 0xc000]))],
      ['s', raw('F64', [], Float64Array.from([Math.PI]))],
      ['e', raw('I32', [0, 3], new Int32Array(0))],
      ['m', raw('BOOL', [2], Uint8Array.from([1, 0]))],
    ]);
    const back = parseSafetensors(serializeSafetensors(tensors, { k: 'v' }));
    expect(back.metadata).toEqual({ k: 'v' });
    for (const [name, t] of tensors) {
      const got = back.tensors.get(name) as RawTensor;
      expect(got.dtype).toBe(t.dtype);
      expect(got.shape).toEqual(t.shape);
      expect(Buffer.from(got.data).equals(Buffer.from(t.data))).toBe(true);
    }
  });

  it('writes and reads HF sharded folders', () => {
    const dir = tmp();
    const tensors: Record<string, RawTensor> = {};
    for (let i = 0; i < 5; i++) tensors[`layer.${i}.weight`] = raw('F32', [4, 4], new Float32Array(16).fill(i));
    const files = writeSafetensorsDir(dir, tensors, { maxShardBytes: 100 });
    expect(files).toContain('model.safetensors.index.json');
    expect(readdirSync(dir).filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length).toBe(5);
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    expect(index.metadata.total_size).toBe(5 * 64);
    const back = readSafetensorsDir(dir);
    expect([...back.tensors.keys()].sort()).toEqual(Object.keys(tensors).sort());
    expect(f32(back.tensors.get('layer.3.weight'))[0]).toBe(3);
    const single = tmp();
    expect(writeSafetensorsDir(single, tensors)).toEqual(['model.safetensors']);
    expect(readSafetensorsDir(single).tensors.size).toBe(5);
  });

  describe('rejects broken files with the file and tensor named', () => {
    const good = Buffer.from(serializeSafetensors({ w: raw('F32', [2], Float32Array.from([1, 2])) }));
    const withHeader = (h: unknown, data = Buffer.alloc(0)) => {
      const json = Buffer.from(JSON.stringify(h));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      return Buffer.concat([len, json, data]);
    };
    const cases: [string, Buffer, RegExp][] = [
      ['shorter than 8 bytes', Buffer.from([1, 2, 3]), /shorter than the 8-byte header length/],
      ['truncated data', good.subarray(0, good.length - 3), /truncated/],
      [
        'lying header length',
        (() => {
          const b = Buffer.from(good);
          b.writeBigUInt64LE(10_000n);
          return b;
        })(),
        /header length 10000 is larger than/,
      ],
      ['header not JSON', Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{{{{')]), /not valid UTF-8 JSON/],
      ['header an array', withHeader([1, 2]), /must be a JSON object/],
      ['unknown dtype', withHeader({ w: { dtype: 'Q8', shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(1)), /tensor 'w': unknown dtype "Q8"/],
      ['bad shape', withHeader({ w: { dtype: 'U8', shape: [-1], data_offsets: [0, 1] } }, Buffer.alloc(1)), /tensor 'w': shape must be/],
      ['wrong byte size', withHeader({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, Buffer.alloc(4)), /tensor 'w': 4 bytes in data_offsets but shape \[2\] of F32 needs 8/],
      [
        'overlapping offsets',
        withHeader(
          { a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [2], data_offsets: [1, 3] } },
          Buffer.alloc(3),
        ),
        /overlap/,
      ],
      ['hole', withHeader({ a: { dtype: 'U8', shape: [2], data_offsets: [1, 3] } }, Buffer.alloc(3)), /gap of 1 bytes/],
      ['extra bytes', withHeader({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } }, Buffer.alloc(5)), /3 bytes after the last tensor/],
    ];
    for (const [what, bytes, pattern] of cases) {
      it(what, () => {
        const dir = tmp();
        const file = join(dir, 'bad.safetensors');
        writeFileSync(file, bytes);
        expect(() => readSafetensors(file)).toThrow(SafetensorsError);
        expect(() => readSafetensors(file)).toThrow(new RegExp(`bad\\.safetensors: .*${pattern.source}`));
      });
    }
    it('a folder without weights', () => {
      expect(() => readSafetensorsDir(tmp())).toThrow(/neither model\.safetensors nor model\.safetensors\.index\.json/);
    });
  });
});
