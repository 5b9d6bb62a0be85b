"""Writes a safetensors file by hand from the format spec, plus the values it holds, for test/formats.

Run: /usr/bin/python3 reference/formats.py  (numpy + torch; the python safetensors package is not needed)
Outputs: reference/golden/formats/sample.safetensors, reference/golden/formats/formats.json
"""
import json
import struct
from pathlib import Path

import numpy as np
import torch

out = Path(__file__).parent / "golden" / "formats"
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)

f32 = rng.standard_normal((2, 3)).astype(np.float32)
f64 = rng.standard_normal((3,)).astype(np.float64)
i64 = np.array([[-(2**40), 7], [0, 2**53 - 1]], dtype=np.int64)
i32 = np.array([1, -2, 3], dtype=np.int32)
f16 = rng.standard_normal((4,)).astype(np.float16)
bf16 = torch.randn(5, generator=torch.Generator().manual_seed(1)).to(torch.bfloat16)
bools = np.array([True, False, True], dtype=np.bool_)
u8 = np.array([0, 255, 17], dtype=np.uint8)
scalar = np.array(3.5, dtype=np.float32)
empty = np.zeros((0, 4), dtype=np.float32)

def raw(t):
    if isinstance(t, torch.Tensor):  # bf16: take the bits
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.astype(t.dtype.newbyteorder("<")).tobytes()

tensors = {
    "a.f32": ("F32", f32), "b.f64": ("F64", f64), "c.i64": ("I64", i64), "d.i32": ("I32", i32),
    "e.f16": ("F16", f16), "f.bf16": ("BF16", bf16), "g.bool": ("BOOL", bools), "h.u8": ("U8", u8),
    "i.scalar": ("F32", scalar), "j.empty": ("F32", empty),
}
header = {"__metadata__": {"format": "pt", "note": "hand-written"}}
blobs = []
offset = 0
for name in sorted(tensors):
    dtype, t = tensors[name]
    b = raw(t)
    header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
    offset += len(b)
    blobs.append(b)
hjson = json.dumps(header, separators=(",", ":")).encode()
hjson += b" " * ((8 - len(hjson) % 8) % 8)
data = struct.pack("<Q", len(hjson)) + hjson + b"".join(blobs)
(out / "sample.safetensors").write_bytes(data)

values = {
    "a.f32": f32.astype(np.float64).ravel().tolist(),
    "b.f64": f64.ravel().tolist(),
    "c.i64": [str(v) for v in i64.ravel().tolist()],
    "d.i32": i32.tolist(),
    "e.f16_as_f32": f16.astype(np.float32).astype(np.float64).tolist(),
    "f.bf16_as_f32": bf16.float().double().tolist(),
    "g.bool": [int(v) for v in bools],
    "h.u8": u8.tolist(),
    "i.scalar": [float(scalar)],
}
# Special half values: +-0, subnormals, inf, nan, max.
special16 = np.array([0.0, -0.0, 6e-8, 1e-5, 65504, np.inf, -np.inf, np.nan, 1.0 / 3], dtype=np.float16)
values["special_f16_bits"] = special16.view(np.uint16).tolist()
values["special_f16_as_f32"] = [None if np.isnan(v) else float(v) for v in special16.astype(np.float32)]
sbf = torch.tensor([0.0, -0.0, 1e-40, 3.0e38, float("inf"), float("-inf"), 1.0 / 3]).to(torch.bfloat16)
values["special_bf16_bits"] = [int(v) & 0xFFFF for v in sbf.view(torch.int16).tolist()]
values["special_bf16_as_f32"] = sbf.float().tolist()
def finite(v):
    if isinstance(v, list):
        return [finite(x) for x in v]
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return None if v != v else ("inf" if v > 0 else "-inf")
    return v

values = {k: finite(v) for k, v in values.items()}
(out / "formats.json").write_text(json.dumps({"shapes": {k: list(v[1].shape) for k, v in tensors.items()}, "values": values}, indent=1))
print("wrote", out)
