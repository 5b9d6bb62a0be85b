// multinomialRows (native/ops.cc): the listed rows' tokens are libtorch's multinomial(1) draws bit for bit, and the generator
// ends where multinomial(1) on the whole matrix leaves it, so everything drawn afterwards is unchanged too.
import { describe, expect, it } from 'vitest';
import { manualSeed, rand, randn, tensor, tidy, type Tensor } from '../../src/torch/index.js';

/** multinomial(1) of every row, then three uniform numbers (the generator's state after it). */
function reference(probs: Tensor, seed: number): { tokens: number[]; after: number[] } {
  manualSeed(seed);
  const tokens = probs.multinomial(1).toNumbers();
  return { tokens, after: rand([3]).toNumbers() };
}

function listed(probs: Tensor, rows: number[], seed: number): { tokens: number[]; after: number[] } {
  manualSeed(seed);
  const tokens = probs.multinomialRows(rows).toNumbers();
  return { tokens, after: rand([3]).toNumbers() };
}

describe('multinomialRows', () => {
  // B × V as generation's sampling sees them (the bench's default size: 64 rows, a 759-token vocabulary), and small ones
  const cases = [
    { name: '64 × 759, half the rows listed', b: 64, v: 759, rows: (b: number) => Array.from({ length: b }, (_, i) => i).filter((i) => i % 2 === 1) },
    { name: '64 × 759, every row listed', b: 64, v: 759, rows: (b: number) => Array.from({ length: b }, (_, i) => i) },
    { name: '5 × 3, the first and last rows', b: 5, v: 3, rows: () => [0, 4] },
    { name: '4 × 10, no row listed', b: 4, v: 10, rows: () => [] },
  ];
  for (const c of cases) {
    for (const dtype of ['float32', 'float64'] as const) {
      it(`${c.name}, ${dtype}: multinomial(1)'s tokens on the listed rows, -1 elsewhere, the generator where multinomial leaves it (10 seeds)`, () =>
        tidy(() => {
          for (let seed = 0; seed < 10; seed++) {
            manualSeed(100 + seed);
            // peaked and flat rows, some tokens banned (probability 0), as top-p / a logits processor leave them
            const logits = randn([c.b, c.v]).mul(tensor(Array.from({ length: c.b }, (_, i) => [1 + (i % 4)])));
            const probs = logits.maskedFill(rand([c.b, c.v]).lt(0.2), -Infinity).softmax(1).to(dtype);
            const rows = c.rows(c.b);
            const want = reference(probs, seed);
            const got = listed(probs, rows, seed);
            expect(got.tokens).toEqual(want.tokens.map((t, i) => (rows.includes(i) ? t : -1)));
            expect(got.after).toEqual(want.after);
          }
        }));
    }
  }

  it('a row with one possible token draws it; a non-contiguous matrix takes multinomial itself', () =>
    tidy(() => {
      const probs = tensor([
        [0, 0, 1, 0],
        [0.25, 0.25, 0.25, 0.25],
        [0, 0.5, 0, 0.5],
      ]);
      expect(listed(probs, [0, 2], 3).tokens[0]).toBe(2);
      const transposed = rand([6, 4]).transpose(0, 1);
      const want = reference(transposed, 7);
      expect(listed(transposed, [1, 3], 7)).toEqual({ tokens: want.tokens.map((t, i) => (i === 1 || i === 3 ? t : -1)), after: want.after });
    }));

  it("a listed row's invalid probabilities are an error naming the row; a row not listed is not read", () =>
    tidy(() => {
      const probs = tensor([
        [0.5, 0.5],
        [-1, 2],
        [0, 0],
        [NaN, 1],
      ]);
      expect(() => probs.multinomialRows([0, 1])).toThrow(/contains either `inf`, `nan` or element < 0 \(row 1\)/);
      expect(() => probs.multinomialRows([2])).toThrow(/sum of probabilities <= 0\) in row 2/);
      expect(() => probs.multinomialRows([3])).toThrow(/row 3/);
      expect(probs.multinomialRows([0]).toNumbers().slice(1)).toEqual([-1, -1, -1]);
      expect(() => probs.multinomialRows([1, 0])).toThrow(/increasing row indices below 4/);
      expect(() => probs.multinomialRows([4])).toThrow(/increasing row indices below 4/);
      expect(() => tensor([0.5, 0.5]).multinomialRows([0])).toThrow(/expected \(B, V\) probabilities/);
    }));
});
