// Converts IEEE half (F16) and bfloat16 (BF16) bytes to float32, for loading checkpoints stored in half precision.

/** F16 bit pattern -> float value (exact: every half is a float32). */
export function f16BitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Upcasts little-endian F16 bytes to a Float32Array. */
export function f16ToFloat32(bytes: Uint8Array): Float32Array {
  const n = bytes.length >> 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f16BitsToFloat(view.getUint16(2 * i, true));
  return out;
}

/** Upcasts little-endian BF16 bytes to a Float32Array (bf16 is the top half of a float32). */
export function bf16ToFloat32(bytes: Uint8Array): Float32Array {
  const n = bytes.length >> 1;
  const src = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = src.getUint16(2 * i, true) << 16;
  return new Float32Array(out.buffer);
}
