"""LoRA as peft computes it: a LoRA linear in both weight layouts (GPT-2 Conv1D (in, out) and nn.Linear (out, in)), and the
tiny GPT-2 / Llama of reference/models.py with adapters on some projections, for test/models/lora.test.ts.

Run: /usr/bin/python3 reference/lora.py  (after reference/models.py, whose tiny models it reads)
Writes reference/golden/lora.json and the adapters as peft folders reference/golden/lora-gpt2/, reference/golden/lora-llama/
(adapter_config.json + adapter_model.safetensors with peft's key names "base_model.model.<module>.lora_A.weight").
peft's forward: y = base(x) + (alpha / r) * lora_B(lora_A(dropout(x))), lora_A.weight (r, in), lora_B.weight (out, r);
the tiny models apply the adapters by merged weights W + scale * (B @ A) (transposed for Conv1D, peft's fan_in_fan_out),
which autograd differentiates with respect to A and B.
"""
import json
import struct
from pathlib import Path

import torch
import torch.nn.functional as F

import models as M

torch.manual_seed(1)
torch.set_num_threads(1)
OUT = Path(__file__).parent / "golden"


def read_safetensors(path):
    b = path.read_bytes()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        s, t = e["data_offsets"]
        out[name] = torch.frombuffer(bytearray(b[8 + n + s:8 + n + t]), dtype=torch.float32).reshape(e["shape"]).clone()
    return out


def lora_linear(layout):
    """One LoRA linear (in 6, out 5, r 3, alpha 6): forward and gradients of sum(y * g)."""
    n_in, n_out, r, alpha = 6, 5, 3, 6.0
    x = torch.randn(2, 3, n_in, requires_grad=True)
    w = (torch.randn(n_in, n_out) if layout == "in-out" else torch.randn(n_out, n_in)).requires_grad_()
    b = torch.randn(n_out, requires_grad=True)
    a = torch.randn(r, n_in, requires_grad=True)
    bb = torch.randn(n_out, r, requires_grad=True)
    g = torch.randn(2, 3, n_out)
    base = x @ w + b if layout == "in-out" else F.linear(x, w, b)
    y = base + (alpha / r) * F.linear(F.linear(x, a), bb)
    gx, gw, gb, ga, gbb = torch.autograd.grad((y * g).sum(), [x, w, b, a, bb])
    t = lambda v: v.detach().tolist()
    return {"nIn": n_in, "nOut": n_out, "r": r, "alpha": alpha, "x": t(x), "weight": t(w), "bias": t(b), "loraA": t(a), "loraB": t(bb), "g": t(g),
            "y": t(y), "grads": {"x": t(gx), "weight": t(gw), "bias": t(gb), "loraA": t(ga), "loraB": t(gbb)}}


MODELS = {
    "gpt2": {"dir": "tiny-gpt2", "cfg": M.g_cfg, "fwd": M.gpt2_forward, "targets": ["c_attn", "c_fc"], "r": 2, "alpha": 4.0, "in_out": True},
    "llama": {"dir": "tiny-llama", "cfg": M.l_cfg, "fwd": M.llama_forward, "targets": ["q_proj", "v_proj", "down_proj"], "r": 2, "alpha": 3.0, "in_out": False},
}


def adapted_model(spec, ids, mask):
    params = read_safetensors(OUT / spec["dir"] / "model.safetensors")
    r, scale = spec["r"], spec["alpha"] / spec["r"]
    lora = {}
    for name in sorted(params):
        module = name[: -len(".weight")]
        if not name.endswith(".weight") or module.split(".")[-1] not in spec["targets"]:
            continue
        w = params[name]
        n_in, n_out = (w.shape[0], w.shape[1]) if spec["in_out"] else (w.shape[1], w.shape[0])
        lora[module + ".lora_A.weight"] = (torch.randn(r, n_in) * 0.3).requires_grad_()
        lora[module + ".lora_B.weight"] = (torch.randn(n_out, r) * 0.3).requires_grad_()

    def merged():
        p = dict(params)
        for key in lora:
            if key.endswith(".lora_A.weight"):
                module = key[: -len(".lora_A.weight")]
                delta = scale * (lora[module + ".lora_B.weight"] @ lora[key])  # (out, in)
                p[module + ".weight"] = params[module + ".weight"] + (delta.T if spec["in_out"] else delta)
        return p

    logits = spec["fwd"](merged(), spec["cfg"], ids, mask)
    V = logits.shape[-1]
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1), reduction="none")
    w = mask[:, 1:].reshape(-1).float()
    loss = (loss * w).sum() / w.sum()
    names = sorted(lora)[:4]
    grads = torch.autograd.grad(loss, [lora[n] for n in names])
    d = OUT / f"lora-{spec['dir'].split('-')[1]}"
    d.mkdir(parents=True, exist_ok=True)
    M.write_safetensors(d / "adapter_model.safetensors", {"base_model.model." + k: v for k, v in lora.items()})
    (d / "adapter_config.json").write_text(json.dumps({
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": f"reference/golden/{spec['dir']}", "r": r,
        "lora_alpha": spec["alpha"], "lora_dropout": 0.0, "target_modules": spec["targets"], "fan_in_fan_out": spec["in_out"], "bias": "none",
        "modules_to_save": None, "init_lora_weights": True, "inference_mode": True, "use_rslora": False, "use_dora": False}, indent=1))
    return {"logits": logits.detach().tolist(), "loss": loss.item(), "grads": {n: g.flatten().tolist() for n, g in zip(names, grads)}}


def main():
    golden = json.loads((OUT / "models.json").read_text())
    ids, mask = torch.tensor(golden["inputIds"]), torch.tensor(golden["attentionMask"])
    result = {"linear": {layout: lora_linear(layout) for layout in ["in-out", "out-in"]}}
    for name, spec in MODELS.items():
        result[name] = adapted_model(spec, ids, mask)
    (OUT / "lora.json").write_text(json.dumps(result))
    print("wrote lora.json, lora-gpt2/, lora-llama/")


if __name__ == "__main__":
    main()
